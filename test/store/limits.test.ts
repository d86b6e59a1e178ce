import { expect } from "chai";
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { UnixFS } from "ipfs-unixfs";
import { CID, EmbeddedStore } from "../../packages/sdk/src/store";
import { collect, expectError, tempDir } from "./helpers";

const RAW = 0x55;
const DAG_PB = 0x70;

async function sha256Cid(code: number, bytes: Uint8Array): Promise<CID> {
  const { create } = await import("multiformats/hashes/digest");
  return CID.createV1(code, create(0x12, createHash("sha256").update(bytes).digest()) as never);
}

/** A CAR (bytes) of `blocks` under `roots`. */
async function carOf(roots: CID[], blocks: Array<{ cid: CID; bytes: Uint8Array }>): Promise<Buffer> {
  const { CarWriter } = await import("@ipld/car");
  const { writer, out } = CarWriter.create(roots as never);
  const bytes = collect(out as AsyncIterable<Uint8Array>);
  for (const b of blocks) await writer.put({ cid: b.cid as never, bytes: b.bytes });
  await writer.close();
  return bytes;
}

/** A UnixFS file that is a chain of `depth` dag-pb nodes over one raw leaf (root first). */
async function deepFile(depth: number): Promise<{ root: CID; blocks: Array<{ cid: CID; bytes: Uint8Array }> }> {
  const dagPb = await import("@ipld/dag-pb");
  const leafBytes = Buffer.from("deep\n");
  let child = await sha256Cid(RAW, leafBytes);
  const blocks: Array<{ cid: CID; bytes: Uint8Array }> = [{ cid: child, bytes: new Uint8Array(leafBytes) }];
  for (let i = 0; i < depth; i++) {
    const data = new UnixFS({ type: "file", blockSizes: [BigInt(leafBytes.length)] }).marshal();
    const bytes = dagPb.encode(
      dagPb.prepare({ Data: data, Links: [{ Hash: child as never, Tsize: leafBytes.length }] }),
    );
    child = await sha256Cid(DAG_PB, bytes);
    blocks.push({ cid: child, bytes });
  }
  return { root: child, blocks: blocks.reverse() };
}

describe("store: bounded inputs and reads that cannot crash", function () {
  this.timeout(120_000);
  let dir: string;
  let store: EmbeddedStore;
  beforeEach(function () {
    dir = tempDir("limits");
    store = new EmbeddedStore(dir);
  });
  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a 20,000-level deep CAR is refused at import (INPUT_TOO_LARGE), nothing kept; a 40-level one imports and reads", async function () {
    const deep = await deepFile(20_000);
    await expectError(
      store.importCar(
        (async function* () {
          yield await carOf([deep.root], deep.blocks);
        })(),
      ),
      "INPUT_TOO_LARGE",
      "deeper than",
    );
    expect(await store.list()).to.deep.equal([]);
    const ok = await deepFile(40);
    const [root] = await store.importCar(
      (async function* () {
        yield await carOf([ok.root], ok.blocks);
      })(),
    );
    expect((await collect(store.get(root))).toString()).to.equal("deep\n");
  });

  it("an identity CID of 1 MiB in a CAR (as its root, or linked) is INPUT_TOO_LARGE, not a crash", async function () {
    const { identity } = await import("multiformats/hashes/identity");
    const big = CID.createV1(RAW, identity.digest(new Uint8Array(1 << 20)) as never);
    const leaf = Buffer.from("x");
    const leafCid = await sha256Cid(RAW, leaf);
    await expectError(
      store.importCar(
        (async function* () {
          yield await carOf([big], [{ cid: leafCid, bytes: leaf }]);
        })(),
      ),
      "INPUT_TOO_LARGE",
      "CID of",
    );
    const dagPb = await import("@ipld/dag-pb");
    const node = dagPb.encode(
      dagPb.prepare({
        Data: new UnixFS({ type: "file", blockSizes: [1n << 20n] }).marshal(),
        Links: [{ Hash: big as never, Tsize: 1 << 20 }],
      }),
    );
    const nodeCid = await sha256Cid(DAG_PB, node);
    await expectError(
      store.importCar(
        (async function* () {
          yield await carOf([nodeCid], [{ cid: nodeCid, bytes: node }]);
        })(),
      ),
      "INPUT_TOO_LARGE",
      "CID of",
    );
    expect(await store.list()).to.deep.equal([]);
  });

  it("a block over 4 MiB in a CAR is INPUT_TOO_LARGE", async function () {
    const huge = Buffer.alloc((4 << 20) + 1, 1);
    const cid = await sha256Cid(RAW, huge);
    await expectError(
      store.importCar(
        (async function* () {
          yield await carOf([cid], [{ cid, bytes: huge }]);
        })(),
      ),
      "INPUT_TOO_LARGE",
      "blocks up to",
    );
  });
});
