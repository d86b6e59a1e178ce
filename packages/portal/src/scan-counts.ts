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

  async record(serial: string, client: string, now = Date.now()): Promise<SerialScans & { counted: boolean }> {
    const key = crypto.createHash("sha256").update(client).digest("base64url").slice(0, 22);
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      await c.query(
        "INSERT INTO portal_scan_clients (serial, client, counted_at, scans, since) VALUES ($1, $2, $3, 0, $4) ON CONFLICT DO NOTHING",
        [serial, key, Number.MIN_SAFE_INTEGER, now],
      );
      const row = (
        await c.query(
          "SELECT counted_at, scans, since FROM portal_scan_clients WHERE serial = $1 AND client = $2 FOR UPDATE",
          [serial, key],
        )
      ).rows[0] as { counted_at: string; scans: number; since: string };
      let scans = row.scans;
      let since = Number(row.since);
      if (now - since >= this.periodMs) {
        scans = 0;
        since = now;
      }
      const counted = now - Number(row.counted_at) >= this.windowMs && scans < this.perClient;
      let total: { first_seen: string; last_seen: string; count: string } | undefined;
      if (counted) {
        await c.query(
          "UPDATE portal_scan_clients SET counted_at = $3, scans = $4, since = $5 WHERE serial = $1 AND client = $2",
          [serial, key, now, scans + 1, since],
        );
        total = (
          await c.query(
            `INSERT INTO portal_scans (serial, first_seen, last_seen, count) VALUES ($1, $2, $2, 1)
             ON CONFLICT (serial) DO UPDATE SET last_seen = excluded.last_seen, count = portal_scans.count + 1
             RETURNING first_seen, last_seen, count`,
            [serial, now],
          )
        ).rows[0];
      } else {
        total = (await c.query("SELECT first_seen, last_seen, count FROM portal_scans WHERE serial = $1", [serial]))
          .rows[0];
      }
      await c.query("COMMIT");
      return {
        count: Number(total?.count ?? 0),
        firstSeen: Number(total?.first_seen ?? now),
        lastSeen: total ? Number(total.last_seen) : undefined,
        counted,
      };
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `counting a scan failed: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    } finally {
      c.release();
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
