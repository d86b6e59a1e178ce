import * as crypto from "node:crypto";
import { isAscii } from "node:buffer";
import * as zlib from "node:zlib";
import type Database from "better-sqlite3";
import { ProofmarkError } from "@proofmark/sdk";
import { CHAIN_TABLES } from "./db";

type Pool = import("pg").Pool;
type Client = import("pg").Client;

/** One write to the index: a SQLite statement and its parameters, as the indexer ran it. */
export type IndexOp = [sql: string, params: unknown[]];

/**
 * Tables: the log of pages, its head (the cursor after the last page) and the latest snapshot.
 * (The first version's `portal_index_pages`/`portal_index_cursor`, JSONB pages, are left alone: the
 * index is derived data, rebuilt from the chain into these tables.)
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS portal_index_log (
  scope TEXT NOT NULL, seq BIGINT NOT NULL, to_block BIGINT NOT NULL, body BYTEA NOT NULL, PRIMARY KEY (scope, seq));
ALTER TABLE portal_index_log ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS portal_index_head (scope TEXT PRIMARY KEY, seq BIGINT NOT NULL, to_block BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS portal_index_snapshot (
  scope TEXT PRIMARY KEY, seq BIGINT NOT NULL, to_block BIGINT NOT NULL, body BYTEA NOT NULL, made_at TIMESTAMPTZ NOT NULL);
ALTER TABLE portal_index_snapshot ALTER COLUMN body SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS portal_codes_manifests (
  scope TEXT NOT NULL, sha256 TEXT NOT NULL, id BIGSERIAL, body TEXT NOT NULL, PRIMARY KEY (scope, sha256));
`;

/**
 * A page as stored: each distinct statement once, then the rows that ran it, JSON compressed (a page
 * of 10,000 events repeats a handful of statements 10,000 times). Bigint parameters, which JSON
 * has no word for, are written as `{"$bigint": "…"}` and the page says it holds some.
 */
interface PageBody {
  sql: string[];
  rows: unknown[][];
  bigints?: 1;
}

/** Encodes a page's writes (see {@link PageBody}). */
export function encodePage(ops: IndexOp[]): Buffer {
  const index = new Map<string, number>();
  const body: PageBody = { sql: [], rows: [] };
  for (const [sql, params] of ops) {
    let i = index.get(sql);
    if (i === undefined) {
      index.set(sql, (i = body.sql.length));
      body.sql.push(sql);
    }
    const row: unknown[] = [i];
    for (const p of params) {
      if (typeof p === "bigint") {
        body.bigints = 1;
        row.push({ $bigint: p.toString() });
      } else row.push(p);
    }
    body.rows.push(row);
  }
  const json = Buffer.from(JSON.stringify(body));
  return Buffer.concat([
    BROTLI_PAGE,
    zlib.brotliCompressSync(json, {
      params: {
        [zlib.constants.BROTLI_PARAM_QUALITY]: 0,
        [zlib.constants.BROTLI_PARAM_SIZE_HINT]: json.length,
      },
    }),
  ]);
}

/**
 * First byte of a page compressed with Brotli (quality 0: about a fifth of deflate level 1's CPU
 * on a page of hex, and smaller). Pages written before it are raw deflate, whose first byte never
 * has both block-type bits set (block type 3 is invalid): 0xff cannot start one.
 */
const BROTLI_PAGE = Buffer.from([0xff]);

/** Decodes a page written by {@link encodePage}. */
export function decodePage(bytes: Buffer): IndexOp[] {
  const json = bytes[0] === BROTLI_PAGE[0] ? zlib.brotliDecompressSync(bytes.subarray(1)) : zlib.inflateRawSync(bytes);
  // Mostly hex: ASCII decoded as Latin-1 (the same characters, without the UTF-8 decoder's cost).
  const body = JSON.parse(json.toString(isAscii(json) ? "latin1" : "utf8")) as PageBody;
  const bigint = (v: unknown) =>
    v !== null && typeof v === "object" && "$bigint" in v ? BigInt((v as { $bigint: string }).$bigint) : v;
  return body.rows.map((row) => [body.sql[row[0] as number], body.bigints ? row.slice(1).map(bigint) : row.slice(1)]);
}

/** Tables the indexer writes (everything a page can change), in the order a snapshot lists them. */
export const INDEX_TABLES = [...CHAIN_TABLES, "documents"] as const;

/** The writes that empty an index (every indexed table and the indexer's cursor keys): a snapshot's first ops. */
export function emptyIndexOps(): IndexOp[] {
  const ops: IndexOp[] = INDEX_TABLES.map((table) => [`DELETE FROM ${table}`, []]);
  ops.push(["DELETE FROM meta WHERE key LIKE 'cursor:%'", []]);
  return ops;
}

/**
 * The writes that turn any copy of the index into `db`'s index: every indexed table emptied, then
 * filled with `db`'s rows, and the indexer's cursor keys (`cursor:…`) copied. Applied like a page.
 */
export function snapshotOps(db: Database.Database): IndexOp[] {
  const ops = emptyIndexOps();
  for (const table of INDEX_TABLES) {
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    const sql = `INSERT INTO ${table} (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`;
    for (const row of db
      .prepare(`SELECT ${columns.join(", ")} FROM ${table}`)
      .raw()
      .iterate())
      ops.push([sql, row as unknown[]]);
  }
  for (const row of db.prepare("SELECT key, value FROM meta WHERE key LIKE 'cursor:%'").raw().iterate())
    ops.push(["INSERT INTO meta (key, value) VALUES (?, ?)", row as unknown[]]);
  return ops;
}

/**
 * The portal's index shared in PostgreSQL by several portal instances: the index is the ordered
 * list of pages the elected indexer committed (each page the writes of one `eth_getLogs` range, or
 * of a reorganisation's rollback, with the cursor after it), and every instance — the indexer
 * included — serves from its own SQLite copy that applies those pages in order. Exactly one
 * instance writes: the one holding a session-level advisory lock on a dedicated connection (when
 * its process dies, PostgreSQL ends the session and releases the lock; another instance takes it on
 * its next try). A page is appended in one transaction that checks the shared cursor is the one the
 * writer indexed from, so a deposed writer can neither index a range twice nor skip one.
 */
export class PostgresIndexLog {
  private leader?: Client;
  private constructor(
    private readonly url: string,
    private readonly pool: Pool,
    readonly scope: string,
    private readonly lockKey: string,
  ) {}

  /** Connects and creates the tables when missing (PORTAL_STORE_FAILED when it cannot). */
  static async open(url: string, scope: string): Promise<PostgresIndexLog> {
    const pg = require("pg") as typeof import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock(4207752375419049166)");
        await client.query(SCHEMA);
        await client.query("SELECT pg_advisory_unlock(4207752375419049166)");
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw storeFailed(url, e);
    }
    const lockKey = BigInt.asIntN(
      64,
      BigInt("0x" + crypto.createHash("sha256").update(scope).digest("hex").slice(0, 16)),
    );
    return new PostgresIndexLog(url, pool, scope, String(lockKey));
  }

  /** Whether this instance writes the index (tries to take the lock when it does not yet). */
  async lead(): Promise<boolean> {
    if (this.leader) return true;
    const pg = require("pg") as typeof import("pg");
    const client = new pg.Client({ connectionString: this.url });
    try {
      await client.connect();
      const got = (await client.query("SELECT pg_try_advisory_lock($1::bigint) AS got", [this.lockKey])).rows[0].got;
      if (!got) {
        await client.end();
        return false;
      }
    } catch {
      await client.end().catch(() => undefined);
      return false;
    }
    // The lock lives as long as this session: a lost connection means another instance may write.
    const lost = () => {
      if (this.leader === client) this.leader = undefined;
    };
    client.on("error", lost);
    client.on("end", lost);
    this.leader = client;
    return true;
  }

  get leading(): boolean {
    return this.leader !== undefined;
  }

  /**
   * Appends a page whose writes take the index from block `fromCursor` to `toBlock`; refused
   * (PORTAL_INDEX_CONFLICT) when the shared cursor is no longer `fromCursor` or this instance lost
   * the lock — another instance wrote meanwhile. Returns the page's number.
   */
  async append(fromCursor: number, toBlock: number, ops: IndexOp[]): Promise<number> {
    const body = encodePage(ops);
    return this.inTransaction(async (c) => {
      await c.query("INSERT INTO portal_index_head (scope, seq, to_block) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING", [
        this.scope,
        fromCursor,
      ]);
      const row = (
        await c.query("SELECT seq, to_block FROM portal_index_head WHERE scope = $1 FOR UPDATE", [this.scope])
      ).rows[0] as { seq: string; to_block: string };
      if (Number(row.to_block) !== fromCursor || !this.leader)
        throw conflict(`the shared index is at block ${row.to_block}, not ${fromCursor}`);
      const seq = Number(row.seq) + 1;
      await c.query("INSERT INTO portal_index_log (scope, seq, to_block, body) VALUES ($1, $2, $3, $4)", [
        this.scope,
        seq,
        toBlock,
        body,
      ]);
      await c.query("UPDATE portal_index_head SET seq = $2, to_block = $3 WHERE scope = $1", [
        this.scope,
        seq,
        toBlock,
      ]);
      return seq;
    });
  }

  /**
   * Pages after `seq`, in order (at most `limit`). When the log no longer holds page `seq + 1`
   * (compacted away), `snapshot` is the snapshot to start from instead (apply it, then ask again).
   */
  async pagesAfter(
    seq: number,
    limit = 50,
  ): Promise<{ pages: Array<{ seq: number; ops: IndexOp[] }>; snapshot?: { seq: number; ops: IndexOp[] } }> {
    const rows = (
      await this.pool.query(
        "SELECT seq, body FROM portal_index_log WHERE scope = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        [this.scope, seq, limit],
      )
    ).rows as Array<{ seq: string; body: Buffer }>;
    if (rows.length === 0 || Number(rows[0].seq) !== seq + 1) {
      // Either nothing new, or the pages after `seq` were compacted into a snapshot.
      const snap = (
        await this.pool.query("SELECT seq, body FROM portal_index_snapshot WHERE scope = $1 AND seq > $2", [
          this.scope,
          seq,
        ])
      ).rows[0] as { seq: string; body: Buffer } | undefined;
      if (snap) return { pages: [], snapshot: { seq: Number(snap.seq), ops: decodePage(snap.body) } };
      if (rows.length > 0)
        throw new ProofmarkError(
          "PORTAL_STORE_FAILED",
          `the shared index lacks page ${seq + 1} and has no snapshot after it`,
          {},
        );
    }
    return { pages: rows.map((r) => ({ seq: Number(r.seq), ops: decodePage(r.body) })) };
  }

  /** The number of the newest snapshot (0: none). */
  async snapshotSeq(): Promise<number> {
    const row = (await this.pool.query("SELECT seq FROM portal_index_snapshot WHERE scope = $1", [this.scope]))
      .rows[0] as { seq: string } | undefined;
    return row ? Number(row.seq) : 0;
  }

  /**
   * Compacts the log: stores `ops` (the index as of page `seq`, see {@link snapshotOps}) as the
   * scope's snapshot and deletes every page up to `seq`, in one transaction that checks this
   * instance still holds the lock and the log's head is still page `seq` (PORTAL_INDEX_CONFLICT
   * otherwise). A starting instance then applies the snapshot and the pages after it, however long
   * the history.
   */
  async compact(seq: number, toBlock: number, ops: IndexOp[]): Promise<void> {
    const body = encodePage(ops);
    await this.inTransaction(async (c) => {
      const row = (await c.query("SELECT seq FROM portal_index_head WHERE scope = $1 FOR UPDATE", [this.scope]))
        .rows[0] as { seq: string } | undefined;
      if (!row || Number(row.seq) !== seq || !this.leader)
        throw conflict(`the shared index is at page ${row?.seq ?? 0}, not ${seq}`);
      await c.query(
        `INSERT INTO portal_index_snapshot (scope, seq, to_block, body, made_at) VALUES ($1, $2, $3, $4, now())
         ON CONFLICT (scope) DO UPDATE SET seq = excluded.seq, to_block = excluded.to_block, body = excluded.body, made_at = excluded.made_at`,
        [this.scope, seq, toBlock, body],
      );
      await c.query("DELETE FROM portal_index_log WHERE scope = $1 AND seq <= $2", [this.scope, seq]);
    });
  }

  /** Runs `work` in one transaction on a pooled connection (errors other than conflicts: PORTAL_STORE_FAILED). */
  private async inTransaction<T>(work: (c: import("pg").PoolClient) => Promise<T>): Promise<T> {
    if (!this.leader) throw conflict("this instance no longer holds the indexer lock");
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      const out = await work(c);
      await c.query("COMMIT");
      return out;
    } catch (e) {
      await c.query("ROLLBACK").catch(() => undefined);
      if ((e as { code?: string }).code === "PORTAL_INDEX_CONFLICT") throw e;
      throw new ProofmarkError(
        "PORTAL_STORE_FAILED",
        `writing the index failed: ${(e as Error).message}`,
        {},
        {
          cause: e,
        },
      );
    } finally {
      c.release();
    }
  }

  /**
   * Shares a codes manifest (its JSON text) with every instance on this index, whichever instance
   * writes the index and whatever codes folder each one has. Idempotent (keyed by the text's
   * SHA-256). Each instance still checks a shared manifest against the chain before using it.
   */
  async shareManifest(body: string): Promise<void> {
    const sha256 = crypto.createHash("sha256").update(body).digest("hex");
    try {
      await this.pool.query(
        "INSERT INTO portal_codes_manifests (scope, sha256, body) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [this.scope, sha256, body],
      );
    } catch (e) {
      throw storeFailed(this.url, e);
    }
  }

  /** The manifests shared after `id` (in the order they were shared), and the id to ask after next time. */
  async manifestsAfter(id: number): Promise<{ id: number; manifests: Array<{ sha256: string; body: string }> }> {
    let rows: Array<{ id: string; sha256: string; body: string }>;
    try {
      rows = (
        await this.pool.query(
          "SELECT id, sha256, body FROM portal_codes_manifests WHERE scope = $1 AND id > $2 ORDER BY id LIMIT 1000",
          [this.scope, id],
        )
      ).rows as typeof rows;
    } catch (e) {
      throw storeFailed(this.url, e);
    }
    return {
      id: rows.length > 0 ? Number(rows[rows.length - 1].id) : id,
      manifests: rows.map((r) => ({ sha256: r.sha256, body: r.body })),
    };
  }

  async close(): Promise<void> {
    const leader = this.leader;
    this.leader = undefined;
    await leader?.end().catch(() => undefined);
    await this.pool.end().catch(() => undefined);
  }
}

/**
 * A SQLite index seen through a recorder: statements prepared on {@link db} run as usual, and
 * while {@link apply} runs, every `run()` is also recorded — the page of writes the shared index
 * gets. A statement is the database's own object with its `run` replaced (a Proxy around each one
 * cost a trap and a closure per call: the writer's whole page recorded, 10,000 events, paid it
 * about twice per event).
 */
export class IndexRecorder {
  readonly db: Database.Database;
  private ops?: IndexOp[];

  constructor(private readonly real: Database.Database) {
    const recordRuns = (sql: string, st: Database.Statement): Database.Statement => {
      const run = st.run;
      st.run = (...params: unknown[]) => {
        this.ops?.push([sql, params]);
        return run.apply(st, params);
      };
      return st;
    };
    this.db = new Proxy(real, {
      get(t, p) {
        if (p === "prepare") return (sql: string) => recordRuns(sql, t.prepare(sql));
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  }

  /**
   * Runs `write` in one transaction on the index and commits it as page `seq` (the writes, then
   * the page number, as {@link applyPage} would apply them): the writes it made. The page is
   * written to this copy once, as it is recorded, before it is appended to the shared index: its
   * writer must rebuild this copy from the shared index when the append fails.
   */
  apply(write: () => void, seq: number): IndexOp[] {
    const ops: IndexOp[] = [];
    this.ops = ops;
    try {
      this.real.transaction(() => {
        write();
        setAppliedPage(this.real, seq);
      })();
    } finally {
      this.ops = undefined;
    }
    return ops;
  }
}

const pageStatements = new WeakMap<Database.Database, Map<string, Database.Statement>>();

/** Applies a page's writes (or a snapshot's) to a SQLite index in one transaction, with the page's number. */
export function applyPage(db: Database.Database, seq: number, ops: IndexOp[]): void {
  let statements = pageStatements.get(db);
  if (!statements) pageStatements.set(db, (statements = new Map()));
  db.transaction(() => {
    for (const [sql, params] of ops) {
      let s = statements.get(sql);
      if (!s) statements!.set(sql, (s = db.prepare(sql)));
      s.run(...params);
    }
    setAppliedPage(db, seq);
  })();
}

function setAppliedPage(db: Database.Database, seq: number): void {
  db.prepare(
    "INSERT INTO meta (key, value) VALUES ('index-page', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  ).run(String(seq));
}

/** The last page applied to a SQLite index (0: none). */
export function appliedPage(db: Database.Database): number {
  const row = db.prepare("SELECT value FROM meta WHERE key = 'index-page'").get() as { value: string } | undefined;
  return row ? Number(row.value) : 0;
}

function conflict(message: string): ProofmarkError {
  return new ProofmarkError("PORTAL_INDEX_CONFLICT", message, {});
}

function storeFailed(url: string, e: unknown): ProofmarkError {
  return new ProofmarkError(
    "PORTAL_STORE_FAILED",
    `the portal's PostgreSQL database cannot be used: ${(e as Error).message}`,
    { database: url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@") },
    { cause: e },
  );
}
