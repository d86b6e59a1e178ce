import * as fs from "node:fs";
import * as path from "node:path";
import Database from "better-sqlite3";
import {
  chunkNeighbours,
  hammingDistance,
  MAX_MATCH_DISTANCE,
  parseFingerprint,
  phashChunks,
  type Fingerprint,
  type FingerprintVariantName,
} from "../core/fingerprint";
import { ProofmarkError } from "../core/errors";
import { decodeOrbFeatures, descriptorKeys, LSH_SCHEME, type OrbFeatures } from "./orb";

/**
 * The fingerprint index of a data folder (`<dataDir>/fingerprints.sqlite`): one row per stamped
 * original, one row per variant of its fingerprint. Nearest-neighbour lookup by multi-index hashing
 * (Norouzi, Punjani & Fleet, CVPR 2012): the pHash-64 of each variant is split into four 16-bit
 * chunks, each with its own B-tree index; a query probes the chunk values within ⌊D / 4⌋ bits of
 * its own chunks, then checks the full distance of the candidates. No scan of the table.
 *
 * Candidates also come from local features: the `feature_key` table holds, per original, the
 * locality-sensitive keys of its stored ORB descriptors (`descriptorKeys`); a suspect's descriptors
 * vote for the originals that share their keys (`featureCandidates`), so an original whose global
 * hash an edit moved too far is still found, then confirmed by ORB + RANSAC like any candidate.
 *
 * The index is a lookup aid, not evidence: each hit names its receipt, and the receipt (its leaf
 * covers the fingerprint) is what verifies.
 */

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

const SCHEMA = `
CREATE TABLE IF NOT EXISTS original (
  id INTEGER PRIMARY KEY, leaf TEXT NOT NULL UNIQUE, name TEXT NOT NULL, file TEXT NOT NULL, receipt_path TEXT NOT NULL,
  sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL, chain_id INTEGER NOT NULL, block_number INTEGER NOT NULL,
  tx_hash TEXT NOT NULL, anchored_at INTEGER NOT NULL, features BLOB
);
CREATE TABLE IF NOT EXISTS variant (
  original_id INTEGER NOT NULL, name TEXT NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL,
  c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL, hash256 BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS variant_c0 ON variant (c0);
CREATE INDEX IF NOT EXISTS variant_c1 ON variant (c1);
CREATE INDEX IF NOT EXISTS variant_c2 ON variant (c2);
CREATE INDEX IF NOT EXISTS variant_c3 ON variant (c3);
CREATE INDEX IF NOT EXISTS variant_original ON variant (original_id);
CREATE TABLE IF NOT EXISTS feature_key (key INTEGER NOT NULL, original_id INTEGER NOT NULL, PRIMARY KEY (key, original_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feature_key_scheme (version INTEGER NOT NULL);
`;

interface VariantRow {
  original_id: number;
  name: FingerprintVariantName;
  hi: number;
  lo: number;
  hash256: Buffer;
}

interface OriginalRow {
  id: number;
  leaf: string;
  name: string;
  file: string;
  receipt_path: string;
  sha256: string;
  fingerprint: string;
  chain_id: number;
  block_number: number;
  tx_hash: string;
  anchored_at: number;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function words(phash: Uint8Array): [number, number] {
  const hi = ((phash[0] << 24) | (phash[1] << 16) | (phash[2] << 8) | phash[3]) >>> 0;
  const lo = ((phash[4] << 24) | (phash[5] << 16) | (phash[6] << 8) | phash[7]) >>> 0;
  return [hi, lo];
}

export class FingerprintIndex {
  readonly db: Database.Database;

  /** Opens (creating) the index at `file`. */
  constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      this.db = new Database(file);
      this.db.pragma("journal_mode = WAL");
      this.db.pragma("synchronous = NORMAL");
      this.db.exec(SCHEMA);
      this.keyFeaturesOfOlderRows();
    } catch (e) {
      throw new ProofmarkError(
        "STORE_FAILED",
        `cannot open the fingerprint index ${file}: ${(e as Error).message}`,
        { path: file },
        { cause: e },
      );
    }
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

  /**
   * Registers originals (idempotent by leaf: a leaf already indexed is left as it is).
   * Returns how many were new.
   */
  add(originals: NewOriginal[]): number {
    const insertOriginal = this.db.prepare(
      `INSERT OR IGNORE INTO original (leaf, name, file, receipt_path, sha256, fingerprint, chain_id, block_number, tx_hash, anchored_at, features)
       VALUES (@leaf, @name, @file, @receiptPath, @sha256, @fingerprint, @chainId, @blockNumber, @txHash, @anchoredAt, @features)`,
    );
    const insertVariant = this.db.prepare(
      "INSERT INTO variant (original_id, name, hi, lo, c0, c1, c2, c3, hash256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    );
    let added = 0;
    this.db.transaction(() => {
      for (const o of originals) {
        const fp = parseFingerprint(o.fingerprint);
        const info = insertOriginal.run({ ...o, features: o.features ? Buffer.from(o.features) : null });
        if (info.changes === 0) continue;
        added++;
        if (o.features) this.insertFeatureKeys(Number(info.lastInsertRowid), decodeOrbFeatures(o.features));
        for (const v of fp.variants) {
          const [hi, lo] = words(v.phash);
          insertVariant.run(info.lastInsertRowid, v.name, hi, lo, ...phashChunks(v.phash), Buffer.from(v.hash256));
        }
      }
    })();
    return added;
  }

  /**
   * Originals whose nearest variant is within `maxDistance` pHash-64 bits of the suspect's
   * fingerprint (its `full` variant), nearest first (ties: smaller 256-bit distance).
   *
   * @example
   * const hits = FingerprintIndex.open(dataDir).lookup(suspect.fingerprint, 12);
   */
  lookup(suspect: Fingerprint, maxDistance: number): IndexHit[] {
    if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_MATCH_DISTANCE) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `the distance must be a whole number from 0 to ${MAX_MATCH_DISTANCE} (pHash-64 bits)`,
        { maxDistance },
      );
    }
    const full = suspect.variants.find((v) => v.name === "full");
    if (!full) throw new ProofmarkError("FINGERPRINT_INVALID", 'the suspect\'s fingerprint has no "full" variant');
    const [qhi, qlo] = words(full.phash);
    const chunks = phashChunks(full.phash);
    const radius = Math.floor(maxDistance / 4);
    const best = new Map<number, { distance: number; distance256: number; variant: FingerprintVariantName }>();
    const seen = new Set<string>();
    chunks.forEach((chunk, i) => {
      const probes = JSON.stringify(chunkNeighbours(chunk, radius));
      const rows = this.db
        .prepare(
          `SELECT rowid, original_id, name, hi, lo, hash256 FROM variant WHERE c${i} IN (SELECT value FROM json_each(?))`,
        )
        .all(probes) as Array<VariantRow & { rowid: number }>;
      for (const r of rows) {
        const key = String(r.rowid);
        if (seen.has(key)) continue;
        seen.add(key);
        const distance = popcount32((r.hi ^ qhi) >>> 0) + popcount32((r.lo ^ qlo) >>> 0);
        if (distance > maxDistance) continue;
        const distance256 = hammingDistance(new Uint8Array(r.hash256), full.hash256);
        const prev = best.get(r.original_id);
        if (!prev || distance < prev.distance || (distance === prev.distance && distance256 < prev.distance256)) {
          best.set(r.original_id, { distance, distance256, variant: r.name });
        }
      }
    });
    const get = this.db.prepare("SELECT * FROM original WHERE id = ?");
    return [...best.entries()]
      .map(([id, hit]) => ({ original: toOriginal(get.get(id) as OriginalRow), ...hit }))
      .sort(
        (a, b) =>
          a.distance - b.distance || a.distance256 - b.distance256 || a.original.anchoredAt - b.original.anchoredAt,
      );
  }

  /**
   * Originals whose stored local features share the most keys with the suspect's (each shared key
   * weighted by how rare it is in the index: ln((N + 1) / originals holding it)), best first, at most
   * `limit`. Candidates only: what they are worth is decided by ORB + RANSAC.
   */
  featureCandidates(suspect: OrbFeatures, limit: number): Array<{ id: number; score: number }> {
    if (suspect.count === 0 || limit <= 0) return [];
    const perKey = new Map<number, number>();
    for (const k of descriptorKeys(suspect)) perKey.set(k, (perKey.get(k) ?? 0) + 1);
    const n = this.count();
    const postings = this.db.prepare("SELECT original_id FROM feature_key WHERE key = ?").pluck();
    const score = new Map<number, number>();
    for (const [key, times] of perKey) {
      const ids = postings.all(key) as number[];
      if (ids.length === 0) continue;
      const weight = times * Math.log((n + 1) / ids.length);
      for (const id of ids) score.set(id, (score.get(id) ?? 0) + weight);
    }
    return [...score.entries()]
      .map(([id, s]) => ({ id, score: s }))
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, limit);
  }

  /** An original by its id in this index. */
  original(id: number): IndexedOriginal | undefined {
    const row = this.db.prepare("SELECT * FROM original WHERE id = ?").get(id) as OriginalRow | undefined;
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
        for (const r of rows) this.insertFeatureKeys(r.id, decodeOrbFeatures(new Uint8Array(r.features)));
        after = rows[rows.length - 1].id;
      }
      this.db.prepare("INSERT INTO feature_key_scheme (version) VALUES (?)").run(LSH_SCHEME);
    })();
  }

  /** The ORB features stored for an original (none when stamping skipped them). */
  features(id: number): Uint8Array | undefined {
    const row = this.db.prepare("SELECT features FROM original WHERE id = ?").get(id) as
      { features: Buffer | null } | undefined;
    return row?.features ? new Uint8Array(row.features) : undefined;
  }
}

function toOriginal(r: OriginalRow): IndexedOriginal {
  return {
    id: r.id,
    leaf: r.leaf,
    name: r.name,
    file: r.file,
    receiptPath: r.receipt_path,
    sha256: r.sha256,
    fingerprint: r.fingerprint,
    chainId: r.chain_id,
    blockNumber: r.block_number,
    txHash: r.tx_hash,
    anchoredAt: r.anchored_at,
  };
}
