import { spawn } from "node:child_process";
import * as fs from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";
import { isProcessAlive, withLockFile, writeFileAtomic } from "../util/fs";
import { AnvilRpc } from "./anvil-rpc";
import { ChainJournal, newGenesisTimestamp, newIdentity, type JournalBlock, type JournalHeader } from "./journal";

/** Chain id of the embedded local chain. */
export const LOCAL_CHAIN_ID = 31337;
/**
 * The second embedded chain (`--chain local2`): an Anvil of its own, in `<dataDir>/local2/`, with
 * its own chain id, so that one machine can show a receipt witnessed on two chains. Like the first,
 * it proves nothing to anyone else.
 */
export const LOCAL2_CHAIN_ID = 31338;
/** The embedded chains by name: data folder below the data dir, and chain id. */
export const EMBEDDED_CHAINS: Readonly<Record<string, { folder: string; chainId: number }>> = {
  local: { folder: "", chainId: LOCAL_CHAIN_ID },
  local2: { folder: "local2", chainId: LOCAL2_CHAIN_ID },
};

/** The embedded chain `name` of a data folder (undefined when `name` is not one). */
export function embeddedNode(dataDir: string, name: string): LocalNode | undefined {
  const e = Object.hasOwn(EMBEDDED_CHAINS, name) ? EMBEDDED_CHAINS[name] : undefined;
  return e && new LocalNode(path.join(dataDir, e.folder), e.chainId);
}

/** The name of the embedded chain with this id, if any. */
export function embeddedChainName(chainId: number): string | undefined {
  return Object.entries(EMBEDDED_CHAINS).find(([, e]) => e.chainId === chainId)?.[0];
}
/** Mnemonic of the local chain's development accounts (Anvil's and Hardhat's well-known default). */
export const LOCAL_MNEMONIC = "test test test test test test test test test test test junk";
const DEV_ACCOUNT_COUNT = 12;
/** Historical states Anvil keeps (in memory only; by default it writes one full state file per block to ~/.foundry). */
const STATE_HISTORY = 64;
/** The log is rotated (anvil.log → anvil.log.1) once it grows past this. */
const LOG_LIMIT = 1 << 20;
/** A snapshot is taken (in the background) once the journal holds this many bytes past the last one. */
const snapshotAfterBytes = (): number => Number(process.env.PROOFMARK_SNAPSHOT_BYTES ?? 16 << 20);

/**
 * Blocks a snapshot file keeps with their bodies and receipts (the newest ones: what a writer
 * needs right after a restart); older blocks go to history chunks, loaded after the chain is up
 * (Anvil takes ~0.4 ms per transaction to load a block body and its receipt, so a snapshot
 * holding all of them made a restart at 10^5 transactions take 45 s).
 */
const RECENT_BLOCKS = 8;
/** A history chunk holds at most this many transactions (or {@link CHUNK_BLOCKS} blocks): Anvil
 * pauses its other calls while it loads one, so each load must be short. */
const CHUNK_TXS = 400;
const CHUNK_BLOCKS = 64;

/** One history chunk: blocks `from`..`to` (bodies, receipts, logs) as Anvil's state format, gzipped. */
interface HistoryChunk {
  file: string;
  from: number;
  to: number;
  /** Hash of block `to`: the chunk is used only when the journal holds the same block. */
  hash: string;
}

/** `chain/snapshot.meta.json`: which block the snapshot file holds the chain at. */
interface SnapshotMeta {
  file: string;
  block: number;
  hash: string;
  /** Journal length (bytes) when it was taken. */
  journalBytes: number;
  /**
   * Present when the snapshot file holds the state and only the blocks from `recentFrom` on: the
   * older blocks are in these chunks (blocks 0 .. recentFrom - 1, in order).
   */
  recentFrom?: number;
  history?: HistoryChunk[];
}

/** `chain/history.json`: whether the running chain (pid) has loaded its older blocks. */
interface HistoryStatus {
  pid: number;
  complete: boolean;
  loader?: number;
}

/** Anvil's state dump (`anvil_dumpState`, `--load-state`), as far as the snapshot splits it. */
interface AnvilState {
  block: unknown;
  accounts: unknown;
  best_block_number: unknown;
  blocks: Array<{ header: { number: string } }>;
  transactions: Array<{ block_number: number }>;
  historical_states?: unknown;
}

/** What `proofmark node status` shows. */
export interface LocalNodeInfo {
  pid: number;
  port: number;
  rpcUrl: string;
  chainId: number;
  dataDir: string;
  logFile: string;
  startedAt: string;
  /** The folder's chain identity (the journal header's token) and the chain's genesis hash. */
  identity: string;
  genesisHash: string;
}

/** Path of the real Anvil binary shipped in the `@foundry-rs/anvil-<os>-<arch>` npm package. */
export function anvilBinary(): string {
  if (process.env.PROOFMARK_ANVIL) return process.env.PROOFMARK_ANVIL;
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return path.join(path.dirname(require.resolve(`${pkg}/package.json`)), "bin", "anvil");
  } catch {
    throw new ProofmarkError(
      "NODE_FAILED",
      `the local chain needs the npm package ${pkg}; run npm install (or set PROOFMARK_ANVIL to an anvil binary)`,
      { pkg },
    );
  }
}

/** Anvil's arguments: the same at every start, so that a replay reproduces the same blocks. */
function anvilArgs(genesisTimestamp: number, loadState?: string, chainId = LOCAL_CHAIN_ID): string[] {
  return [
    ...(loadState ? ["--load-state", loadState] : []),
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--chain-id",
    String(chainId),
    "--accounts",
    String(DEV_ACCOUNT_COUNT),
    "--mnemonic",
    LOCAL_MNEMONIC,
    "--timestamp",
    String(genesisTimestamp),
    "--order",
    "fifo",
    "--no-mining",
    "--prune-history",
    String(STATE_HISTORY),
  ];
}

/**
 * The embedded local chain: an Anvil process per data folder, detached. Its blocks are kept in
 * `<dataDir>/chain/journal.ndjson` (see {@link ChainJournal}): {@link LocalNode.persist}, which the
 * SDK calls after every write it reports, appends the blocks mined since the last call and fsyncs
 * them — O(1) per write, whatever the history. On start, a fresh Anvil replays the journal and
 * must reproduce the recorded block hashes. Anvil itself writes nothing into the folder but its log.
 *
 * Identity: the journal header holds a random token and the genesis hash; a running chain belongs
 * to this folder only when its genesis block has that hash, and the journal is appended to only by
 * a process that connected to the chain of the same identity (a folder deleted and recreated under
 * a running chain gets a chain of its own; the old chain can no longer write into it).
 */
export class LocalNode {
  readonly dataDir: string;
  readonly dir: string;
  private readonly journal: ChainJournal;
  /** The chain this object started or connected to: persist() writes for it and no other. */
  private connected?: LocalNodeInfo;

  constructor(
    dataDir: string,
    /** The chain id it runs with (the second embedded chain has its own: LOCAL2_CHAIN_ID). */
    readonly chainId: number = LOCAL_CHAIN_ID,
  ) {
    this.dataDir = path.resolve(dataDir);
    this.dir = path.join(this.dataDir, "chain");
    this.journal = new ChainJournal(path.join(this.dir, "journal.ndjson"));
  }

  private get infoFile(): string {
    return path.join(this.dir, "node.json");
  }
  get logFile(): string {
    return path.join(this.dir, "anvil.log");
  }
  get journalFile(): string {
    return this.journal.file;
  }

  /** The running node of this data folder, or `null` when none answers with this folder's identity. */
  async status(): Promise<LocalNodeInfo | null> {
    const info = this.readInfo();
    if (!info || !isProcessAlive(info.pid)) return null;
    const header = this.journal.header();
    if (!header || header.identity !== info.identity || header.genesis.hash !== info.genesisHash) return null;
    const rpc = new AnvilRpc(info.rpcUrl, 5_000);
    try {
      const genesis = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", ["0x0", false]);
      return genesis?.hash === header.genesis.hash ? info : null;
    } catch {
      return null;
    } finally {
      rpc.close();
    }
  }

  /**
   * Starts the node unless it already runs (replaying the journal); returns its info. Safe to call
   * concurrently. A chain restarted from a snapshot takes writes at once and loads its older blocks
   * in the background; unless `history: false` (a caller that only writes), this waits until they
   * are loaded, so that nothing reads a chain that lacks part of its history.
   */
  async start(opts: { history?: boolean } = {}): Promise<LocalNodeInfo> {
    this.connected = await this.startOrFind();
    if (opts.history !== false) await this.waitForHistory(this.connected);
    return this.connected;
  }

  /** True when the running chain `info` holds all its blocks (false while a restart's older blocks load). */
  historyLoaded(info: LocalNodeInfo): boolean {
    const h = this.readHistoryStatus();
    return !h || h.pid !== info.pid || h.complete;
  }

  private get historyFile(): string {
    return path.join(this.dir, "history.json");
  }

  private readHistoryStatus(): HistoryStatus | undefined {
    try {
      const h = JSON.parse(fs.readFileSync(this.historyFile, "utf8")) as HistoryStatus;
      return Number.isSafeInteger(h.pid) ? h : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the running chain holds all its blocks (the background loader of a restart from a
   * snapshot is done); restarts the loader if it died. A chain started without such a record
   * (by an earlier version) loaded everything at start.
   */
  private async waitForHistory(info: LocalNodeInfo): Promise<void> {
    const deadline = Date.now() + 1_800_000;
    for (let restarted = 0; ;) {
      const h = this.readHistoryStatus();
      if (!h || h.pid !== info.pid || h.complete) return;
      if (!h.loader || !isProcessAlive(h.loader)) {
        if (restarted++ >= 3)
          throw new ProofmarkError(
            "NODE_FAILED",
            `the local chain could not load its older blocks; see ${this.logFile}, or stop it and start again`,
            { logFile: this.logFile },
          );
        const loader = this.spawnWorker(["--history"]);
        writeFileAtomic(this.historyFile, `${JSON.stringify({ ...h, loader } satisfies HistoryStatus)}\n`);
      }
      if (Date.now() > deadline)
        throw new ProofmarkError(
          "NODE_FAILED",
          "the local chain is still loading its older blocks after 30 minutes; try again later",
          {},
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  private async startOrFind(): Promise<LocalNodeInfo> {
    const running = await this.status();
    if (running) return running;
    fs.mkdirSync(this.dir, { recursive: true });
    return withLockFile(path.join(this.dir, "start.lock"), async () => {
      const again = await this.status();
      if (again) return again;
      const busy = await this.waitWhileBusy();
      if (busy) return busy;
      this.rotateLog(0);
      const header = this.journal.header();
      if (!header && this.journal.exists()) fs.rmSync(this.journal.file); // torn at creation: nothing was recorded
      const legacy = header ? undefined : this.adoptLegacyState();
      const genesisTimestamp = header?.genesis.timestamp ?? legacy?.genesisTimestamp ?? newGenesisTimestamp();
      // Read once; the transactions only of the blocks after the snapshot (those are replayed).
      const fullFrom = (this.readSnapshotMeta()?.block ?? 0) + 1;
      const journal = header ? this.journal.readAll(fullFrom) : undefined;
      const snapshot: { file: string; block: number; hash: string; history?: HistoryChunk[] } | undefined = header
        ? this.usableSnapshot(journal!)
        : legacy;
      let { pid, port } = await this.spawnAnvil(genesisTimestamp, snapshot?.file);
      if (snapshot) {
        const probe = new AnvilRpc(`http://127.0.0.1:${port}`, 60_000);
        const at = await probe
          .call<{ hash: string } | null>("eth_getBlockByNumber", [hex(snapshot.block), false])
          .catch(() => null);
        probe.close();
        if (legacy && at) snapshot.hash = at.hash;
        if (at?.hash !== snapshot.hash) {
          // The snapshot does not hold what its record says: ignore it and replay the whole journal.
          killQuietly(pid);
          ({ pid, port } = await this.spawnAnvil(genesisTimestamp));
          snapshot.block = 0;
          snapshot.history = undefined;
        }
      }
      const rpcUrl = `http://127.0.0.1:${port}`;
      const rpc = new AnvilRpc(rpcUrl, 60_000);
      try {
        const genesis = await rpc.call<{ hash: string }>("eth_getBlockByNumber", ["0x0", false]);
        let current: JournalHeader;
        let lastTimestamp = genesisTimestamp;
        if (!header) {
          current = {
            format: "proofmark-chain-journal",
            version: 1,
            identity: newIdentity(),
            chainId: this.chainId,
            genesis: { timestamp: genesisTimestamp, hash: genesis.hash },
          };
          this.journal.create(current);
          if (legacy) {
            // A folder from before the journal: its blocks, loaded from the old state file, are
            // journaled now; the old file stays as the snapshot they were loaded from.
            const journalBytes = await this.catchUp(rpc, current);
            writeFileAtomic(
              path.join(this.dir, "snapshot.meta.json"),
              `${JSON.stringify({ file: path.basename(legacy.file), block: legacy.block, hash: legacy.hash, journalBytes } satisfies SnapshotMeta)}\n`,
            );
          }
        } else {
          current = header;
          if (genesis.hash !== header.genesis.hash) {
            throw new ProofmarkError(
              "CHAIN_STATE_CORRUPT",
              `the local chain restarted with a different genesis block (${genesis.hash}, journal ${header.genesis.hash}); was Anvil upgraded? ${this.journal.file} is kept unchanged`,
              { file: this.journal.file },
            );
          }
          const after = snapshot?.block ?? 0;
          // Without the snapshot every block is replayed: read their transactions too.
          lastTimestamp = await this.replay(
            rpc,
            after + 1 >= fullFrom ? journal! : this.journal.readAll(),
            header,
            after,
          );
        }
        // Replayed (or new): from now on blocks follow the wall clock and are mined per transaction.
        await rpc.call("evm_setTime", [Math.max(Math.floor(Date.now() / 1000), lastTimestamp)]);
        await rpc.call("evm_setAutomine", [true]);
        const info: LocalNodeInfo = {
          pid,
          port,
          rpcUrl,
          chainId: this.chainId,
          dataDir: this.dataDir,
          logFile: this.logFile,
          startedAt: new Date().toISOString(),
          identity: current.identity,
          genesisHash: current.genesis.hash,
        };
        // Blocks older than the snapshot's recent ones are loaded by a background process, newest
        // first; until it is done, start() (for readers) waits for it.
        const history = snapshot?.block ? snapshot.history : undefined;
        const loader = history?.length ? this.spawnWorker(["--history"]) : undefined;
        writeFileAtomic(
          this.historyFile,
          `${JSON.stringify({ pid, complete: loader === undefined, loader } satisfies HistoryStatus)}\n`,
        );
        writeFileAtomic(this.infoFile, `${JSON.stringify(info, null, 2)}\n`);
        return info;
      } catch (e) {
        killQuietly(pid);
        throw e;
      } finally {
        rpc.close();
      }
    });
  }

  /**
   * Makes every block mined so far durable: appends the blocks after the journal's last one and
   * fsyncs. Call after every write the user is told about. Undone blocks (`evm_revert`) are cut
   * from the journal. Throws CHAIN_FOREIGN when the folder no longer belongs to the running chain.
   */
  async persist(): Promise<void> {
    const info = await this.status();
    if (this.connected && this.journal.header()?.identity !== this.connected.identity) {
      throw foreign(this.dataDir);
    }
    if (!info) {
      throw new ProofmarkError(
        "NODE_FAILED",
        "the local chain is not running, so its blocks cannot be saved; start it again",
        { hint: "node-start" },
      );
    }
    if (this.connected && info.identity === this.connected.identity && info.pid !== this.connected.pid) {
      // Same folder, but the chain this process wrote to died and another replayed the journal:
      // what this process wrote after the last persist is not in it.
      throw new ProofmarkError(
        "NODE_FAILED",
        "the local chain restarted while this command ran; its last write may not be recorded: run the command again",
        { dataDir: this.dataDir },
      );
    }
    const journalBytes = await withLockFile(path.join(this.dir, "journal.lock"), async () => {
      const header = this.journal.header();
      if (!header || header.identity !== info.identity) throw foreign(this.dataDir);
      const rpc = new AnvilRpc(info.rpcUrl, 60_000);
      try {
        return await this.catchUp(rpc, header);
      } finally {
        rpc.close();
      }
    });
    this.rotateLog(LOG_LIMIT);
    if (journalBytes - (this.readSnapshotMeta()?.journalBytes ?? 0) >= snapshotAfterBytes()) this.spawnWorker([]);
  }

  /**
   * Writes a snapshot of the running chain (Anvil's `anvil_dumpState`) so that a restart replays
   * only the journal after it. Its cost grows with the history, so persist() runs it in a detached
   * background process, never in a command's path. Used only when the journal holds the same
   * block with the same hash.
   */
  async snapshot(): Promise<void> {
    const info = await this.status();
    if (!info) return;
    await withLockFile(
      path.join(this.dir, "snapshot.lock"),
      async () => {
        const rpc = new AnvilRpc(info.rpcUrl, 600_000);
        try {
          const before = await rpc.call<string>("eth_blockNumber");
          const dump = await rpc.call<string>("anvil_dumpState", [], 600_000);
          if ((await rpc.call<string>("eth_blockNumber")) !== before) return; // a block came in during the dump: next time
          const block = Number(BigInt(before));
          const at = await rpc.call<{ hash: string }>("eth_getBlockByNumber", [before, false]);
          const state = JSON.parse(gunzipSync(Buffer.from(dump.slice(2), "hex")).toString("utf8")) as AnvilState;
          const old = this.readSnapshotMeta();
          const split = await this.splitHistory(rpc, state, block, old);
          if (!split) return; // the dump lacks blocks it should hold (history still loading): next time
          const file = path.join(this.dir, `snapshot-${block}.json`);
          writeFileAtomic(file, JSON.stringify(state));
          const journalBytes = fs.statSync(this.journal.file).size;
          writeFileAtomic(
            path.join(this.dir, "snapshot.meta.json"),
            `${JSON.stringify({ file: path.basename(file), block, hash: at.hash, journalBytes, ...split } satisfies SnapshotMeta)}\n`,
          );
          if (old && old.file !== path.basename(file)) fs.rmSync(path.join(this.dir, old.file), { force: true });
          const kept = new Set(split.history.map((c) => c.file));
          for (const c of old?.history ?? [])
            if (!kept.has(c.file)) fs.rmSync(path.join(this.dir, c.file), { force: true });
        } finally {
          rpc.close();
        }
      },
      { timeoutMs: 0 },
    );
  }

  /**
   * Cuts a state dump down to the state and its newest {@link RECENT_BLOCKS} blocks (what a restart
   * loads before it takes writes) and writes the older blocks, not yet in a chunk, as history
   * chunks (loaded in the background after a restart). Chunks of earlier snapshots stay as they
   * are while the journal holds their blocks. Returns the chunks, or undefined when the dump lacks
   * a block it should hold.
   */
  private async splitHistory(
    rpc: AnvilRpc,
    state: AnvilState,
    block: number,
    old: SnapshotMeta | undefined,
  ): Promise<{ recentFrom: number; history: HistoryChunk[] } | undefined> {
    const recentFrom = Math.max(0, block - RECENT_BLOCKS + 1);
    const { header, blocks: journaled } = this.journal.readAll();
    const hashOf = (n: number) => (n === 0 ? header.genesis.hash : journaled[n - 1]?.h);
    // The earlier chunks still valid, in order from block 0, and below the new recent window.
    const history: HistoryChunk[] = [];
    for (const c of old?.history ?? []) {
      const next = history.length === 0 ? 0 : history[history.length - 1].to + 1;
      if (c.from !== next || c.to >= recentFrom || hashOf(c.to) !== c.hash) break;
      if (!fs.existsSync(path.join(this.dir, c.file))) break;
      history.push(c);
    }
    const byNumber = new Map<number, AnvilState["blocks"][number]>();
    for (const b of state.blocks) byNumber.set(Number(BigInt(b.header.number)), b);
    const txsOf = new Map<number, AnvilState["transactions"]>();
    for (const t of state.transactions) {
      const list = txsOf.get(t.block_number);
      if (list) list.push(t);
      else txsOf.set(t.block_number, [t]);
    }
    const start = history.length === 0 ? 0 : history[history.length - 1].to + 1;
    for (let n = start; n <= block; n++) if (!byNumber.has(n)) return undefined;
    fs.mkdirSync(path.join(this.dir, "history"), { recursive: true });
    const pending: HistoryChunk[] = [];
    for (let from = start; from < recentFrom;) {
      let to = from;
      let txs = txsOf.get(from)?.length ?? 0;
      while (to + 1 < recentFrom && to + 1 - from < CHUNK_BLOCKS && txs + (txsOf.get(to + 1)?.length ?? 0) <= CHUNK_TXS)
        txs += txsOf.get(++to)?.length ?? 0;
      const blocks: AnvilState["blocks"] = [];
      const transactions: AnvilState["transactions"] = [];
      for (let n = from; n <= to; n++) {
        blocks.push(byNumber.get(n)!);
        transactions.push(...(txsOf.get(n) ?? []));
      }
      const file = path.join("history", `chunk-${from}-${to}.json.gz`);
      const chunk = {
        block: null,
        accounts: {},
        best_block_number: null,
        blocks,
        transactions,
        historical_states: null,
      };
      writeFileAtomic(path.join(this.dir, file), gzipSync(JSON.stringify(chunk), { level: 1 }));
      pending.push({ file, from, to, hash: "" });
      from = to + 1;
    }
    // Each chunk's last block hash, from the chain (unchanged since the dump: checked by the caller).
    const hashes = await rpc.batch<{ hash: string }>(
      pending.map((c) => ["eth_getBlockByNumber", [hex(c.to), false]] as [string, unknown[]]),
    );
    pending.forEach((c, i) => (c.hash = hashes[i].hash));
    // The snapshot file keeps only the recent blocks and their transactions.
    state.blocks = state.blocks.filter((b) => Number(BigInt(b.header.number)) >= recentFrom);
    state.transactions = state.transactions.filter((t) => t.block_number >= recentFrom);
    state.historical_states = null;
    return { recentFrom, history: [...history, ...pending] };
  }

  /**
   * Loads the older blocks of a chain restarted from a snapshot into it (the background part of
   * a restart), newest first, one short chunk at a time; then records the history as complete.
   */
  async loadHistory(): Promise<void> {
    const info = await this.status();
    const meta = this.readSnapshotMeta();
    const h = this.readHistoryStatus();
    if (!info || !meta || !h || h.pid !== info.pid || h.complete) return;
    await withLockFile(
      path.join(this.dir, "history.lock"),
      async () => {
        const rpc = new AnvilRpc(info.rpcUrl, 600_000);
        try {
          for (const c of [...(meta.history ?? [])].reverse()) {
            if (!isProcessAlive(info.pid)) return;
            const data = fs.readFileSync(path.join(this.dir, c.file));
            // Loading blocks makes Anvil derive the next base fee from the newest loaded one: put it back.
            const head = await rpc.call<{ hash: string }>("eth_getBlockByNumber", ["latest", false]);
            const pending = await rpc.call<{ baseFeePerGas?: string }>("eth_getBlockByNumber", ["pending", false]);
            await rpc.call("anvil_loadState", [`0x${data.toString("hex")}`]);
            const got = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [hex(c.to), false]);
            if (got?.hash !== c.hash)
              throw new ProofmarkError("CHAIN_STATE_CORRUPT", `${c.file} did not load block ${c.to} as recorded`, {
                file: c.file,
              });
            const now = await rpc.call<{ hash: string }>("eth_getBlockByNumber", ["latest", false]);
            if (pending.baseFeePerGas && now.hash === head.hash)
              await rpc.call("anvil_setNextBlockBaseFeePerGas", [pending.baseFeePerGas]);
          }
        } finally {
          rpc.close();
        }
        writeFileAtomic(
          this.historyFile,
          `${JSON.stringify({ pid: info.pid, complete: true } satisfies HistoryStatus)}\n`,
        );
      },
      { timeoutMs: 0 },
    );
  }

  private readSnapshotMeta(): SnapshotMeta | undefined {
    try {
      const meta = JSON.parse(fs.readFileSync(path.join(this.dir, "snapshot.meta.json"), "utf8")) as SnapshotMeta;
      return Number.isSafeInteger(meta.block) && typeof meta.hash === "string" && /^snapshot-\d+\.json$/.test(meta.file)
        ? meta
        : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The snapshot to start from, when its block is in the journal with the same hash and, for a
   * snapshot that keeps only recent blocks, its history chunks hold every older block (each
   * chunk's last block in the journal with the same hash).
   */
  private usableSnapshot(journal: {
    header: JournalHeader;
    blocks: JournalBlock[];
  }): { file: string; block: number; hash: string; history?: HistoryChunk[] } | undefined {
    const meta = this.readSnapshotMeta();
    if (!meta || !fs.existsSync(path.join(this.dir, meta.file))) return undefined;
    try {
      const { header, blocks } = journal;
      if (blocks[meta.block - 1]?.h !== meta.hash) return undefined;
      if (meta.recentFrom !== undefined) {
        let next = 0;
        for (const c of meta.history ?? []) {
          const hash = c.to === 0 ? header.genesis.hash : blocks[c.to - 1]?.h;
          if (c.from !== next || hash !== c.hash || !fs.existsSync(path.join(this.dir, c.file))) return undefined;
          next = c.to + 1;
        }
        if (next !== meta.recentFrom) return undefined;
      }
    } catch {
      return undefined;
    }
    return { file: path.join(this.dir, meta.file), block: meta.block, hash: meta.hash, history: meta.history };
  }

  /**
   * A data folder written before the journal has `chain/state.json` (and Anvil's `autosave.json`):
   * the newer valid one becomes `snapshot-<block>.json`, to be loaded and journaled.
   */
  private adoptLegacyState(): { file: string; block: number; hash: string; genesisTimestamp: number } | undefined {
    let best: { file: string; block: number; hash: string; genesisTimestamp: number } | undefined;
    for (const name of ["state.json", "autosave.json"]) {
      const file = path.join(this.dir, name);
      try {
        const state = JSON.parse(fs.readFileSync(file, "utf8")) as {
          best_block_number?: number | string;
          blocks?: Array<{ header: { number: string; timestamp: string } }>;
        };
        const block = Number(state.best_block_number ?? 0);
        const genesis = state.blocks?.find((b) => Number(BigInt(b.header.number)) === 0);
        if (!genesis) continue;
        if (!best || block > best.block)
          best = { file, block, hash: "", genesisTimestamp: Number(BigInt(genesis.header.timestamp)) };
      } catch {
        // missing or torn
      }
    }
    if (!best) return undefined;
    const target = path.join(this.dir, `snapshot-${best.block}.json`);
    fs.renameSync(best.file, target);
    for (const name of ["state.json", "autosave.json"]) fs.rmSync(path.join(this.dir, name), { force: true });
    return { ...best, file: target };
  }

  /** Runs the background worker (a snapshot; with `--history`, the history loader), detached; returns its pid. */
  private spawnWorker(args: string[]): number | undefined {
    const ts = __filename.endsWith(".ts");
    const worker = path.join(__dirname, `snapshot-worker.${ts ? "ts" : "js"}`);
    try {
      const child = spawn(
        process.execPath,
        [...(ts ? ["-r", "ts-node/register/transpile-only"] : []), worker, this.dataDir, ...args],
        { detached: true, stdio: "ignore" },
      );
      child.on("error", () => undefined);
      child.unref();
      return child.pid;
    } catch {
      return undefined; // best effort
    }
  }

  /** Saves the chain's blocks and stops the node. Returns false when it was not running. */
  async stop(): Promise<boolean> {
    const info = await this.status();
    if (!info) return false;
    await this.persist();
    killQuietly(info.pid, "SIGTERM");
    for (let i = 0; i < 100 && isProcessAlive(info.pid); i++) await new Promise((r) => setTimeout(r, 50));
    if (isProcessAlive(info.pid)) killQuietly(info.pid);
    fs.rmSync(this.infoFile, { force: true });
    return true;
  }

  /**
   * node.json names a live Anvil of this folder's identity that did not answer at once: it is
   * busy (writing a snapshot, replaying), not gone. Wait for it (up to 10 minutes) rather than
   * start a second chain for the same folder; kill it only if it never answers.
   */
  private async waitWhileBusy(): Promise<LocalNodeInfo | null> {
    const info = this.readInfo();
    const header = this.journal.header();
    if (!info || !header || info.identity !== header.identity || !isProcessAlive(info.pid)) return null;
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline && isProcessAlive(info.pid)) {
      const rpc = new AnvilRpc(info.rpcUrl, 30_000);
      try {
        const genesis = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", ["0x0", false]);
        if (genesis?.hash === header.genesis.hash) return info;
        break; // answers, but as another chain
      } catch (e) {
        if ((e as { cause?: { code?: string } }).cause?.code === "ECONNREFUSED") break; // nothing listens there: not busy, gone
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        rpc.close();
      }
    }
    killQuietly(info.pid);
    return null;
  }

  /** node.json, or undefined when absent or damaged (then the chain is started again: safe, the journal is the record). */
  private readInfo(): LocalNodeInfo | undefined {
    try {
      const info = JSON.parse(fs.readFileSync(this.infoFile, "utf8")) as LocalNodeInfo;
      return Number.isSafeInteger(info?.pid) && typeof info.rpcUrl === "string" && typeof info.identity === "string"
        ? info
        : undefined;
    } catch {
      return undefined;
    }
  }

  /** Appends the blocks the chain has and the journal has not. */
  private async catchUp(rpc: AnvilRpc, header: JournalHeader): Promise<number> {
    const tail = this.journal.tail();
    const last = tail.last;
    let validLength = tail.validLength;
    let lastN = last?.n ?? 0;
    const head = Number(BigInt(await rpc.call<string>("eth_blockNumber")));
    const atLast =
      lastN <= head ? await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [hex(lastN), false]) : null;
    if (atLast?.hash !== (last?.h ?? header.genesis.hash)) {
      // Blocks the journal holds were undone (evm_revert) or replaced: cut back to the common ancestor.
      const all = this.journal.readAll();
      let keep = Math.min(all.blocks.length, head);
      while (keep > 0) {
        const b = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [hex(keep), false]);
        if (b?.hash === all.blocks[keep - 1].h) break;
        if (b === null)
          // Not loaded yet (a restart's older blocks come in the background): never cut the journal for that.
          throw new ProofmarkError(
            "NODE_FAILED",
            `the local chain does not hold block ${keep} yet (it is loading its older blocks); run the command again in a moment`,
            { block: keep },
          );
        keep--;
      }
      if (keep === 0) {
        const genesis = await rpc.call<{ hash: string }>("eth_getBlockByNumber", ["0x0", false]);
        if (genesis.hash !== header.genesis.hash) throw foreign(this.dataDir);
      }
      validLength = keep === 0 ? Buffer.byteLength(`${JSON.stringify(all.header)}\n`) : all.ends[keep - 1];
      this.journal.truncate(validLength);
      lastN = keep;
    }
    const blocks: JournalBlock[] = [];
    for (let from = lastN + 1; from <= head; from += 500) {
      const to = Math.min(head, from + 499);
      const got = await rpc.batch<{
        number: string;
        timestamp: string;
        hash: string;
        baseFeePerGas?: string;
        transactions: string[];
      }>(
        Array.from(
          { length: to - from + 1 },
          (_, i) => ["eth_getBlockByNumber", [hex(from + i), false]] as [string, unknown[]],
        ),
      );
      const txHashes = got.flatMap((b) => b.transactions);
      const raws: string[] = [];
      for (let i = 0; i < txHashes.length; i += 2_000) {
        raws.push(
          ...(await rpc.batch<string>(
            txHashes.slice(i, i + 2_000).map((h) => ["eth_getRawTransactionByHash", [h]] as [string, unknown[]]),
          )),
        );
      }
      let k = 0;
      for (const b of got) {
        const block: JournalBlock = { n: Number(BigInt(b.number)), t: Number(BigInt(b.timestamp)), h: b.hash };
        if (b.baseFeePerGas !== undefined) block.b = b.baseFeePerGas;
        if (b.transactions.length > 0) block.x = b.transactions.map(() => raws[k++]);
        blocks.push(block);
      }
    }
    this.journal.append(blocks, validLength);
    return validLength + blocks.reduce((n, b) => n + Buffer.byteLength(`${JSON.stringify(b)}\n`), 0);
  }

  /** Replays the journal into a fresh Anvil (not mining by itself); returns the last block's timestamp. */
  private async replay(
    rpc: AnvilRpc,
    journal: { blocks: JournalBlock[] },
    header: JournalHeader,
    after: number,
  ): Promise<number> {
    const { blocks } = journal;
    let calls: Array<[string, unknown[]]> = [];
    for (const b of blocks) {
      if (b.n <= after) continue;
      for (const raw of b.x ?? []) calls.push(["eth_sendRawTransaction", [raw]]);
      // The base fee is set, not derived: after an evm_revert Anvil keeps the undone block's fee.
      if (b.b !== undefined) calls.push(["anvil_setNextBlockBaseFeePerGas", [b.b]]);
      calls.push(["evm_mine", [b.t]]);
      if (calls.length >= 5_000) {
        await rpc.pipeline(calls);
        calls = [];
      }
    }
    await rpc.pipeline(calls);
    const last = blocks[blocks.length - 1];
    if (last) {
      const got = await rpc.call<{ hash: string } | null>("eth_getBlockByNumber", [hex(last.n), false]);
      if (got?.hash !== last.h) {
        throw new ProofmarkError(
          "CHAIN_STATE_CORRUPT",
          `replaying ${this.journal.file} did not reproduce block ${last.n} (got ${got?.hash}, recorded ${last.h}); the file is kept unchanged`,
          { file: this.journal.file, block: last.n },
        );
      }
    }
    return last?.t ?? header.genesis.timestamp;
  }

  /** Spawns Anvil on a port the system picks (no race with other folders) and reads that port from its log. */
  private async spawnAnvil(genesisTimestamp: number, loadState?: string): Promise<{ pid: number; port: number }> {
    const from = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const log = fs.openSync(this.logFile, "a");
    const child = spawn(anvilBinary(), anvilArgs(genesisTimestamp, loadState, this.chainId), {
      detached: true,
      stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    child.unref();
    const pid = child.pid ?? 0;
    let exitCode: number | null | undefined;
    child.once("exit", (code) => (exitCode = code));
    child.once("error", () => (exitCode = -1));
    const deadline = Date.now() + 120_000;
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      const text = readFrom(this.logFile, from);
      const m = /Listening on [^\s:]+:(\d+)/.exec(text);
      if (m) return { pid, port: Number(m[1]) };
      if (exitCode !== undefined) {
        throw new ProofmarkError(
          "NODE_FAILED",
          `the local chain exited at start (code ${exitCode}); see ${this.logFile}`,
          { logFile: this.logFile },
        );
      }
      if (Date.now() > deadline) {
        killQuietly(pid);
        throw new ProofmarkError("NODE_FAILED", `the local chain did not start within 120 s; see ${this.logFile}`, {
          logFile: this.logFile,
        });
      }
    }
  }

  /**
   * Keeps Anvil's log bounded: past `limit` bytes it is copied to anvil.log.1 and emptied in place
   * (Anvil appends, so it goes on writing at the new end).
   */
  private rotateLog(limit: number): void {
    try {
      if (fs.statSync(this.logFile).size <= limit) return;
      fs.copyFileSync(this.logFile, `${this.logFile}.1`);
      fs.truncateSync(this.logFile, 0);
    } catch {
      // no log yet, or it could not be rotated this time
    }
  }
}

function foreign(dataDir: string): ProofmarkError {
  return new ProofmarkError(
    "CHAIN_FOREIGN",
    `the data folder ${dataDir} no longer belongs to the running local chain (was it deleted or replaced while the chain ran?); nothing was written into it. Run the command again: the folder gets its own chain`,
    { dataDir },
  );
}

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

function readFrom(file: string, offset: number): string {
  try {
    const fd = fs.openSync(file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      const buf = Buffer.alloc(Math.max(0, Math.min(size - offset, 64 * 1024)));
      fs.readSync(fd, buf, 0, buf.length, offset);
      return buf.toString("utf8");
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return "";
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals = "SIGKILL"): void {
  try {
    if (pid > 0) process.kill(pid, signal);
  } catch {
    // already gone
  }
}
