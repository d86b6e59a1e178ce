import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import {
  chunkNeighbours,
  layoutDescriptors,
  layoutKey,
  layoutProbeKeys,
  nearestPackedDescriptor,
  packLayoutDescriptors,
  parseFingerprint,
  LAYOUT_KEY_SCHEME,
  phashChunks,
  FINGERPRINT_VARIANTS,
  type Fingerprint,
  type FingerprintVariantName,
} from "../core/fingerprint";
import { ProofmarkError } from "../core/errors";
import {
  lookupQuery,
  phashWords,
  popcount32,
  rankHits,
  scoreFeatureCandidates,
  suspectKeys,
  toOriginal,
  type OriginalRow,
} from "./hits";
import { decodeOrbFeatures, decodeOrbFeaturesIfIntact, descriptorKeys, LSH_SCHEME, type OrbFeatures } from "./orb";

/** An original as registered in the index. */
export interface IndexedOriginal {
  id: number;
  leaf: string;
  name: string;
  /** Where the file was when it was stamped. */
  file: string;
  receiptPath: string;
  sha256: string;
  fingerprint: string;
  chainId: number;
  blockNumber: number;
  txHash: string;
  /** Block time of the anchor, seconds since 1970. */
  anchoredAt: number;
}

export interface IndexHit {
  original: IndexedOriginal;
  /** pHash-64 distance to the nearest variant. */
  distance: number;
  /** 256-bit hash distance for the same variant. */
  distance256: number;
  variant: FingerprintVariantName;
}

export type NewOriginal = Omit<IndexedOriginal, "id"> & { features?: Uint8Array };

/**
 * Schema version (`PRAGMA user_version`). 0 with a `variant` table: the first layout (one row per
 * variant, four B-tree indexes), migrated on open. 2: substring tables as buckets.
 */
export const FINGERPRINT_INDEX_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS original (
  id INTEGER PRIMARY KEY, leaf TEXT NOT NULL UNIQUE, name TEXT NOT NULL, file TEXT NOT NULL, receipt_path TEXT NOT NULL,
  sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL, chain_id INTEGER NOT NULL, block_number INTEGER NOT NULL,
  tx_hash TEXT NOT NULL, anchored_at INTEGER NOT NULL, features BLOB
);
CREATE TABLE IF NOT EXISTS bucket (
  part INTEGER NOT NULL, value INTEGER NOT NULL, seq INTEGER NOT NULL, entries BLOB NOT NULL,
  PRIMARY KEY (part, value, seq)
);
`;

/**
 * Local-feature keys (created on every open, so an index of either layout gets them): per original,
 * the locality-sensitive keys of its stored ORB descriptors, and the key scheme they were made with.
 * And a partial index of the originals whose fingerprint carries a colour layout (`pmfp2`: too little
 * texture for a hash), the few a flat suspect is compared with (an older index has none of them), and
 * the descriptor index over their layouts (`layout_key`: per LSH key of a view's descriptor and
 * original, the packed descriptors of that original's views under the key; see `layoutKey`) with the
 * key scheme it was made with.
 */
const FEATURE_SCHEMA = `
CREATE TABLE IF NOT EXISTS feature_key (key INTEGER NOT NULL, original_id INTEGER NOT NULL, PRIMARY KEY (key, original_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feature_key_scheme (version INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS original_layout ON original (id) WHERE fingerprint LIKE 'pmfp2 %';
CREATE TABLE IF NOT EXISTS layout_key (key INTEGER NOT NULL, original_id INTEGER NOT NULL, descriptors BLOB NOT NULL, PRIMARY KEY (key, original_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS layout_key_scheme (version INTEGER NOT NULL);
`;

/** A bucket with more segments than this is merged into one when an `add` touches it. */
const MAX_SEGMENTS = 8;

/** Bytes per bucket entry: variant reference, pHash-64 high word, low word (little-endian u32). */
const ENTRY = 12;

/** A variant's reference in a bucket: original id × 16 + the variant's position in FINGERPRINT_VARIANTS. */
function variantRef(originalId: number, variant: FingerprintVariantName): number {
  return originalId * 16 + FINGERPRINT_VARIANTS.indexOf(variant);
}

/** Variants of new originals, grouped by (substring position, substring value), packed as bucket entries. */
function packBuckets(rows: Array<{ id: number; fingerprint: Fingerprint }>): Map<number, Buffer> {
  const lists = new Map<number, number[]>();
  for (const { id, fingerprint } of rows) {
    for (const v of fingerprint.variants) {
      const [hi, lo] = phashWords(v.phash);
      const ref = variantRef(id, v.name);
      phashChunks(v.phash).forEach((chunk, part) => {
        const key = part * 65536 + chunk;
        let list = lists.get(key);
        if (!list) lists.set(key, (list = []));
        list.push(ref, hi, lo);
      });
    }
  }
  const packed = new Map<number, Buffer>();
  for (const [key, list] of lists) {
    const buf = Buffer.alloc(list.length * 4);
    for (let i = 0; i < list.length; i++) buf.writeUInt32LE(list[i], i * 4);
    packed.set(key, buf);
  }
  return packed;
}

/**
 * The fingerprint index of a data folder (`<dataDir>/fingerprints.sqlite`). Multi-index hashing
 * (Norouzi, Punjani & Fleet, CVPR 2012) stored as substring tables: the pHash-64 of every variant is
 * split into four 16-bit substrings; for each substring position and value, a bucket row holds the
 * variants with that substring, packed (reference, hash) side by side. A lookup reads only the
 * buckets within ⌊D / 4⌋ bits of the suspect's substrings (a few hundred rows by primary key) and
 * checks the full distance of their entries in memory — no scan, no row per variant.
 *
 * Writes append one segment per touched bucket in one transaction (a bulk `add` of 100k originals
 * writes each bucket once); a bucket that reaches {@link MAX_SEGMENTS} segments is merged when an
 * `add` touches it, so a lookup reads at most that many rows per bucket.
 *
 * Candidates also come from local features: the `feature_key` table holds, per original, the
 * locality-sensitive keys of its stored ORB descriptors (`descriptorKeys`); a suspect's descriptors
 * vote for the originals that share their keys (`featureCandidates`), so an original whose global
 * hash an edit moved too far is still found, then confirmed by ORB + RANSAC like any candidate.
 *
 * The index is a lookup aid, not evidence: each hit names its receipt, and the receipt (its leaf
 * covers the fingerprint) is what verifies.
 */
export class FingerprintIndex {
  readonly db: Database.Database;
  private readonly probeBuckets: Database.Statement;
  private readonly originalById: Database.Statement;

  /** Opens (creating) the index at `file`; a first-layout index is migrated, a newer one refused. */
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let db: Database.Database;
    try {
      db = new Database(file);
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
    } catch (e) {
      throw new ProofmarkError(
        "STORE_FAILED",
        `cannot open the fingerprint index ${file}: ${(e as Error).message}`,
        { path: file },
        { cause: e },
      );
    }
    this.db = db;
    try {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > FINGERPRINT_INDEX_VERSION) {
        throw new ProofmarkError(
          "FINGERPRINT_INDEX_NEWER",
          `the fingerprint index ${file} has schema version ${version}; this Proofmark reads up to ${FINGERPRINT_INDEX_VERSION}. Use a newer Proofmark (the file was left as it is)`,
          { path: file, version, supported: FINGERPRINT_INDEX_VERSION },
        );
      }
      if (version < FINGERPRINT_INDEX_VERSION) this.upgrade();
      db.exec(FEATURE_SCHEMA);
      this.keyFeaturesOfOlderRows();
      this.keyLayoutsOfOlderRows();
    } catch (e) {
      db.close();
      if (e instanceof ProofmarkError) throw e;
      throw new ProofmarkError(
        "STORE_FAILED",
        `cannot open the fingerprint index ${file}: ${(e as Error).message}`,
        { path: file },
        { cause: e },
      );
    }
    this.probeBuckets = db
      .prepare("SELECT entries FROM bucket WHERE part = ? AND value IN (SELECT value FROM json_each(?))")
      .pluck();
    this.originalById = db.prepare("SELECT * FROM original WHERE id = ?");
  }

  /**
   * Creates the schema, or migrates the first layout (a `variant` table): every original's buckets
   * are rebuilt from the fingerprint text its row keeps, then the old table is dropped — in one
   * transaction, so an interrupted migration leaves the old index as it was.
   */
  private upgrade(): void {
    const hasVariants =
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'variant'").get() !== undefined;
    this.db.transaction(() => {
      this.db.exec(SCHEMA);
      if (hasVariants) {
        const rows = (this.db.prepare("SELECT id, fingerprint FROM original").all() as OriginalRow[]).map((r) => ({
          id: r.id,
          fingerprint: parseFingerprint(r.fingerprint),
        }));
        this.appendBuckets(rows);
        this.db.exec("DROP TABLE variant");
      }
      this.db.pragma(`user_version = ${FINGERPRINT_INDEX_VERSION}`);
    })();
  }

  /** The index of a data folder. */
  static open(dataDir: string): FingerprintIndex {
    return new FingerprintIndex(path.join(dataDir, "fingerprints.sqlite"));
  }

  close(): void {
    this.db.close();
  }

  /** Number of originals indexed. */
  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM original").get() as { n: number }).n;
  }

  /** One new segment per touched bucket; buckets that reach MAX_SEGMENTS are merged. Inside a transaction. */
  private appendBuckets(rows: Array<{ id: number; fingerprint: Fingerprint }>): void {
    const insert = this.db.prepare(
      "INSERT INTO bucket (part, value, seq, entries) VALUES (?, ?, coalesce((SELECT max(seq) + 1 FROM bucket WHERE part = ? AND value = ?), 0), ?)",
    );
    const segments = this.db.prepare("SELECT count(*) FROM bucket WHERE part = ? AND value = ?").pluck();
    const all = this.db.prepare("SELECT entries FROM bucket WHERE part = ? AND value = ? ORDER BY seq").pluck();
    const remove = this.db.prepare("DELETE FROM bucket WHERE part = ? AND value = ?");
    const one = this.db.prepare("INSERT INTO bucket (part, value, seq, entries) VALUES (?, ?, 0, ?)");
    for (const [key, entries] of packBuckets(rows)) {
      const part = Math.floor(key / 65536);
      const value = key % 65536;
      insert.run(part, value, part, value, entries);
      if ((segments.get(part, value) as number) >= MAX_SEGMENTS) {
        const merged = Buffer.concat(all.all(part, value) as Buffer[]);
        remove.run(part, value);
        one.run(part, value, merged);
      }
    }
  }

  /**
   * Registers originals (idempotent by leaf: a leaf already indexed is left as it is), all in one
   * transaction. Returns how many were new.
   */
  add(originals: NewOriginal[]): number {
    const insertOriginal = this.db.prepare(
      `INSERT OR IGNORE INTO original (leaf, name, file, receipt_path, sha256, fingerprint, chain_id, block_number, tx_hash, anchored_at, features)
       VALUES (@leaf, @name, @file, @receiptPath, @sha256, @fingerprint, @chainId, @blockNumber, @txHash, @anchoredAt, @features)`,
    );
    // all checked before anything is written
    const parsed = originals.map((o) => parseFingerprint(o.fingerprint));
    const features = originals.map((o) => (o.features ? decodeOrbFeatures(o.features) : undefined));
    return this.db.transaction(() => {
      const fresh: Array<{ id: number; fingerprint: Fingerprint }> = [];
      originals.forEach((o, i) => {
        const info = insertOriginal.run({ ...o, features: o.features ? Buffer.from(o.features) : null });
        if (info.changes === 0) return;
        const id = Number(info.lastInsertRowid);
        fresh.push({ id, fingerprint: parsed[i] });
        const f = features[i];
        if (f) this.insertFeatureKeys(id, f);
        this.insertLayoutKeys(id, parsed[i]);
      });
      this.appendBuckets(fresh);
      return fresh.length;
    })();
  }

  /**
   * Originals whose nearest variant is within `maxDistance` pHash-64 bits of the suspect's
   * fingerprint (its `full` variant), nearest first (ties: smaller 256-bit distance).
   *
   * @example
   * const hits = FingerprintIndex.open(dataDir).lookup(suspect.fingerprint, 12);
   */
  lookup(suspect: Fingerprint, maxDistance: number): IndexHit[] {
    const full = lookupQuery(suspect, maxDistance);
    const [qhi, qlo] = phashWords(full.phash);
    const radius = Math.floor(maxDistance / 4);
    const best = new Map<number, { distance: number; ref: number }>(); // by original id
    phashChunks(full.phash).forEach((chunk, part) => {
      for (const blob of this.probeBuckets.all(part, JSON.stringify(chunkNeighbours(chunk, radius))) as Buffer[]) {
        for (let k = 0; k < blob.length; k += ENTRY) {
          const hi = blob.readUInt32LE(k + 4);
          const lo = blob.readUInt32LE(k + 8);
          const distance = popcount32((hi ^ qhi) >>> 0) + popcount32((lo ^ qlo) >>> 0);
          if (distance > maxDistance) continue;
          const ref = blob.readUInt32LE(k);
          const id = Math.floor(ref / 16);
          const prev = best.get(id);
          if (!prev || distance < prev.distance || (distance === prev.distance && ref < prev.ref))
            best.set(id, { distance, ref });
        }
      }
    });
    return rankHits(
      [...best.entries()].map(([id, { distance }]) => ({
        original: toOriginal(this.originalById.get(id) as OriginalRow),
        distance,
      })),
      full,
    );
  }

  /**
   * Originals whose stored local features share the most keys with the suspect's (each shared key
   * weighted by how rare it is in the index: ln((N + 1) / originals holding it)), best first, at most
   * `limit`. Candidates only: what they are worth is decided by ORB + RANSAC.
   */
  featureCandidates(suspect: OrbFeatures, limit: number): Array<{ id: number; score: number }> {
    if (suspect.count === 0 || limit <= 0) return [];
    const perKey = suspectKeys(suspect);
    const read = this.db.prepare("SELECT original_id FROM feature_key WHERE key = ?").pluck();
    const postings = new Map<number, number[]>();
    for (const key of perKey.keys()) postings.set(key, read.all(key) as number[]);
    return scoreFeatureCandidates(perKey, postings, this.count(), limit);
  }

  /** The originals whose fingerprint carries a colour layout (too little texture for a hash; `pmfp2`), by the partial index. */
  layoutOriginals(): IndexedOriginal[] {
    return (this.db.prepare("SELECT * FROM original WHERE fingerprint LIKE 'pmfp2 %'").all() as OriginalRow[]).map(
      toOriginal,
    );
  }

  /** How many originals carry a colour layout, counted up to `atMost` (a bounded read of the partial index). */
  countLayoutOriginals(atMost: number): number {
    return this.db
      .prepare("SELECT count(*) FROM (SELECT 1 FROM original WHERE fingerprint LIKE 'pmfp2 %' LIMIT ?)")
      .pluck()
      .get(atMost) as number;
  }

  /**
   * The `k` originals with a colour layout nearest to any of the suspect's descriptors
   * (`suspectLayoutDescriptor`) by their nearest view's descriptor, nearest first — from the descriptor
   * index, not a scan: the keys most likely to hold near descriptors are probed (`layoutProbeKeys`),
   * in rounds of growing size until at least `LAYOUT_PROBE_ENOUGH` × k originals were met or
   * `LAYOUT_PROBE_MAX` keys per descriptor probed, and the distances of what they hold computed.
   * Approximate: a near original under none of the probed keys is missed.
   */
  nearestLayoutOriginals(suspects: ArrayLike<number>[], k: number): IndexedOriginal[] {
    const read = this.db
      .prepare("SELECT original_id, descriptors FROM layout_key WHERE key IN (SELECT value FROM json_each(?))")
      .raw();
    const search = new LayoutCandidateSearch(suspects, k);
    for (const keys of search.rounds()) {
      const rows = read.all(JSON.stringify(keys)) as Array<[number, Buffer]>;
      search.take(rows.map(([id, descriptors]) => ({ id, descriptors })));
      if (search.enough) break;
    }
    return search.nearest().map((id) => this.original(id)!);
  }

  /** An original by its id in this index. */
  original(id: number): IndexedOriginal | undefined {
    const row = this.originalById.get(id) as OriginalRow | undefined;
    return row && toOriginal(row);
  }

  private insertFeatureKeys(id: number, features: OrbFeatures): void {
    const insert = this.db.prepare("INSERT OR IGNORE INTO feature_key (key, original_id) VALUES (?, ?)");
    for (const key of new Set(descriptorKeys(features))) insert.run(key, id);
  }

  /**
   * Indexes created before the local-feature keys (or with another key scheme) get them from the
   * features they store, once, when opened.
   */
  private keyFeaturesOfOlderRows(): void {
    const version = this.db.prepare("SELECT version FROM feature_key_scheme").pluck().get() as number | undefined;
    if (version === LSH_SCHEME) return;
    this.db.transaction(() => {
      this.db.exec("DELETE FROM feature_key; DELETE FROM feature_key_scheme");
      const page = this.db.prepare(
        "SELECT id, features FROM original WHERE id > ? AND features IS NOT NULL ORDER BY id LIMIT 500",
      );
      for (let after = 0; ;) {
        const rows = page.all(after) as Array<{ id: number; features: Buffer }>;
        if (rows.length === 0) break;
        for (const r of rows) {
          const f = decodeOrbFeaturesIfIntact(r.features);
          if (f) this.insertFeatureKeys(r.id, f); // a damaged blob gets no keys (its ORB check reports it)
        }
        after = rows[rows.length - 1].id;
      }
      this.db.prepare("INSERT INTO feature_key_scheme (version) VALUES (?)").run(LSH_SCHEME);
    })();
  }

  private insertLayoutKeys(id: number, fingerprint: Fingerprint): void {
    const insert = this.db.prepare(
      "INSERT OR REPLACE INTO layout_key (key, original_id, descriptors) VALUES (?, ?, ?)",
    );
    for (const [key, packed] of layoutKeyRows(fingerprint)) insert.run(key, id, packed);
  }

  /**
   * Indexes created before the descriptor index (or with another key scheme) get it from the
   * layouts their fingerprints carry, once, when opened.
   */
  private keyLayoutsOfOlderRows(): void {
    const version = this.db.prepare("SELECT version FROM layout_key_scheme").pluck().get() as number | undefined;
    if (version === LAYOUT_KEY_SCHEME) return;
    this.db.transaction(() => {
      this.db.exec("DELETE FROM layout_key; DELETE FROM layout_key_scheme");
      const page = this.db.prepare(
        "SELECT id, fingerprint FROM original WHERE fingerprint LIKE 'pmfp2 %' AND id > ? ORDER BY id LIMIT 500",
      );
      for (let after = 0; ;) {
        const rows = page.all(after) as Array<{ id: number; fingerprint: string }>;
        if (rows.length === 0) break;
        for (const r of rows) this.insertLayoutKeys(r.id, parseFingerprint(r.fingerprint));
        after = rows[rows.length - 1].id;
      }
      this.db.prepare("INSERT INTO layout_key_scheme (version) VALUES (?)").run(LAYOUT_KEY_SCHEME);
    })();
  }

  /** The ORB features stored for an original (none when stamping skipped them). */
  features(id: number): Uint8Array | undefined {
    const row = this.db.prepare("SELECT features FROM original WHERE id = ?").get(id) as
      { features: Buffer | null } | undefined;
    return row?.features ? new Uint8Array(row.features) : undefined;
  }
}

/**
 * The descriptor-index rows of a fingerprint: per key, the packed descriptors of its layouts' views
 * (`layoutDescriptors`) indexed under it. None for a fingerprint without a colour layout.
 */
export function layoutKeyRows(fingerprint: Fingerprint): Map<number, Uint8Array> {
  const byKey = new Map<number, Float64Array[]>();
  for (const layout of fingerprint.layouts ?? []) {
    for (const d of layoutDescriptors(layout)) {
      const key = layoutKey(d);
      let list = byKey.get(key);
      if (!list) byKey.set(key, (list = []));
      list.push(d);
    }
  }
  return new Map([...byKey].map(([key, list]) => [key, packLayoutDescriptors(list)]));
}

/** A lookup stops probing once it met this many times k originals … */
export const LAYOUT_PROBE_ENOUGH = 4;
/** … or probed this many keys per suspect descriptor (of 65,536). */
export const LAYOUT_PROBE_MAX = 4096;

/**
 * Keys probed per suspect descriptor by the end of each round. Small first: in a large index the
 * descriptor's own key and its nearest three may hold enough originals (1M layouts: ~200 rows a key
 * on average, and thousands where look-alikes crowd), and the rows read are what a lookup costs; a
 * small index goes on to LAYOUT_PROBE_MAX. Measured at 1M synthetic layouts (bench): a first round of
 * 8 keys read ~32,000 rows (105 ms median), of 1 key ~6,100 rows (14 ms) but missed the own original
 * for 2 of 20 copies.
 */
const LAYOUT_PROBE_ROUNDS = [4, 16, 64, 512, LAYOUT_PROBE_MAX];

/**
 * The multi-probe search both stores share: `rounds()` gives the keys to read, round by round (4, 16,
 * 64, 512, 4,096 keys per suspect descriptor by its end, each round the next ones); `take` the rows
 * read under them; once `enough`, `nearest()` is the ids of the k nearest originals, nearest first.
 */
export class LayoutCandidateSearch {
  private readonly best = new Map<number, number>();
  /** Rows whose descriptors were compared (the work the index did). */
  rows = 0;
  /** Keys probed. */
  keys = 0;

  constructor(
    private readonly suspects: ArrayLike<number>[],
    private readonly k: number,
  ) {}

  *rounds(): Generator<number[]> {
    let from = 0;
    for (const to of LAYOUT_PROBE_ROUNDS) {
      // the probe sequence is recomputed up to `to` (its start is the same): a lookup that stops early never makes the long one
      const keys = [...new Set(this.suspects.flatMap((d) => layoutProbeKeys(d, to).slice(from, to)))];
      this.keys += keys.length;
      yield keys;
      from = to;
    }
  }

  take(rows: Iterable<{ id: number; descriptors: Uint8Array }>): void {
    for (const row of rows) {
      this.rows++;
      let d = Infinity;
      for (const q of this.suspects) d = Math.min(d, nearestPackedDescriptor(q, row.descriptors));
      const prev = this.best.get(row.id);
      if (prev === undefined || d < prev) this.best.set(row.id, d);
    }
  }

  get enough(): boolean {
    return this.best.size >= LAYOUT_PROBE_ENOUGH * this.k;
  }

  nearest(): number[] {
    return [...this.best]
      .sort((a, b) => a[1] - b[1] || a[0] - b[0])
      .slice(0, this.k)
      .map(([id]) => id);
  }
}
