import * as crypto from "node:crypto";
import { ProofmarkError } from "@proofmark/sdk";
import { BoundedCache } from "./cache";
import type { ScanBudget, ScanCounter } from "./queries";

type Pool = import("pg").Pool;

/** A serial's counts as pages show them. */
export interface SerialScans {
  count: number;
  firstSeen: number;
  lastSeen?: number;
}

/**
 * Where scan counts live: one interface, two implementations — the portal's SQLite index
 * ({@link ScanCounter}, written behind in batches: one process counts) and PostgreSQL
 * ({@link PostgresScanCounts}: every scan that may count is committed before it is answered, so
 * that several portal instances share the counts and the per-client rules hold across them).
 */
export interface ScanCounts {
  /** Records a scan of `serial` by `client`; the counts after it. */
  record(serial: string, client: string, now?: number): Promise<SerialScans & { counted: boolean }>;
  /** The counts of `serial` (undefined: never scanned). */
  read(serial: string): Promise<SerialScans | undefined>;
  /** Writes what is pending (nothing for PostgreSQL). */
  flush(): void;
  close(): Promise<void>;
}

/** The SQLite counter behind the {@link ScanCounts} interface. */
export function sqliteScanCounts(counter: ScanCounter): ScanCounts {
  return {
    record: (serial, client, now) => Promise.resolve(counter.record(serial, client, now)),
    read: (serial) => Promise.resolve(counter.read(serial)),
    flush: () => counter.flush(),
    close: () => Promise.resolve(counter.flush()),
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS portal_scans (
  serial TEXT PRIMARY KEY, first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL, count BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS portal_scan_clients (
  serial TEXT NOT NULL, client TEXT NOT NULL, counted_at BIGINT NOT NULL, scans INTEGER NOT NULL, since BIGINT NOT NULL,
  PRIMARY KEY (serial, client));
`;

/**
 * Batches of scan-count reads one portal instance keeps in flight at once. One: the batch then
 * grows with the load (a read waits at most for the batch in flight, then its own), and plain reads
 * never wait on a lock. Measured under load (200 clients, one code): 1 batch in flight cost less
 * portal CPU per request than 2 or 4 and gave a lower p99.
 */
const MAX_READS_IN_FLIGHT = 1;
/** Distinct (serial, client) reads in one batch. */
const MAX_READ_BATCH = 500;

/** Distinct (serial, client) scans counted in one statement. */
const MAX_WRITE_BATCH = 500;

/** A scan that may count, waiting for its batch. */
interface CountWaiter {
  serial: string;
  key: string;
  now: number;
  resolve(v: SerialScans & { counted: boolean }): void;
  reject(e: unknown): void;
}

/** A serial's counts and when one client was last counted for it. */
interface Seen extends Required<SerialScans> {
  countedAt: number | null;
}

interface SeenWaiter {
  serial: string;
  key: string;
  promise: Promise<Seen | undefined>;
  resolve(v: Seen | undefined): void;
  reject(e: unknown): void;
}

/**
 * Scan counts in PostgreSQL, shared by every portal instance on the database. A scan is first
 * looked up (reads batched, see {@link seen}); a scan that may count is then decided and written
 * with the others of the moment in one statement ({@link writeBatch}): the window and daily-budget
 * rules of {@link ScanCounter} are checked on the client's newest row under its lock, and a counted
 * scan increments the serial's total in the same statement — so concurrent scans on different
 * instances neither lose nor double a count. Clients are stored as a hash of their address.
 */
export class PostgresScanCounts implements ScanCounts {
  private constructor(
    private readonly pool: Pool,
    /** The read batches' own connections (see {@link open}). */
    private readonly reads: Pool,
    private readonly windowMs: number,
    private readonly perClient: number,
    private readonly periodMs: number,
  ) {}

  /** Connects and creates the tables when missing (PORTAL_STORE_FAILED when it cannot). */
  static async open(url: string, windowMs: number, budget: ScanBudget = {}): Promise<PostgresScanCounts> {
    const pg = require("pg") as typeof import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 16 });
    pool.on("error", () => undefined); // an idle client lost: the next query reports it
    // The read batches have their own connections (one per batch in flight), on which PostgreSQL
    // plans the batch statement once and reuses the plan: left to choose, it planned it anew on
    // every execution (its estimate for a 1-key batch beats the generic plan), which cost ~0.1-0.3 ms
    // of the server's CPU on each batch's round trip, more than executing it. The generic plan is
    // index lookups per key once the tables are large, and is replanned when their statistics change.
    const reads = new pg.Pool({
      connectionString: url,
      max: MAX_READS_IN_FLIGHT,
      options: "-c plan_cache_mode=force_generic_plan",
    });
    reads.on("error", () => undefined);
    try {
      // Two instances starting at once must not race on CREATE TABLE.
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock(4207752375419049165)");
        await client.query(SCHEMA);
        await client.query("SELECT pg_advisory_unlock(4207752375419049165)");
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      await reads.end().catch(() => undefined);
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `the portal's PostgreSQL database cannot be used: ${(e as Error).message}`,
        { database: redact(url) },
        { cause: e },
      );
    }
    return new PostgresScanCounts(
      pool,
      reads,
      windowMs,
      budget.perClient ?? Number.POSITIVE_INFINITY,
      budget.periodMs ?? windowMs,
    );
  }

  /**
   * One read per scan (batched with the other scans of the moment, see {@link seen}). A client
   * that was counted within the window is answered from that read (no lock, no write: its scan
   * cannot count, whatever runs concurrently — `counted_at` only moves forward). Otherwise the scan
   * is decided and written in the next write batch ({@link writeBatch}).
   */
  async record(serial: string, client: string, now = Date.now()): Promise<SerialScans & { counted: boolean }> {
    const key = this.keys.getOrSet(client, () =>
      crypto.createHash("sha256").update(client).digest("base64url").slice(0, 22),
    );
    try {
      const seen = await this.seen(serial, key);
      if (seen && seen.countedAt !== null && now - seen.countedAt < this.windowMs)
        return { count: seen.count, firstSeen: seen.firstSeen, lastSeen: seen.lastSeen, counted: false };
      return await this.count(serial, key, now);
    } catch (e) {
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `counting a scan failed: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
  }

  /** Scans that may count, waiting for the next write batch. */
  private writes: CountWaiter[] = [];
  private writing = false;
  private writeScheduled = false;

  /**
   * Counts a scan that may count, in one statement with the other such scans of the moment (see
   * {@link writeBatch}): one commit — one WAL flush — for a batch of first scans instead of one each.
   */
  private count(serial: string, key: string, now: number): Promise<SerialScans & { counted: boolean }> {
    return new Promise((resolve, reject) => {
      this.writes.push({ serial, key, now, resolve, reject });
      this.scheduleWrites();
    });
  }

  private scheduleWrites(): void {
    if (this.writeScheduled || this.writing || this.writes.length === 0) return;
    this.writeScheduled = true;
    setImmediate(() => {
      this.writeScheduled = false;
      if (this.writing || this.writes.length === 0) return;
      const batch = this.writes.splice(0, MAX_WRITE_BATCH);
      this.writing = true;
      this.writeBatch(batch)
        .catch((e: unknown) => {
          for (const w of batch) w.reject(e);
        })
        .finally(() => {
          this.writing = false;
          this.scheduleWrites();
        });
    });
  }

  /**
   * Decides and writes a batch of scans in one statement: each (serial, client) row is inserted
   * or, on conflict, updated only when the window and the budget allow (`ON CONFLICT … DO UPDATE …
   * WHERE` locks the row and re-checks its newest version, so two instances racing on one client
   * count it once), and each serial's total grows by the scans of it that counted. Rows are taken
   * in (serial, client) order, so two instances' batches lock in the same order and cannot
   * deadlock. Scans of one serial that counted in one batch are answered with consecutive totals
   * ending at the serial's new total, as if counted one after the other; the same client twice in
   * one batch counts at most once (the later one waits for the next batch). (One statement per
   * first scan was one WAL flush each: ~1,900 first scans/s on PostgreSQL against ~12,000 written
   * behind by the SQLite portal.)
   */
  private async writeBatch(batch: CountWaiter[]): Promise<void> {
    const byPair = new Map<string, CountWaiter>();
    const later: CountWaiter[] = [];
    for (const w of batch) {
      const pair = `${w.serial}\n${w.key}`;
      if (byPair.has(pair)) later.push(w);
      else byPair.set(pair, w);
    }
    if (later.length > 0) {
      this.writes.unshift(...later);
    }
    const rows = [...byPair.values()].sort((a, b) =>
      a.serial < b.serial ? -1 : a.serial > b.serial ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0,
    );
    const perClient = Number.isFinite(this.perClient) ? this.perClient : null;
    const result = (
      await this.pool.query({
        name: "proofmark-scan-count-batch",
        text: `WITH k AS (
             SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS k(serial, client, now, i)
           ), client AS (
             INSERT INTO portal_scan_clients AS c (serial, client, counted_at, scans, since)
             SELECT serial, client, now, 1, now FROM k WHERE $5::int IS NULL OR $5::int >= 1 ORDER BY i
             ON CONFLICT (serial, client) DO UPDATE SET
               counted_at = excluded.counted_at,
               scans = CASE WHEN excluded.since - c.since >= $6::bigint THEN 1 ELSE c.scans + 1 END,
               since = CASE WHEN excluded.since - c.since >= $6::bigint THEN excluded.since ELSE c.since END
             WHERE excluded.counted_at - c.counted_at >= $4::bigint
               AND ($5::int IS NULL OR (CASE WHEN excluded.since - c.since >= $6::bigint THEN 0 ELSE c.scans END) < $5::int)
             RETURNING serial, client
           ), bump AS (
             SELECT serial, COUNT(*) AS n, MIN(k.now) AS first_now, MAX(k.now) AS last_now
             FROM client JOIN k USING (serial, client) GROUP BY serial
           ), total AS (
             INSERT INTO portal_scans AS s (serial, first_seen, last_seen, count)
             SELECT serial, first_now, last_now, n FROM bump ORDER BY serial
             ON CONFLICT (serial) DO UPDATE SET last_seen = GREATEST(s.last_seen, excluded.last_seen), count = s.count + excluded.count
             RETURNING serial, first_seen, last_seen, count
           )
           SELECT k.i, (cl.serial IS NOT NULL) AS counted,
             COALESCE(t.first_seen, s.first_seen) AS first_seen, COALESCE(t.last_seen, s.last_seen) AS last_seen,
             COALESCE(t.count, s.count) AS count
           FROM k
           LEFT JOIN client cl ON cl.serial = k.serial AND cl.client = k.client
           LEFT JOIN total t ON t.serial = k.serial
           LEFT JOIN portal_scans s ON s.serial = k.serial`,
        values: [
          rows.map((w) => w.serial),
          rows.map((w) => w.key),
          rows.map((w) => w.now),
          this.windowMs,
          perClient,
          this.periodMs,
        ],
      })
    ).rows as Array<{
      i: string;
      counted: boolean;
      first_seen: string | null;
      last_seen: string | null;
      count: string | null;
    }>;
    // Counted scans of one serial get consecutive totals, in batch order, ending at the new total.
    const countedOf = new Map<string, number>();
    for (const r of result) {
      const w = rows[Number(r.i) - 1];
      if (r.counted) countedOf.set(w.serial, (countedOf.get(w.serial) ?? 0) + 1);
    }
    const seenOf = new Map<string, number>();
    for (const r of result.sort((a, b) => Number(a.i) - Number(b.i))) {
      const w = rows[Number(r.i) - 1];
      const total = Number(r.count ?? 0);
      let count = total;
      if (r.counted) {
        const k = (seenOf.get(w.serial) ?? 0) + 1;
        seenOf.set(w.serial, k);
        count = total - countedOf.get(w.serial)! + k;
      }
      w.resolve({
        count,
        firstSeen: r.first_seen === null ? w.now : Number(r.first_seen),
        lastSeen: r.last_seen === null ? undefined : Number(r.last_seen),
        counted: r.counted,
      });
    }
  }

  /** Clients' stored keys (a hash of the address), by address. */
  private readonly keys = new BoundedCache<string, string>(10_000, 64);
  /** Reads waiting for the next batch, per serial and client key. */
  private waiting = new Map<string, SeenWaiter>();
  /** Batches of reads sent and not yet answered. */
  private readsInFlight = 0;
  private readScheduled = false;

  /**
   * A serial's counts and when `key` was last counted for it (undefined: never scanned). Reads are
   * batched: the reads asked for while {@link MAX_READS_IN_FLIGHT} batches are in flight (or within
   * one turn of the event loop) go together as one statement, and one read per distinct serial and
   * client, shared by every scan asking for it. A batch is always sent after every read in it was
   * asked for, so each scan still sees every count committed before it arrived. (One statement per
   * scan cost the portal ~0.7 ms of CPU per request in the pg driver: 200 clients scanning one code
   * ran ~200 statements for what one answers.)
   */
  private seen(serial: string, key: string): Promise<Seen | undefined> {
    const id = `${serial}\n${key}`;
    let w = this.waiting.get(id);
    if (!w) {
      let resolve!: (v: Seen | undefined) => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<Seen | undefined>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      w = { serial, key, promise, resolve, reject };
      this.waiting.set(id, w);
      this.scheduleReads();
    }
    return w.promise;
  }

  private scheduleReads(): void {
    if (this.readScheduled || this.readsInFlight >= MAX_READS_IN_FLIGHT || this.waiting.size === 0) return;
    this.readScheduled = true;
    // Let the requests already received in this turn of the event loop join the batch.
    setImmediate(() => {
      this.readScheduled = false;
      if (this.readsInFlight >= MAX_READS_IN_FLIGHT || this.waiting.size === 0) return;
      const batch = [...this.waiting.values()].slice(0, MAX_READ_BATCH);
      for (const w of batch) this.waiting.delete(`${w.serial}\n${w.key}`);
      this.readsInFlight++;
      this.readBatch(batch)
        .catch((e: unknown) => {
          for (const w of batch) w.reject(e);
        })
        .finally(() => {
          this.readsInFlight--;
          this.scheduleReads();
        });
      this.scheduleReads();
    });
  }

  private async readBatch(batch: SeenWaiter[]): Promise<void> {
    const rows = (
      await this.reads.query({
        // Named: each connection parses it once (and, forced generic, plans it once).
        name: "proofmark-scan-seen-batch",
        text: `SELECT k.i, s.first_seen, s.last_seen, s.count, c.counted_at
           FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS k(serial, client, i)
           JOIN portal_scans s ON s.serial = k.serial
           LEFT JOIN portal_scan_clients c ON c.serial = k.serial AND c.client = k.client`,
        values: [batch.map((w) => w.serial), batch.map((w) => w.key)],
      })
    ).rows as Array<{ i: string; first_seen: string; last_seen: string; count: string; counted_at: string | null }>;
    const found = new Array<Seen | undefined>(batch.length);
    for (const r of rows)
      found[Number(r.i) - 1] = {
        count: Number(r.count),
        firstSeen: Number(r.first_seen),
        lastSeen: Number(r.last_seen),
        countedAt: r.counted_at === null ? null : Number(r.counted_at),
      };
    batch.forEach((w, i) => w.resolve(found[i]));
  }

  async read(serial: string): Promise<SerialScans | undefined> {
    const r = (
      await this.pool.query("SELECT first_seen, last_seen, count FROM portal_scans WHERE serial = $1", [serial])
    ).rows[0] as { first_seen: string; last_seen: string; count: string } | undefined;
    return r ? { count: Number(r.count), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen) } : undefined;
  }

  flush(): void {
    // Nothing pending: every scan was committed before it was answered.
  }

  async close(): Promise<void> {
    await Promise.all([this.pool.end(), this.reads.end()]);
  }
}

/** A database URL without its password (for messages). */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
