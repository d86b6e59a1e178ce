import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertBuilt, CLI, killLocalChain, makeWorkspace, runCli } from "./helpers";

describe("CLI: stamp, verify, show (end to end on the embedded local chain)", function () {
  this.timeout(180_000);
  const ws = makeWorkspace("stamp");
  const run = (args: string[], env?: NodeJS.ProcessEnv) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, env });
  const designs = path.join(ws.dir, "designs");

  before(function () {
    assertBuilt();
    fs.mkdirSync(path.join(designs, "sub"), { recursive: true });
    fs.writeFileSync(path.join(designs, "logo.svg"), "<svg><circle r='4'/></svg>\n");
    fs.writeFileSync(path.join(designs, "poster.txt"), "Summer poster, final\n");
    fs.writeFileSync(path.join(designs, "sub", "photo.bin"), Buffer.alloc(3 * 1024 * 1024, 7));
  });

  after(function () {
    killLocalChain(ws.dataDir);
  });

  it("stamps a folder with one transaction and writes a receipt beside each file", async function () {
    const r = await run(["stamp", "designs", "--author", "Li Wei", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(result.batches).to.have.length(1);
    expect(result.batches[0].leafCount).to.equal(3);
    expect(result.files.map((f: { status: string }) => f.status)).to.deep.equal(["stamped", "stamped", "stamped"]);
    for (const f of ["logo.svg", "poster.txt", "sub/photo.bin"])
      expect(fs.existsSync(path.join(designs, `${f}.proof.json`))).to.equal(true);
    expect(new Set(result.files.map((f: { anchor: { txHash: string } }) => f.anchor.txHash)).size).to.equal(1);
  });

  it("never stamps receipts, and leaves files that already have a receipt for their content alone", async function () {
    const r = await run(["stamp", "designs", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(result.batches).to.have.length(0);
    expect(result.files).to.have.length(3);
    expect(result.files.every((f: { status: string }) => f.status === "unchanged")).to.equal(true);
  });

  it("verifies every file of the folder, with time, block, transaction and submitter", async function () {
    const r = await run(["verify", "designs"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/3 of 3 file\(s\) verified/);
    const one = await run(["verify", "designs/logo.svg"]);
    expect(one.code).to.equal(0);
    expect(one.stdout).to.match(/VERIFIED/);
    expect(one.stdout).to.match(/anchored\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(local /);
    expect(one.stdout).to.match(/transaction\s+0x[0-9a-f]{64}/);
    expect(one.stdout).to.match(/submitter\s+0x[0-9a-f]{40} \(admin\)/);
    expect(one.stdout).to.match(/confirmations\s+\d+/);
  });

  it("still verifies after the local chain is killed with SIGKILL right after stamping, and restarted", async function () {
    fs.writeFileSync(path.join(ws.dir, "late.txt"), "stamped just before a crash\n");
    const s = await run(["stamp", "late.txt"]);
    expect(s.code, s.stderr).to.equal(0);
    expect(killLocalChain(ws.dataDir)).to.be.a("number");
    const v = await run(["verify", "late.txt", "designs", "--json"]);
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    const status = await run(["node", "status", "--json"]);
    expect(JSON.parse(status.stdout)).to.include({ running: true, chainId: 31337 });
  });

  it("tells exactly which file changed, and since when the others provably existed", async function () {
    fs.appendFileSync(path.join(designs, "poster.txt"), "edited after stamping\n");
    const r = await run(["verify", "designs"]);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.match(/CHANGED\s+designs\/poster\.txt/);
    expect(r.stdout).to.match(/ok\s+designs\/logo\.svg\s+existed no later than/);
    expect(r.stdout).to.match(/2 of 3 file\(s\) verified; 1 did not/);
    const one = await run(["verify", "designs/poster.txt", "--json"]);
    expect(one.code).to.equal(1);
    expect(JSON.parse(one.stdout)).to.include({ ok: false, code: "DIGEST_MISMATCH" });
  });

  it("restamping a changed file keeps the earlier receipt as <file>.proof.1.json", async function () {
    const r = await run(["stamp", "designs/poster.txt", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.existsSync(path.join(designs, "poster.txt.proof.1.json"))).to.equal(true);
    expect((await run(["verify", "designs/poster.txt"])).code).to.equal(0);
  });

  it("writes receipts into --out DIR when asked", async function () {
    fs.writeFileSync(path.join(ws.dir, "draft.md"), "# draft\n");
    const r = await run(["stamp", "draft.md", "--out", "receipts"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(fs.existsSync(path.join(ws.dir, "receipts", "draft.md.proof.json"))).to.equal(true);
    expect((await run(["verify", "draft.md", "--proof", "receipts/draft.md.proof.json"])).code).to.equal(0);
  });

  it("show prints a readable summary without the chain", async function () {
    const r = await run(["show", "designs/logo.svg.proof.json"]);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/file\s+logo\.svg/);
    expect(r.stdout).to.match(/author\s+"Li Wei"/);
  });

  describe("crash safety: the queue", function () {
    it("a stamp killed after queueing is finished by the next stamp, anchored once, nothing lost", async function () {
      fs.writeFileSync(path.join(ws.dir, "crash1.txt"), "crash after queue\n");
      const crashed = await run(["stamp", "crash1.txt"], { PROOFMARK_TEST_CRASH: "after-queue" });
      expect(crashed.code).to.not.equal(0);
      expect(fs.existsSync(path.join(ws.dir, "crash1.txt.proof.json"))).to.equal(false);
      expect(fs.readdirSync(path.join(ws.dataDir, "queue"))).to.have.length(1);
      fs.writeFileSync(path.join(ws.dir, "next.txt"), "the next stamp\n");
      const next = await run(["stamp", "next.txt", "--json"]);
      expect(next.code, next.stderr).to.equal(0);
      const result = JSON.parse(next.stdout);
      expect(result.batches.map((b: { resumed: boolean }) => b.resumed)).to.deep.equal([true, false]);
      expect(fs.readdirSync(path.join(ws.dataDir, "queue"))).to.have.length(0);
      expect((await run(["verify", "crash1.txt", "next.txt"])).code).to.equal(0);
    });

    it("a stamp killed after sending is recovered by --resume without a second transaction", async function () {
      fs.writeFileSync(path.join(ws.dir, "crash2.txt"), "crash after send\n");
      const crashed = await run(["stamp", "crash2.txt"], { PROOFMARK_TEST_CRASH: "after-send" });
      expect(crashed.code).to.not.equal(0);
      const queued = fs.readdirSync(path.join(ws.dataDir, "queue"));
      expect(queued).to.have.length(1);
      const batch = JSON.parse(fs.readFileSync(path.join(ws.dataDir, "queue", queued[0]), "utf8"));
      expect(batch.txHash).to.match(/^0x[0-9a-f]{64}$/);
      const resumed = await run(["stamp", "--resume", "--json"]);
      expect(resumed.code, resumed.stderr).to.equal(0);
      const result = JSON.parse(resumed.stdout);
      expect(result.batches[0].txHash).to.equal(batch.txHash);
      expect((await run(["verify", "crash2.txt"])).code).to.equal(0);
    });

    it("a failed transaction leaves the queue intact and says why; --resume finishes it later", async function () {
      fs.writeFileSync(path.join(ws.dir, "poor.txt"), "signed by an account with no ether\n");
      const poorKey = `0x${"11".repeat(32)}`;
      const failed = await run(["stamp", "poor.txt"], { PROOFMARK_PRIVATE_KEY: poorKey });
      expect(failed.code).to.equal(1);
      expect(failed.stderr).to.match(/not enough funds|insufficient funds/i);
      expect(failed.stderr).to.match(/stamp --resume/);
      expect(fs.readdirSync(path.join(ws.dataDir, "queue"))).to.have.length(1);
      expect(fs.existsSync(path.join(ws.dir, "poor.txt.proof.json"))).to.equal(false);
      const resumed = await run(["stamp", "--resume"]);
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect((await run(["verify", "poor.txt"])).code).to.equal(0);
    });
  });

  it("stops quietly when the reader of its output goes away early (| head)", async function () {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [CLI, "accounts"], {
      cwd: ws.dir,
      env: { ...process.env, PROOFMARK_HOME: ws.dataDir },
    });
    child.stdout.destroy(); // the reader closes before the CLI writes anything
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(stderr).to.not.match(/EPIPE|Unhandled/);
    expect(code).to.equal(0);
  });

  describe("bad input: a clear message and a non-zero exit", function () {
    it("a missing file", async function () {
      const r = await run(["stamp", "nope.txt"]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/nope\.txt: no such file or folder \[FILE_NOT_FOUND\]/);
    });

    it("a folder with no files", async function () {
      fs.mkdirSync(path.join(ws.dir, "empty"), { recursive: true });
      const r = await run(["stamp", "empty"]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(/no files to stamp in empty .*\[NO_FILES\]/);
    });

    it("a receipt that is not JSON, or not a version this Proofmark reads (1, 2)", async function () {
      fs.writeFileSync(path.join(ws.dir, "bad.proof.json"), "this is not json");
      let r = await run(["verify", "designs/logo.svg", "--proof", "bad.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout + r.stderr).to.match(/not JSON/);
      // (version 2 exists since receipt v2, docs/receipt.md: the next unknown version is 3)
      const v3 = JSON.parse(fs.readFileSync(path.join(designs, "logo.svg.proof.json"), "utf8"));
      v3.version = 3;
      fs.writeFileSync(path.join(ws.dir, "v3.proof.json"), JSON.stringify(v3));
      r = await run(["verify", "designs/logo.svg", "--proof", "v3.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout + r.stderr).to.match(/version 3 is not supported/);
    });

    it("a receipt for another file", async function () {
      const r = await run(["verify", "designs/logo.svg", "--proof", "designs/sub/photo.bin.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/DIGEST_MISMATCH: the file does not match the receipt/);
    });

    it("a receipt naming another chain", async function () {
      const other = JSON.parse(fs.readFileSync(path.join(designs, "logo.svg.proof.json"), "utf8"));
      other.anchors[0].chainId = 1;
      fs.writeFileSync(path.join(ws.dir, "chain1.proof.json"), JSON.stringify(other));
      let r = await run(["verify", "designs/logo.svg", "--proof", "chain1.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/NETWORK_UNKNOWN: the receipt was anchored on chain 1/);
      const rpc = JSON.parse((await run(["node", "status", "--json"])).stdout).rpcUrl;
      r = await run(["verify", "designs/logo.svg", "--proof", "chain1.proof.json", "--rpc", rpc]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/CHAIN_MISMATCH: the receipt was anchored on chain 1 but .* serves chain 31337/);
    });

    it("an unreachable RPC", async function () {
      const r = await run(["verify", "designs/logo.svg", "--rpc", "http://127.0.0.1:9"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/RPC_UNREACHABLE: the RPC endpoint http:\/\/127\.0\.0\.1:9 did not answer/);
      const s = await run(["stamp", "designs/logo.svg", "--rpc", "http://127.0.0.1:9"]);
      expect(s.code).to.equal(1);
      expect(s.stderr).to.match(/RPC_UNREACHABLE/);
    });

    it("a registry address with no code", async function () {
      const forged = JSON.parse(fs.readFileSync(path.join(designs, "logo.svg.proof.json"), "utf8"));
      forged.anchors[0].registry = "0x000000000000000000000000000000000000dead";
      fs.writeFileSync(path.join(ws.dir, "nocode.proof.json"), JSON.stringify(forged));
      const r = await run(["verify", "designs/logo.svg", "--proof", "nocode.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(
        /REGISTRY_NOT_FOUND: there is no contract at 0x000000000000000000000000000000000000dead/,
      );
    });

    it("a receipt whose anchor was altered", async function () {
      const forged = JSON.parse(fs.readFileSync(path.join(designs, "logo.svg.proof.json"), "utf8"));
      forged.anchors[0].timestamp -= 86_400;
      fs.writeFileSync(path.join(ws.dir, "backdated.proof.json"), JSON.stringify(forged));
      const r = await run(["verify", "designs/logo.svg", "--proof", "backdated.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/ANCHOR_MISMATCH/);
    });

    it("a receipt naming another transaction than the one that anchored its root", async function () {
      const forged = JSON.parse(fs.readFileSync(path.join(designs, "logo.svg.proof.json"), "utf8"));
      const other = JSON.parse(fs.readFileSync(path.join(ws.dir, "late.txt.proof.json"), "utf8"));
      forged.anchors[0].txHash = other.anchors[0].txHash;
      fs.writeFileSync(path.join(ws.dir, "othertx.proof.json"), JSON.stringify(forged));
      const r = await run(["verify", "designs/logo.svg", "--proof", "othertx.proof.json"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/ANCHOR_MISMATCH: transaction 0x[0-9a-f]{64} named in the receipt did not anchor/);
    });

    it("fewer confirmations than required, until blocks are mined", async function () {
      const r = await run(["verify", "designs/logo.svg", "--min-confirmations", "100000"]);
      expect(r.code).to.equal(1);
      expect(r.stdout).to.match(/NOT_CONFIRMED: the anchor has \d+ confirmation\(s\), fewer than the 100000 required/);
      const before = JSON.parse((await run(["verify", "designs/logo.svg", "--json"])).stdout).anchors[0].confirmations;
      const mined = await run(["node", "mine", "5"]);
      expect(mined.code, mined.stderr).to.equal(0);
      const after = JSON.parse((await run(["verify", "designs/logo.svg", "--json"])).stdout).anchors[0].confirmations;
      expect(after).to.equal(before + 5);
    });
  });
});
