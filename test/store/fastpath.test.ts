import { expect } from "chai";
import fc from "fast-check";
import { createCipheriv, randomBytes } from "node:crypto";
import { importer, type ImporterOptions } from "ipfs-unixfs-importer";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import { CID, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, kuboImporterOptions } from "../../packages/sdk/src/store";
import { KUBO_LAYOUT, addUnixfsFile, type UnixfsLayout } from "../../packages/sdk/src/store/unixfs";
import { expectError } from "./helpers";

/**
 * The embedded store's add (addUnixfsFile) against `ipfs-unixfs-importer` with the same settings:
 * the same root and the same set of blocks, byte for byte, for any size and any way the input
 * arrives in pieces. The importer is the reference; Kubo's own vectors (vectors.test.ts) tie the
 * importer to Kubo.
 */

const MiB = 1 << 20;

/** Every block put, by CID. */
class Recorder {
  readonly blocks = new Map<string, Buffer>();
  put(cid: CID, bytes: Uint8Array): CID {
    this.blocks.set(cid.toString(), Buffer.from(bytes));
    return cid;
  }
}

function bytesOf(n: number, seed: number): Buffer {
  const key = Buffer.alloc(32);
  key.writeUInt32LE(seed >>> 0, 0);
  return createCipheriv("chacha20", key, Buffer.alloc(16)).update(Buffer.alloc(n));
}

/** Splits `data` into pieces at the given cut points (sorted, deduplicated, inside the data). */
function split(data: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...at, data.length]) {
    out.push(data.subarray(prev, c));
    prev = c;
  }
  return out;
}

async function* stream(pieces: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const p of pieces) yield p;
}

async function viaImporter(
  data: Buffer,
  options: ImporterOptions,
): Promise<{ root: string; blocks: Map<string, Buffer> }> {
  const rec = new Recorder();
  let root: CID | undefined;
  for await (const e of importer([{ content: data }], rec as never, options)) root = e.cid as unknown as CID;
  return { root: root!.toString(), blocks: rec.blocks };
}

async function viaFastPath(
  content: Buffer | AsyncIterable<Uint8Array>,
  layout: UnixfsLayout,
): Promise<{ root: string; size: number; blocks: Map<string, Buffer> }> {
  const rec = new Recorder();
  const { cid, size } = await addUnixfsFile(content, rec, layout);
  return { root: cid.toString(), size, blocks: rec.blocks };
}

function sameBlocks(actual: Map<string, Buffer>, expected: Map<string, Buffer>, what: string): void {
  expect([...actual.keys()].sort(), `${what}: block CIDs`).to.deep.equal([...expected.keys()].sort());
  for (const [cid, bytes] of expected)
    expect(actual.get(cid)!.equals(bytes), `${what}: bytes of ${cid}`).to.equal(true);
}

async function check(
  n: number,
  seed: number,
  cuts: number[],
  layout: UnixfsLayout,
  options: ImporterOptions,
): Promise<void> {
  const data = bytesOf(n, seed);
  const want = await viaImporter(data, options);
  const what = `${n} bytes, ${cuts.length} cuts, chunk ${layout.chunkSize}, ${layout.maxLinks} links`;
  const whole = await viaFastPath(data, layout);
  expect(whole.root, what).to.equal(want.root);
  expect(whole.size, what).to.equal(n);
  sameBlocks(whole.blocks, want.blocks, `${what}, as bytes`);
  const pieces = await viaFastPath(stream(split(data, cuts)), layout);
  expect(pieces.root, what).to.equal(want.root);
  sameBlocks(pieces.blocks, want.blocks, `${what}, as a stream`);
}

describe("store: the add fast path builds the importer's DAG, block for block", function () {
  const C = KUBO_CHUNK_SIZE;
  const L = KUBO_MAX_LINKS;

  it("Kubo's settings: random sizes up to 50 MiB, chunk and link-limit edges ± 1 byte, any piece boundaries", async function () {
    this.timeout(600_000);
    const edge = fc.constantFrom(
      0,
      1,
      C - 1,
      C,
      C + 1,
      2 * C,
      2 * C + 1,
      L * C - 1,
      L * C,
      L * C + 1,
      (L + 1) * C,
      (L + 1) * C + 1,
      50 * MiB,
    );
    const multiple = fc
      .tuple(fc.integer({ min: 1, max: 200 }), fc.constantFrom(-1, 0, 1))
      .map(([k, d]) => Math.max(0, k * C + d));
    const any = fc.integer({ min: 0, max: 50 * MiB });
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(edge, multiple, any),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (n, seed, cuts) => {
          await check(n, seed, cuts, KUBO_LAYOUT, kuboImporterOptions());
        },
      ),
      { numRuns: 40 },
    );
  });

  it("small chunks and 3 links per node: deep balanced trees (the levels 174² chunks = 7.4 GiB would need)", async function () {
    this.timeout(120_000);
    const layout = { chunkSize: 64, maxLinks: 3 };
    const options: ImporterOptions = {
      ...kuboImporterOptions(),
      chunker: fixedSize({ chunkSize: 64 }),
      layout: balanced({ maxChildrenPerNode: 3 }),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 0, max: 64 * 90 }),
          fc.constantFrom(64 * 27, 64 * 27 + 1, 64 * 81 - 1, 64 * 81, 64 * 81 + 1),
        ),
        fc.nat(),
        fc.array(fc.nat(), { maxLength: 40 }),
        async (n, seed, cuts) => {
          await check(n, seed, cuts, layout, options);
        },
      ),
      { numRuns: 100 },
    );
  });

  it("one-byte pieces and empty pieces are cut into the same chunks", async function () {
    const data = randomBytes(3 * 64 + 5);
    const want = await viaImporter(data, {
      ...kuboImporterOptions(),
      chunker: fixedSize({ chunkSize: 64 }),
      layout: balanced({ maxChildrenPerNode: 2 }),
    });
    const pieces = [...data].flatMap((b) => [Buffer.alloc(0), Buffer.from([b])]);
    const got = await viaFastPath(stream(pieces), { chunkSize: 64, maxLinks: 2 });
    expect(got.root).to.equal(want.root);
    sameBlocks(got.blocks, want.blocks, "1-byte pieces");
  });

  it("rejects pieces that are not bytes, and layouts the importer cannot mean", async function () {
    async function* strings(): AsyncGenerator<unknown> {
      yield "text";
    }
    await expectError(
      addUnixfsFile(strings() as AsyncIterable<Uint8Array>, new Recorder()),
      "INVALID_ARGUMENT",
      "Uint8Array",
    );
    await expectError(
      addUnixfsFile(Buffer.alloc(1), new Recorder(), { chunkSize: 0, maxLinks: 174 }),
      "INVALID_ARGUMENT",
      "chunk size",
    );
  });
});
