import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import { ackFromRow, batchFromRow, progressJson, type AckRow, type BatchRow } from "./sqlite";
import { packLeaves, type AckRecord, type BatchRecord, type CalendarStore, type LeafLookup } from "./store";

type Pool = import("pg").Pool;
type PoolClient = import("pg").PoolClient;
type Client = import("pg").Client;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS calendar_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS calendar_acks (
  id BIGSERIAL PRIMARY KEY, root TEXT NOT NULL, received_at BIGINT NOT NULL, calendar TEXT NOT NULL,
  signer TEXT NOT NULL, signature TEXT NOT NULL, leaves BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS calendar_leaves (
  leaf BYTEA PRIMARY KEY, ack_id BIGINT NOT NULL, ack_index INTEGER NOT NULL, received_at BIGINT NOT NULL,
  batch_id BIGINT, batch_index INTEGER);
CREATE INDEX IF NOT EXISTS calendar_leaves_pending ON calendar_leaves (ack_id, ack_index) WHERE batch_id IS NULL;
CREATE TABLE IF NOT EXISTS calendar_batches (
  id BIGSERIAL PRIMARY KEY, root TEXT NOT NULL, leaf_count INTEGER NOT NULL, created_at BIGINT NOT NULL,
  leaves BYTEA NOT NULL, progress TEXT NOT NULL, completed_at BIGINT);
`;

/** The PostgreSQL store's format (its layout did not change with the SQLite store's version 3). */
const POSTGRES_CALENDAR_SCHEMA_VERSION = "proofmark-calendar-2";

/** Advisory-lock key of the anchoring role: the first 8 bytes of keccak256("proofmark.calendar.anchorer"). */
const ANCHOR_LOCK_KEY = "4207752375419049063";

/**
 * The calendar's store in PostgreSQL, for several service instances behind a load balancer. Every
 * instance acknowledges (a committed transaction — durable with PostgreSQL's default
 * `synchronous_commit = on`). Exactly one instance anchors: the one holding the session-level
 * advisory lock `pg_try_advisory_lock(ANCHOR_LOCK_KEY)` on its own connection. When that instance
 * dies, its connection closes, the lock is released, and another instance takes over and resumes
 * the unfinished batches (whose sent transactions are recorded, so nothing is anchored twice).
 */
export class PostgresCalendarStore implements CalendarStore {
  readonly kind = "postgres";
  private readonly pool: Pool;
  private lockClient?: Client;
  private holding = false;
  private readonly url: string;

  private constructor(pool: Pool, url: string) {
    this.pool = pool;
    this.url = url;
  }

  /** Connects and creates the tables when missing. */
  static async open(url: string): Promise<PostgresCalendarStore> {
    const pg = require("pg") as typeof import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    pool.on("error", () => undefined); // an idle client lost: the next query reports it
    const store = new PostgresCalendarStore(pool, url);
    try {
      await pool.query("SELECT pg_advisory_lock(4207752375419049064)");
      try {
        await pool.query(SCHEMA);
        const r = await pool.query("SELECT value FROM calendar_meta WHERE key = 'schema'");
        if (r.rows.length === 0)
          await pool.query("INSERT INTO calendar_meta (key, value) VALUES ('schema', $1) ON CONFLICT DO NOTHING", [
            POSTGRES_CALENDAR_SCHEMA_VERSION,
          ]);
        else if (r.rows[0].value !== POSTGRES_CALENDAR_SCHEMA_VERSION)
          throw new Error(`the database is ${r.rows[0].value}, not ${POSTGRES_CALENDAR_SCHEMA_VERSION}`);
      } finally {
        await pool.query("SELECT pg_advisory_unlock(4207752375419049064)");
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `cannot open the calendar database at ${redact(url)}: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    return store;
  }

  private async tx<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async acknowledge(ack: Omit<AckRecord, "id">): Promise<number> {
    try {
      return await this.tx(async (c) => {
        const r = await c.query(
          "INSERT INTO calendar_acks (root, received_at, calendar, signer, signature, leaves) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
          [ack.root, ack.receivedAt, ack.calendar, ack.signer, ack.signature, packLeaves(ack.leaves)],
        );
        const id = Number(r.rows[0].id);
        await c.query(
          "INSERT INTO calendar_leaves (leaf, ack_id, ack_index, received_at) SELECT t.leaf, $2, t.i - 1, $3 FROM unnest($1::bytea[]) WITH ORDINALITY AS t(leaf, i) ON CONFLICT (leaf) DO NOTHING",
          [ack.leaves.map((l) => Buffer.from(l.slice(2), "hex")), id, ack.receivedAt],
        );
        return id;
      });
    } catch (e) {
      throw new ProofmarkError(
        "CALENDAR_STORE_FAILED",
        `the calendar could not store the leaves: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
  }

  async pendingCount(): Promise<number> {
    return Number(
      (await this.pool.query("SELECT COUNT(*) AS n FROM calendar_leaves WHERE batch_id IS NULL")).rows[0].n,
    );
  }

  async oldestPending(): Promise<number | undefined> {
    const rows = (
      await this.pool.query(
        "SELECT received_at AS t FROM calendar_leaves WHERE batch_id IS NULL ORDER BY ack_id, ack_index LIMIT 1",
      )
    ).rows;
    return rows.length === 0 ? undefined : Number(rows[0].t);
  }

  async lookup(leaf: Hex): Promise<LeafLookup | undefined> {
    const r = await this.pool.query(
      "SELECT ack_id, ack_index, batch_id, batch_index FROM calendar_leaves WHERE leaf = $1",
      [Buffer.from(leaf.slice(2), "hex")],
    );
    if (r.rows.length === 0) return undefined;
    const row = r.rows[0];
    const ack = ackFromRow(
      (await this.pool.query("SELECT * FROM calendar_acks WHERE id = $1", [row.ack_id])).rows[0] as AckRow,
    );
    if (row.batch_id === null) return { ack, ackIndex: row.ack_index };
    const batch = batchFromRow(
      (await this.pool.query("SELECT * FROM calendar_batches WHERE id = $1", [row.batch_id])).rows[0] as BatchRow,
    );
    return { ack, ackIndex: row.ack_index, batch, batchIndex: row.batch_index };
  }

  async asAnchorer<T>(fn: () => Promise<T>): Promise<T | undefined> {
    if (!this.holding) {
      if (!this.lockClient) {
        const pg = require("pg") as typeof import("pg");
        const client = new pg.Client({ connectionString: this.url });
        client.on("error", () => {
          this.holding = false;
          this.lockClient = undefined;
        });
        await client.connect();
        this.lockClient = client;
      }
      const r = await this.lockClient.query("SELECT pg_try_advisory_lock($1) AS ok", [ANCHOR_LOCK_KEY]);
      this.holding = r.rows[0].ok === true;
    }
    if (!this.holding) return undefined;
    return fn();
  }

  isAnchorer(): boolean {
    return this.holding;
  }

  async openBatch(
    max: number,
    rootOf: (packedLeaves: Uint8Array) => Hex | Promise<Hex>,
  ): Promise<BatchRecord | undefined> {
    return this.tx(async (c) => {
      const rows = (
        await c.query(
          "SELECT leaf FROM calendar_leaves WHERE batch_id IS NULL ORDER BY ack_id, ack_index LIMIT $1 FOR UPDATE SKIP LOCKED",
          [max],
        )
      ).rows as Array<{ leaf: Buffer }>;
      if (rows.length === 0) return undefined;
      const leaves = rows.map((r) => `0x${r.leaf.toString("hex")}` as Hex);
      const packed = Buffer.concat(rows.map((r) => r.leaf));
      const batch: BatchRecord = {
        id: 0,
        root: await rootOf(packed),
        leafCount: leaves.length,
        createdAt: Date.now(),
        leaves,
        anchors: {},
        sent: {},
        timestamps: [],
        tsaFailures: {},
      };
      const r = await c.query(
        "INSERT INTO calendar_batches (root, leaf_count, created_at, leaves, progress) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        [batch.root, batch.leafCount, batch.createdAt, packed, progressJson(batch)],
      );
      batch.id = Number(r.rows[0].id);
      await c.query(
        "UPDATE calendar_leaves SET batch_id = $1, batch_index = t.i - 1 FROM unnest($2::bytea[]) WITH ORDINALITY AS t(leaf, i) WHERE calendar_leaves.leaf = t.leaf",
        [batch.id, rows.map((row) => row.leaf)],
      );
      return batch;
    });
  }

  async unfinishedBatches(): Promise<BatchRecord[]> {
    return (
      (await this.pool.query("SELECT * FROM calendar_batches WHERE completed_at IS NULL ORDER BY id"))
        .rows as BatchRow[]
    ).map(batchFromRow);
  }

  async saveBatch(batch: BatchRecord): Promise<void> {
    await this.pool.query("UPDATE calendar_batches SET progress = $1, completed_at = $2 WHERE id = $3", [
      progressJson(batch),
      batch.completedAt ?? null,
      batch.id,
    ]);
  }

  async stats(): Promise<{ leaves: number; batches: number; completeBatches: number }> {
    const r = (
      await this.pool.query(
        "SELECT (SELECT COUNT(*) FROM calendar_leaves) AS leaves, (SELECT COUNT(*) FROM calendar_batches) AS batches, (SELECT COUNT(*) FROM calendar_batches WHERE completed_at IS NOT NULL) AS complete",
      )
    ).rows[0];
    return { leaves: Number(r.leaves), batches: Number(r.batches), completeBatches: Number(r.complete) };
  }

  async close(): Promise<void> {
    await this.lockClient?.end().catch(() => undefined);
    this.holding = false;
    await this.pool.end();
  }
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}
