import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hashFile } from "../../packages/sdk/src/evidence/files";
import { isProofmarkError } from "../../packages/sdk/src/core/errors";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";

describe("faults: stamp's edges (changing files, torn receipts, leftovers, collisions, special files)", function () {
  this.timeout(300_000);

  describe("a file modified while it is hashed", function () {
    const ws = makeWorkspace("changing");
    after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

    it("is FILE_CHANGED, never a digest of neither version", async function () {
      const file = path.join(ws.dir, "growing.bin");
      fs.writeFileSync(file, Buffer.alloc(130 << 20, 1)); // the hasher reports progress every 64 MiB
      let touched = false;
      try {
        await hashFile(file, () => {
          if (!touched) fs.appendFileSync(file, "more");
          touched = true;
        });
        expect.fail("hashFile accepted a file written while it was read");
      } catch (e) {
        expect(isProofmarkError(e, "FILE_CHANGED"), String(e)).to.equal(true);
        expect((e as Error).message).to.include(file);
      }
      expect(touched).to.equal(true);
      const { size } = await hashFile(file); // unchanged now: fine
      expect(size).to.equal((130 << 20) + 4);
    });

    it("a FIFO is never opened for reading as a file (no hang), it is refused with a code", async function () {
      const fifo = path.join(ws.dir, "pipe");
      execFileSync("mkfifo", [fifo]);
      try {
        await hashFile(fifo);
        expect.fail("hashFile read a FIFO");
      } catch (e) {
        expect(isProofmarkError(e, "INPUT_TOO_LARGE"), String(e)).to.equal(true);
      }
    });
  });

  describe("with the CLI", function () {
    const ws = makeWorkspace("edges");
    const run = (args: string[], env?: NodeJS.ProcessEnv, cwd = ws.dir) =>
      runCli(args, { cwd, dataDir: ws.dataDir, env, timeoutMs: 240_000 });
    before(function () {
      assertBuilt();
    });
    after(function () {
      killLocalChain(ws.dataDir);
      fs.rmSync(ws.dir, { recursive: true, force: true });
    });

    it("a receipt torn by a crash (empty) is rewritten by --resume, not kept as an earlier receipt; stale .tmp files go", async function () {
      const file = path.join(ws.dir, "torn.txt");
      fs.writeFileSync(file, "torn receipt case\n");
      const crashed = await run(["stamp", "torn.txt"], { PROOFMARK_TEST_CRASH: "after-send" });
      expect(crashed.code).to.not.equal(0);
      const queued = fs.readdirSync(path.join(ws.dataDir, "queue")).filter((n) => n.endsWith(".json"));
      expect(queued).to.have.length(1);
      // What kill -9 or a full disk leaves while the receipt is written: an empty or cut file …
      fs.writeFileSync(`${file}.proof.json`, "");
      // … and temporary files of processes that are gone.
      const staleReceiptTmp = path.join(ws.dir, ".torn.txt.proof.json.999999999.1700000000000.tmp");
      const staleQueueTmp = path.join(ws.dataDir, "queue", `.${queued[0]}.999999999.1700000000000.tmp`);
      fs.writeFileSync(staleReceiptTmp, "{");
      fs.writeFileSync(staleQueueTmp, "{");
      const resumed = await run(["stamp", "--resume", "--json"]);
      expect(resumed.code, resumed.stderr).to.equal(0);
      expect(JSON.parse(resumed.stdout).files.map((f: { status: string }) => f.status)).to.deep.equal(["resumed"]);
      expect(fs.existsSync(`${file}.proof.1.json`), "the torn receipt passed for an earlier one").to.equal(false);
      const v = await run(["verify", "torn.txt"]);
      expect(v.code, v.stdout + v.stderr).to.equal(0);
      expect(fs.existsSync(staleReceiptTmp)).to.equal(false);
      expect(fs.existsSync(staleQueueTmp)).to.equal(false);
    });

    it("--out: two files that would share a receipt are refused before anything is sent", async function () {
      for (const d of ["a", "b"]) {
        fs.mkdirSync(path.join(ws.dir, d), { recursive: true });
        fs.writeFileSync(path.join(ws.dir, d, "report.txt"), `report of ${d}\n`);
      }
      const cwd = path.join(ws.dir, "c");
      fs.mkdirSync(cwd, { recursive: true });
      const r = await run(["stamp", "../a/report.txt", "../b/report.txt", "--out", "receipts"], undefined, cwd);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include("would both get the receipt");
      expect(r.stderr).to.include("[INVALID_ARGUMENT]");
      expect(fs.existsSync(path.join(cwd, "receipts"))).to.equal(false);
      expect(fs.readdirSync(path.join(ws.dataDir, "queue")).filter((n) => n.endsWith(".json"))).to.deep.equal([]);
    });

    it("symbolic links and FIFOs in a stamped folder are named as skipped, by stamp and by verify", async function () {
      const dir = path.join(ws.dir, "special");
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, "real.txt"), "real\n");
      fs.symlinkSync(path.join(ws.dir, "torn.txt"), path.join(dir, "link.txt"));
      fs.symlinkSync("/dev/zero", path.join(dir, "zero"));
      execFileSync("mkfifo", [path.join(dir, "fifo")]);
      const s = await run(["stamp", "special"]);
      expect(s.code, s.stderr).to.equal(0);
      expect(s.stdout).to.match(/skipped\s+special\/link\.txt\s+\(a symbolic link/);
      expect(s.stdout).to.match(/skipped\s+special\/zero\s+\(a symbolic link/);
      expect(s.stdout).to.match(/skipped\s+special\/fifo\s+\(a FIFO/);
      expect(s.stdout).to.include("3 entries were not stamped");
      const json = await run(["stamp", "special", "--json"]);
      expect(JSON.parse(json.stdout).skipped.map((e: { path: string }) => path.basename(e.path))).to.deep.equal([
        "fifo",
        "link.txt",
        "zero",
      ]);
      fs.writeFileSync(path.join(dir, "second.txt"), "second\n");
      expect((await run(["stamp", "special"])).code).to.equal(0);
      const v = await run(["verify", "special"]);
      expect(v.code, v.stdout + v.stderr).to.equal(0);
      expect(v.stdout).to.include("2 of 2 file(s) verified");
      expect(v.stdout).to.match(/skipped\s+special\/fifo\s+\(a FIFO/);
      expect(v.stdout).to.include("3 entries of the folder(s) skipped, not verified");
    });
  });
});
