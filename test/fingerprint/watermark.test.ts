import { expect } from "chai";
import sharp from "sharp";
import {
  crc16,
  embedWatermark,
  isProofmarkError,
  readImageWatermark,
  readWatermark,
  watermarkPayload,
  WATERMARK_SIDE,
} from "@proofmark/sdk";
import { productPhoto } from "./images";

describe("invisible watermark (DCT domain, 64-bit id + CRC-16)", function () {
  this.timeout(120_000);
  const id = Uint8Array.from([0x9f, 0x10, 0x22, 0x00, 0xfe, 0x31, 0x7a, 0x05]);

  it("CRC-16/CCITT-FALSE matches its check value; the payload is the id then its CRC, 80 bits", function () {
    expect(crc16(new TextEncoder().encode("123456789"))).to.equal(0x29b1); // the catalogue's check value
    const bits = watermarkPayload(id);
    expect(bits).to.have.length(80);
    expect(bits.slice(0, 8)).to.deep.equal([1, 0, 0, 1, 1, 1, 1, 1]);
  });

  it("embeds, survives re-encoding as JPEG 75 and a 50 % resize, and reads back the id; PSNR above 38 dB", async function () {
    const photo = await productPhoto(21);
    const marked = await embedWatermark(photo, id, "jpeg");
    expect(marked.psnr).to.be.greaterThan(38);
    expect(Buffer.from((await readImageWatermark(marked.bytes)).id!).toString("hex")).to.equal("9f102200fe317a05");
    const q75 = await sharp(marked.bytes).jpeg({ quality: 75 }).toBuffer();
    expect(Buffer.from((await readImageWatermark(q75)).id!).toString("hex")).to.equal("9f102200fe317a05");
    const half = await sharp(marked.bytes)
      .resize(Math.round(marked.width / 2))
      .jpeg({ quality: 85 })
      .toBuffer();
    expect(Buffer.from((await readImageWatermark(half)).id!).toString("hex")).to.equal("9f102200fe317a05");
    const png = await embedWatermark(photo, id, "png");
    expect((await sharp(png.bytes).metadata()).format).to.equal("png");
  });

  it("unmarked images read as no watermark, not as a false id", async function () {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const reading = await readImageWatermark(await productPhoto(seed));
      expect(reading.id, `photo ${seed}`).to.equal(undefined);
    }
    // random planes: the CRC rejects what random bits give
    let seed = 5;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let k = 0; k < 30; k++) {
      const plane = Float32Array.from({ length: WATERMARK_SIDE * WATERMARK_SIDE }, () => rnd());
      expect(readWatermark(plane).id).to.equal(undefined);
    }
  });

  it("a flat image cannot carry the mark: WATERMARK_FAILED, nothing returned", async function () {
    const flat = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#ffffff" } })
      .png()
      .toBuffer();
    let caught: unknown;
    try {
      await embedWatermark(flat, id);
    } catch (e) {
      caught = e;
    }
    expect(isProofmarkError(caught, "WATERMARK_FAILED"), String(caught)).to.equal(true);
  });
});
