import * as fs from "node:fs";
import * as path from "node:path";
import type Sharp from "sharp";
import { lazyModule } from "../util/lazy";
import {
  computeFingerprint,
  cropGrey,
  hashSignal,
  MIN_HASH_SIGNAL,
  trimRect,
  type Fingerprint,
  type FingerprintVariantName,
  type GreyImage,
  type Rect,
} from "../core/fingerprint";
import { ProofmarkError } from "../core/errors";

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
  return {
    fingerprint: computeFingerprint(trimmed, variants, grey),
    trimmed,
    trim,
    decoded: { width: grey.width, height: grey.height },
    ...textureOf(trimmed),
  };
}

/** The signal of a trimmed image and whether it has too little texture to fingerprint. */
export function textureOf(trimmed: GreyImage): { signal: number; tooLittleTexture: boolean } {
  const signal = hashSignal(trimmed);
  return { signal, tooLittleTexture: signal < MIN_HASH_SIGNAL };
}
