import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { gunzipSync } from "node:zlib";
import { ProofmarkError } from "../core/errors";
import { isProcessAlive, readJsonIfExists, withLockFile, writeFileAtomic } from "../util/fs";
import { fetchChainId, rpcCall } from "./rpc";

/** Chain id of the embedded local chain. */
export const LOCAL_CHAIN_ID = 31337;
/** Mnemonic of the local chain's development accounts (Anvil's and Hardhat's well-known default). */
export const LOCAL_MNEMONIC = "test test test test test test test test test test test junk";
const DEV_ACCOUNT_COUNT = 12;

/** What `proofmark node status` shows. */
export interface LocalNodeInfo {
  pid: number;
  port: number;
  rpcUrl: string;
  chainId: number;
  dataDir: string;
  logFile: string;
  startedAt: string;
}

/** Path of the real Anvil binary shipped in the `@foundry-rs/anvil-<os>-<arch>` npm package. */
export function anvilBinary(): string {
  if (process.env.PROOFMARK_ANVIL) return process.env.PROOFMARK_ANVIL;
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", "anvil");
  } catch {
    throw new ProofmarkError("NODE_FAILED", `the local chain needs the npm package ${pkg}; run npm install (or set PROOFMARK_ANVIL to an anvil binary)`, { pkg });
  }
}

/**
 * The embedded local chain: an Anvil process per data folder, detached, state persisted in
 * `<dataDir>/chain/`. The SDK calls {@link LocalNode.persist} after each write, which writes an
 * atomic snapshot, so whatever a command reported survives a SIGKILL of the chain right after.
 * Anvil's own periodic dump (every second) is kept beside it; on start the newer valid one wins.
 */
export class LocalNode {
  readonly dataDir: string;
  readonly dir: string;

  constructor(dataDir: string) {
    this.dataDir = path.resolve(dataDir);
    this.dir = path.join(this.dataDir, "chain");
  }

  private get infoFile(): string { return path.join(this.dir, "node.json"); }
  private get snapshotFile(): string { return path.join(this.dir, "state.json"); }
  private get autosaveFile(): string { return path.join(this.dir, "autosave.json"); }
  get logFile(): string { return path.join(this.dir, "anvil.log"); }

  /** The running node, or `null` when none answers for this data folder. */
  async status(): Promise<LocalNodeInfo | null> {
    const info = readJsonIfExists<LocalNodeInfo>(this.infoFile);
    if (!info || !isProcessAlive(info.pid)) return null;
    try {
      const chainId = await fetchChainId(info.rpcUrl);
      return chainId === info.chainId ? info : null;
    } catch {
      return null;
    }
  }

  /** Starts the node unless it already runs; returns its info. Safe to call concurrently. */
  async start(): Promise<LocalNodeInfo> {
    const running = await this.status();
    if (running) return running;
    fs.mkdirSync(this.dir, { recursive: true });
    return withLockFile(path.join(this.dir, "start.lock"), async () => {
      const again = await this.status();
      if (again) return again;
      const port = await freePort(Number(process.env.PROOFMARK_LOCAL_PORT ?? 8545));
      const args = [
        "--host", "127.0.0.1", "--port", String(port), "--chain-id", String(LOCAL_CHAIN_ID),
        "--accounts", String(DEV_ACCOUNT_COUNT), "--mnemonic", LOCAL_MNEMONIC,
        "--dump-state", this.autosaveFile, "--state-interval", "1",
      ];
      const state = this.bestStateFile();
      if (state) args.push("--load-state", state);
      const log = fs.openSync(this.logFile, "a");
      const child = spawn(anvilBinary(), args, { detached: true, stdio: ["ignore", log, log] });
      fs.closeSync(log);
      child.unref();
      const info: LocalNodeInfo = {
        pid: child.pid ?? 0, port, rpcUrl: `http://127.0.0.1:${port}`, chainId: LOCAL_CHAIN_ID,
        dataDir: this.dataDir, logFile: this.logFile, startedAt: new Date().toISOString(),
      };
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      const deadline = Date.now() + 20_000;
      for (;;) {
        const code = await Promise.race([exited, new Promise<"wait">((r) => setTimeout(() => r("wait"), 100))]);
        if (code !== "wait") {
          throw new ProofmarkError("NODE_FAILED", `the local chain exited at start (code ${code}); see ${this.logFile}`, { logFile: this.logFile });
        }
        try {
          if ((await fetchChainId(info.rpcUrl)) === LOCAL_CHAIN_ID) break;
        } catch {
          // not listening yet
        }
        if (Date.now() > deadline) {
          process.kill(info.pid, "SIGKILL");
          throw new ProofmarkError("NODE_FAILED", `the local chain did not answer within 20 s; see ${this.logFile}`, { logFile: this.logFile });
        }
      }
      writeFileAtomic(this.infoFile, `${JSON.stringify(info, null, 2)}\n`);
      return info;
    });
  }

  /** Saves the chain state atomically (call after every write the user is told about). */
  async persist(): Promise<void> {
    const info = await this.status();
    if (!info) throw new ProofmarkError("NODE_FAILED", "the local chain is not running, so its state cannot be saved; run `proofmark node start`");
    const hex = await rpcCall<string>(info.rpcUrl, "anvil_dumpState", [], 60_000);
    const json = gunzipSync(Buffer.from(hex.slice(2), "hex"));
    writeFileAtomic(this.snapshotFile, json);
  }

  /** Saves the state and stops the node. Returns false when it was not running. */
  async stop(): Promise<boolean> {
    const info = await this.status();
    if (!info) return false;
    await this.persist();
    process.kill(info.pid, "SIGTERM");
    for (let i = 0; i < 100 && isProcessAlive(info.pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (isProcessAlive(info.pid)) process.kill(info.pid, "SIGKILL");
    fs.rmSync(this.infoFile, { force: true });
    return true;
  }

  /** Of the atomic snapshot and Anvil's autosave, the valid one with the higher block number. */
  private bestStateFile(): string | undefined {
    let best: { file: string; block: number } | undefined;
    for (const file of [this.snapshotFile, this.autosaveFile]) {
      try {
        const state = JSON.parse(fs.readFileSync(file, "utf8")) as { best_block_number?: number | string };
        const block = Number(state.best_block_number ?? 0);
        if (!best || block > best.block) best = { file, block };
      } catch {
        // missing or torn (killed while Anvil wrote it): skip
      }
    }
    return best?.file;
  }
}

async function freePort(preferred: number): Promise<number> {
  for (let port = preferred; port < preferred + 200; port++) {
    if (await canListen(port)) return port;
  }
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}
