import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const REPO = path.resolve(__dirname, "..", "..");
export const CLI = path.join(REPO, "cli", "bin", "proofmark.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real `proofmark` CLI (built dist) in `cwd`, with the data folder `dataDir`. */
export function runCli(
  args: string[],
  opts: { cwd: string; dataDir: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, PROOFMARK_HOME: opts.dataDir };
    for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
    const child = spawn(process.execPath, [CLI, ...args], { cwd: opts.cwd, env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`proofmark ${args.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), stdout, stderr });
    });
  });
}

/** A fresh temporary work folder with its own data folder. */
export function makeWorkspace(prefix: string): { dir: string; dataDir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `proofmark-${prefix}-`));
  return { dir, dataDir: path.join(dir, ".proofmark") };
}

/** Kills the workspace's local chain (if any) with SIGKILL, as a crash would. */
export function killLocalChain(dataDir: string): number | undefined {
  const file = path.join(dataDir, "chain", "node.json");
  if (!fs.existsSync(file)) return undefined;
  const { pid } = JSON.parse(fs.readFileSync(file, "utf8")) as { pid: number };
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    return undefined;
  }
  return pid;
}

/** Throws unless the CLI was built (npm test builds it first). */
export function assertBuilt(): void {
  if (!fs.existsSync(path.join(REPO, "cli", "dist", "index.js"))) {
    throw new Error("the CLI is not built: run `npm run build` (npm test does it) before the CLI tests");
  }
}
