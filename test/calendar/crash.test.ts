import { expect } from "chai";
import * as fs from "node:fs";
import { verifyProof, type Hex } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace } from "../cli/helpers";
import { call, randomLeaf, submit, waitComplete } from "./helpers";
import { anchoredCount, killCalendar, startCalendarProcess, type CalendarProcess } from "./process";

/**
 * Durability with real SIGKILLs of `proofmark calendar serve` (SQLite, the embedded chain): every
 * acknowledged leaf is anchored exactly once after a restart, and nothing unacknowledged is
 * reported as pending.
 */
describe("calendar: SIGKILL at any moment loses no acknowledged leaf and anchors each once", function () {
  this.timeout(600_000);
  const ws = makeWorkspace("calendar-crash");
  let running: CalendarProcess | undefined;

  before(function () {
    assertBuilt();
  });
  after(async function () {
    if (running) await killCalendar(running);
    killLocalChain(ws.dataDir);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  async function checkAllComplete(url: string, registry: Hex, acked: Hex[]): Promise<Set<Hex>> {
    const roots = new Set<Hex>();
    for (const leaf of acked) {
      const r = await waitComplete(url, leaf, 120_000);
      expect(r.status, `${leaf}: ${JSON.stringify(r.body).slice(0, 300)}`).to.equal(200);
      expect(verifyProof(leaf, r.body.proof.path, r.body.proof.root)).to.equal(true);
      roots.add(r.body.proof.root);
    }
    for (const root of roots) expect(await anchoredCount(ws.dataDir, registry, root), root).to.equal(1);
    return roots;
  }

  it("killed under load by 16 concurrent clients, restarted: every acknowledged leaf completes, anchored once", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.3", "--max-batch", "200"]);
    const registry = running.summary.chains[0].registry;
    const acked: Hex[] = [];
    const unacked: Hex[] = [];
    let stop = false;
    const clients = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const leaves = [randomLeaf(), randomLeaf(), randomLeaf()];
        try {
          const r = await submit(running!.url, leaves);
          if (r.status === 202) acked.push(...leaves);
          else unacked.push(...leaves);
        } catch {
          unacked.push(...leaves);
          return;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 2_500));
    await killCalendar(running);
    stop = true;
    await Promise.all(clients);
    expect(acked.length).to.be.greaterThan(30);
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.3", "--max-batch", "200"]);
    await checkAllComplete(running.url, registry, acked);
    // unacknowledged leaves: either never stored (404) or stored just before the kill and then
    // anchored like any other (200) — never left pending, never reported without being stored
    await new Promise((r) => setTimeout(r, 1_500));
    for (const leaf of unacked) expect([200, 404]).to.include((await call(`${running.url}/v1/proofs/${leaf}`)).status);
    expect((await call(`${running.url}/v1/proofs/${randomLeaf()}`)).status).to.equal(404);
    await killCalendar(running);
    running = undefined;
  });

  it("killed after the anchoring transaction was sent but before it was recorded: recovered, not sent again", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"], {
      PROOFMARK_TEST_CRASH: "calendar-after-send",
    });
    const registry = running.summary.chains[0].registry;
    const leaves = Array.from({ length: 10 }, randomLeaf);
    expect((await submit(running.url, leaves)).status).to.equal(202);
    await running.exited; // it kills itself right after sending
    expect(running.child.signalCode).to.equal("SIGKILL");
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"]);
    const roots = await checkAllComplete(running.url, registry, leaves);
    expect(roots.size).to.equal(1);
    await killCalendar(running);
    running = undefined;
  });

  it("killed between closing a batch and sending: the batch is resumed, anchored once", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"], {
      PROOFMARK_TEST_CRASH: "calendar-after-batch",
    });
    const registry = running.summary.chains[0].registry;
    const leaves = Array.from({ length: 5 }, randomLeaf);
    expect((await submit(running.url, leaves)).status).to.equal(202);
    await running.exited;
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"]);
    await checkAllComplete(running.url, registry, leaves);
    await killCalendar(running);
    running = undefined;
  });

  it("killed after the acknowledgement log was synced and answered, before the leaf table had it: replayed from the log, anchored once", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"], {
      PROOFMARK_TEST_CRASH: "calendar-before-index",
    });
    const registry = running.summary.chains[0].registry;
    const leaves = Array.from({ length: 7 }, randomLeaf);
    const answer = await submit(running.url, leaves);
    expect(answer.status).to.equal(202); // acknowledged: durable in the log only
    await running.exited;
    expect(running.child.signalCode).to.equal("SIGKILL");
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"]);
    const roots = await checkAllComplete(running.url, registry, leaves);
    expect(roots.size).to.equal(1);
    await killCalendar(running);
    running = undefined;
  });

  it("killed before the commit: the client got no acknowledgement and the leaf is unknown (404), not pending", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"], {
      PROOFMARK_TEST_CRASH: "calendar-before-commit",
    });
    const leaf = randomLeaf();
    let answered = false;
    try {
      answered = (await submit(running.url, [leaf])).status === 202;
    } catch {
      // connection reset: no acknowledgement
    }
    expect(answered).to.equal(false);
    await running.exited;
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"]);
    expect((await call(`${running.url}/v1/proofs/${leaf}`)).status).to.equal(404);
    await killCalendar(running);
    running = undefined;
  });
});
