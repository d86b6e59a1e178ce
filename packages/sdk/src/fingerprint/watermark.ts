import * as fs from "node:fs";
import * as path from "node:path";
import type Sharp from "sharp";
import { lazyModule } from "../util/lazy";
import { ProofmarkError } from "../core/errors";
import {
  readWatermark,
  watermarkDelta,
  WATERMARK_SIDE,
  WATERMARK_STRENGTH,
  type WatermarkReading,
} from "../core/watermark";

const sharp = lazyModule<typeof Sharp>("sharp");

/**
 * The invisible watermark on image files (core/watermark.ts does the bits): decode with sharp, embed
 * the id in the luminance on a WATERMARK_SIDE² grid, add the change back at full size to R, G and B
 * alike (colours keep their hue), encode. Reading resamples the suspect onto the same grid.
 */

async function decode(input: string | Uint8Array, what: string) {
  if (typeof input === "string" && !fs.existsSync(input))
    throw new ProofmarkError("FILE_NOT_FOUND", `no file at ${input}`, { path: input });
  try {
    const image = sharp(input, { animated: false }).rotate();
    const { data, info } = await image
      .clone()
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    const grid = await image
      .clone()
      .flatten({ background: "#ffffff" })
      .greyscale()
      .resize(WATERMARK_SIDE, WATERMARK_SIDE, { fit: "fill", kernel: "cubic" })
      .raw()
      .toBuffer();
    return { rgb: data, width: info.width, height: info.height, grid: Float32Array.from(grid) };
  } catch (e) {
    throw new ProofmarkError(
      "IMAGE_UNREADABLE",
      `${what} is not an image sharp can decode: ${(e as Error).message}`,
      {},
      { cause: e },
    );
  }
}

/** Bilinear resampling of a WATERMARK_SIDE² plane to width × height (pixel centres aligned). */
function upsample(delta: Float32Array, width: number, height: number): Float32Array {
  const s = WATERMARK_SIDE;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const fy = Math.min(Math.max(((y + 0.5) * s) / height - 0.5, 0), s - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, s - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.min(Math.max(((x + 0.5) * s) / width - 0.5, 0), s - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, s - 1);
      const wx = fx - x0;
      out[y * width + x] =
        (delta[y0 * s + x0] * (1 - wx) + delta[y0 * s + x1] * wx) * (1 - wy) +
        (delta[y1 * s + x0] * (1 - wx) + delta[y1 * s + x1] * wx) * wy;
    }
  }
  return out;
}

/** PSNR (dB) of 8-bit samples `b` against `a`. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return sum === 0 ? Infinity : 10 * Math.log10((255 * 255) / (sum / a.length));
}

export interface EmbeddedWatermark {
  bytes: Buffer;
  format: "jpeg" | "png" | "webp";
  width: number;
  height: number;
  /** PSNR of the written image against the input, both decoded (dB). */
  psnr: number;
  /** What reading the written image back gives (checked before returning). */
  reading: WatermarkReading;
}

/** The output format for a file name (JPEG unless it says .png or .webp). */
export function watermarkFormat(file: string): EmbeddedWatermark["format"] {
  const ext = path.extname(file).toLowerCase();
  return ext === ".png" ? "png" : ext === ".webp" ? "webp" : "jpeg";
}

/**
 * Embeds the 8-byte `id` in an image; the result is re-read before it is returned, and an image too
 * small or too flat to carry the mark (the id does not read back) → WATERMARK_FAILED.
 *
 * @example
 * const marked = await embedWatermark("photo.jpg", leafBytes.subarray(0, 8), "jpeg");
 */
export async function embedWatermark(
  input: string | Uint8Array,
  id: Uint8Array,
  format: EmbeddedWatermark["format"] = "jpeg",
  strength = WATERMARK_STRENGTH,
): Promise<EmbeddedWatermark> {
  const what = typeof input === "string" ? input : "the image";
  const src = await decode(input, what);
  const delta = upsample(watermarkDelta(src.grid, id, strength), src.width, src.height);
  const marked = Buffer.alloc(src.rgb.length);
  for (let i = 0; i < delta.length; i++)
    for (let c = 0; c < 3; c++)
      marked[i * 3 + c] = Math.max(0, Math.min(255, Math.round(src.rgb[i * 3 + c] + delta[i])));
  const raw = sharp(marked, { raw: { width: src.width, height: src.height, channels: 3 } });
  const bytes = await (
    format === "png"
      ? raw.png()
      : format === "webp"
        ? raw.webp({ quality: 95 })
        : raw.jpeg({ quality: 95, chromaSubsampling: "4:4:4" })
  ).toBuffer();
  const back = await decode(bytes, "the marked image");
  const reading = readWatermark(back.grid);
  if (!reading.id || Buffer.compare(Buffer.from(reading.id), Buffer.from(id)) !== 0)
    throw new ProofmarkError(
      "WATERMARK_FAILED",
      `${what}: the watermark does not read back from the marked image (too small or too flat to carry it); nothing written`,
      { width: src.width, height: src.height },
    );
  return { bytes, format, width: src.width, height: src.height, psnr: psnr(src.rgb, back.rgb), reading };
}

/**
 * Reads the watermark of an image: the 8-byte id when one is there (its CRC holds), else none.
 *
 * @example
 * const { id } = await readImageWatermark("suspect.jpg");
 */
export async function readImageWatermark(input: string | Uint8Array): Promise<WatermarkReading> {
  return readWatermark((await decode(input, typeof input === "string" ? input : "the image")).grid);
}
