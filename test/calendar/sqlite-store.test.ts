import { expect } from "chai";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as crypto from "node:crypto";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { MerkleTree, SqliteCalendarStore, type Hex } from "../../packages/sdk/src";
import { randomLeaf } from "./helpers";

/**
 * The SQLite store on a real database file: a batch is the next run of leaves in acknowledgement
 * order, recorded by its end position (no per-leaf update), and what it says about a leaf survives
 * reopening.
 */
describe("calendar SQLite store: batches as runs of the acknowledgement order", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-calstore-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const ack = (leaves: Hex[], receivedAt: number) => ({
    root: MerkleTree.build(leaves).root,
    receivedAt,
    calendar: "http://calendar.test",
    signer: `0x${"11".repeat(20)}` as Hex,
    signature: `0x${"22".repeat(65)}` as Hex,
    leaves,
  });

  it("takes the oldest pending leaves in order, finds each leaf's batch and place, keeps a leaf's first acknowledgement, and reopens the same", async function () {
    const file = path.join(dir, "calendar.db");
    const a = [randomLeaf(), randomLeaf(), randomLeaf()];
    const b = [randomLeaf(), a[1], randomLeaf()]; // a[1] again: stays in its first acknowledgement
    const c = [randomLeaf(), randomLeaf()];
    let store = new SqliteCalendarStore(file);
    try {
      const idA = await store.acknowledge(ack(a, 1000));
      const idB = await store.acknowledge(ack(b, 2000));
      expect(await store.pendingCount()).to.equal(5);
      expect(await store.oldestPending()).to.equal(1000);
      const first = await store.openBatch(4, (l) => MerkleTree.build(l).root);
      expect(first!.leaves).to.deep.equal([a[0], a[1], a[2], b[0]]);
      expect(await store.pendingCount()).to.equal(1);
      expect(await store.oldestPending()).to.equal(2000);
      await store.acknowledge(ack(c, 3000));
      expect(await store.pendingCount()).to.equal(3);
      const dup = await store.lookup(a[1]);
      expect(dup!.ack.id).to.equal(idA);
      expect(dup!.ackIndex).to.equal(1);
      expect(dup!.batch!.id).to.equal(first!.id);
      expect(dup!.batchIndex).to.equal(1);
      const pending = await store.lookup(b[2]);
      expect(pending!.ack.id).to.equal(idB);
      expect(pending!.ackIndex).to.equal(2);
      expect(pending!.batch).to.equal(undefined);
    } finally {
      await store.close();
    }
    store = new SqliteCalendarStore(file);
    try {
      expect(await store.pendingCount()).to.equal(3);
      expect(await store.oldestPending()).to.equal(2000);
      const second = await store.openBatch(10, (l) => MerkleTree.build(l).root);
      expect(second!.leaves).to.deep.equal([b[2], c[0], c[1]]);
      expect(await store.pendingCount()).to.equal(0);
      expect(await store.oldestPending()).to.equal(undefined);
      expect(await store.openBatch(10, (l) => MerkleTree.build(l).root)).to.equal(undefined);
      for (const [leaf, batch, index] of [
        [b[0], 1, 3],
        [b[2], 2, 0],
        [c[1], 2, 2],
      ] as const) {
        const found = await store.lookup(leaf);
        expect(found!.batch!.id, leaf).to.equal(batch);
        expect(found!.batchIndex, leaf).to.equal(index);
        expect(MerkleTree.build(found!.batch!.leaves).leaf(index)).to.equal(leaf);
      }
      expect(await store.lookup(randomLeaf())).to.equal(undefined);
      expect(await store.stats()).to.deep.equal({ leaves: 7, batches: 2, completeBatches: 0 });
    } finally {
      await store.close();
    }
  });

  it("an acknowledgement is durable in the log before it is indexed: SIGKILL before the index, reopen indexes it once; a torn record at the end is dropped", async function () {
    const file = path.join(dir, "calendar.db");
    const a = [randomLeaf(), randomLeaf()];
    const b = [randomLeaf(), a[0], randomLeaf()];
    // a real process acknowledges two groups through the built SDK and is SIGKILLed before they reach the leaf table
    const script = `
      const { SqliteCalendarStore, MerkleTree } = require(${JSON.stringify(path.resolve("packages/sdk"))});
      const store = new SqliteCalendarStore(${JSON.stringify(file)});
      const ack = (leaves, t) => ({ root: MerkleTree.build(leaves).root, receivedAt: t, calendar: "http://calendar.test",
        signer: "0x" + "11".repeat(20), signature: "0x" + "22".repeat(65), leaves });
      (async () => {
        const ids = [await store.acknowledge(ack(${JSON.stringify(a)}, 1000)), await store.acknowledge(ack(${JSON.stringify(b)}, 2000))];
        process.stdout.write(JSON.stringify(ids) + "\\n");
      })();`;
    const child = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, PROOFMARK_TEST_CRASH: "calendar-before-index" },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const signal = await new Promise((r) => child.once("exit", (_code, sig) => r(sig)));
    expect(signal).to.equal("SIGKILL");
    expect(JSON.parse(out)).to.deep.equal([1, 2]);
    // nothing reached the leaf table before the kill
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const raw = new BetterSqlite3(file, { readonly: true });
    expect(raw.prepare("SELECT COUNT(*) AS n FROM leaf_runs").get()).to.deep.equal({ n: 0 });
    raw.close();
    // a record cut short by the kill (written, never synced, never acknowledged) at the end of the log
    const logDir = `${file}-acks`;
    const segments = fs.readdirSync(logDir);
    expect(segments).to.have.length(1);
    fs.appendFileSync(path.join(logDir, segments[0]), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5]));
    const store = new SqliteCalendarStore(file);
    try {
      expect(await store.pendingCount()).to.equal(4);
      expect(await store.oldestPending()).to.equal(1000);
      const first = await store.lookup(a[0]);
      expect(first!.ack.id).to.equal(1);
      expect(first!.ack.leaves).to.deep.equal(a);
      expect((await store.lookup(b[2]))!.ackIndex).to.equal(2);
      // the next acknowledgement continues the ids after the recovered ones
      expect(await store.acknowledge(ack([randomLeaf()], 3000))).to.equal(3);
      const batch = await store.openBatch(10, (l) => MerkleTree.build(l).root);
      expect(batch!.leaves.slice(0, 4)).to.deep.equal([a[0], a[1], b[0], b[2]]);
      expect(batch!.leafCount).to.equal(5);
      expect(await store.stats()).to.deep.equal({ leaves: 5, batches: 1, completeBatches: 0 });
    } finally {
      await store.close();
    }
    // the recovered log was emptied once indexed: reopening finds the same, nothing twice
    const again = new SqliteCalendarStore(file);
    try {
      expect(await again.stats()).to.deep.equal({ leaves: 5, batches: 1, completeBatches: 0 });
      expect(await again.pendingCount()).to.equal(0);
    } finally {
      await again.close();
    }
  });

  for (const [when, wait] of [
    ["idle", "await store.pendingCount(); // indexed: the indexer is idle"],
    ["with the acknowledgement not yet indexed", ""],
  ])
    it(`close() returns in a program with nothing else to do (the indexer does not let the process end first), ${when}`, async function () {
      const file = path.join(dir, "calendar.db");
      const script = `
      const { SqliteCalendarStore, MerkleTree } = require(${JSON.stringify(path.resolve("packages/sdk"))});
      (async () => {
        const store = new SqliteCalendarStore(${JSON.stringify(file)});
        const leaves = ["0x" + "ab".repeat(32)];
        await store.acknowledge({ root: MerkleTree.build(leaves).root, receivedAt: 1, calendar: "http://calendar.test",
          signer: "0x" + "11".repeat(20), signature: "0x" + "22".repeat(65), leaves });
        ${wait}
        await store.close();
        process.stdout.write("closed\\n");
      })();`;
      const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      const code = await new Promise((r) => child.once("exit", (c) => r(c)));
      expect([code, out]).to.deep.equal([0, "closed\n"]);
    });

  it("recovers a log of 200,000 acknowledgements on open (a busy run killed while the index lagged behind)", async function () {
    this.timeout(180_000);
    const file = path.join(dir, "calendar.db");
    const logDir = `${file}-acks`;
    fs.mkdirSync(logDir, { recursive: true });
    // the log's record format (docs: SqliteCalendarStore): u32 length, u32 CRC-32, u32 header length, header JSON, leaves
    const n = 200_000;
    const bytes = crypto.randomBytes(32 * n);
    const leaves: Hex[] = [];
    const records: Buffer[] = [];
    for (let id = 1; id <= n; id++) {
      const leaf = `0x${bytes.toString("hex", (id - 1) * 32, id * 32)}` as Hex;
      leaves.push(leaf);
      const header = Buffer.from(
        JSON.stringify({
          id,
          root: leaf, // the root of a one-leaf tree is its leaf
          receivedAt: 1000 + id,
          calendar: "http://calendar.test",
          signer: `0x${"11".repeat(20)}`,
          signature: `0x${"22".repeat(65)}`,
        }),
      );
      const payload = Buffer.concat([Buffer.alloc(4), header, bytes.subarray((id - 1) * 32, id * 32)]);
      payload.writeUInt32LE(header.length, 0);
      const prefix = Buffer.alloc(8);
      prefix.writeUInt32LE(payload.length, 0);
      prefix.writeUInt32LE(zlib.crc32(payload), 4);
      records.push(prefix, payload);
    }
    fs.writeFileSync(path.join(logDir, "000000000001.log"), Buffer.concat(records));
    const store = new SqliteCalendarStore(file);
    try {
      expect(await store.pendingCount()).to.equal(n);
      expect((await store.lookup(leaves[n - 1]))!.ack.id).to.equal(n);
      expect(await store.acknowledge(ack([randomLeaf()], 999_999))).to.equal(n + 1);
    } finally {
      await store.close();
    }
  });

  it("answers a leaf from the log before the index has it, and batches only after the index caught up", async function () {
    const store = new SqliteCalendarStore(path.join(dir, "calendar.db"));
    try {
      const leaves = Array.from({ length: 500 }, randomLeaf);
      const ids = await Promise.all(
        [0, 1, 2, 3, 4].map((g) => store.acknowledge(ack(leaves.slice(g * 100, g * 100 + 100), 1000 + g))),
      );
      expect(ids).to.deep.equal([1, 2, 3, 4, 5]);
      // each leaf is known at once, whether or not the indexer reached it
      for (const [i, leaf] of leaves.entries()) {
        const found = await store.lookup(leaf);
        expect(found!.ack.id, leaf).to.equal(ids[Math.floor(i / 100)]);
        expect(found!.ackIndex).to.equal(i % 100);
      }
      // a leaf acknowledged again keeps its first acknowledgement, in the log as in the table
      const again = randomLeaf();
      expect(await store.acknowledge(ack([again, leaves[150]], 2000))).to.equal(6);
      const first = await store.lookup(leaves[150]);
      expect([first!.ack.id, first!.ackIndex]).to.deep.equal([2, 50]);
      expect(first!.ack.leaves).to.deep.equal(leaves.slice(100, 200));
      const second = await store.lookup(again);
      expect([second!.ack.id, second!.ackIndex]).to.deep.equal([6, 0]);
      const batch = await store.openBatch(1000, async (l) => (await MerkleTree.buildAsync(l)).root);
      expect(batch!.leaves).to.deep.equal([...leaves, again]);
      expect(batch!.root).to.equal(MerkleTree.build([...leaves, again]).root);
    } finally {
      await store.close();
    }
  });

  it("keeps leaves that share their first 8 bytes apart (a client can choose them): each found at its first acknowledgement, each batched once", async function () {
    const file = path.join(dir, "calendar.db");
    const prefix = randomLeaf().slice(0, 18); // 0x + 8 bytes
    const twin = (): Hex => `${prefix}${randomLeaf().slice(18)}` as Hex;
    const [x, y, z] = [twin(), twin(), twin()];
    const other = randomLeaf();
    let store = new SqliteCalendarStore(file);
    try {
      await store.acknowledge(ack([x, other], 1000));
      await store.acknowledge(ack([y, x, z], 2000)); // x again: stays at (1, 0)
      await store.acknowledge(ack([z, y], 3000)); // both again
      expect(await store.pendingCount()).to.equal(4);
      const batch = await store.openBatch(10, (l) => MerkleTree.build(l).root);
      expect(batch!.leaves).to.deep.equal([x, other, y, z]);
      expect(await store.stats()).to.deep.equal({ leaves: 4, batches: 1, completeBatches: 0 });
    } finally {
      await store.close();
    }
    store = new SqliteCalendarStore(file);
    try {
      for (const [leaf, ackId, ackIndex, batchIndex] of [
        [x, 1, 0, 0],
        [other, 1, 1, 1],
        [y, 2, 0, 2],
        [z, 2, 2, 3],
      ] as const) {
        const found = await store.lookup(leaf);
        expect([found!.ack.id, found!.ackIndex, found!.batchIndex], leaf).to.deep.equal([ackId, ackIndex, batchIndex]);
      }
      expect(await store.lookup(twin())).to.equal(undefined);
      expect(await store.pendingCount()).to.equal(0);
      expect(await store.openBatch(10, (l) => MerkleTree.build(l).root)).to.equal(undefined);
    } finally {
      await store.close();
    }
  });

  /** The live runs of the leaf index (level, rows) and whether a merge is under way, read from the file by a second connection. */
  function leafRuns(file: string): { live: Array<[number, number]>; building: number; tables: number } {
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const raw = new BetterSqlite3(file, { readonly: true });
    try {
      const rows = raw.prepare("SELECT level, count, live FROM leaf_runs ORDER BY id").all() as Array<{
        level: number;
        count: number;
        live: number;
      }>;
      return {
        live: rows.filter((r) => r.live === 1).map((r) => [r.level, r.count]),
        building: rows.filter((r) => r.live === 0).length,
        tables: raw
          .prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'leaf_run\\_%' ESCAPE '\\'")
          .pluck()
          .get() as number,
      };
    } finally {
      raw.close();
    }
  }

  async function mergesSettled(file: string, runs: number): Promise<ReturnType<typeof leafRuns>> {
    for (let i = 0; i < 200; i++) {
      const state = leafRuns(file);
      if (state.live.length === runs && state.building === 0) return state;
      await new Promise((r) => setTimeout(r, 50));
    }
    return leafRuns(file);
  }

  it("merges the leaf index's runs in the background, in steps: each leaf found at its first acknowledgement, a leaf again and an 8-byte twin told apart across runs, nothing counted twice", async function () {
    const file = path.join(dir, "calendar.db");
    const prefix = randomLeaf().slice(0, 18);
    const twin = (): Hex => `${prefix}${randomLeaf().slice(18)}` as Hex;
    // 20 index transactions (one per acknowledgement: stats() waits for the index), 5 leaves each:
    // from the second on, one leaf of an earlier acknowledgement again; every fourth, an 8-byte twin
    const firstAt = new Map<Hex, [number, number]>();
    const twins: Hex[] = [];
    let store = new SqliteCalendarStore(file, { mergeFanout: 2, mergeStepRows: 3 });
    try {
      for (let k = 0; k < 20; k++) {
        const leaves = [randomLeaf(), randomLeaf(), randomLeaf(), randomLeaf()];
        if (k > 0) leaves.push([...firstAt.keys()][(k * 7) % firstAt.size]);
        if (k % 4 === 0) twins.push((leaves[1] = twin()));
        const id = await store.acknowledge(ack(leaves, 1000 + k));
        leaves.forEach((leaf, i) => firstAt.has(leaf) || firstAt.set(leaf, [id, i]));
        await store.stats();
      }
      expect(await store.stats()).to.deep.include({ leaves: firstAt.size });
      // 20 runs, merged two by two: 20 = 16 + 4, a run of level 4 and one of level 2
      const state = await mergesSettled(file, 2);
      expect(state.live.map(([level]) => level).sort()).to.deep.equal([2, 4]);
      expect(state.live.reduce((n, [, count]) => n + count, 0)).to.equal(firstAt.size - (twins.length - 1)); // twins after the first: leaf_spill
      expect(state.tables).to.equal(2); // the merged runs' tables were dropped
      for (const [leaf, [id, i]] of firstAt) {
        const found = await store.lookup(leaf);
        expect([found?.ack.id, found?.ackIndex], leaf).to.deep.equal([id, i]);
      }
      // after the merges: a leaf again is known (not pending twice), a new twin is new
      const again = [...firstAt.keys()][3];
      const fresh = twin();
      const id = await store.acknowledge(ack([again, fresh], 5000));
      expect(await store.pendingCount()).to.equal(firstAt.size + 1);
      expect((await store.lookup(again))!.ack.id).to.equal(firstAt.get(again)![0]);
      expect([(await store.lookup(fresh))!.ack.id, (await store.lookup(fresh))!.ackIndex]).to.deep.equal([id, 1]);
      firstAt.set(fresh, [id, 1]);
      expect(await store.lookup(twin())).to.equal(undefined);
    } finally {
      await store.close();
    }
    // reopened (the filters read back from the file): the same answers, and the batch holds each leaf once
    store = new SqliteCalendarStore(file);
    try {
      for (const [leaf, [id, i]] of firstAt) {
        const found = await store.lookup(leaf);
        expect([found?.ack.id, found?.ackIndex], leaf).to.deep.equal([id, i]);
      }
      const batch = await store.openBatch(1000, (l) => MerkleTree.build(l).root);
      expect(batch!.leaves).to.have.length(firstAt.size);
      expect(new Set(batch!.leaves).size).to.equal(firstAt.size);
      expect(await store.stats()).to.deep.equal({ leaves: firstAt.size, batches: 1, completeBatches: 0 });
    } finally {
      await store.close();
    }
  });

  it("a merge killed half way (SIGKILL) is dropped on open and done again: every leaf still found once", async function () {
    const file = path.join(dir, "calendar.db");
    const groups = [0, 1, 2].map(() => Array.from({ length: 6 }, () => randomLeaf()));
    // a real process makes two runs of 6 leaves and is killed after the first step (2 rows a source) of their merge
    const script = `
      const { SqliteCalendarStore, MerkleTree } = require(${JSON.stringify(path.resolve("packages/sdk"))});
      const store = new SqliteCalendarStore(${JSON.stringify(file)}, { mergeFanout: 2, mergeStepRows: 2 });
      const ack = (leaves, t) => ({ root: MerkleTree.build(leaves).root, receivedAt: t, calendar: "http://calendar.test",
        signer: "0x" + "11".repeat(20), signature: "0x" + "22".repeat(65), leaves });
      (async () => {
        for (const [k, leaves] of ${JSON.stringify(groups.slice(0, 2))}.entries()) {
          await store.acknowledge(ack(leaves, 1000 + k));
          await store.stats();
        }
        setTimeout(() => process.exit(3), 20000);
      })();`;
    const child = spawn(process.execPath, ["-e", script], {
      env: { ...process.env, PROOFMARK_TEST_CRASH: "calendar-mid-merge" },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const signal = await new Promise((r) => child.once("exit", (_code, sig) => r(sig)));
    expect(signal).to.equal("SIGKILL");
    const killed = leafRuns(file);
    expect(killed.live).to.deep.equal([
      [0, 6],
      [0, 6],
    ]);
    expect([killed.building, killed.tables]).to.deep.equal([1, 3]); // the half-built run, 4 rows in
    const store = new SqliteCalendarStore(file, { mergeFanout: 2, mergeStepRows: 2 });
    try {
      await store.acknowledge(ack(groups[2], 3000));
      expect(await store.stats()).to.deep.equal({ leaves: 18, batches: 0, completeBatches: 0 });
      // 6 + 6 merged again (level 1), then with the third run's level 0 nothing more to merge
      const state = await mergesSettled(file, 2);
      expect(state.live.sort()).to.deep.equal([
        [0, 6],
        [1, 12],
      ]);
      expect(state.tables).to.equal(2);
      for (const [k, leaves] of groups.entries())
        for (const [i, leaf] of leaves.entries()) {
          const found = await store.lookup(leaf);
          expect([found?.ack.id, found?.ackIndex], leaf).to.deep.equal([k + 1, i]);
        }
      expect(await store.pendingCount()).to.equal(18);
    } finally {
      await store.close();
    }
  });

  it("an index writer that fails on start (a run listed without its table) fails what waits for the index with CALENDAR_STORE_FAILED instead of hanging", async function () {
    const file = path.join(dir, "calendar.db");
    let store = new SqliteCalendarStore(file);
    await store.acknowledge(ack([randomLeaf()], 1000));
    await store.close();
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const raw = new BetterSqlite3(file);
    raw.prepare("INSERT INTO leaf_runs (id, level, count, live) VALUES (99, 0, 1, 1)").run(); // no table leaf_run_99
    raw.close();
    store = new SqliteCalendarStore(file);
    try {
      const leaf = randomLeaf();
      await store.acknowledge(ack([leaf], 2000)).catch(() => undefined); // durable in the log either way
      for (const waiting of [() => store.stats(), () => store.pendingCount(), () => store.stats()]) {
        const failed = await waiting().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(failed).to.have.property("code", "CALENDAR_STORE_FAILED");
        expect(String((failed as Error).message)).to.match(/index writer failed: .*leaf_run_99/);
      }
    } finally {
      await store.close().catch(() => undefined);
    }
  });

  it("upgrades a version 2 database on open: lookups, the pending leaves (a batch ended inside an ack, a leaf acknowledged twice) and the next batch as before", async function () {
    const file = path.join(dir, "calendar.db");
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new BetterSqlite3(file);
    // the version 2 layout, as proofmark-calendar-2 wrote it
    db.exec(`
      CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE acks (
        id INTEGER PRIMARY KEY, root TEXT NOT NULL, received_at INTEGER NOT NULL, calendar TEXT NOT NULL,
        signer TEXT NOT NULL, signature TEXT NOT NULL, leaves BLOB NOT NULL);
      CREATE TABLE leaves (
        leaf BLOB PRIMARY KEY, ack_id INTEGER NOT NULL, ack_index INTEGER NOT NULL, received_at INTEGER NOT NULL) WITHOUT ROWID;
      CREATE INDEX leaves_order ON leaves (ack_id, ack_index);
      CREATE TABLE batches (
        id INTEGER PRIMARY KEY, root TEXT NOT NULL, leaf_count INTEGER NOT NULL, created_at INTEGER NOT NULL,
        leaves BLOB NOT NULL, progress TEXT NOT NULL, completed_at INTEGER,
        last_ack INTEGER NOT NULL, last_index INTEGER NOT NULL);
      CREATE INDEX batches_end ON batches (last_ack, last_index);
      INSERT INTO meta VALUES ('schema', 'proofmark-calendar-2');`);
    const prefix = randomLeaf().slice(0, 18);
    const a = [randomLeaf(), randomLeaf(), `${prefix}${randomLeaf().slice(18)}` as Hex];
    const b = [randomLeaf(), a[1], `${prefix}${randomLeaf().slice(18)}` as Hex, randomLeaf()]; // a[1] twice; b[2] shares a[2]'s first 8 bytes
    const packed = (l: Hex[]) => Buffer.concat(l.map((x) => Buffer.from(x.slice(2), "hex")));
    const insAck = db.prepare("INSERT INTO acks VALUES (?, ?, ?, 'http://calendar.test', ?, ?, ?)");
    const insLeaf = db.prepare("INSERT OR IGNORE INTO leaves VALUES (?, ?, ?, ?)");
    for (const [id, leaves, t] of [
      [1, a, 1000],
      [2, b, 2000],
    ] as const) {
      insAck.run(id, MerkleTree.build(leaves).root, t, `0x${"11".repeat(20)}`, `0x${"22".repeat(65)}`, packed(leaves));
      leaves.forEach((leaf, i) => insLeaf.run(Buffer.from(leaf.slice(2), "hex"), id, i, t));
    }
    // one batch of the first 4 leaves: a[0..2], b[0] (ends at ack 2, index 0)
    const first = [a[0], a[1], a[2], b[0]];
    db.prepare(
      'INSERT INTO batches VALUES (1, ?, 4, 1500, ?, \'{"anchors":{},"sent":{},"timestamps":[],"tsaFailures":{}}\', NULL, 2, 0)',
    ).run(MerkleTree.build(first).root, packed(first));
    db.close();
    const store = new SqliteCalendarStore(file);
    try {
      expect(await store.pendingCount()).to.equal(2); // b[2], b[3] (b[1] is a[1])
      expect(await store.oldestPending()).to.equal(2000);
      const dup = await store.lookup(a[1]);
      expect([dup!.ack.id, dup!.ackIndex, dup!.batch!.id, dup!.batchIndex]).to.deep.equal([1, 1, 1, 1]);
      const twin = await store.lookup(b[2]);
      expect([twin!.ack.id, twin!.ackIndex, twin!.batch]).to.deep.equal([2, 2, undefined]);
      expect((await store.lookup(a[2]))!.batchIndex).to.equal(2);
      const next = await store.openBatch(10, (l) => MerkleTree.build(l).root);
      expect(next!.leaves).to.deep.equal([b[2], b[3]]);
      expect(await store.stats()).to.deep.equal({ leaves: 6, batches: 2, completeBatches: 0 });
      const c = randomLeaf();
      await store.acknowledge(ack([c, b[3]], 3000));
      expect(await store.pendingCount()).to.equal(1);
      expect((await store.lookup(c))!.ack.id).to.equal(3);
    } finally {
      await store.close();
    }
    const after = new BetterSqlite3(file, { readonly: true });
    expect(after.prepare("SELECT value FROM meta WHERE key = 'schema'").pluck().get()).to.equal("proofmark-calendar-4");
    expect(
      after.prepare("SELECT name FROM sqlite_master WHERE name IN ('leaves_v2', 'leaves_order', 'leaves')").all(),
    ).to.deep.equal([]);
    // through version 3: its leaf table is the first run of the leaf index, given its filter by the indexer
    expect(
      after.prepare("SELECT id, level, count, live, length(filter) > 0 AS filtered FROM leaf_runs ORDER BY id").all(),
    ).to.deep.equal([
      { id: 1, level: 0, count: 5, live: 1, filtered: 1 },
      { id: 2, level: 0, count: 1, live: 1, filtered: 1 }, // c (b[3] again is no new leaf)
    ]);
    after.close();
  });

  it("refuses a database of another format with CALENDAR_STORE_FAILED naming both versions, leaving it untouched", async function () {
    const file = path.join(dir, "old.db");
    const BetterSqlite3 = require("better-sqlite3") as typeof import("better-sqlite3");
    const db = new BetterSqlite3(file);
    db.exec(
      "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL); CREATE TABLE batches (id INTEGER PRIMARY KEY)",
    );
    db.prepare("INSERT INTO meta VALUES ('schema', 'proofmark-calendar-1')").run();
    db.close();
    expect(() => new SqliteCalendarStore(file))
      .to.throw(
        /proofmark-calendar-1, not proofmark-calendar-4 \(only proofmark-calendar-3 and proofmark-calendar-2 are upgraded on open/,
      )
      .with.property("code", "CALENDAR_STORE_FAILED");
    const after = new BetterSqlite3(file, { readonly: true });
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    after.close();
    expect(tables).to.deep.equal([{ name: "batches" }, { name: "meta" }]);
  });
});
