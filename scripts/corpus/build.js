#!/usr/bin/env node
// Builds the photo-fingerprint corpus of issue 15, offline, from Debian's wallpaper packages
// (scripts/corpus/packages.txt): every photograph those packages ship, plus non-overlapping tiles
// of the large ones. The corpus holds only images that share no pixels with each other: a
// wallpaper that is tiled contributes its tiles, not itself; exact and near duplicates (the same
// wallpaper at several resolutions, in two packages) are kept once; flat tiles (sky, gradients:
// no photograph to protect) are left out.
//
//   node scripts/corpus/build.js [--out DIR] [--no-tiles] [--tile 400x300] [--install]
//
// The default 400×300 tiles give 2,026 images from the seven packages of packages.txt (117 distinct
// pictures in 300 files; 640×480 tiles gave 996, short of issue 15's 2,000).
//
// Writes DIR/NNNN.jpg (quality 92) and DIR/manifest.json (package, source file, tile rectangle of
// each image). --install runs `apt-get install -y` for the packages not yet installed (needs root).
"use strict";
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const sharp = require("sharp");

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const OUT = path.resolve(opt("--out", path.join(require("node:os").tmpdir(), "proofmark-corpus")));
const TILES = !args.includes("--no-tiles");
const [TILE_W, TILE_H] = opt("--tile", "400x300").split("x").map(Number);
/** Tiled when the picture holds at least this many tiles. */
const MIN_TILES = 4;
/** Grey standard deviation below which a tile is flat (not a photograph worth protecting). */
const MIN_STDEV = 28;
/** pHash-64 distance at or below which two images count as the same picture (kept once). */
const DUPLICATE_DISTANCE = 10;

const packages = fs
  .readFileSync(path.join(__dirname, "packages.txt"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));

function installed(pkg) {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" }).includes(
      "install ok installed",
    );
  } catch {
    return false;
  }
}

const missing = packages.filter((p) => !installed(p));
if (missing.length && args.includes("--install")) {
  execFileSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], { stdio: "inherit" });
} else if (missing.length) {
  console.error(
    `not installed (run with --install, or apt-get install -y ${missing.join(" ")}): ${missing.join(", ")}`,
  );
}

// The SDK's own hash, so "duplicate" means what `match` would call the same picture.
const { phash64, hammingDistance } = require("../../packages/sdk/dist/core/fingerprint");

async function greyPhash(input) {
  const { data, info } = await sharp(input)
    .greyscale()
    .resize(256, 256, { fit: "inside" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return phash64({
    width: info.width,
    height: info.height,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  });
}

async function main() {
  const sources = [];
  for (const pkg of packages.filter(installed)) {
    const files = execFileSync("dpkg", ["-L", pkg], { encoding: "utf8" })
      .split("\n")
      .filter((f) => /\.(jpe?g|png|webp)$/i.test(f) && fs.existsSync(f) && fs.statSync(f).isFile());
    for (const file of files) sources.push({ pkg, file });
  }
  // Largest version of each picture first, so duplicates at smaller resolutions are the ones dropped.
  const measured = [];
  for (const s of sources) {
    try {
      const m = await sharp(s.file).metadata();
      measured.push({ ...s, width: m.width, height: m.height });
    } catch (e) {
      console.error(`skipped ${s.file}: ${e.message}`);
    }
  }
  measured.sort((a, b) => b.width * b.height - a.width * a.height || a.file.localeCompare(b.file));
  const pictures = [];
  const seenBytes = new Set();
  for (const s of measured) {
    const digest = crypto.createHash("sha256").update(fs.readFileSync(s.file)).digest("hex");
    if (seenBytes.has(digest)) continue;
    seenBytes.add(digest);
    const ph = await greyPhash(s.file);
    if (pictures.some((p) => hammingDistance(p.phash, ph) <= DUPLICATE_DISTANCE)) continue;
    pictures.push({ ...s, phash: ph });
  }
  console.error(`${sources.length} files, ${pictures.length} distinct pictures`);

  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const manifest = [];
  const kept = [];
  // written after each picture (complete: false) so that a partial corpus is usable, and once at the end
  const writeManifest = (complete) =>
    fs.writeFileSync(
      path.join(OUT, "manifest.json"),
      JSON.stringify(
        { packages, complete, tile: TILES ? { width: TILE_W, height: TILE_H } : null, images: manifest },
        null,
        1,
      ),
    );
  const emit = async (buffer, entry) => {
    const ph = await greyPhash(buffer);
    if (kept.some((k) => hammingDistance(k, ph) <= DUPLICATE_DISTANCE)) return;
    kept.push(ph);
    const name = `${String(manifest.length).padStart(4, "0")}.jpg`;
    fs.writeFileSync(path.join(OUT, name), buffer);
    manifest.push({ name, ...entry });
  };
  for (const p of pictures) {
    const cols = Math.floor(p.width / TILE_W);
    const rows = Math.floor(p.height / TILE_H);
    if (TILES && cols * rows >= MIN_TILES) {
      const full = sharp(p.file, { limitInputPixels: false }).removeAlpha();
      const raw = await full.raw().toBuffer({ resolveWithObject: true });
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const rect = { left: c * TILE_W, top: r * TILE_H, width: TILE_W, height: TILE_H };
          // the tile's rows copied out here: handing libvips the whole raw picture per tile costs a copy of it each time
          const ch = raw.info.channels;
          const pixels = Buffer.alloc(TILE_W * TILE_H * ch);
          for (let y = 0; y < TILE_H; y++) {
            const from = ((rect.top + y) * raw.info.width + rect.left) * ch;
            raw.data.copy(pixels, y * TILE_W * ch, from, from + TILE_W * ch);
          }
          const tile = sharp(pixels, { raw: { width: TILE_W, height: TILE_H, channels: ch } });
          const stats = await tile.clone().greyscale().stats();
          if (stats.channels[0].stdev < MIN_STDEV) continue;
          await emit(await tile.jpeg({ quality: 92 }).toBuffer(), { package: p.pkg, source: p.file, tile: rect });
        }
      }
    } else {
      const buffer = await sharp(p.file).removeAlpha().resize(1600, 1600, { fit: "inside", withoutEnlargement: true });
      await emit(await buffer.jpeg({ quality: 92 }).toBuffer(), { package: p.pkg, source: p.file });
    }
    process.stderr.write(`\r${manifest.length} images`);
    writeManifest(false);
  }
  writeManifest(true);
  console.error(`\n${manifest.length} images in ${OUT}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
