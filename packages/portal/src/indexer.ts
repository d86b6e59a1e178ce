import type { JsonRpcProvider, Log } from "ethers";
import type Database from "better-sqlite3";
import { evidenceRegistryInterface, provenanceRegistryInterface } from "@proofmark/sdk";
import { getMeta, setMeta } from "./db";

/** How far back the indexer re-checks block hashes for a reorganisation. */
export const REORG_DEPTH = 12;
/** Blocks per `eth_getLogs` request. */
const LOG_RANGE = 2_000;

/** ProvenanceRegistry ABI (generated from the contract at build time). */
export const provenanceInterface = provenanceRegistryInterface;

export interface IndexerOptions {
  db: Database.Database;
  provider: JsonRpcProvider;
  /** EvidenceRegistry address (optional: anchors are not indexed without it). */
  evidenceRegistry?: string;
  /** ProvenanceRegistry address (optional). */
  provenanceRegistry?: string;
  /** First block to index (the registries' deployment block). */
  fromBlock?: number;
  /** Called after each sync with what changed. */
  /** Called after each sync; return true when it changed the index (e.g. loaded manifests). */
  onSync?: (s: SyncResult) => boolean | void;
}

/** What one sync did. */
export interface SyncResult {
  head: number;
  indexedTo: number;
  logs: number;
  reorgedFrom?: number;
}

/** Status of the chain connection, for the pages' "chain unreachable" warning. */
export interface ChainStatus {
  reachable: boolean;
  /** Last block indexed. */
  indexedTo: number;
  /** Chain head at the last successful sync. */
  head: number;
  /** Time (ms) of the last successful sync. */
  lastSync: number;
  /** First block of the last reorganisation undone (undefined: none seen). */
  lastReorgFrom?: number;
  /** Last error, in words (never a stack). */
  error?: string;
  /** Bumped whenever the index changed (new logs, reorg, manifests): caches key on it. */
  version: number;
}

/**
 * Follows the EvidenceRegistry and ProvenanceRegistry logs into SQLite. Resumes from the last
 * indexed block after a restart; before each step it compares the hashes of the last
 * {@link REORG_DEPTH} indexed blocks with the chain and, if one changed, deletes everything from the
 * first changed block on and indexes it again.
 */
export class Indexer {
  readonly status: ChainStatus = { reachable: false, indexedTo: -1, head: -1, lastSync: 0, version: 0 };
  private readonly db: Database.Database;
  private readonly provider: JsonRpcProvider;
  private readonly addresses: string[];
  private readonly evidence?: string;
  private readonly provenance?: string;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly onSync?: (s: SyncResult) => boolean | void;
  private readonly stmts = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  constructor(opts: IndexerOptions) {
    this.db = opts.db;
    this.provider = opts.provider;
    this.evidence = opts.evidenceRegistry?.toLowerCase();
    this.provenance = opts.provenanceRegistry?.toLowerCase();
    this.addresses = [this.evidence, this.provenance].filter((a): a is string => Boolean(a));
    this.onSync = opts.onSync;
    const key = `cursor:${this.addresses.join(",")}`;
    const cursor = getMeta(this.db, key);
    if (cursor === undefined) setMeta(this.db, key, String((opts.fromBlock ?? 0) - 1));
    this.cursorKey = key;
    this.status.indexedTo = Number(getMeta(this.db, key));
  }

  private readonly cursorKey: string;

  /** The last indexed block. */
  get indexedTo(): number {
    return Number(getMeta(this.db, this.cursorKey));
  }

  private inFlight: Promise<SyncResult> | undefined;

  /**
   * Indexes up to the chain head once (checking for reorganisations first). Calls never overlap:
   * a call made while the poller syncs waits for it, then syncs again.
   */
  async sync(): Promise<SyncResult> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
    this.inFlight = this.syncSerial();
    try {
      return await this.inFlight;
    } finally {
      this.inFlight = undefined;
    }
  }

  private async syncSerial(): Promise<SyncResult> {
    try {
      const result = await this.syncOnce();
      Object.assign(this.status, { reachable: true, head: result.head, indexedTo: result.indexedTo, lastSync: Date.now(), error: undefined });
      if (result.reorgedFrom !== undefined) this.status.lastReorgFrom = result.reorgedFrom;
      if (this.onSync?.(result) || result.logs > 0 || result.reorgedFrom !== undefined) this.status.version++;
      return result;
    } catch (e) {
      this.status.reachable = false;
      this.status.error = (e as { shortMessage?: string; message?: string }).shortMessage ?? (e as Error).message;
      throw e;
    }
  }

  /** Syncs now, then every `intervalMs` until {@link stop}. Errors mark the chain unreachable. */
  async start(intervalMs = 500): Promise<void> {
    this.stopped = false;
    await this.sync().catch(() => undefined);
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sync().then(() => undefined, () => undefined).finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
      });
    };
    this.timer = setTimeout(tick, intervalMs);
  }

  /** Stops following the chain (waits for a sync in progress). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private async syncOnce(): Promise<SyncResult> {
    const head = await this.provider.getBlockNumber();
    let reorgedFrom: number | undefined;
    // Reorganisation check: the newest stored block whose hash still matches.
    const stored = this.db.prepare("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT ?").all(REORG_DEPTH) as Array<{ number: number; hash: string }>;
    for (const b of stored) {
      const block = b.number > head ? null : await this.provider.getBlock(b.number);
      if (block && block.hash === b.hash) break;
      reorgedFrom = b.number;
    }
    if (reorgedFrom !== undefined) this.rollback(reorgedFrom - 1);
    let from = this.indexedTo + 1;
    let logs = 0;
    while (from <= head) {
      const to = Math.min(head, from + LOG_RANGE - 1);
      logs += await this.indexRange(from, to);
      from = to + 1;
    }
    return { head, indexedTo: this.indexedTo, logs, reorgedFrom };
  }

  /** Deletes everything indexed after block `keep`. */
  rollback(keep: number): void {
    this.db.transaction(() => {
      for (const table of ["anchors", "products", "lots", "lot_parents", "events", "recalls", "code_issues"]) {
        this.db.prepare(`DELETE FROM ${table} WHERE block > ?`).run(keep);
      }
      this.db.prepare("DELETE FROM blocks WHERE number > ?").run(keep);
      setMeta(this.db, this.cursorKey, String(Math.min(keep, this.indexedTo)));
    })();
  }

  private async indexRange(from: number, to: number): Promise<number> {
    if (this.addresses.length === 0) {
      setMeta(this.db, this.cursorKey, String(to));
      return 0;
    }
    const logs = await this.provider.getLogs({ address: this.addresses, fromBlock: from, toBlock: to });
    const blockNumbers = new Set<number>(logs.map((l) => l.blockNumber));
    blockNumbers.add(to);
    const blocks = new Map<number, { hash: string; time: number }>();
    await Promise.all([...blockNumbers].map(async (n) => {
      const b = await this.provider.getBlock(n);
      if (!b) throw new Error(`block ${n} is not available`);
      blocks.set(n, { hash: b.hash!, time: b.timestamp });
    }));
    // Logs must belong to the blocks we read (a reorg between the two reads → retry next time).
    for (const l of logs) {
      if (blocks.get(l.blockNumber)!.hash !== l.blockHash) throw new Error(`block ${l.blockNumber} changed while indexing; retrying`);
    }
    this.db.transaction(() => {
      for (const l of logs) this.apply(l, blocks.get(l.blockNumber)!.time);
      const insertBlock = this.db.prepare("INSERT OR REPLACE INTO blocks (number, hash, time) VALUES (?, ?, ?)");
      for (const [n, b] of blocks) insertBlock.run(n, b.hash, b.time);
      // Keep only what the reorg check needs, plus every block that holds indexed rows.
      this.db.prepare("DELETE FROM blocks WHERE number < ? AND number NOT IN (SELECT number FROM blocks ORDER BY number DESC LIMIT ?)").run(to - REORG_DEPTH * 4, REORG_DEPTH);
      setMeta(this.db, this.cursorKey, String(to));
    })();
    return logs.length;
  }

  private apply(log: Log, time: number): void {
    const address = log.address.toLowerCase();
    const block = log.blockNumber;
    const tx = log.transactionHash;
    if (address === this.evidence) {
      const parsed = evidenceRegistryInterface.parseLog(log);
      if (parsed?.name === "EvidenceAnchored") {
        this.stmt("INSERT OR IGNORE INTO anchors (root, submitter, leaf_count, block, tx, time) VALUES (?, ?, ?, ?, ?, ?)")
          .run(String(parsed.args.root), String(parsed.args.submitter).toLowerCase(), Number(parsed.args.leafCount), block, tx, time);
      }
      return;
    }
    if (address !== this.provenance) return;
    const parsed = provenanceInterface.parseLog(log);
    if (!parsed) return;
    const a = parsed.args;
    switch (parsed.name) {
      case "ProductCreated": {
        const info = a.info;
        this.stmt(`INSERT OR REPLACE INTO products (id, admin, registrar, name, name_en, gi_number, region, unit, max_yield_bps, standard, block, tx, time)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(Number(a.product), String(a.admin).toLowerCase(), String(a.registrar).toLowerCase(), String(info.name), String(info.nameEn),
            String(info.giNumber), String(info.region), String(info.unit), Number(info.maxYieldBps), String(info.standard), block, tx, time);
        break;
      }
      case "LotHarvested":
        this.stmt(`INSERT OR REPLACE INTO lots (id, product, origin, actor, season, quantity, packages, parents, amounts, block, tx, time)
          VALUES (?, ?, 0, ?, ?, ?, 0, '[]', '[]', ?, ?, ?)`)
          .run(Number(a.lot), Number(a.product), String(a.producer).toLowerCase(), Number(a.season), String(a.quantity), block, tx, time);
        break;
      case "LotDerived": {
        const parents = (a.parents as bigint[]).map(Number);
        this.stmt(`INSERT OR REPLACE INTO lots (id, product, origin, actor, season, quantity, packages, parents, amounts, block, tx, time)
          VALUES (?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)`)
          .run(Number(a.lot), Number(a.product), Number(a.origin), String(a.actor).toLowerCase(), String(a.quantity), Number(a.packages),
            JSON.stringify(parents), JSON.stringify((a.amounts as bigint[]).map(String)), block, tx, time);
        const insertParent = this.stmt("INSERT OR IGNORE INTO lot_parents (lot, parent, block) VALUES (?, ?, ?)");
        for (const p of parents) insertParent.run(Number(a.lot), p, block);
        break;
      }
      case "LotEventRecorded":
        this.stmt(`INSERT OR REPLACE INTO events (block, log_index, lot, actor, step, disposition, event_time, location, document, tx, time)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(block, log.index, Number(a.lot), String(a.actor).toLowerCase(), Number(a.step), Number(a.disposition), Number(a.eventTime),
            String(a.location), String(a.document), tx, time);
        break;
      case "LotRecalled":
        this.stmt("INSERT OR REPLACE INTO recalls (lot, actor, reason, block, tx, time) VALUES (?, ?, ?, ?, ?, ?)")
          .run(Number(a.lot), String(a.actor).toLowerCase(), String(a.reason), block, tx, time);
        break;
      case "CodesIssued":
        this.stmt(`INSERT OR REPLACE INTO code_issues (block, log_index, lot, actor, count, issued_total, commitment, tx, time)
          VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
          .run(block, log.index, Number(a.lot), String(a.actor).toLowerCase(), Number(a.count), Number(a.issuedTotal), String(a.serialSetCommitment), tx, time);
        break;
      default:
        break; // roles and licences are not shown by the portal
    }
  }
}
