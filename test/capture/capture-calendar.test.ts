import { expect } from "chai";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { DEFAULT_CHROMIUM, isPendingReceipt, parseAnyReceipt, parseReceipt, readZip } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { killCalendar, startCalendarProcess, type CalendarProcess } from "../calendar/process";

// A capture anchored through a real `proofmark calendar serve` on the local chain: no key, no gas.
// The pending receipt is written at once and never shown as verified; once the calendar has anchored
// its batch `verify` completes it in memory, `upgrade` writes it, then `verify` and `report` check the
// completed anchor. With every calendar down the signed WACZ is kept, and `stamp X.wacz --calendar`
// anchors it later with the same subject as `capture` (its datapackage-digest.json).
describe("proofmark capture --calendar: anchored through a calendar", function () {
  this.timeout(600_000);
  const ws = makeWorkspace("capture-calendar");
  // "a new user": no key of their own
  const noKey = { PROOFMARK_PRIVATE_KEY: undefined, PROOFMARK_KEYSTORE: undefined };
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, env: noKey, timeoutMs: 300_000 });
  let server: http.Server | undefined;
  let cal: CalendarProcess | undefined;

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    assertBuilt();
    server = http.createServer((_req, res) =>
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end("<title>Listing</title><h1>Stolen scarf listing</h1>"),
    );
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    // a batch closes when its oldest leaf waited 60 s: long enough to see the receipt pending first
    cal = await startCalendarProcess(ws.dataDir, ["--chain", "local", "--interval", "60"]);
  });

  after(async function () {
    server?.close();
    if (cal) await killCalendar(cal);
    killLocalChain(ws.dataDir);
  });

  /** Waits until the calendar has anchored the batch of `leaf` (GET /v1/proofs answers 200). */
  async function anchoredByCalendar(leaf: string): Promise<void> {
    for (let i = 0; i < 120; i++) {
      const res = await fetch(`${cal!.url}/v1/proofs/${leaf}`);
      if (res.status === 200) return;
      expect(res.status).to.equal(202);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw new Error(`the calendar did not anchor ${leaf} in 120 s`);
  }

  it("writes a pending receipt at once, verifies only once the calendar anchored it; a capture no calendar took is kept and anchored later", async function () {
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/listing`;
    const down = "http://127.0.0.1:9";

    // every calendar down: CALENDAR_UNREACHABLE, no receipt, but the signed WACZ is kept and the
    // error names the command that anchors it later
    const lateOut = path.join(ws.dir, "nobody.wacz");
    const refused = await run(["capture", url, "--out", lateOut, "--calendar", down]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/CALENDAR_UNREACHABLE/);
    expect(fs.existsSync(`${lateOut}.proof.json`)).to.equal(false);
    expect(fs.existsSync(lateOut)).to.equal(true);
    expect(refused.stderr).to.include(`${lateOut} is written and signed but NOT anchored`);
    expect(refused.stderr).to.include(`proofmark stamp ${lateOut} --calendar ${down}`);

    const out = path.join(ws.dir, "listing.wacz");
    const captured = await run(["capture", url, "--out", out, "--calendar", down, "--calendar", cal!.url]);
    expect(captured.code, captured.stderr + captured.stdout).to.equal(0);
    expect(captured.stdout).to.match(/pending: datapackage-digest\.json of listing\.wacz submitted/);
    expect(captured.stdout).to.match(/127\.0\.0\.1:9: DID NOT ANSWER \(CALENDAR_UNREACHABLE/);
    expect(captured.stdout).to.include(`proofmark upgrade ${out}`);
    expect(captured.stdout).to.not.match(/^anchored:/m);

    // the kept capture, anchored later as the error said (with the calendar that is up): stamp
    // commits the WACZ's signed datapackage-digest.json exactly as capture does
    const late = await run(["stamp", lateOut, "--calendar", cal!.url]);
    expect(late.code, late.stderr + late.stdout).to.equal(0);
    const latePending = parseAnyReceipt(fs.readFileSync(`${lateOut}.proof.json`, "utf8"));
    expect(isPendingReceipt(latePending)).to.equal(true);
    expect(latePending.subject).to.include({
      name: "datapackage-digest.json",
      sha256: createHash("sha256")
        .update(readZip(fs.readFileSync(lateOut)).get("datapackage-digest.json")!.data)
        .digest("hex"),
    });
    expect(latePending.commitment.meta).to.include({ wacz: "nobody.wacz", urls: url });

    // the pending receipt names the WACZ and the URL, and covers the signed datapackage-digest.json
    const receiptPath = `${out}.proof.json`;
    const pending = parseAnyReceipt(fs.readFileSync(receiptPath, "utf8"));
    expect(isPendingReceipt(pending)).to.equal(true);
    expect(pending.calendars).to.deep.equal([cal!.url]);
    expect(pending.commitment.meta).to.include({ wacz: "listing.wacz", urls: url });
    const digestFile = readZip(fs.readFileSync(out)).get("datapackage-digest.json")!.data;
    expect(pending.subject).to.include({
      name: "datapackage-digest.json",
      sha256: createHash("sha256").update(digestFile).digest("hex"),
    });

    // pending: verify and report say so and fail (never "VERIFIED")
    const [early, earlyReport, earlyLate] = await Promise.all([
      run(["verify", out]),
      run(["report", out, "--out", path.join(ws.dir, "pending.html"), "--lang", "en"]),
      run(["verify", lateOut]),
    ]);
    for (const v of [early, earlyLate]) {
      expect(v.code, v.stdout + v.stderr).to.not.equal(0);
      expect(v.stdout).to.match(/^NOT VERIFIED\s+/m);
      expect(v.stdout).to.match(/RECEIPT_PENDING/);
      expect(v.stdout).to.match(/anchor\s+PENDING \(NOT VERIFIED\)/);
      expect(v.stdout).to.not.match(/^VERIFIED/m);
    }
    expect(earlyReport.code).to.not.equal(0);
    const pendingHtml = fs.readFileSync(path.join(ws.dir, "pending.html"), "utf8");
    expect(pendingHtml).to.include("NOT VERIFIED (PENDING)");
    expect(pendingHtml).to.not.include("VERIFIED — the capture is intact");

    // once the calendar has anchored its batch, verify completes the pending receipt in memory (and
    // says so) without rewriting it
    await anchoredByCalendar(pending.commitment.leaf);
    await anchoredByCalendar(latePending.commitment.leaf);
    const inMemory = await run(["verify", out]);
    expect(inMemory.code, inMemory.stderr + inMemory.stdout).to.equal(0);
    expect(inMemory.stdout).to.match(/^VERIFIED\s+/m);
    expect(inMemory.stdout).to.match(/note: the receipt was pending; .* completed it and that proof verified/);
    expect(isPendingReceipt(parseAnyReceipt(fs.readFileSync(receiptPath, "utf8")))).to.equal(true);

    // upgrade writes the completed receipts (both captures, one command)
    const upgrade = await run(["upgrade", out, lateOut]);
    expect(upgrade.code, upgrade.stderr + upgrade.stdout).to.equal(0);
    expect(upgrade.stdout).to.match(/upgraded\s+.*listing\.wacz\.proof\.json/);
    expect(upgrade.stdout).to.match(/upgraded\s+.*nobody\.wacz\.proof\.json/);
    const complete = parseReceipt(fs.readFileSync(receiptPath, "utf8"));
    expect(complete.subject.sha256).to.equal(pending.subject.sha256);
    expect(complete.commitment.leaf).to.equal(pending.commitment.leaf);
    expect(complete.anchors.map((a) => a.chainId)).to.deep.equal([31337]);

    const [several, byReceipt, ...verified] = await Promise.all([
      run(["verify", out, lateOut]),
      run(["verify", receiptPath]),
      run(["verify", out]),
      run(["verify", lateOut]),
    ]);
    // several captures at once, or a capture named by its receipt: each receipt is checked against
    // the WACZ's signed datapackage-digest.json, not the WACZ's bytes
    for (const v of [several, byReceipt]) {
      expect(v.code, v.stderr + v.stdout).to.equal(0);
      expect(v.stdout).to.match(/a capture: its signed datapackage-digest\.json was checked against the receipt/);
    }
    expect(several.stdout.match(/^ {2}ok {7}/gm)).to.have.length(2);
    for (const v of verified) {
      expect(v.code, v.stderr + v.stdout).to.equal(0);
      expect(v.stdout).to.match(/^VERIFIED\s+/m);
      expect(v.stdout).to.not.match(/note: the receipt was pending/);
    }
    expect(verified[0].stdout).to.match(
      new RegExp(`anchor\\s+chain 31337 block ${complete.anchors[0].blockNumber}, .*confirmation`),
    );
    const report = await run(["report", out, "--out", path.join(ws.dir, "complete.html"), "--lang", "en"]);
    expect(report.code, report.stderr + report.stdout).to.equal(0);
    const html = fs.readFileSync(path.join(ws.dir, "complete.html"), "utf8");
    expect(html).to.include("VERIFIED — the capture is intact");
    expect(html).to.include(complete.anchors[0].txHash);
  });
});
