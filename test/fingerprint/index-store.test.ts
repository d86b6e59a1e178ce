import { expect } from "chai";
import Database from "better-sqlite3";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  decodeOrbFeatures,
  encodeOrbFeatures,
  FingerprintIndex,
  formatFingerprint,
  hammingDistance,
  isProofmarkError,
  LAYOUT_GRID,
  openFingerprintStore,
  phashChunks,
  PostgresFingerprintIndex,
  type Fingerprint,
  type FingerprintStore,
  type NewOriginal,
} from "@proofmark/sdk";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";

/** One original's stored local features: one keypoint and its descriptor, as stamping encodes them. */
const FEATURES = new Uint8Array(
  encodeOrbFeatures({ count: 1, points: new Float32Array([1, 2]), descriptors: new Uint8Array(32).fill(7) }),
);

/** 300 originals: 100 near copies of one hash (0–23 bits flipped), 200 unrelated; two variants each. */
function dataset(): { originals: NewOriginal[]; fingerprints: Fingerprint[]; query: Fingerprint } {
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
  const bytes = (n: number) => new Uint8Array(n).map(() => rnd());
  const base = bytes(8);
  const fingerprints: Fingerprint[] = [];
  for (let i = 0; i < 300; i++) {
    const phash = i < 100 ? base.slice() : bytes(8);
    if (i < 100) for (let k = 0; k < i % 24; k++) phash[rnd() % 8] ^= 1 << (rnd() % 8);
    const other = i % 3 === 0 ? base.slice() : bytes(8); // some mirrors nearer than the whole image
    if (i % 3 === 0) for (let k = 0; k < 1 + (i % 9); k++) other[rnd() % 8] ^= 1 << (rnd() % 8);
    fingerprints.push({
      version: 1,
      variants: [
        { name: "full", phash, hash256: bytes(32) },
        { name: "mirror", phash: other, hash256: bytes(32) },
      ],
    });
  }
  const originals = fingerprints.map((fp, i) => ({
    leaf: `0x${i.toString(16).padStart(64, "0")}`,
    name: `o${i}`,
    file: `/x/o${i}`,
    receiptPath: `/x/o${i}.proof.json`,
    sha256: "0".repeat(64),
    fingerprint: formatFingerprint(fp),
    chainId: 31337,
    blockNumber: i,
    txHash: "0x00",
    anchoredAt: 1_700_000_000 + i,
    features: i === 5 ? FEATURES : undefined,
  }));
  return {
    originals,
    fingerprints,
    query: { version: 1, variants: [{ name: "full", phash: base, hash256: bytes(32) }] },
  };
}

/** The answer a scan gives: every original whose nearest variant is within d, with that distance. */
function scan(fingerprints: Fingerprint[], query: Fingerprint, d: number): string[] {
  const q = query.variants[0].phash;
  return fingerprints
    .map((fp, i) => ({ i, d: Math.min(...fp.variants.map((v) => hammingDistance(v.phash, q))) }))
    .filter((x) => x.d <= d)
    .map((x) => `o${x.i}:${x.d}`)
    .sort();
}

const DISTANCES = [0, 4, 8, 10, 13, 18, 20];

/** An original with a colour layout (pmfp2: too little texture for a hash), beside the dataset's. */
function flatOriginal(o: NewOriginal, fp: Fingerprint): NewOriginal {
  const grid = new Uint8Array(LAYOUT_GRID * LAYOUT_GRID * 4).fill(9);
  return {
    ...o,
    leaf: `0x${"e".repeat(64)}`,
    name: "flat",
    fingerprint: formatFingerprint({ ...fp, version: 2, layouts: [{ name: "layout", width: 400, height: 300, grid }] }),
  };
}

async function expectLikeScan(store: FingerprintStore, fingerprints: Fingerprint[], query: Fingerprint) {
  for (const d of DISTANCES) {
    const hits = await store.lookup(query, d);
    expect(hits.map((h) => `${h.original.name}:${h.distance}`).sort(), `distance ${d}`).to.deep.equal(
      scan(fingerprints, query, d),
    );
    for (let k = 1; k < hits.length; k++) expect(hits[k].distance).to.be.at.least(hits[k - 1].distance);
    for (const h of hits) {
      const v = fingerprints[Number(h.original.name.slice(1))].variants.find((x) => x.name === h.variant)!;
      expect(hammingDistance(v.phash, query.variants[0].phash)).to.equal(h.distance);
      expect(h.distance256).to.equal(hammingDistance(v.hash256, query.variants[0].hash256));
    }
  }
}

/** The first layout of fingerprints.sqlite (one row per variant, four B-tree indexes), as stamp wrote it before. */
const FIRST_LAYOUT = `
CREATE TABLE original (
  id INTEGER PRIMARY KEY, leaf TEXT NOT NULL UNIQUE, name TEXT NOT NULL, file TEXT NOT NULL, receipt_path TEXT NOT NULL,
  sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL, chain_id INTEGER NOT NULL, block_number INTEGER NOT NULL,
  tx_hash TEXT NOT NULL, anchored_at INTEGER NOT NULL, features BLOB);
CREATE TABLE variant (
  original_id INTEGER NOT NULL, name TEXT NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL,
  c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL, hash256 BLOB NOT NULL);
CREATE INDEX variant_c0 ON variant (c0);
`;

describe("fingerprint index storage (SQLite substring tables, PostgreSQL)", function () {
  this.timeout(120_000);
  let dir: string;
  const { originals, fingerprints, query } = dataset();

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-fpstore-"));
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("SQLite: lookups equal a scan after many small adds (buckets merged, at most 8 segments each)", async function () {
    const store = await openFingerprintStore(dir);
    try {
      for (let i = 0; i < originals.length; i += 10) expect(await store.add(originals.slice(i, i + 10))).to.equal(10);
      expect(await store.add(originals.slice(0, 3))).to.equal(0); // idempotent by leaf
      expect(await store.count()).to.equal(300);
      await expectLikeScan(store, fingerprints, query);
      expect([...((await store.features(6)) ?? [])]).to.deep.equal([...FEATURES]); // id 6 = the sixth original
    } finally {
      await store.close();
    }
    const db = new Database(path.join(dir, "fingerprints.sqlite"), { readonly: true });
    try {
      const most = db
        .prepare("SELECT max(n) FROM (SELECT count(*) AS n FROM bucket GROUP BY part, value)")
        .pluck()
        .get();
      expect(most).to.be.within(1, 8);
      const merged = db.prepare("SELECT count(*) FROM bucket WHERE seq > 0").pluck().get() as number;
      expect(merged, "some bucket got several segments").to.be.greaterThan(0);
      const entries = db.prepare("SELECT sum(length(entries)) FROM bucket").pluck().get();
      expect(entries).to.equal(300 * 2 * 4 * 12); // every variant once in each of the four substring tables
    } finally {
      db.close();
    }
  });

  it("SQLite: the originals with a colour layout are listed through a partial index, which an older index gets on open", async function () {
    const store = await openFingerprintStore(dir);
    try {
      await store.add(originals.slice(0, 20));
      expect(await store.layoutOriginals()).to.deep.equal([]);
      await store.add([flatOriginal(originals[7], fingerprints[7])]);
      expect((await store.layoutOriginals()).map((o) => o.name)).to.deep.equal(["flat"]);
    } finally {
      await store.close();
    }
    const file = path.join(dir, "fingerprints.sqlite");
    const db = new Database(file);
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT * FROM original WHERE fingerprint LIKE 'pmfp2 %'")
      .all() as Array<{ detail: string }>;
    expect(plan.map((p) => p.detail).join(" ")).to.include("original_layout");
    db.exec("DROP INDEX original_layout"); // as an index written before colour layouts
    db.close();
    const index = new FingerprintIndex(file);
    try {
      expect(index.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'original_layout'").get()).to.not.equal(
        undefined,
      );
      expect(index.layoutOriginals().map((o) => o.name)).to.deep.equal(["flat"]);
    } finally {
      index.close();
    }
  });

  it("SQLite: an index of the first layout is migrated on open (nothing lost); a newer schema is refused untouched", function () {
    const file = path.join(dir, "fingerprints.sqlite");
    const old = new Database(file);
    old.exec(FIRST_LAYOUT);
    const ins = old.prepare(
      `INSERT INTO original (leaf, name, file, receipt_path, sha256, fingerprint, chain_id, block_number, tx_hash, anchored_at, features)
       VALUES (@leaf, @name, @file, @receiptPath, @sha256, @fingerprint, @chainId, @blockNumber, @txHash, @anchoredAt, @features)`,
    );
    const variant = old.prepare("INSERT INTO variant VALUES (?, ?, 0, 0, ?, ?, ?, ?, ?)");
    originals.forEach((o, i) => {
      const id = ins.run({ ...o, features: o.features ? Buffer.from(o.features) : null }).lastInsertRowid;
      for (const v of fingerprints[i].variants)
        variant.run(id, v.name, ...phashChunks(v.phash), Buffer.from(v.hash256));
    });
    old.close();

    const index = new FingerprintIndex(file);
    try {
      expect(index.count()).to.equal(300);
      expect(index.db.pragma("user_version", { simple: true })).to.equal(2);
      expect(index.db.prepare("SELECT name FROM sqlite_master WHERE name = 'variant'").get()).to.equal(undefined);
      for (const d of DISTANCES)
        expect(
          index
            .lookup(query, d)
            .map((h) => `${h.original.name}:${h.distance}`)
            .sort(),
        ).to.deep.equal(scan(fingerprints, query, d));
      expect(index.lookup(query, 0).find((h) => h.original.name === "o0")?.original).to.include({
        receiptPath: "/x/o0.proof.json",
        anchoredAt: 1_700_000_000,
      });
      index.db.pragma("user_version = 3");
    } finally {
      index.close();
    }
    const before = fs.readFileSync(file);
    let caught: unknown;
    try {
      new FingerprintIndex(file);
    } catch (e) {
      caught = e;
    }
    expect(isProofmarkError(caught, "FINGERPRINT_INDEX_NEWER"), String(caught)).to.equal(true);
    expect(fs.readFileSync(file).equals(before)).to.equal(true);
  });

  describe("PostgreSQL (a real server)", function () {
    let pg: TestPostgres | undefined;

    before(async function () {
      pg = await startPostgresOrSkip(this);
    });
    after(function () {
      pg?.stop();
    });

    it("gives the SQLite index's answers; adds are idempotent; two instances share it; a newer schema is refused", async function () {
      const store = await openFingerprintStore(dir, pg!.url);
      const other = await PostgresFingerprintIndex.open(pg!.url);
      try {
        expect(store.kind).to.equal("postgres");
        expect(await store.add(originals.slice(0, 150))).to.equal(150);
        expect(await other.add(originals.slice(100))).to.equal(200 - 50); // 100..149 already there
        expect(await store.count()).to.equal(300);
        await expectLikeScan(store, fingerprints, query);
        const sqlite = await openFingerprintStore(dir);
        try {
          await sqlite.add(originals);
          for (const d of DISTANCES) {
            const a = (await sqlite.lookup(query, d)).map((h) => [
              h.original.leaf,
              h.distance,
              h.distance256,
              h.variant,
            ]);
            const b = (await other.lookup(query, d)).map((h) => [
              h.original.leaf,
              h.distance,
              h.distance256,
              h.variant,
            ]);
            expect(b, `distance ${d}`).to.deep.equal(a);
          }
          const [hit] = await other.lookup(query, 0);
          const [same] = await sqlite.lookup(query, 0);
          expect(hit.original).to.deep.equal({ ...same.original, id: hit.original.id });
        } finally {
          await sqlite.close();
        }
        const five = (await store.lookup(query, 20)).find((h) => h.original.name === "o5")!;
        expect([...((await store.features(five.original.id)) ?? [])]).to.deep.equal([...FEATURES]);
        // its local features' keys were stored with it: the same descriptor votes for it, and only for it
        const voted = await other.featureCandidates(decodeOrbFeatures(FEATURES), 5);
        expect(voted.map((c) => c.id)).to.deep.equal([five.original.id]);
        expect((await other.original(five.original.id))?.name).to.equal("o5");
        // a bad fingerprint in a batch: nothing of the batch is written
        let caught: unknown;
        try {
          await store.add([
            { ...originals[0], leaf: `0x${"f".repeat(64)}` },
            { ...originals[1], leaf: "0x1", fingerprint: "pmfp1 x" },
          ]);
        } catch (e) {
          caught = e;
        }
        expect(isProofmarkError(caught, "FINGERPRINT_INVALID"), String(caught)).to.equal(true);
        expect(await store.count()).to.equal(300);
        // the originals with a colour layout (pmfp2), through the partial index, in both instances
        expect(await other.layoutOriginals()).to.deep.equal([]);
        expect(await store.add([flatOriginal(originals[7], fingerprints[7])])).to.equal(1);
        expect((await other.layoutOriginals()).map((o) => o.name)).to.deep.equal(["flat"]);
      } finally {
        await store.close();
        await other.close();
      }
      const pgmod = require("pg") as typeof import("pg");
      const client = new pgmod.Client({ connectionString: pg!.url });
      await client.connect();
      await client.query("UPDATE fingerprint_meta SET value = '9' WHERE key = 'schema'");
      await client.end();
      let caught: unknown;
      try {
        await PostgresFingerprintIndex.open(pg!.url);
      } catch (e) {
        caught = e;
      }
      expect(isProofmarkError(caught, "FINGERPRINT_INDEX_NEWER"), String(caught)).to.equal(true);
    });

    it("an unreachable server is a STORE_FAILED error, and a --database that is not postgres:// is refused", async function () {
      let caught: unknown;
      try {
        await openFingerprintStore(dir, "postgres://postgres@127.0.0.1:1/none");
      } catch (e) {
        caught = e;
      }
      expect(isProofmarkError(caught, "STORE_FAILED"), String(caught)).to.equal(true);
      caught = undefined;
      try {
        await openFingerprintStore(dir, "mysql://x");
      } catch (e) {
        caught = e;
      }
      expect(isProofmarkError(caught, "INVALID_ARGUMENT"), String(caught)).to.equal(true);
    });
  });
});
