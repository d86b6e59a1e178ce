import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { CID, EmbeddedStore } from "../../packages/sdk/src/store";
import { collect, expectError, randomData, tempDir } from "./helpers";

/** Sizes of every pack file, by name. */
function packSizes(storeDir: string): Record<string, number> {
  const dir = path.join(storeDir, "packs");
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.statSync(path.join(dir, f)).size]));
}

function flipBit(file: string, offset: number, bit = 0): void {
  const b = fs.readFileSync(file);
  b[offset] ^= 1 << bit;
  fs.writeFileSync(file, b);
}

describe("store: a damaged index never costs a block", function () {
  this.timeout(60_000);
  let dir: string;
  let contents: Buffer[];
  let cids: string[];

  beforeEach(async function () {
    dir = tempDir("damaged");
    const s = new EmbeddedStore(dir);
    contents = [Buffer.from("first file"), randomData(600_000), Buffer.from("third file")];
    cids = [];
    for (const [i, c] of contents.entries()) cids.push((await s.add(c, { name: `f${i}` })).cid);
    await s.close();
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const index = () => path.join(dir, "store", "index.log");

  async function expectAllBack(s: EmbeddedStore): Promise<void> {
    expect((await s.list()).map((e) => e.cid).sort()).to.deep.equal([...cids].sort());
    for (const [i, cid] of cids.entries()) expect((await collect(s.get(cid))).equals(contents[i])).to.equal(true);
    expect((await s.list()).map((e) => e.name).sort()).to.deep.equal(["f0", "f1", "f2"]);
  }

  for (const [where, offset] of [
    ["the checksummed body", 8 + 4 + 3],
    ["the length field", 8 + 2],
  ] as const) {
    it(`a flipped bit in ${where} of the first record: STORE_CORRUPT naming the file, no write, nothing truncated; repair gets every CID back`, async function () {
      const before = packSizes(path.join(dir, "store"));
      flipBit(index(), offset, 3);
      const s = new EmbeddedStore(dir);
      try {
        const e = await expectError(s.add(Buffer.from("a new file")), "STORE_CORRUPT");
        expect(e.message).to.include(index());
        expect(e.message).to.match(/offset \d+/);
        expect(e.message).to.include("Repairing the store rebuilds the index"); // the CLI adds the command (hints.ts)
        await expectError(s.list(), "STORE_CORRUPT");
        expect(packSizes(path.join(dir, "store"))).to.deep.equal(before);

        const r = await s.repair();
        expect(r.blocks).to.be.greaterThan(3);
        expect(r.roots).to.equal(3);
        expect(r.problems).to.deep.equal([]);
        expect(fs.existsSync(r.keptAs!)).to.equal(true);
        await expectAllBack(s);
        const more = await s.add(Buffer.from("after the repair"));
        expect((await collect(s.get(more.cid))).toString()).to.equal("after the repair");
      } finally {
        await s.close();
      }
      const again = new EmbeddedStore(dir);
      try {
        expect((await again.list()).length).to.equal(4);
      } finally {
        await again.close();
      }
    });
  }

  it("an index cut to its header (records lost): the packs' commit marks are found, nothing is written until repaired", async function () {
    const before = packSizes(path.join(dir, "store"));
    fs.truncateSync(index(), 8);
    const s = new EmbeddedStore(dir);
    try {
      await expectError(s.add(Buffer.from("x")), "STORE_CORRUPT", "commit");
      expect(packSizes(path.join(dir, "store"))).to.deep.equal(before);
      await s.repair();
      await expectAllBack(s);
    } finally {
      await s.close();
    }
  });

  it("a crash between the pack's fsync and the index append: the next writer rolls that commit forward, nothing lost", async function () {
    // The index as it was before the last add's record was appended.
    const probe = new EmbeddedStore(dir);
    await probe.list();
    const full = fs.readFileSync(index());
    await probe.close();
    const records: number[] = [];
    for (let at = 8; at < full.length; at += 4 + full.readUInt32LE(at) + 16) records.push(at);
    fs.writeFileSync(index(), full.subarray(0, records[records.length - 1]));
    const reader = new EmbeddedStore(dir);
    try {
      expect((await reader.list()).map((e) => e.cid).sort()).to.deep.equal([cids[0], cids[1]].sort()); // not committed yet
    } finally {
      await reader.close();
    }
    const s = new EmbeddedStore(dir);
    try {
      const more = await s.add(Buffer.from("the next write"));
      cids.push(more.cid);
      contents.push(Buffer.from("the next write"));
      expect((await s.list()).map((e) => e.cid).sort()).to.deep.equal([...cids].sort());
      for (const [i, cid] of cids.entries()) expect((await collect(s.get(cid))).equals(contents[i])).to.equal(true);
    } finally {
      await s.close();
    }
  });

  it("a removed root stays removed after a repair (unpins are in the packs too)", async function () {
    const s = new EmbeddedStore(dir);
    try {
      expect(await s.remove(cids[0])).to.equal(true);
      flipBit(index(), 8 + 5);
    } finally {
      await s.close();
    }
    const t = new EmbeddedStore(dir);
    try {
      await expectError(t.list(), "STORE_CORRUPT");
      await t.repair();
      expect((await t.list()).map((e) => e.cid).sort()).to.deep.equal([cids[1], cids[2]].sort());
    } finally {
      await t.close();
    }
  });

  it("repair after gc rebuilds the compacted store (gc's snapshot replaces the roots)", async function () {
    const s = new EmbeddedStore(dir);
    try {
      await s.remove(cids[1]);
      await s.gc();
      flipBit(index(), 8 + 5);
      await s.repair();
      expect((await s.list()).map((e) => e.cid).sort()).to.deep.equal([cids[0], cids[2]].sort());
      await expectError(collect(s.get(cids[1])), "BLOCK_MISSING");
    } finally {
      await s.close();
    }
  });

  it("a damaged block inside a pack is left out by repair and named; the others come back", async function () {
    const s = new EmbeddedStore(dir);
    await s.list();
    const loc = s.packs.locate(CID.parse(cids[0]));
    await s.close();
    flipBit(loc!.file, loc!.offset + 1);
    flipBit(index(), 8 + 5);
    const t = new EmbeddedStore(dir);
    try {
      const r = await t.repair();
      expect(r.problems).to.have.length(1);
      expect(r.problems[0].file).to.equal(loc!.file);
      expect((await collect(t.get(cids[2]))).equals(contents[2])).to.equal(true);
      await expectError(collect(t.get(cids[0])), "BLOCK_MISSING");
    } finally {
      await t.close();
    }
  });
});
