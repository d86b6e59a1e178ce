import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
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
