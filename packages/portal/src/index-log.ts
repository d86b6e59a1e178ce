import * as crypto from "node:crypto";
import type Database from "better-sqlite3";
import { ProofmarkError } from "@proofmark/sdk";

type Pool = import("pg").Pool;
type Client = import("pg").Client;

/** One write to the index: a SQLite statement and its parameters, as the indexer ran it. */
export type IndexOp = [sql: string, params: unknown[]];

const SCHEMA = `
CREATE TABLE IF NOT EXISTS portal_index_pages (
  scope TEXT NOT NULL, seq BIGINT NOT NULL, to_block BIGINT NOT NULL, ops JSONB NOT NULL, PRIMARY KEY (scope, seq));
CREATE TABLE IF NOT EXISTS portal_index_cursor (scope TEXT PRIMARY KEY, seq BIGINT NOT NULL, to_block BIGINT NOT NULL);
`;

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
   * the lock — another instance wrote meanwhile.
   */
  async append(fromCursor: number, toBlock: number, ops: IndexOp[]): Promise<void> {
    if (!this.leader) throw conflict("this instance no longer holds the indexer lock");
    const c = await this.pool.connect();
    try {
      await c.query("BEGIN");
      await c.query(
        "INSERT INTO portal_index_cursor (scope, seq, to_block) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING",
        [this.scope, fromCursor],
      );
      const row = (
        await c.query("SELECT seq, to_block FROM portal_index_cursor WHERE scope = $1 FOR UPDATE", [this.scope])
      ).rows[0] as { seq: string; to_block: string };
      if (Number(row.to_block) !== fromCursor || !this.leader)
        throw conflict(`the shared index is at block ${row.to_block}, not ${fromCursor}`);
      const seq = Number(row.seq) + 1;
      await c.query("INSERT INTO portal_index_pages (scope, seq, to_block, ops) VALUES ($1, $2, $3, $4)", [
        this.scope,
        seq,
        toBlock,
        JSON.stringify(ops, (_k, v: unknown) => (typeof v === "bigint" ? { $bigint: v.toString() } : v)),
      ]);
      await c.query("UPDATE portal_index_cursor SET seq = $2, to_block = $3 WHERE scope = $1", [
        this.scope,
        seq,
        toBlock,
      ]);
      await c.query("COMMIT");
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

  /** Pages after `seq`, in order (at most `limit`). */
  async pagesAfter(seq: number, limit = 200): Promise<Array<{ seq: number; ops: IndexOp[] }>> {
    const rows = (
      await this.pool.query(
        "SELECT seq, ops::text AS ops FROM portal_index_pages WHERE scope = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        [this.scope, seq, limit],
      )
    ).rows as Array<{ seq: string; ops: string }>;
    return rows.map((r) => ({
      seq: Number(r.seq),
      ops: JSON.parse(r.ops, (_k, v: unknown) =>
        v && typeof v === "object" && "$bigint" in v ? BigInt((v as { $bigint: string }).$bigint) : v,
      ) as IndexOp[],
    }));
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
 * while {@link record} runs, every `run()` is also recorded. `record` rolls its transaction back:
 * the index changes only when the recorded page is applied ({@link applyPage}).
 */
export class IndexRecorder {
  readonly db: Database.Database;
  private ops?: IndexOp[];

  constructor(private readonly real: Database.Database) {
    const wrap = <T extends object>(target: T, get: (p: string | symbol) => unknown): T =>
      new Proxy(target, {
        get(t, p) {
          const special = get(p);
          if (special !== undefined) return special;
          const v = Reflect.get(t, p, t) as unknown;
          return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
        },
      });
    this.db = wrap(real, (p) =>
      p === "prepare"
        ? (sql: string) => {
            const st = real.prepare(sql);
            return wrap(st, (q) =>
              q === "run"
                ? (...params: unknown[]) => {
                    this.ops?.push([sql, params]);
                    return st.run(...params);
                  }
                : undefined,
            );
          }
        : undefined,
    );
  }

  /** Runs `write` in a transaction that is rolled back; the writes it made. */
  record(write: () => void): IndexOp[] {
    const ops: IndexOp[] = [];
    const rolledBack = new Error("recorded");
    this.ops = ops;
    try {
      this.real.transaction(() => {
        write();
        throw rolledBack;
      })();
    } catch (e) {
      if (e !== rolledBack) throw e;
    } finally {
      this.ops = undefined;
    }
    return ops;
  }
}

/** Applies a page's writes to a SQLite index in one transaction, with the page's number. */
export function applyPage(db: Database.Database, seq: number, ops: IndexOp[]): void {
  const statements = new Map<string, Database.Statement>();
  db.transaction(() => {
    for (const [sql, params] of ops) {
      let s = statements.get(sql);
      if (!s) statements.set(sql, (s = db.prepare(sql)));
      s.run(...params);
    }
    db.prepare(
      "INSERT INTO meta (key, value) VALUES ('index-page', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    ).run(String(seq));
  })();
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
