import { expect } from "chai";
import sharp from "sharp";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  fingerprintImage,
  formatFingerprint,
  hashSignal,
  matchImage,
  MIN_HASH_SIGNAL,
  parseFingerprint,
} from "@proofmark/sdk";
import { indexPhotos, productPhoto } from "./images";

/** A smooth two-colour gradient (a sky): no picture for a global hash to hold on to. */
function gradient(): Promise<Buffer> {
  const svg = `<svg width="400" height="300" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="0" y1="0" x2="0.3" y2="1"><stop offset="0" stop-color="#e8a0e0"/><stop offset="1" stop-color="#403890"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** Fine diagonal stripes, even over the whole picture (the 32 × 32 resampling averages them away). */
function stripes(): Promise<Buffer> {
  const svg = `<svg width="400" height="300" xmlns="http://www.w3.org/2000/svg"><defs><pattern id="p" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#b08860"/><rect x="3" width="3" height="6" fill="#e0c8a8"/></pattern></defs><rect width="100%" height="100%" fill="url(#p)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** A product photo whose lower 45 % is one flat colour (a table top): trimming takes it for a border. */
async function flatBottom(): Promise<Buffer> {
  const top = await sharp(await productPhoto(77, 800, 330)).toBuffer();
  return sharp({ create: { width: 800, height: 600, channels: 3, background: "#20305a" } })
    .composite([{ input: top, left: 0, top: 0 }])
    .jpeg({ quality: 92 })
    .toBuffer();
}

describe("fingerprints: too little texture, and pictures whose flat edge is not a border", function () {
  this.timeout(300_000);

  it("a smooth gradient and even fine stripes have too little texture to fingerprint; a product photo has enough", async function () {
    for (const flat of [await gradient(), await stripes()]) {
      const fp = await fingerprintImage(flat);
      expect(fp.tooLittleTexture).to.equal(true);
      expect(fp.signal).to.be.below(MIN_HASH_SIGNAL);
    }
    const photo = await fingerprintImage(await productPhoto(5));
    expect(photo.tooLittleTexture).to.equal(false);
    expect(photo.signal).to.be.at.least(MIN_HASH_SIGNAL);
    expect(hashSignal(photo.trimmed)).to.equal(photo.signal);
  });

  describe("matchImage", function () {
    let dataDir: string;
    let original: Buffer;

    before(async function () {
      dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-texture-"));
      original = await flatBottom();
      await indexPhotos(dataDir, [original, await productPhoto(78), await gradient()]);
    });

    after(function () {
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it("says when the suspect has too little texture, and when it has enough", async function () {
      const flat = await matchImage({
        dataDir,
        image: await sharp(await gradient())
          .jpeg({ quality: 50 })
          .toBuffer(),
      });
      expect(flat.suspect.tooLittleTexture).to.equal(true);
      const photo = await matchImage({ dataDir, image: await productPhoto(78) });
      expect(photo.suspect.tooLittleTexture).to.equal(false);
      expect(photo.matches.map((m) => m.original.name)).to.deep.equal(["photo-1.jpg"]);
    });

    it("an original trimmed into its picture keeps an untrimmed variant; a copy with a logo in the flat part (trimmed less) is found by it, by hash alone", async function () {
      const fp = parseFingerprint(formatFingerprint((await fingerprintImage(original)).fingerprint));
      expect(fp.variants.map((v) => v.name)).to.include("untrimmed");
      expect((await fingerprintImage(await productPhoto(78))).fingerprint.variants.map((v) => v.name)).not.to.include(
        "untrimmed",
      );
      const logo = await sharp({ create: { width: 90, height: 90, channels: 3, background: "#dd2222" } })
        .png()
        .toBuffer();
      const copy = await sharp(original)
        .composite([{ input: logo, left: 680, top: 480 }])
        .jpeg({ quality: 70 })
        .toBuffer();
      const result = await matchImage({ dataDir, image: copy, features: false });
      const m = result.matches.find((x) => x.original.name === "photo-0.jpg");
      expect(m, JSON.stringify(result.rejected.map((r) => [r.original.name, r.distance, r.variant]))).to.not.equal(
        undefined,
      );
      expect(m!.variant).to.equal("untrimmed");
      expect(m!.decidedBy).to.equal("hash");
    });
  });
});
