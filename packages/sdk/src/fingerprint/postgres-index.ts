import * as fs from "node:fs";
import * as path from "node:path";
import {
  chunkNeighbours,
  parseFingerprint,
  LAYOUT_KEY_SCHEME,
  phashChunks,
  FINGERPRINT_VARIANTS,
  type Fingerprint,
} from "../core/fingerprint";
import { ProofmarkError } from "../core/errors";
import {
  lookupQuery,
  phashWords,
  rankHits,
  scoreFeatureCandidates,
  suspectKeys,
  toOriginal,
  type OriginalRow,
} from "./hits";
import {
  FingerprintIndex,
  FINGERPRINT_INDEX_VERSION,
  LayoutCandidateSearch,
  layoutKeyRows,
  type IndexHit,
  type IndexedOriginal,
  type NewOriginal,
} from "./index-db";
import { decodeOrbFeatures, decodeOrbFeaturesIfIntact, descriptorKeys, LSH_SCHEME, type OrbFeatures } from "./orb";

type Pool = import("pg").Pool;

/**
 * Where fingerprints are indexed: one interface, two implementations — the data folder's SQLite
 * file ({@link FingerprintIndex}, substring tables) and PostgreSQL ({@link PostgresFingerprintIndex}),
 * for a service whose instances share one database. `match`, `report --match`, `stamp` and the
 * capture matcher go through it.
 */
export interface FingerprintStore {
  readonly kind: "sqlite" | "postgres";
  /** Number of originals indexed. */
  count(): Promise<number>;
  /** Registers originals (idempotent by leaf), in one transaction; how many were new. */
  add(originals: NewOriginal[]): Promise<number>;
  /** Originals within `maxDistance` pHash-64 bits of the suspect's `full` variant, nearest first. */
  lookup(suspect: Fingerprint, maxDistance: number): Promise<IndexHit[]>;
  /** The ORB features stored for an original. */
  features(id: number): Promise<Uint8Array | undefined>;
  /**
   * Originals whose stored local features share the most keys with the suspect's, best first, at
   * most `limit` (see {@link FingerprintIndex.featureCandidates}). Candidates only.
   */
  featureCandidates(suspect: OrbFeatures, limit: number): Promise<Array<{ id: number; score: number }>>;
  /** An original by its id in this index. */
  original(id: number): Promise<IndexedOriginal | undefined>;
  /** The originals whose fingerprint carries a colour layout (too little texture for a hash), by a partial index. */
  layoutOriginals(): Promise<IndexedOriginal[]>;
  /** How many originals carry a colour layout, counted up to `atMost`. */
  countLayoutOriginals(atMost: number): Promise<number>;
  /**
   * The `k` originals with a colour layout nearest to any of the suspect's layout descriptors, nearest
   * first, from the descriptor index (multi-probe LSH; approximate: see
   * {@link FingerprintIndex.nearestLayoutOriginals}).
   */
  nearestLayoutOriginals(suspects: ArrayLike<number>[], k: number): Promise<IndexedOriginal[]>;
  close(): Promise<void>;
}

/** True for a `postgres://` or `postgresql://` URL. */
export function isPostgresUrl(database: string | undefined): database is string {
  return database !== undefined && /^postgres(ql)?:\/\//i.test(database);
}

/**
 * The fingerprint index to use: PostgreSQL when `database` is a `postgres://…` URL, else the data
 * folder's `fingerprints.sqlite`. Any other `database` value is refused (INVALID_ARGUMENT).
 *
 * @example
 * const index = await openFingerprintStore(dataDir, process.env.DATABASE_URL);
 */
export async function openFingerprintStore(dataDir: string, database?: string): Promise<FingerprintStore> {
  if (isPostgresUrl(database)) return PostgresFingerprintIndex.open(database);
  if (database !== undefined)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `${database} is not a postgres:// URL: the fingerprint index is SQLite in the data folder or PostgreSQL (postgres://…)`,
    );
  return sqliteFingerprintStore(FingerprintIndex.open(dataDir));
}

/** True when the index has anything to look up in (an absent SQLite file is not created). */
export function fingerprintStoreExists(dataDir: string, database?: string): boolean {
  return isPostgresUrl(database) || fs.existsSync(path.join(dataDir, "fingerprints.sqlite"));
}

/** The SQLite index behind the {@link FingerprintStore} interface. */
export function sqliteFingerprintStore(index: FingerprintIndex): FingerprintStore {
  return {
    kind: "sqlite",
    count: () => Promise.resolve(index.count()),
    add: (originals) => Promise.resolve(index.add(originals)),
    lookup: (suspect, maxDistance) => Promise.resolve(index.lookup(suspect, maxDistance)),
    features: (id) => Promise.resolve(index.features(id)),
    featureCandidates: (suspect, limit) => Promise.resolve(index.featureCandidates(suspect, limit)),
    original: (id) => Promise.resolve(index.original(id)),
    layoutOriginals: () => Promise.resolve(index.layoutOriginals()),
    countLayoutOriginals: (atMost) => Promise.resolve(index.countLayoutOriginals(atMost)),
    nearestLayoutOriginals: (suspects, k) => Promise.resolve(index.nearestLayoutOriginals(suspects, k)),
    close: () => Promise.resolve(index.close()),
  };
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS fingerprint_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fingerprint_originals (
  id BIGSERIAL PRIMARY KEY, leaf TEXT NOT NULL UNIQUE, name TEXT NOT NULL, file TEXT NOT NULL, receipt_path TEXT NOT NULL,
  sha256 TEXT NOT NULL, fingerprint TEXT NOT NULL, chain_id BIGINT NOT NULL, block_number BIGINT NOT NULL,
  tx_hash TEXT NOT NULL, anchored_at BIGINT NOT NULL, features BYTEA);
CREATE TABLE IF NOT EXISTS fingerprint_variants (
  original_id BIGINT NOT NULL REFERENCES fingerprint_originals (id), variant SMALLINT NOT NULL, hash BIGINT NOT NULL,
  c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS fingerprint_variants_c0 ON fingerprint_variants (c0) INCLUDE (hash, original_id);
CREATE INDEX IF NOT EXISTS fingerprint_variants_c1 ON fingerprint_variants (c1) INCLUDE (hash, original_id);
CREATE INDEX IF NOT EXISTS fingerprint_variants_c2 ON fingerprint_variants (c2) INCLUDE (hash, original_id);
CREATE INDEX IF NOT EXISTS fingerprint_variants_c3 ON fingerprint_variants (c3) INCLUDE (hash, original_id);
CREATE TABLE IF NOT EXISTS fingerprint_feature_keys (
  key INTEGER NOT NULL, original_id BIGINT NOT NULL REFERENCES fingerprint_originals (id), PRIMARY KEY (key, original_id));
CREATE INDEX IF NOT EXISTS fingerprint_originals_layout ON fingerprint_originals (id) WHERE fingerprint LIKE 'pmfp2 %';
CREATE TABLE IF NOT EXISTS fingerprint_layout_keys (
  key INTEGER NOT NULL, original_id BIGINT NOT NULL REFERENCES fingerprint_originals (id), descriptors BYTEA NOT NULL,
  PRIMARY KEY (key, original_id));
`;

/** Advisory-lock key serialising schema creation between instances starting at once. */
const SCHEMA_LOCK_KEY = "4207752375419049170";

/** The pHash-64 as PostgreSQL's signed BIGINT (text). */
function signedHash(phash: Uint8Array): string {
  const [hi, lo] = phashWords(phash);
  return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * The fingerprint index in PostgreSQL: the same multi-index hashing as the SQLite file, with
 * PostgreSQL's own indexes — one row per variant with its four 16-bit substrings, each substring
 * column with a B-tree index that includes the hash (index-only scans); a lookup is one statement
 * that ORs the four `cN = ANY(values within ⌊D / 4⌋ bits)` probes (bitmap index scans) and filters by
 * the full distance (`bit_count(hash # query)`) in the database, so only hits travel.
 */
export class PostgresFingerprintIndex implements FingerprintStore {
  readonly kind = "postgres";

  private constructor(private readonly pool: Pool) {}

  /** Connects and creates the tables when missing; a newer schema is refused (FINGERPRINT_INDEX_NEWER). */
  static async open(url: string): Promise<PostgresFingerprintIndex> {
    const pg = require("pg") as typeof import("pg");
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    pool.on("error", () => undefined); // an idle client lost: the next query reports it
    try {
      const client = await pool.connect();
      try {
        await client.query("SELECT pg_advisory_lock($1)", [SCHEMA_LOCK_KEY]);
        try {
          await client.query(SCHEMA);
          await client.query("INSERT INTO fingerprint_meta (key, value) VALUES ('schema', $1) ON CONFLICT DO NOTHING", [
            String(FINGERPRINT_INDEX_VERSION),
          ]);
          const r = await client.query("SELECT value FROM fingerprint_meta WHERE key = 'schema'");
          const version = Number(r.rows[0].value);
          if (version > FINGERPRINT_INDEX_VERSION)
            throw new ProofmarkError(
              "FINGERPRINT_INDEX_NEWER",
              `the fingerprint index in PostgreSQL has schema version ${version}; this Proofmark reads up to ${FINGERPRINT_INDEX_VERSION}. Use a newer Proofmark (nothing was changed)`,
              { version, supported: FINGERPRINT_INDEX_VERSION },
            );
          await keyFeaturesOfOlderRows(client);
          await keyLayoutsOfOlderRows(client);
        } finally {
          await client.query("SELECT pg_advisory_unlock($1)", [SCHEMA_LOCK_KEY]);
        }
      } finally {
        client.release();
      }
    } catch (e) {
      await pool.end().catch(() => undefined);
      if (e instanceof ProofmarkError) throw e;
      throw new ProofmarkError(
        "STORE_FAILED",
        `cannot open the fingerprint index in PostgreSQL: ${(e as Error).message}`,
        {},
        { cause: e },
      );
    }
    return new PostgresFingerprintIndex(pool);
  }

  async count(): Promise<number> {
    const r = await this.pool.query("SELECT count(*)::int AS n FROM fingerprint_originals");
    return r.rows[0].n as number;
  }

  async add(originals: NewOriginal[]): Promise<number> {
    // all checked before anything is written
    const parsed = originals.map((o) => parseFingerprint(o.fingerprint));
    const features = originals.map((o) => (o.features ? decodeOrbFeatures(o.features) : undefined));
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      let added = 0;
      for (const [i, o] of originals.entries()) {
        const r = await client.query(
          `INSERT INTO fingerprint_originals (leaf, name, file, receipt_path, sha256, fingerprint, chain_id, block_number, tx_hash, anchored_at, features)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (leaf) DO NOTHING RETURNING id`,
          [
            o.leaf,
            o.name,
            o.file,
            o.receiptPath,
            o.sha256,
            o.fingerprint,
            o.chainId,
            o.blockNumber,
            o.txHash,
            o.anchoredAt,
            o.features ? Buffer.from(o.features) : null,
          ],
        );
        if (r.rows.length === 0) continue;
        added++;
        const f = features[i];
        if (f) await insertFeatureKeys(client, r.rows[0].id as string, f);
        await insertLayoutKeys(client, r.rows[0].id as string, parsed[i]);
        const variants = parsed[i].variants;
        const chunks = variants.map((v) => phashChunks(v.phash));
        await client.query(
          `INSERT INTO fingerprint_variants (original_id, variant, hash, c0, c1, c2, c3)
           SELECT $1, * FROM unnest($2::smallint[], $3::bigint[], $4::int[], $5::int[], $6::int[], $7::int[])`,
          [
            r.rows[0].id,
            variants.map((v) => FINGERPRINT_VARIANTS.indexOf(v.name)),
            variants.map((v) => signedHash(v.phash)),
            ...[0, 1, 2, 3].map((k) => chunks.map((c) => c[k])),
          ],
        );
      }
      await client.query("COMMIT");
      return added;
    } catch (e) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw e;
    } finally {
      client.release();
    }
  }

  async lookup(suspect: Fingerprint, maxDistance: number): Promise<IndexHit[]> {
    const full = lookupQuery(suspect, maxDistance);
    const radius = Math.floor(maxDistance / 4);
    const probes = phashChunks(full.phash).map((c) => chunkNeighbours(c, radius));
    const r = await this.pool.query(
      `SELECT o.*, h.distance FROM (
         SELECT original_id, min(bit_count((hash # $1::bigint)::bit(64)))::int AS distance FROM fingerprint_variants
         WHERE c0 = ANY($2::int[]) OR c1 = ANY($3::int[]) OR c2 = ANY($4::int[]) OR c3 = ANY($5::int[])
         GROUP BY original_id
       ) h JOIN fingerprint_originals o ON o.id = h.original_id WHERE h.distance <= $6`,
      [signedHash(full.phash), ...probes, maxDistance],
    );
    return rankHits(
      r.rows.map((row: OriginalRow & { distance: number }) => ({
        original: toOriginal(pgRow(row)),
        distance: row.distance,
      })),
      full,
    );
  }

  async features(id: number): Promise<Uint8Array | undefined> {
    const r = await this.pool.query("SELECT features FROM fingerprint_originals WHERE id = $1", [id]);
    const f = r.rows[0]?.features as Buffer | null | undefined;
    return f ? new Uint8Array(f) : undefined;
  }

  async featureCandidates(suspect: OrbFeatures, limit: number): Promise<Array<{ id: number; score: number }>> {
    if (suspect.count === 0 || limit <= 0) return [];
    const perKey = suspectKeys(suspect);
    const n = await this.count();
    const r = await this.pool.query(
      "SELECT key, original_id FROM fingerprint_feature_keys WHERE key = ANY($1::int[])",
      [[...perKey.keys()]],
    );
    const postings = new Map<number, number[]>();
    for (const row of r.rows as Array<{ key: number; original_id: string }>) {
      let ids = postings.get(row.key);
      if (!ids) postings.set(row.key, (ids = []));
      ids.push(Number(row.original_id));
    }
    return scoreFeatureCandidates(perKey, postings, n, limit);
  }

  async original(id: number): Promise<IndexedOriginal | undefined> {
    const r = await this.pool.query("SELECT * FROM fingerprint_originals WHERE id = $1", [id]);
    return r.rows[0] ? toOriginal(pgRow(r.rows[0])) : undefined;
  }

  async layoutOriginals(): Promise<IndexedOriginal[]> {
    const r = await this.pool.query("SELECT * FROM fingerprint_originals WHERE fingerprint LIKE 'pmfp2 %'");
    return r.rows.map((row: OriginalRow) => toOriginal(pgRow(row)));
  }

  async countLayoutOriginals(atMost: number): Promise<number> {
    const r = await this.pool.query(
      "SELECT count(*)::int AS n FROM (SELECT 1 FROM fingerprint_originals WHERE fingerprint LIKE 'pmfp2 %' LIMIT $1) l",
      [atMost],
    );
    return r.rows[0].n as number;
  }

  async nearestLayoutOriginals(suspects: ArrayLike<number>[], k: number): Promise<IndexedOriginal[]> {
    const search = new LayoutCandidateSearch(suspects, k);
    for (const keys of search.rounds()) {
      const r = await this.pool.query(
        "SELECT original_id, descriptors FROM fingerprint_layout_keys WHERE key = ANY($1::int[])",
        [keys],
      );
      search.take(
        (r.rows as Array<{ original_id: string; descriptors: Buffer }>).map((row) => ({
          id: Number(row.original_id),
          descriptors: new Uint8Array(row.descriptors),
        })),
      );
      if (search.enough) break;
    }
    const ids = search.nearest();
    if (ids.length === 0) return [];
    const r = await this.pool.query("SELECT * FROM fingerprint_originals WHERE id = ANY($1::bigint[])", [ids]);
    const byId = new Map(r.rows.map((row: OriginalRow) => [Number(row.id), toOriginal(pgRow(row))]));
    return ids.map((id) => byId.get(id)!).filter(Boolean);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A `fingerprint_originals` row with its BIGINT columns (text in node-postgres) as numbers. */
function pgRow(row: OriginalRow): OriginalRow {
  return {
    ...row,
    id: Number(row.id),
    chain_id: Number(row.chain_id),
    block_number: Number(row.block_number),
    anchored_at: Number(row.anchored_at),
  };
}

type PgClient = import("pg").PoolClient;

async function insertFeatureKeys(client: PgClient, id: string, features: OrbFeatures): Promise<void> {
  const keys = [...new Set(descriptorKeys(features))];
  await client.query(
    "INSERT INTO fingerprint_feature_keys (key, original_id) SELECT unnest($1::int[]), $2 ON CONFLICT DO NOTHING",
    [keys, id],
  );
}

/** Rows stored before the local-feature keys (or with another key scheme) get them once, from their features. */
async function keyFeaturesOfOlderRows(client: PgClient): Promise<void> {
  const r = await client.query("SELECT value FROM fingerprint_meta WHERE key = 'feature_key_scheme'");
  if (r.rows.length > 0 && Number(r.rows[0].value) === LSH_SCHEME) return;
  await client.query("BEGIN");
  try {
    await client.query("DELETE FROM fingerprint_feature_keys");
    const rows = await client.query("SELECT id, features FROM fingerprint_originals WHERE features IS NOT NULL");
    for (const row of rows.rows as Array<{ id: string; features: Buffer }>) {
      const f = decodeOrbFeaturesIfIntact(new Uint8Array(row.features));
      if (f) await insertFeatureKeys(client, row.id, f); // a damaged blob gets no keys (its ORB check reports it)
    }
    await client.query(
      "INSERT INTO fingerprint_meta (key, value) VALUES ('feature_key_scheme', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [String(LSH_SCHEME)],
    );
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}

async function insertLayoutKeys(client: PgClient, id: string, fingerprint: Fingerprint): Promise<void> {
  const rows = layoutKeyRows(fingerprint);
  if (rows.size === 0) return;
  await client.query(
    `INSERT INTO fingerprint_layout_keys (key, original_id, descriptors)
     SELECT k, $2, d FROM unnest($1::int[], $3::bytea[]) AS t (k, d)
     ON CONFLICT (key, original_id) DO UPDATE SET descriptors = excluded.descriptors`,
    [[...rows.keys()], id, [...rows.values()].map((d) => Buffer.from(d))],
  );
}

/** Rows stored before the descriptor index (or with another key scheme) get it once, from the layouts their fingerprints carry. */
async function keyLayoutsOfOlderRows(client: PgClient): Promise<void> {
  const r = await client.query("SELECT value FROM fingerprint_meta WHERE key = 'layout_key_scheme'");
  if (r.rows.length > 0 && Number(r.rows[0].value) === LAYOUT_KEY_SCHEME) return;
  await client.query("BEGIN");
  try {
    await client.query("DELETE FROM fingerprint_layout_keys");
    // page by page: a large index's layouts are not all held in memory at once
    for (let after = "0"; ;) {
      const page = await client.query(
        "SELECT id, fingerprint FROM fingerprint_originals WHERE fingerprint LIKE 'pmfp2 %' AND id > $1 ORDER BY id LIMIT 500",
        [after],
      );
      const rows = page.rows as Array<{ id: string; fingerprint: string }>;
      if (rows.length === 0) break;
      for (const row of rows) await insertLayoutKeys(client, row.id, parseFingerprint(row.fingerprint));
      after = rows[rows.length - 1].id;
    }
    await client.query(
      "INSERT INTO fingerprint_meta (key, value) VALUES ('layout_key_scheme', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      [String(LAYOUT_KEY_SCHEME)],
    );
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw e;
  }
}
