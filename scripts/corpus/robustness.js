#!/usr/bin/env node
// The robustness table of issue 15: every corpus image is registered as an original (its
// fingerprint and ORB features in a fresh index, as `stamp` stores them); a sample of originals is
// edited the ways thieves edit photos, and each edited copy goes through `matchImage` — the code
// `proofmark match` runs — against the whole index.
//
//   node scripts/corpus/robustness.js [--corpus DIR] [--sample N] [--offset K] [--limit M] [--json FILE] [--index DIR]
//   node scripts/corpus/robustness.js --distances [--corpus DIR]   (distance → false-match rate of unrelated pairs)
//
// Per edit: recall (the copy's own original among the matches), false-match rate (unrelated
// originals matched / (copies × other originals); every other corpus image is a distinct picture,
// see build.js), copies with any false match, and the share whose own original was within the
// match distance by hash alone, and the share found only through the local-feature index (their
// hash too far to be a candidate). --index DIR keeps the index of the originals in DIR and re-uses it
// on the next run over the same corpus (indexing 2,000 originals takes ~30 min on a loaded machine).
// Run after `npm run build` (it loads packages/sdk/dist).
"use strict";
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const sharp = require("sharp");
const sdk = require("../../packages/sdk/dist/fingerprint");

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const CORPUS = path.resolve(opt("--corpus", path.join(os.tmpdir(), "proofmark-corpus")));
const SAMPLE = Number(opt("--sample", "60"));
// --offset K samples the images at K, K + step, … instead of 0, step, …: a sample disjoint from the
// measured one (offset 0), to choose thresholds on without tuning them on the table's own copies
const OFFSET = Number(opt("--offset", "0"));
const LIMIT = Number(opt("--limit", "0"));
const JSON_OUT = opt("--json", undefined);
const INDEX_DIR = opt("--index", undefined);

function textSvg(w, h, text, size, opacity) {
  return Buffer.from(
    `<svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg"><text x="50%" y="55%" text-anchor="middle" font-family="sans-serif" font-weight="bold" font-size="${size}" fill="#ffffff" fill-opacity="${opacity}" stroke="#000" stroke-opacity="${opacity / 2}">${text}</text></svg>`,
  );
}

/** A web page around the photo: header bar, sidebar, text lines, price; the photo at 45 % of the page width. */
async function screenshot(photo, i) {
  const W = 1280;
  const H = 860;
  const pw = Math.round(W * 0.45);
  const img = await sharp(photo).resize(pw).toBuffer();
  const m = await sharp(img).metadata();
  const lines = [];
  for (let k = 0; k < 14; k++) {
    lines.push(
      `<rect x="${pw + 110}" y="${170 + k * 34}" width="${200 + ((k * 97 + i * 31) % 380)}" height="12" fill="#555"/>`,
    );
  }
  const page = Buffer.from(
    `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#f5f5f5"/>
     <rect width="100%" height="64" fill="#e4393c"/><text x="30" y="42" font-family="sans-serif" font-size="28" fill="#fff">SHOPMALL 商城</text>
     <rect x="0" y="64" width="${W}" height="40" fill="#ddd"/>${lines.join("")}
     <text x="${pw + 110}" y="150" font-family="sans-serif" font-size="30" fill="#e4393c">¥ 199.00</text>
     <rect x="${pw + 110}" y="${H - 120}" width="220" height="56" rx="8" fill="#ff9000"/></svg>`,
  );
  const top = 130 + (i % 3) * 10;
  return sharp(page)
    .composite([{ input: img, left: 50 + (i % 4) * 5, top: Math.min(top, H - m.height) }])
    .png()
    .toBuffer();
}

async function logo(w) {
  const s = Math.round(w * 0.18);
  return sharp(
    Buffer.from(
      `<svg width="${s}" height="${s}" xmlns="http://www.w3.org/2000/svg"><circle cx="${s / 2}" cy="${s / 2}" r="${s / 2 - 2}" fill="#d22" stroke="#fff" stroke-width="4"/><text x="50%" y="58%" text-anchor="middle" font-family="sans-serif" font-size="${s / 3}" fill="#fff">SALE</text></svg>`,
    ),
  )
    .png()
    .toBuffer();
}

const SIDES = ["left", "right", "top", "bottom"];
function oneSide(w, h, fraction, i) {
  const side = SIDES[i % 4];
  const cw = side === "left" || side === "right" ? Math.round(w * (1 - fraction)) : w;
  const ch = side === "top" || side === "bottom" ? Math.round(h * (1 - fraction)) : h;
  return { left: side === "left" ? w - cw : 0, top: side === "top" ? h - ch : 0, width: cw, height: ch };
}
function centre(w, h, fraction) {
  const cw = Math.round(w * (1 - fraction));
  const ch = Math.round(h * (1 - fraction));
  return { left: Math.floor((w - cw) / 2), top: Math.floor((h - ch) / 2), width: cw, height: ch };
}

/** The edits of issue 15 (and a coloured frame with a caption, a border trimming cannot remove): name → (photo bytes, index) → edited bytes. */
const EDITS = {
  "JPEG q30": (p) => sharp(p).jpeg({ quality: 30 }).toBuffer(),
  "JPEG q50": (p) => sharp(p).jpeg({ quality: 50 }).toBuffer(),
  "JPEG q75": (p) => sharp(p).jpeg({ quality: 75 }).toBuffer(),
  "resize 25 %": async (p) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .resize(Math.round(m.width * 0.25))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "resize 50 %": async (p) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .resize(Math.round(m.width * 0.5))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "crop 10 % one side": async (p, i) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .extract(oneSide(m.width, m.height, 0.1, i))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "crop 20 % one side": async (p, i) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .extract(oneSide(m.width, m.height, 0.2, i))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "crop 10 % centre": async (p) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .extract(centre(m.width, m.height, 0.1))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "crop 20 % centre": async (p) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .extract(centre(m.width, m.height, 0.2))
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "white padding 10 %": async (p) => {
    const m = await sharp(p).metadata();
    const b = Math.round(m.width * 0.1);
    return sharp(p)
      .extend({ top: b, bottom: b, left: b, right: b, background: "#ffffff" })
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "coloured frame with a caption": async (p) => {
    const m = await sharp(p).metadata();
    const b = Math.round(m.width * 0.08);
    const W = m.width + 2 * b;
    const H = m.height + 3 * b;
    const frame = Buffer.from(
      `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#e8d5b0"/><text x="${b}" y="${H - b * 0.6}" font-family="sans-serif" font-size="${b * 0.8}" fill="#222">Best quality, free shipping</text></svg>`,
    );
    return sharp(frame)
      .composite([{ input: p, left: b, top: b }])
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "text overlay": async (p) => {
    const m = await sharp(p).metadata();
    return sharp(p)
      .composite([{ input: textSvg(m.width, m.height, "© SHOP 2026", Math.round(m.width / 9), 0.7) }])
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  "logo overlay": async (p, i) => {
    const m = await sharp(p).metadata();
    const l = await logo(m.width);
    const s = Math.round(m.width * 0.18);
    const corner = i % 2 ? { left: m.width - s - 10, top: 10 } : { left: 10, top: m.height - s - 10 };
    return sharp(p)
      .composite([{ input: l, ...corner }])
      .jpeg({ quality: 85 })
      .toBuffer();
  },
  mirror: (p) => sharp(p).flop().jpeg({ quality: 85 }).toBuffer(),
  "rotate 5°": (p, i) =>
    sharp(p)
      .rotate(i % 2 ? 5 : -5, { background: "#ffffff" })
      .jpeg({ quality: 85 })
      .toBuffer(),
  "rotate 10°": (p, i) =>
    sharp(p)
      .rotate(i % 2 ? -10 : 10, { background: "#ffffff" })
      .jpeg({ quality: 85 })
      .toBuffer(),
  "brightness/contrast": (p) =>
    sharp(p).modulate({ brightness: 1.2 }).linear(1.15, -10).jpeg({ quality: 85 }).toBuffer(),
  "screenshot embedding": (p, i) => screenshot(p, i),
};

/**
 * --distances: for every ordered pair of distinct corpus images (a, b), the pHash-64 distance of
 * a's whole image to b's nearest variant — what `match` compares — as the share of pairs at or
 * below each distance 0..20 (the false-match rate of a hash-only threshold; MEASURED.falseMatchRateByDistance).
 */
async function distances(images) {
  const fps = [];
  for (const [i, name] of images.entries()) {
    fps.push((await sdk.fingerprintImage(path.join(CORPUS, name))).fingerprint);
    if (i % 50 === 0) process.stderr.write(`\rfingerprinted ${i + 1}/${images.length}`);
  }
  const { hammingDistance } = require("../../packages/sdk/dist/core/fingerprint");
  const counts = new Array(21).fill(0);
  for (let a = 0; a < fps.length; a++) {
    const q = fps[a].variants[0].phash;
    for (let b = 0; b < fps.length; b++) {
      if (a === b) continue;
      const d = Math.min(...fps[b].variants.map((v) => hammingDistance(v.phash, q)));
      if (d <= 20) counts[d]++;
    }
  }
  const pairs = fps.length * (fps.length - 1);
  const rate = {};
  let cumulative = 0;
  counts.forEach((c, d) => {
    cumulative += c;
    rate[d] = Number((cumulative / pairs).toFixed(6));
  });
  console.log(JSON.stringify({ images: fps.length, pairs, falseMatchRateByDistance: rate }, null, 1));
}

/**
 * Why a copy missed its original: the original's nearest variant by pHash-64 (and 256-bit) distance
 * to the copy as `match` sees it, the RANSAC inliers between the two as stored and as the copy
 * decodes, and how many ORB keypoints each has (few keypoints: a low-contrast picture).
 */
async function diagnoseMiss(dataDir, edit, name, copy, result) {
  const index = sdk.FingerprintIndex.open(dataDir);
  try {
    const fp = await sdk.fingerprintImage(copy, ["full"]);
    const full = fp.fingerprint.variants[0];
    const { parseFingerprint, hammingDistance } = require("../../packages/sdk/dist/core/fingerprint");
    const mine = index.original(ORIGINAL_IDS.get(name));
    let best = { distance: 64, distance256: 256, variant: "" };
    for (const v of parseFingerprint(mine.fingerprint).variants) {
      const d = hammingDistance(v.phash, full.phash);
      const d256 = hammingDistance(v.hash256, full.hash256);
      if (d < best.distance || (d === best.distance && d256 < best.distance256))
        best = { distance: d, distance256: d256, variant: v.name };
    }
    const copyFeatures = await sdk.orbFeatures(fp.trimmed);
    const stored = sdk.decodeOrbFeatures(index.features(mine.id));
    const inliers = await sdk.orbInliers(copyFeatures, stored);
    return {
      edit,
      name,
      ...best,
      inliers,
      originalKeypoints: stored.count,
      copyKeypoints: copyFeatures.count,
      wrongMatches: result.matches.length,
      nearestWrong: result.matches[0]?.distance,
    };
  } finally {
    index.close();
  }
}

/** name → index id of every original (added in corpus order from id 1). */
const ORIGINAL_IDS = new Map();

async function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(CORPUS, "manifest.json"), "utf8"));
  let images = manifest.images.map((e) => e.name);
  if (LIMIT) images = images.slice(0, LIMIT);
  if (args.includes("--distances")) return distances(images);
  const dataDir = INDEX_DIR ? path.resolve(INDEX_DIR) : fs.mkdtempSync(path.join(os.tmpdir(), "pm-robust-"));
  fs.mkdirSync(dataDir, { recursive: true });
  const timingFile = path.join(dataDir, "timing.json");
  const index = sdk.FingerprintIndex.open(dataDir);
  const already = index.count();
  const timing =
    already && fs.existsSync(timingFile)
      ? JSON.parse(fs.readFileSync(timingFile, "utf8"))
      : { fingerprintMs: 0, n: 0, tooLittleTexture: 0, fewFeatures: 0 };
  const rows = [];
  for (const [i, name] of images.entries()) {
    if (i < already) continue; // indexed by an earlier run (--index): originals are added in corpus order
    const file = path.join(CORPUS, name);
    const t0 = performance.now();
    // as `stamp` registers it: fingerprint, ORB features, and a colour layout where either is too weak
    const fp = await sdk.fingerprintOriginal(file);
    const features = fp.features ? sdk.encodeOrbFeatures(fp.features) : undefined;
    timing.fingerprintMs += performance.now() - t0;
    timing.n++;
    if (fp.tooLittleTexture) timing.tooLittleTexture++;
    if (fp.fewFeatures && !fp.tooLittleTexture) timing.fewFeatures++;
    rows.push({
      leaf: "0x" + String(i).padStart(64, "0"),
      name,
      file,
      receiptPath: file + ".proof.json",
      sha256: "0x" + String(i).padStart(64, "0"),
      fingerprint: require("../../packages/sdk/dist/core/fingerprint").formatFingerprint(fp.fingerprint),
      chainId: 31337,
      blockNumber: i,
      txHash: "0x" + String(i).padStart(64, "0"),
      anchoredAt: 1_700_000_000 + i,
      features,
    });
    if (rows.length === 200 || i === images.length - 1) {
      index.add(rows.splice(0));
      fs.writeFileSync(timingFile, JSON.stringify(timing));
    }
    if (i % 50 === 0) process.stderr.write(`\rindexed ${i + 1}/${images.length}`);
  }
  for (let id = 1; id <= index.count(); id++) ORIGINAL_IDS.set(index.original(id).name, id);
  index.close();
  const fingerprintMs = timing.fingerprintMs / timing.n;
  process.stderr.write(
    `\nindexed ${images.length} originals: fingerprint and ORB features ${fingerprintMs.toFixed(0)} ms each\n`,
  );

  const step = Math.max(1, Math.floor(images.length / SAMPLE));
  const sampled = images.filter((_, i) => i % step === OFFSET % step).slice(0, SAMPLE);
  const results = {};
  const falseMatches = [];
  const misses = [];
  const t1 = Date.now();
  for (const edit of Object.keys(EDITS))
    results[edit] = { copies: 0, found: 0, byHash: 0, byLocal: 0, byLayout: 0, falsePairs: 0, anyFalse: 0 };
  // originals with too little texture to fingerprint (sdk.MIN_HASH_SIGNAL), and textured ones with too
  // few ORB keypoints for local features (sdk.FEW_LOCAL_FEATURES; both carry a colour layout):
  // counted in every row, and split out below
  const split = {
    textured: { originals: 0, copies: 0, found: 0, falsePairs: 0 },
    fewFeatures: { originals: 0, copies: 0, found: 0, falsePairs: 0 },
    flat: { originals: 0, copies: 0, found: 0, falsePairs: 0 },
  };
  for (const [k, name] of sampled.entries()) {
    const photo = fs.readFileSync(path.join(CORPUS, name));
    const registered = await sdk.fingerprintOriginal(photo);
    const part = registered.tooLittleTexture ? split.flat : registered.fewFeatures ? split.fewFeatures : split.textured;
    part.originals++;
    for (const [edit, apply] of Object.entries(EDITS)) {
      const copy = await apply(photo, k);
      const r = await sdk.matchImage({ dataDir, image: copy });
      const cell = results[edit];
      cell.copies++;
      const own = r.matches.find((m) => m.original.name === name);
      part.copies++;
      if (own) part.found++;
      if (own) cell.found++;
      else misses.push(await diagnoseMiss(dataDir, edit, name, copy, r));
      if (own && own.decidedBy === "hash") cell.byHash++;
      if (own && own.foundBy === "local features") cell.byLocal++;
      if (own && own.decidedBy === "colour layout") cell.byLayout++;
      const wrongMatches = r.matches.filter((m) => m.original.name !== name);
      for (const m of wrongMatches)
        falseMatches.push({
          edit,
          copyOf: name,
          matched: m.original.name,
          distance: m.distance,
          inliers: m.inliers,
          decidedBy: m.decidedBy,
          foundBy: m.foundBy,
          seenAs: m.seenAs,
          layout: m.layout?.distance,
        });
      const wrong = wrongMatches.length;
      cell.falsePairs += wrong;
      part.falsePairs += wrong;
      if (wrong) cell.anyFalse++;
    }
    process.stderr.write(`\rcopies of ${k + 1}/${sampled.length} originals`);
  }
  const queryMs = (Date.now() - t1) / (sampled.length * Object.keys(EDITS).length);
  const pct = (n, d, digits = 1) => `${((100 * n) / d).toFixed(digits)} %`;
  const others = images.length - 1;
  const total = { copies: 0, found: 0, byHash: 0, byLocal: 0, byLayout: 0, falsePairs: 0, anyFalse: 0 };
  const lines = [
    `Corpus ${CORPUS}: ${images.length} images, ${sampled.length} originals × ${Object.keys(EDITS).length} edits; ` +
      `match distance ${sdk.MATCH_DISTANCE}; candidates to ${sdk.CANDIDATE_DISTANCE} bits and from the local-feature index, confirmed by ≥ ${sdk.MIN_INLIERS} ORB inliers of a plausible view. ` +
      `Fingerprint and ORB features ${fingerprintMs.toFixed(0)} ms per original, match ${queryMs.toFixed(0)} ms per copy (loaded machine).`,
    "",
    "| edit | recall (as `match` decides) | of which by hash distance alone | of which found only by local features | of which by colour layout only (weaker) | false-match rate (pairs) | copies with any false match |",
    "|---|---|---|---|---|---|---|",
  ];
  for (const [edit, c] of Object.entries(results)) {
    for (const key of Object.keys(total)) total[key] += c[key];
    lines.push(
      `| ${edit} | ${pct(c.found, c.copies)} | ${pct(c.byHash, c.copies)} | ${pct(c.byLocal, c.copies)} | ${pct(c.byLayout, c.copies)} | ${pct(c.falsePairs, c.copies * others, 3)} | ${pct(c.anyFalse, c.copies)} |`,
    );
  }
  lines.push(
    `| **all edits** | **${pct(total.found, total.copies)}** | ${pct(total.byHash, total.copies)} | ${pct(total.byLocal, total.copies)} | ${pct(total.byLayout, total.copies)} | **${pct(total.falsePairs, total.copies * others, 3)}** | ${pct(total.anyFalse, total.copies)} |`,
  );
  for (const [label, p] of [
    ["originals with enough texture and local features", split.textured],
    [`textured originals with fewer than ${sdk.FEW_LOCAL_FEATURES} ORB keypoints`, split.fewFeatures],
    ["originals with too little texture to fingerprint", split.flat],
  ]) {
    if (p.copies)
      lines.push(
        `| ${label} (${p.originals} of ${sampled.length}) | ${pct(p.found, p.copies)} | | | | ${pct(p.falsePairs, p.copies * others, 3)} | |`,
      );
  }
  lines.push(
    "",
    `Too little texture to fingerprint (hash signal below ${require("../../packages/sdk/dist/core/fingerprint").MIN_HASH_SIGNAL} grey levels): ${split.flat.originals} of the ${sampled.length} sampled originals, ` +
      `${timing.tooLittleTexture ?? "?"} of the ${images.length} corpus images; textured with fewer than ${sdk.FEW_LOCAL_FEATURES} ORB keypoints (also given a colour layout): ` +
      `${split.fewFeatures.originals} sampled, ${timing.fewFeatures ?? "?"} in the corpus. Their copies are counted in every row above.`,
  );
  console.log(lines.join("\n"));
  if (JSON_OUT)
    fs.writeFileSync(
      JSON_OUT,
      JSON.stringify(
        {
          corpus: images.length,
          sampled: sampled.length,
          fingerprintMs,
          queryMs,
          results,
          total,
          split,
          tooLittleTextureInCorpus: timing.tooLittleTexture,
          fewFeaturesInCorpus: timing.fewFeatures,
          misses,
          falseMatches,
        },
        null,
        1,
      ),
    );
  if (!INDEX_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
module.exports = { EDITS };
