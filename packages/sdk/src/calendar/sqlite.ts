import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { Worker } from "node:worker_threads";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import { unpackLeaves, type AckRecord, type BatchRecord, type CalendarStore, type LeafLookup } from "./store";

type Database = import("better-sqlite3").Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (
  id INTEGER PRIMARY KEY, root TEXT NOT NULL, received_at INTEGER NOT NULL, calendar TEXT NOT NULL,
  signer TEXT NOT NULL, signature TEXT NOT NULL, leaves BLOB NOT NULL, dups BLOB);
CREATE TABLE IF NOT EXISTS leaf_runs (
  id INTEGER PRIMARY KEY, level INTEGER NOT NULL, count INTEGER NOT NULL, live INTEGER NOT NULL, filter BLOB);
CREATE TABLE IF NOT EXISTS leaf_spill (
  leaf BLOB PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY, root TEXT NOT NULL, leaf_count INTEGER NOT NULL, created_at INTEGER NOT NULL,
  leaves BLOB NOT NULL, progress TEXT NOT NULL, completed_at INTEGER,
  last_ack INTEGER NOT NULL, last_index INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS batches_end ON batches (last_ack, last_index);
`;

/**
 * Format of the SQLite calendar database, checked on open (the PostgreSQL store keeps its own,
 * `POSTGRES_CALENDAR_SCHEMA_VERSION` in postgres.ts). Version 4: the leaf index is a set of sorted
 * runs (a log-structured merge tree, O'Neil et al. 1996), each its own table `leaf_run_<id>` keyed as
 * in version 3, listed in `leaf_runs` with its level, its row count and a Bloom filter of its keys.
 * Each index transaction writes its new leaves as one run, in key order (appended, a page written
 * once); {@link MERGE_FANOUT} runs of one level are merged in the background into one run of the
 * next, in steps, and replace their sources in one transaction (a run being built is `live = 0`,
 * dropped on open). A leaf is rewritten once per level, about log_FANOUT(n) times, where the single
 * random-key B-tree of version 3 wrote a page per leaf once it outgrew the cache (7.6 KB and 15 µs of
 * CPU per leaf at 2M leaves, measured: the index fell behind 20,000 leaves/s within minutes). A
 * version 3 database is upgraded on open: its leaf table becomes the first run.
 *
 * Version 3: a leaf's row is keyed by its first 8 bytes
 * (an integer, a rowid table: rows of ~20 bytes instead of ~50, so a random insert dirties half as
 * many pages), with the full leaf checked against its acknowledgement's packed leaves; a second leaf
 * with the same first 8 bytes (chosen on purpose, since clients pick their leaves) goes to
 * `leaf_spill` under its full 32 bytes. No index on (ack id, index): the pending leaves are read in
 * order from `acks` (each ack's packed leaves), skipping the positions listed in its `dups` — leaves
 * stored earlier (packed u32 indexes; NULL for none). A version 2 database is upgraded on open.
 *
 * Version 2: a batch is the next run of leaves in acknowledgement order (ack id, index in the ack),
 * recorded by its last position — closing a batch writes one row, not one update per leaf (version
 * 1 rewrote every leaf row, scattered over the leaf index: tens of MB of WAL and a stall of the
 * event loop per batch).
 */
export const CALENDAR_SCHEMA_VERSION = "proofmark-calendar-4";
/** The layouts upgraded on open: 3 (one leaf table), and 2 (leaves keyed by their 32 bytes, ordered by `leaves_order`) through 3. */
const UPGRADED_SCHEMA_VERSIONS = ["proofmark-calendar-3", "proofmark-calendar-2"];

/** Runs of one level merged into one run of the next: a leaf is rewritten about log_FANOUT(leaves) times; dedup probes up to FANOUT − 1 runs a level. */
const MERGE_FANOUT = 8;
/** Rows of the largest source run per merge step, one transaction (index work and batch requests go first between steps). */
const MERGE_STEP_ROWS = 8_192;
/**
 * A run's Bloom filter: bits per key and probes per key (double hashing from the key's two 32-bit
 * halves, Kirsch & Mitzenmacher 2006) — about 1 % of absent keys pass, and cost one lookup in that run.
 */
const FILTER_BITS_PER_KEY = 10;
const FILTER_HASHES = 7;
/** The table of leaf run `id`. */
const runTable = (id: number | bigint): string => `leaf_run_${Number(id)}`;

/** Where the batches end: (ack id, index) of the last leaf in a batch (ack ids grow with commits). */
const END_SQL = "SELECT last_ack AS a, last_index AS i FROM batches ORDER BY last_ack DESC, last_index DESC LIMIT 1";

/** Niceness of the indexer's thread (0 = the process's; 19 = lowest). */
const INDEXER_NICE = Number(process.env.PROOFMARK_CALENDAR_INDEXER_NICE ?? 10);

/** An ack's `dups` column: its positions whose leaf was stored at an earlier acknowledgement, u32 little-endian each. */
function packDups(positions: number[]): Buffer {
  const packed = Buffer.alloc(positions.length * 4);
  positions.forEach((d, k) => packed.writeUInt32LE(d, k * 4));
  return packed;
}

/** The positions an ack's `dups` column lists. */
function dupPositions(dups: Buffer | null): number[] {
  const out: number[] = [];
  if (dups) for (let k = 0; k + 4 <= dups.length; k += 4) out.push(dups.readUInt32LE(k));
  return out;
}

/**
 * The indexer: fills the leaf table (and the acks table) from acknowledgements that are already
 * durable in the acknowledgement log, on a worker thread with its own connection. Everything queued
 * while a transaction ran goes into the next one, so its cost per leaf falls as the load grows; it
 * is off the acknowledgement path (a slow index never delays a 202, it only delays batching).
 *
 * It is also the store's only writer once the store is open: taking a batch's leaves, recording a
 * batch and saving a batch's progress are requests to it (`op`, answered by `seq`), so that no
 * write transaction — each one an fsync of the WAL, tens of milliseconds on a busy disk — and no
 * read of tens of thousands of leaf rows runs on the event loop that answers the requests.
 */
const INDEXER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
// this thread alone at a lower priority (Linux: setpriority on its thread id; elsewhere nothing): it
// shares the process's CPUs with the thread that answers requests, and a transaction of 10,000 leaves
// (tens of milliseconds) at equal priority took half of that core from it — a step in every latency
// then. It still gets the core whenever the answering thread waits (for the log's fsync, for input).
try { require("node:os").setPriority(Number(require("node:fs").readlinkSync("/proc/thread-self").split("/").pop()), ${INDEXER_NICE}); } catch {}
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 10000");
db.pragma("cache_size = -65536");
db.pragma("mmap_size = 268435456");
const insertAck = db.prepare("INSERT OR IGNORE INTO acks (id, root, received_at, calendar, signer, signature, leaves) VALUES (?, ?, ?, ?, ?, ?, ?)");
const setDups = db.prepare("UPDATE acks SET dups = ? WHERE id = ?");
const ackLeaves = db.prepare("SELECT leaves FROM acks WHERE id = ?").pluck();
const insertSpill = db.prepare("INSERT OR IGNORE INTO leaf_spill (leaf, ack_id, ack_index) VALUES (?, ?, ?)");
const insertRun = db.prepare("INSERT INTO leaf_runs (level, count, live, filter) VALUES (?, ?, ?, ?)");
const finishRun = db.prepare("UPDATE leaf_runs SET live = 1, count = ?, filter = ? WHERE id = ?");
const setFilter = db.prepare("UPDATE leaf_runs SET filter = ? WHERE id = ?");
const removeRun = db.prepare("DELETE FROM leaf_runs WHERE id = ?");
const end = db.prepare("${END_SQL}");
const acksFrom = db.prepare("SELECT id, leaves, dups FROM acks WHERE id >= ? ORDER BY id");
const insertBatch = db.prepare("INSERT INTO batches (root, leaf_count, created_at, leaves, progress, last_ack, last_index) VALUES (?, ?, ?, ?, ?, ?, ?)");
const save = db.prepare("UPDATE batches SET progress = ?, completed_at = ? WHERE id = ?");
const endOf = () => { const r = end.get(); return r ? [r.a, r.i] : [0, 0]; };
const bytes = (u) => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
// the same functions as the main thread's (their compiled source)
${packDups.toString()}
${dupPositions.toString()}
const runTable = ${runTable.toString()};
const dupSet = (dups) => new Set(dupPositions(dups));

// ---- the leaf index: sorted runs, each with a Bloom filter of its keys (see CALENDAR_SCHEMA_VERSION)
const FANOUT = workerData.mergeFanout;
const STEP = workerData.mergeStepRows;
const newFilter = (count) => new Int32Array(Math.max(2, Math.ceil((count * ${FILTER_BITS_PER_KEY}) / 32)));
// a key's bit positions: hi + k·lo (mod 2^32), k < HASHES, each mod the filter's size; hi and lo are
// the key's two 32-bit halves, unsigned (a leaf's first 4 bytes and next 4; SQL: key >> 32 >>> 0, key & 0xffffffff)
function addKey(filter, hi, lo) {
  const m = filter.length * 32;
  for (let k = 0, h = hi; k < ${FILTER_HASHES}; k++, h = (h + (lo | 1)) >>> 0) filter[(h % m) >>> 5] |= 1 << (h % m & 31);
}
function mayHave(filter, hi, lo) {
  const m = filter.length * 32;
  for (let k = 0, h = hi; k < ${FILTER_HASHES}; k++, h = (h + (lo | 1)) >>> 0) if ((filter[(h % m) >>> 5] & (1 << (h % m & 31))) === 0) return false;
  return true;
}
const createRunTable = (id) => db.exec("CREATE TABLE " + runTable(id) + " (key INTEGER PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL)");
const insertInto = (id) => db.prepare("INSERT INTO " + runTable(id) + " (key, ack_id, ack_index) VALUES (?, ?, ?)");
/** A live run as the indexer keeps it: its filter, and its lookup. */
const liveRun = (id, level, count, filter) => ({ id, level, count, filter, get: db.prepare("SELECT ack_id, ack_index FROM " + runTable(id) + " WHERE key = ?").raw() });
/** The live runs, oldest first. A run without a filter (the leaf table of an upgraded version 3 database) gets one now. */
const runs = db.prepare("SELECT id, level, count, filter FROM leaf_runs WHERE live = 1 ORDER BY id").all().map((r) => {
  try {
    let filter;
    if (r.filter) filter = new Int32Array(new Uint8Array(r.filter).buffer);
    else {
      filter = newFilter(r.count);
      for (const [hi, lo] of db.prepare("SELECT key >> 32, key & 4294967295 FROM " + runTable(r.id)).raw().iterate()) addKey(filter, hi >>> 0, lo);
      setFilter.run(bytes(filter), r.id);
    }
    return liveRun(r.id, r.level, r.count, filter);
  } catch (e) {
    // a plain Error: the thread's 'error' event carries its message (better-sqlite3's own error arrives without one)
    throw new Error("cannot open run " + r.id + " of the leaf index (" + runTable(r.id) + "): " + (e && e.message));
  }
});
/** Keys first stored by the index transaction running: key → [ack id, index, hi, lo]. */
let fresh;
/** [ack id, index] of the leaf stored under this key, if any. */
function findKey(key, hi, lo) {
  const f = fresh.get(key);
  if (f !== undefined) return f;
  for (let r = runs.length - 1; r >= 0; r--) {
    if (!mayHave(runs[r].filter, hi, lo)) continue;
    const row = runs[r].get.get(key);
    if (row !== undefined) return row;
  }
  return undefined;
}
// whether the leaf is new (stored under its first 8 bytes, or its full 32 if another leaf has those 8)
function storeLeaf(leaf, id, i) {
  const key = leaf.readBigInt64BE(0);
  const hi = leaf.readUInt32BE(0);
  const lo = leaf.readUInt32BE(4);
  const found = findKey(key, hi, lo);
  if (found === undefined) {
    fresh.set(key, [id, i, hi, lo]);
    return true;
  }
  const other = ackLeaves.get(found[0]);
  if (other.compare(leaf, 0, 32, found[1] * 32, found[1] * 32 + 32) === 0) return false;
  return insertSpill.run(leaf, id, i).changes === 1;
}
const byKey = (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
// a message carries log records as written (u32 length, u32 CRC-32, u32 header length, header
// JSON, the leaves), copied, and the id of the last one; the new leaves become one run of level 0
const run = db.transaction((records) => {
  fresh = new Map();
  let inserted = 0;
  for (const r of records) {
    const record = bytes(r);
    const headerEnd = 12 + record.readUInt32LE(8);
    const m = JSON.parse(record.toString("utf8", 12, headerEnd));
    const leaves = record.subarray(headerEnd);
    if (insertAck.run(m.id, m.root, m.receivedAt, m.calendar, m.signer, m.signature, leaves).changes === 0) continue;
    let dups;
    for (let i = 0, at = 0; at < leaves.length; i++, at += 32) {
      if (storeLeaf(leaves.subarray(at, at + 32), m.id, i)) inserted++;
      else (dups ??= []).push(i);
    }
    if (dups) setDups.run(packDups(dups), m.id);
  }
  if (fresh.size === 0) return { inserted };
  const rows = [...fresh].sort(byKey);
  const filter = newFilter(rows.length);
  for (const [, v] of rows) addKey(filter, v[2], v[3]);
  const id = Number(insertRun.run(0, rows.length, 1, bytes(filter)).lastInsertRowid);
  createRunTable(id);
  const insert = insertInto(id);
  for (const [key, v] of rows) insert.run(key, v[0], v[1]);
  return { inserted, made: [id, rows.length, filter] };
});
function index(records) {
  try {
    const { inserted, made } = run.immediate(records);
    if (made) runs.push(liveRun(made[0], 0, made[1], made[2]));
    return inserted;
  } finally {
    fresh = undefined;
  }
}

/** The merge under way: its run (live = 0 until done), its sources, and how far it got. */
let merging;
/** The live runs by level, oldest first in each. */
function runsByLevel() {
  const byLevel = new Map();
  for (const r of runs) byLevel.set(r.level, [...(byLevel.get(r.level) ?? []), r]);
  return byLevel;
}
/** FANOUT runs of the lowest level that has as many, oldest first; undefined when none has. */
function mergeSources() {
  const byLevel = runsByLevel();
  let level;
  for (const [l, list] of byLevel) if (list.length >= FANOUT && (level === undefined || l < level)) level = l;
  return level === undefined ? undefined : byLevel.get(level).slice(0, FANOUT);
}
const MIN_KEY = -9223372036854775808n;
const MAX_KEY = 9223372036854775807n;
/**
 * One step of merging, one transaction: the sources' rows in the next range of keys — up to the
 * STEP-th key of the largest source — copied in key order by SQLite itself (a merge of the sources'
 * ordered scans, no sort), then their keys added to the new run's filter. False when nothing is to merge.
 */
function mergeStep() {
  if (merging === undefined) {
    const sources = mergeSources();
    if (sources === undefined) return false;
    const count = sources.reduce((n, r) => n + r.count, 0);
    const level = sources[0].level + 1;
    const id = db.transaction(() => {
      const made = Number(insertRun.run(level, 0, 0, null).lastInsertRowid);
      createRunTable(made);
      return made;
    }).immediate();
    const largest = sources.reduce((a, b) => (b.count > a.count ? b : a));
    merging = {
      id, level, sources, count: 0, filter: newFilter(count), from: MIN_KEY,
      copy: db.prepare("INSERT INTO " + runTable(id) + " (key, ack_id, ack_index) " +
        sources.map((r) => "SELECT key, ack_id, ack_index FROM " + runTable(r.id) + " WHERE key BETWEEN @from AND @to").join(" UNION ALL ") +
        " ORDER BY key"),
      keys: db.prepare("SELECT key >> 32, key & 4294967295 FROM " + runTable(id) + " WHERE key BETWEEN ? AND ?").raw(),
      bound: db.prepare("SELECT key FROM " + runTable(largest.id) + " WHERE key >= ? ORDER BY key LIMIT 1 OFFSET ?").pluck().safeIntegers(),
    };
    return true;
  }
  const m = merging;
  const to = m.bound.get(m.from, STEP) ?? MAX_KEY;
  db.transaction(() => {
    m.count += m.copy.run({ from: m.from, to }).changes;
  }).immediate();
  for (const [hi, lo] of m.keys.iterate(m.from, to)) addKey(m.filter, hi >>> 0, lo);
  if (workerData.crashMidMerge) process.kill(process.pid, "SIGKILL"); // fault injection (crash tests)
  if (to !== MAX_KEY) {
    m.from = to + 1n;
    return true;
  }
  // every row of the sources is in the new run: it replaces them
  db.transaction(() => {
    finishRun.run(m.count, bytes(m.filter), m.id);
    for (const r of m.sources) {
      removeRun.run(r.id);
      db.exec("DROP TABLE " + runTable(r.id));
    }
  }).immediate();
  const gone = new Set(m.sources.map((r) => r.id));
  const kept = runs.filter((r) => !gone.has(r.id));
  runs.length = 0;
  runs.push(...kept, liveRun(m.id, m.level, m.count, m.filter));
  merging = undefined;
  return true;
}
/** Whether some level has twice FANOUT runs: index work has outpaced merging (every new leaf is checked against more filters). */
function mergesOverdue() {
  for (const list of runsByLevel().values()) if (list.length >= 2 * FANOUT) return true;
  return false;
}
let mergeQueued = false;
/**
 * Merges in the background, a step at a time: while index work waits, only when merges are overdue
 * (then a step and an index transaction take turns), so a calendar loaded without pause still merges.
 */
function scheduleMerge() {
  if (mergeQueued || closing || (merging === undefined && mergeSources() === undefined)) return;
  mergeQueued = true;
  setImmediate(() => {
    mergeQueued = false;
    if (closing || (queue.length > 0 && !mergesOverdue())) return; // drain() runs first and schedules the merge again
    try {
      if (mergeStep()) scheduleMerge();
    } catch (e) {
      merging = undefined;
      parentPort.postMessage({ error: "merging the leaf index: " + String(e && e.message || e), through });
    }
  });
}
// a batch is recorded only if no other batch ended after the leaves were taken (one anchorer per file)
const recordBatch = db.transaction((m) => {
  const [a, i] = endOf();
  if (a !== m.after[0] || i !== m.after[1]) throw new Error("another batch was closed meanwhile");
  return Number(insertBatch.run(m.root, m.count, m.createdAt, bytes(m.leaves), m.progress, m.lastAck, m.lastIndex).lastInsertRowid);
});
const ops = {
  // the oldest leaves in no batch yet (acknowledgement order, each leaf at its first acknowledgement), packed, and where they end
  take(m) {
    const after = endOf();
    const out = [];
    let lastAck = 0, lastIndex = 0;
    scan: for (const a of acksFrom.iterate(after[0])) {
      const skip = dupSet(a.dups);
      for (let i = a.id === after[0] ? after[1] + 1 : 0; i * 32 < a.leaves.length; i++) {
        if (skip.has(i)) continue;
        out.push(a.leaves.subarray(i * 32, i * 32 + 32));
        lastAck = a.id; lastIndex = i;
        if (out.length >= m.max) break scan;
      }
    }
    if (out.length === 0) return null;
    return { leaves: Buffer.concat(out), lastAck, lastIndex, after };
  },
  batch: (m) => recordBatch.immediate(m),
  save(m) { save.run(m.progress, m.completedAt, m.id); return null; },
};
let queue = [];
let through = 0;
let closing = false;
function drain() {
  if (queue.length > 0) {
    const records = queue;
    queue = [];
    try { parentPort.postMessage({ through, inserted: index(records) }); }
    catch (e) { parentPort.postMessage({ error: String(e && e.message || e), through }); }
  }
  if (closing) { db.close(); parentPort.close(); }
  else scheduleMerge();
}
parentPort.on("message", (m) => {
  if (m.op !== undefined) {
    if (closing) return;
    try { parentPort.postMessage({ seq: m.seq, result: ops[m.op](m) }); }
    catch (e) { parentPort.postMessage({ seq: m.seq, error: String(e && e.message || e) }); }
    return;
  }
  const idle = queue.length === 0;
  if (m.close) closing = true;
  else { for (const r of m.records) queue.push(r); through = m.through; }
  if (idle || closing) setImmediate(drain);
});
scheduleMerge(); // runs left to merge when the store was last closed (or killed mid-merge)
`;

/**
 * `O_DSYNC` where the platform has it (Linux, macOS): a log write returns only once the record is
 * on disk, as `write` + `fdatasync` would, in one system call and one thread-pool round trip. Else 0,
 * and every write is followed by `fdatasync`.
 */
const O_DSYNC: number = fs.constants.O_DSYNC ?? 0;

/** Leaves gathered for one index transaction before it starts without waiting (see offerToIndexer). */
const INDEX_BATCH_LEAVES = 10_000;
/** Longest a durable record waits to be handed to the indexer (it is answered from memory meanwhile). */
const INDEX_DELAY_MS = 200;

/** A log segment is closed (a new one started) once it is this large; closed segments go once indexed. */
const SEGMENT_BYTES = 16 * 1024 * 1024;
/** Leaves acknowledged but not yet in the leaf table beyond which the store refuses more (the index fell behind). */
const MAX_UNINDEXED = 1_000_000;

/** Options of a {@link SqliteCalendarStore}. */
export interface SqliteCalendarStoreOptions {
  /**
   * Acknowledged leaves not yet in the leaf table beyond which `acknowledge` refuses more with
   * CALENDAR_BUSY (the service answers 503 with Retry-After) until the index catches up. Default 1,000,000.
   */
  maxUnindexed?: number;
  /** Runs of one level merged into one run of the next (default 8). Smaller values merge sooner: tests use them. */
  mergeFanout?: number;
  /** Rows of the largest source run per merge step (default 8,192). Tests use small values to merge in many steps. */
  mergeStepRows?: number;
}

interface Segment {
  file: string;
  fd: number;
  size: number;
  /** Highest ack id written to it. */
  lastId: number;
}

/**
 * The calendar's store: an append-only acknowledgement log (the durability point) in front of one
 * SQLite file (WAL, `synchronous = FULL`). One service instance per file; the embedded default
 * (`<dataDir>/calendar/calendar.db`, log in `calendar.db-acks/`).
 *
 * An acknowledgement is one record appended to the log and `fdatasync`ed — one write and one sync
 * per group commit, as cheap as a bare journal — and only then acknowledged. The leaf table
 * (lookup by leaf, batching in acknowledgement order) is filled afterwards in bulk by a worker;
 * until then the leaf is answered from memory. On open, log records the database does not have yet
 * (a kill between the sync and the index) are indexed first, then the log is emptied: an
 * acknowledged leaf is never lost and stored once.
 *
 * Log record: u32 payload length, u32 CRC-32 of the payload, payload = u32 header length, header
 * JSON (`id`, `root`, `receivedAt`, `calendar`, `signer`, `signature`), then the leaves (32 bytes
 * each). A torn record at the end (a write cut by the kill, never acknowledged) is dropped.
 */
export class SqliteCalendarStore implements CalendarStore {
  readonly kind = "sqlite";
  private readonly db: Database;
  private readonly stmts: ReturnType<SqliteCalendarStore["prepare"]>;
  private readonly indexer: Worker;
  private readonly logDir: string;
  private segment!: Segment;
  /** Closed segments waiting for the index to pass their last id. */
  private readonly closedSegments: Segment[] = [];
  private nextId = 1;
  /** The tail of the log writes: each append waits for the previous one (records stay in id order). */
  private writing: Promise<unknown> = Promise.resolve();
  /**
   * Acknowledgements durable in the log, not yet in the database: their log records as written, by
   * id. Bytes, not records of strings: under load they live a few hundred milliseconds, long enough
   * for a string per leaf (and a map entry per leaf to find it) to be promoted and collected by the
   * old generation's collector; a leaf asked for meanwhile is searched for in these bytes.
   */
  private readonly unindexed = new Map<number, Buffer>();
  private unindexedCount = 0;
  private indexFailure?: string;
  private indexerExited = false;
  private closing = false;
  private indexedThrough = 0;
  /** Log records durable, not yet handed to the indexer (it is busy with earlier ones). */
  private toIndex: Buffer[] = [];
  private toIndexThrough = 0;
  private toIndexLeaves = 0;
  private indexTimer?: NodeJS.Timeout;
  /** Whether the indexer has records it has not reported on yet. */
  private indexing = false;
  private waiters: Array<{ through: number; resolve: () => void; reject: (e: Error) => void }> = [];
  /** Leaves in the leaf table not yet in a batch: counted once at open, then kept (one instance per file). */
  private pending = 0;
  /** Requests to the writer thread (take leaves, record a batch, save progress) waiting for its answer. */
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 1;

  private readonly maxUnindexed: number;
  /** The lookup statement of each live run of the leaf index, by run id. */
  private readonly runLookups = new Map<number, import("better-sqlite3").Statement>();
  /**
   * The row stored under `key` in the live runs of the leaf index (keys are unique across runs: a
   * leaf is stored once). One read transaction: a merge that replaces runs meanwhile is not seen.
   */
  private readonly leafRow: (key: bigint) => { ack_id: number; ack_index: number } | undefined;

  constructor(file: string, options: SqliteCalendarStoreOptions = {}) {
    this.maxUnindexed = options.maxUnindexed ?? MAX_UNINDEXED;
    let recovered: Buffer[];
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    this.logDir = `${file}-acks`;
    try {
      this.db = new BetterSqlite3(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.pragma("busy_timeout = 10000");
      this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
        { value: string } | undefined;
      if (version?.value === UPGRADED_SCHEMA_VERSIONS[1]) upgradeFromVersion2(this.db);
      if (version && UPGRADED_SCHEMA_VERSIONS.includes(version.value)) upgradeFromVersion3(this.db);
      else if (version && version.value !== CALENDAR_SCHEMA_VERSION)
        throw new Error(
          `the database is ${version.value}, not ${CALENDAR_SCHEMA_VERSION} (only ${UPGRADED_SCHEMA_VERSIONS.join(" and ")} are upgraded on open; start this calendar on a new data directory)`,
        );
      this.db.exec(SCHEMA);
      if (!version) this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(CALENDAR_SCHEMA_VERSION);
      dropUnfinishedRuns(this.db);
      recovered = this.recoverLog();
    } catch (e) {
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `cannot open the calendar database ${file}: ${(e as Error).message}`,
        { file },
        { cause: e },
      );
    }
    this.stmts = this.prepare();
    this.leafRow = this.db.transaction((key: bigint) => {
      const ids = this.stmts.liveRuns.all() as number[];
      for (const id of this.runLookups.keys()) if (!ids.includes(id)) this.runLookups.delete(id);
      for (const id of ids) {
        let lookup = this.runLookups.get(id);
        if (!lookup) {
          lookup = this.db.prepare(`SELECT ack_id, ack_index FROM ${runTable(id)} WHERE key = ?`);
          this.runLookups.set(id, lookup);
        }
        const row = lookup.get(key) as { ack_id: number; ack_index: number } | undefined;
        if (row) return row;
      }
      return undefined;
    });
    this.pending = this.pendingAfter(this.end());
    this.indexer = new Worker(INDEXER_SOURCE, {
      eval: true,
      workerData: {
        file,
        module: require.resolve("better-sqlite3"),
        mergeFanout: options.mergeFanout ?? MERGE_FANOUT,
        mergeStepRows: options.mergeStepRows ?? MERGE_STEP_ROWS,
        crashMidMerge: process.env.PROOFMARK_TEST_CRASH === "calendar-mid-merge",
      },
    });
    this.indexer.on(
      "message",
      (m: { through: number; inserted?: number; error?: string; seq?: number; result?: unknown }) =>
        m.seq !== undefined ? this.answered(m.seq, m.result, m.error) : this.indexed(m),
    );
    this.indexer.on("error", (e: unknown) => {
      this.indexFailure = e instanceof Error ? e.message : JSON.stringify(e);
      const failure = this.indexerFailed();
      for (const call of this.calls.values()) call.reject(failure);
      this.calls.clear();
      for (const w of this.waiters.splice(0)) w.reject(failure); // nothing more will be indexed
    });
    this.indexer.once("exit", () => (this.indexerExited = true));
    this.indexer.unref();
    // what the log holds beyond the database is indexed first, as if just acknowledged
    for (const bytes of recovered) this.noteDurable(readLogId(bytes), bytes);
    this.sendToIndexer();
  }

  /**
   * Reads the log: the records the database does not have yet (a kill between the sync and the
   * index), as written, for the indexer — they are durable, so they are treated like records just
   * acknowledged (answered from memory until indexed; their segments removed once indexed). Opens a
   * fresh segment after them. Runs before anything is served.
   */
  private recoverLog(): Buffer[] {
    fs.mkdirSync(this.logDir, { recursive: true });
    const maxIndexed = (this.db.prepare("SELECT MAX(id) AS id FROM acks").get() as { id: number | null }).id ?? 0;
    const files = fs
      .readdirSync(this.logDir)
      .filter((f) => /^\d{12}\.log$/.test(f))
      .sort();
    const out: Buffer[] = [];
    let lastId = maxIndexed;
    for (const f of files) {
      const file = path.join(this.logDir, f);
      let segmentLast = 0;
      for (const bytes of readLogRecords(file)) {
        const id = readLogId(bytes);
        if (id > segmentLast) segmentLast = id;
        if (id <= maxIndexed) continue;
        out.push(bytes);
        if (id > lastId) lastId = id;
      }
      if (segmentLast <= maxIndexed) fs.rmSync(file);
      else this.closedSegments.push({ file, fd: fs.openSync(file, "r"), size: 0, lastId: segmentLast });
    }
    this.nextId = lastId + 1;
    this.segment = this.openSegment();
    return out;
  }

  private openSegment(): Segment {
    const file = path.join(this.logDir, `${String(this.nextId).padStart(12, "0")}.log`);
    // O_DSYNC: each write returns once its data is on disk (write + fdatasync in one call)
    const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_APPEND | O_DSYNC);
    syncDirectory(this.logDir); // the new file's name is durable before a record in it is acknowledged
    return { file, fd, size: 0, lastId: this.nextId - 1 };
  }

  private prepare() {
    const db = this.db;
    return {
      // ack ids grow with commits (one writer): the leaves after the last batch's end are the pending ones, oldest first
      end: db.prepare(END_SQL),
      // acks after the one the last batch ended in: their leaves less those stored earlier (dups, u32 each)
      pendingAfterAck: db.prepare(
        "SELECT COALESCE(SUM(length(leaves) / 32 - COALESCE(length(dups), 0) / 4), 0) AS n FROM acks WHERE id > ?",
      ),
      oldestAfterAck: db.prepare(
        "SELECT received_at AS t FROM acks WHERE id > ? AND length(leaves) > 8 * COALESCE(length(dups), 0) ORDER BY id LIMIT 1",
      ),
      ackEnd: db.prepare("SELECT received_at, leaves, dups FROM acks WHERE id = ?"),
      liveRuns: db.prepare("SELECT id FROM leaf_runs WHERE live = 1 ORDER BY id DESC").pluck(),
      spilled: db.prepare("SELECT ack_id, ack_index FROM leaf_spill WHERE leaf = ?"),
      ack: db.prepare("SELECT * FROM acks WHERE id = ?"),
      batchOf: db.prepare(
        "SELECT * FROM batches WHERE (last_ack, last_index) >= (?, ?) ORDER BY last_ack, last_index LIMIT 1",
      ),
      unfinished: db.prepare("SELECT * FROM batches WHERE completed_at IS NULL ORDER BY id"),
      stats: db.prepare(
        "SELECT (SELECT COALESCE(SUM(count), 0) FROM leaf_runs WHERE live = 1) + (SELECT COUNT(*) FROM leaf_spill) AS leaves, (SELECT COUNT(*) FROM batches) AS batches, (SELECT COUNT(*) FROM batches WHERE completed_at IS NOT NULL) AS complete",
      ),
    };
  }

  acknowledge(ack: Omit<AckRecord, "id">): Promise<number> {
    if (this.indexFailure !== undefined) return Promise.reject(this.indexerFailed());
    if (this.unindexedCount + ack.leaves.length > this.maxUnindexed)
      return Promise.reject(
        new ProofmarkError(
          "CALENDAR_BUSY",
          `the calendar's leaf index is ${this.unindexedCount} leaves behind; nothing was acknowledged`,
          { unindexed: this.unindexedCount },
        ),
      );
    const record: AckRecord = { ...ack, id: this.nextId++ };
    const bytes = encodeLogRecord(record);
    const done = this.writing.then(() => this.append(record, bytes));
    this.writing = done.catch(() => undefined);
    return done;
  }

  /** One write and one fdatasync; then the record is durable and handed to the indexer. */
  private async append(record: AckRecord, bytes: Buffer): Promise<number> {
    let segment = this.segment;
    if (segment.size > 0 && segment.size + bytes.length > SEGMENT_BYTES) {
      this.closedSegments.push(segment);
      segment = this.segment = this.openSegment();
    }
    try {
      await writeAll(segment.fd, bytes);
      if (!O_DSYNC)
        await new Promise<void>((resolve, reject) => fs.fdatasync(segment.fd, (e) => (e ? reject(e) : resolve())));
    } catch (e) {
      // the record may be partly written: start a new segment so that no later record follows a torn one
      this.closedSegments.push(segment);
      this.segment = this.openSegment();
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `the calendar could not store the leaves: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    segment.size += bytes.length;
    segment.lastId = record.id;
    if (process.env.PROOFMARK_TEST_CRASH === "calendar-before-index") {
      // fault injection (crash tests): acknowledged, never indexed, killed once the answer is out
      this.unindexed.set(record.id, bytes);
      setTimeout(() => process.kill(process.pid, "SIGKILL"), 500);
      return record.id;
    }
    this.noteDurable(record.id, bytes);
    this.offerToIndexer(false);
    return record.id;
  }

  /** A log record is durable: answered from memory (`unindexed`) and queued for the indexer. */
  private noteDurable(id: number, bytes: Buffer): void {
    this.unindexed.set(id, bytes);
    this.unindexedCount += logRecordLeafCount(bytes);
    if (this.unindexed.size === 1) this.indexer.ref(); // indexing in flight keeps the process alive
    this.toIndex.push(bytes);
    this.toIndexThrough = id;
    this.toIndexLeaves += logRecordLeafCount(bytes);
  }

  /**
   * Index transactions are made large: the leaf table's key is the random leaf, so every insert
   * dirties a page of its own and each transaction writes each page it touched to the WAL once —
   * a transaction of 200 leaves wrote about a page per leaf (≈ 29 µs of CPU per leaf, measured),
   * one of 10,000 about a third of that (≈ 12 µs). Records wait here until enough leaves have
   * gathered, {@link INDEX_DELAY_MS} passed, or someone waits for the index (batching, stats).
   */
  private offerToIndexer(now: boolean): void {
    if (this.indexing || this.toIndex.length === 0) return;
    if (now || this.toIndexLeaves >= INDEX_BATCH_LEAVES) this.sendToIndexer();
    else
      this.indexTimer ??= setTimeout(() => {
        this.indexTimer = undefined;
        this.offerToIndexer(true);
      }, INDEX_DELAY_MS).unref();
  }

  /**
   * Hands the records written since the last hand-over to the indexer, in one message (their
   * buffers transferred, not copied). While the indexer is busy, records wait here: under load one
   * message per index transaction instead of one per group commit.
   */
  private sendToIndexer(): void {
    if (this.indexTimer) clearTimeout(this.indexTimer);
    this.indexTimer = undefined;
    if (this.toIndex.length === 0) return;
    const records = this.toIndex;
    this.toIndex = [];
    this.toIndexLeaves = 0;
    this.indexing = true;
    // copied, not transferred: the bytes stay in `unindexed` until the indexer reports them done
    this.indexer.postMessage({ records, through: this.toIndexThrough });
  }

  /** The indexer committed every acknowledgement up to `through`. */
  private indexed(m: { through: number; inserted?: number; error?: string }): void {
    if (m.error !== undefined) {
      this.indexFailure = m.error; // the records stay in the log; the next open indexes them
      const e = this.indexerFailed();
      for (const w of this.waiters.splice(0)) w.reject(e);
      return;
    }
    this.indexedThrough = m.through;
    this.indexing = false;
    this.pending += m.inserted ?? 0;
    for (const [id, bytes] of this.unindexed) {
      if (id > m.through) break;
      this.unindexed.delete(id);
      this.unindexedCount -= logRecordLeafCount(bytes);
    }
    this.unrefIdleIndexer();
    this.waiters = this.waiters.filter((w) => {
      if (w.through > this.indexedThrough) return true;
      w.resolve();
      return false;
    });
    this.offerToIndexer(this.waiters.length > 0);
    while (this.closedSegments.length > 0 && this.closedSegments[0].lastId <= m.through) {
      const done = this.closedSegments.shift()!;
      fs.close(done.fd, () => fs.rm(done.file, { force: true }, () => undefined));
    }
  }

  /** The error of everything that needs the index writer once it has failed (`indexFailure` set). */
  private indexerFailed(): ProofmarkError {
    return new ProofmarkError("CALENDAR_STORE_FAILED", `the calendar's index writer failed: ${this.indexFailure}`);
  }

  /** An idle indexer (nothing to index, no request awaited, no close under way) does not keep the process alive. */
  private unrefIdleIndexer(): void {
    if (this.unindexed.size === 0 && this.calls.size === 0 && !this.closing) this.indexer.unref();
  }

  /** Resolves once every acknowledgement durable so far is in the leaf table. */
  private caughtUp(): Promise<void> {
    let target = 0;
    for (const id of this.unindexed.keys()) target = id; // insertion order = id order
    if (target === 0) return Promise.resolve();
    if (this.indexFailure !== undefined) return Promise.reject(this.indexerFailed());
    const caught = new Promise<void>((resolve, reject) => this.waiters.push({ through: target, resolve, reject }));
    this.offerToIndexer(true);
    return caught;
  }

  async pendingCount(): Promise<number> {
    await this.caughtUp();
    return this.pending;
  }

  async oldestPending(): Promise<number | undefined> {
    await this.caughtUp();
    const [a, i] = this.end();
    const partial = this.stmts.ackEnd.get(a) as
      { received_at: number; leaves: Buffer; dups: Buffer | null } | undefined;
    if (partial && pendingIn(partial, i) > 0) return Number(partial.received_at);
    return (this.stmts.oldestAfterAck.get(a) as { t: number } | undefined)?.t;
  }

  /**
   * Leaves acknowledged after position (a, i), each at its first acknowledgement: the rest of ack
   * `a`, then every later ack's leaves less its dups (the same positions the writer's `take` reads).
   */
  private pendingAfter([a, i]: [number, number]): number {
    const partial = this.stmts.ackEnd.get(a) as { leaves: Buffer; dups: Buffer | null } | undefined;
    return (partial ? pendingIn(partial, i) : 0) + (this.stmts.pendingAfterAck.get(a) as { n: number }).n;
  }

  /** Position (ack id, index) of the last leaf in a batch; (0, 0) before the first batch (ack ids start at 1). */
  private end(): [number, number] {
    const r = this.stmts.end.get() as { a: number; i: number } | undefined;
    return r ? [r.a, r.i] : [0, 0];
  }

  async lookup(leaf: Hex): Promise<LeafLookup | undefined> {
    const key = Buffer.from(leaf.slice(2), "hex");
    // stored under its first 8 bytes, unless another leaf with those 8 was there first (then under all 32)
    let row = this.leafRow(key.readBigInt64BE(0));
    let ackRow = row && (this.stmts.ack.get(row.ack_id) as AckRow);
    if (row && ackRow && ackRow.leaves.compare(key, 0, 32, row.ack_index * 32, row.ack_index * 32 + 32) !== 0) {
      row = this.stmts.spilled.get(key) as { ack_id: number; ack_index: number } | undefined;
      ackRow = row && (this.stmts.ack.get(row.ack_id) as AckRow);
    }
    if (!row || !ackRow) {
      // durable in the log, not yet in the leaf table (so in no batch yet): its first acknowledgement there
      for (const bytes of this.unindexed.values()) {
        const leavesAt = 12 + bytes.readUInt32LE(8);
        for (let at = bytes.indexOf(key, leavesAt); at >= 0; at = bytes.indexOf(key, at + 1))
          if ((at - leavesAt) % 32 === 0)
            return { ack: decodeLogPayload(bytes.subarray(8)), ackIndex: (at - leavesAt) / 32 };
      }
      return undefined;
    }
    const ack = ackFromRow(ackRow);
    const batchRow = this.stmts.batchOf.get(row.ack_id, row.ack_index) as BatchRow | undefined;
    if (!batchRow) return { ack, ackIndex: row.ack_index };
    // the leaf's place in the batch: its 32-byte slot in the batch's packed leaves
    let at = batchRow.leaves.indexOf(key);
    while (at >= 0 && at % 32 !== 0) at = batchRow.leaves.indexOf(key, at + 1);
    if (at < 0)
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `the calendar database is inconsistent: ${leaf} is not in batch ${batchRow.id}`,
      );
    return { ack, ackIndex: row.ack_index, batch: batchFromRow(batchRow), batchIndex: at / 32 };
  }

  async asAnchorer<T>(fn: () => Promise<T>): Promise<T | undefined> {
    return fn();
  }

  isAnchorer(): boolean {
    return true;
  }

  async openBatch(
    max: number,
    rootOf: (packedLeaves: Uint8Array) => Hex | Promise<Hex>,
  ): Promise<BatchRecord | undefined> {
    await this.caughtUp(); // a batch takes the oldest leaves: every acknowledged one must be in the table
    // read and written by the writer thread; the root computed here meanwhile (nothing else closes batches)
    const taken = (await this.call({ op: "take", max })) as {
      leaves: Uint8Array;
      lastAck: number;
      lastIndex: number;
      after: [number, number];
    } | null;
    if (!taken) return undefined;
    const packed = Buffer.from(taken.leaves.buffer, taken.leaves.byteOffset, taken.leaves.byteLength);
    const batch = withPackedLeaves(
      {
        id: 0,
        root: await rootOf(packed),
        leafCount: packed.length / 32,
        createdAt: Date.now(),
        anchors: {},
        sent: {},
        timestamps: [],
        tsaFailures: {},
      },
      packed,
    );
    batch.id = (await this.call({
      op: "batch",
      root: batch.root,
      count: batch.leafCount,
      createdAt: batch.createdAt,
      leaves: taken.leaves,
      progress: progressJson(batch),
      lastAck: taken.lastAck,
      lastIndex: taken.lastIndex,
      after: taken.after,
    })) as number;
    this.pending -= batch.leafCount;
    return batch;
  }

  async unfinishedBatches(): Promise<BatchRecord[]> {
    return (this.stmts.unfinished.all() as BatchRow[]).map(batchFromRow);
  }

  async saveBatch(batch: BatchRecord): Promise<void> {
    await this.call({
      op: "save",
      progress: progressJson(batch),
      completedAt: batch.completedAt ?? null,
      id: batch.id,
    });
  }

  /** One request to the writer thread (see INDEXER_SOURCE), answered once its transaction committed. */
  private call(message: Record<string, unknown>): Promise<unknown> {
    if (this.indexFailure !== undefined) return Promise.reject(this.indexerFailed());
    const seq = this.nextCall++;
    const answer = new Promise((resolve, reject) => this.calls.set(seq, { resolve, reject }));
    this.indexer.ref(); // an answer awaited keeps the process alive
    this.indexer.postMessage({ ...message, seq });
    return answer;
  }

  private answered(seq: number, result: unknown, error: string | undefined): void {
    const call = this.calls.get(seq);
    if (!call) return;
    this.calls.delete(seq);
    this.unrefIdleIndexer();
    if (error === undefined) call.resolve(result);
    else call.reject(new ProofmarkError("CALENDAR_STORE_FAILED", `the calendar store failed: ${error}`));
  }

  async stats(): Promise<{ leaves: number; batches: number; completeBatches: number }> {
    await this.caughtUp();
    const r = this.stmts.stats.get() as { leaves: number; batches: number; complete: number };
    return { leaves: r.leaves, batches: r.batches, completeBatches: r.complete };
  }

  async close(): Promise<void> {
    this.closing = true; // the indexer stays ref'd until it exits, whatever it answers meanwhile
    await this.writing;
    this.sendToIndexer(); // (posted before the close message: the indexer takes them first)
    await new Promise<void>((resolve) => {
      if (this.indexerExited) return resolve(); // it failed (an 'error' event) and is gone
      this.indexer.once("exit", () => resolve());
      // awaited, so it keeps the process alive: an idle indexer is unref'd, and a program whose only
      // remaining work was this close ended before close() returned (whatever followed never ran)
      this.indexer.ref();
      this.indexer.postMessage({ close: true });
    });
    for (const segment of [...this.closedSegments, this.segment]) fs.closeSync(segment.fd);
    this.db.close();
  }
}

interface AckRow {
  id: number;
  root: string;
  received_at: number;
  calendar: string;
  signer: string;
  signature: string;
  leaves: Buffer;
}
interface BatchRow {
  id: number;
  root: string;
  leaf_count: number;
  created_at: number;
  leaves: Buffer;
  progress: string;
  completed_at: number | null;
}

function ackFromRow(r: AckRow): AckRecord {
  return {
    id: Number(r.id),
    root: r.root as Hex,
    receivedAt: Number(r.received_at),
    calendar: r.calendar,
    signer: r.signer as Hex,
    signature: r.signature as Hex,
    leaves: unpackLeaves(r.leaves),
  };
}

/**
 * The batch with `leaves` as hex strings made from `packed` when first read: the service never reads
 * them (a batch's proofs are served from its stored row), and tens of thousands of strings made at
 * once would hold up the event loop and then the old generation's collector.
 */
function withPackedLeaves(batch: Omit<BatchRecord, "leaves">, packed: Buffer): BatchRecord {
  let leaves: Hex[] | undefined;
  return Object.defineProperty(batch, "leaves", {
    enumerable: true,
    get: () => (leaves ??= unpackLeaves(packed)),
  }) as BatchRecord;
}

/** The progress fields of a batch as stored (JSON). */
export function progressJson(b: BatchRecord): string {
  return JSON.stringify({ anchors: b.anchors, sent: b.sent, timestamps: b.timestamps, tsaFailures: b.tsaFailures });
}

export function batchFromRow(r: BatchRow): BatchRecord {
  const p = (typeof r.progress === "string" ? JSON.parse(r.progress) : r.progress) as Pick<
    BatchRecord,
    "anchors" | "sent" | "timestamps" | "tsaFailures"
  >;
  return {
    id: Number(r.id),
    root: r.root as Hex,
    leafCount: Number(r.leaf_count),
    createdAt: Number(r.created_at),
    leaves: unpackLeaves(r.leaves),
    anchors: p.anchors,
    sent: p.sent,
    timestamps: p.timestamps,
    tsaFailures: p.tsaFailures,
    ...(r.completed_at !== null && r.completed_at !== undefined ? { completedAt: Number(r.completed_at) } : {}),
  };
}

export { ackFromRow, type AckRow, type BatchRow };

/** The bytes of one log record (see {@link SqliteCalendarStore}). */
function encodeLogRecord(r: AckRecord): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      id: r.id,
      root: r.root,
      receivedAt: r.receivedAt,
      calendar: r.calendar,
      signer: r.signer,
      signature: r.signature,
    }),
  );
  // its own ArrayBuffer (not the shared pool): the copy posted to the indexer is the record alone
  const out = Buffer.allocUnsafeSlow(12 + header.length + r.leaves.length * 32);
  out.writeUInt32LE(4 + header.length + r.leaves.length * 32, 0);
  out.writeUInt32LE(header.length, 8);
  header.copy(out, 12);
  let at = 12 + header.length;
  for (const leaf of r.leaves) at += out.write(leaf.slice(2), at, "hex");
  out.writeUInt32LE(zlib.crc32(out.subarray(8)), 4);
  return out;
}

/** The records of one segment as written, in order, up to the first incomplete or damaged one (a torn tail). */
function readLogRecords(file: string): Buffer[] {
  const buf = fs.readFileSync(file);
  const out: Buffer[] = [];
  for (let at = 0; at + 8 <= buf.length;) {
    const length = buf.readUInt32LE(at);
    if (length < 4 || at + 8 + length > buf.length) break;
    const payload = buf.subarray(at + 8, at + 8 + length);
    if (zlib.crc32(payload) !== buf.readUInt32LE(at + 4)) break;
    const headerLength = payload.readUInt32LE(0);
    if (4 + headerLength > length || (length - 4 - headerLength) % 32 !== 0) break;
    out.push(buf.subarray(at, at + 8 + length));
    at += 8 + length;
  }
  return out;
}

/** The ack id in a log record (u32 length, u32 CRC-32, payload). */
function readLogId(record: Buffer): number {
  return (JSON.parse(record.toString("utf8", 12, 12 + record.readUInt32LE(8))) as { id: number }).id;
}

/** Number of leaves in a log record. */
function logRecordLeafCount(record: Buffer): number {
  return (record.length - 12 - record.readUInt32LE(8)) / 32;
}

/** Leaves of an ack after index `after` that are at their first acknowledgement (not in its `dups`). */
function pendingIn(ack: { leaves: Buffer; dups: Buffer | null }, after: number): number {
  let n = ack.leaves.length / 32 - after - 1;
  for (const d of dupPositions(ack.dups)) if (d > after) n--;
  return Math.max(0, n);
}

/**
 * Version 2 → 3 (one transaction, on open): each leaf's row re-keyed by its first 8 bytes (a leaf
 * whose 8 bytes an earlier-stored leaf has goes to leaf_spill), and each ack's `dups` — its positions
 * that version 2 had no row for (the leaf was stored at an earlier acknowledgement).
 */
function upgradeFromVersion2(db: Database): void {
  db.function("leaf_key", { deterministic: true, safeIntegers: true }, (leaf: unknown) =>
    (leaf as Buffer).readBigInt64BE(0),
  );
  db.transaction(() => {
    db.exec(`
      ALTER TABLE acks ADD COLUMN dups BLOB;
      ALTER TABLE leaves RENAME TO leaves_v2;
      CREATE TABLE leaves (key INTEGER PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL);
      CREATE TABLE leaf_spill (leaf BLOB PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL) WITHOUT ROWID;
      INSERT OR IGNORE INTO leaves (key, ack_id, ack_index)
        SELECT leaf_key(leaf), ack_id, ack_index FROM leaves_v2 ORDER BY ack_id, ack_index;
      INSERT INTO leaf_spill (leaf, ack_id, ack_index)
        SELECT o.leaf, o.ack_id, o.ack_index FROM leaves_v2 o JOIN leaves n ON n.key = leaf_key(o.leaf)
        WHERE n.ack_id != o.ack_id OR n.ack_index != o.ack_index;`);
    const acks = db.prepare("SELECT id, length(leaves) / 32 AS n FROM acks WHERE id > ? ORDER BY id LIMIT 1000");
    const stored = db.prepare("SELECT ack_index FROM leaves_v2 WHERE ack_id = ?").pluck();
    const setDups = db.prepare("UPDATE acks SET dups = ? WHERE id = ?");
    for (let after = 0; ;) {
      const page = acks.all(after) as Array<{ id: number; n: number }>;
      if (page.length === 0) break;
      for (const { id, n } of page) {
        const have = new Set(stored.all(id) as number[]);
        const dups: number[] = [];
        for (let i = 0; i < n; i++) if (!have.has(i)) dups.push(i);
        if (dups.length > 0) setDups.run(packDups(dups), id);
      }
      after = page[page.length - 1].id;
    }
    db.exec("DROP TABLE leaves_v2"); // (and its leaves_order index)
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(UPGRADED_SCHEMA_VERSIONS[0]);
  })();
}

/**
 * Version 3 → 4 (one transaction, on open): the leaf table becomes the first run of the leaf index,
 * at the level its size would have reached by merging (its filter is made by the indexer when it starts).
 */
function upgradeFromVersion3(db: Database): void {
  db.transaction(() => {
    db.exec(
      "CREATE TABLE leaf_runs (id INTEGER PRIMARY KEY, level INTEGER NOT NULL, count INTEGER NOT NULL, live INTEGER NOT NULL, filter BLOB)",
    );
    const count = db.prepare("SELECT COUNT(*) FROM leaves").pluck().get() as number;
    if (count === 0) db.exec("DROP TABLE leaves");
    else {
      const level = Math.max(0, Math.floor(Math.log(count / 1024) / Math.log(MERGE_FANOUT)));
      const id = db
        .prepare("INSERT INTO leaf_runs (level, count, live) VALUES (?, ?, 1)")
        .run(level, count).lastInsertRowid;
      db.exec(`ALTER TABLE leaves RENAME TO ${runTable(id)}`);
    }
    db.prepare("UPDATE meta SET value = ? WHERE key = 'schema'").run(CALENDAR_SCHEMA_VERSION);
  })();
}

/** Drops the runs a merge was building when the process stopped (their sources are still live; the merge starts again). */
function dropUnfinishedRuns(db: Database): void {
  db.transaction(() => {
    for (const id of db.prepare("SELECT id FROM leaf_runs WHERE live = 0").pluck().all() as number[]) {
      db.exec(`DROP TABLE IF EXISTS ${runTable(id)}`);
      db.prepare("DELETE FROM leaf_runs WHERE id = ?").run(id);
    }
  })();
}

/** The acknowledgement in a log record's payload (u32 header length, header JSON, the leaves). */
function decodeLogPayload(payload: Buffer): AckRecord {
  const headerLength = payload.readUInt32LE(0);
  const h = JSON.parse(payload.toString("utf8", 4, 4 + headerLength)) as Omit<AckRecord, "leaves">;
  return { ...h, leaves: unpackLeaves(payload.subarray(4 + headerLength)) };
}

function writeAll(fd: number, bytes: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (from: number): void =>
      fs.write(fd, bytes, from, bytes.length - from, null, (e, n) => {
        if (e) reject(e);
        else if (from + n < bytes.length) step(from + n);
        else resolve();
      });
    step(0);
  });
}

/** fsync of a directory, so that a file created in it survives a power cut. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
