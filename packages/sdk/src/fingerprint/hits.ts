import {
  hammingDistance,
  MAX_MATCH_DISTANCE,
  parseFingerprint,
  type Fingerprint,
  type FingerprintVariantName,
} from "../core/fingerprint";
import { ProofmarkError } from "../core/errors";
import type { IndexedOriginal, IndexHit } from "./index-db";
import { descriptorKeys, type OrbFeatures } from "./orb";

/** What the SQLite and PostgreSQL fingerprint indexes share: row mapping, the query check, the ranking of hits. */

export interface OriginalRow {
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

export function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The pHash-64 as its high and low 32-bit words. */
export function phashWords(phash: Uint8Array): [number, number] {
  const hi = ((phash[0] << 24) | (phash[1] << 16) | (phash[2] << 8) | phash[3]) >>> 0;
  const lo = ((phash[4] << 24) | (phash[5] << 16) | (phash[6] << 8) | phash[7]) >>> 0;
  return [hi, lo];
}

/** The suspect's `full` variant, once the distance is checked (both index kinds). */
export function lookupQuery(suspect: Fingerprint, maxDistance: number): Fingerprint["variants"][number] {
  if (!Number.isInteger(maxDistance) || maxDistance < 0 || maxDistance > MAX_MATCH_DISTANCE) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `the distance must be a whole number from 0 to ${MAX_MATCH_DISTANCE} (pHash-64 bits)`,
      { maxDistance },
    );
  }
  const full = suspect.variants.find((v) => v.name === "full");
  if (!full) throw new ProofmarkError("FINGERPRINT_INVALID", 'the suspect\'s fingerprint has no "full" variant');
  return full;
}

/**
 * Names each hit's nearest variant and its 256-bit distance (from the original's own fingerprint
 * text: hits are few), nearest first; ties: smaller 256-bit distance, then earlier anchor.
 */
export function rankHits(
  hits: Array<{ original: IndexedOriginal; distance: number }>,
  full: Fingerprint["variants"][number],
): IndexHit[] {
  return hits
    .map(({ original, distance }) => {
      let chosen: { variant: FingerprintVariantName; distance256: number } | undefined;
      for (const v of parseFingerprint(original.fingerprint).variants) {
        if (hammingDistance(v.phash, full.phash) !== distance) continue;
        const distance256 = hammingDistance(v.hash256, full.hash256);
        if (!chosen || distance256 < chosen.distance256) chosen = { variant: v.name, distance256 };
      }
      return { original, distance, ...chosen! };
    })
    .sort(
      (a, b) =>
        a.distance - b.distance || a.distance256 - b.distance256 || a.original.anchoredAt - b.original.anchoredAt,
    );
}

export function toOriginal(r: OriginalRow): IndexedOriginal {
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

/** How often each locality-sensitive key occurs among the suspect's ORB descriptors. */
export function suspectKeys(suspect: OrbFeatures): Map<number, number> {
  const perKey = new Map<number, number>();
  for (const k of descriptorKeys(suspect)) perKey.set(k, (perKey.get(k) ?? 0) + 1);
  return perKey;
}

/**
 * Ranks originals by the keys they share with the suspect (`postings`: per key, the originals that
 * hold it), each shared key weighted by how rare it is among the `indexed` originals
 * (ln((N + 1) / originals holding it)) and by how often the suspect has it; best first, at most `limit`.
 */
export function scoreFeatureCandidates(
  perKey: Map<number, number>,
  postings: Map<number, number[]>,
  indexed: number,
  limit: number,
): Array<{ id: number; score: number }> {
  const score = new Map<number, number>();
  for (const [key, times] of perKey) {
    const ids = postings.get(key) ?? [];
    if (ids.length === 0) continue;
    const weight = times * Math.log((indexed + 1) / ids.length);
    for (const id of ids) score.set(id, (score.get(id) ?? 0) + weight);
  }
  return [...score.entries()]
    .map(([id, s]) => ({ id, score: s }))
    .sort((a, b) => b.score - a.score || a.id - b.id)
    .slice(0, limit);
}
