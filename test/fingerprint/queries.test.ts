import { expect } from "chai";
import sharp from "sharp";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  canvasRotation,
  computeFingerprint,
  decodeGrey,
  fingerprintImage,
  hammingDistance,
  MATCH_DISTANCE,
  matchImage,
  photoRegions,
  rotateCrop,
} from "@proofmark/sdk";
import { indexPhotos, productPhoto } from "./images";

/** The photo on a web page: header bar, text lines, price, the photo at 45 % of the page width. */
async function inScreenshot(photo: Buffer): Promise<Buffer> {
  const lines = Array.from(
    { length: 12 },
    (_, k) => `<rect x="700" y="${170 + k * 34}" width="${220 + ((k * 97) % 330)}" height="12" fill="#555"/>`,
  ).join("");
  const page = Buffer.from(
    `<svg width="1280" height="860" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#f5f5f5"/>
     <rect width="100%" height="64" fill="#e4393c"/><rect y="64" width="100%" height="40" fill="#ddd"/>${lines}
     <text x="700" y="150" font-family="sans-serif" font-size="30" fill="#e4393c">199.00</text></svg>`,
  );
  return sharp(page)
    .composite([{ input: await sharp(photo).resize(576).toBuffer(), left: 50, top: 130 }])
    .png()
    .toBuffer();
}

/** The photo in a coloured frame with a caption under it (a border trimming cannot remove). */
async function inFrame(photo: Buffer): Promise<Buffer> {
  const m = await sharp(photo).metadata();
  const b = Math.round(m.width! * 0.08);
  const W = m.width! + 2 * b;
  const H = m.height! + 3 * b;
  const frame = Buffer.from(
    `<svg width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#e8d5b0"/><text x="${b}" y="${H - b * 0.6}" font-family="sans-serif" font-size="${b * 0.8}" fill="#222">Best quality</text></svg>`,
  );
  return sharp(frame)
    .composite([{ input: photo, left: b, top: b }])
    .jpeg({ quality: 85 })
    .toBuffer();
}

describe("fingerprints: the suspect looked up as the photo it contains (screenshot, frame) and turned back from a rotation", function () {
  this.timeout(300_000);
  let photos: Buffer[];

  before(async function () {
    photos = await Promise.all([11, 12, 13, 14, 15, 16].map((seed) => productPhoto(seed)));
  });

  describe("pure parts", function () {
    it("canvasRotation estimates the angle of a photo turned onto a white canvas; none for an upright photo", async function () {
      for (const angle of [4, 7, -10]) {
        const turned = await sharp(photos[0]).rotate(angle, { background: "#ffffff" }).jpeg({ quality: 85 }).toBuffer();
        const estimate = canvasRotation(await decodeGrey(turned));
        expect(estimate, `angle ${angle}`).to.be.a("number");
        expect(Math.abs(estimate! - Math.abs(angle)), `angle ${angle}`).to.be.below(1.2);
      }
      expect(canvasRotation(await decodeGrey(photos[0]))).to.equal(undefined);
    });

    it("rotateCrop turns the picture back: its pHash lands near the original's, the wrong way does not", async function () {
      const original = await fingerprintImage(photos[1]);
      const turned = await decodeGrey(
        await sharp(photos[1]).rotate(8, { background: "#ffffff" }).jpeg({ quality: 85 }).toBuffer(),
      );
      const nearest = (img: Parameters<typeof computeFingerprint>[0]) => {
        const q = computeFingerprint(img, ["full"]).variants[0].phash;
        return Math.min(...original.fingerprint.variants.map((v) => hammingDistance(v.phash, q)));
      };
      const angle = canvasRotation(turned)!;
      const back = [nearest(rotateCrop(turned, angle)), nearest(rotateCrop(turned, -angle))].sort((a, b) => a - b);
      expect(back[0]).to.be.at.most(10);
      expect(back[1]).to.be.above(10);
      expect(nearest(turned)).to.be.above(back[0]);
    });

    it("photoRegions finds the photo inside a screenshot, and nothing in a flat picture", async function () {
      const page = await decodeGrey(await inScreenshot(photos[2]));
      const regions = photoRegions(page);
      expect(regions.length).to.be.at.least(1);
      // the photo sits at x 50..626, y 130..562 of the 1280 × 860 page (decoded at 512 × 344)
      const s = page.width / 1280;
      const r = regions[0];
      expect(r.left).to.be.closeTo(50 * s, 10);
      expect(r.top).to.be.closeTo(130 * s, 10);
      expect(r.width).to.be.closeTo(576 * s, 16);
      const flat = await sharp({ create: { width: 300, height: 200, channels: 3, background: "#88aacc" } })
        .png()
        .toBuffer();
      expect(photoRegions(await decodeGrey(flat))).to.deep.equal([]);
    });
  });

  describe("matchImage against an index of six originals", function () {
    let dataDir: string;

    before(async function () {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-queries-"));
      await indexPhotos(dataDir, photos);
    });

    after(function () {
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    const expectOnly = (result: Awaited<ReturnType<typeof matchImage>>, name: string) => {
      expect(
        result.matches.map((m) => m.original.name),
        JSON.stringify(result.rejected.map((r) => [r.original.name, r.distance, r.inliers])),
      ).to.deep.equal([name]);
      return result.matches[0];
    };

    it("a copy rotated by 6° is found turned back, within the match distance by hash (its local features agree)", async function () {
      const copy = await sharp(photos[3]).rotate(-6, { background: "#ffffff" }).jpeg({ quality: 80 }).toBuffer();
      const m = expectOnly(await matchImage({ dataDir, image: copy }), "photo-3.jpg");
      expect(m.seenAs).to.equal("rotation");
      expect(m.decidedBy).to.equal("hash");
      expect(m.distance).to.be.at.most(MATCH_DISTANCE);
      expect(m.inliers).to.be.at.least(20);
    });

    it("a copy inside a web-page screenshot is found as the page's photo region, confirmed by local features", async function () {
      const m = expectOnly(await matchImage({ dataDir, image: await inScreenshot(photos[4]) }), "photo-4.jpg");
      expect(m.seenAs).to.equal("region");
      expect(m.decidedBy).to.equal("features");
    });

    it("without local features (none to confirm: a flat picture), a rotated copy is still found by hash; a screenshot's region is not decided by hash", async function () {
      const rotated = await sharp(photos[2]).rotate(8, { background: "#ffffff" }).jpeg({ quality: 80 }).toBuffer();
      expect(expectOnly(await matchImage({ dataDir, image: rotated, features: false }), "photo-2.jpg").seenAs).to.equal(
        "rotation",
      );
      expect(
        (await matchImage({ dataDir, image: await inScreenshot(photos[1]), features: false })).matches,
      ).to.deep.equal([]);
    });

    it("a copy in a coloured frame with a caption is found", async function () {
      const m = expectOnly(await matchImage({ dataDir, image: await inFrame(photos[5]) }), "photo-5.jpg");
      expect(m.inliers).to.be.at.least(20);
    });

    it("the photo as it is still matches by hash, seen whole; an unrelated photo, its screenshot and its rotation match nothing", async function () {
      const m = expectOnly(await matchImage({ dataDir, image: photos[0] }), "photo-0.jpg");
      expect(m.seenAs).to.equal("whole");
      expect(m.decidedBy).to.equal("hash");
      const stranger = await productPhoto(4242);
      for (const image of [
        stranger,
        await inScreenshot(stranger),
        await sharp(stranger).rotate(7, { background: "#ffffff" }).toBuffer(),
      ]) {
        expect((await matchImage({ dataDir, image })).matches).to.deep.equal([]);
      }
    });
  });
});
