import * as path from "node:path";
import sharp from "sharp";
import { encodeOrbFeatures, FingerprintIndex, fingerprintOriginal, formatFingerprint } from "@proofmark/sdk";

/** A deterministic pseudo-random generator (mulberry32), so generated photos are the same on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A generated "product photo" (JPEG): a gradient backdrop, a product-like shape and scattered
 * detail, all from `seed`. Distinct seeds give unrelated images.
 */
export async function productPhoto(seed: number, width = 800, height = 600): Promise<Buffer> {
  const r = random(seed);
  const colour = () => `rgb(${Math.floor(r() * 256)},${Math.floor(r() * 256)},${Math.floor(r() * 256)})`;
  const shapes: string[] = [];
  for (let i = 0; i < 40; i++) {
    const x = Math.floor(r() * width);
    const y = Math.floor(r() * height);
    const s = 20 + Math.floor(r() * 140);
    shapes.push(
      r() < 0.5
        ? `<ellipse cx="${x}" cy="${y}" rx="${s}" ry="${Math.floor(s * (0.4 + r()))}" fill="${colour()}" fill-opacity="${(0.4 + r() * 0.6).toFixed(2)}"/>`
        : `<rect x="${x}" y="${y}" width="${s}" height="${Math.floor(s * (0.5 + r()))}" transform="rotate(${Math.floor(r() * 90)} ${x} ${y})" fill="${colour()}"/>`,
    );
  }
  const svg = `<svg width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <defs><linearGradient id="g" x1="0" y1="0" x2="${r().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs>
    <rect width="100%" height="100%" fill="url(#g)"/>${shapes.join("")}
    <rect x="${width * 0.3}" y="${height * 0.25}" width="${width * 0.4}" height="${height * 0.5}" rx="40" fill="${colour()}" stroke="#111" stroke-width="6"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

/** What a thief does: crop 12 % around the centre, re-compress at quality 40, add a white border. */
export async function stolenCopy(photo: Buffer): Promise<Buffer> {
  const m = await sharp(photo).metadata();
  const w = Math.round(m.width! * 0.88);
  const h = Math.round(m.height! * 0.88);
  const cropped = await sharp(photo)
    .extract({ left: Math.floor((m.width! - w) / 2), top: Math.floor((m.height! - h) / 2), width: w, height: h })
    .jpeg({ quality: 40 })
    .toBuffer();
  return sharp(cropped)
    .extend({ top: 40, bottom: 40, left: 40, right: 40, background: "#ffffff" })
    .jpeg({ quality: 40 })
    .toBuffer();
}

/**
 * Registers `photos` in the fingerprint index of `dataDir` as `photo-<i>.jpg`, each with its
 * fingerprint and ORB features as `stamp` stores them (made-up receipts, leaf/hash `0x…<i+1>`,
 * anchored at block i + 1).
 */
export async function indexPhotos(dataDir: string, photos: Buffer[]): Promise<void> {
  const index = FingerprintIndex.open(dataDir);
  try {
    const rows = [];
    for (const [i, photo] of photos.entries()) {
      const fp = await fingerprintOriginal(photo); // as `stamp` registers it
      const hex = `0x${String(i + 1).padStart(64, "0")}`;
      rows.push({
        leaf: hex,
        name: `photo-${i}.jpg`,
        file: `/shop/photo-${i}.jpg`,
        receiptPath: path.join(dataDir, `photo-${i}.jpg.proof.json`),
        sha256: hex,
        fingerprint: formatFingerprint(fp.fingerprint),
        chainId: 31337,
        blockNumber: i + 1,
        txHash: hex,
        anchoredAt: 1_800_000_000 + i,
        features: fp.features && encodeOrbFeatures(fp.features),
      });
    }
    index.add(rows);
  } finally {
    index.close();
  }
}
