// Embedded local chain benchmarks (issue 11): one-file `stamp` latency and chain restart time at a
// history of 0, 10^4 and 10^5 transactions, beside the previous design's cost per write (a whole
// state dump, `anvil_dumpState`, which it wrote after every write). Runs inside `npm run bench`, or
// alone: npx ts-node --transpile-only scripts/bench/chain.ts   (BENCH_CHAIN_SIZES=0,10000 for a quick run)
// The history is built fast: anchor(root, 1) transactions sent pipelined with eth_sendTransaction
// (Anvil signs them) and mined 100 to a block, then journaled once — not one CLI call each. A built
// history (the data folder, stopped) is kept in bench-results/chain-cache/<size>-<code version>/ and
// reused by the next run while the chain code, the contracts and Anvil are unchanged (the 10^5 one
// takes minutes to build); BENCH_CHAIN_CACHE=0 builds afresh. Every measurement starts from such a
// stopped folder, cached or just built, so both paths measure the same thing.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { AnvilRpc } from "../../packages/sdk/src/chain/anvil-rpc";
import { devAccounts } from "../../packages/sdk/src/chain/accounts";
import { readDeployments } from "../../packages/sdk/src/chain/deployments";
import { evidenceRegistryInterface } from "../../packages/sdk/src/chain/evidence";
import { anvilBinary, LocalNode, type LocalNodeInfo } from "../../packages/sdk/src/chain/local-node";
import type { BenchRow } from "./types";

const REPO = path.resolve(__dirname, "..", "..");
const CLI = path.join(REPO, "cli", "bin", "proofmark.js");
const SECTION = "local chain";
const PER_BLOCK = 100;

function cli(dir: string, args: string[]): { ms: number; stdout: string } {
  const env = { ...process.env, PROOFMARK_HOME: path.join(dir, ".proofmark") };
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: dir, env, encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`proofmark ${args.join(" ")} failed: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const CACHE = path.join(REPO, "bench-results", "chain-cache");

function filesUnder(dir: string, ext: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The version of everything a built history depends on: the chain code, the contracts, Anvil. */
function codeVersion(): string {
  const h = createHash("sha256");
  for (const f of [
    ...filesUnder(path.join(REPO, "packages", "sdk", "src", "chain"), ".ts"),
    ...filesUnder(path.join(REPO, "contracts"), ".sol"),
    path.join(REPO, "hardhat.config.ts"),
  ]) {
    h.update(path.relative(REPO, f)).update("\0").update(fs.readFileSync(f)).update("\0");
  }
  h.update(spawnSync(anvilBinary(), ["--version"], { encoding: "utf8" }).stdout ?? "");
  return h.digest("hex").slice(0, 16);
}

/** Adds `count` anchoring transactions to the chain, `PER_BLOCK` to a block, and journals them. */
async function buildHistory(node: LocalNode, rpcUrl: string, registry: string, count: number): Promise<void> {
  if (count === 0) return;
  const rpc = new AnvilRpc(rpcUrl, 600_000);
  const from = devAccounts().find((a) => a.name === "designer")!.address;
  try {
    await rpc.call("evm_setAutomine", [false]);
    for (let i = 0; i < count;) {
      const calls: Array<[string, unknown[]]> = [];
      for (let b = 0; b < 20 && i < count; b++) {
        for (let k = 0; k < PER_BLOCK && i < count; k++, i++) {
          const root = `0x${(BigInt(i + 1) * 0x9e3779b97f4a7c15n).toString(16).padStart(64, "0")}`;
          calls.push([
            "eth_sendTransaction",
            [
              {
                from,
                to: registry,
                gas: "0x30000",
                data: evidenceRegistryInterface.encodeFunctionData("anchor", [root, 1]),
              },
            ],
          ]);
        }
        calls.push(["evm_mine", []]);
      }
      await rpc.pipeline(calls);
    }
    await rpc.call("evm_setAutomine", [true]);
  } finally {
    rpc.close();
  }
  await node.persist();
}

async function measure(size: number): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-chain-"));
  const dataDir = path.join(dir, ".proofmark");
  try {
    const cached = path.join(CACHE, `${size}-${codeVersion()}`);
    let buildS: number | undefined;
    // the cache holds the data folder and the first stamped file with its receipt (verified after the restart)
    const firstFiles = ["warmup.txt", "warmup.txt.proof.json"];
    const usable = firstFiles.every((f) => fs.existsSync(path.join(cached, "files", f)));
    if (process.env.BENCH_CHAIN_CACHE !== "0" && usable && fs.existsSync(path.join(cached, "complete"))) {
      fs.cpSync(path.join(cached, "data"), dataDir, { recursive: true });
      for (const f of firstFiles) fs.copyFileSync(path.join(cached, "files", f), path.join(dir, f));
    } else {
      fs.writeFileSync(path.join(dir, "warmup.txt"), "deploys the registry\n");
      cli(dir, ["stamp", "warmup.txt"]);
      const builder = new LocalNode(dataDir);
      const built = await builder.start();
      const tBuild = performance.now();
      await buildHistory(builder, built.rpcUrl, readDeployments(dataDir, 31337).EvidenceRegistry!.address, size);
      buildS = (performance.now() - tBuild) / 1000;
      // persist() may have started a background snapshot already: wait for it, then take one of the final history
      const lock = path.join(dataDir, "chain", "snapshot.lock");
      for (let i = 0; i < 6000 && fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 100));
      await builder.snapshot();
      await builder.stop();
      fs.rmSync(cached, { recursive: true, force: true });
      fs.cpSync(dataDir, path.join(cached, "data"), { recursive: true });
      fs.mkdirSync(path.join(cached, "files"), { recursive: true });
      for (const f of firstFiles) fs.copyFileSync(path.join(dir, f), path.join(cached, "files", f));
      fs.writeFileSync(path.join(cached, "complete"), `${size} transactions, built in ${buildS.toFixed(0)} s\n`);
    }
    const node = new LocalNode(dataDir);
    const info = await node.start();
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      fs.writeFileSync(path.join(dir, `f${i}.txt`), `file ${i} at history ${size}\n`);
      latencies.push(cli(dir, ["stamp", `f${i}.txt`]).ms);
    }
    const journalBytes = fs.statSync(node.journalFile).size;
    const chainDir = path.join(dataDir, "chain");
    const sizeOf = (f: string) => fs.statSync(path.join(chainDir, f)).size;
    const meta = JSON.parse(fs.readFileSync(path.join(chainDir, "snapshot.meta.json"), "utf8")) as {
      file: string;
      history?: Array<{ file: string }>;
    };
    const snapshotBytes = sizeOf(meta.file);
    const historyBytes = (meta.history ?? []).reduce((n, c) => n + sizeOf(c.file), 0);
    // The previous design's cost per write: a whole-state dump.
    const rpc = new AnvilRpc(info.rpcUrl, 600_000);
    const tDump = performance.now();
    const dump = await rpc.call<string>("anvil_dumpState", [], 600_000);
    const dumpMs = performance.now() - tDump;
    rpc.close();
    process.kill(info.pid, "SIGKILL");
    const tRestart = performance.now();
    const started = JSON.parse(cli(dir, ["node", "start", "--json"]).stdout) as LocalNodeInfo;
    const restartS = (performance.now() - tRestart) / 1000;
    // The older blocks load in the background: how long until a reader sees the whole history,
    // and the first receipt (block 2) then verifies with its header, log and transaction checked.
    while (!node.historyLoaded(started)) await new Promise((r) => setTimeout(r, 200));
    const historyS = (performance.now() - tRestart) / 1000;
    const verified = cli(dir, ["verify", "warmup.txt", "--json"]).stdout;
    const old = JSON.parse(verified) as { ok: boolean; anchors: Array<{ unchecked: string[] }> };
    if (!old.ok || old.anchors[0].unchecked.some((u) => u.includes("history not available")))
      throw new Error(`the first receipt does not verify in full after the restart: ${verified}`);
    process.kill(started.pid, "SIGKILL");
    const label = size.toLocaleString("en");
    return [
      {
        section: SECTION,
        name: `one-file stamp latency, history ${label} tx (median of 5, CLI)`,
        value: Math.round(median(latencies)),
        unit: "ms",
        peer: { name: "whole-state dump per write (previous design), same history", value: Math.round(dumpMs) },
        note: `dump ${(dump.length / 2 / 1e6).toFixed(1)} MB gzipped; journal ${(journalBytes / 1e6).toFixed(1)} MB; ${buildS === undefined ? "history from the cache" : `history built in ${buildS.toFixed(0)} s`}`,
      },
      {
        section: SECTION,
        name: `restart after SIGKILL until it takes writes (\`node start\`), history ${label} tx (${Math.ceil(size / PER_BLOCK)} blocks of ${PER_BLOCK}; state snapshot + 5 journaled blocks)`,
        value: Math.round(restartS * 100) / 100,
        unit: "s",
        target: size >= 100_000 ? "≤ 10 s" : undefined,
        pass: size >= 100_000 ? restartS <= 10 : undefined,
        note: `snapshot ${(snapshotBytes / 1e6).toFixed(1)} MB + history chunks ${(historyBytes / 1e6).toFixed(1)} MB`,
      },
      {
        section: SECTION,
        name: `restart after SIGKILL until every older block is loaded (readers wait for this), history ${label} tx`,
        value: Math.round(historyS * 100) / 100,
        unit: "s",
        note: "then the first receipt (block 2) verified with header, log and transaction checked",
      },
    ];
  } finally {
    try {
      await new LocalNode(dataDir).stop();
    } catch {
      // already stopped
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const sizes = (process.env.BENCH_CHAIN_SIZES ?? "0,10000,100000").split(",").map(Number);
  const rows: BenchRow[] = [];
  for (const size of sizes) {
    process.stderr.write(`bench: chain history ${size}…\n`);
    rows.push(...(await measure(size)));
  }
  const fresh = rows.find((r) => r.name.includes("history 0 tx"));
  for (const r of rows) {
    if (fresh && r !== fresh && r.name.startsWith("one-file stamp")) {
      r.target = "≤ 1.2 × fresh chain";
      r.pass = r.value <= 1.2 * fresh.value;
      r.note = `${(r.value / fresh.value).toFixed(2)} × fresh; ${r.note}`;
    }
  }
  return rows;
}

if (require.main === module) {
  run().then(
    (rows) => console.log(JSON.stringify(rows, null, 2)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
