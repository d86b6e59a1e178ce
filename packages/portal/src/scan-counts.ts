import * as crypto from "node:crypto";
import { ProofmarkError } from "@proofmark/sdk";
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
 * ({@link PostgresScanCounts}: every scan one transaction, so that several portal instances share
 * the counts and the per-client rules hold across them).
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
 * Scan counts in PostgreSQL, shared by every portal instance on the database. A scan is one
 * transaction: the client's row for the serial is locked (`SELECT … FOR UPDATE`, created first if
 * missing), the window and daily-budget rules of {@link ScanCounter} decide whether it counts, and
 * a counted scan increments the serial's total in the same transaction — so concurrent scans on
 * different instances neither lose nor double a count. Clients are stored as a hash of their address.
 */
export class PostgresScanCounts implements ScanCounts {
  private constructor(
    private readonly pool: Pool,
    private readonly windowMs: number,
    private readonly perClient: number,
    private readonly periodMs: number,
  ) {}

  /** Connects and creates the tables when missing (PORTAL_STORE_FAILED when it cannot). */
  static async open(url: string, windowMs: number, budget: ScanBudget = {}): Promise<PostgresScanCounts> {
    const pg = require("pg") as typeof import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 16 });
    pool.on("error", () => undefined); // an idle client lost: the next query reports it
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
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `the portal's PostgreSQL database cannot be used: ${(e as Error).message}`,
        { database: redact(url) },
        { cause: e },
      );
    }
    return new PostgresScanCounts(
      pool,
      windowMs,
      budget.perClient ?? Number.POSITIVE_INFINITY,
      budget.periodMs ?? windowMs,
    );
  }

  /**
   * One round trip per scan, two when it may count. A client that was counted within the window is
   * answered from a plain read (no lock, no write: its scan cannot count, whatever runs
   * concurrently — `counted_at` only moves forward). Otherwise one statement decides and writes:
   * the client's row is inserted or, on conflict, updated only when the window and the budget allow
   * (`ON CONFLICT … DO UPDATE … WHERE` locks the row and re-checks its newest version, so two
   * instances racing on one client count it once), and the serial's total is incremented in the
   * same statement when it counted. (Each scan was a five-statement transaction holding the row
   * lock across round trips: repeated scans of one code serialised at ~1 ms each.)
   */
  async record(serial: string, client: string, now = Date.now()): Promise<SerialScans & { counted: boolean }> {
    const key = crypto.createHash("sha256").update(client).digest("base64url").slice(0, 22);
    try {
      const seen = (
        await this.pool.query({
          // Named: each connection parses and plans the statement once.
          name: "proofmark-scan-seen",
          text: `SELECT s.first_seen, s.last_seen, s.count, c.counted_at FROM portal_scans s
           LEFT JOIN portal_scan_clients c ON c.serial = s.serial AND c.client = $2 WHERE s.serial = $1`,
          values: [serial, key],
        })
      ).rows[0] as { first_seen: string; last_seen: string; count: string; counted_at: string | null } | undefined;
      if (seen && seen.counted_at !== null && now - Number(seen.counted_at) < this.windowMs)
        return {
          count: Number(seen.count),
          firstSeen: Number(seen.first_seen),
          lastSeen: Number(seen.last_seen),
          counted: false,
        };
      const perClient = Number.isFinite(this.perClient) ? this.perClient : null;
      const row = (
        await this.pool.query({
          name: "proofmark-scan-record",
          text: `WITH client AS (
             INSERT INTO portal_scan_clients AS c (serial, client, counted_at, scans, since)
             SELECT $1, $2, $3::bigint, 1, $3::bigint WHERE $5::int IS NULL OR $5::int >= 1
             ON CONFLICT (serial, client) DO UPDATE SET
               counted_at = excluded.counted_at,
               scans = CASE WHEN excluded.since - c.since >= $6::bigint THEN 1 ELSE c.scans + 1 END,
               since = CASE WHEN excluded.since - c.since >= $6::bigint THEN excluded.since ELSE c.since END
             WHERE excluded.counted_at - c.counted_at >= $4::bigint
               AND ($5::int IS NULL OR (CASE WHEN excluded.since - c.since >= $6::bigint THEN 0 ELSE c.scans END) < $5::int)
             RETURNING 1
           ), total AS (
             INSERT INTO portal_scans (serial, first_seen, last_seen, count)
             SELECT $1, $3::bigint, $3::bigint, 1 WHERE EXISTS (SELECT 1 FROM client)
             ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen, count = portal_scans.count + 1
             RETURNING first_seen, last_seen, count
           )
           SELECT true AS counted, first_seen, last_seen, count FROM total
           UNION ALL
           SELECT false, first_seen, last_seen, count FROM portal_scans WHERE serial = $1 AND NOT EXISTS (SELECT 1 FROM total)`,
          values: [serial, key, now, this.windowMs, perClient, this.periodMs],
        })
      ).rows[0] as { counted: boolean; first_seen: string; last_seen: string; count: string } | undefined;
      return {
        count: Number(row?.count ?? 0),
        firstSeen: Number(row?.first_seen ?? now),
        lastSeen: row ? Number(row.last_seen) : undefined,
        counted: row?.counted ?? false,
      };
    } catch (e) {
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `counting a scan failed: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
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
    await this.pool.end();
  }
}

/** A database URL without its password (for messages). */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
