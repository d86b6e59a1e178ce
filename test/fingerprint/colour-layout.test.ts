import { expect } from "chai";
import sharp from "sharp";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildMatchReportModel,
  colourLayoutsOf,
  decodeGrey,
  FingerprintIndex,
  fingerprintImage,
  fingerprintImageMatcher,
  fingerprintOriginal,
  FEW_LOCAL_FEATURES,
  formatFingerprint,
  LAYOUT_MATCH_DISTANCE,
  LAYOUT_ONLY_NOTE,
  layoutDistance,
  matchImage,
  parseFingerprint,
  trimRect,
  type ColourLayout,
  type MatchResult,
  VARIANT_TEXTS,
  layoutViewText,
} from "@proofmark/sdk";
import { indexPhotos, productPhoto } from "./images";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";

/** A smooth gradient between two colours (a sky, a studio backdrop): too little texture for a hash. */
function gradient(from: string, to: string, x2 = 0.3): Promise<Buffer> {
  const svg = `<svg width="400" height="300" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="0" y1="0" x2="${x2}" y2="1"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

const sky = () => gradient("#e8a0e0", "#403890");
const dusk = () => gradient("#f0b070", "#2050a0", 1);

/** What a thief does to a flat picture: crop 10 % around the centre, re-compress at quality 40. */
async function croppedCopy(image: Buffer): Promise<Buffer> {
  return sharp(image).extract({ left: 20, top: 15, width: 360, height: 270 }).jpeg({ quality: 40 }).toBuffer();
}

/** The colour layout of an image as `match` takes it of a suspect (trimmed). */
async function suspectLayout(image: Buffer): Promise<ColourLayout> {
  const grey = await decodeGrey(image);
  const [layout] = await colourLayoutsOf(image, grey, [{ name: "layout", rect: trimRect(grey) }]);
  return layout;
}

async function originalLayout(image: Buffer): Promise<ColourLayout> {
  const fp = await fingerprintImage(image);
  expect(fp.tooLittleTexture).to.equal(true);
  return fp.fingerprint.layouts![0];
}

/**
 * A dark backdrop with a band of coloured blocks along its bottom: trimming takes the backdrop for a
 * border and keeps a strip too low for ORB (none of its keypoints), whose hash has texture. So did
 * two polygon tiles of the corpus (README, robustness).
 */
function darkWithBand(): Promise<Buffer> {
  const blocks: string[] = [];
  for (let i = 0; i < 24; i++)
    blocks.push(
      `<rect x="${i * 34}" y="${530 + ((i * 7) % 20)}" width="30" height="${40 - ((i * 5) % 18)}" fill="hsl(${(i * 47) % 360},70%,${40 + ((i * 13) % 30)}%)"/>`,
    );
  const svg = `<svg width="800" height="600" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#202020"/><rect y="520" width="800" height="80" fill="#3a3a3a"/>${blocks.join("")}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer();
}

describe("fingerprints: a colour layout for originals with too few local features", function () {
  this.timeout(300_000);

  it("fingerprintOriginal gives a textured picture with fewer ORB keypoints than FEW_LOCAL_FEATURES a colour layout; a product photo keeps pmfp1", async function () {
    const band = await fingerprintOriginal(await darkWithBand());
    expect(band.tooLittleTexture).to.equal(false);
    expect(band.features!.count).to.be.below(FEW_LOCAL_FEATURES);
    expect(band.fewFeatures).to.equal(true);
    expect(band.fingerprint.version).to.equal(2);
    expect(band.fingerprint.layouts!.map((l) => l.name)).to.deep.equal(["layout", "ulayout"]);
    expect(formatFingerprint(band.fingerprint)).to.match(/^pmfp2 /);
    // the fingerprint alone (a suspect's view) carries none
    expect((await fingerprintImage(await darkWithBand())).fingerprint.layouts).to.equal(undefined);
    const photo = await fingerprintOriginal(await productPhoto(43));
    expect(photo.fewFeatures).to.equal(false);
    expect(photo.features!.count).to.be.at.least(FEW_LOCAL_FEATURES);
    expect(formatFingerprint(photo.fingerprint)).to.match(/^pmfp1 /);
  });

  it("matchImage finds its centre-cropped copy by colour layout (neither hash nor local features can)", async function () {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-fewfeatures-"));
    try {
      await indexPhotos(dataDir, [await productPhoto(44), await darkWithBand(), await productPhoto(45)]);
      const image = await darkWithBand();
      const m = await sharp(image).metadata();
      const copy = await sharp(image)
        .extract({ left: 80, top: 60, width: m.width! - 160, height: m.height! - 120 })
        .jpeg({ quality: 85 })
        .toBuffer();
      const result = await matchImage({ dataDir, image: copy });
      expect(result.matches.map((x) => [x.original.name, x.decidedBy])).to.deep.equal([
        ["photo-1.jpg", "colour layout"],
      ]);
      expect(result.matches[0].layout!.distance).to.be.at.most(LAYOUT_MATCH_DISTANCE);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("fingerprints: a colour layout for images with too little texture", function () {
  this.timeout(300_000);

  it("a gradient's cropped and re-compressed copy, and its mirror, are near its colour layout; another gradient is far", async function () {
    const original = await originalLayout(await sky());
    const copy = layoutDistance(await suspectLayout(await croppedCopy(await sky())), original);
    expect(copy.distance).to.be.at.most(LAYOUT_MATCH_DISTANCE);
    expect(copy.view).to.equal("c90");
    const mirrored = await sharp(await sky())
      .flop()
      .jpeg({ quality: 60 })
      .toBuffer();
    expect(layoutDistance(await suspectLayout(mirrored), original).distance).to.be.at.most(LAYOUT_MATCH_DISTANCE);
    // brighter and more contrasty: lightness is compared normalised
    const brighter = await sharp(await sky())
      .modulate({ brightness: 1.2 })
      .linear(1.15, -10)
      .jpeg({ quality: 85 })
      .toBuffer();
    expect(layoutDistance(await suspectLayout(brighter), original).distance).to.be.at.most(LAYOUT_MATCH_DISTANCE);
    // a different gradient, and the same colours running the other way
    expect(layoutDistance(await suspectLayout(await dusk()), original).distance).to.be.above(LAYOUT_MATCH_DISTANCE);
    const upsideDown = await sharp(await sky())
      .flip()
      .jpeg({ quality: 85 })
      .toBuffer();
    expect(layoutDistance(await suspectLayout(upsideDown), original).distance).to.be.above(LAYOUT_MATCH_DISTANCE);
  });

  it("is stored in the fingerprint text (pmfp2) only for a flat image, and parses back exactly; a textured photo stays pmfp1", async function () {
    const flat = (await fingerprintImage(await sky())).fingerprint;
    const text = formatFingerprint(flat);
    expect(text.startsWith("pmfp2 ")).to.equal(true);
    expect(text).to.match(/ layout:\d+x\d+:[0-9a-f]{2048}( |$)/);
    const back = parseFingerprint(text);
    expect(back.version).to.equal(2);
    expect(back.layouts!.map((l) => [l.name, l.width, l.height])).to.deep.equal(
      flat.layouts!.map((l) => [l.name, l.width, l.height]),
    );
    expect(back.layouts![0].name).to.equal("layout");
    expect(Buffer.from(back.layouts![0].grid).equals(Buffer.from(flat.layouts![0].grid))).to.equal(true);
    expect(formatFingerprint(back)).to.equal(text);
    const photo = formatFingerprint((await fingerprintImage(await productPhoto(3))).fingerprint);
    expect(photo.startsWith("pmfp1 ")).to.equal(true);
    expect(parseFingerprint(photo).layouts).to.equal(undefined);
    // malformed: a short grid, a layout in a pmfp1 text, a pmfp2 text without one
    const bad = [
      text.replace(/ layout:(\d+x\d+):([0-9a-f]+)/, (_m, size: string, g: string) => ` layout:${size}:${g.slice(2)}`),
      text.replace("pmfp2 ", "pmfp1 "),
      photo.replace("pmfp1 ", "pmfp2 "),
      text.replace(/ layout:\d+x/, " layout:0x"),
    ];
    for (const t of bad) expect(() => parseFingerprint(t), t.slice(0, 40)).to.throw(/fingerprint is not valid/);
  });

  describe("matchImage and the CLI", function () {
    let dataDir: string;
    let oldDir: string;
    const ws = makeWorkspace("layout");

    before(async function () {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-layout-"));
      await indexPhotos(dataDir, [await sky(), await dusk(), await productPhoto(41)]);
      // an index made before colour layouts: the same pictures, their fingerprints as pmfp1
      oldDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-layout-old-"));
      await indexPhotos(oldDir, [await sky(), await dusk(), await productPhoto(41)]);
      const index = FingerprintIndex.open(oldDir);
      try {
        for (const row of index.db.prepare("SELECT id, fingerprint FROM original").all() as Array<{
          id: number;
          fingerprint: string;
        }>) {
          const fp = parseFingerprint(row.fingerprint);
          index.db
            .prepare("UPDATE original SET fingerprint = ? WHERE id = ?")
            .run(formatFingerprint({ version: 1, variants: fp.variants }), row.id);
        }
      } finally {
        index.close();
      }
      fs.mkdirSync(ws.dataDir, { recursive: true });
      fs.copyFileSync(path.join(dataDir, "fingerprints.sqlite"), path.join(ws.dataDir, "fingerprints.sqlite"));
      fs.writeFileSync(path.join(ws.dir, "sky-copy.jpg"), await croppedCopy(await sky()));
    });

    after(function () {
      for (const dir of [dataDir, oldDir, ws.dir]) fs.rmSync(dir, { recursive: true, force: true });
    });

    it("finds a flat original's cropped copy by colour layout only, says it is weaker, and names no other", async function () {
      const result = await matchImage({ dataDir, image: await croppedCopy(await sky()) });
      expect(result.suspect.tooLittleTexture).to.equal(true);
      expect(result.matches.map((m) => [m.original.name, m.decidedBy, m.foundBy])).to.deep.equal([
        ["photo-0.jpg", "colour layout", "colour layout"],
      ]);
      const layout = result.matches[0].layout!;
      expect(layout.distance).to.be.at.most(LAYOUT_MATCH_DISTANCE);
      expect(layout.maxDistance).to.equal(LAYOUT_MATCH_DISTANCE);
      expect(layout.note).to.equal(LAYOUT_ONLY_NOTE);
      expect(layout.note).to.match(
        /^colour layout only: the image has too little texture for a perceptual fingerprint \(or too few local features/,
      );
      // the textured photo is still found by hash, and nothing by colour layout beside it
      const photo = await matchImage({ dataDir, image: await productPhoto(41) });
      expect(photo.matches.map((m) => [m.original.name, m.decidedBy])).to.deep.equal([["photo-2.jpg", "hash"]]);
      // an unrelated textured photo matches nothing, flat originals included
      expect((await matchImage({ dataDir, image: await productPhoto(42) })).matches).to.deep.equal([]);
    });

    it("an index made before colour layouts still answers (by hash and features), without a colour-layout match", async function () {
      const result = await matchImage({ dataDir: oldDir, image: await croppedCopy(await sky()) });
      expect(result.matches.filter((m) => m.decidedBy === "colour layout")).to.deep.equal([]);
      const photo = await matchImage({ dataDir: oldDir, image: await productPhoto(41) });
      expect(photo.matches.map((m) => m.original.name)).to.deep.equal(["photo-2.jpg"]);
    });

    it("a web capture's image matcher records perceptual matches only, not a colour-layout resemblance", async function () {
      const image = (bytes: Buffer, sha256: string) => ({
        page: 0,
        url: `https://shop.example/${sha256}.jpg`,
        mimeType: "image/jpeg",
        sha256,
        size: bytes.length,
        bytes,
      });
      const found = await fingerprintImageMatcher(dataDir)([
        image(await croppedCopy(await sky()), "sky"),
        image(await productPhoto(41), "photo"),
      ]);
      expect(found.map((f) => [f.sha256, f.original.name, f.original.decidedBy])).to.deep.equal([
        ["photo", "photo-2.jpg", "hash"],
      ]);
    });

    it("names every colour-layout view in both languages", function () {
      expect(layoutViewText("c90", "zh")).to.equal("居中 90 %（每边裁去 5 %）");
      expect(layoutViewText("c90", "en")).to.equal("centre 90 % (crop of 5 % per side)");
      expect(layoutViewText("rotated -10°", "zh")).to.equal("旋转 -10°");
      expect(layoutViewText("untrimmed, mirror", "zh")).to.equal("去除边框前的整图，镜像图");
      expect(layoutViewText("untrimmed, rotated 5°", "en")).to.equal("whole image before trimming, rotated 5°");
      expect(layoutViewText("something new", "zh")).to.equal("something new");
    });

    /** The match report model of the sky's copy, no original file at hand, none re-verified. */
    const skyCopyReport = (suspect: Buffer, result: MatchResult, lang: "en" | "zh") =>
      buildMatchReportModel({
        suspectName: "sky-copy.jpg",
        suspect,
        result,
        originals: new Map(),
        anchorChecks: new Map(),
        checkedAt: "2026-12-02T17:00:00Z",
        lang,
      });

    it("the match report does not give a colour-layout match the verdict of a perceptual match", async function () {
      const suspect = await croppedCopy(await sky());
      const result = await matchImage({ dataDir, image: suspect });
      for (const lang of ["en", "zh"] as const) {
        const model = await skyCopyReport(suspect, result, lang);
        expect(model.verdict.passed).to.equal(false);
        const rows = JSON.stringify(model.sections);
        if (lang === "en") {
          expect(model.verdict.line).to.match(/^COLOUR LAYOUT ONLY \(weaker evidence\)/);
          expect(model.verdict.line).not.to.match(/^MATCH/);
          expect(rows).to.include("colour layout only (weaker evidence)");
        } else {
          expect(model.verdict.line).to.match(/^仅色彩布局相似（证据较弱）/);
          expect(rows).to.include("仅色彩布局（证据较弱）");
          // the variant and the layout view are in Chinese too, not the English labels
          const best = result.matches[0];
          expect(rows).to.include(VARIANT_TEXTS[best.variant].zh);
          expect(rows).to.include(layoutViewText(best.layout!.view, "zh"));
          for (const texts of Object.values(VARIANT_TEXTS)) expect(rows).not.to.include(texts.en);
        }
      }
    });

    it("the match report lists a local-feature check that could not be made, in both languages", async function () {
      const suspect = await croppedCopy(await sky());
      const result = await matchImage({ dataDir, image: suspect });
      result.notChecked.push({
        seenAs: "region",
        original: "sky.jpg",
        reason: "OpenCV could not match ORB features (RANSAC): an assertion failed",
      });
      for (const lang of ["en", "zh"] as const) {
        const model = await skyCopyReport(suspect, result, lang);
        const notChecked = JSON.stringify(model.sections[model.sections.length - 1]);
        expect(notChecked).to.include("OpenCV could not match ORB features (RANSAC): an assertion failed");
        expect(notChecked).to.include("sky.jpg");
        expect(notChecked).to.include(lang === "en" ? "Local features could not be compared" : "局部特征比对未能进行");
      }
    });

    it("CLI: match says the copy resembles the original by colour layout only, not that it matches, in words and in --json", async function () {
      assertBuilt();
      const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 120_000 });
      const human = await run(["match", "sky-copy.jpg"]);
      expect(human.code, human.stderr).to.equal(0);
      expect(human.stdout).to.match(
        /^no match for sky-copy\.jpg among 3 indexed original\(s\) \(match distance ≤ 10 of 64 bits\); 1 resemblance\(s\) by colour layout only \(weaker evidence, see below\)/,
      );
      expect(human.stdout).to.include("photo-0.jpg  (colour layout only: weaker evidence)");
      expect(human.stdout).to.match(/decided by\s+colour layout only: the image has too little texture/);
      const json = JSON.parse((await run(["match", "sky-copy.jpg", "--json"])).stdout);
      expect(json.matches).to.have.length(1);
      expect(json.matches[0].decidedBy).to.equal("colour layout");
      expect(json.matches[0].layout.note).to.equal(LAYOUT_ONLY_NOTE);
    });
  });
});
