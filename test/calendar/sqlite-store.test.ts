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
    expect(raw.prepare("SELECT COUNT(*) AS n FROM leaves").get()).to.deep.equal({ n: 0 });
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
      .to.throw(/proofmark-calendar-1, not proofmark-calendar-2/)
      .with.property("code", "CALENDAR_STORE_FAILED");
    const after = new BetterSqlite3(file, { readonly: true });
    const tables = after.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all();
    after.close();
    expect(tables).to.deep.equal([{ name: "batches" }, { name: "meta" }]);
  });
});
