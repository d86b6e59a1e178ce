import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { parseAnyReceipt, parseReceipt, type Receipt } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { killCalendar, startCalendarProcess, type CalendarProcess } from "./process";

/**
 * The README's "independent witnesses" walkthrough, exactly, with the real CLI in subprocesses: a
 * calendar on the two embedded chains and a local `openssl ts` TSA; a second "terminal" stamps a
 * folder through it with no key and no gas, `upgrade` completes the receipts, `verify` shows two
 * chains and a TSA each verified, `report` lists three clocks; killing one chain leaves the
 * receipt verifiable with `--policy 1` (and not with the default policy). Around it: one calendar
 * down while another answers, every calendar down, a bare digest, a submitter's signature, and a
 * lying calendar refused by `upgrade`.
 */
describe("walkthrough: stamp through a calendar on two chains and a TSA (README)", function () {
  this.timeout(600_000);
  let ws: { dir: string; dataDir: string };
  let cal: CalendarProcess | undefined;
  // "a new user": no key of their own, no gas
  const noKey = { PROOFMARK_PRIVATE_KEY: undefined, PROOFMARK_KEYSTORE: undefined, PROOFMARK_TSA_TRUST: undefined };
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, env: { ...noKey, ...env }, timeoutMs: 120_000 });

  function local2Pid(): number | undefined {
    const file = path.join(ws.dataDir, "local2", "chain", "node.json");
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number }).pid : undefined;
  }

  before(function () {
    assertBuilt();
    ws = makeWorkspace("walkthrough");
    fs.mkdirSync(path.join(ws.dir, "designs"));
    for (const n of ["logo.svg", "poster.png", "brief.txt"])
      fs.writeFileSync(path.join(ws.dir, "designs", n), `${n}: ${Math.random()}\n`);
  });

  after(async function () {
    if (cal) await killCalendar(cal);
    killLocalChain(ws.dataDir);
    const pid = local2Pid();
    if (pid)
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* already gone */
      }
  });

  it("runs the README walkthrough end to end", async function () {
    // terminal 1: proofmark calendar serve --chain local --chain local2 --tsa local
    cal = await startCalendarProcess(ws.dataDir, [
      "--chain",
      "local",
      "--chain",
      "local2",
      "--tsa",
      "local",
      "--interval",
      "1",
    ]);
    expect(cal.summary.chains.map((c) => c.chainId)).to.deep.equal([31337, 31338]);

    // terminal 2: stamp a folder through it — no key, no gas
    const stamp = await run(["stamp", "designs", "--calendar", cal.url]);
    expect(stamp.code, stamp.stderr + stamp.stdout).to.equal(0);
    expect(stamp.stdout).to.match(/pending\s+designs\/brief\.txt/);
    const receiptFiles = ["brief.txt", "logo.svg", "poster.png"].map((n) =>
      path.join(ws.dir, "designs", `${n}.proof.json`),
    );
    for (const f of receiptFiles) {
      const r = parseAnyReceipt(fs.readFileSync(f, "utf8"));
      expect("pending" in r && r.pending, f).to.equal(true);
      expect(r.calendars).to.deep.equal([cal.url]);
    }

    // upgrade completes them (retried until the calendar has anchored its batch on both chains)
    let upgrade = await run(["upgrade", "designs"]);
    for (let i = 0; i < 60 && upgrade.code !== 0; i++) {
      expect(upgrade.stdout + upgrade.stderr).to.match(/RECEIPT_PENDING|still pending/);
      await new Promise((r) => setTimeout(r, 1_000));
      upgrade = await run(["upgrade", "designs"]);
    }
    expect(upgrade.code, upgrade.stderr + upgrade.stdout).to.equal(0);
    const receipt: Receipt = parseReceipt(fs.readFileSync(receiptFiles[0], "utf8"));
    expect(receipt.version).to.equal(2);
    expect(receipt.anchors.map((a) => a.chainId).sort()).to.deep.equal([31337, 31338]);
    expect(receipt.timestamps).to.have.length(1);

    // verify: two chains and a TSA, each verified
    const verify = await run(["verify", "designs", "--json"]);
    expect(verify.code, verify.stderr + verify.stdout).to.equal(0);
    const results = JSON.parse(verify.stdout) as Array<{
      ok: boolean;
      anchors: Array<{ chainId: number; ok: boolean }>;
      timestamps: Array<{ ok: boolean; genTime: string }>;
      policy: { verified: number; witnesses: number };
    }>;
    expect(results).to.have.length(3);
    for (const r of results) {
      expect(r.ok).to.equal(true);
      expect(r.anchors.map((a) => [a.chainId, a.ok])).to.deep.equal(receipt.anchors.map((a) => [a.chainId, true]));
      expect(r.timestamps.map((t) => t.ok)).to.deep.equal([true]);
      expect(r.policy).to.include({ verified: 3, witnesses: 3 });
    }
    const text = await run(["verify", "designs/poster.png"]);
    expect(text.code, text.stderr).to.equal(0);
    expect(text.stdout)
      .to.match(/VERIFIED\s+chain 31337/)
      .and.match(/VERIFIED\s+chain 31338/)
      .and.match(/VERIFIED\s+TSA /);
    expect(text.stdout).to.match(/signed by 0x[0-9a-f]{40} \(calendar\)/);

    // report: three clocks and their spread
    const report = await run(["report", "designs/logo.svg", "--out", "report.html", "--lang", "en"]);
    expect(fs.existsSync(path.join(ws.dir, "report.html")), report.stderr).to.equal(true);
    const html = fs.readFileSync(path.join(ws.dir, "report.html"), "utf8");
    expect(html).to.include("chain 31337 block time:").and.include("chain 31338 block time:");
    expect(html).to.match(/TSA CN=Proofmark Local TSA[^<]* genTime:/);
    expect(html).to.include("spread between the verified clocks");
    expect(html).to.include("Validation time (RFC 3161)");

    // kill one chain: the default policy (all) fails and names it; --policy 1 verifies and names it
    const pid = local2Pid()!;
    process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    const strict = await run(["verify", "designs/logo.svg"]);
    expect(strict.code).to.not.equal(0);
    expect(strict.stdout).to.match(/NOT CHECKED\s+chain 31338.*RPC_UNREACHABLE/);
    const lenient = await run(["verify", "designs/logo.svg", "--policy", "1"]);
    expect(lenient.code, lenient.stderr + lenient.stdout).to.equal(0);
    expect(lenient.stdout).to.match(/policy 1: 2 of 3/);
    expect(lenient.stdout).to.match(/NOT CHECKED\s+chain 31338/);
  });

  it("keeps going when one calendar is down; stops with CALENDAR_UNREACHABLE, writing nothing, when all are", async function () {
    fs.mkdirSync(path.join(ws.dir, "more"));
    fs.writeFileSync(path.join(ws.dir, "more", "x.txt"), "x\n");
    const down = "http://127.0.0.1:9";
    const one = await run(["stamp", "more", "--calendar", down, "--calendar", cal!.url]);
    expect(one.code, one.stderr).to.equal(0);
    expect(one.stdout).to.match(/127\.0\.0\.1:9: DID NOT ANSWER \(CALENDAR_UNREACHABLE/);
    const r = parseAnyReceipt(fs.readFileSync(path.join(ws.dir, "more", "x.txt.proof.json"), "utf8"));
    expect(r.calendars).to.deep.equal([cal!.url]);

    fs.writeFileSync(path.join(ws.dir, "more", "y.txt"), "y\n");
    const none = await run(["stamp", "more/y.txt", "--calendar", down]);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include("CALENDAR_UNREACHABLE");
    expect(fs.existsSync(path.join(ws.dir, "more", "y.txt.proof.json"))).to.equal(false);
  });

  it("stamps a bare digest, and signs the submitter's statement with the submitter's own key (never printed)", async function () {
    const hex = "ab".repeat(32);
    const key = "0x" + "5a".repeat(32);
    const stamp = await run(["stamp", "--sha256", hex, "--calendar", cal!.url, "--sign", "--statement", "I made it"], {
      PROOFMARK_PRIVATE_KEY: key,
    });
    expect(stamp.code, stamp.stderr).to.equal(0);
    expect(stamp.stdout + stamp.stderr).to.not.include(key.slice(2));
    expect(stamp.stdout).to.match(/signed by 0x[0-9a-f]{40} \(submitter\)/);
    const file = path.join(ws.dir, `${hex}.proof.json`);
    const pending = parseAnyReceipt(fs.readFileSync(file, "utf8"));
    expect(pending.subject).to.deep.equal({ name: `sha256-${hex.slice(0, 16)}`, sha256: hex });
    expect(pending.attestations!.map((a) => a.type)).to.deep.equal(["calendar", "submitter"]);
    const show = await run(["show", `${hex}.proof.json`]);
    expect(show.code, show.stderr).to.equal(0);
    expect(show.stdout).to.include("PENDING").and.include("(a bare digest: no size)");
    expect(show.stdout).to.match(/statement by 0x[0-9a-f]{40} \(submitter\): "I made it"/);
    const verify = await run(["verify", `${hex}.proof.json`]);
    // completed in memory from the calendar (no file was hashed: a bare digest), or still pending — never anything else
    if (verify.code === 0) expect(verify.stdout).to.include("a bare digest: no file was hashed");
    else expect(verify.stderr).to.include("RECEIPT_PENDING");
  });

  it("upgrade refuses a lying calendar's proof with CALENDAR_PROOF_INVALID and keeps the pending receipt", async function () {
    fs.mkdirSync(path.join(ws.dir, "lied"));
    fs.writeFileSync(path.join(ws.dir, "lied", "z.txt"), "z\n");
    const stamp = await run(["stamp", "lied", "--calendar", cal!.url]);
    expect(stamp.code, stamp.stderr).to.equal(0);
    const file = path.join(ws.dir, "lied", "z.txt.proof.json");
    const before = fs.readFileSync(file, "utf8");
    // the liar claims the leaf was anchored under a root its path does not lead to
    const server = http.createServer((req, res) => {
      const leaf = String(req.url).split("/").pop();
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          format: "proofmark-calendar-proof",
          version: 1,
          status: "complete",
          leaf,
          proof: { root: "0x" + "77".repeat(32), path: ["0x" + "66".repeat(32)], leafCount: 2 },
          anchors: parseReceipt(fs.readFileSync(path.join(ws.dir, "designs", "logo.svg.proof.json"), "utf8")).anchors,
          timestamps: [],
          attestations: [],
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const liar = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const up = await run(["upgrade", "lied", "--calendar", liar]);
      expect(up.code).to.equal(1);
      expect(up.stdout).to.match(/refused\s+lied\/z\.txt\.proof\.json\s+CALENDAR_PROOF_INVALID/);
      expect(up.stderr).to.include("CALENDAR_PROOF_INVALID");
      expect(fs.readFileSync(file, "utf8")).to.equal(before);
    } finally {
      await new Promise((r) => server.close(() => r(undefined)));
    }
  });
});
