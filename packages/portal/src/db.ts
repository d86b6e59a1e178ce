import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import Database from "better-sqlite3";

/**
 * The portal's index: everything pages show, in one SQLite file, so that no page waits on the
 * chain. Rows that come from chain logs carry their block number, so a reorganisation is undone
 * with `DELETE … WHERE block > n`. Scan counts are the portal's own data and survive reorgs.
 */
export const SCHEMA_VERSION = 3;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash TEXT NOT NULL, time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS anchors (
  root TEXT PRIMARY KEY, submitter TEXT NOT NULL, leaf_count INTEGER NOT NULL,
  block INTEGER NOT NULL, tx TEXT NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS anchors_block ON anchors(block);
CREATE TABLE IF NOT EXISTS products (
  id INTEGER PRIMARY KEY, admin TEXT NOT NULL, registrar TEXT NOT NULL, name TEXT NOT NULL, name_en TEXT NOT NULL,
  gi_number TEXT NOT NULL, region TEXT NOT NULL, unit TEXT NOT NULL, max_yield_bps INTEGER NOT NULL, standard TEXT NOT NULL,
  block INTEGER NOT NULL, tx TEXT NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS products_block ON products(block);
CREATE TABLE IF NOT EXISTS lots (
  id INTEGER PRIMARY KEY, product INTEGER NOT NULL, origin INTEGER NOT NULL, actor TEXT NOT NULL, season INTEGER,
  quantity TEXT NOT NULL, packages INTEGER NOT NULL, parents TEXT NOT NULL, amounts TEXT NOT NULL,
  block INTEGER NOT NULL, tx TEXT NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS lots_block ON lots(block);
CREATE TABLE IF NOT EXISTS lot_parents (
  lot INTEGER NOT NULL, parent INTEGER NOT NULL, amount TEXT NOT NULL, block INTEGER NOT NULL, PRIMARY KEY (lot, parent));
CREATE INDEX IF NOT EXISTS lot_parents_parent ON lot_parents(parent);
CREATE TABLE IF NOT EXISTS lot_states (
  lot INTEGER NOT NULL, block INTEGER NOT NULL, status TEXT NOT NULL, remaining TEXT NOT NULL, issued_codes INTEGER NOT NULL,
  head TEXT NOT NULL, PRIMARY KEY (lot, block));
CREATE INDEX IF NOT EXISTS lot_states_block ON lot_states(block);
CREATE TABLE IF NOT EXISTS lot_checks (
  lot INTEGER NOT NULL, block INTEGER NOT NULL, head TEXT NOT NULL, status TEXT NOT NULL, quantity TEXT NOT NULL, remaining TEXT NOT NULL,
  PRIMARY KEY (lot, block));
CREATE INDEX IF NOT EXISTS lot_checks_block ON lot_checks(block);
CREATE TABLE IF NOT EXISTS licences (
  product INTEGER NOT NULL, producer TEXT NOT NULL, season INTEGER NOT NULL, block INTEGER NOT NULL, quota TEXT NOT NULL, harvested TEXT NOT NULL,
  PRIMARY KEY (product, producer, season, block));
CREATE INDEX IF NOT EXISTS licences_block ON licences(block);
CREATE TABLE IF NOT EXISTS events (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, lot INTEGER NOT NULL, actor TEXT NOT NULL, step INTEGER NOT NULL,
  disposition INTEGER NOT NULL, event_time INTEGER NOT NULL, location TEXT NOT NULL, document TEXT NOT NULL,
  tx TEXT NOT NULL, time INTEGER NOT NULL, doc_check TEXT NOT NULL, cid TEXT, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS events_doc_check ON events(doc_check);
CREATE INDEX IF NOT EXISTS events_lot ON events(lot, block, log_index);
CREATE TABLE IF NOT EXISTS recalls (
  lot INTEGER PRIMARY KEY, actor TEXT NOT NULL, reason TEXT NOT NULL, block INTEGER NOT NULL, tx TEXT NOT NULL, time INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS recalls_block ON recalls(block);
CREATE TABLE IF NOT EXISTS code_issues (
  block INTEGER NOT NULL, log_index INTEGER NOT NULL, lot INTEGER NOT NULL, actor TEXT NOT NULL, count INTEGER NOT NULL,
  issued_total INTEGER NOT NULL, commitment TEXT NOT NULL, tx TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY (block, log_index));
CREATE INDEX IF NOT EXISTS code_issues_commitment ON code_issues(commitment);
CREATE TABLE IF NOT EXISTS participants (
  product INTEGER NOT NULL, account TEXT NOT NULL, block INTEGER NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
  name_en TEXT NOT NULL, licence TEXT NOT NULL, region TEXT NOT NULL, tx TEXT NOT NULL, PRIMARY KEY (product, account, block));
CREATE INDEX IF NOT EXISTS participants_block ON participants(block);
CREATE TABLE IF NOT EXISTS serials (
  serial TEXT PRIMARY KEY, gtin TEXT NOT NULL, lot INTEGER NOT NULL, leaf TEXT NOT NULL, commitment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS manifests (file TEXT PRIMARY KEY, commitment TEXT NOT NULL, mtime INTEGER NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (document TEXT PRIMARY KEY, cid TEXT NOT NULL, json TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS scans (serial TEXT PRIMARY KEY, first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scan_clients (
  serial TEXT NOT NULL, client TEXT NOT NULL, counted_at INTEGER NOT NULL, scans INTEGER NOT NULL DEFAULT 1, since INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (serial, client));
`;

/** Opens (creating when needed) the index at `file`. */
export function openDb(file: string): Database.Database {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("busy_timeout = 5000");
  // Pages read the index on every request: keep its hot pages in memory (64 MiB of page cache,
  // reads through a 256 MiB memory map instead of a read() per page).
  db.pragma("cache_size = -65536");
  db.pragma("mmap_size = 268435456");
  db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  const version = db.prepare("SELECT value FROM meta WHERE key = 'schema'").get() as { value: string } | undefined;
  if (version && version.value !== String(SCHEMA_VERSION)) {
    // An index of another schema is rebuilt from the chain (scan counts, the portal's own data, are kept).
    db.transaction(() => {
      for (const table of [...CHAIN_TABLES, "serials", "manifests", "documents"])
        db.exec(`DROP TABLE IF EXISTS ${table}`);
      db.exec("DELETE FROM meta WHERE key LIKE 'cursor:%'");
    })();
  }
  db.exec(SCHEMA);
  // Scan counts survive schema changes: an older scan_clients table gains the budget columns.
  const columns = (db.prepare("PRAGMA table_info(scan_clients)").all() as Array<{ name: string }>).map((c) => c.name);
  if (!columns.includes("scans")) db.exec("ALTER TABLE scan_clients ADD COLUMN scans INTEGER NOT NULL DEFAULT 1");
  if (!columns.includes("since")) db.exec("ALTER TABLE scan_clients ADD COLUMN since INTEGER NOT NULL DEFAULT 0");
  db.prepare(
    "INSERT INTO meta (key, value) VALUES ('schema', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
  ).run(String(SCHEMA_VERSION));
  return db;
}

/** Reads a meta value. */
export function getMeta(db: Database.Database, key: string): string | undefined {
  return (db.prepare("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined)?.value;
}

/** Writes a meta value. */
export function setMeta(db: Database.Database, key: string, value: string): void {
  db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(
    key,
    value,
  );
}

/** Tables whose rows come from chain logs at a block (undone on a reorganisation). */
export const CHAIN_TABLES = [
  "anchors",
  "products",
  "lots",
  "lot_parents",
  "lot_states",
  "lot_checks",
  "licences",
  "events",
  "recalls",
  "code_issues",
  "participants",
  "blocks",
] as const;

/** How often the checkpointer copies the write-ahead log into the database file. */
const CHECKPOINT_MS = 1_000;

/**
 * Moves SQLite's WAL checkpoints off the serving thread. A checkpoint copies the log into the
 * database file and syncs it (tens of ms); run automatically, it happens inside whichever commit
 * crosses the threshold, stalling every request queued behind that commit. Here the serving
 * connection stops checkpointing and a worker thread with its own connection runs a PASSIVE
 * checkpoint every second (it never blocks readers or writers). If the worker fails, the serving
 * connection checkpoints by itself again.
 */
export function startCheckpointer(
  db: Database.Database,
  log: (message: string) => void = () => undefined,
): { stop(): Promise<void> } {
  const file = db.name;
  db.pragma("wal_autocheckpoint = 0");
  const fallBack = (why: string) => {
    if (db.open) db.pragma("wal_autocheckpoint = 1000");
    log(`WAL checkpointer stopped (${why}); the serving connection checkpoints itself again`);
  };
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    const Database = require(workerData.module);
    const db = new Database(workerData.file);
    db.pragma("busy_timeout = 1000");
    let failed = false;
    const timer = setInterval(() => {
      try {
        db.pragma("wal_checkpoint(PASSIVE)");
        if (failed) parentPort.postMessage({ ok: true });
        failed = false;
      } catch (e) {
        // A full disk (SQLITE_FULL) or a busy file passes: say it once, and try again next time.
        if (!failed) parentPort.postMessage({ code: e.code, message: e.message });
        failed = true;
      }
    }, workerData.every);
    parentPort.on("message", () => { clearInterval(timer); db.close(); parentPort.close(); });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { file, every: CHECKPOINT_MS, module: require.resolve("better-sqlite3") },
  });
  let stopping = false;
  worker.on("message", (m: { ok?: boolean; code?: string; message?: string }) =>
    log(
      m.ok
        ? "WAL checkpoints resumed"
        : `WAL checkpoint failed, retried every ${CHECKPOINT_MS} ms: [${m.code === "SQLITE_FULL" ? "DISK_FULL" : (m.code ?? "ERROR")}] ${m.message}`,
    ),
  );
  worker.on("error", (e) => fallBack(String(e?.message ?? e)));
  worker.on("exit", (code) => {
    if (!stopping && code !== 0) fallBack(`exit code ${code}`);
  });
  worker.unref();
  return {
    async stop() {
      stopping = true;
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      worker.postMessage("stop");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 2_000).unref())]);
      await worker.terminate().catch(() => undefined);
      if (db.open) db.pragma("wal_autocheckpoint = 1000");
    },
  };
}
