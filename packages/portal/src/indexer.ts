import { toQuantity, type FetchRequest, type JsonRpcProvider, type Log } from "ethers";
import type Database from "better-sqlite3";
import { isAscii } from "node:buffer";
import * as http from "node:http";
import * as https from "node:https";
import {
  applyProvenanceLogs,
  checkEventDocument,
  emptyProvenanceState,
  evidenceRegistryInterface,
  lotStorageCalls,
  ProvenanceRegistryClient,
  type ChainEvent,
  type DocumentCheck,
  type DocumentSource,
  type Hex,
  type IndexedLicence,
  type IndexedLot,
  type StoredLotFacts,
} from "@proofmark/sdk";
import { decodeCanonicalLog, diskFullError } from "@proofmark/sdk/internal";
import { CHAIN_TABLES, getMeta, setMeta } from "./db";
import { appliedPage, applyPage, emptyIndexOps, IndexRecorder, snapshotOps, type PostgresIndexLog } from "./index-log";
import { eventKey, LotIndex } from "./lot-index";

const EVIDENCE_ANCHORED = evidenceRegistryInterface.getEvent("EvidenceAnchored")!;
const EVIDENCE_ANCHORED_TOPIC = EVIDENCE_ANCHORED.topicHash;

/** How far back the indexer re-checks block hashes for a reorganisation. */
export const REORG_DEPTH = 12;
/**
 * Blocks of the first `eth_getLogs` request; later ones adapt (see {@link Indexer.range}). Small, so
 * that indexing starts while the node still answers the ranges after it (a first range over a dense
 * history would keep the indexer idle for the node's whole answer); it grows eightfold per empty page,
 * so a sparse history reaches {@link LOG_RANGE_MAX} after a handful of cheap requests.
 */
const LOG_RANGE_START = 8;
/** Bounds of the adaptive range, in blocks. */
const LOG_RANGE_MAX = 100_000;
/**
 * Logs per page the range aims at: one page is one `eth_getLogs` request and one database
 * transaction. Pages of a few thousand logs keep the node busy answering the next ranges while the
 * indexer reduces and commits this one; larger pages only delay the first commit. (Anvil's CPU per
 * log grows with its answer — 3-4 µs up to 1,000 logs, 8 at 2,000, 11-15 at 3,250 — but pages of
 * 1,000 logs cost the indexer about as much more per page as they saved the node, in the bench.)
 */
const LOGS_PER_PAGE = 2_500;
/**
 * A catch-up is read in at least this many ranges (none narrower than {@link LOG_RANGE_START}):
 * the node answers one range while the indexer indexes the one before, which a catch-up read in
 * one or two wide ranges cannot do. Without it a history that is sparse and then dense (a
 * registry's set-up, then a season's events) reached the dense blocks with a range grown on the
 * sparse ones, and the indexer waited idle for the node's whole answer to a few thousand logs.
 */
const CATCH_UP_RANGES = 8;
/** `eth_getLogs` ranges requested ahead of the one being indexed (the node answers them meanwhile). */
const READ_AHEAD = 2;
/** `eth_getBlockByNumber` calls per JSON-RPC batch request (hosted nodes cap batches at 100 or more). */
const BLOCKS_PER_BATCH = 100;

export interface IndexerOptions {
  db: Database.Database;
  provider: JsonRpcProvider;
  /** EvidenceRegistry address (optional: anchors are not indexed without it). */
  evidenceRegistry?: string;
  /** ProvenanceRegistry address (optional). */
  provenanceRegistry?: string;
  /** First block to index (the registries' deployment block). */
  fromBlock?: number;
  /** Where event documents are read (the data folder's content store); without it every document is "missing". */
  documents?: DocumentSource;
  /** Called after each sync; return true when it changed the index (e.g. loaded manifests). */
  onSync?: (s: SyncResult) => boolean | void;
  /**
   * The index shared in PostgreSQL: this indexer writes only while it holds the shared indexer lock
   * (it tries to take it on every sync) and keeps `db` a copy of the shared index otherwise.
   */
  log?: PostgresIndexLog;
  /** Where the poller reports a failed sync (once per distinct error, with its code) and its recovery. */
  report?: (message: string) => void;
  /**
   * With a shared index: pages between two snapshots (the writer compacts the log into a snapshot
   * of its copy once this many pages were added since the last one). Default {@link SNAPSHOT_EVERY}.
   */
  snapshotEvery?: number;
}

/** Pages of the shared index between two snapshots, by default. */
export const SNAPSHOT_EVERY = 1_000;

/** What one sync did. */
export interface SyncResult {
  head: number;
  indexedTo: number;
  logs: number;
  reorgedFrom?: number;
  /** With a shared index: whether this instance wrote it (false: it only applied what the writer committed). */
  writer?: boolean;
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

/** Documents re-tried per sync when they were not in the store when their event was indexed. */
const MISSING_DOCUMENT_RETRIES = 200;
/** Storage reads in flight at once. */
const READ_CONCURRENCY = 16;

/**
 * Follows the EvidenceRegistry and ProvenanceRegistry logs into SQLite. ProvenanceRegistry logs go
 * through the SDK's reducer ({@link applyProvenanceLogs}) block by block, and its output is what is
 * stored (lot-index.ts); at the end of each sync, each lot changed since the last such check is read
 * from storage at the chain head the sync indexed to (hash-chain head, status, quantities: a node
 * that keeps only recent state can answer, which reads at the end of each old range would need an
 * archive node for), and each new event's document is read from the
 * content store and compared with its chain record, so that pages can run the SDK's assessment
 * without waiting on the chain. Resumes from the last
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
  private readonly documents?: DocumentSource;
  private readonly lots: LotIndex;
  private readonly registry?: ProvenanceRegistryClient;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly log?: PostgresIndexLog;
  private readonly recorder?: IndexRecorder;
  private readonly local: Database.Database;

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.stmts.set(sql, s);
    }
    return s;
  }

  constructor(opts: IndexerOptions) {
    this.local = opts.db;
    this.report = opts.report;
    this.log = opts.log;
    this.snapshotEvery = opts.snapshotEvery ?? SNAPSHOT_EVERY;
    if (opts.log) this.recorder = new IndexRecorder(opts.db);
    this.db = this.recorder?.db ?? opts.db;
    this.provider = opts.provider;
    this.evidence = opts.evidenceRegistry?.toLowerCase();
    this.provenance = opts.provenanceRegistry?.toLowerCase();
    this.addresses = [this.evidence, this.provenance].filter((a): a is string => Boolean(a));
    this.onSync = opts.onSync;
    this.documents = opts.documents;
    this.lots = new LotIndex(this.db);
    this.registry = this.provenance ? new ProvenanceRegistryClient(this.provenance, this.provider) : undefined;
    this.fromBlock = opts.fromBlock ?? 0;
    this.cursorKey = `cursor:${this.addresses.join(",")}`;
    this.checkedKey = `cursor:checked:${this.addresses.join(",")}`;
    this.initCursor();
    this.status.indexedTo = Number(getMeta(this.db, this.cursorKey));
  }

  private readonly fromBlock: number;

  /** Sets the cursor keys of an index that has none (a new one, or a copy emptied to be rebuilt). */
  private initCursor(): void {
    if (getMeta(this.db, this.cursorKey) === undefined) setMeta(this.db, this.cursorKey, String(this.fromBlock - 1));
    // An index written before this key existed read storage at the end of every range: checked to its cursor.
    if (getMeta(this.db, this.checkedKey) === undefined)
      setMeta(this.db, this.checkedKey, getMeta(this.db, this.cursorKey)!);
  }

  private readonly cursorKey: string;
  /**
   * Meta key of the block up to which every changed lot was compared with storage (a `cursor:` key:
   * snapshots of the shared index copy it, and a schema change resets it with the cursor).
   */
  private readonly checkedKey: string;

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
      Object.assign(this.status, {
        reachable: true,
        head: result.head,
        indexedTo: result.indexedTo,
        lastSync: Date.now(),
        error: undefined,
      });
      if (result.reorgedFrom !== undefined) this.status.lastReorgFrom = result.reorgedFrom;
      if (
        this.onSync?.(result) ||
        result.logs > 0 ||
        this.followed > 0 ||
        result.reorgedFrom !== undefined ||
        this.documentsChanged
      )
        this.status.version++;
      this.documentsChanged = false;
      return result;
    } catch (e) {
      this.status.reachable = false;
      const error = (e as { shortMessage?: string; message?: string }).shortMessage ?? (e as Error).message;
      this.status.error = error;
      throw e;
    }
  }

  private readonly report?: (message: string) => void;
  /** The last failure the poller reported (said once, not every poll). */
  private failure: string | undefined;

  /**
   * Syncs now, then every `intervalMs` until {@link stop}. Errors mark the chain unreachable and
   * are logged with their code (a full disk: DISK_FULL); nothing is written for a failed range, so
   * the next poll indexes it again.
   */
  async start(intervalMs = 500): Promise<void> {
    this.stopped = false;
    const failed = (e: unknown) => {
      const coded = diskFullError(e, this.db.name);
      const said = coded
        ? `[${coded.code}] the disk is full (writing ${this.db.name}); nothing of the range was kept, free some space`
        : `[${(e as { code?: string }).code ?? "ERROR"}] ${this.status.error}`;
      if (said !== this.failure) this.report?.(`indexing failed, retried every ${intervalMs} ms: ${said}`);
      this.failure = said;
    };
    const done = () => {
      if (this.failure !== undefined) this.report?.(`indexing resumed at block ${this.status.indexedTo}`);
      this.failure = undefined;
    };
    await this.sync().then(done, failed);
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sync()
        .then(done, failed)
        .finally(() => {
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

  /** Pages of the shared index applied by the last sync. */
  private followed = 0;

  /**
   * Applies to the SQLite copy what the writer committed to the shared index since the last call:
   * the snapshot first when the pages this copy lacks were compacted away, then the pages after it.
   */
  private async follow(): Promise<number> {
    let n = 0;
    for (;;) {
      const { pages, snapshot } = await this.log!.pagesAfter(appliedPage(this.local));
      if (snapshot) {
        applyPage(this.local, snapshot.seq, snapshot.ops);
        this.lastSnapshot = snapshot.seq;
        n++;
        continue;
      }
      if (pages.length === 0) return n;
      for (const p of pages) applyPage(this.local, p.seq, p.ops);
      n += pages.length;
    }
  }

  private readonly snapshotEvery: number;
  /** The newest snapshot of the shared index this instance knows of (read when it takes the lock). */
  private lastSnapshot?: number;

  /**
   * Commits one page of writes: to the SQLite index, or — with a shared index — to the SQLite copy
   * as the next page (the writes recorded as they run: each runs once), then to PostgreSQL in one
   * transaction with the cursor after it (refused when another instance moved the cursor). That
   * append is not waited for here: the next page is reduced meanwhile (against the copy, which
   * holds this page), and its commit — or the end of the sync — waits for it first
   * ({@link appended}). When the append fails or lands elsewhere than the copy's next page, the
   * copy holds a page the shared index may lack: it is marked {@link stale} and rebuilt from the
   * shared index before anything else. Every {@link snapshotEvery} pages the writer then compacts
   * the log into a snapshot of its copy. Returns false when the page was not committed because the
   * append before it landed elsewhere (the copy was rebuilt: the sync stops, the next one goes on).
   */
  private async commit(toBlock: number, write: () => void): Promise<boolean> {
    if (!this.log) {
      this.db.transaction(write)();
      return true;
    }
    if (!(await this.appended())) return false;
    const from = this.indexedTo;
    const expected = appliedPage(this.local) + 1;
    const ops = this.recorder!.apply(write, expected);
    this.stale = true;
    const log = this.log;
    const appending = log.append(from, toBlock, ops).then(async (seq) => {
      if (seq !== expected) {
        await this.rebuild();
        return false;
      }
      this.stale = false;
      this.lastSnapshot ??= await log.snapshotSeq();
      if (seq - this.lastSnapshot >= this.snapshotEvery) await this.compactNow();
      return true;
    });
    appending.catch(() => undefined); // its error is thrown where it is waited for
    this.appending = appending;
    return true;
  }

  /** The shared index's append of the last page committed to the copy, while in flight. */
  private appending?: Promise<boolean>;

  /**
   * Waits for the append in flight (throwing its error): false when it landed elsewhere than the
   * copy's page, which was then rebuilt from the shared index.
   */
  private async appended(): Promise<boolean> {
    const appending = this.appending;
    this.appending = undefined;
    return appending ? appending : true;
  }

  /** Whether the SQLite copy may hold a page the shared index lacks (an append failed after the copy applied it). */
  private stale = false;

  /**
   * Empties the SQLite copy and applies the shared index to it again (its snapshot, then its
   * pages): after an append that failed, the copy equals the shared index again. Returns the
   * pages applied, counting the emptying as one (the copy changed).
   */
  private async rebuild(): Promise<number> {
    this.stale = true;
    applyPage(this.local, 0, emptyIndexOps());
    this.initCursor();
    this.lastSnapshot = undefined;
    const n = await this.follow();
    this.stale = false;
    return n + 1;
  }

  /**
   * Writes a snapshot of this (the writer's) copy of the shared index and drops the pages it
   * covers. The copy is exactly pages 1..n applied in order (the writer applies each page it
   * commits), so the snapshot replaces those pages for anyone starting later.
   */
  async compact(): Promise<void> {
    if (!this.log) return;
    await this.appended();
    await this.compactNow();
  }

  private async compactNow(): Promise<void> {
    const seq = appliedPage(this.local);
    await this.log!.compact(seq, this.indexedTo, snapshotOps(this.local));
    this.lastSnapshot = seq;
  }

  private async syncOnce(): Promise<SyncResult> {
    const head = await this.provider.getBlockNumber();
    if (this.log) {
      this.followed = (this.stale ? await this.rebuild() : 0) + (await this.follow());
      if (!(await this.log.lead())) return { head, indexedTo: this.indexedTo, logs: 0, writer: false };
      // Pages the previous writer appended between that follow and its lock's release.
      this.followed += await this.follow();
    }
    let reorgedFrom: number | undefined;
    // Reorganisation check: the newest stored block whose hash still matches.
    const stored = this.stmt("SELECT number, hash FROM blocks ORDER BY number DESC LIMIT ?").all(REORG_DEPTH) as Array<{
      number: number;
      hash: string;
    }>;
    for (const b of stored) {
      const block = b.number > head ? null : await this.provider.getBlock(b.number);
      if (block && block.hash === b.hash) break;
      reorgedFrom = b.number;
    }
    if (reorgedFrom !== undefined) await this.rollback(reorgedFrom - 1);
    let logs = 0;
    // The ranges requested and not yet indexed, in order: the node answers the next ones while this
    // one is reduced and committed (a range read ahead and dropped after an error is no unhandled rejection).
    const reads: Array<{ from: number; to: number; data: Promise<RangeRead> }> = [];
    let nextFrom = this.indexedTo + 1;
    // The catch-up minimum applies to a gap expected to hold more than a page at the density of
    // the last page read (unknown before the first: a cold start is split); following a sparse
    // head, a gap of a few dozen blocks is one request, not CATCH_UP_RANGES small ones.
    const gap = head - this.indexedTo;
    const expected = this.logsPerBlock === undefined ? Infinity : this.logsPerBlock * gap;
    const widest =
      expected <= LOGS_PER_PAGE ? Math.max(1, gap) : Math.max(LOG_RANGE_START, Math.ceil(gap / CATCH_UP_RANGES));
    const readAhead = () => {
      while (reads.length < READ_AHEAD && nextFrom <= head) {
        const from = nextFrom;
        const to = Math.min(head, from + Math.min(this.range, widest) - 1);
        const data = this.readRange(from, to);
        data.catch(() => undefined);
        reads.push({ from, to, data });
        nextFrom = to + 1;
      }
    };
    readAhead();
    try {
      while (reads.length > 0) {
        const { from, to, data } = reads[0];
        let range: RangeRead;
        try {
          range = await data;
        } catch (e) {
          // A node that refuses the range (too many results, range too large) gets a smaller one; the
          // ranges read after it are read again within the new bound.
          if (to > from && isRangeRefusal(e)) {
            this.range = this.rangeCeiling = Math.max(1, Math.floor((to - from + 1) / 2));
            reads.length = 0;
            nextFrom = from;
            readAhead();
            continue;
          }
          throw e;
        }
        reads.shift();
        const n = range.logs.length;
        // Aim at LOGS_PER_PAGE logs per request: fewer requests while history is sparse, bounded pages when dense.
        // (A range read at the catch-up's width counts as full: the range grows behind that bound.)
        const span = to - from + 1;
        const full = span >= Math.min(this.range, widest);
        this.logsPerBlock = n / span;
        if (n === 0 && full) this.range = Math.min(this.rangeCeiling, this.range * 8);
        else if (n < LOGS_PER_PAGE / 4 && full) this.range = Math.min(this.rangeCeiling, this.range * 2);
        else if (n > LOGS_PER_PAGE) this.range = Math.max(1, Math.floor(span / 2));
        readAhead();
        if (!(await this.indexRange(from, to, range, to === head))) break;
        logs += n;
      }
    } catch (e) {
      // Not before the append in flight has settled (the next sync must see the copy as it ends up).
      await this.appended().catch(() => undefined);
      throw e;
    }
    // The last page's append (a failure fails the sync, like any page's).
    await this.appended();
    return { head, indexedTo: this.indexedTo, logs, reorgedFrom, writer: this.log ? true : undefined };
  }

  /** Blocks per `eth_getLogs` request now: doubled while pages are small, halved when a page is large or refused. */
  range = LOG_RANGE_START;
  /** Logs per block of the last page read (undefined before the first). */
  private logsPerBlock: number | undefined;
  /** The widest range the node accepted after refusing a wider one (node limits do not change). */
  private rangeCeiling = LOG_RANGE_MAX;

  /**
   * Deletes everything indexed after block `keep`. Storage checks after `keep` go too; the lots that
   * lose one are read again at the next sync's head (the check mark moves below their last change).
   */
  async rollback(keep: number): Promise<void> {
    const lostCheck = this.stmt(
      `SELECT MIN(last) AS last FROM (SELECT MAX(block) AS last FROM lot_states
       WHERE block <= ? AND lot IN (SELECT lot FROM lot_checks WHERE block > ?) GROUP BY lot)`,
    ).get(keep, keep) as { last: number | null };
    const checked = Math.min(keep, Number(getMeta(this.db, this.checkedKey)), (lostCheck.last ?? Infinity) - 1);
    await this.commit(Math.min(keep, this.indexedTo), () => {
      for (const table of CHAIN_TABLES) {
        if (table !== "blocks") this.stmt(`DELETE FROM ${table} WHERE block > ?`).run(keep);
      }
      this.stmt("DELETE FROM blocks WHERE number > ?").run(keep);
      setMeta(this.db, this.cursorKey, String(Math.min(keep, this.indexedTo)));
      setMeta(this.db, this.checkedKey, String(checked));
    });
    await this.appended();
  }

  /** Reads a range's logs and the blocks they (and `to`) are in, checking that the two reads agree. */
  private async readRange(from: number, to: number): Promise<RangeRead> {
    const blocks = new Map<number, { hash: string; time: number }>();
    if (this.addresses.length === 0) return { logs: [], blocks };
    const logs = await getLogs(this.provider, this.addresses, from, to);
    const blockNumbers = new Set<number>();
    for (const l of logs) blockNumbers.add(l.blockNumber);
    blockNumbers.add(to);
    for (const [n, b] of await getBlocks(this.provider, [...blockNumbers])) blocks.set(n, b);
    // Logs must belong to the blocks we read (a reorg between the two reads → retry next time).
    for (const l of logs) {
      if (blocks.get(l.blockNumber)!.hash !== l.blockHash)
        throw new Error(`block ${l.blockNumber} changed while indexing; retrying`);
    }
    return { logs, blocks };
  }

  /**
   * Indexes a range read by {@link readRange}: one page, one transaction. The sync's last range
   * (`last`: it ends at the chain head the sync read) also reads from storage every lot changed
   * since the last check, and moves the check mark to its last block. False when the page was not
   * committed (see {@link commit}).
   */
  private async indexRange(from: number, to: number, { logs, blocks }: RangeRead, last: boolean): Promise<boolean> {
    if (this.addresses.length === 0) return this.commit(to, () => setMeta(this.db, this.cursorKey, String(to)));
    const provenanceLogs = logs.filter((l) => l.address.toLowerCase() === this.provenance);
    const reduced = this.reduce(provenanceLogs);
    const checks = last ? await this.readStorage(this.lotsToCheck(reduced.touched), to) : new Map();
    const docs = await this.checkDocuments(
      this.documents ? reduced.blocks.flatMap((b) => [...b.state.events.values()].flat()) : [],
    );
    const retried = await this.retryMissingDocuments();
    const committed = await this.commit(to, () => {
      for (const l of logs)
        if (l.address.toLowerCase() === this.evidence) this.applyEvidence(l, blocks.get(l.blockNumber)!.time);
      for (const b of reduced.blocks) {
        const created = new Set(
          [...b.state.lots.values()].filter((l) => l.createdAt.blockNumber === b.block).map((l) => l.id),
        );
        this.lots.writeBlock(b.state, b.block, blocks.get(b.block)!.time, docs.checks, created);
      }
      for (const [lot, facts] of checks) this.lots.writeCheck(lot, to, facts);
      if (last) setMeta(this.db, this.checkedKey, String(to));
      for (const [document, d] of docs.found) this.lots.writeDocument(document as Hex, d.cid, d.event);
      for (const r of retried) {
        this.lots.setDocumentCheck(r.event, r.check, r.cid);
        if (r.epcis !== undefined) this.lots.writeDocument(r.event.document, r.cid!, r.epcis);
      }
      const insertBlock = this.stmt("INSERT OR REPLACE INTO blocks (number, hash, time) VALUES (?, ?, ?)");
      for (const [n, b] of blocks) insertBlock.run(n, b.hash, b.time);
      // Keep only what the reorg check needs, plus every block that holds indexed rows.
      this.stmt(
        "DELETE FROM blocks WHERE number < ? AND number NOT IN (SELECT number FROM blocks ORDER BY number DESC LIMIT ?)",
      ).run(to - REORG_DEPTH * 4, REORG_DEPTH);
      setMeta(this.db, this.cursorKey, String(to));
    });
    if (committed && retried.length > 0) this.documentsChanged = true;
    return committed;
  }

  private applyEvidence(log: IndexedLog, time: number): void {
    // Read from its words when canonical (ethers' parseLog recomputes every event's topic hash per log).
    if (log.topics[0] !== EVIDENCE_ANCHORED_TOPIC) return;
    const args = decodeCanonicalLog(EVIDENCE_ANCHORED, log) ?? evidenceRegistryInterface.parseLog(log)?.args;
    if (args) {
      this.stmt(
        "INSERT OR IGNORE INTO anchors (root, submitter, leaf_count, block, tx, time) VALUES (?, ?, ?, ?, ?, ?)",
      ).run(
        String(args.root),
        String(args.submitter).toLowerCase(),
        Number(args.leafCount),
        log.blockNumber,
        log.transactionHash,
        time,
      );
    }
  }

  /** Set by a sync that found documents missing before (the index changed without new logs). */
  private documentsChanged = false;

  /**
   * Runs the SDK's reducer over the range's ProvenanceRegistry logs, one block at a time, each on
   * a partial state that loads what the logs name from the index (or from earlier blocks of the
   * range). Returns each block's partial state (what to write) and every lot touched.
   */
  private reduce(logs: IndexedLog[]): {
    blocks: Array<{ block: number; state: ReturnType<typeof emptyProvenanceState> }>;
    touched: Set<number>;
  } {
    const latestLots = new Map<number, IndexedLot>();
    const latestLicences = new Map<string, IndexedLicence>();
    const loader = {
      lot: (id: number) => latestLots.get(id) ?? this.lots.lot(id),
      licence: (key: string) => latestLicences.get(key) ?? this.lots.licence(key),
    };
    const byBlock = new Map<number, IndexedLog[]>();
    for (const l of logs) {
      if (!byBlock.has(l.blockNumber)) byBlock.set(l.blockNumber, []);
      byBlock.get(l.blockNumber)!.push(l);
    }
    const out: Array<{ block: number; state: ReturnType<typeof emptyProvenanceState> }> = [];
    const touched = new Set<number>();
    for (const [block, blockLogs] of [...byBlock].sort((a, b) => a[0] - b[0])) {
      blockLogs.sort((a, b) => a.index - b.index);
      const state = applyProvenanceLogs(blockLogs, block, emptyProvenanceState(block), loader);
      for (const [id, l] of state.lots) {
        latestLots.set(id, l);
        touched.add(id);
      }
      for (const [key, l] of state.licences) latestLicences.set(key, l);
      out.push({ block, state });
    }
    return { blocks: out, touched };
  }

  /** Lots changed since the last storage check (indexed after the check mark), and `touched`. */
  private lotsToCheck(touched: Set<number>): number[] {
    const lots = new Set(touched);
    const since = Number(getMeta(this.db, this.checkedKey));
    for (const row of this.stmt("SELECT DISTINCT lot FROM lot_states WHERE block > ?").raw().iterate(since))
      lots.add((row as [number])[0]);
    return [...lots];
  }

  /**
   * Reads the storage words of `lots` at `block` (throws when the chain cannot answer: the range
   * is retried). Over HTTP the `headOf` and `lotOf` calls go in JSON-RPC batches of
   * {@link BLOCKS_PER_BATCH} calls (one ethers call each took about 1.5 ms of CPU, and the last
   * page of a catch-up waited on them); a node that refuses batches is asked one lot at a time.
   */
  private async readStorage(lots: number[], block: number): Promise<Map<number, StoredLotFacts>> {
    const out = new Map<number, StoredLotFacts>();
    if (!this.registry) return out;
    const one = async (id: number) => {
      const [head, lot] = await Promise.all([this.registry!.head(id, block), this.registry!.lot(id, block)]);
      out.set(id, { head, status: lot.status, quantity: lot.quantity, remaining: lot.remaining });
    };
    const connection = httpConnection(this.provider);
    if (!connection) {
      for (let i = 0; i < lots.length; i += READ_CONCURRENCY)
        await Promise.all(lots.slice(i, i + READ_CONCURRENCY).map(one));
      return out;
    }
    const tag = toQuantity(block);
    const call = (data: string, id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "eth_call",
      params: [{ to: this.provenance, data }, tag],
    });
    const perBatch = Math.max(1, Math.floor(BLOCKS_PER_BATCH / 2));
    await Promise.all(
      slices(lots, perBatch).map(async (batch) => {
        const answer = await postJson(
          connection,
          "eth_call",
          batch.flatMap((id, i) => {
            const data = lotStorageCalls.data(id);
            return [call(data.head, 2 * i), call(data.lot, 2 * i + 1)];
          }),
        );
        if (!Array.isArray(answer)) {
          for (const id of batch) await one(id);
          return;
        }
        const results: Array<string | undefined> = [];
        for (const a of answer as Array<RpcAnswer<string>>) {
          if (typeof a?.id !== "number" || a.id < 0 || a.id >= 2 * batch.length) continue;
          if (a.error) throw Object.assign(new Error(`eth_call failed: ${a.error.message}`), { error: a.error });
          results[a.id] = a.result;
        }
        batch.forEach((id, i) => {
          const head = results[2 * i];
          const lot = results[2 * i + 1];
          if (head === undefined || lot === undefined)
            throw new Error(`the node did not answer the storage read of lot ${id}`);
          out.set(id, lotStorageCalls.facts(head, lot));
        });
      }),
    );
    return out;
  }

  /** Reads each event's document from the content store and compares it with the event's chain record. */
  private async checkDocuments(events: ChainEvent[]): Promise<{
    checks: Map<string, { check: DocumentCheck; cid: string | null }>;
    found: Map<string, { cid: string; event: unknown }>;
  }> {
    const checks = new Map<string, { check: DocumentCheck; cid: string | null }>();
    const found = new Map<string, { cid: string; event: unknown }>();
    // Without a content store every document is missing: what writeBlock records for an event not in `checks`.
    if (!this.documents) return { checks, found };
    for (const e of events) {
      const r = await this.checkDocument(e);
      checks.set(eventKey(e), { check: r.check, cid: r.cid });
      if (r.check === "verified" && r.cid) found.set(e.document, { cid: r.cid, event: r.event });
    }
    return { checks, found };
  }

  private async checkDocument(e: ChainEvent): Promise<{ check: DocumentCheck; cid: string | null; event?: unknown }> {
    if (!this.documents) return { check: "document-missing", cid: null };
    let loaded;
    try {
      loaded = await this.documents.load(e.document);
    } catch {
      return { check: "document-mismatch", cid: null }; // in the index but unreadable or altered: what gi trace says too
    }
    const { check, epcis } = checkEventDocument(e, loaded?.doc);
    return { check, cid: loaded?.cid ?? null, event: check === "verified" ? epcis : undefined };
  }

  /** Documents that were not in the store when their event was indexed, tried again. */
  private async retryMissingDocuments(): Promise<
    Array<{ event: ChainEvent; check: DocumentCheck; cid: string | null; epcis?: unknown }>
  > {
    if (!this.documents) return [];
    const out = [];
    for (const e of this.lots.eventsMissingDocuments(MISSING_DOCUMENT_RETRIES)) {
      const r = await this.checkDocument(e);
      if (r.check !== "document-missing") out.push({ event: e, check: r.check, cid: r.cid, epcis: r.event });
    }
    return out;
  }
}

/** One `eth_getLogs` range as read: its logs and the hash and time of each block they are in (and of its last block). */
interface RangeRead {
  logs: IndexedLog[];
  blocks: Map<number, { hash: string; time: number }>;
}

/** A log as the indexer reads it: what the decoders and the reducer use. */
type IndexedLog = Pick<Log, "address" | "topics" | "data" | "blockNumber" | "blockHash" | "transactionHash" | "index">;

/**
 * `eth_getLogs` of `addresses` over blocks `from`..`to`. Over HTTP the request goes straight to
 * the node and its answer is parsed by `JSON.parse` (ethers decodes a response's UTF-8 in
 * JavaScript, byte by byte, then builds a frozen `Log` with checksummed addresses per log: most of
 * a catch-up's time at 10,000 logs per page); other transports go through the provider.
 * A JSON-RPC error is thrown with its `error` (code, message), as ethers does.
 */
async function getLogs(
  provider: JsonRpcProvider,
  addresses: string[],
  from: number,
  to: number,
): Promise<IndexedLog[]> {
  const connection = httpConnection(provider);
  if (!connection) return provider.getLogs({ address: addresses, fromBlock: from, toBlock: to });
  const answer = (await postJson(connection, "eth_getLogs", {
    jsonrpc: "2.0",
    id: 1,
    method: "eth_getLogs",
    params: [{ address: addresses, fromBlock: toQuantity(from), toBlock: toQuantity(to) }],
  })) as RpcAnswer<RpcLog[]>;
  if (answer.error || !Array.isArray(answer.result))
    throw Object.assign(new Error(`eth_getLogs failed: ${answer.error?.message ?? "no result"}`), {
      error: answer.error,
    });
  return answer.result.map((l) => ({
    address: l.address,
    topics: l.topics,
    data: l.data,
    blockNumber: Number(l.blockNumber),
    blockHash: l.blockHash,
    transactionHash: l.transactionHash,
    index: Number(l.logIndex),
  }));
}

/** The provider's HTTP(S) connection, when it has one (other transports go through the provider). */
function httpConnection(provider: JsonRpcProvider): FetchRequest | undefined {
  const connection = (provider as { _getConnection?: () => FetchRequest })._getConnection?.();
  return connection && /^https?:\/\//.test(connection.url) ? connection : undefined;
}

/** One JSON-RPC answer. */
interface RpcAnswer<T> {
  id?: number;
  result?: T;
  error?: { code?: number; message?: string };
}

/** POSTs a JSON-RPC request (or batch) straight to the node and parses the answer with `JSON.parse`. */
async function postJson(connection: FetchRequest, method: string, body: unknown): Promise<unknown> {
  const { status, text } = await post(connection.url, connection.headers, JSON.stringify(body));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`${method}: HTTP ${status}: ${text.slice(0, 200)}`);
  }
}

/** Connections kept open between requests to the node. */
const agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

/**
 * POSTs `body` with node:http(s) and reads the answer as one string, decoded chunk by chunk by
 * Buffer (a catch-up's answers are megabytes; `fetch` spent about twice the CPU on them here, in
 * its stream plumbing, copies and TextDecoder).
 */
function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  const target = new URL(url);
  const secure = target.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      target,
      {
        method: "POST",
        agent: secure ? agents.https : agents.http,
        headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
      },
      (res) => {
        // JSON-RPC answers of logs and blocks are ASCII (hex and names): each chunk is decoded as
        // Latin-1 as it arrives, the same characters at a few percent of the UTF-8 decoder's cost,
        // and without joining megabytes of chunks into a fresh buffer first (fresh memory is slow
        // here: page faults cost about as much as the copy). From the first chunk that is not
        // ASCII on, the rest is kept and decoded as UTF-8 at the end.
        let text = "";
        const rest: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          if (rest.length === 0 && isAscii(c)) text += c.toString("latin1");
          else rest.push(c);
        });
        res.on("end", () => {
          if (rest.length > 0) text += Buffer.concat(rest).toString("utf8");
          resolve({ status: res.statusCode ?? 0, text });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The hash and time of blocks `numbers`: over HTTP in JSON-RPC batches of {@link BLOCKS_PER_BATCH}
 * `eth_getBlockByNumber` calls (without transactions), read from the parsed JSON (ethers builds a
 * `Block` per call); through the provider for other transports or a node that refuses batches.
 * Throws when a block is not available.
 */
async function getBlocks(
  provider: JsonRpcProvider,
  numbers: number[],
): Promise<Map<number, { hash: string; time: number }>> {
  const out = new Map<number, { hash: string; time: number }>();
  const connection = httpConnection(provider);
  const viaProvider = async (ns: number[]) =>
    Promise.all(
      ns.map(async (n) => {
        const b = await provider.getBlock(n);
        if (!b) throw new Error(`block ${n} is not available`);
        out.set(n, { hash: b.hash!, time: b.timestamp });
      }),
    );
  if (!connection) {
    await viaProvider(numbers);
    return out;
  }
  await Promise.all(
    slices(numbers, BLOCKS_PER_BATCH).map(async (batch) => {
      const answer = await postJson(
        connection,
        "eth_getBlockByNumber",
        batch.map((n, id) => ({ jsonrpc: "2.0", id, method: "eth_getBlockByNumber", params: [toQuantity(n), false] })),
      );
      // A node that answers a batch with one error (batches not supported, or too large) is asked one by one.
      if (!Array.isArray(answer)) return viaProvider(batch);
      for (const a of answer as Array<RpcAnswer<{ hash?: string; timestamp?: string } | null>>) {
        const n = typeof a?.id === "number" ? batch[a.id] : undefined;
        if (n === undefined) continue;
        if (a.error)
          throw Object.assign(new Error(`eth_getBlockByNumber failed: ${a.error.message}`), { error: a.error });
        if (!a.result?.hash || a.result.timestamp === undefined) throw new Error(`block ${n} is not available`);
        out.set(n, { hash: a.result.hash, time: Number(a.result.timestamp) });
      }
      for (const n of batch) if (!out.has(n)) throw new Error(`block ${n} is not available`);
    }),
  );
  return out;
}

interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  transactionHash: string;
  logIndex: string;
}

/** Whether an `eth_getLogs` failure is the node refusing the size of the range (so a smaller one may pass). */
function isRangeRefusal(e: unknown): boolean {
  const err = e as {
    message?: string;
    error?: { code?: number; message?: string };
    info?: { error?: { code?: number; message?: string } };
  };
  const inner = err?.error ?? err?.info?.error;
  if (inner?.code === -32005) return true;
  const text = `${err?.message ?? ""} ${inner?.message ?? ""}`.toLowerCase();
  return /more than \d+ results|too many (results|logs)|range (is )?too (large|wide|big)|limit exceeded|response size/.test(
    text,
  );
}

/** `items` in consecutive slices of at most `size` (one JSON-RPC batch each). */
function slices<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
