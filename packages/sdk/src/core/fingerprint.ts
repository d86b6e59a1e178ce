import { ProofmarkError } from "./errors";
import type { Lang, Texts } from "./i18n";

/**
 * Perceptual fingerprints of images (pure: decoded grey pixels in, bits out).
 *
 * A fingerprint is computed on the image after its uniform borders are trimmed, for the image and
 * a few variants of it (mirror, centre crops, one-sided crops of 15 % and 25 %), so that an edited copy — cropped,
 * bordered, mirrored, re-compressed — lands near one of the variants. Each variant carries two
 * DCT hashes of the luminance:
 *
 *   pHash-64  : 32×32 area-resampled grey → 2-D DCT-II → coefficients u,v = 1..8 → bit = c > median
 *   hash-256  : 64×64 area-resampled grey → 2-D DCT-II → coefficients u,v = 1..16 → bit = c > median
 *
 * Distances are Hamming distances. pHash-64 is the index key (multi-index hashing over four 16-bit
 * chunks); hash-256 is a second, finer distance reported with every match.
 *
 * Text form (committed in the receipt's `commitment.meta.fingerprint`, so the anchored leaf covers it):
 *
 *   pmfp1 full:<16 hex>:<64 hex> mirror:<16 hex>:<64 hex> c90:… c80:… l85:… r85:… t85:… b85:… l75:… r75:… t75:… b75:… [untrimmed:…]
 *
 * `untrimmed` is there only when trimming took away more than `UNTRIMMED_BELOW` of the area: a
 * picture whose edge is one flat colour (a sky, a flat-shaded polygon, a gradient) loses part of
 * itself to trimming, and how much depends on JPEG noise, so the copy's trim differs from the
 * original's; the untrimmed hash keeps them comparable.
 * (Fingerprints stamped before the 75 % variants existed carry the first eight, before `untrimmed`
 * the first twelve; they parse and match as they are.)
 */

/** A decoded grey-scale image, one byte per pixel, row by row. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** A rectangle inside an image, in pixels. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Variants indexed for an original: the image, its mirror, centre crops, one-sided crops. */
export const FINGERPRINT_VARIANTS = [
  "full",
  "mirror",
  "c90",
  "c80",
  "l85",
  "r85",
  "t85",
  "b85",
  "l75",
  "r75",
  "t75",
  "b75",
  "untrimmed",
] as const;
export type FingerprintVariantName = (typeof FINGERPRINT_VARIANTS)[number];

/** Human wording of each variant, for match output and reports, in both languages. */
export const VARIANT_TEXTS: Record<FingerprintVariantName, Texts> = {
  full: { zh: "整图（已去除纯色边框）", en: "whole image (after trimming borders)" },
  mirror: { zh: "镜像图", en: "mirrored image" },
  c90: { zh: "居中 90 %（每边裁去 5 %）", en: "centre 90 % (crop of 5 % per side)" },
  c80: { zh: "居中 80 %（每边裁去 10 %）", en: "centre 80 % (crop of 10 % per side)" },
  l85: { zh: "左侧 85 %（裁去右侧）", en: "left 85 % (right side cropped)" },
  r85: { zh: "右侧 85 %（裁去左侧）", en: "right 85 % (left side cropped)" },
  t85: { zh: "上部 85 %（裁去底部）", en: "top 85 % (bottom cropped)" },
  b85: { zh: "下部 85 %（裁去顶部）", en: "bottom 85 % (top cropped)" },
  l75: { zh: "左侧 75 %（裁去右侧）", en: "left 75 % (right side cropped)" },
  r75: { zh: "右侧 75 %（裁去左侧）", en: "right 75 % (left side cropped)" },
  t75: { zh: "上部 75 %（裁去底部）", en: "top 75 % (bottom cropped)" },
  b75: { zh: "下部 75 %（裁去顶部）", en: "bottom 75 % (top cropped)" },
  untrimmed: {
    zh: "去除边框前的整图（其纯色边缘是画面的一部分，而非边框）",
    en: "whole image before trimming (its uniform edge was picture, not border)",
  },
};

export interface FingerprintVariant {
  name: FingerprintVariantName;
  /** pHash-64, 8 bytes. */
  phash: Uint8Array;
  /** 256-bit DCT hash, 32 bytes. */
  hash256: Uint8Array;
}

export interface Fingerprint {
  /** 1: hashes only (`pmfp1`); 2: hashes and a colour layout (`pmfp2`, images with too little texture). */
  version: 1 | 2;
  variants: FingerprintVariant[];
  /** Colour layouts (see `colourLayout`): only for an image with too little texture to fingerprint by hash. */
  layouts?: ColourLayout[];
}

/** The text form of a fingerprint without a colour layout (and of every fingerprint stamped before layouts existed). */
export const FINGERPRINT_FORMAT = "pmfp1";
/** The text form of a fingerprint that carries a colour layout. */
export const FINGERPRINT_FORMAT_LAYOUT = "pmfp2";

/**
 * The bounding box of what is left after uniform borders are removed: rows and columns at the
 * edges whose pixels (all but `outliers` of them) stay within `tolerance` of the edge's colour.
 * Returns the whole image when trimming would leave less than 10 % of a side.
 *
 * @example
 * const rect = trimRect(grey); // white padding and flat page margins are gone
 */
export function trimRect(img: GreyImage, tolerance = 20, outliers = 0.01): Rect {
  const { width: w, height: h, data } = img;
  const uniformRow = (y: number, ref: number, x0: number, x1: number) => {
    let bad = 0;
    const limit = Math.floor((x1 - x0) * outliers);
    for (let x = x0; x < x1; x++) if (Math.abs(data[y * w + x] - ref) > tolerance && ++bad > limit) return false;
    return true;
  };
  const uniformCol = (x: number, ref: number, y0: number, y1: number) => {
    let bad = 0;
    const limit = Math.floor((y1 - y0) * outliers);
    for (let y = y0; y < y1; y++) if (Math.abs(data[y * w + x] - ref) > tolerance && ++bad > limit) return false;
    return true;
  };
  const median = (values: number[]) => values.sort((a, b) => a - b)[values.length >> 1];
  let top = 0;
  let bottom = h;
  let left = 0;
  let right = w;
  const refTop = median([data[0], data[w >> 1], data[w - 1]]);
  while (top < bottom - 1 && uniformRow(top, refTop, 0, w)) top++;
  const refBottom = median([data[(h - 1) * w], data[(h - 1) * w + (w >> 1)], data[h * w - 1]]);
  while (bottom - 1 > top && uniformRow(bottom - 1, refBottom, 0, w)) bottom--;
  const refLeft = median([data[top * w], data[((top + bottom) >> 1) * w], data[(bottom - 1) * w]]);
  while (left < right - 1 && uniformCol(left, refLeft, top, bottom)) left++;
  const refRight = median([
    data[top * w + w - 1],
    data[((top + bottom) >> 1) * w + w - 1],
    data[(bottom - 1) * w + w - 1],
  ]);
  while (right - 1 > left && uniformCol(right - 1, refRight, top, bottom)) right--;
  if (right - left < w * 0.1 || bottom - top < h * 0.1) return { left: 0, top: 0, width: w, height: h };
  return { left, top, width: right - left, height: bottom - top };
}

/** The pixels of `rect`. */
export function cropGrey(img: GreyImage, rect: Rect): GreyImage {
  const out = new Uint8Array(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    const from = (rect.top + y) * img.width + rect.left;
    out.set(img.data.subarray(from, from + rect.width), y * rect.width);
  }
  return { width: rect.width, height: rect.height, data: out };
}

/** The image flipped left to right. */
export function mirrorGrey(img: GreyImage): GreyImage {
  const out = new Uint8Array(img.data.length);
  for (let y = 0; y < img.height; y++) {
    const row = y * img.width;
    for (let x = 0; x < img.width; x++) out[row + x] = img.data[row + img.width - 1 - x];
  }
  return { width: img.width, height: img.height, data: out };
}

/** The share a one-sided variant keeps: l85 → 0.85. */
function sideFraction(name: FingerprintVariantName): number {
  return Number(name.slice(1)) / 100;
}

/** The rectangle of a variant inside a (trimmed) image of `width` × `height`. */
export function variantRect(name: FingerprintVariantName, width: number, height: number): Rect {
  const keep = (fraction: number, size: number) => Math.max(1, Math.round(size * fraction));
  switch (name) {
    case "full":
    case "mirror":
    case "untrimmed":
      return { left: 0, top: 0, width, height };
    case "c90":
    case "c80": {
      const f = name === "c90" ? 0.9 : 0.8;
      const w = keep(f, width);
      const h = keep(f, height);
      return { left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h };
    }
    case "l85":
    case "l75":
      return { left: 0, top: 0, width: keep(sideFraction(name), width), height };
    case "r85":
    case "r75":
      return {
        left: width - keep(sideFraction(name), width),
        top: 0,
        width: keep(sideFraction(name), width),
        height,
      };
    case "t85":
    case "t75":
      return { left: 0, top: 0, width, height: keep(sideFraction(name), height) };
    case "b85":
    case "b75":
      return {
        left: 0,
        top: height - keep(sideFraction(name), height),
        width,
        height: keep(sideFraction(name), height),
      };
  }
}

/**
 * Area (box) resampling to `outW` × `outH`: each output pixel is the mean of the input pixels it
 * covers, fractional edges weighted. Stable under re-compression and resizing of the input.
 */
export function resizeArea(img: GreyImage, outW: number, outH: number): Float64Array {
  const { width: w, height: h, data } = img;
  // horizontal pass into outW × h, then vertical into outW × outH
  const tmp = new Float64Array(outW * h);
  const sx = w / outW;
  for (let ox = 0; ox < outW; ox++) {
    const x0 = ox * sx;
    const x1 = x0 + sx;
    for (let y = 0; y < h; y++) {
      let sum = 0;
      for (let x = Math.floor(x0); x < Math.ceil(x1); x++) {
        const weight = Math.min(x + 1, x1) - Math.max(x, x0);
        sum += data[y * w + x] * weight;
      }
      tmp[y * outW + ox] = sum / sx;
    }
  }
  const out = new Float64Array(outW * outH);
  const sy = h / outH;
  for (let oy = 0; oy < outH; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox++) {
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.ceil(y1); y++) {
        const weight = Math.min(y + 1, y1) - Math.max(y, y0);
        sum += tmp[y * outW + ox] * weight;
      }
      out[oy * outW + ox] = sum / sy;
    }
  }
  return out;
}

const cosTables = new Map<number, Float64Array>();

/** cos((2x+1)uπ / 2n) for u < keep, x < n. */
function cosTable(n: number, keep: number): Float64Array {
  const key = n * 1000 + keep;
  let t = cosTables.get(key);
  if (!t) {
    t = new Float64Array(keep * n);
    for (let u = 0; u < keep; u++)
      for (let x = 0; x < n; x++) t[u * n + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * n));
    cosTables.set(key, t);
  }
  return t;
}

/** The low-frequency corner (u, v < keep) of the 2-D DCT-II of an n × n block (unnormalised). */
export function dctLowFrequencies(block: Float64Array, n: number, keep: number): Float64Array {
  const c = cosTable(n, keep);
  const rows = new Float64Array(keep * n); // rows[u][y] = Σx block[y][x]·c[u][x]
  for (let u = 0; u < keep; u++) {
    for (let y = 0; y < n; y++) {
      let s = 0;
      for (let x = 0; x < n; x++) s += block[y * n + x] * c[u * n + x];
      rows[u * n + y] = s;
    }
  }
  const out = new Float64Array(keep * keep); // out[v][u]
  for (let v = 0; v < keep; v++) {
    for (let u = 0; u < keep; u++) {
      let s = 0;
      for (let y = 0; y < n; y++) s += rows[u * n + y] * c[v * n + y];
      out[v * keep + u] = s;
    }
  }
  return out;
}

/** Bits of a DCT hash: coefficients u, v = 1..bits (DC row and column left out) above their median. */
function dctHash(img: GreyImage, n: number, side: number): Uint8Array {
  const coeffs = dctLowFrequencies(resizeArea(img, n, n), n, side + 1);
  const values: number[] = [];
  for (let v = 1; v <= side; v++) for (let u = 1; u <= side; u++) values.push(coeffs[v * (side + 1) + u]);
  const sorted = [...values].sort((a, b) => a - b);
  const median = (sorted[(sorted.length >> 1) - 1] + sorted[sorted.length >> 1]) / 2;
  const out = new Uint8Array(values.length / 8);
  values.forEach((value, i) => {
    if (value > median) out[i >> 3] |= 0x80 >> (i & 7);
  });
  return out;
}

/**
 * How much picture the pHash-64 sees: the median distance of its 64 DCT coefficients from their
 * median (the threshold each bit is cut at), as the amplitude in grey levels of the basis pattern
 * it stands for. A bit whose coefficient is that close to the threshold flips under re-compression
 * or resizing; a flat sky, a smooth gradient or a fine even pattern (stripes the 32 × 32 resampling
 * averages away) leaves most of them within a fraction of a grey level.
 */
export function hashSignal(img: GreyImage): number {
  const coeffs = dctLowFrequencies(resizeArea(img, 32, 32), 32, 9);
  const values: number[] = [];
  for (let v = 1; v <= 8; v++) for (let u = 1; u <= 8; u++) values.push(coeffs[v * 9 + u]);
  const sorted = [...values].sort((a, b) => a - b);
  const median = (sorted[31] + sorted[32]) / 2;
  const gaps = values.map((c) => Math.abs(c - median)).sort((a, b) => a - b);
  // unnormalised DCT-II over 32 × 32: a pattern of amplitude A grey levels gives about 256·A
  return (gaps[31] + gaps[32]) / 2 / 256;
}

/**
 * Below this `hashSignal` an image has too little texture to fingerprint: its global hash is mostly
 * noise, so edited copies land far from it and unrelated flat images near it. Chosen once, from the
 * 40 sampled originals of the wallpaper corpus (README, robustness): the four with a median gap
 * under 0.1 grey level (fine even stripes, a smooth gradient) missed 50 of their 72 edited copies;
 * every other original had 0.3 or more.
 */
export const MIN_HASH_SIGNAL = 0.15;

/** pHash-64 of an image: 8 bytes. */
export function phash64(img: GreyImage): Uint8Array {
  return dctHash(img, 32, 8);
}

/** The 256-bit DCT hash of an image: 32 bytes. */
export function hash256(img: GreyImage): Uint8Array {
  return dctHash(img, 64, 16);
}

const POPCOUNT8 = new Uint8Array(256).map((_, i) => {
  let n = 0;
  for (let b = i; b; b >>= 1) n += b & 1;
  return n;
});

/** Number of differing bits between two hashes of the same length. */
export function hammingDistance(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `cannot compare a ${a.length * 8}-bit hash with a ${b.length * 8}-bit one`,
    );
  let d = 0;
  for (let i = 0; i < a.length; i++) d += POPCOUNT8[a[i] ^ b[i]];
  return d;
}

/**
 * The fingerprint of an image whose borders were already trimmed (see `trimRect`). For a suspect
 * copy only `full` is needed; originals carry every variant.
 *
 * @example
 * const fp = computeFingerprint(cropGrey(grey, trimRect(grey)));
 * const text = formatFingerprint(fp); // → commitment.meta.fingerprint
 */
export function computeFingerprint(
  trimmed: GreyImage,
  variants: readonly FingerprintVariantName[] = FINGERPRINT_VARIANTS,
  untrimmed?: GreyImage,
): Fingerprint {
  const keepsUntrimmed = untrimmed !== undefined && needsUntrimmed(untrimmed, trimmed);
  return {
    version: 1,
    variants: variants
      .filter((name) => name !== "untrimmed" || keepsUntrimmed)
      .map((name) => {
        const part =
          name === "mirror"
            ? mirrorGrey(trimmed)
            : name === "full"
              ? trimmed
              : name === "untrimmed"
                ? untrimmed!
                : cropGrey(trimmed, variantRect(name, trimmed.width, trimmed.height));
        return { name, phash: phash64(part), hash256: hash256(part) };
      }),
  };
}

/** Trimming that keeps less than this share of the area also fingerprints (and looks up) the image untrimmed. */
export const UNTRIMMED_BELOW = 0.97;

/** True when trimming took away enough of `untrimmed` that its own hash is worth keeping (see `UNTRIMMED_BELOW`). */
export function needsUntrimmed(
  untrimmed: { width: number; height: number },
  trimmed: { width: number; height: number },
): boolean {
  return trimmed.width * trimmed.height < UNTRIMMED_BELOW * untrimmed.width * untrimmed.height;
}

function hex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The text form of a fingerprint (the value of `commitment.meta.fingerprint`). */
export function formatFingerprint(fp: Fingerprint): string {
  const layouts = fp.layouts ?? [];
  return [
    layouts.length ? FINGERPRINT_FORMAT_LAYOUT : FINGERPRINT_FORMAT,
    ...fp.variants.map((v) => `${v.name}:${hex(v.phash)}:${hex(v.hash256)}`),
    ...layouts.map((l) => `${l.name}:${l.width}x${l.height}:${hex(l.grid)}`),
  ].join(" ");
}

/**
 * Strict parser of the text form: known version, known variant names once each, `full` present,
 * exact hex lengths. Anything else → FINGERPRINT_INVALID.
 */
export function parseFingerprint(text: unknown): Fingerprint {
  const bad = (why: string) => new ProofmarkError("FINGERPRINT_INVALID", `fingerprint is not valid: ${why}`);
  if (typeof text !== "string") throw bad("not a string");
  const [format, ...all] = text.split(" ");
  if (format !== FINGERPRINT_FORMAT && format !== FINGERPRINT_FORMAT_LAYOUT)
    throw bad(
      `unknown format "${format.slice(0, 16)}" (this Proofmark reads ${FINGERPRINT_FORMAT} and ${FINGERPRINT_FORMAT_LAYOUT})`,
    );
  const isLayout = (part: string) => (LAYOUT_NAMES as readonly string[]).includes(part.split(":")[0]);
  const parts = all.filter((part) => !isLayout(part));
  const layouts = all.filter(isLayout).map((part) => {
    const m = /^([a-z]+):([0-9]{1,5})x([0-9]{1,5}):([0-9a-f]+)$/.exec(part);
    if (!m || m[4].length !== 2 * LAYOUT_BYTES || Number(m[2]) === 0 || Number(m[3]) === 0)
      throw bad(`malformed colour layout "${part.slice(0, 24)}"`);
    return { name: m[1] as ColourLayoutName, width: Number(m[2]), height: Number(m[3]), grid: unhex(m[4]) };
  });
  if (new Set(layouts.map((l) => l.name)).size !== layouts.length) throw bad("a colour layout twice");
  if (format === FINGERPRINT_FORMAT && layouts.length)
    throw bad(`a colour layout in a ${FINGERPRINT_FORMAT} fingerprint`);
  if (format === FINGERPRINT_FORMAT_LAYOUT && !layouts.some((l) => l.name === "layout"))
    throw bad(`no "layout" in a ${FINGERPRINT_FORMAT_LAYOUT} fingerprint`);
  if (parts.length === 0) throw bad("no variants");
  const seen = new Set<string>();
  const variants = parts.map((part) => {
    const m = /^([a-z0-9]+):([0-9a-f]{16}):([0-9a-f]{64})$/.exec(part);
    if (!m) throw bad(`malformed variant "${part.slice(0, 24)}"`);
    if (!(FINGERPRINT_VARIANTS as readonly string[]).includes(m[1])) throw bad(`unknown variant "${m[1]}"`);
    if (seen.has(m[1])) throw bad(`variant "${m[1]}" twice`);
    seen.add(m[1]);
    return { name: m[1] as FingerprintVariantName, phash: unhex(m[2]), hash256: unhex(m[3]) };
  });
  if (!seen.has("full")) throw bad('no "full" variant');
  return layouts.length ? { version: 2, variants, layouts } : { version: 1, variants };
}

/** pHash-64 as hex (16 digits). */
export function phashHex(phash: Uint8Array): string {
  return hex(phash);
}

/** The four 16-bit chunks of a pHash-64 (big-endian), the keys of multi-index hashing. */
export function phashChunks(phash: Uint8Array): [number, number, number, number] {
  return [
    (phash[0] << 8) | phash[1],
    (phash[2] << 8) | phash[3],
    (phash[4] << 8) | phash[5],
    (phash[6] << 8) | phash[7],
  ];
}

/**
 * Every 16-bit value within Hamming distance `radius` of `chunk`. Multi-index hashing: if two
 * 64-bit hashes differ in at most D bits, at least one of their four 16-bit chunks differs in at
 * most ⌊D / 4⌋ bits, so probing those neighbours of each chunk finds every hash within D.
 */
export function chunkNeighbours(chunk: number, radius: number): number[] {
  const out = [chunk];
  const extend = (value: number, start: number, left: number) => {
    for (let bit = start; bit < 16; bit++) {
      const next = value ^ (1 << bit);
      out.push(next);
      if (left > 1) extend(next, bit + 1, left - 1);
    }
  };
  if (radius > 0) extend(chunk, 0, radius);
  return out;
}

/** Largest pHash-64 distance a lookup accepts (keeps multi-index probing bounded: ≤ 2,517 probes per chunk). */
export const MAX_MATCH_DISTANCE = 20;

/*
 * Suspect-side queries. An edited copy is looked up not only as it is (trimmed) but also as the
 * photo it may contain: the picture inside a screenshot or a decorated frame (`photoRegions`), and
 * the picture turned back when it was rotated onto a plain canvas (`canvasRotation` + `rotateCrop`).
 * Hits of the turned-back photo are decided as the whole image's are (by hash within the match
 * distance, by local features beyond it); hits of a region only by local features.
 */

/**
 * The rotation of a picture that was turned by a small angle onto a plain canvas (the canvas grown
 * to hold it, its corners filled with one colour), estimated from where the picture's corners touch
 * the canvas's edges: degrees in (0, 30], or undefined when the corners are not a uniform fill. Which
 * way it turned is not decided here: try both signs.
 *
 * @example
 * const angle = canvasRotation(grey); // 5.1 for a copy turned by 5°
 */
export function canvasRotation(img: GreyImage, tolerance = 24): number | undefined {
  const { width: w, height: h, data } = img;
  if (w < 32 || h < 32) return undefined;
  const at = (x: number, y: number) => data[y * w + x];
  const corners = [at(1, 1), at(w - 2, 1), at(1, h - 2), at(w - 2, h - 2)];
  const fill = corners.slice().sort((a, b) => a - b)[1];
  if (corners.some((c) => Math.abs(c - fill) > tolerance)) return undefined;
  // First content pixel from the left along a row / from the top along a column, skipping JPEG's ringing.
  const rowStart = (y: number) => {
    for (let x = 0; x < w; x++) if (Math.abs(at(x, y) - fill) > tolerance) return x;
    return w;
  };
  const colStart = (x: number) => {
    for (let y = 0; y < h; y++) if (Math.abs(at(x, y) - fill) > tolerance) return y;
    return h;
  };
  const edge = 2;
  const xTop = rowStart(edge); // the topmost corner, on the top edge
  const yLeft = colStart(edge); // the leftmost corner, on the left edge
  if (xTop >= w - edge || yLeft >= h - edge || xTop < 4 || yLeft < 4) return undefined;
  let angle = (Math.atan2(yLeft, xTop) * 180) / Math.PI;
  if (angle > 45) angle = 90 - angle;
  return angle > 0.5 && angle <= 30 ? angle : undefined;
}

/**
 * The picture that was rotated by `degrees` onto a grown canvas, turned back and cut out at the
 * size it had (bilinear sampling; `inset` of each side left out against the canvas fill).
 */
export function rotateCrop(img: GreyImage, degrees: number, inset = 0.04): GreyImage {
  const rad = (Math.abs(degrees) * Math.PI) / 180;
  const c = Math.cos(rad);
  const s = Math.sin(rad);
  const det = c * c - s * s;
  const ow = Math.max(8, Math.floor(((img.width * c - img.height * s) / det) * (1 - 2 * inset)));
  const oh = Math.max(8, Math.floor(((img.height * c - img.width * s) / det) * (1 - 2 * inset)));
  const signed = (degrees * Math.PI) / 180;
  const cs = Math.cos(signed);
  const sn = Math.sin(signed);
  const out = new Uint8Array(ow * oh);
  const cx = img.width / 2;
  const cy = img.height / 2;
  for (let y = 0; y < oh; y++) {
    const dy = y + 0.5 - oh / 2;
    for (let x = 0; x < ow; x++) {
      const dx = x + 0.5 - ow / 2;
      const sx = Math.min(img.width - 1.001, Math.max(0, cx + dx * cs - dy * sn - 0.5));
      const sy = Math.min(img.height - 1.001, Math.max(0, cy + dx * sn + dy * cs - 0.5));
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * img.width + x0;
      const top = img.data[i] * (1 - fx) + img.data[i + 1] * fx;
      const bottom = img.data[i + img.width] * (1 - fx) + img.data[i + img.width + 1] * fx;
      out[y * ow + x] = Math.round(top * (1 - fy) + bottom * fy);
    }
  }
  return { width: ow, height: oh, data: out };
}

/**
 * Rectangles that may hold a photograph placed inside a larger picture (a web page's screenshot, a
 * decorated frame, a caption bar): the largest dense, roughly photo-shaped block of cells that are
 * textured (or, second reading, that differ from the page's dominant grey), when it covers between
 * 3 % and 85 % of the picture. Largest first; none for a picture that is one photograph.
 */
export function photoRegions(img: GreyImage, cell = 4): Rect[] {
  const cw = Math.floor(img.width / cell);
  const ch = Math.floor(img.height / cell);
  if (cw < 8 || ch < 8) return [];
  const mean = new Float64Array(cw * ch);
  const stdev = new Float64Array(cw * ch);
  const histogram = new Uint32Array(32);
  for (let cy = 0; cy < ch; cy++) {
    for (let cx = 0; cx < cw; cx++) {
      let sum = 0;
      let sq = 0;
      for (let y = cy * cell; y < (cy + 1) * cell; y++) {
        for (let x = cx * cell; x < (cx + 1) * cell; x++) {
          const v = img.data[y * img.width + x];
          sum += v;
          sq += v * v;
        }
      }
      const n = cell * cell;
      mean[cy * cw + cx] = sum / n;
      stdev[cy * cw + cx] = Math.sqrt(Math.max(0, sq / n - (sum / n) ** 2));
      histogram[Math.min(31, Math.floor(sum / n / 8))]++;
    }
  }
  const page = histogram.indexOf(Math.max(...histogram)) * 8 + 4;
  const readings = [(i: number) => stdev[i] > 9, (i: number) => stdev[i] > 9 || Math.abs(mean[i] - page) > 14];
  const found: Rect[] = [];
  for (const isContent of readings) {
    const label = new Int32Array(cw * ch).fill(-1);
    let best: { cells: number; x0: number; y0: number; x1: number; y1: number } | undefined;
    for (let start = 0; start < cw * ch; start++) {
      if (label[start] >= 0 || !isContent(start)) continue;
      const stack = [start];
      label[start] = start;
      const box = { cells: 0, x0: cw, y0: ch, x1: 0, y1: 0 };
      while (stack.length) {
        const i = stack.pop()!;
        const x = i % cw;
        const y = (i - x) / cw;
        box.cells++;
        box.x0 = Math.min(box.x0, x);
        box.x1 = Math.max(box.x1, x);
        box.y0 = Math.min(box.y0, y);
        box.y1 = Math.max(box.y1, y);
        for (const j of [x > 0 ? i - 1 : -1, x < cw - 1 ? i + 1 : -1, y > 0 ? i - cw : -1, y < ch - 1 ? i + cw : -1]) {
          if (j >= 0 && label[j] < 0 && isContent(j)) {
            label[j] = start;
            stack.push(j);
          }
        }
      }
      const bw = box.x1 - box.x0 + 1;
      const bh = box.y1 - box.y0 + 1;
      const area = bw * bh;
      const shaped = bw / bh <= 4 && bh / bw <= 4;
      const dense = box.cells >= 0.4 * area;
      const sized = area >= 0.03 * cw * ch && area <= 0.85 * cw * ch;
      if (shaped && dense && sized && (!best || box.cells > best.cells)) best = box;
    }
    if (!best) continue;
    // one cell in from each side: the edge cells straddle the photo's border and what surrounds it
    const rect = {
      left: (best.x0 + 1) * cell,
      top: (best.y0 + 1) * cell,
      width: (best.x1 - best.x0 - 1) * cell,
      height: (best.y1 - best.y0 - 1) * cell,
    };
    const same = found.some(
      (r) => Math.abs(r.left - rect.left) + Math.abs(r.top - rect.top) + Math.abs(r.width - rect.width) < 4 * cell,
    );
    if (!same) found.push(rect);
  }
  return found.sort((a, b) => b.width * b.height - a.width * a.height);
}

/*
 * Colour layout: a second, weaker descriptor for images with too little texture to fingerprint by
 * hash (`hashSignal` below `MIN_HASH_SIGNAL`: a gradient, a fine wood grain, an even stripe pattern).
 * What such a picture still has is where its colours and its light sit: a 16 × 16 grid of mean
 * colours (CIE L*a*b*, each cell the area mean of its pixels), of the image as trimmed (`layout`) and,
 * where trimming took much of it, untrimmed (`ulayout`). It is stored only for such images, and for
 * originals with too few ORB keypoints for local features to confirm a copy (`fingerprintOriginal`). A
 * suspect's grid is compared with each view of each stored layout — the fingerprint's own variants
 * (mirror, centre and one-sided crops) and the picture turned by ±5° and ±10° onto a white canvas —
 * resampled from the stored grid, lightness normalised for brightness and contrast. Only the nearest
 * flat original can match (tiles of one even pattern are alike), and it says it is weaker evidence.
 */

/** An image as three planes (red, green, blue), one byte per pixel, row by row. */
export interface RgbImage {
  width: number;
  height: number;
  channels: [Uint8Array, Uint8Array, Uint8Array];
}

/** `layout`: the trimmed image; `ulayout`: the image before trimming (kept where `needsUntrimmed`). */
export const LAYOUT_NAMES = ["layout", "ulayout"] as const;
export type ColourLayoutName = (typeof LAYOUT_NAMES)[number];

/** Cells per side of a stored colour layout. */
export const LAYOUT_GRID = 16;
const LAYOUT_BYTES = LAYOUT_GRID * LAYOUT_GRID * 4;

export interface ColourLayout {
  name: ColourLayoutName;
  /** The size of the image it was taken of, in decoded pixels (its aspect turns the rotated views). */
  width: number;
  height: number;
  /** 16 × 16 cells, row by row, 4 bytes each: L* × 100 (16 bits, big-endian: a flat picture's light varies by fractions of a unit), a* + 128, b* + 128. */
  grid: Uint8Array;
}

function srgbToLinear(c: number): number {
  const v = c / 255;
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
}

/** CIE L*a*b* (D65) of an sRGB colour (0–255 per channel, fractions allowed). */
export function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const R = srgbToLinear(r);
  const G = srgbToLinear(g);
  const B = srgbToLinear(b);
  const f = (t: number) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  const fx = f((0.4124 * R + 0.3576 * G + 0.1805 * B) / 0.95047);
  const fy = f(0.2126 * R + 0.7152 * G + 0.0722 * B);
  const fz = f((0.0193 * R + 0.1192 * G + 0.9505 * B) / 1.08883);
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/** The colour layout of `rect` of an image (see `ColourLayout`). */
export function colourLayout(img: RgbImage, rect: Rect, name: ColourLayoutName = "layout"): ColourLayout {
  const planes = img.channels.map((data) =>
    resizeArea(cropGrey({ width: img.width, height: img.height, data }, rect), LAYOUT_GRID, LAYOUT_GRID),
  );
  const grid = new Uint8Array(LAYOUT_BYTES);
  const byte = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
  for (let i = 0; i < LAYOUT_GRID * LAYOUT_GRID; i++) {
    const [L, a, b] = srgbToLab(planes[0][i], planes[1][i], planes[2][i]);
    const light = Math.max(0, Math.min(10000, Math.round(L * 100)));
    grid[4 * i] = light >> 8;
    grid[4 * i + 1] = light & 0xff;
    grid[4 * i + 2] = byte(a + 128);
    grid[4 * i + 3] = byte(b + 128);
  }
  return { name, width: rect.width, height: rect.height, grid };
}

/** Cells per side of the grids compared. */
const LAYOUT_COMPARE = 16;
/** Samples per side of each compared cell. */
const LAYOUT_SAMPLES = 3;
/** Lightness spread (L* units) below which a grid's lightness is not stretched further: noise, not layout. */
const LAYOUT_MIN_SPREAD = 0.5;
/** Chroma difference (a*b* units, RMS over cells) that weighs as much as one unit of normalised lightness difference. */
const LAYOUT_CHROMA_SCALE = 16;

/** The original's views a suspect's colour layout is compared with: the fingerprint's variants, and turned by ±5°, ±10°. */
const LAYOUT_VIEWS: Array<{ name: string; rect?: FingerprintVariantName; rotate?: number }> = [
  ...FINGERPRINT_VARIANTS.filter((v) => v !== "untrimmed").map((v) => ({ name: v, rect: v })),
  ...[5, -5, 10, -10].map((rotate) => ({ name: `rotated ${rotate}°`, rotate })),
];

/** L*, a* or b* (c = 0, 1, 2) of stored cell i. */
function cellValue(grid: Uint8Array, i: number, c: number): number {
  return c === 0 ? ((grid[4 * i] << 8) | grid[4 * i + 1]) / 100 : grid[4 * i + 1 + c] - 128;
}

/** L*, a* or b* of a stored grid at (x, y) in [0, 1]², bilinear between cell centres. */
function gridAt(grid: Uint8Array, x: number, y: number, c: number): number {
  const n = LAYOUT_GRID;
  const fx = Math.max(0, Math.min(n - 1, x * n - 0.5));
  const fy = Math.max(0, Math.min(n - 1, y * n - 0.5));
  const x0 = Math.min(n - 2, Math.floor(fx));
  const y0 = Math.min(n - 2, Math.floor(fy));
  const ax = fx - x0;
  const ay = fy - y0;
  const at = (i: number, j: number) => cellValue(grid, j * n + i, c);
  return (
    (at(x0, y0) * (1 - ax) + at(x0 + 1, y0) * ax) * (1 - ay) +
    (at(x0, y0 + 1) * (1 - ax) + at(x0 + 1, y0 + 1) * ax) * ay
  );
}

/**
 * A view of a stored layout resampled to the compared grid (L*, a*, b* per cell): a variant's
 * rectangle (mirrored for `mirror`), or the image turned by `rotate` degrees onto a white canvas
 * grown to hold it (how an editor rotates).
 */
function layoutView(layout: ColourLayout, view: { rect?: FingerprintVariantName; rotate?: number }): Float64Array {
  const n = LAYOUT_COMPARE;
  const k = LAYOUT_SAMPLES;
  const out = new Float64Array(n * n * 3);
  const r = variantRect(view.rect ?? "full", 10000, 10000);
  const aspect = layout.width / layout.height;
  const rad = ((view.rotate ?? 0) * Math.PI) / 180;
  const cos = Math.cos(rad);
  const sin = Math.sin(rad);
  const canvasW = aspect * Math.abs(cos) + Math.abs(sin);
  const canvasH = aspect * Math.abs(sin) + Math.abs(cos);
  for (let oy = 0; oy < n; oy++) {
    for (let ox = 0; ox < n; ox++) {
      const sum = [0, 0, 0];
      for (let sy = 0; sy < k; sy++) {
        for (let sx = 0; sx < k; sx++) {
          const u = (ox + (sx + 0.5) / k) / n;
          const v = (oy + (sy + 0.5) / k) / n;
          let x: number;
          let y: number;
          if (view.rotate) {
            const px = (u - 0.5) * canvasW;
            const py = (v - 0.5) * canvasH;
            x = (px * cos + py * sin) / aspect + 0.5;
            y = -px * sin + py * cos + 0.5;
            if (x < 0 || x > 1 || y < 0 || y > 1) {
              sum[0] += 100; // the white canvas: L* 100, a* = b* = 0
              continue;
            }
          } else {
            x = (r.left + r.width * u) / 10000;
            y = (r.top + r.height * v) / 10000;
            if (view.rect === "mirror") x = 1 - x;
          }
          for (let c = 0; c < 3; c++) sum[c] += gridAt(layout.grid, x, y, c);
        }
      }
      for (let c = 0; c < 3; c++) out[3 * (oy * n + ox) + c] = sum[c] / (k * k);
    }
  }
  return out;
}

/** Distance of two compared grids: lightness normalised (mean 0, spread 1) RMS difference + chroma RMS difference / LAYOUT_CHROMA_SCALE. */
function compareLayouts(a: Float64Array, b: Float64Array): number {
  const cells = LAYOUT_COMPARE * LAYOUT_COMPARE;
  const spread = (g: Float64Array) => {
    let mean = 0;
    for (let i = 0; i < cells; i++) mean += g[3 * i];
    mean /= cells;
    let variance = 0;
    for (let i = 0; i < cells; i++) variance += (g[3 * i] - mean) ** 2;
    return { mean, sd: Math.max(LAYOUT_MIN_SPREAD, Math.sqrt(variance / cells)) };
  };
  const sa = spread(a);
  const sb = spread(b);
  let light = 0;
  let chroma = 0;
  for (let i = 0; i < cells; i++) {
    light += ((a[3 * i] - sa.mean) / sa.sd - (b[3 * i] - sb.mean) / sb.sd) ** 2;
    chroma += (a[3 * i + 1] - b[3 * i + 1]) ** 2 + (a[3 * i + 2] - b[3 * i + 2]) ** 2;
  }
  return Math.sqrt(light / cells) + Math.sqrt(chroma / cells) / LAYOUT_CHROMA_SCALE;
}

/**
 * How far a suspect's colour layout (of its whole image: name and size ignored) is from an
 * original's nearest view (see `LAYOUT_VIEWS`); 0 for the same picture. Not a metric of similarity
 * in general: only between pictures that both have too little texture for a hash.
 *
 * @example
 * const { distance, view } = layoutDistance(suspectLayout, original.layouts[0]);
 */
export function layoutDistance(suspect: ColourLayout, original: ColourLayout): { distance: number; view: string } {
  const { distance, view } = nearestLayoutView([suspect], original);
  return { distance, view };
}

/**
 * `layoutDistance` for several views of one suspect (as it is, untrimmed, the photo inside it) at
 * once: the original's views are resampled once, not once per suspect view (they are most of the
 * cost). `suspect` is the position of the nearest suspect view.
 */
export function nearestLayoutView(
  suspects: ColourLayout[],
  original: ColourLayout,
): { distance: number; view: string; suspect: number } {
  const queries = suspects.map((s) => layoutView(s, { rect: "full" }));
  let best = { distance: Infinity, view: "", suspect: -1 };
  for (const view of LAYOUT_VIEWS) {
    const grid = layoutView(original, view);
    queries.forEach((q, k) => {
      const distance = compareLayouts(q, grid);
      if (distance < best.distance)
        best = { distance, view: original.name === "ulayout" ? `untrimmed, ${view.name}` : view.name, suspect: k };
    });
  }
  return best;
}

/**
 * The wording of a colour-layout view named by `nearestLayoutView` (a variant, `rotated N°`, either
 * one of the untrimmed layout as `untrimmed, …`), in `lang`; a name it does not know is shown as it is.
 *
 * @example
 * layoutViewText("untrimmed, rotated -5°", "zh") // "去除边框前的整图，旋转 -5°"
 */
export function layoutViewText(view: string, lang: Lang): string {
  const untrimmed = view.startsWith("untrimmed, ");
  const name = untrimmed ? view.slice("untrimmed, ".length) : view;
  const rotated = /^rotated (-?\d+)°$/.exec(name);
  const text = rotated
    ? lang === "zh"
      ? `旋转 ${rotated[1]}°`
      : `rotated ${rotated[1]}°`
    : name in VARIANT_TEXTS
      ? VARIANT_TEXTS[name as FingerprintVariantName][lang]
      : name;
  if (!untrimmed) return text;
  return lang === "zh" ? `去除边框前的整图，${text}` : `whole image before trimming, ${text}`;
}

/**
 * Colour-layout distance at or below which the nearest flat original matches a suspect (nearest
 * only: tiles of one even pattern are alike). Chosen on a tuning sample disjoint from the measured
 * one (README, robustness).
 */
export const LAYOUT_MATCH_DISTANCE = 0.8;

/*
 * Colour-layout descriptors: what lets `match` pick the few stored layouts worth the full comparison
 * (`nearestLayoutView`, ~2 ms per stored layout) instead of comparing every one. A descriptor is the
 * compared grid of one view shrunk to 18 numbers: its lightness as 4 × 4 cell means, normalised like
 * `compareLayouts` does (mean 0, spread 1, then / 4, so that the 16 numbers' Euclidean distance is an
 * RMS difference), and its mean a* and b* / `LAYOUT_CHROMA_SCALE`. A stored layout has one per view
 * (`LAYOUT_VIEWS`: 16), a suspect one per looked-up view of itself (its `full` view). Offline on the
 * wallpaper corpus's tuning copies (309 stored layouts), the copy's own original ranked by nearest
 * descriptor: median 1, p95 13, p99 30, max 77.
 *
 * The descriptor index keys each descriptor by random-hyperplane locality-sensitive hashing
 * (Charikar 2002): bit i of the key is the side of a fixed hyperplane through the origin the
 * descriptor lies on (`LAYOUT_KEY_BITS` of them, drawn once from a seeded generator: part of the
 * scheme, `LAYOUT_KEY_SCHEME`). Near descriptors share most bits; a lookup probes the suspect's key
 * and the keys that differ in the bits whose hyperplanes pass nearest to it (multi-probe LSH, Lv et
 * al. 2007), best first, until it has enough candidates.
 */

/** Numbers in a colour-layout descriptor: 4 × 4 normalised lightness, mean a*, mean b*. */
export const LAYOUT_DESCRIPTOR_LENGTH = 18;
const DESCRIPTOR_CELLS = 4;

/** The descriptor of a compared grid (see above). */
function descriptorOfGrid(g: Float64Array): Float64Array {
  const n = LAYOUT_COMPARE;
  const q = DESCRIPTOR_CELLS;
  const cells = new Float64Array(q * q);
  const per = (n * n) / (q * q);
  let a = 0;
  let b = 0;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = y * n + x;
      cells[Math.floor((y * q) / n) * q + Math.floor((x * q) / n)] += g[3 * i] / per;
      a += g[3 * i + 1];
      b += g[3 * i + 2];
    }
  }
  let mean = 0;
  for (const v of cells) mean += v / cells.length;
  let variance = 0;
  for (const v of cells) variance += (v - mean) ** 2 / cells.length;
  const sd = Math.max(LAYOUT_MIN_SPREAD, Math.sqrt(variance));
  const out = new Float64Array(LAYOUT_DESCRIPTOR_LENGTH);
  for (let i = 0; i < q * q; i++) out[i] = (cells[i] - mean) / sd / q;
  out[q * q] = a / (n * n) / LAYOUT_CHROMA_SCALE;
  out[q * q + 1] = b / (n * n) / LAYOUT_CHROMA_SCALE;
  return out;
}

/**
 * The descriptors of every view a suspect is compared with (`LAYOUT_VIEWS`, 16) of a stored layout,
 * in that order.
 *
 * @example
 * const keys = layoutDescriptors(fp.layouts[0]).map(layoutKey);
 */
export function layoutDescriptors(layout: ColourLayout): Float64Array[] {
  return LAYOUT_VIEWS.map((view) => descriptorOfGrid(layoutView(layout, view)));
}

/** The descriptor of a suspect's colour layout (its whole: name and size ignored, as in `nearestLayoutView`). */
export function suspectLayoutDescriptor(layout: ColourLayout): Float64Array {
  return descriptorOfGrid(layoutView(layout, { rect: "full" }));
}

/** Euclidean distance of two descriptors. */
export function layoutDescriptorDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < LAYOUT_DESCRIPTOR_LENGTH; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** Lightness numbers are within ±√15 / 4 < 1: one signed byte each, in steps of 1/127. */
const DESCRIPTOR_LIGHT_STEP = 127;
/** Mean chroma / 16 in steps of 1/32 (±3.97: a mean a* or b* of ±63). */
const DESCRIPTOR_CHROMA_STEP = 32;

/** Descriptors as stored: 18 signed bytes each, one after the other. */
export function packLayoutDescriptors(descriptors: ArrayLike<number>[]): Uint8Array {
  const out = new Int8Array(descriptors.length * LAYOUT_DESCRIPTOR_LENGTH);
  descriptors.forEach((d, k) => {
    for (let i = 0; i < LAYOUT_DESCRIPTOR_LENGTH; i++) {
      const step = i < DESCRIPTOR_CELLS * DESCRIPTOR_CELLS ? DESCRIPTOR_LIGHT_STEP : DESCRIPTOR_CHROMA_STEP;
      out[k * LAYOUT_DESCRIPTOR_LENGTH + i] = Math.max(-127, Math.min(127, Math.round(d[i] * step)));
    }
  });
  return new Uint8Array(out.buffer);
}

/**
 * The smallest distance between `query` and any descriptor packed in `packed` (see
 * `packLayoutDescriptors`). Infinity for an empty or damaged blob.
 */
export function nearestPackedDescriptor(query: ArrayLike<number>, packed: Uint8Array): number {
  const bytes = new Int8Array(packed.buffer, packed.byteOffset, packed.byteLength);
  let best = Infinity;
  const light = DESCRIPTOR_CELLS * DESCRIPTOR_CELLS;
  for (let at = 0; at + LAYOUT_DESCRIPTOR_LENGTH <= bytes.length; at += LAYOUT_DESCRIPTOR_LENGTH) {
    let s = 0;
    for (let i = 0; i < light; i++) s += (query[i] - bytes[at + i] / DESCRIPTOR_LIGHT_STEP) ** 2;
    for (let i = light; i < LAYOUT_DESCRIPTOR_LENGTH; i++)
      s += (query[i] - bytes[at + i] / DESCRIPTOR_CHROMA_STEP) ** 2;
    if (s < best) best = s;
  }
  return Math.sqrt(best);
}

/** Bits of a descriptor's key (hyperplanes): 65,536 keys. */
export const LAYOUT_KEY_BITS = 16;
/** Version of the key scheme (the hyperplanes, the bits, the descriptor): an index keyed by another is re-keyed on open. */
export const LAYOUT_KEY_SCHEME = 1;

/** The hyperplanes' unit normals, drawn once from a fixed seed (xorshift32, Box–Muller). */
const LAYOUT_HYPERPLANES: Float64Array[] = (() => {
  let seed = 0x6c61796f; // "layo"
  const uniform = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return ((seed >>> 0) + 0.5) / 4294967296;
  };
  return Array.from({ length: LAYOUT_KEY_BITS }, () => {
    const w = new Float64Array(LAYOUT_DESCRIPTOR_LENGTH);
    for (let i = 0; i < w.length; i++) w[i] = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const norm = Math.hypot(...w);
    return w.map((v) => v / norm);
  });
})();

/** Signed distances of a descriptor from each hyperplane. */
function hyperplaneSides(d: ArrayLike<number>): number[] {
  return LAYOUT_HYPERPLANES.map((w) => {
    let s = 0;
    for (let i = 0; i < LAYOUT_DESCRIPTOR_LENGTH; i++) s += w[i] * d[i];
    return s;
  });
}

/** The key a descriptor is indexed under (0 … 2^LAYOUT_KEY_BITS − 1). */
export function layoutKey(d: ArrayLike<number>): number {
  let key = 0;
  hyperplaneSides(d).forEach((s, bit) => {
    if (s > 0) key |= 1 << bit;
  });
  return key;
}

/**
 * The first `count` keys to probe for a query descriptor, most likely first: its own key, then keys
 * with bits flipped, ordered by the sum of the squared distances from the flipped bits' hyperplanes
 * (multi-probe LSH: Lv, Josephson, Wang, Charikar & Li, VLDB 2007, the heap of perturbation sets).
 */
export function layoutProbeKeys(d: ArrayLike<number>, count: number): number[] {
  const sides = hyperplaneSides(d);
  let own = 0;
  sides.forEach((s, bit) => {
    if (s > 0) own |= 1 << bit;
  });
  const order = [...sides.keys()].sort((a, b) => Math.abs(sides[a]) - Math.abs(sides[b]));
  const cost = order.map((bit) => sides[bit] ** 2);
  const keys = [own];
  // perturbation sets as sorted positions into `order`; shift (last + 1) and expand (add last + 1)
  type Set = { positions: number[]; score: number };
  const heap: Set[] = [{ positions: [0], score: cost[0] }];
  const push = (s: Set) => {
    heap.push(s);
    for (let i = heap.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (heap[parent].score <= heap[i].score) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  };
  const pop = (): Set => {
    const top = heap[0];
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && heap[l].score < heap[m].score) m = l;
        if (r < heap.length && heap[r].score < heap[m].score) m = r;
        if (m === i) break;
        [heap[m], heap[i]] = [heap[i], heap[m]];
        i = m;
      }
    }
    return top;
  };
  while (keys.length < count && heap.length > 0) {
    const s = pop();
    let key = own;
    for (const p of s.positions) key ^= 1 << order[p];
    keys.push(key);
    const last = s.positions[s.positions.length - 1];
    if (last + 1 < LAYOUT_KEY_BITS) {
      push({ positions: [...s.positions.slice(0, -1), last + 1], score: s.score - cost[last] + cost[last + 1] });
      push({ positions: [...s.positions, last + 1], score: s.score + cost[last + 1] });
    }
  }
  return keys;
}

/**
 * Stored originals whose full colour-layout comparison `match` makes when the index holds more
 * layouts than this: the nearest by descriptor (see above). Offline, the own original ranked within
 * 30 for 99 % of 922 tuning copies among 309 stored layouts (max 77); 64 keeps twice that margin at a
 * bounded cost (64 × ~2 ms).
 */
export const LAYOUT_CANDIDATES = 64;
