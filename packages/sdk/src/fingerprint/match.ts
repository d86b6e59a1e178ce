import * as fs from "node:fs";
import {
  canvasRotation,
  computeFingerprint,
  cropGrey,
  formatFingerprint,
  hammingDistance,
  LAYOUT_CANDIDATES,
  LAYOUT_MATCH_DISTANCE,
  nearestLayoutView,
  needsUntrimmed,
  parseFingerprint,
  photoRegions,
  rotateCrop,
  suspectLayoutDescriptor,
  trimRect,
  type Fingerprint,
  type FingerprintVariantName,
  type GreyImage,
  type Rect,
} from "../core/fingerprint";
import { isProofmarkError } from "../core/errors";
import { parseReceipt } from "../core/receipt";
import { colourLayoutsOf, DECODE_SIDE, decodeGrey, textureOf, type ImageFingerprint } from "./image";
import type { IndexedOriginal } from "./index-db";
import { fingerprintStoreExists, openFingerprintStore } from "./postgres-index";
import { confirmByFeatures, decodeOrbFeatures, joinFeatures, suspectFeatures, type SuspectFeatureSet } from "./orb";
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
  /**
   * "hash": within the match distance; "features": a candidate the local features confirmed;
   * "colour layout": the nearest original with a colour layout (too little texture for a perceptual
   * fingerprint, or too few local features), by colour layout only — weaker evidence (see `LAYOUT_ONLY_NOTE`).
   */
  decidedBy: "hash" | "features" | "colour layout";
  /** How the original became a candidate: near by hash, voted for by the suspect's local features (`featureCandidates`) whatever its hash distance, or the nearest flat original by colour layout. */
  foundBy: "hash" | "local features" | "colour layout";
  /** For a colour-layout match: its distance (≤ `LAYOUT_MATCH_DISTANCE`), the original's view it is nearest to, and `LAYOUT_ONLY_NOTE`. */
  layout?: { distance: number; maxDistance: number; view: string; note: string };
  /** How the suspect was looked up when it matched: as it is, as the photo found inside it (a screenshot, a frame), or turned back from a rotation. */
  seenAs: SuspectView;
  /** State of the original's receipt now: present (parses and commits this fingerprint), missing, invalid, or one that commits another fingerprint. */
  receipt: "present" | "missing" | "invalid" | "other-fingerprint";
}

export interface MatchOptions {
  dataDir: string;
  /** `postgres://…`: the fingerprint index in PostgreSQL (default: `<dataDir>/fingerprints.sqlite`). */
  database?: string;
  /** The suspect image: a path or its bytes. */
  image: string | Uint8Array;
  /** Match distance: hits at or below it match by hash alone. Default `MATCH_DISTANCE`. */
  maxDistance?: number;
  /** Candidates up to this distance are checked with local features. Default max(CANDIDATE_DISTANCE, maxDistance). */
  candidateDistance?: number;
  /** Check candidates with ORB + RANSAC (default true). */
  features?: boolean;
  /** Most hits checked with local features (nearest first; default 5), and most candidates taken from the local-feature index per view of the suspect. */
  featureChecks?: number;
}

export interface MatchResult {
  suspect: {
    fingerprint: string;
    trim: ImageFingerprint["trim"];
    decoded: ImageFingerprint["decoded"];
    /** The suspect has too little texture to fingerprint (see `textureOf`): an empty result says little. */
    tooLittleTexture: boolean;
    signal: number;
  };
  maxDistance: number;
  candidateDistance: number;
  indexed: number;
  matches: ImageMatch[];
  /** Candidates beyond the match distance that local features did not confirm. */
  rejected: Array<{ original: IndexedOriginal; distance: number; variant: FingerprintVariantName; inliers?: number }>;
  /**
   * Local-feature steps that could not run (OpenCV failed on this image: LOCAL_FEATURES_FAILED), each
   * with the view of the suspect and, for a comparison, the original: those checks were not made, and
   * the match went on with what it had (hash, the other views, colour layout). Usually empty.
   */
  notChecked: Array<{ seenAs: SuspectView; original?: string; reason: string }>;
  /**
   * Where the suspect was compared by colour layout (a flat view, or nothing else matched, and the
   * index holds originals with a colour layout): how many stored originals' layouts were compared, and
   * `nearestOnly` when the index holds more than `LAYOUT_CANDIDATES` of them, so only the nearest by
   * layout descriptor (see `nearestLayoutOriginals`) were compared and the rest were not checked.
   */
  layoutComparison?: { compared: number; nearestOnly: boolean };
}

/** What a colour-layout match is worth, said with every one (CLI, report, --json). */
export const LAYOUT_ONLY_NOTE =
  "colour layout only: the image has too little texture for a perceptual fingerprint (or too few local features to confirm an edited copy), so this match rests on where its colours and light sit — weaker evidence than a hash or local-feature match; tiles of one even pattern look alike";

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
  const featureChecks = opts.features === false ? 0 : (opts.featureChecks ?? 5);
  const decoded = await decodeGrey(opts.image);
  const trim = trimRect(decoded);
  const trimmed = cropGrey(decoded, trim);
  const queries = suspectQueries(decoded, trimmed, trim);
  let sharper: GreyImage | undefined; // the suspect decoded at twice the size, for the features of a small region
  const index = await openFingerprintStore(opts.dataDir, opts.database);
  try {
    const result: MatchResult = {
      suspect: {
        fingerprint: formatFingerprint(queries[0].fingerprint),
        trim,
        decoded: { width: decoded.width, height: decoded.height },
        ...textureOf(trimmed),
      },
      maxDistance,
      candidateDistance,
      indexed: await index.count(),
      matches: [],
      rejected: [],
      notChecked: [],
    };
    // a local-feature step OpenCV cannot run on this image is noted, not fatal: the match goes on
    const notChecked = (e: unknown, seenAs: SuspectView, original?: IndexedOriginal): void => {
      if (!isProofmarkError(e, "LOCAL_FEATURES_FAILED")) throw e;
      result.notChecked.push({ seenAs, ...(original ? { original: original.name } : {}), reason: e.message });
    };
    const confirm = async (
      query: SuspectQuery,
      features: SuspectFeatureSet[],
      stored: Uint8Array,
      original: IndexedOriginal,
    ): Promise<{ inliers?: number; confirmed: boolean }> => {
      try {
        return await confirmByFeatures(features, decodeOrbFeatures(stored));
      } catch (e) {
        notChecked(e, query.seenAs, original);
        return { inliers: undefined, confirmed: false };
      }
    };
    const decided = new Set<number>();
    const featuresOf = new Map<SuspectQuery, SuspectFeatureSet[]>();
    const queryFeatures = async (query: SuspectQuery): Promise<SuspectFeatureSet[]> => {
      let features = featuresOf.get(query);
      if (!features) {
        try {
          if (query.region) {
            sharper ??= await decodeGrey(opts.image, 2 * DECODE_SIDE);
            features = await suspectFeatures(cropGrey(sharper, scaleRect(query.region, sharper.width / decoded.width)));
          } else features = await suspectFeatures(query.image);
        } catch (e) {
          notChecked(e, query.seenAs);
          features = []; // no feature set: nothing to confirm with, and no votes
        }
        featuresOf.set(query, features);
      }
      return features;
    };
    for (const query of queries) {
      const hits = (await index.lookup(query.fingerprint, candidateDistance)).filter(
        (h) => !decided.has(h.original.id),
      );
      let checks = 0;
      for (const hit of hits) {
        // within the match distance the hash decides for the image as it is and for the photo turned
        // back from a rotation (it lands as near its original as the whole image does, and no nearer
        // to unrelated ones: README, robustness), unless the view has too little texture for its hash
        // to mean anything. The photo found inside a picture needs its features confirmed: on a
        // photo that is not a screenshot, what photoRegions finds is some part of it, whose hash lands
        // within 10 bits of unrelated tiles. Beyond the distance, local features must confirm.
        const byHash = hit.distance <= maxDistance && query.seenAs !== "region" && !query.tooLittleTexture;
        let inliers: number | undefined;
        let confirmed = false;
        const stored =
          checks < (query.seenAs === "whole" ? featureChecks : Math.min(3, featureChecks))
            ? await index.features(hit.original.id)
            : undefined;
        if (stored) {
          checks++;
          ({ inliers, confirmed } = await confirm(query, await queryFeatures(query), stored, hit.original));
        }
        if (byHash || confirmed) {
          decided.add(hit.original.id);
          result.matches.push({
            ...hit,
            inliers,
            decidedBy: byHash ? "hash" : "features",
            foundBy: "hash",
            seenAs: query.seenAs,
            receipt: receiptState(hit.original),
          });
        } else if (query.seenAs === "whole") {
          result.rejected.push({ original: hit.original, distance: hit.distance, variant: hit.variant, inliers });
        }
      }
    }
    // Candidates from local features: the originals the suspect's ORB descriptors vote for, whatever
    // their hash distance (an edit that moves the global hash far keeps most local features). Asked
    // for the suspect as it is (trimmed and, where trimming took much, untrimmed: trimming a faint
    // photo with a logo on it can leave only the logo) and for the photo found inside it; confirmed
    // by ORB + RANSAC alone.
    if (featureChecks > 0) {
      for (const query of queries.filter((q) => q.seenAs !== "rotation").slice(0, 3)) {
        const features = await queryFeatures(query);
        for (const candidate of await index.featureCandidates(
          joinFeatures(features.map((f) => f.features)),
          featureChecks,
        )) {
          if (decided.has(candidate.id)) continue;
          const stored = await index.features(candidate.id);
          const original = await index.original(candidate.id);
          if (!stored || !original) continue;
          const { inliers, confirmed } = await confirm(query, features, stored, original);
          if (!confirmed) continue;
          decided.add(candidate.id);
          result.matches.push({
            original,
            ...nearestVariant(original.fingerprint, query.fingerprint),
            inliers,
            decidedBy: "features",
            foundBy: "local features",
            seenAs: query.seenAs,
            receipt: receiptState(original),
          });
        }
      }
    }
    // Colour layout: a suspect with a flat view, or one that nothing else matched, is compared with
    // the originals that have too little texture for a hash (they carry a colour layout); the nearest
    // matches when it is within LAYOUT_MATCH_DISTANCE — only the nearest, since tiles of one even
    // pattern are alike. Weaker evidence, and said so.
    // Beyond LAYOUT_CANDIDATES such originals, only the nearest by layout descriptor are compared (a
    // lookup in the descriptor index, not a scan), and the result says so.
    const looked = queries.filter((q) => q.seenAs !== "rotation");
    const present =
      looked.some((q) => q.tooLittleTexture) || result.matches.length === 0
        ? await index.countLayoutOriginals(LAYOUT_CANDIDATES + 1)
        : 0;
    if (present > 0) {
      const layouts = await colourLayoutsOf(
        opts.image,
        decoded,
        looked.map((q) => ({ name: "layout" as const, rect: q.rect })),
      );
      const nearestOnly = present > LAYOUT_CANDIDATES;
      const flat = nearestOnly
        ? await index.nearestLayoutOriginals(layouts.map(suspectLayoutDescriptor), LAYOUT_CANDIDATES)
        : await index.layoutOriginals();
      result.layoutComparison = { compared: flat.length, nearestOnly };
      let best: { original: IndexedOriginal; distance: number; view: string; query: SuspectQuery } | undefined;
      for (const original of flat) {
        for (const stored of parseFingerprint(original.fingerprint).layouts ?? []) {
          const d = nearestLayoutView(layouts, stored);
          if (!best || d.distance < best.distance)
            best = { original, distance: d.distance, view: d.view, query: looked[d.suspect] };
        }
      }
      if (best && best.distance <= LAYOUT_MATCH_DISTANCE && !decided.has(best.original.id)) {
        decided.add(best.original.id);
        result.matches.push({
          original: best.original,
          ...nearestVariant(best.original.fingerprint, best.query.fingerprint),
          decidedBy: "colour layout",
          foundBy: "colour layout",
          seenAs: best.query.seenAs,
          layout: {
            distance: Math.round(best.distance * 1000) / 1000,
            maxDistance: LAYOUT_MATCH_DISTANCE,
            view: best.view,
            note: LAYOUT_ONLY_NOTE,
          },
          receipt: receiptState(best.original),
        });
      }
    }
    result.rejected = result.rejected.filter((r) => !decided.has(r.original.id));
    // colour-layout matches last: weaker evidence than any hash or feature match
    const weak = (m: ImageMatch) => (m.decidedBy === "colour layout" ? 1 : 0);
    result.matches.sort((a, b) => weak(a) - weak(b) || a.distance - b.distance || a.distance256 - b.distance256);
    return result;
  } finally {
    await index.close();
  }
}

/** How the suspect was looked up: as it is, as the photo found inside it, or turned back from a rotation. */
export type SuspectView = "whole" | "region" | "rotation";

interface SuspectQuery {
  seenAs: SuspectView;
  image: GreyImage;
  /** Where the view is in the decoded suspect (for a rotation: the whole of it). */
  rect: Rect;
  fingerprint: Fingerprint;
  /** For a region: where it is in the decoded suspect (its features are taken from a sharper decode). */
  region?: Rect;
  /** The suspect before trimming (where trimming took more than `UNTRIMMED_BELOW` of it). */
  untrimmed?: boolean;
  /** Too little texture for its hash to decide (`textureOf`): a flat view's hash is mostly noise, near many unrelated flat pictures; only local features can confirm what it finds. */
  tooLittleTexture: boolean;
}

function scaleRect(r: Rect, f: number): Rect {
  return {
    left: Math.floor(r.left * f),
    top: Math.floor(r.top * f),
    width: Math.floor(r.width * f),
    height: Math.floor(r.height * f),
  };
}

/** The suspect as it is (trimmed), the photos it may contain, and the photo turned back when it sits rotated on a plain canvas. */
function suspectQueries(decoded: GreyImage, trimmed: GreyImage, trim: Rect): SuspectQuery[] {
  const whole = { left: 0, top: 0, width: decoded.width, height: decoded.height };
  const query = (seenAs: SuspectView, image: GreyImage, rect: Rect): SuspectQuery => ({
    seenAs,
    image,
    rect,
    fingerprint: computeFingerprint(image, ["full"]),
    tooLittleTexture: textureOf(image).tooLittleTexture,
  });
  const queries = [query("whole", trimmed, trim)];
  // a flat edge that trimming took for a border may be picture: look the image up untrimmed as well
  if (needsUntrimmed(decoded, trimmed)) queries.push({ ...query("whole", decoded, whole), untrimmed: true });
  for (const rect of photoRegions(decoded)) {
    const region = cropGrey(decoded, rect);
    const inner = trimRect(region);
    const at = { left: rect.left + inner.left, top: rect.top + inner.top, width: inner.width, height: inner.height };
    queries.push({ ...query("region", cropGrey(decoded, at), at), region: at });
  }
  const angle = canvasRotation(decoded);
  if (angle !== undefined)
    for (const sign of [1, -1]) queries.push(query("rotation", rotateCrop(decoded, sign * angle), whole));
  return queries;
}

/** The original's variant nearest to the suspect's `full` hash, with its distances. */
function nearestVariant(
  original: string,
  suspect: Fingerprint,
): { distance: number; distance256: number; variant: FingerprintVariantName } {
  const full = suspect.variants.find((v) => v.name === "full") ?? suspect.variants[0];
  let best: { distance: number; distance256: number; variant: FingerprintVariantName } | undefined;
  for (const v of parseFingerprint(original).variants) {
    const distance = hammingDistance(v.phash, full.phash);
    const distance256 = hammingDistance(v.hash256, full.hash256);
    if (!best || distance < best.distance || (distance === best.distance && distance256 < best.distance256))
      best = { distance, distance256, variant: v.name };
  }
  return best!;
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
 * registered original it matches is recorded in the capture record (not a colour-layout resemblance:
 * weaker evidence, left to `proofmark match`). Images that do not decode
 * (SVG, icons) are passed over; an empty index matches nothing and opens no file.
 *
 * @example
 * await captureToWacz({ urls, out, dataDir, version, imageMatcher: fingerprintImageMatcher(dataDir) });
 */
export function fingerprintImageMatcher(dataDir: string, database?: string): ImageMatcher {
  return async (images) => {
    if (!fingerprintStoreExists(dataDir, database)) return [];
    const found: CapturedImageMatch[] = [];
    for (const image of images) {
      let result: MatchResult;
      try {
        result = await matchImage({ dataDir, database, image: image.bytes });
      } catch (e) {
        if (isProofmarkError(e, "IMAGE_UNREADABLE")) continue;
        throw e;
      }
      // a resemblance by colour layout alone is weaker evidence than the capture record's one wording
      // ("resembles your registered original") carries: `proofmark match` on the image shows it
      for (const m of result.matches.filter((x) => x.decidedBy !== "colour layout")) {
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
