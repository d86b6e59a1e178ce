import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import {
  packLeaves,
  unpackLeaves,
  type AckRecord,
  type BatchRecord,
  type CalendarStore,
  type LeafLookup,
} from "./store";

type Database = import("better-sqlite3").Database;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS acks (
  id INTEGER PRIMARY KEY, root TEXT NOT NULL, received_at INTEGER NOT NULL, calendar TEXT NOT NULL,
  signer TEXT NOT NULL, signature TEXT NOT NULL, leaves BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (
  leaf BLOB PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS leaves_order ON leaves (ack_id, ack_index);
CREATE TABLE IF NOT EXISTS batches (
  id INTEGER PRIMARY KEY, root TEXT NOT NULL, leaf_count INTEGER NOT NULL, created_at INTEGER NOT NULL,
  leaves BLOB NOT NULL, progress TEXT NOT NULL, completed_at INTEGER,
  last_ack INTEGER NOT NULL, last_index INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS batches_end ON batches (last_ack, last_index);
`;

/**
 * Format of the calendar database, checked on open. Version 2: a batch is the next run of leaves in
 * acknowledgement order (ack id, index in the ack), recorded by its last position — closing a
 * batch writes one row, not one update per leaf (version 1 rewrote every leaf row, scattered over
 * the leaf index: tens of MB of WAL and a stall of the event loop per batch).
 */
export const CALENDAR_SCHEMA_VERSION = "proofmark-calendar-2";

/**
 * The writer of acknowledgements, on a worker thread with its own connection: a commit waits for
 * fsync, and better-sqlite3 is synchronous, so on the main thread every fsync would stop the HTTP
 * server. On a worker, the main thread keeps parsing requests while a group is being synced, and
 * the next group grows accordingly (group commit that adapts to the disk).
 */
const WRITER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.pragma("busy_timeout = 10000");
const insertAck = db.prepare("INSERT INTO acks (root, received_at, calendar, signer, signature, leaves) VALUES (?, ?, ?, ?, ?, ?)");
const insertLeaf = db.prepare("INSERT OR IGNORE INTO leaves (leaf, ack_id, ack_index, received_at) VALUES (?, ?, ?, ?)");
const run = db.transaction((m) => {
  const leaves = Buffer.from(m.leaves);
  const id = Number(insertAck.run(m.root, m.receivedAt, m.calendar, m.signer, m.signature, leaves).lastInsertRowid);
  let inserted = 0;
  for (let i = 0, at = 0; at < leaves.length; i++, at += 32) inserted += insertLeaf.run(leaves.subarray(at, at + 32), id, i, m.receivedAt).changes;
  return { id, inserted };
});
parentPort.on("message", (m) => {
  if (m.close) { db.close(); parentPort.close(); return; }
  try { const r = run.immediate(m); parentPort.postMessage({ seq: m.seq, id: r.id, inserted: r.inserted }); }
  catch (e) { parentPort.postMessage({ seq: m.seq, error: String(e && e.message || e) }); }
});
`;

/**
 * The calendar's store in one SQLite file (WAL, `synchronous = FULL`: a commit is fsynced before
 * it returns). One service instance per file; the embedded default (`<dataDir>/calendar/calendar.db`).
 */
export class SqliteCalendarStore implements CalendarStore {
  readonly kind = "sqlite";
  private readonly db: Database;
  private readonly stmts: ReturnType<SqliteCalendarStore["prepare"]>;
  private readonly writer: Worker;
  private readonly calls = new Map<number, { resolve: (id: number) => void; reject: (e: Error) => void }>();
  private seq = 0;
  /** Leaves not yet in a batch: counted once at open, then kept (one instance per file). */
  private pending = 0;

  constructor(file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    try {
      this.db = new BetterSqlite3(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = FULL");
      this.db.pragma("busy_timeout = 10000");
      this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      const version = this.db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as
        { value: string } | undefined;
      if (version && version.value !== CALENDAR_SCHEMA_VERSION)
        throw new Error(`the database is ${version.value}, not ${CALENDAR_SCHEMA_VERSION}`);
      this.db.exec(SCHEMA);
      if (!version) this.db.prepare("INSERT INTO meta (key, value) VALUES ('schema', ?)").run(CALENDAR_SCHEMA_VERSION);
    } catch (e) {
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `cannot open the calendar database ${file}: ${(e as Error).message}`,
        { file },
        { cause: e },
      );
    }
    this.stmts = this.prepare();
    this.writer = new Worker(WRITER_SOURCE, {
      eval: true,
      workerData: { file, module: require.resolve("better-sqlite3") },
    });
    this.pending = (this.stmts.pending.get(...this.end()) as { n: number }).n;
    this.writer.on("message", (m: { seq: number; id?: number; inserted?: number; error?: string }) => {
      const call = this.calls.get(m.seq);
      this.calls.delete(m.seq);
      if (this.calls.size === 0) this.writer.unref(); // idle: do not keep the process alive
      if (m.error !== undefined)
        call?.reject(
          new ProofmarkError("CALENDAR_STORE_FAILED", `the calendar could not store the leaves: ${m.error}`),
        );
      else {
        this.pending += m.inserted ?? 0;
        call?.resolve(m.id!);
      }
    });
    this.writer.on("error", (e) => {
      for (const call of this.calls.values())
        call.reject(new ProofmarkError("CALENDAR_STORE_FAILED", `the calendar's database writer failed: ${e.message}`));
      this.calls.clear();
    });
    this.writer.unref();
  }

  private prepare() {
    const db = this.db;
    return {
      // ack ids grow with commits (one writer): the leaves after the last batch's end are the pending ones, oldest first
      end: db.prepare(
        "SELECT last_ack AS a, last_index AS i FROM batches ORDER BY last_ack DESC, last_index DESC LIMIT 1",
      ),
      pending: db.prepare("SELECT COUNT(*) AS n FROM leaves WHERE (ack_id, ack_index) > (?, ?)"),
      oldest: db.prepare(
        "SELECT received_at AS t FROM leaves WHERE (ack_id, ack_index) > (?, ?) ORDER BY ack_id, ack_index LIMIT 1",
      ),
      leaf: db.prepare("SELECT ack_id, ack_index FROM leaves WHERE leaf = ?"),
      ack: db.prepare("SELECT * FROM acks WHERE id = ?"),
      batchOf: db.prepare(
        "SELECT * FROM batches WHERE (last_ack, last_index) >= (?, ?) ORDER BY last_ack, last_index LIMIT 1",
      ),
      takePending: db.prepare(
        "SELECT leaf, ack_id, ack_index FROM leaves WHERE (ack_id, ack_index) > (?, ?) ORDER BY ack_id, ack_index LIMIT ?",
      ),
      insertBatch: db.prepare(
        "INSERT INTO batches (root, leaf_count, created_at, leaves, progress, last_ack, last_index) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      unfinished: db.prepare("SELECT * FROM batches WHERE completed_at IS NULL ORDER BY id"),
      save: db.prepare("UPDATE batches SET progress = ?, completed_at = ? WHERE id = ?"),
      stats: db.prepare(
        "SELECT (SELECT COUNT(*) FROM leaves) AS leaves, (SELECT COUNT(*) FROM batches) AS batches, (SELECT COUNT(*) FROM batches WHERE completed_at IS NOT NULL) AS complete",
      ),
    };
  }

  acknowledge(ack: Omit<AckRecord, "id">): Promise<number> {
    return new Promise((resolve, reject) => {
      const seq = ++this.seq;
      if (this.calls.size === 0) this.writer.ref(); // a commit in flight keeps the process alive
      this.calls.set(seq, { resolve, reject });
      const leaves = packLeaves(ack.leaves);
      this.writer.postMessage(
        {
          seq,
          root: ack.root,
          receivedAt: ack.receivedAt,
          calendar: ack.calendar,
          signer: ack.signer,
          signature: ack.signature,
          leaves,
        },
        [leaves.buffer as ArrayBuffer],
      );
    });
  }

  async pendingCount(): Promise<number> {
    return this.pending;
  }

  async oldestPending(): Promise<number | undefined> {
    return (this.stmts.oldest.get(...this.end()) as { t: number } | undefined)?.t;
  }

  /** Position (ack id, index) of the last leaf in a batch; (0, 0) before the first batch (ack ids start at 1). */
  private end(): [number, number] {
    const r = this.stmts.end.get() as { a: number; i: number } | undefined;
    return r ? [r.a, r.i] : [0, 0];
  }

  async lookup(leaf: Hex): Promise<LeafLookup | undefined> {
    const key = Buffer.from(leaf.slice(2), "hex");
    const row = this.stmts.leaf.get(key) as { ack_id: number; ack_index: number } | undefined;
    if (!row) return undefined;
    const ack = ackFromRow(this.stmts.ack.get(row.ack_id) as AckRow);
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

  async openBatch(max: number, rootOf: (leaves: Hex[]) => Hex): Promise<BatchRecord | undefined> {
    const s = this.stmts;
    const run = this.db.transaction(() => {
      const rows = s.takePending.all(...this.end(), max) as Array<{ leaf: Buffer; ack_id: number; ack_index: number }>;
      if (rows.length === 0) return undefined;
      const leaves = rows.map((r) => `0x${r.leaf.toString("hex")}` as Hex);
      const root = rootOf(leaves);
      const createdAt = Date.now();
      const batch: BatchRecord = {
        id: 0,
        root,
        leafCount: leaves.length,
        createdAt,
        leaves,
        anchors: {},
        sent: {},
        timestamps: [],
        tsaFailures: {},
      };
      const last = rows[rows.length - 1];
      batch.id = Number(
        s.insertBatch.run(
          root,
          leaves.length,
          createdAt,
          Buffer.concat(rows.map((r) => r.leaf)),
          progressJson(batch),
          last.ack_id,
          last.ack_index,
        ).lastInsertRowid,
      );
      return batch;
    });
    const batch = run.immediate(); // take the write lock first: a read-then-write upgrade could fail as busy
    if (batch) this.pending -= batch.leafCount;
    return batch;
  }

  async unfinishedBatches(): Promise<BatchRecord[]> {
    return (this.stmts.unfinished.all() as BatchRow[]).map(batchFromRow);
  }

  async saveBatch(batch: BatchRecord): Promise<void> {
    this.stmts.save.run(progressJson(batch), batch.completedAt ?? null, batch.id);
  }

  async stats(): Promise<{ leaves: number; batches: number; completeBatches: number }> {
    const r = this.stmts.stats.get() as { leaves: number; batches: number; complete: number };
    return { leaves: r.leaves, batches: r.batches, completeBatches: r.complete };
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.writer.once("exit", () => resolve());
      this.writer.postMessage({ close: true });
    });
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
