import { expect } from "chai";
import sharp from "sharp";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import {
  CANDIDATE_DISTANCE,
  confirmByFeatures,
  decodeGrey,
  descriptorKeys,
  FingerprintIndex,
  fingerprintImage,
  isProofmarkError,
  LOW_CONTRAST_FEATURES,
  matchImage,
  MIN_INLIERS,
  MIN_INLIERS_EQUALISED,
  orbFeatures,
  orbInliers,
  suspectFeatures,
  withOpenCv,
  type OrbFeatures,
} from "@proofmark/sdk";
import { indexPhotos, productPhoto } from "./images";

/** Keeps `fraction` of the photo from its left edge: the global hash of what is left is far from every variant of the original. */
async function leftPart(photo: Buffer, fraction: number, quality = 70): Promise<Buffer> {
  const m = await sharp(photo).metadata();
  return sharp(photo)
    .extract({ left: 0, top: 0, width: Math.round(m.width! * fraction), height: m.height! })
    .jpeg({ quality })
    .toBuffer();
}

describe("fingerprints: candidates from local features (the feature_key index beside the pHash index)", function () {
  this.timeout(300_000);
  let photos: Buffer[];
  let dataDir: string;

  before(async function () {
    photos = await Promise.all([31, 32, 33, 34, 35, 36].map((seed) => productPhoto(seed)));
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-local-"));
    await indexPhotos(dataDir, photos);
  });

  after(function () {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("descriptorKeys: a descriptor a few bits away shares keys in some tables, an unrelated one in none", function () {
    const base = new Uint8Array(32).map((_, i) => (i * 73 + 19) & 0xff);
    const near = base.slice();
    for (const bit of [3, 50, 97, 140, 201]) near[bit >> 3] ^= 1 << (bit & 7);
    const far = base.map((b) => b ^ 0xff);
    const of = (d: Uint8Array): OrbFeatures => ({ count: 1, points: new Float32Array(2), descriptors: d });
    const [a, b, c] = [base, near, far].map((d) => descriptorKeys(of(d)));
    const shared = (x: Uint32Array, y: Uint32Array) => x.filter((k, t) => y[t] === k).length;
    expect(a.length).to.equal(16);
    expect(new Set(a).size).to.equal(16); // one key per table, distinct across tables
    expect(shared(a, a)).to.equal(16);
    expect(shared(a, b)).to.be.within(1, 15);
    expect(shared(a, c)).to.equal(0);
  });

  it("a copy the pHash index cannot find (60 % of the photo kept) is found through local features and confirmed by ORB + RANSAC", async function () {
    const copy = await leftPart(photos[2], 0.6);
    const suspect = await fingerprintImage(copy);
    const index = FingerprintIndex.open(dataDir);
    try {
      // the hash path alone: not even a candidate
      const hashHits = index.lookup(suspect.fingerprint, CANDIDATE_DISTANCE).map((h) => h.original.name);
      expect(hashHits).to.not.include("photo-2.jpg");
      // the local-feature path ranks it first
      const candidates = index.featureCandidates(await orbFeatures(suspect.trimmed), 5);
      expect(index.original(candidates[0].id)!.name).to.equal("photo-2.jpg");
      expect(candidates[0].score).to.be.above(2 * (candidates[1]?.score ?? 0));
    } finally {
      index.close();
    }
    const result = await matchImage({ dataDir, image: copy });
    expect(result.matches.map((m) => m.original.name)).to.deep.equal(["photo-2.jpg"]);
    const m = result.matches[0];
    expect(m.foundBy).to.equal("local features");
    expect(m.decidedBy).to.equal("features");
    expect(m.seenAs).to.equal("whole");
    expect(m.inliers).to.be.at.least(20);
    expect(m.distance).to.be.above(CANDIDATE_DISTANCE);
    expect(m.receipt).to.equal("missing");
    // without local features the same copy matches nothing
    expect((await matchImage({ dataDir, image: copy, features: false })).matches).to.deep.equal([]);
  });

  it("unrelated photos and their crops get candidates from local features but none is confirmed: nothing matches", async function () {
    const index = FingerprintIndex.open(dataDir);
    try {
      for (const seed of [4242, 4343]) {
        const stranger = await productPhoto(seed);
        for (const image of [stranger, await leftPart(stranger, 0.6)]) {
          const candidates = index.featureCandidates(await orbFeatures((await fingerprintImage(image)).trimmed), 5);
          expect(candidates.length, `seed ${seed}`).to.be.above(0); // the path is taken
          expect((await matchImage({ dataDir, image })).matches, `seed ${seed}`).to.deep.equal([]);
        }
      }
    } finally {
      index.close();
    }
  });

  it("a low-contrast photo gets its keypoints from the equalised copy, and a rotated copy of it is confirmed by them", async function () {
    const faint = await sharp(photos[5]).linear(0.12, 100).jpeg({ quality: 92 }).toBuffer();
    const grey = (await fingerprintImage(faint)).trimmed;
    const features = await orbFeatures(grey);
    expect(features.count).to.be.at.least(LOW_CONTRAST_FEATURES);
    const rotated = await sharp(faint).rotate(9, { background: "#ffffff" }).jpeg({ quality: 85 }).toBuffer();
    const copy = await orbFeatures((await fingerprintImage(rotated)).trimmed);
    expect(await orbInliers(copy, features)).to.be.at.least(20);
  });

  it("a low-contrast photo's copy with a badge overlaid (its own keypoints lifted above the limit) is confirmed by its equalised features, as its original stored them", async function () {
    const faint = await sharp(photos[4]).linear(0.12, 100).jpeg({ quality: 92 }).toBuffer();
    const stored = await orbFeatures((await fingerprintImage(faint)).trimmed);
    // a chequered badge in one corner: corners enough to lift the copy's own count, on a small part of it
    const cells = [];
    for (let y = 0; y < 16; y++)
      for (let x = 0; x < 16; x++)
        if ((x + y) % 2) cells.push(`<rect x="${x * 10}" y="${y * 10}" width="10" height="10"/>`);
    const badge = Buffer.from(
      `<svg width="160" height="160" xmlns="http://www.w3.org/2000/svg"><rect width="160" height="160" fill="#fff"/>${cells.join("")}</svg>`,
    );
    // untrimmed: trimming this copy keeps only the badge (the faint photo is within 20 grey levels of
    // its edge), which is why `match` also looks a trimmed suspect up untrimmed
    const copy = await decodeGrey(
      await sharp(faint)
        .composite([{ input: badge, left: 20, top: 20 }])
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
    const sets = await suspectFeatures(copy);
    expect(sets.map((s) => s.minInliers)).to.deep.equal([MIN_INLIERS, MIN_INLIERS_EQUALISED]);
    // as an original would see it (its own keypoints: mostly the badge's), it does not confirm
    expect(await orbInliers(await orbFeatures(copy), stored)).to.be.below(MIN_INLIERS);
    const { inliers, confirmed } = await confirmByFeatures(sets, stored);
    expect(confirmed, `inliers ${inliers}`).to.equal(true);
    expect(inliers).to.be.at.least(MIN_INLIERS_EQUALISED);
  });

  it("an index written before the local-feature keys gets them from its stored features when opened", async function () {
    const file = path.join(dataDir, "fingerprints.sqlite");
    const db = new Database(file);
    const before = (db.prepare("SELECT count(*) AS n FROM feature_key").get() as { n: number }).n;
    db.exec("DROP TABLE feature_key; DROP TABLE feature_key_scheme");
    db.close();
    expect(before).to.be.above(6 * 1000);
    FingerprintIndex.open(dataDir).close();
    const again = new Database(file, { readonly: true });
    try {
      expect((again.prepare("SELECT count(*) AS n FROM feature_key").get() as { n: number }).n).to.equal(before);
    } finally {
      again.close();
    }
    const m = (await matchImage({ dataDir, image: await leftPart(photos[4], 0.6) })).matches;
    expect(m.map((x) => [x.original.name, x.foundBy])).to.deep.equal([["photo-4.jpg", "local features"]]);
  });

  describe("when OpenCV fails", function () {
    /**
     * A small grey picture (100 × 75, what a copy resized to 25 % decodes to) whose only texture is a
     * few noisy columns: `photoRegions` finds a "photo" in it that trims to one pixel's width. Taking
     * ORB features of that region made OpenCV fail an assertion in its pyramid resize, thrown out of
     * `matchImage` as a bare number (corpus image 0020 resized to 25 %, README robustness).
     */
    async function pixelWideRegion(): Promise<Buffer> {
      const width = 100;
      const height = 75;
      const data = Buffer.alloc(width * height, 128);
      let seed = 7;
      for (let y = 8; y < 48; y++)
        for (const x of [64, 65, 66, 70, 73, 74, 75]) {
          seed = (seed * 1103515245 + 12345) % 2147483648;
          data[y * width + x] = Math.floor((seed / 2147483648) * 256);
        }
      return sharp(data, { raw: { width, height, channels: 1 } })
        .png()
        .toBuffer();
    }

    it("matchImage goes on past a photo region too narrow for ORB (OpenCV threw a bare number on it)", async function () {
      const result = await matchImage({ dataDir, image: await pixelWideRegion() });
      expect(result.matches).to.deep.equal([]);
      expect(result.notChecked).to.deep.equal([]);
      // a picture narrower than ORB's edge margin has no keypoints, and OpenCV is not asked
      for (const [w, h] of [
        [1, 24],
        [62, 300],
        [300, 62],
      ]) {
        const f = await orbFeatures({
          width: w,
          height: h,
          data: new Uint8Array(w * h).map((_, i) => (i * 37) & 0xff),
        });
        expect(f.count, `${w} × ${h}`).to.equal(0);
      }
    });

    it("withOpenCv: what OpenCV throws (a pointer to its C++ exception) becomes LOCAL_FEATURES_FAILED with OpenCV's own message", async function () {
      let caught: unknown;
      try {
        await withOpenCv("resize a test image", (cv) => {
          const mat = new cv.Mat(4, 4, cv.CV_8UC1);
          try {
            cv.resize(mat, mat, new cv.Size(0, 0), 0, 0); // no size and no scale: fails an assertion
          } finally {
            mat.delete();
          }
        });
      } catch (e) {
        caught = e;
      }
      expect(isProofmarkError(caught, "LOCAL_FEATURES_FAILED"), String(caught)).to.equal(true);
      expect((caught as Error).message).to.match(/^OpenCV could not resize a test image: .*Assertion failed/);
      // what it returns comes back
      expect(await withOpenCv("add", () => 2 + 2)).to.equal(4);
    });
  });
});
