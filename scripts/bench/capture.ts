// Web capture benchmarks (issue 14): `proofmark capture` of the local test shop's product page end
// to end (browser start → signed, anchored WACZ), the WACZ's size against the raw responses it
// holds, and `proofmark verify capture.wacz`; beside a plain `chromium --headless --screenshot` of
// the same page (what a user would otherwise do). Runs inside `npm run bench`, or alone:
//   BENCH_ONLY=capture npm run bench
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM } from "../../packages/sdk/src/capture";
import { startShop } from "../../test/capture/site";
import type { BenchRow } from "./types";

const REPO = path.resolve(__dirname, "..", "..");
const CLI = path.join(REPO, "cli", "bin", "proofmark.js");
const SECTION = "web capture";

/** Runs a command without blocking this process (the test shop is served from it). */
function timed(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ seconds: number; stdout: string; status: number | null }> {
  const t = performance.now();
  return new Promise((resolve) => {
    const child = spawn(args[0], args.slice(1), { cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => {
      if (status !== 0) process.stderr.write(`bench capture: ${args.join(" ")} exited ${status}\n${stderr}\n`);
      resolve({ seconds: (performance.now() - t) / 1000, stdout, status });
    });
  });
}

export async function run(): Promise<BenchRow[]> {
  if (!fs.existsSync(DEFAULT_CHROMIUM)) {
    process.stderr.write(`bench capture: skipped, ${DEFAULT_CHROMIUM} is missing\n`);
    return [];
  }
  const site = await startShop();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-capture-"));
  const env = { ...process.env, PROOFMARK_HOME: path.join(dir, ".proofmark") };
  const url = `${site.base}/product`;
  try {
    // the first run starts the local chain and deploys the registry: a warm-up, reported apart
    const cold = await timed(
      [process.execPath, CLI, "capture", url, "--out", path.join(dir, "cold.wacz"), "--json"],
      env,
      dir,
    );
    const runs: number[] = [];
    let last = { waczBytes: 0, rawResponseBytes: 0 };
    for (let i = 0; i < 2; i++) {
      const r = await timed(
        [process.execPath, CLI, "capture", url, "--out", path.join(dir, `c${i}.wacz`), "--json"],
        env,
        dir,
      );
      runs.push(r.seconds);
      if (r.status === 0) last = JSON.parse(r.stdout);
    }
    const verify: number[] = [];
    for (let i = 0; i < 2; i++)
      verify.push(
        (await timed([process.execPath, CLI, "verify", path.join(dir, "c0.wacz"), "--json"], env, dir)).seconds,
      );
    const peer: number[] = [];
    for (let i = 0; i < 2; i++)
      peer.push(
        (
          await timed(
            [
              DEFAULT_CHROMIUM,
              ...CHROMIUM_ARGS,
              `--screenshot=${path.join(dir, `peer${i}.png`)}`,
              "--window-size=1280,900",
              url,
            ],
            env,
            dir,
          )
        ).seconds,
      );
    const median = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const peerPng = fs.existsSync(path.join(dir, "peer0.png")) ? fs.statSync(path.join(dir, "peer0.png")).size : 0;
    return [
      {
        section: SECTION,
        name: "capture of the product page, browser start → anchored WACZ (median of 2, chain running)",
        value: Math.round(median(runs) * 100) / 100,
        unit: "s",
        peer: { name: "chromium --headless --screenshot, PNG only", value: Math.round(median(peer) * 100) / 100 },
        note: `first capture with chain start + deploy: ${cold.seconds.toFixed(2)} s`,
      },
      {
        section: SECTION,
        name: "WACZ size (WARC, screenshot, PDF, DOM, HAR, record)",
        value: last.waczBytes,
        unit: "bytes",
        peer: { name: "raw response bodies it holds", value: last.rawResponseBytes },
        note: `the peer's PNG alone: ${peerPng} bytes`,
      },
      {
        section: SECTION,
        name: "proofmark verify capture.wacz (offline checks + one chain read; median of 2)",
        value: Math.round(median(verify) * 100) / 100,
        unit: "s",
      },
    ];
  } finally {
    spawnSync(process.execPath, [CLI, "node", "stop"], { cwd: dir, env });
    await site.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module)
  run()
    .then((rows) => console.log(rows))
    .catch((e) => {
      console.error(e);
      process.exitCode = 1;
    });
