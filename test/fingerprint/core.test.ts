import { expect } from "chai";
import sharp from "sharp";
import {
  chunkNeighbours,
  computeFingerprint,
  cropGrey,
  decodeGrey,
  FingerprintIndex,
  fingerprintImage,
  formatFingerprint,
  hammingDistance,
  isProofmarkError,
  MAX_MATCH_DISTANCE,
  mirrorGrey,
  orbFeatures,
  orbInliers,
  plausibleHomography,
  parseFingerprint,
  phash64,
  phashChunks,
  trimRect,
  type Fingerprint,
  type GreyImage,
} from "@proofmark/sdk";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { productPhoto } from "./images";
import { loadOpenCv } from "../../packages/sdk/src/fingerprint/orb";

function popcount16(x: number): number {
  let n = 0;
  for (; x; x &= x - 1) n++;
  return n;
}

describe("fingerprints: pure parts and the index", function () {
  this.timeout(120_000);

  describe("trimRect", function () {
    it("removes a uniform white border and a flat page margin, keeps a bordered image's content", function () {
      const w = 100;
      const h = 80;
      const data = new Uint8Array(w * h).fill(255);
      for (let y = 10; y < 70; y++) for (let x = 20; x < 90; x++) data[y * w + x] = (x * 7 + y * 13) % 200;
      expect(trimRect({ width: w, height: h, data })).to.deep.equal({ left: 20, top: 10, width: 70, height: 60 });
    });

    it("leaves an image without border whole, and never trims an all-flat image to nothing", function () {
      const noisy = new Uint8Array(50 * 40).map((_, i) => (i * 37) % 256);
      expect(trimRect({ width: 50, height: 40, data: noisy })).to.deep.equal({
        left: 0,
        top: 0,
        width: 50,
        height: 40,
      });
      expect(trimRect({ width: 50, height: 40, data: new Uint8Array(2000).fill(128) })).to.deep.equal({
        left: 0,
        top: 0,
        width: 50,
        height: 40,
      });
    });
  });

  describe("hashes", function () {
    it("survive re-compression and resizing of a generated photo, and differ for an unrelated one", async function () {
      const photo = await productPhoto(1);
      const base = (await fingerprintImage(photo)).fingerprint.variants[0].phash;
      const q30 = (await fingerprintImage(await sharp(photo).jpeg({ quality: 30 }).toBuffer(), ["full"])).fingerprint
        .variants[0].phash;
      const half = (await fingerprintImage(await sharp(photo).resize(400).toBuffer(), ["full"])).fingerprint.variants[0]
        .phash;
      const other = (await fingerprintImage(await productPhoto(2), ["full"])).fingerprint.variants[0].phash;
      expect(hammingDistance(base, q30)).to.be.at.most(6);
      expect(hammingDistance(base, half)).to.be.at.most(6);
      expect(hammingDistance(base, other)).to.be.greaterThan(16);
    });

    it("a mirrored copy lands on the mirror variant; a 10 %-per-side centre crop on c80", async function () {
      const photo = await productPhoto(3);
      const fp = (await fingerprintImage(photo)).fingerprint;
      const near = async (bytes: Buffer) => {
        const q = (await fingerprintImage(bytes, ["full"])).fingerprint.variants[0].phash;
        return fp.variants.map((v) => ({ name: v.name, d: hammingDistance(v.phash, q) })).sort((a, b) => a.d - b.d)[0];
      };
      const mirrored = await near(await sharp(photo).flop().jpeg().toBuffer());
      expect(mirrored.name).to.equal("mirror");
      expect(mirrored.d).to.be.at.most(6);
      const cropped = await near(
        await sharp(photo).extract({ left: 80, top: 60, width: 640, height: 480 }).jpeg().toBuffer(),
      );
      expect(cropped.name).to.equal("c80");
      expect(cropped.d).to.be.at.most(8);
    });

    it("pHash of a mirror image is the mirror variant of the image", function () {
      const img: GreyImage = {
        width: 64,
        height: 48,
        data: new Uint8Array(64 * 48).map((_, i) => ((i % 64) * 3 + Math.floor(i / 64) * 5) % 256),
      };
      const fp = computeFingerprint(img);
      expect(hammingDistance(fp.variants.find((v) => v.name === "mirror")!.phash, phash64(mirrorGrey(img)))).to.equal(
        0,
      );
      expect(cropGrey(img, { left: 1, top: 2, width: 3, height: 2 }).data).to.deep.equal(
        new Uint8Array([img.data[129], img.data[130], img.data[131], img.data[193], img.data[194], img.data[195]]),
      );
    });

    it("hammingDistance refuses hashes of different lengths", function () {
      expect(() => hammingDistance(new Uint8Array(8), new Uint8Array(32))).to.throw(/64-bit hash with a 256-bit/);
    });
  });

  describe("text form", function () {
    it("round-trips, and the parser is strict", async function () {
      const fp = (await fingerprintImage(await productPhoto(4))).fingerprint;
      const text = formatFingerprint(fp);
      expect(formatFingerprint(parseFingerprint(text))).to.equal(text);
      for (const bad of [
        text.replace("pmfp1", "pmfp2"),
        text.replace(/ full:[^ ]+/, ""),
        `${text} full:${"0".repeat(16)}:${"0".repeat(64)}`,
        text.replace(/full:([0-9a-f]{16})/, "full:$1a"),
        text.replace("mirror:", "upside:"),
        "pmfp1",
        42,
      ]) {
        try {
          parseFingerprint(bad);
          expect.fail(`accepted ${String(bad).slice(0, 40)}`);
        } catch (e) {
          expect(isProofmarkError(e, "FINGERPRINT_INVALID"), String(e)).to.equal(true);
        }
      }
    });
  });

  describe("multi-index hashing", function () {
    it("chunkNeighbours lists exactly the 16-bit values within the radius", function () {
      for (const radius of [0, 1, 2, 3]) {
        const got = new Set(chunkNeighbours(0xa5c3, radius));
        const want = [...Array(65536).keys()].filter((v) => popcount16(v ^ 0xa5c3) <= radius);
        expect(got.size).to.equal(want.length);
        for (const v of want) expect(got.has(v)).to.equal(true);
      }
      expect(phashChunks(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).to.deep.equal([0x0102, 0x0304, 0x0506, 0x0708]);
    });

    it("the index finds every original within the distance, and only those (checked against a scan)", function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-fpindex-"));
      const index = new FingerprintIndex(path.join(dir, "fp.sqlite"));
      try {
        let seed = 7;
        const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
        const bytes = (n: number) => new Uint8Array(n).map(() => rnd());
        const base = bytes(8);
        const originals: Fingerprint[] = [];
        for (let i = 0; i < 400; i++) {
          const phash = i < 100 ? base.slice() : bytes(8);
          if (i < 100) for (let k = 0; k < i % 24; k++) phash[rnd() % 8] ^= 1 << (rnd() % 8); // near copies of base
          originals.push({
            version: 1,
            variants: [
              { name: "full", phash, hash256: bytes(32) },
              { name: "mirror", phash: bytes(8), hash256: bytes(32) },
            ],
          });
        }
        index.add(
          originals.map((fp, i) => ({
            leaf: `0x${i.toString(16).padStart(64, "0")}`,
            name: `o${i}`,
            file: `/x/o${i}`,
            receiptPath: `/x/o${i}.proof.json`,
            sha256: "0".repeat(64),
            fingerprint: formatFingerprint(fp),
            chainId: 31337,
            blockNumber: i,
            txHash: "0x00",
            anchoredAt: 1_700_000_000 + i,
          })),
        );
        expect(index.count()).to.equal(400);
        const query: Fingerprint = { version: 1, variants: [{ name: "full", phash: base, hash256: bytes(32) }] };
        for (const d of [0, 5, 10, 13, 16, MAX_MATCH_DISTANCE]) {
          const got = index
            .lookup(query, d)
            .map((h) => h.original.name)
            .sort();
          const want = originals
            .map((fp, i) => ({ i, d: Math.min(...fp.variants.map((v) => hammingDistance(v.phash, base))) }))
            .filter((x) => x.d <= d)
            .map((x) => `o${x.i}`)
            .sort();
          expect(got, `distance ${d}`).to.deep.equal(want);
        }
        expect(() => index.lookup(query, MAX_MATCH_DISTANCE + 1)).to.throw(/0 to 20/);
        // idempotent by leaf
        expect(
          index.add([
            {
              leaf: `0x${"0".repeat(64)}`,
              name: "again",
              file: "",
              receiptPath: "",
              sha256: "0".repeat(64),
              fingerprint: formatFingerprint(originals[0]),
              chainId: 1,
              blockNumber: 0,
              txHash: "0x",
              anchoredAt: 0,
            },
          ]),
        ).to.equal(0);
      } finally {
        index.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("ORB + RANSAC", function () {
    it("finds many inliers between a photo and its rotated, one-side-cropped copy, few with an unrelated photo", async function () {
      const photo = await productPhoto(5);
      const copy = await sharp(photo)
        .extract({ left: 0, top: 0, width: 640, height: 600 })
        .rotate(8, { background: "#ffffff" })
        .jpeg({ quality: 60 })
        .toBuffer();
      const original = await orbFeatures(await decodeGrey(photo));
      const inliers = await orbInliers(await orbFeatures(await decodeGrey(copy)), original);
      const unrelated = await orbInliers(await orbFeatures(await decodeGrey(await productPhoto(6))), original);
      expect(inliers).to.be.greaterThan(40);
      expect(unrelated).to.be.lessThan(15);
    });

    it("plausibleHomography takes the similarities edits make and refuses mirrored, edge-on, collapsed or stretched views", function () {
      const grid: number[] = [];
      for (let x = 80; x <= 250; x += 34) for (let y = 52; y <= 224; y += 43) grid.push(x, y);
      const similarity = (scale: number, degrees: number, tx: number, ty: number) => {
        const c = scale * Math.cos((degrees * Math.PI) / 180);
        const s = scale * Math.sin((degrees * Math.PI) / 180);
        return [c, -s, tx, s, c, ty, 0, 0, 1];
      };
      expect(plausibleHomography([1, 0, 0, 0, 1, 0, 0, 0, 1], grid)).to.equal(true);
      // a screenshot's photo at 45 % (the original is 2.2 × larger), a centre crop, a rotation
      expect(plausibleHomography(similarity(2.2, 0, -100, -250), grid)).to.equal(true);
      expect(plausibleHomography(similarity(1 / 0.8, 0, 30, 20), grid)).to.equal(true);
      expect(plausibleHomography(similarity(1, -10, 5, 40), grid)).to.equal(true);
      // mild perspective (a photo of a screen) passes
      expect(plausibleHomography([1, 0, 0, 0, 1, 0, 0.0005, 0.0003, 1], grid)).to.equal(true);
      // mirrored
      expect(plausibleHomography([-1, 0, 400, 0, 1, 0, 0, 0, 1], grid)).to.equal(false);
      // the transform RANSAC found between a web page around an unrelated photo and photo-2 of
      // queries.test.ts (20 inliers): mirrored, collapsed, the horizon through the matched points
      expect(
        plausibleHomography([-0.5459, -0.8052, 176.69, -0.9451, -1.3777, 303.24, -0.0031, -0.0045, 1], grid),
      ).to.equal(false);
      // seen edge-on: w from 2.6 to 6 across the points
      expect(plausibleHomography([1, 0, 0, 0, 1, 0, 0.02, 0, 1], grid)).to.equal(false);
      // scaled beyond what ORB's pyramid matches, and squeezed to a quarter in one direction
      expect(plausibleHomography(similarity(10, 0, 0, 0), grid)).to.equal(false);
      expect(plausibleHomography([1, 0, 0, 0, 0.25, 0, 0, 0, 1], grid)).to.equal(false);
      expect(plausibleHomography([1, 0, 0, 0, 1, 0, 0, 0, 1], [])).to.equal(false);
    });

    it("decodeGrey rejects a file that is not an image with IMAGE_UNREADABLE", async function () {
      try {
        await decodeGrey(new TextEncoder().encode("GIF89a but not really"));
        expect.fail("decoded");
      } catch (e) {
        expect(isProofmarkError(e, "IMAGE_UNREADABLE"), String(e)).to.equal(true);
      }
    });
  });
});

describe("fingerprints: loading OpenCV (WASM)", function () {
  it("leaves the host process's error handlers as they were (the Emscripten build installs aborting ones)", async function () {
    const before = { e: process.listeners("uncaughtException"), r: process.listeners("unhandledRejection") };
    await loadOpenCv();
    expect(process.listeners("uncaughtException")).to.deep.equal(before.e);
    expect(process.listeners("unhandledRejection")).to.deep.equal(before.r);
  });
});
