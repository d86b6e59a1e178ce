import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { parseFingerprint, parseReceipt, computeLeaf, MEASURED } from "@proofmark/sdk";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { productPhoto, stolenCopy } from "./images";
import { compact, pdfText } from "../report/helpers";
import { spawnSync } from "node:child_process";
import sharp from "sharp";

describe("CLI: a seller's stolen product photo is matched to her stamped original (end to end on the local chain)", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("match");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 180_000 });
  const shop = path.join(ws.dir, "shop");

  before(async function () {
    assertBuilt();
    fs.mkdirSync(shop, { recursive: true });
    for (const [i, name] of ["red-bag", "tea-cup", "silk-scarf"].entries())
      fs.writeFileSync(path.join(shop, `${name}.jpg`), await productPhoto(100 + i));
    fs.writeFileSync(path.join(shop, "price-list.txt"), "red bag 129\n");
    // a backdrop with too little texture for a hash: stamped with a colour layout
    const sky = `<svg width="400" height="300" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="0" y1="0" x2="0.3" y2="1"><stop offset="0" stop-color="#e8a0e0"/><stop offset="1" stop-color="#403890"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
    fs.writeFileSync(path.join(shop, "backdrop.jpg"), await sharp(Buffer.from(sky)).jpeg({ quality: 92 }).toBuffer());
    fs.writeFileSync(
      path.join(ws.dir, "stolen.jpg"),
      await stolenCopy(fs.readFileSync(path.join(shop, "tea-cup.jpg"))),
    );
    fs.writeFileSync(path.join(ws.dir, "unrelated.jpg"), await productPhoto(999));
    fs.writeFileSync(path.join(ws.dir, "broken.jpg"), "not an image\n");
  });

  after(function () {
    killLocalChain(ws.dataDir);
  });

  it("stamp fingerprints the images, commits the fingerprint in the leaf, and indexes them", async function () {
    const r = await run(["stamp", "shop", "--author", "Mei", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(result.fingerprinted).to.equal(4);
    expect(result.tooLittleTexture.map((f: string) => path.basename(f))).to.deep.equal(["backdrop.jpg"]);
    const backdrop = parseReceipt(fs.readFileSync(path.join(shop, "backdrop.jpg.proof.json"), "utf8"));
    expect(backdrop.commitment.meta.fingerprint.startsWith("pmfp2 ")).to.equal(true);
    expect(parseFingerprint(backdrop.commitment.meta.fingerprint).layouts![0].name).to.equal("layout");
    const receipt = parseReceipt(fs.readFileSync(path.join(shop, "tea-cup.jpg.proof.json"), "utf8"));
    const fp = parseFingerprint(receipt.commitment.meta.fingerprint);
    expect(fp.variants.map((v) => v.name)).to.include.members(["full", "mirror", "c90", "c80"]);
    expect(receipt.commitment.meta.author).to.equal("Mei");
    // the leaf covers the fingerprint: change one hex digit and the leaf no longer matches
    const flipped = receipt.commitment.meta.fingerprint.replace(
      /full:(.)/,
      (_m, c: string) => `full:${c === "0" ? "1" : "0"}`,
    );
    expect(
      computeLeaf({
        sha256: receipt.subject.sha256,
        salt: receipt.commitment.salt,
        meta: { ...receipt.commitment.meta, fingerprint: flipped },
      }),
    ).to.not.equal(receipt.commitment.leaf);
    const text = parseReceipt(fs.readFileSync(path.join(shop, "price-list.txt.proof.json"), "utf8"));
    expect(text.commitment.meta.fingerprint).to.equal(undefined);
    // the receipt still verifies like any other
    const v = await run(["verify", "shop/tea-cup.jpg"]);
    expect(v.code, v.stderr).to.equal(0);
  });

  it("match names her original for a cropped, re-compressed, bordered copy, with its anchoring time", async function () {
    const r = await run(["match", "stolen.jpg", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(result.matches).to.have.length(1);
    const m = result.matches[0];
    expect(m.original.name).to.equal("tea-cup.jpg");
    expect(m.distance).to.be.at.most(10);
    expect(m.receipt).to.equal("present");
    expect(m.inliers).to.be.a("number");
    const receipt = parseReceipt(fs.readFileSync(path.join(shop, "tea-cup.jpg.proof.json"), "utf8"));
    expect(m.original.anchoredAt).to.equal(receipt.anchors[0].timestamp);
    expect(result.note).to.match(/SIMILARITY/);
    const human = await run(["match", "stolen.jpg"]);
    expect(human.code).to.equal(0);
    expect(human.stdout).to.match(/tea-cup\.jpg/);
    expect(human.stdout).to.match(/anchored\s+\d{4}-\d\d-\d\dT/);
    expect(human.stdout).to.match(/seen as\s+the image as it is/);
    expect(m.seenAs).to.equal("whole");
    expect(human.stdout).to.match(/evidence of SIMILARITY/);
  });

  it("a cropped copy of the flat backdrop resembles it by colour layout only, with its receipt present", async function () {
    const copy = await sharp(path.join(shop, "backdrop.jpg"))
      .extract({ left: 20, top: 15, width: 360, height: 270 })
      .jpeg({ quality: 40 })
      .toBuffer();
    fs.writeFileSync(path.join(ws.dir, "backdrop-copy.jpg"), copy);
    const r = await run(["match", "backdrop-copy.jpg", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const result = JSON.parse(r.stdout);
    expect(
      result.matches.map((m: { original: { name: string }; decidedBy: string; receipt: string }) => [
        m.original.name,
        m.decidedBy,
        m.receipt,
      ]),
    ).to.deep.equal([["backdrop.jpg", "colour layout", "present"]]);
  });

  it("an unrelated photo matches nothing", async function () {
    const r = await run(["match", "unrelated.jpg", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout).matches).to.deep.equal([]);
    const human = await run(["match", "unrelated.jpg"]);
    expect(human.stdout).to.match(/^no match/);
  });

  it("report --match writes a side-by-side HTML report, in English or Chinese, that explains the match, says how the original was found and re-verifies it", async function () {
    for (const lang of ["en", "zh"] as const) {
      const out = path.join(ws.dir, `match-report-${lang}.html`);
      const r = await run(["report", "stolen.jpg", "--match", "--out", out, "--lang", lang, "--json"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).format).to.equal("html");
      const html = fs.readFileSync(out, "utf8");
      expect(html).to.include("tea-cup.jpg");
      // both images inline, and the page allows data: images and nothing else
      expect(html.match(/<img alt="[^"]*" src="data:image\/jpeg;base64,/g)).to.have.length(2);
      expect(html).to.include("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
      if (lang === "en") {
        expect(html).to.include('<html lang="en"');
        expect(html).to.include("evidence of similarity, not proof of copying");
        expect(html).to.match(/verified: the original file matches its receipt/);
        expect(html).to.match(/Distance<\/td><td>\d+ of 64 bits/);
        expect(html).to.match(/Found by<\/td><td>global hash: /);
      } else {
        expect(html).to.include("图片相似性比对报告");
        expect(html).to.include("不能单独证明抄袭");
        expect(html).to.match(/核验通过：原图文件与回执一致/);
        expect(html).to.match(/距离<\/td><td>\d+\/64 位/);
        expect(html).to.match(/候选来源<\/td><td>全局哈希：/);
        expect(html).not.to.include("Found by");
      }
    }
  });

  it("report --match --out F.pdf writes the PDF through the report renderer, in Chinese or English, with both images and the measured false-match rate", async function () {
    for (const lang of ["zh", "en"] as const) {
      const out = path.join(ws.dir, `match-report-${lang}.pdf`);
      const r = await run(["report", "stolen.jpg", "--match", "--out", out, "--lang", lang, "--json"]);
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).format).to.equal("pdf");
      const pdf = fs.readFileSync(out);
      expect(pdf.subarray(0, 5).toString()).to.equal("%PDF-");
      const text = compact(pdfText(pdf));
      expect(text).to.include("tea-cup.jpg");
      // the threshold's measured false-match rate at distance 10, as the corpus run measured it
      expect(text).to.include(`${(100 * MEASURED.falseMatchRateByDistance[10]).toFixed(3)}%`);
      if (lang === "zh") {
        expect(text).to.include(compact("图片相似性比对报告"));
        expect(text).to.include(compact("不能单独证明抄袭"));
        expect(text).to.match(/核验通过：原图文件与回执一致/);
        expect(text).to.match(/距离\d+\/64位/);
      } else {
        expect(text).to.include(compact("A match is evidence of similarity, not proof of copying"));
        expect(text).to.match(/verified:theoriginalfilematchesitsreceipt/);
        expect(text).to.match(/Distance\d+of64bits/);
      }
      // two embedded images: the suspect and the original, side by side
      const images = spawnSync("pdfimages", ["-list", out], { encoding: "utf8" });
      if (images.status === 0) expect(images.stdout.split("\n").filter((l) => /\bimage\b/.test(l))).to.have.length(2);
    }
  });

  it("watermark embed hides the receipt id; a re-encoded copy reads back and names the receipt; an unmarked photo reads as none", async function () {
    const receiptPath = path.join(shop, "tea-cup.jpg.proof.json");
    const receipt = parseReceipt(fs.readFileSync(receiptPath, "utf8"));
    const e = await run([
      "watermark",
      "embed",
      "shop/tea-cup.jpg",
      "--receipt",
      receiptPath,
      "--out",
      "marked.jpg",
      "--json",
    ]);
    expect(e.code, e.stderr).to.equal(0);
    const embedded = JSON.parse(e.stdout);
    expect(embedded.id).to.equal(receipt.commitment.leaf.slice(2, 18));
    expect(embedded.psnr).to.be.greaterThan(38);
    fs.writeFileSync(
      path.join(ws.dir, "reposted.jpg"),
      await sharp(fs.readFileSync(path.join(ws.dir, "marked.jpg")))
        .jpeg({ quality: 70 })
        .toBuffer(),
    );
    const r = await run(["watermark", "read", "reposted.jpg", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const read = JSON.parse(r.stdout);
    expect(read.watermark).to.equal(embedded.id);
    expect(read.receipts).to.deep.equal([path.resolve(receiptPath)]);
    const none = await run(["watermark", "read", "unrelated.jpg", "--json"]);
    expect(none.code, none.stderr).to.equal(0);
    expect(JSON.parse(none.stdout).watermark).to.equal(null);
    const same = await run([
      "watermark",
      "embed",
      "shop/tea-cup.jpg",
      "--receipt",
      receiptPath,
      "--out",
      "shop/tea-cup.jpg",
    ]);
    expect(same.code).to.equal(2);
  });

  it("report --match on an unrelated photo fails with NO_MATCH and writes nothing", async function () {
    const out = path.join(ws.dir, "none.html");
    const r = await run(["report", "unrelated.jpg", "--match", "--out", out]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/NO_MATCH/);
    expect(fs.existsSync(out)).to.equal(false);
  });

  it("bad input: an unreadable image gives IMAGE_UNREADABLE; a distance out of range is a usage error", async function () {
    const r = await run(["match", "broken.jpg"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/IMAGE_UNREADABLE/);
    const d = await run(["match", "stolen.jpg", "--max-distance", "40"]);
    expect(d.code).to.equal(2);
  });
});
