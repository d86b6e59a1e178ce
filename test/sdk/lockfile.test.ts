import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { withLockFile } from "../../packages/sdk/src/util/fs";

/** The one lock-file mechanism (the store's writers, the local chain's start). */
describe("SDK: withLockFile", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-lock-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("callers in one process take turns, in order, and the file is gone afterwards", async () => {
    const lock = path.join(dir, "LOCK");
    const log: string[] = [];
    const job = (name: string) =>
      withLockFile(lock, async () => {
        log.push(`${name} in`);
        expect(fs.readFileSync(lock, "utf8")).to.equal(String(process.pid));
        await new Promise((r) => setTimeout(r, 20));
        log.push(`${name} out`);
        return name;
      });
    const a = job("a");
    const b = job("b");
    const c = withLockFile(lock, async () => {
      log.push("c in");
      throw new Error("boom");
    }).catch((e: Error) => e.message);
    const d = job("d");
    expect(await Promise.all([a, b, c, d])).to.deep.equal(["a", "b", "boom", "d"]);
    expect(log).to.deep.equal(["a in", "a out", "b in", "b out", "c in", "d in", "d out"]);
    expect(fs.existsSync(lock)).to.equal(false);
  });

  it("takes over a lock left by a dead process, or by an earlier process that had this pid", async () => {
    const lock = path.join(dir, "LOCK");
    const dead = spawn(process.execPath, ["-e", ""]);
    await new Promise((r) => dead.once("exit", r));
    for (const stale of [String(dead.pid), String(process.pid), "", "garbage"]) {
      fs.writeFileSync(lock, stale);
      expect(await withLockFile(lock, async () => "ran", { timeoutMs: 500 }), `stale lock "${stale}"`).to.equal("ran");
    }
  });

  it("waits for a live holder, then fails with the caller's error and leaves its lock alone", async () => {
    const lock = path.join(dir, "LOCK");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"]);
    try {
      fs.writeFileSync(lock, String(holder.pid));
      const t = Date.now();
      const err = await withLockFile(lock, async () => "ran", {
        timeoutMs: 300,
        pollMs: 20,
        busyError: (pid) => new Error(`busy ${pid}`),
      }).catch((e: Error) => e);
      expect((err as Error).message).to.equal(`busy ${holder.pid}`);
      expect(Date.now() - t).to.be.at.least(300);
      expect(fs.readFileSync(lock, "utf8")).to.equal(String(holder.pid));
    } finally {
      holder.kill("SIGKILL");
    }
  });
});
