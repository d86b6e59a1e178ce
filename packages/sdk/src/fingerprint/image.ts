import * as fs from "node:fs";
import * as path from "node:path";
import type Sharp from "sharp";
import { lazyModule } from "../util/lazy";
import {
  colourLayout,
  computeFingerprint,
  cropGrey,
  needsUntrimmed,
  type ColourLayout,
  type RgbImage,
  hashSignal,
  MIN_HASH_SIGNAL,
  trimRect,
  type Fingerprint,
  type FingerprintVariantName,
  type GreyImage,
  type Rect,
} from "../core/fingerprint";
import { isProofmarkError, ProofmarkError } from "../core/errors";
import { FEW_LOCAL_FEATURES, orbFeatures, type OrbFeatures } from "./orb";

const sharp = lazyModule<typeof Sharp>("sharp");

/** File types `stamp` fingerprints by default (GIF: its first frame). */
export const FINGERPRINT_EXTENSIONS = [".jpg", ".jpeg", ".png", ".webp", ".avif", ".gif"];

/** Longest side the image is decoded to before hashing and feature extraction. */
export const DECODE_SIDE = 512;

/** True when `file`'s name says it is an image `stamp` fingerprints. */
export function isFingerprintable(file: string): boolean {
  return FINGERPRINT_EXTENSIONS.includes(path.extname(file).toLowerCase());
}

/**
 * Decodes an image file (or bytes) to grey pixels, EXIF orientation applied, its longest side at most
 * `DECODE_SIDE`. A file that is not a readable image → IMAGE_UNREADABLE.
 */
export async function decodeGrey(input: string | Uint8Array, side = DECODE_SIDE): Promise<GreyImage> {
  const what = typeof input === "string" ? input : "image bytes";
  if (typeof input === "string" && !fs.existsSync(input))
    throw new ProofmarkError("FILE_NOT_FOUND", `no file at ${input}`, { path: input });
  try {
    const { data, info } = await sharp(input, { animated: false, limitInputPixels: 268_402_689 })
      .rotate()
      .flatten({ background: "#ffffff" })
      .greyscale()
      .resize(side, side, { fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const grey = new Uint8Array(info.width * info.height);
    for (let i = 0, j = 0; i < grey.length; i++, j += info.channels) grey[i] = data[j];
    return { width: info.width, height: info.height, data: grey };
  } catch (e) {
    throw new ProofmarkError(
      "IMAGE_UNREADABLE",
      `${what} could not be decoded as an image (${(e as Error).message})`,
      { path: typeof input === "string" ? input : undefined },
      { cause: e },
    );
  }
}

/**
 * Decodes an image to its three colour planes at the size `decodeGrey` gives (same orientation,
 * transparency on white). IMAGE_UNREADABLE when it does not decode.
 */
export async function decodeRgb(input: string | Uint8Array, side = DECODE_SIDE): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input, { animated: false, limitInputPixels: 268_402_689 })
      .rotate()
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .resize(side, side, { fit: "inside", withoutEnlargement: true })
      .raw()
      .toBuffer({ resolveWithObject: true });
    const n = info.width * info.height;
    const channels: RgbImage["channels"] = [new Uint8Array(n), new Uint8Array(n), new Uint8Array(n)];
    const grey = info.channels < 3; // a grey-scale file stays one plane in sharp
    for (let i = 0, j = 0; i < n; i++, j += info.channels)
      for (let c = 0; c < 3; c++) channels[c][i] = data[grey ? j : j + c];
    return { width: info.width, height: info.height, channels };
  } catch (e) {
    throw new ProofmarkError(
      "IMAGE_UNREADABLE",
      `${typeof input === "string" ? input : "image bytes"} could not be decoded as an image (${(e as Error).message})`,
      { path: typeof input === "string" ? input : undefined },
      { cause: e },
    );
  }
}

/**
 * The colour layouts of an image (see `colourLayout`): of the part `trim` kept and, where trimming
 * took much of it, of the whole; `decoded` is the grey decode `trim` was found in.
 */
export async function colourLayoutsOf(
  input: string | Uint8Array,
  decoded: { width: number; height: number },
  rects: Array<{ name: ColourLayout["name"]; rect: Rect }>,
): Promise<ColourLayout[]> {
  const rgb = await decodeRgb(input);
  const fx = rgb.width / decoded.width;
  const fy = rgb.height / decoded.height;
  return rects.map(({ name, rect }) =>
    colourLayout(
      rgb,
      {
        left: Math.floor(rect.left * fx),
        top: Math.floor(rect.top * fy),
        width: Math.max(1, Math.floor(rect.width * fx)),
        height: Math.max(1, Math.floor(rect.height * fy)),
      },
      name,
    ),
  );
}

/** An image decoded, its borders trimmed, and fingerprinted. */
export interface ImageFingerprint {
  fingerprint: Fingerprint;
  /** The trimmed grey image the fingerprint was computed on (input of `orbFeatures`). */
  trimmed: GreyImage;
  /** What trimming kept, in decoded pixels. */
  trim: Rect;
  decoded: { width: number; height: number };
  /** The trimmed image's `hashSignal` (grey levels). */
  signal: number;
  /** Too little texture to fingerprint (`signal` below `MIN_HASH_SIGNAL`: flat sky, smooth gradient, fine even pattern): its copies are not reliably found, and it is said so. */
  tooLittleTexture: boolean;
}

/**
 * Decode → trim uniform borders → fingerprint. Originals get every variant; a suspect copy only
 * needs `["full"]`.
 *
 * @example
 * const { fingerprint } = await fingerprintImage("shop/red-bag.jpg");
 */
export async function fingerprintImage(
  input: string | Uint8Array,
  variants?: readonly FingerprintVariantName[],
): Promise<ImageFingerprint> {
  const grey = await decodeGrey(input);
  const trim = trimRect(grey);
  const trimmed = cropGrey(grey, trim);
  const texture = textureOf(trimmed);
  const fingerprint = computeFingerprint(trimmed, variants, grey);
  // too little texture for the hash: keep where its colours and light sit (originals only)
  if (texture.tooLittleTexture && (variants === undefined || variants.length > 1))
    await addColourLayouts(input, grey, trim, fingerprint);
  return { fingerprint, trimmed, trim, decoded: { width: grey.width, height: grey.height }, ...texture };
}

/** Gives `fingerprint` its colour layouts (`pmfp2`): of the trimmed image and, where trimming took much, of the whole. */
async function addColourLayouts(
  input: string | Uint8Array,
  decoded: { width: number; height: number },
  trim: Rect,
  fingerprint: Fingerprint,
): Promise<void> {
  const whole = { left: 0, top: 0, width: decoded.width, height: decoded.height };
  fingerprint.layouts = await colourLayoutsOf(input, decoded, [
    { name: "layout", rect: trim },
    ...(needsUntrimmed(decoded, trim) ? [{ name: "ulayout" as const, rect: whole }] : []),
  ]);
  fingerprint.version = 2;
}

/** An original as `stamp` registers it: its fingerprint and its ORB features. */
export interface OriginalFingerprint extends ImageFingerprint {
  /** Its ORB features (`orbFeatures`); undefined when OpenCV could not take them (`featuresError` says why). */
  features?: OrbFeatures;
  featuresError?: string;
  /** Fewer ORB keypoints than `FEW_LOCAL_FEATURES` (or none taken): local features can never confirm a copy of it, so it carries a colour layout too. */
  fewFeatures: boolean;
}

/**
 * Fingerprints an original as `stamp` registers it: `fingerprintImage` with every variant, its ORB
 * features, and a colour layout (`pmfp2`) where neither the hash nor local features can be relied
 * on — too little texture for the hash, or fewer keypoints than local features need to confirm a
 * copy (`FEW_LOCAL_FEATURES`: a smooth, corner-less picture such as a polygon graphic, whose only
 * evidence beyond a near hash is where its colours sit). OpenCV failing on the image is not fatal:
 * it is stored without local features (and with a colour layout).
 *
 * @example
 * const { fingerprint, features } = await fingerprintOriginal("shop/red-bag.jpg");
 */
export async function fingerprintOriginal(input: string | Uint8Array): Promise<OriginalFingerprint> {
  const image = await fingerprintImage(input);
  let features: OrbFeatures | undefined;
  let featuresError: string | undefined;
  try {
    features = await orbFeatures(image.trimmed);
  } catch (e) {
    if (!isProofmarkError(e, "LOCAL_FEATURES_FAILED")) throw e;
    featuresError = e.message;
  }
  const fewFeatures = (features?.count ?? 0) < FEW_LOCAL_FEATURES;
  if (fewFeatures && image.fingerprint.layouts === undefined)
    await addColourLayouts(input, image.decoded, image.trim, image.fingerprint);
  return { ...image, features, featuresError, fewFeatures };
}

/** The signal of a trimmed image and whether it has too little texture to fingerprint. */
export function textureOf(trimmed: GreyImage): { signal: number; tooLittleTexture: boolean } {
  const signal = hashSignal(trimmed);
  return { signal, tooLittleTexture: signal < MIN_HASH_SIGNAL };
}
