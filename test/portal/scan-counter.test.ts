import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import { openDb, ScanCounter, startCheckpointer } from "../../packages/portal/src";
import { tempDataDir } from "./fixture";

/** Scan counting against a real SQLite file: per-client windows, write-behind, restart. */
describe("portal: scan counter", () => {
  const WINDOW = 60_000;
  let dir: string;
  beforeEach(() => {
    dir = tempDataDir("scan-counter");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const stored = (db: ReturnType<typeof openDb>, serial: string) =>
    db.prepare("SELECT count, first_seen AS firstSeen FROM scans WHERE serial = ?").get(serial) as
      { count: number; firstSeen: number } | undefined;

  it("counts each client once per window, and again after it", () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const c = new ScanCounter(db, WINDOW);
    expect(c.record("S1", "a", 1_000)).to.deep.equal({ count: 1, firstSeen: 1_000, counted: true });
    expect(c.record("S1", "a", 2_000)).to.deep.equal({ count: 1, firstSeen: 1_000, counted: false });
    expect(c.record("S1", "b", 3_000)).to.deep.equal({ count: 2, firstSeen: 1_000, counted: true });
    expect(c.record("S1", "a", 1_000 + WINDOW)).to.deep.equal({ count: 3, firstSeen: 1_000, counted: true });
    expect(c.record("S2", "a", 5_000).count).to.equal(1);
    c.flush();
    db.close();
  });

  it("keeps to a per-client budget per serial, across windows and restarts, and renews it after its period", () => {
    const DAY = 24 * 3_600_000;
    const db = openDb(path.join(dir, "index.sqlite"));
    const c = new ScanCounter(db, WINDOW, undefined, { perClient: 2, periodMs: DAY });
    expect(c.record("S1", "a", 1_000).counted).to.equal(true);
    expect(c.record("S1", "a", 1_000 + WINDOW).counted).to.equal(true);
    expect(c.record("S1", "a", 1_000 + 2 * WINDOW), "over budget").to.deep.equal({
      count: 2,
      firstSeen: 1_000,
      counted: false,
    });
    expect(c.record("S1", "b", 1_000 + 2 * WINDOW).count, "another client still counts").to.equal(3);
    c.flush();
    const c2 = new ScanCounter(db, WINDOW, undefined, { perClient: 2, periodMs: DAY });
    expect(c2.record("S1", "a", 1_000 + 3 * WINDOW).counted, "the budget survives a restart").to.equal(false);
    expect(c2.record("S1", "a", 1_000 + DAY).counted, "a new period").to.equal(true);
    expect(c2.record("S2", "a", 1_000 + DAY).counted, "budgets are per serial").to.equal(true);
    c2.flush();
    expect(stored(db, "S1")!.count).to.equal(4);
    db.close();
  });

  it("writes counted scans behind, in one go, and a new process continues from them", async () => {
    const file = path.join(dir, "index.sqlite");
    const db = openDb(file);
    const c = new ScanCounter(db, WINDOW);
    for (let i = 0; i < 50; i++) c.record("S1", `client-${i}`, 10_000 + i);
    expect(stored(db, "S1"), "nothing written yet").to.equal(undefined);
    await new Promise((r) => setTimeout(r, ScanCounter.FLUSH_MS + 50));
    expect(stored(db, "S1")).to.deep.equal({ count: 50, firstSeen: 10_000 });
    c.record("S1", "client-50", 20_000);
    c.flush();
    db.close();

    // A restarted portal: same clients within the window are not counted again; new ones are.
    const db2 = openDb(file);
    const c2 = new ScanCounter(db2, WINDOW);
    expect(c2.record("S1", "client-3", 30_000)).to.deep.equal({ count: 51, firstSeen: 10_000, counted: false });
    expect(c2.record("S1", "someone-new", 30_000)).to.deep.equal({ count: 52, firstSeen: 10_000, counted: true });
    c2.flush();
    expect(stored(db2, "S1")!.count).to.equal(52);
    db2.close();
  });

  it("forgets a client's hash once its window has passed (the index keeps no old client data)", () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const c = new ScanCounter(db, WINDOW);
    const clients = () => (db.prepare("SELECT COUNT(*) AS n FROM scan_clients").get() as { n: number }).n;
    c.record("S1", "a", 100_000);
    c.record("S1", "b", 100_000);
    c.flush();
    expect(clients()).to.equal(2);
    c.record("S1", "c", 100_000 + WINDOW + 60_000);
    c.flush();
    expect(clients(), "a and b are past their window").to.equal(1);
    expect(stored(db, "S1")!.count, "the count itself stays").to.equal(3);
    db.close();
  });

  it("flushes before it forgets, so counts stay exact when its memory fills", () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const c = new ScanCounter(db, WINDOW);
    c.record("S1", "a", 1_000);
    c.flush(true); // what happens when the maps reach their caps
    expect(stored(db, "S1")!.count).to.equal(1);
    expect(c.record("S1", "a", 2_000)).to.deep.equal({ count: 1, firstSeen: 1_000, counted: false });
    expect(c.record("S1", "b", 2_000).count).to.equal(2);
    c.flush();
    db.close();
  });

  it("keeps pending counts and reports when SQLite cannot take them, then writes them later", () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const errors: unknown[] = [];
    const c = new ScanCounter(db, WINDOW, (e) => errors.push(e));
    c.record("S1", "a", 1_000);
    // Another connection holds the write lock: the flush fails with SQLITE_BUSY.
    const other = openDb(path.join(dir, "index.sqlite"));
    other.pragma("busy_timeout = 0");
    db.pragma("busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    c.flush();
    expect(errors).to.have.length(1);
    expect(String((errors[0] as Error).message)).to.match(/locked|busy/i);
    other.exec("ROLLBACK");
    other.close();
    expect(c.record("S1", "b", 2_000).count).to.equal(2);
    c.flush();
    expect(stored(db, "S1")!.count).to.equal(2);
    db.close();
  });

  it("tries a failed write again by itself, without waiting for the next scan", async () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const errors: unknown[] = [];
    const c = new ScanCounter(db, WINDOW, (e) => errors.push(e));
    const other = openDb(path.join(dir, "index.sqlite"));
    other.pragma("busy_timeout = 0");
    db.pragma("busy_timeout = 0");
    other.exec("BEGIN IMMEDIATE");
    c.record("S1", "a", 1_000);
    await new Promise((r) => setTimeout(r, ScanCounter.FLUSH_MS + 100));
    expect(errors.length, "the write-behind failed").to.be.greaterThan(0);
    other.exec("ROLLBACK");
    other.close();
    await new Promise((r) => setTimeout(r, ScanCounter.RETRY_MS + 200));
    expect(stored(db, "S1"), "written by the retry").to.deep.equal({ count: 1, firstSeen: 1_000 });
    c.flush();
    db.close();
  });

  it("a prune that fails after the counts were committed does not count them again", () => {
    const db = openDb(path.join(dir, "index.sqlite"));
    const errors: unknown[] = [];
    const c = new ScanCounter(db, WINDOW, (e) => errors.push(e));
    // The prune deletes old client rows; make it fail the way a full disk would, after the write.
    db.exec(
      "CREATE TRIGGER no_prune BEFORE DELETE ON scan_clients BEGIN SELECT RAISE(FAIL, 'database or disk is full'); END",
    );
    c.record("S1", "a", 100_000);
    c.flush();
    c.record("S1", "b", 100_000 + WINDOW + 60_000); // a's window has passed: the prune deletes it
    c.flush();
    expect(errors, "the failed prune is reported").to.have.length(1);
    c.flush();
    expect(stored(db, "S1")!.count, "each scan once").to.equal(2);
    db.exec("DROP TRIGGER no_prune");
    c.record("S1", "c", 100_000 + 2 * WINDOW + 120_000);
    c.flush();
    expect(stored(db, "S1")!.count).to.equal(3);
    db.close();
  });
});

describe("portal: WAL checkpoints off the serving thread", () => {
  it("a worker copies committed rows into the database file; stopping it restores SQLite's own checkpoints", async function () {
    this.timeout(20_000);
    const dir = tempDataDir("checkpointer");
    try {
      const file = path.join(dir, "index.sqlite");
      const db = openDb(file);
      const checkpointer = startCheckpointer(db);
      expect(db.pragma("wal_autocheckpoint", { simple: true })).to.equal(0);
      const c = new ScanCounter(db, 60_000);
      for (let i = 0; i < 2_000; i++) c.record(`S${i % 7}`, `client-${i}`, 1_000 + i);
      c.flush();
      // The database file alone (without its -wal) holds only what was checkpointed.
      const countInFile = () => {
        const copy = path.join(dir, `copy-${Math.random()}.sqlite`);
        fs.copyFileSync(file, copy);
        const d = new Database(copy, { readonly: true });
        try {
          return (d.prepare("SELECT COUNT(*) AS n FROM scan_clients").get() as { n: number }).n;
        } catch {
          return 0; // the table itself is not in the file yet
        } finally {
          d.close();
        }
      };
      let n = countInFile();
      for (let i = 0; i < 30 && n < 2_000; i++) {
        await new Promise((r) => setTimeout(r, 200));
        n = countInFile();
      }
      expect(n).to.equal(2_000);
      await checkpointer.stop();
      expect(db.pragma("wal_autocheckpoint", { simple: true })).to.equal(1000);
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
