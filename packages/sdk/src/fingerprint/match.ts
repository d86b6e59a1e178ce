import * as fs from "node:fs";
import * as path from "node:path";
import { parseFingerprint, formatFingerprint, type FingerprintVariantName } from "../core/fingerprint";
import { isProofmarkError } from "../core/errors";
import { parseReceipt } from "../core/receipt";
import { fingerprintImage, type ImageFingerprint } from "./image";
import { FingerprintIndex, type IndexedOriginal } from "./index-db";
import { decodeOrbFeatures, MIN_INLIERS, orbFeatures, orbInliers, type OrbFeatures } from "./orb";
import { CANDIDATE_DISTANCE, MATCH_DISTANCE } from "./measured";
import type { CapturedImageMatch, ImageMatcher } from "../capture/wacz";

/** One registered original that an image matches. */
export interface ImageMatch {
  original: IndexedOriginal;
  /** pHash-64 distance (bits of 64) to the original's nearest variant. */
  distance: number;
  /** 256-bit hash distance for that variant (bits of 256). */
  distance256: number;
  variant: FingerprintVariantName;
  /** RANSAC inliers of ORB features (undefined when the original has no stored features). */
  inliers?: number;
  /** "hash": within the match distance; "features": a candidate the local features confirmed. */
  decidedBy: "hash" | "features";
  /** State of the original's receipt now: present (parses and commits this fingerprint), missing, invalid, or one that commits another fingerprint. */
  receipt: "present" | "missing" | "invalid" | "other-fingerprint";
}

export interface MatchOptions {
  dataDir: string;
  /** The suspect image: a path or its bytes. */
  image: string | Uint8Array;
  /** Match distance: hits at or below it match by hash alone. Default `MATCH_DISTANCE`. */
  maxDistance?: number;
  /** Candidates up to this distance are checked with local features. Default max(CANDIDATE_DISTANCE, maxDistance). */
  candidateDistance?: number;
  /** Check candidates with ORB + RANSAC (default true). */
  features?: boolean;
  /** Most hits checked with local features (nearest first; default 5). */
  featureChecks?: number;
}

export interface MatchResult {
  suspect: { fingerprint: string; trim: ImageFingerprint["trim"]; decoded: ImageFingerprint["decoded"] };
  maxDistance: number;
  candidateDistance: number;
  indexed: number;
  matches: ImageMatch[];
  /** Candidates beyond the match distance that local features did not confirm. */
  rejected: Array<{ original: IndexedOriginal; distance: number; variant: FingerprintVariantName; inliers?: number }>;
}

/**
 * Finds the registered originals an image matches: fingerprint lookup in the data folder's index,
 * then ORB + RANSAC on the nearest candidates. A match is evidence of **similarity**, not of
 * copying: the anchoring time of the original's receipt is what shows which came first.
 *
 * @example
 * const { matches } = await matchImage({ dataDir, image: "suspect.jpg" });
 */
export async function matchImage(opts: MatchOptions): Promise<MatchResult> {
  const maxDistance = opts.maxDistance ?? MATCH_DISTANCE;
  const candidateDistance = Math.max(opts.candidateDistance ?? CANDIDATE_DISTANCE, maxDistance);
  const suspect = await fingerprintImage(opts.image, ["full"]);
  const index = FingerprintIndex.open(opts.dataDir);
  try {
    const hits = index.lookup(suspect.fingerprint, candidateDistance);
    const result: MatchResult = {
      suspect: { fingerprint: formatFingerprint(suspect.fingerprint), trim: suspect.trim, decoded: suspect.decoded },
      maxDistance,
      candidateDistance,
      indexed: index.count(),
      matches: [],
      rejected: [],
    };
    let suspectFeatures: OrbFeatures | undefined;
    let checks = 0;
    for (const hit of hits) {
      let inliers: number | undefined;
      const stored =
        opts.features === false || checks >= (opts.featureChecks ?? 5) ? undefined : index.features(hit.original.id);
      if (stored) {
        checks++;
        suspectFeatures ??= await orbFeatures(suspect.trimmed);
        inliers = await orbInliers(suspectFeatures, decodeOrbFeatures(stored));
      }
      if (hit.distance <= maxDistance) {
        result.matches.push({ ...hit, inliers, decidedBy: "hash", receipt: receiptState(hit.original) });
      } else if (inliers !== undefined && inliers >= MIN_INLIERS) {
        result.matches.push({ ...hit, inliers, decidedBy: "features", receipt: receiptState(hit.original) });
      } else {
        result.rejected.push({ original: hit.original, distance: hit.distance, variant: hit.variant, inliers });
      }
    }
    return result;
  } finally {
    index.close();
  }
}

function receiptState(o: IndexedOriginal): ImageMatch["receipt"] {
  if (!fs.existsSync(o.receiptPath)) return "missing";
  try {
    const receipt = parseReceipt(fs.readFileSync(o.receiptPath, "utf8"));
    const committed = receipt.commitment.meta.fingerprint;
    if (committed === undefined || receipt.commitment.leaf !== o.leaf) return "other-fingerprint";
    return formatFingerprint(parseFingerprint(committed)) === o.fingerprint ? "present" : "other-fingerprint";
  } catch (e) {
    if (isProofmarkError(e)) return "invalid";
    throw e;
  }
}

/**
 * The capture's image matcher backed by this data folder's fingerprint index: every image a web
 * capture recorded is looked up (hash distance and local features, as `matchImage`), and each
 * registered original it matches is recorded in the capture record. Images that do not decode
 * (SVG, icons) are passed over; an empty index matches nothing and opens no file.
 *
 * @example
 * await captureToWacz({ urls, out, dataDir, version, imageMatcher: fingerprintImageMatcher(dataDir) });
 */
export function fingerprintImageMatcher(dataDir: string): ImageMatcher {
  return async (images) => {
    if (!fs.existsSync(path.join(dataDir, "fingerprints.sqlite"))) return [];
    const found: CapturedImageMatch[] = [];
    for (const image of images) {
      let result: MatchResult;
      try {
        result = await matchImage({ dataDir, image: image.bytes });
      } catch (e) {
        if (isProofmarkError(e, "IMAGE_UNREADABLE")) continue;
        throw e;
      }
      for (const m of result.matches) {
        found.push({
          sha256: image.sha256,
          original: {
            name: m.original.name,
            receipt: m.original.receiptPath,
            distance: m.distance,
            variant: m.variant,
            decidedBy: m.decidedBy,
            chainId: m.original.chainId,
            blockNumber: m.original.blockNumber,
            anchoredAt: new Date(m.original.anchoredAt * 1000).toISOString(),
          },
        });
      }
    }
    return found;
  };
}
