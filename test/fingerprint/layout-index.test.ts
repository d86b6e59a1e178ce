import { expect } from "chai";
import Database from "better-sqlite3";
import sharp from "sharp";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildMatchReportModel,
  colourLayoutsOf,
  decodeGrey,
  FingerprintIndex,
  LAYOUT_CANDIDATES,
  LAYOUT_DESCRIPTOR_LENGTH,
  LAYOUT_MATCH_DISTANCE,
  layoutDescriptorDistance,
  layoutDescriptors,
  layoutKey,
  layoutProbeKeys,
  matchImage,
  nearestLayoutView,
  nearestPackedDescriptor,
  packLayoutDescriptors,
  parseFingerprint,
  PostgresFingerprintIndex,
  suspectLayoutDescriptor,
  trimRect,
  type IndexedOriginal,
  type NewOriginal,
} from "@proofmark/sdk";
import { indexPhotos } from "./images";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";

/** Look-alike flat pictures: smooth three-stop gradients, colours and direction from `seed` (too little texture for a hash). */
function lookAlike(seed: number): Promise<Buffer> {
  let a = seed * 7919 + 17;
  const r = () => ((a = (a * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
  const colour = () => `rgb(${Math.floor(60 + r() * 180)},${Math.floor(60 + r() * 180)},${Math.floor(60 + r() * 180)})`;
  const svg = `<svg width="320" height="240" xmlns="http://www.w3.org/2000/svg"><defs><linearGradient id="g" x1="${r().toFixed(2)}" y1="0" x2="${r().toFixed(2)}" y2="1"><stop offset="0" stop-color="${colour()}"/><stop offset="${(0.3 + r() * 0.4).toFixed(2)}" stop-color="${colour()}"/><stop offset="1" stop-color="${colour()}"/></linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

/** The edits a thief makes to a flat picture: a centre crop re-compressed, a mirror, brighter and more contrasty. */
const EDITS: Record<string, (image: Buffer) => Promise<Buffer>> = {
  "crop 10 % centre": (image) =>
    sharp(image).extract({ left: 16, top: 12, width: 288, height: 216 }).jpeg({ quality: 40 }).toBuffer(),
  mirror: (image) => sharp(image).flop().jpeg({ quality: 60 }).toBuffer(),
  brighter: (image) => sharp(image).modulate({ brightness: 1.15 }).linear(1.1, -8).jpeg({ quality: 80 }).toBuffer(),
};

/** More look-alikes than LAYOUT_CANDIDATES, so `match` takes the descriptor index's nearest. */
const ORIGINALS = 100;
/** Those of them that carry a colour layout (one, 76, has just enough texture for a hash). */
const LAYOUTS = 99;
/** The originals whose edited copies are looked up. */
const SAMPLED = [3, 37, 71, 99];

describe("fingerprints: the colour-layout descriptor index (match among many layouts without comparing each)", function () {
  this.timeout(600_000);
  let dataDir: string;
  let images: Buffer[];
  const ws = makeWorkspace("layoutidx");

  before(async function () {
    expect(ORIGINALS).to.be.greaterThan(LAYOUT_CANDIDATES);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-layoutidx-"));
    images = await Promise.all(Array.from({ length: ORIGINALS }, (_, i) => lookAlike(i)));
    await indexPhotos(dataDir, images);
  });

  after(function () {
    for (const dir of [dataDir, ws.dir]) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The original `match` would name if it compared every stored layout (the code before the index): nearest of all, within the match distance. */
  async function byScan(index: FingerprintIndex, copy: Buffer): Promise<string | undefined> {
    const grey = await decodeGrey(copy);
    const layouts = await colourLayoutsOf(copy, grey, [{ name: "layout", rect: trimRect(grey) }]);
    let best: { name: string; distance: number } | undefined;
    for (const o of index.layoutOriginals())
      for (const stored of parseFingerprint(o.fingerprint).layouts!) {
        const { distance } = nearestLayoutView(layouts, stored);
        if (!best || distance < best.distance) best = { name: o.name, distance };
      }
    return best && best.distance <= LAYOUT_MATCH_DISTANCE ? best.name : undefined;
  }

  it("descriptors: one per compared view, 18 numbers; packed in signed bytes; keyed by hyperplanes, probed nearest key first", async function () {
    const index = FingerprintIndex.open(dataDir);
    const layout = parseFingerprint(index.layoutOriginals()[0].fingerprint).layouts![0];
    index.close();
    const views = layoutDescriptors(layout);
    expect(views).to.have.length(16);
    for (const d of views) expect(d).to.have.length(LAYOUT_DESCRIPTOR_LENGTH);
    // the `full` view is the layout itself: what a suspect's descriptor is taken of
    expect(layoutDescriptorDistance(views[0], suspectLayoutDescriptor(layout))).to.be.below(1e-12);
    // the lightness part is normalised: 16 numbers of RMS 1/4
    const light = [...views[0].slice(0, 16)];
    expect(Math.sqrt(light.reduce((s, v) => s + v * v, 0))).to.be.closeTo(1, 1e-9);
    // packing loses at most half a step per number
    const packed = packLayoutDescriptors(views);
    expect(packed.length).to.equal(16 * LAYOUT_DESCRIPTOR_LENGTH);
    for (const d of views) expect(nearestPackedDescriptor(d, packed)).to.be.below(0.03);
    expect(nearestPackedDescriptor(views[0], new Uint8Array(0))).to.equal(Infinity);
    // probes: the descriptor's own key first, then distinct keys, as many as asked
    const probes = layoutProbeKeys(views[3], 300);
    expect(probes[0]).to.equal(layoutKey(views[3]));
    expect(new Set(probes).size).to.equal(300);
    // the first flips are of the bits whose hyperplanes pass nearest: a slightly moved descriptor's key is among the first few
    const moved = views[3].map((v, i) => v + (i % 2 ? 0.01 : -0.01));
    expect(probes.slice(0, 20)).to.include(layoutKey(moved));
  });

  it("SQLite: each sampled original's edited copies are found by colour layout among 100 look-alikes, comparing at most the 64 nearest by descriptor — the same original a comparison with every one names", async function () {
    const index = FingerprintIndex.open(dataDir);
    try {
      expect(index.countLayoutOriginals(1000)).to.equal(LAYOUTS);
      expect(index.countLayoutOriginals(LAYOUT_CANDIDATES + 1)).to.equal(LAYOUT_CANDIDATES + 1);
      for (const i of SAMPLED) {
        for (const [edit, apply] of Object.entries(EDITS)) {
          const copy = await apply(images[i]);
          const result = await matchImage({ dataDir, image: copy });
          const what = `photo-${i}.jpg, ${edit}`;
          // at most LAYOUT_CANDIDATES: the probes stop at keys far from the copy's, whose layouts are far too
          expect(result.layoutComparison?.nearestOnly, what).to.equal(true);
          expect(result.layoutComparison?.compared, what).to.be.within(1, LAYOUT_CANDIDATES);
          const byLayout = result.matches.filter((m) => m.decidedBy === "colour layout").map((m) => m.original.name);
          expect(byLayout, what).to.deep.equal([`photo-${i}.jpg`]);
          expect(await byScan(index, copy), what).to.equal(`photo-${i}.jpg`);
        }
      }
    } finally {
      index.close();
    }
  });

  it("the match report and the CLI say the colour layout was compared only with the nearest originals, in both languages", async function () {
    const copy = await EDITS["crop 10 % centre"](images[37]);
    const result = await matchImage({ dataDir, image: copy });
    for (const lang of ["en", "zh"] as const) {
      const model = await buildMatchReportModel({
        suspectName: "copy.jpg",
        suspect: copy,
        result,
        originals: new Map(),
        anchorChecks: new Map(),
        checkedAt: "2026-12-03T01:00:00Z",
        lang,
      });
      const notChecked = JSON.stringify(model.sections[model.sections.length - 1]);
      expect(notChecked, JSON.stringify(result.layoutComparison)).to.include(
        lang === "en"
          ? `compared in full only with the ${result.layoutComparison!.compared} registered originals with a colour layout nearest`
          : `最接近可疑图片的 ${result.layoutComparison!.compared} 个带色彩布局的已登记原图`,
      );
    }
    // an index with no more layouts than that compares every one, and says nothing of it
    const few = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-layoutidx-few-"));
    try {
      await indexPhotos(few, images.slice(30, 40));
      const all = await matchImage({ dataDir: few, image: copy });
      expect(all.layoutComparison).to.deep.equal({ compared: 10, nearestOnly: false });
      expect(all.matches.map((m) => m.original.name)).to.deep.equal(["photo-7.jpg"]);
      const model = await buildMatchReportModel({
        suspectName: "copy.jpg",
        suspect: copy,
        result: all,
        originals: new Map(),
        anchorChecks: new Map(),
        checkedAt: "2026-12-03T01:00:00Z",
        lang: "en",
      });
      expect(JSON.stringify(model.sections)).not.to.include("compared in full only");
    } finally {
      fs.rmSync(few, { recursive: true, force: true });
    }
    assertBuilt();
    fs.mkdirSync(ws.dataDir, { recursive: true });
    fs.copyFileSync(path.join(dataDir, "fingerprints.sqlite"), path.join(ws.dataDir, "fingerprints.sqlite"));
    fs.writeFileSync(path.join(ws.dir, "copy.jpg"), copy);
    const run = await runCli(["match", "copy.jpg"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 120_000 });
    expect(run.code, run.stderr).to.equal(0);
    expect(run.stdout).to.include(
      `note: the colour layout of copy.jpg was compared only with the ${result.layoutComparison!.compared} registered originals with a colour layout nearest to it by layout descriptor`,
    );
    expect(run.stdout).to.include("photo-37.jpg  (colour layout only: weaker evidence)");
  });

  it("SQLite: an index written before the descriptor index gets it on open, and matches as before", async function () {
    const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-layoutidx-old-"));
    try {
      const file = path.join(copyDir, "fingerprints.sqlite");
      const fresh = FingerprintIndex.open(dataDir);
      const rows = () =>
        fresh.db
          .prepare("SELECT key, original_id, hex(descriptors) AS d FROM layout_key ORDER BY key, original_id")
          .all();
      const expected = rows();
      expect(expected.length).to.be.greaterThan(ORIGINALS);
      await fresh.db.backup(file);
      fresh.close();
      const old = new Database(file);
      old.exec("DROP TABLE layout_key; DROP TABLE layout_key_scheme"); // as the code before it wrote the file
      old.close();
      const reopened = new FingerprintIndex(file);
      try {
        const again = reopened.db
          .prepare("SELECT key, original_id, hex(descriptors) AS d FROM layout_key ORDER BY key, original_id")
          .all();
        expect(again).to.deep.equal(expected);
      } finally {
        reopened.close();
      }
      const copy = await EDITS.mirror(images[71]);
      const result = await matchImage({ dataDir: copyDir, image: copy });
      expect(result.layoutComparison?.nearestOnly).to.equal(true);
      expect(result.matches.map((m) => m.original.name)).to.deep.equal(["photo-71.jpg"]);
    } finally {
      fs.rmSync(copyDir, { recursive: true, force: true });
    }
  });

  describe("PostgreSQL (a real server)", function () {
    let pg: TestPostgres | undefined;

    before(async function () {
      pg = await startPostgresOrSkip(this);
    });
    after(function () {
      pg?.stop();
    });

    it("gives the SQLite index's nearest originals and match; rows stored before the descriptor index get it on open", async function () {
      const sqlite = FingerprintIndex.open(dataDir);
      const originals = (
        sqlite.db.prepare("SELECT * FROM original ORDER BY id").all() as Array<Record<string, never>>
      ).map((r): NewOriginal => ({
        leaf: r.leaf,
        name: r.name,
        file: r.file,
        receiptPath: r.receipt_path,
        sha256: r.sha256,
        fingerprint: r.fingerprint,
        chainId: r.chain_id,
        blockNumber: r.block_number,
        txHash: r.tx_hash,
        anchoredAt: r.anchored_at,
        features: r.features ? new Uint8Array(r.features as Buffer) : undefined,
      }));
      const queries: Float64Array[][] = [];
      for (const i of SAMPLED) {
        const copy = await EDITS["crop 10 % centre"](images[i]);
        const grey = await decodeGrey(copy);
        queries.push(
          (await colourLayoutsOf(copy, grey, [{ name: "layout", rect: trimRect(grey) }])).map(suspectLayoutDescriptor),
        );
      }
      const names = (list: IndexedOriginal[]) => list.map((o) => o.name);
      let store = await PostgresFingerprintIndex.open(pg!.url);
      try {
        expect(await store.add(originals)).to.equal(ORIGINALS);
        expect(await store.countLayoutOriginals(1000)).to.equal(LAYOUTS);
        for (const q of queries) {
          const fromPg = names(await store.nearestLayoutOriginals(q, LAYOUT_CANDIDATES));
          expect(fromPg.length).to.be.within(1, LAYOUT_CANDIDATES);
          expect(fromPg).to.deep.equal(names(sqlite.nearestLayoutOriginals(q, LAYOUT_CANDIDATES)));
        }
        const copy = await EDITS.brighter(images[3]);
        const viaPg = await matchImage({ dataDir, database: pg!.url, image: copy });
        const viaSqlite = await matchImage({ dataDir, image: copy });
        expect(viaPg.layoutComparison).to.deep.equal(viaSqlite.layoutComparison);
        expect(viaPg.layoutComparison?.nearestOnly).to.equal(true);
        expect(viaPg.matches.map((m) => [m.original.name, m.decidedBy, m.layout?.distance])).to.deep.equal(
          viaSqlite.matches.map((m) => [m.original.name, m.decidedBy, m.layout?.distance]),
        );
        expect(names(viaPg.matches.map((m) => m.original))).to.deep.equal(["photo-3.jpg"]);
      } finally {
        await store.close();
      }
      // as the code before the descriptor index left the database: no such table, no scheme
      const pgmod = require("pg") as typeof import("pg");
      const client = new pgmod.Client({ connectionString: pg!.url });
      await client.connect();
      await client.query(
        "DROP TABLE fingerprint_layout_keys; DELETE FROM fingerprint_meta WHERE key = 'layout_key_scheme'",
      );
      await client.end();
      store = await PostgresFingerprintIndex.open(pg!.url);
      try {
        for (const q of queries)
          expect(names(await store.nearestLayoutOriginals(q, LAYOUT_CANDIDATES))).to.deep.equal(
            names(sqlite.nearestLayoutOriginals(q, LAYOUT_CANDIDATES)),
          );
      } finally {
        await store.close();
        sqlite.close();
      }
    });
  });
});
