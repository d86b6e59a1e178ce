import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider } from "ethers";
import { evidenceRegistryInterface, type Hex } from "../../packages/sdk/src";
import { CLI } from "../cli/helpers";

/** A `proofmark calendar serve` child process. */
export interface CalendarProcess {
  child: ChildProcess;
  url: string;
  summary: { url: string; signer: Hex; chains: Array<{ chainId: number; registry: Hex }> };
  stderr: () => string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

/** Starts the real CLI (`calendar serve --port 0 --json …`) and waits for its first JSON line. */
export function startCalendarProcess(
  dataDir: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CalendarProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "calendar", "serve", "--port", "0", "--json", ...args], {
      env: { ...process.env, PROOFMARK_HOME: dataDir, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`calendar did not start within 90 s\n${err}`));
    }, 90_000);
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", (d) => {
      out += d;
      const line = out.split("\n")[0];
      if (out.includes("\n")) {
        clearTimeout(timer);
        try {
          const summary = JSON.parse(line);
          resolve({ child, url: summary.url, summary, stderr: () => err, exited });
        } catch (e) {
          reject(e);
        }
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (!out.includes("\n")) reject(new Error(`calendar exited with ${code} before starting\n${err}`));
    });
  });
}

/** SIGKILLs the calendar process and waits until it is gone. */
export async function killCalendar(p: CalendarProcess): Promise<void> {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
  await p.exited;
}

/** How many EvidenceAnchored logs the local chain of `dataDir` holds for `root`. */
export async function anchoredCount(dataDir: string, registry: string, root: Hex): Promise<number> {
  const { rpcUrl } = JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "node.json"), "utf8")) as {
    rpcUrl: string;
  };
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
  try {
    const logs = await provider.getLogs({
      address: registry,
      fromBlock: 0,
      toBlock: "latest",
      topics: [evidenceRegistryInterface.getEvent("EvidenceAnchored")!.topicHash, root],
    });
    return logs.length;
  } finally {
    provider.destroy();
  }
}
