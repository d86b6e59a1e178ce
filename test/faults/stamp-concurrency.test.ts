import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ethers } from "ethers";
import { assertBuilt, CLI, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";

/** Every receipt (x.proof.json and kept earlier ones x.proof.N.json) under `dir`. */
function receiptsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== ".proofmark") out.push(...receiptsUnder(full));
    else if (/\.proof(\.\d+)?\.json$/.test(e.name)) out.push(full);
  }
  return out;
}

/** Roots anchored on the workspace's local chain by its EvidenceRegistry, in order. */
async function anchoredRoots(dataDir: string, registry: string): Promise<string[]> {
  const { rpcUrl } = JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "node.json"), "utf8")) as {
    rpcUrl: string;
  };
  const provider = new ethers.JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const topic = ethers.id("EvidenceAnchored(bytes32,address,uint256)");
    const logs = await provider.getLogs({ address: registry, topics: [topic], fromBlock: 0, toBlock: "latest" });
    return logs.map((l) => l.topics[1].toLowerCase());
  } finally {
    provider.destroy();
  }
}

/**
 * The whole promise of `stamp` under faults: every file ends with exactly one valid receipt for
 * its content, no root is anchored twice, and every anchored root has its receipts (none lost).
 */
async function expectExactlyOnce(ws: { dir: string; dataDir: string }, files: string[]): Promise<void> {
  const receipts = receiptsUnder(ws.dir);
  expect(
    receipts.filter((r) => /\.proof\.\d+\.json$/.test(r)),
    "no file was stamped twice",
  ).to.deep.equal([]);
  expect(receipts.map((r) => r.replace(/\.proof\.json$/, "")).sort()).to.deep.equal([...files].sort());
  const byRoot = new Map<string, number>();
  let registry = "";
  for (const r of receipts) {
    const receipt = JSON.parse(fs.readFileSync(r, "utf8"));
    expect(receipt.subject.sha256).to.equal(
      require("node:crypto")
        .createHash("sha256")
        .update(fs.readFileSync(r.replace(/\.proof\.json$/, "")))
        .digest("hex"),
    );
    byRoot.set(receipt.proof.root, (byRoot.get(receipt.proof.root) ?? 0) + 1);
    registry = receipt.anchors[0].registry;
  }
  const roots = await anchoredRoots(ws.dataDir, registry);
  expect(new Set(roots).size, "a root anchored twice").to.equal(roots.length);
  expect([...roots].sort(), "every anchored root has its receipts, and every receipt's root is anchored").to.deep.equal(
    [...byRoot.keys()].sort(),
  );
  expect(
    fs.readdirSync(path.join(ws.dataDir, "queue")).filter((n) => n.endsWith(".json")),
    "nothing left queued",
  ).to.deep.equal([]);
  const v = await runCli(["verify", ws.dir], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 300_000 });
  expect(v.code, v.stdout + v.stderr).to.equal(0);
  expect(v.stdout).to.include(`${files.length} of ${files.length} file(s) verified`);
}

describe("faults: stamps at once, and stamps killed at random moments", function () {
  this.timeout(900_000);
  let ws: { dir: string; dataDir: string };
  const run = (args: string[], env?: NodeJS.ProcessEnv) =>
    runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, env, timeoutMs: 300_000 });
  const write = (rel: string, text: string) => {
    const f = path.join(ws.dir, rel);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    fs.writeFileSync(f, text);
    return f;
  };

  before(function () {
    assertBuilt();
  });
  beforeEach(function () {
    ws = makeWorkspace("faults-stamp");
  });
  afterEach(function () {
    killLocalChain(ws.dataDir);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("four stamps at once in one data folder: each finishes its own batch; nothing stays queued, nothing is lost", async function () {
    const files: string[] = [];
    for (const d of ["a", "b", "c", "d"])
      for (let i = 0; i < 20; i++) files.push(write(`${d}/f${i}.txt`, `${d} ${i}\n`));
    const first = await run(["stamp", write("warm.txt", "starts the chain\n")]);
    expect(first.code, first.stderr).to.equal(0);
    files.push(path.join(ws.dir, "warm.txt"));
    const results = await Promise.all(["a", "b", "c", "d"].map((d) => run(["stamp", d])));
    for (const r of results) expect(r.code, r.stderr).to.equal(0);
    const resume = await run(["stamp", "--resume"]);
    expect(resume.code, resume.stderr).to.equal(0);
    expect(resume.stdout).to.include("nothing queued");
    await expectExactlyOnce(ws, files);
  });

  it("two stamps at once of the same and of overlapping files: one receipt per file", async function () {
    const files: string[] = [];
    for (let i = 0; i < 10; i++) files.push(write(`same/f${i}.txt`, `same ${i}\n`));
    for (let i = 0; i < 10; i++) files.push(write(`over/f${i}.txt`, `over ${i}\n`));
    const [x, y] = await Promise.all([run(["stamp", "same"]), run(["stamp", "same"])]);
    expect(x.code, x.stderr).to.equal(0);
    expect(y.code, y.stderr).to.equal(0);
    const [p, q] = await Promise.all([
      run(["stamp", ...files.slice(10, 17).map((f) => path.relative(ws.dir, f))]),
      run(["stamp", ...files.slice(13, 20).map((f) => path.relative(ws.dir, f))]),
    ]);
    expect(p.code, p.stderr).to.equal(0);
    expect(q.code, q.stderr).to.equal(0);
    await expectExactlyOnce(ws, files);
  });

  it("kill -9 of stamp at random moments (24 kills), then stamp --resume: every file exactly once", async function () {
    const files: string[] = [];
    const first = await run(["stamp", write("warm.txt", "starts the chain\n")]);
    expect(first.code, first.stderr).to.equal(0);
    files.push(path.join(ws.dir, "warm.txt"));
    // How long a stamp takes here, so the kills land before, during and after its work.
    const t0 = Date.now();
    const timed = await run(["stamp", write("timed.txt", "timing\n")]);
    expect(timed.code, timed.stderr).to.equal(0);
    files.push(path.join(ws.dir, "timed.txt"));
    const span = Date.now() - t0;
    let killed = 0;
    for (let round = 0; round < 24; round++) {
      for (let i = 0; i < 3; i++) files.push(write(`k/r${round}-${i}.txt`, `round ${round} file ${i}\n`));
      const child = spawn(process.execPath, [CLI, "stamp", "k"], {
        cwd: ws.dir,
        env: { ...process.env, PROOFMARK_HOME: ws.dataDir },
        stdio: "ignore",
      });
      const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * span * 0.9)));
      if (child.exitCode === null && child.kill("SIGKILL")) killed++;
      await exited;
    }
    expect(killed, "most stamps were killed mid-way").to.be.greaterThanOrEqual(20);
    const resume = await run(["stamp", "--resume"]);
    expect(resume.code, resume.stderr).to.equal(0);
    // Files whose stamp was killed before it queued them are stamped now, once.
    const rest = await run(["stamp", "k"]);
    expect(rest.code, rest.stderr).to.equal(0);
    await expectExactlyOnce(ws, files);
  });
});
