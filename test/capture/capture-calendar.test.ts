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
// The pending receipt is written at once and never shown as verified; `upgrade` completes it once
// the calendar has anchored its batch; then `verify` and `report` check the completed anchor.
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

  it("writes a pending receipt at once, verifies only after upgrade, and the report follows", async function () {
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/listing`;
    const out = path.join(ws.dir, "listing.wacz");
    const down = "http://127.0.0.1:9";
    const captured = await run(["capture", url, "--out", out, "--calendar", down, "--calendar", cal!.url]);
    expect(captured.code, captured.stderr + captured.stdout).to.equal(0);
    expect(captured.stdout).to.match(/pending: datapackage-digest\.json of listing\.wacz submitted/);
    expect(captured.stdout).to.match(/127\.0\.0\.1:9: DID NOT ANSWER \(CALENDAR_UNREACHABLE/);
    expect(captured.stdout).to.include(`proofmark upgrade ${out}`);
    expect(captured.stdout).to.not.match(/^anchored:/m);

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
    const [early, earlyReport] = await Promise.all([
      run(["verify", out]),
      run(["report", out, "--out", path.join(ws.dir, "pending.html"), "--lang", "en"]),
    ]);
    expect(early.code, early.stdout + early.stderr).to.not.equal(0);
    expect(early.stdout).to.match(/^NOT VERIFIED\s+/m);
    expect(early.stdout).to.match(/RECEIPT_PENDING/);
    expect(early.stdout).to.match(/anchor\s+PENDING \(NOT VERIFIED\)/);
    expect(early.stdout).to.not.match(/^VERIFIED/m);
    expect(earlyReport.code).to.not.equal(0);
    const pendingHtml = fs.readFileSync(path.join(ws.dir, "pending.html"), "utf8");
    expect(pendingHtml).to.include("NOT VERIFIED (PENDING)");
    expect(pendingHtml).to.not.include("VERIFIED — the capture is intact");

    // upgrade completes it once the calendar has anchored its batch
    let upgrade = await run(["upgrade", out]);
    for (let i = 0; i < 90 && upgrade.code !== 0; i++) {
      expect(upgrade.stdout + upgrade.stderr).to.match(/RECEIPT_PENDING|still pending/);
      await new Promise((r) => setTimeout(r, 2_000));
      upgrade = await run(["upgrade", out]);
    }
    expect(upgrade.code, upgrade.stderr + upgrade.stdout).to.equal(0);
    expect(upgrade.stdout).to.match(/upgraded\s+.*listing\.wacz\.proof\.json/);
    const complete = parseReceipt(fs.readFileSync(receiptPath, "utf8"));
    expect(complete.subject.sha256).to.equal(pending.subject.sha256);
    expect(complete.commitment.leaf).to.equal(pending.commitment.leaf);
    expect(complete.anchors.map((a) => a.chainId)).to.deep.equal([31337]);

    const verified = await run(["verify", out]);
    expect(verified.code, verified.stderr + verified.stdout).to.equal(0);
    expect(verified.stdout).to.match(/^VERIFIED\s+/m);
    expect(verified.stdout).to.match(
      new RegExp(`anchor\\s+chain 31337 block ${complete.anchors[0].blockNumber}, .*confirmation`),
    );
    const report = await run(["report", out, "--out", path.join(ws.dir, "complete.html"), "--lang", "en"]);
    expect(report.code, report.stderr + report.stdout).to.equal(0);
    const html = fs.readFileSync(path.join(ws.dir, "complete.html"), "utf8");
    expect(html).to.include("VERIFIED — the capture is intact");
    expect(html).to.include(complete.anchors[0].txHash);
  });

  it("stops with CALENDAR_UNREACHABLE and writes no receipt when no calendar answers", async function () {
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/listing`;
    const out = path.join(ws.dir, "nobody.wacz");
    const r = await run(["capture", url, "--out", out, "--calendar", "http://127.0.0.1:9"]);
    expect(r.code).to.equal(1);
    expect(r.stderr + r.stdout).to.match(/CALENDAR_UNREACHABLE/);
    expect(fs.existsSync(`${out}.proof.json`)).to.equal(false);
  });
});
