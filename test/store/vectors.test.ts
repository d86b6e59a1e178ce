import { expect } from "chai";
import * as fs from "node:fs";
import { importer, type ImporterOptions } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { UnixFS } from "ipfs-unixfs";
import { base58btc } from "multiformats/bases/base58";
import { CID, EmbeddedStore, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, kuboImporterOptions } from "../../packages/sdk/src/store";
import { loadDagPb } from "../../packages/sdk/src/store/esm";
import { addUnixfsFile } from "../../packages/sdk/src/store/unixfs";
import { kuboDeterministic, nullBlockstore, tempDir } from "./helpers";

/**
 * Known CIDs published by Kubo (ipfs/kubo, the Go IPFS node) in its own test suite. Each vector
 * names its source. Together they pin down every part of `ipfs add --cid-version 1`:
 * the raw-leaf encoding of CIDv1 (small files, empty file), and the DAG layout with Kubo's
 * default 256 KiB chunker and 174-link balanced tree, at and one chunk over the link limit.
 *
 * Sources
 *  [S] test/sharness/t0040-add-and-cat.sh — `add_directory '--cid-version=1'` (MARS, VENUS)
 *      and `test_add_cat_raw` (ZEROHASH of an empty file with --raw-leaves).
 *  [P] test/cli/cid_profiles_test.go — profile expectations: `unixfs-v1-2025.SmallFileCID`
 *      ("hello world"); `unixfs-v0-2015.FileAtMaxLinksCID` / `FileOverMaxLinksCID`
 *      (44544 KiB / 44800 KiB, seed "v0-seed", 256 KiB chunks, max 174 links — Kubo's default
 *      chunker and link limit); `unixfs-v1-2025.FileAtMaxLinksCID` / `FileOverMaxLinksCID`
 *      (1024 MiB / 1025 MiB, seed "v1-2025-seed", CIDv1 raw leaves, 1 MiB chunks, 1024 links).
 *      Bytes come from test/cli/testutils/random_deterministic.go (ChaCha20, see helpers.ts).
 *  [C] docs/config.md — `Import.UnixFSChunker` default `size-262144`, `Import.UnixFSRawLeaves`
 *      true when `CidVersion=1`, `Import.UnixFSFileMaxLinks` 174.
 */

const small: Array<{ name: string; bytes: Buffer; kubo: string; source: string }> = [
  {
    name: "empty file",
    bytes: Buffer.alloc(0),
    kubo: "zb2rhmy65F3REf8SZp7De11gxtECBGgUKaLdiDj7MCGCHxbDW",
    source: "[S] test_add_cat_raw ZEROHASH",
  },
  {
    name: '"Hello Mars!\\n"',
    bytes: Buffer.from("Hello Mars!\n"),
    kubo: "zb2rhZdTkQNawVajsTNiYc9cTPHqgLdJVvBRkZok9RjkgQYRU",
    source: "[S] add_directory --cid-version=1 MARS",
  },
  {
    name: '"Hello Venus!\\n"',
    bytes: Buffer.from("Hello Venus!\n"),
    kubo: "zb2rhn6TGvnUaMAg4VV4y9HVx5W42HihcH4jsyrDv8mkepFqq",
    source: "[S] add_directory --cid-version=1 VENUS",
  },
  {
    name: '"hello world"',
    bytes: Buffer.from("hello world"),
    kubo: "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    source: "[P] unixfs-v1-2025 SmallFileCID",
  },
];

async function cidOf(source: AsyncIterable<Uint8Array> | Uint8Array, options: ImporterOptions): Promise<string> {
  let root: CID | undefined;
  for await (const e of importer([{ content: source }], nullBlockstore, options)) root = e.cid as unknown as CID;
  return root!.toString();
}

/** Normalises a Kubo CID string (base58btc `z…`, `Qm…`, or base32) to CIDv1 base32. */
function v1(text: string): string {
  const cid = text.startsWith("z") ? CID.parse(text, base58btc) : CID.parse(text);
  return cid.toV1().toString();
}

describe("store: CIDs identical to Kubo's `ipfs add --cid-version 1`", function () {
  let dir: string;
  let store: EmbeddedStore;
  before(function () {
    dir = tempDir("vectors");
    store = new EmbeddedStore(dir);
  });
  after(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("uses Kubo's defaults explicitly [C]", function () {
    expect(KUBO_CHUNK_SIZE).to.equal(262_144);
    expect(KUBO_MAX_LINKS).to.equal(174);
    const o = kuboImporterOptions();
    expect(o).to.include({
      cidVersion: 1,
      rawLeaves: true,
      leafType: "raw",
      reduceSingleLeafToSelf: true,
      wrapWithDirectory: false,
    });
  });

  for (const v of small) {
    it(`${v.name} → the CID Kubo published (${v.source})`, async function () {
      const r = await store.add(v.bytes);
      expect(r.cid).to.equal(v1(v.kubo));
      expect(r.cid.startsWith("bafkrei")).to.equal(true);
      expect(r.size).to.equal(v.bytes.length);
    });
  }

  it("at the one-chunk edges the store's DAG builder gives the importer's CIDs", async function () {
    for (const n of [0, 1, 1000, KUBO_CHUNK_SIZE - 1, KUBO_CHUNK_SIZE, KUBO_CHUNK_SIZE + 1]) {
      const bytes = Buffer.alloc(n, n % 251);
      expect((await store.add(bytes)).cid, `${n} bytes`).to.equal(await cidOf(bytes, kuboImporterOptions()));
    }
  });

  describe("Kubo's default chunker and 174-link balanced layout [P unixfs-v0-2015]", function () {
    // The same importer pipeline as the store, switched to the profile's leaf encoding
    // (CIDv0, dag-pb leaves); chunker and layout are the store's own.
    const v0: ImporterOptions = { ...kuboImporterOptions(), cidVersion: 0, rawLeaves: false, leafType: "file" };

    it("174 chunks (44544 KiB, exactly at the link limit) → QmUbBALi174…", async function () {
      this.timeout(60_000);
      expect(await cidOf(kuboDeterministic(44544 * 1024, "v0-seed"), v0)).to.equal(
        "QmUbBALi174SnogsUzLpYbD4xPiBSFANF4iztWCsHbMKh2",
      );
    });

    it("175 chunks (44800 KiB, one chunk over: the tree gains a level) → QmepeWtd…", async function () {
      this.timeout(60_000);
      expect(await cidOf(kuboDeterministic(44800 * 1024, "v0-seed"), v0)).to.equal(
        "QmepeWtdmS1hHXx1oZXsPUv6bMrfRRKfZcoPPU4eEfjnbf",
      );
    });
  });

  describe("CIDv1 raw leaves over many chunks [P unixfs-v1-2025]", function () {
    // The store's settings with the profile's chunk size and link limit.
    // Checked twice: through the importer, and through the store's own DAG builder (addUnixfsFile).
    const wide: ImporterOptions = {
      ...kuboImporterOptions(),
      chunker: fixedSize({ chunkSize: 1 << 20 }),
      layout: balanced({ maxChildrenPerNode: 1024 }),
    };
    const wideLayout = { chunkSize: 1 << 20, maxLinks: 1024 };

    it("1024 MiB (1024 raw leaves under one root) → bafybeihmf37…", async function () {
      this.timeout(180_000);
      const kubo = "bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm";
      expect(await cidOf(kuboDeterministic(1024 << 20, "v1-2025-seed"), wide)).to.equal(kubo);
      expect(
        (await addUnixfsFile(kuboDeterministic(1024 << 20, "v1-2025-seed"), nullBlockstore, wideLayout)).cid.toString(),
      ).to.equal(kubo);
    });

    it("1025 MiB (one leaf over: rebalanced to two links) → bafybeihmzok…", async function () {
      this.timeout(180_000);
      const kubo = "bafybeihmzokxxjqwxjcryerhp5ezpcog2wcawfryb2xm64xiakgm4a5jue";
      expect(await cidOf(kuboDeterministic(1025 << 20, "v1-2025-seed"), wide)).to.equal(kubo);
      expect(
        (await addUnixfsFile(kuboDeterministic(1025 << 20, "v1-2025-seed"), nullBlockstore, wideLayout)).cid.toString(),
      ).to.equal(kubo);
    });
  });

  it("a file one byte over a chunk boundary is a dag-pb root over a full raw leaf and a 1-byte raw leaf", async function () {
    const bytes = Buffer.alloc(KUBO_CHUNK_SIZE + 1, 0x61);
    const r = await store.add(bytes);
    expect(r.cid.startsWith("bafybei")).to.equal(true);
    const root = (await loadDagPb()).decode(await store.getBlock(r.cid));
    expect(root.Links.map((l) => [l.Hash.code, l.Tsize])).to.deep.equal([
      [0x55, KUBO_CHUNK_SIZE],
      [0x55, 1],
    ]);
    const unixfs = UnixFS.unmarshal(root.Data!);
    expect(unixfs.type).to.equal("file");
    expect(unixfs.blockSizes).to.deep.equal([BigInt(KUBO_CHUNK_SIZE), 1n]);
    expect(r.cid).to.equal(await cidOf(bytes, kuboImporterOptions()));
  });
});
