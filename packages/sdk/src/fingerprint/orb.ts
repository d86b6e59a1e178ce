import type { GreyImage } from "../core/fingerprint";
import { isProofmarkError, ProofmarkError } from "../core/errors";

/**
 * Local features for the cases a global hash cannot decide (one-sided crops, rotation): ORB
 * keypoints and descriptors (OpenCV through `@techstark/opencv-js`, WebAssembly), matched with a
 * ratio test and confirmed with a RANSAC homography. The inlier count is the evidence: matches
 * that agree on one geometric transform of one image onto the other.
 */

/** Keypoints (x, y pairs) and 32-byte ORB descriptors of one image. */
export interface OrbFeatures {
  count: number;
  points: Float32Array;
  descriptors: Uint8Array;
}

/** Keypoints detected per image. */
export const ORB_FEATURES = 500;
/** RANSAC inliers from which local features confirm a candidate (see the README's robustness table). */
export const MIN_INLIERS = 20;
/**
 * An original with fewer ORB keypoints than this can never be confirmed by local features (a
 * confirmation needs `MIN_INLIERS` of them): `fingerprintOriginal` gives it a colour layout as well.
 */
export const FEW_LOCAL_FEATURES = MIN_INLIERS;

// opencv.js ships no usable types for this use; the few calls below are checked by the tests.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Cv = any;
let cvPromise: Promise<{ cv: Cv }> | undefined;

/**
 * Loads the OpenCV WebAssembly module once per process (≈ 2 s). The module is a thenable
 * (Emscripten), so it travels wrapped: a promise resolved with it directly never settles (it
 * keeps adopting itself), and neither does an async function that returns it.
 */
export function loadOpenCv(): Promise<{ cv: Cv }> {
  cvPromise ??= new Promise<{ cv: Cv }>((resolve, reject) => {
    // The Emscripten build installs process-wide `uncaughtException` / `unhandledRejection`
    // handlers that abort the whole process on any later error, anywhere: take them back out, so
    // loading OpenCV leaves the host program's error handling as it was.
    const before = {
      uncaughtException: process.listeners("uncaughtException"),
      unhandledRejection: process.listeners("unhandledRejection"),
    };
    const mod = require("@techstark/opencv-js");
    for (const listener of process.listeners("uncaughtException")) {
      if (!before.uncaughtException.includes(listener)) process.removeListener("uncaughtException", listener);
    }
    for (const listener of process.listeners("unhandledRejection")) {
      if (!before.unhandledRejection.includes(listener)) process.removeListener("unhandledRejection", listener);
    }
    if (mod.Mat) resolve({ cv: mod });
    else if (typeof mod.then === "function") mod.then((cv: Cv) => resolve({ cv }), reject);
    else reject(new Error("@techstark/opencv-js did not load"));
  });
  return cvPromise;
}

/**
 * Runs `step` with OpenCV, turning what OpenCV throws into a ProofmarkError (LOCAL_FEATURES_FAILED)
 * that names the step and carries OpenCV's own message. The WebAssembly build throws a bare number
 * (a pointer to its C++ exception) on a failed assertion: caught anywhere else it says nothing. Every
 * OpenCV call of Proofmark goes through here.
 */
export async function withOpenCv<T>(what: string, step: (cv: Cv) => T): Promise<T> {
  const { cv } = await loadOpenCv();
  try {
    return step(cv);
  } catch (e) {
    if (isProofmarkError(e)) throw e;
    let reason: string;
    if (typeof e === "number") {
      try {
        reason = String(cv.exceptionFromPtr(e).msg).trim();
      } catch {
        reason = `OpenCV exception ${e}`;
      }
    } else reason = e instanceof Error ? e.message : String(e);
    throw new ProofmarkError(
      "LOCAL_FEATURES_FAILED",
      `OpenCV could not ${what}: ${reason}`,
      { step: what },
      { cause: e },
    );
  }
}

/**
 * ORB keeps no keypoint within its edge threshold (31 px) of a side of the image, at every pyramid
 * level: an image this narrow or narrower has none (and OpenCV's pyramid fails an assertion on one
 * a few pixels wide), so it is not handed to OpenCV.
 */
const ORB_MIN_SIDE = 2 * 31;

/**
 * Below this many keypoints an image counts as low-contrast (soft focus, flat art, haze): its
 * features are taken again from its histogram-equalised copy. FAST's fixed contrast threshold
 * (20 grey levels; opencv.js does not expose it) finds almost nothing there; ORB's descriptors
 * compare smoothed intensities, which a monotonic remapping mostly keeps, so an equalised image
 * still matches a copy that was not.
 */
export const LOW_CONTRAST_FEATURES = 100;

/** ORB features of a grey image (of its histogram-equalised copy when it has fewer than `LOW_CONTRAST_FEATURES`). */
export async function orbFeatures(img: GreyImage, max = ORB_FEATURES): Promise<OrbFeatures> {
  const features = await detectOrb(img, max, false);
  return features.count < LOW_CONTRAST_FEATURES ? detectOrb(img, max, true) : features;
}

/**
 * Keypoints detected in a suspect copy: twice an original's, so that what an edit adds (an overlaid
 * text's or logo's strokes are the strongest corners of the picture) does not crowd the photo's own
 * keypoints out of the budget.
 */
export const SUSPECT_FEATURES = 1000;

/**
 * RANSAC inliers from which the *equalised* features of a suspect that had enough keypoints of its
 * own confirm a candidate. Equalising lifts JPEG block edges and noise into keypoints, and unrelated
 * equalised tiles of one wallpaper share them: over 1,268 pairs of copies and neighbouring tiles
 * (the hardest unrelated pairs of the corpus) 23 reached 20 inliers this way, 3 reached 40; the
 * copies' own originals kept 85 of 102 (README, robustness). Chosen once, on that false-match side.
 */
export const MIN_INLIERS_EQUALISED = 40;

/** One of a suspect's feature sets and the inliers from which it confirms a candidate. */
export interface SuspectFeatureSet {
  features: OrbFeatures;
  minInliers: number;
}

/**
 * A suspect's feature sets. With fewer than `LOW_CONTRAST_FEATURES` keypoints of its own: the
 * equalised ones (as an original stores them). With more: its own, and the equalised ones as a
 * second guess at `MIN_INLIERS_EQUALISED` — an overlaid text or logo lifts a copy's count above
 * the limit while its low-contrast original stored equalised features, so the copy cannot tell
 * which way its original went.
 */
export async function suspectFeatures(img: GreyImage): Promise<SuspectFeatureSet[]> {
  const own = await detectOrb(img, SUSPECT_FEATURES, false);
  const equalised = await detectOrb(img, SUSPECT_FEATURES, true);
  if (own.count < LOW_CONTRAST_FEATURES) return [{ features: equalised, minInliers: MIN_INLIERS }];
  return [
    { features: own, minInliers: MIN_INLIERS },
    { features: equalised, minInliers: MIN_INLIERS_EQUALISED },
  ];
}

/** Whether any of a suspect's feature sets confirms an original, and the inliers of the one that does (else the most any set found). */
export async function confirmByFeatures(
  suspect: readonly SuspectFeatureSet[],
  original: OrbFeatures,
): Promise<{ inliers: number; confirmed: boolean }> {
  let most = 0;
  for (const set of suspect) {
    const inliers = await orbInliers(set.features, original);
    if (inliers >= set.minInliers) return { inliers, confirmed: true };
    most = Math.max(most, inliers);
  }
  return { inliers: most, confirmed: false };
}

/** Several feature sets as one (for voting by descriptor keys). */
export function joinFeatures(sets: readonly OrbFeatures[]): OrbFeatures {
  const count = sets.reduce((n, f) => n + f.count, 0);
  const points = new Float32Array(count * 2);
  const descriptors = new Uint8Array(count * 32);
  let at = 0;
  for (const f of sets) {
    points.set(f.points.subarray(0, f.count * 2), at * 2);
    descriptors.set(f.descriptors.subarray(0, f.count * 32), at * 32);
    at += f.count;
  }
  return { count, points, descriptors };
}

async function detectOrb(img: GreyImage, max: number, equalise: boolean): Promise<OrbFeatures> {
  if (img.width <= ORB_MIN_SIDE || img.height <= ORB_MIN_SIDE)
    return { count: 0, points: new Float32Array(0), descriptors: new Uint8Array(0) };
  return withOpenCv(`take ORB features of a ${img.width} × ${img.height} image`, (cv) => {
    const mats: Array<{ delete(): void }> = [];
    try {
      const mat = cv.matFromArray(img.height, img.width, cv.CV_8UC1, img.data);
      mats.push(mat);
      if (equalise) cv.equalizeHist(mat, mat);
      const orb = new cv.ORB(max);
      const keypoints = new cv.KeyPointVector();
      const descriptors = new cv.Mat();
      const noMask = new cv.Mat();
      mats.push(orb, keypoints, descriptors, noMask);
      orb.detectAndCompute(mat, noMask, keypoints, descriptors);
      const count = descriptors.rows;
      const points = new Float32Array(count * 2);
      for (let i = 0; i < count; i++) {
        const kp = keypoints.get(i);
        points[2 * i] = kp.pt.x;
        points[2 * i + 1] = kp.pt.y;
      }
      return { count, points, descriptors: new Uint8Array(descriptors.data.slice(0, count * 32)) };
    } finally {
      for (const m of mats) m.delete();
    }
  });
}

/**
 * RANSAC inliers between a suspect's and an original's features: ratio-tested matches (0.8) that a
 * single homography maps within 5 px. 0 when fewer than 8 matches survive the ratio test, and 0
 * when the homography is no view of the original an edit makes (`plausibleHomography`).
 */
export async function orbInliers(suspect: OrbFeatures, original: OrbFeatures): Promise<number> {
  if (suspect.count < 8 || original.count < 8) return 0;
  return withOpenCv("match ORB features (RANSAC)", (cv) => {
    const mats: Array<{ delete(): void }> = [];
    try {
      const a = cv.matFromArray(suspect.count, 32, cv.CV_8UC1, suspect.descriptors);
      mats.push(a);
      const b = cv.matFromArray(original.count, 32, cv.CV_8UC1, original.descriptors);
      mats.push(b);
      const matcher = new cv.BFMatcher(cv.NORM_HAMMING, false);
      const knn = new cv.DMatchVectorVector();
      mats.push(matcher, knn);
      matcher.knnMatch(a, b, knn, 2);
      const src: number[] = [];
      const dst: number[] = [];
      for (let i = 0; i < knn.size(); i++) {
        const pair = knn.get(i);
        if (pair.size() < 2) continue;
        const m = pair.get(0);
        const n = pair.get(1);
        if (m.distance < 0.8 * n.distance) {
          src.push(suspect.points[2 * m.queryIdx], suspect.points[2 * m.queryIdx + 1]);
          dst.push(original.points[2 * m.trainIdx], original.points[2 * m.trainIdx + 1]);
        }
      }
      if (src.length < 16) return 0;
      const srcMat = cv.matFromArray(src.length / 2, 1, cv.CV_32FC2, src);
      mats.push(srcMat);
      const dstMat = cv.matFromArray(dst.length / 2, 1, cv.CV_32FC2, dst);
      mats.push(dstMat);
      const mask = new cv.Mat();
      mats.push(mask);
      const h = cv.findHomography(srcMat, dstMat, cv.RANSAC, 5.0, mask);
      mats.push(h);
      if (h.empty()) return 0;
      const at: number[] = [];
      for (let i = 0; i < mask.rows; i++) if (mask.data[i]) at.push(src[2 * i], src[2 * i + 1]);
      return plausibleHomography(Array.from(h.data64F as Float64Array), at) ? at.length / 2 : 0;
    } finally {
      for (const m of mats) m.delete();
    }
  });
}

/** Most a homography may foreshorten the matched part of the picture: w (its third row) at most this many times larger at one inlier than at another. */
const MAX_PERSPECTIVE = 2;
/** Most a homography may scale the matched part (either way, along any direction): ORB's 8-level pyramid (×1.2) spans ≈ 3.6 of it. */
const MAX_SCALE = 8;
/** Most a homography may stretch one direction against the other (a copy squeezed to fit a slot). */
const MAX_ANISOTROPY = 3;

/**
 * Whether a RANSAC homography (row-major 3 × 3, suspect → original) with inliers at `points` (the
 * suspect's x, y pairs) is a view of the original that an edit makes: the picture is not seen
 * edge-on (w positive at every inlier, and at most `MAX_PERSPECTIVE` times larger at one than at
 * another), not mirrored or folded (ORB descriptors are not mirror-invariant: a true match never
 * is), and, at the inliers' centroid, scaled by at most `MAX_SCALE` and stretched by at most
 * `MAX_ANISOTROPY`. Every edit thieves make is a similarity (resize, crop, rotation, border,
 * screenshot). RANSAC over many tentative matches of unrelated pictures finds degenerate transforms
 * instead: with a suspect's 1,000 keypoints, a web page around an unrelated photo reached 20
 * inliers through a homography that mirrors, shrinks one direction to nothing, and puts the
 * horizon through the matched points.
 */
export function plausibleHomography(h: readonly number[], points: readonly number[]): boolean {
  const n = points.length / 2;
  if (h.length !== 9 || n === 0 || !h.every(Number.isFinite)) return false;
  let wMin = Infinity;
  let wMax = -Infinity;
  let cx = 0;
  let cy = 0;
  for (let i = 0; i < n; i++) {
    const x = points[2 * i];
    const y = points[2 * i + 1];
    const w = h[6] * x + h[7] * y + h[8];
    wMin = Math.min(wMin, w);
    wMax = Math.max(wMax, w);
    cx += x / n;
    cy += y / n;
  }
  if (!(wMin > 0) || wMax > MAX_PERSPECTIVE * wMin) return false;
  // the Jacobian of the projective map at the centroid
  const w = h[6] * cx + h[7] * cy + h[8];
  const u = (h[0] * cx + h[1] * cy + h[2]) / w;
  const v = (h[3] * cx + h[4] * cy + h[5]) / w;
  const a = (h[0] - u * h[6]) / w;
  const b = (h[1] - u * h[7]) / w;
  const c = (h[3] - v * h[6]) / w;
  const d = (h[4] - v * h[7]) / w;
  const det = a * d - b * c;
  if (!(det > 0)) return false;
  const f2 = a * a + b * b + c * c + d * d;
  const s1 = Math.sqrt((f2 + Math.sqrt(Math.max(0, f2 * f2 - 4 * det * det))) / 2);
  const s2 = det / s1;
  return s1 <= MAX_SCALE && s2 >= 1 / MAX_SCALE && s1 <= MAX_ANISOTROPY * s2;
}

/** Features as one blob for the index: u32 count ‖ f32 points ‖ descriptors. */
export function encodeOrbFeatures(f: OrbFeatures): Buffer {
  const out = Buffer.alloc(4 + f.count * 8 + f.count * 32);
  out.writeUInt32LE(f.count, 0);
  Buffer.from(f.points.buffer, f.points.byteOffset, f.count * 8).copy(out, 4);
  Buffer.from(f.descriptors.buffer, f.descriptors.byteOffset, f.count * 32).copy(out, 4 + f.count * 8);
  return out;
}

/** Features from {@link encodeOrbFeatures}' blob; a blob of another length is refused (STORE_CORRUPT). */
export function decodeOrbFeatures(blob: Uint8Array): OrbFeatures {
  const buf = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const count = buf.length >= 4 ? buf.readUInt32LE(0) : -1;
  if (count < 0 || buf.length !== 4 + count * 40)
    throw new ProofmarkError(
      "STORE_CORRUPT",
      `stored local features are damaged (${buf.length} bytes, not a count and ${count < 0 ? "?" : count} points of 40 bytes)`,
      { bytes: buf.length },
    );
  const points = new Float32Array(count * 2);
  Buffer.from(points.buffer).set(buf.subarray(4, 4 + count * 8));
  return { count, points, descriptors: new Uint8Array(buf.subarray(4 + count * 8, 4 + count * 40)) };
}

/** Stored features, or nothing when the blob is damaged. */
export function decodeOrbFeaturesIfIntact(blob: Uint8Array): OrbFeatures | undefined {
  try {
    return decodeOrbFeatures(blob);
  } catch {
    return undefined;
  }
}

/**
 * Locality-sensitive keys of binary descriptors, for finding candidates by local features (the
 * index's `feature_key` table): bit sampling (Indyk & Motwani) — each of `LSH_TABLES` tables reads
 * `LSH_BITS` fixed bit positions of the 256-bit ORB descriptor. Two descriptors `d` bits apart share
 * a table's key with probability (1 − d/256)^LSH_BITS: a corresponding point of an edited copy
 * (typically 20–60 bits away) collides in one table or more far more often than an unrelated
 * descriptor (≈ 128 bits away). Changing the scheme changes `LSH_SCHEME`, and the index rebuilds its
 * keys from the stored features.
 */
export const LSH_TABLES = 16;
export const LSH_BITS = 20;
/** Version of the key scheme (tables, bits, positions) the stored keys were made with. */
export const LSH_SCHEME = 1;

/** The bit positions each table reads: a fixed pseudo-random choice (xorshift32, seed 0x9e3779b9), distinct within a table. */
const LSH_POSITIONS: number[][] = (() => {
  let s = 0x9e3779b9;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const tables: number[][] = [];
  for (let t = 0; t < LSH_TABLES; t++) {
    const chosen = new Set<number>();
    while (chosen.size < LSH_BITS) chosen.add(next() % 256);
    tables.push([...chosen]);
  }
  return tables;
})();

/**
 * The keys of each descriptor: `count × LSH_TABLES` numbers, descriptor `i`'s key of table `t` at
 * `i * LSH_TABLES + t`, each `t · 2^LSH_BITS + the sampled bits` (distinct across tables).
 */
export function descriptorKeys(f: OrbFeatures): Uint32Array {
  const keys = new Uint32Array(f.count * LSH_TABLES);
  for (let i = 0; i < f.count; i++) {
    const base = i * 32;
    for (let t = 0; t < LSH_TABLES; t++) {
      let v = 0;
      for (const bit of LSH_POSITIONS[t]) v = (v << 1) | ((f.descriptors[base + (bit >> 3)] >> (bit & 7)) & 1);
      keys[i * LSH_TABLES + t] = t * 2 ** LSH_BITS + (v >>> 0);
    }
  }
  return keys;
}
