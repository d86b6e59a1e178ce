import { expect } from "chai";
import * as fs from "node:fs";
import type { Hex } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";
import { call, randomLeaf, submit, waitComplete } from "./helpers";
import { anchoredCount, killCalendar, startCalendarProcess, type CalendarProcess } from "./process";

/**
 * Two calendar instances share one PostgreSQL store (as behind a load balancer): both accept
 * submissions, exactly one anchors (advisory lock); SIGKILL of the anchoring instance in the middle
 * of a batch hands the batch to the other, which anchors it once.
 */
describe("calendar on PostgreSQL: two instances, one anchorer, one killed mid-batch", function () {
  this.timeout(600_000);
  const ws = makeWorkspace("calendar-pg");
  let pg: TestPostgres | undefined;
  const running: CalendarProcess[] = [];

  before(async function () {
    assertBuilt();
    pg = await startPostgresOrSkip(this);
    // the embedded chain and its registry exist before two processes share them
    const r = await runCli(["node", "start"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 90_000 });
    expect(r.code, r.stderr).to.equal(0);
    const d = await runCli(["deploy"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 90_000 });
    expect(d.code, d.stderr).to.equal(0);
  });
  after(async function () {
    for (const p of running) await killCalendar(p);
    killLocalChain(ws.dataDir);
    pg?.stop();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("both accept, one anchors; killing the anchorer after it sent a batch's transaction leaves nothing lost or doubled", async function () {
    const args = ["--database", pg!.url, "--interval", "1.5"];
    // A anchors (it takes the lock first) and dies right after sending its second batch's transaction
    const a = await startCalendarProcess(ws.dataDir, args, {
      PROOFMARK_TEST_CRASH: "calendar-after-send",
      PROOFMARK_TEST_CRASH_AFTER: "1",
    });
    running.push(a);
    for (let i = 0; i < 100 && !(await call(`${a.url}/v1/health`)).body.anchoring; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await call(`${a.url}/v1/health`)).body.anchoring).to.equal(true);
    const b = await startCalendarProcess(ws.dataDir, args);
    running.push(b);
    const hb = await call(`${b.url}/v1/health`);
    expect(hb.body.store).to.equal("postgres");
    expect(hb.body.anchoring).to.equal(false);
    const registry = a.summary.chains[0].registry;

    // batch 1 through both instances, anchored by A
    const first = [randomLeaf(), randomLeaf()];
    const acks = await Promise.all([submit(a.url, [first[0]]), submit(b.url, [first[1]])]);
    expect(acks.map((r) => r.status)).to.deep.equal([202, 202]);
    const p1 = await Promise.all(first.map((l) => waitComplete(b.url, l)));
    expect(p1.map((p) => p.status)).to.deep.equal([200, 200]);
    // one batch over both instances' leaves (the leaves arrived within one interval)
    expect(p1[0].body.proof.root).to.equal(p1[1].body.proof.root);
    expect((await call(`${b.url}/v1/health`)).body.anchoring).to.equal(false);

    // batch 2: A sends its transaction and is killed before recording it
    const second = Array.from({ length: 6 }, randomLeaf);
    expect((await submit(a.url, second.slice(0, 3))).status).to.equal(202);
    expect((await submit(b.url, second.slice(3))).status).to.equal(202);
    await a.exited;
    expect(a.child.signalCode).to.equal("SIGKILL");
    // B takes the lock, finds the sent transaction's anchor on chain, completes the batch
    const roots = new Set<Hex>();
    for (const leaf of [...first, ...second]) {
      const r = await waitComplete(b.url, leaf, 120_000);
      expect(r.status, JSON.stringify(r.body).slice(0, 300)).to.equal(200);
      roots.add(r.body.proof.root);
    }
    expect((await call(`${b.url}/v1/health`)).body.anchoring).to.equal(true);
    for (const root of roots) expect(await anchoredCount(ws.dataDir, registry, root)).to.equal(1);
    const health = (await call(`${b.url}/v1/health`)).body;
    expect(health.leaves).to.equal(8);
    expect(health.completeBatches).to.equal(health.batches);
  });
});
