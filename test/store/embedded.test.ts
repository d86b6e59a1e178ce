import { expect } from "chai";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { importer } from "ipfs-unixfs-importer";
import { CID, EmbeddedStore, KUBO_CHUNK_SIZE, kuboImporterOptions } from "../../packages/sdk/src/store";
import { collect, expectError, kuboDeterministic, nullBlockstore, randomData, sha256Of, tempDir } from "./helpers";

async function cidOnly(source: AsyncIterable<Uint8Array>): Promise<string> {
  let root: unknown;
  for await (const e of importer([{ content: source }], nullBlockstore, kuboImporterOptions())) root = e.cid;
  return String(root);
}

describe("store: embedded store", function () {
  let dir: string;
  let store: EmbeddedStore;
  beforeEach(function () {
    dir = tempDir("embedded");
    store = new EmbeddedStore(dir);
  });
  afterEach(async function () {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("keeps its files under <dataDir>/store/", async function () {
    await store.add(Buffer.from("x"));
    expect(store.dir).to.equal(path.join(path.resolve(dir), "store"));
    expect(fs.readdirSync(store.dir).sort()).to.deep.equal(["index.log", "packs"]);
  });

  it("round-trips files of any size byte for byte (property)", async function () {
    this.timeout(120_000);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.integer({ min: 0, max: 300 }),
          fc.integer({ min: KUBO_CHUNK_SIZE - 3, max: KUBO_CHUNK_SIZE + 3 }),
          fc.integer({ min: 0, max: 3 * KUBO_CHUNK_SIZE + 17 }),
        ),
        fc.integer({ min: 1, max: 100_000 }),
        async (size, piece) => {
          const data = randomData(size);
          const pieces: Buffer[] = [];
          for (let i = 0; i < size; i += piece) pieces.push(data.subarray(i, i + piece));
          const r = await store.add(
            (async function* () {
              yield* pieces;
            })(),
          );
          expect(r.size).to.equal(size);
          expect((await collect(store.get(r.cid))).equals(data)).to.equal(true);
          expect(await store.has(r.cid)).to.equal(true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it("deduplicates: the same bytes twice add no block data", async function () {
    const data = randomData(600_000);
    await store.add(data);
    const before = store.packs.storedBytes();
    const again = await store.add(data, { name: "copy" });
    expect(store.packs.storedBytes()).to.equal(before);
    expect((await store.list()).map((e) => e.cid)).to.deep.equal([again.cid]);
  });

  it("closes its pack handles once reads stop, so a store nobody closes holds no file open", async function () {
    // A GiSession or script that never calls close() must not leave descriptors for the garbage
    // collector (Node.js warns when it closes one, and will throw instead).
    const openPacks = () =>
      fs.readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.join(store.dir, "packs"));
        } catch {
          return false; // the fd the listing itself used is gone by now
        }
      }).length;
    if (!fs.existsSync("/proc/self/fd")) this.skip();
    const data = randomData(300_000);
    const { cid } = await store.add(data);
    expect(await collect(store.get(cid))).to.deep.equal(data);
    expect(openPacks()).to.be.greaterThan(0);
    await new Promise((r) => setTimeout(r, 2_500));
    expect(openPacks()).to.equal(0);
    // and reading again opens them again
    expect(await collect(store.get(cid))).to.deep.equal(data);
  });

  it("adds many files in one durable batch", async function () {
    const files = Array.from({ length: 200 }, (_, i) => ({ content: randomData(1024 + i), name: `f${i}.txt` }));
    const results = await store.addAll(files);
    expect(results).to.have.length(200);
    const listed = await store.list();
    expect(listed).to.have.length(200);
    const reopened = new EmbeddedStore(dir);
    for (const [i, r] of results.entries())
      expect((await collect(reopened.get(r.cid))).equals(files[i].content)).to.equal(true);
    await reopened.close();
  });

  describe("when a block on disk is corrupted", function () {
    it("get throws CID_MISMATCH naming the block, and never yields its bytes", async function () {
      const data = randomData(3 * KUBO_CHUNK_SIZE);
      const r = await store.add(data);
      const leaf = CID.createV1(
        0x55,
        (await import("multiformats/hashes/sha2")).sha256.digest(
          data.subarray(KUBO_CHUNK_SIZE, 2 * KUBO_CHUNK_SIZE),
        ) as never,
      );
      const loc = store.packs.locate(leaf)!;
      const fd = fs.openSync(loc.file, "r+");
      fs.writeSync(fd, Buffer.from([0xff ^ data[KUBO_CHUNK_SIZE + 10]]), 0, 1, loc.offset + 10);
      fs.closeSync(fd);
      const got: Buffer[] = [];
      const err = await expectError(
        (async () => {
          for await (const c of store.get(r.cid)) got.push(Buffer.from(c));
        })(),
        "CID_MISMATCH",
        leaf.toString(),
      );
      expect(err.message).to.include("does not match its CID");
      // Only the first, intact chunk came out.
      expect(Buffer.concat(got).equals(data.subarray(0, Buffer.concat(got).length))).to.equal(true);
      expect(Buffer.concat(got).length).to.be.at.most(KUBO_CHUNK_SIZE);
      await expectError(collect(store.exportCar(r.cid)), "CID_MISMATCH", leaf.toString());
    });

    it("a truncated pack gives BLOCK_MISSING naming the block", async function () {
      const data = randomData(2 * KUBO_CHUNK_SIZE + 5);
      const r = await store.add(data);
      const pack = path.join(store.dir, "packs", fs.readdirSync(path.join(store.dir, "packs"))[0]);
      const root = store.packs.locate(CID.parse(r.cid))!;
      fs.truncateSync(pack, root.offset - 1); // cuts the last leaf short and drops the root
      const fresh = new EmbeddedStore(dir);
      await expectError(collect(fresh.get(r.cid)), "BLOCK_MISSING", r.cid);
      await fresh.close();
    });
  });

  it("a CID it never stored is BLOCK_MISSING; a malformed one INVALID_ARGUMENT", async function () {
    const absent = await cidOnly(
      (async function* () {
        yield Buffer.from("never added");
      })(),
    );
    await expectError(collect(store.get(absent)), "BLOCK_MISSING", absent);
    expect(await store.has(absent)).to.equal(false);
    await expectError(collect(store.get("not-a-cid")), "INVALID_ARGUMENT");
  });

  it("remove + gc deletes only unreferenced blocks, and survives reopening", async function () {
    const keep = randomData(700_000);
    const drop = randomData(900_000);
    const shared = keep.subarray(0, KUBO_CHUNK_SIZE);
    const a = await store.add(keep, { name: "keep" });
    const b = await store.add(Buffer.concat([shared, drop]), { name: "drop" }); // first leaf shared with `keep`
    expect(await store.remove(b.cid)).to.equal(true);
    expect(await store.remove(b.cid)).to.equal(false);
    const g = await store.gc();
    expect(g.removedBlocks).to.be.greaterThan(0);
    expect(g.freedBytes).to.be.at.least(drop.length - KUBO_CHUNK_SIZE);
    expect(await store.has(b.cid)).to.equal(false);
    expect((await collect(store.get(a.cid))).equals(keep)).to.equal(true);
    const reopened = new EmbeddedStore(dir);
    expect((await reopened.list()).map((e) => e.name)).to.deep.equal(["keep"]);
    expect((await collect(reopened.get(a.cid))).equals(keep)).to.equal(true);
    expect((await reopened.gc()).removedBlocks).to.equal(0);
    await reopened.close();
  });

  it("exports a CAR that imports into another store with the same CID and bytes", async function () {
    const data = randomData(5 * KUBO_CHUNK_SIZE + 99);
    const r = await store.add(data, { name: "evidence.bin" });
    const car = await collect(store.exportCar(r.cid));
    expect(car.subarray(0, 1)[0]).to.be.greaterThan(0); // CARv1 header varint
    const otherDir = tempDir("embedded-car");
    const other = new EmbeddedStore(otherDir);
    try {
      const roots = await other.importCar(
        (async function* () {
          yield car;
        })(),
      );
      expect(roots).to.deep.equal([r.cid]);
      expect((await other.list())[0]).to.include({ cid: r.cid, size: data.length });
      expect((await collect(other.get(r.cid))).equals(data)).to.equal(true);
      // Re-exporting gives the same CAR bytes (deterministic order).
      expect((await collect(other.exportCar(r.cid))).equals(car)).to.equal(true);
    } finally {
      await other.close();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  it("rejects an incomplete or tampered CAR and keeps nothing from it", async function () {
    const data = randomData(3 * KUBO_CHUNK_SIZE);
    const r = await store.add(data);
    const car = await collect(store.exportCar(r.cid));
    const otherDir = tempDir("embedded-car-bad");
    const other = new EmbeddedStore(otherDir);
    try {
      const cut = car.subarray(0, car.length - 1000); // last leaf truncated
      await expectError(
        other.importCar(
          (async function* () {
            yield cut;
          })(),
        ),
        "STORE_FAILED",
      );
      const tampered = Buffer.from(car);
      tampered[tampered.length - 5] ^= 1;
      await expectError(
        other.importCar(
          (async function* () {
            yield tampered;
          })(),
        ),
        "CID_MISMATCH",
      );
      const { CarWriter } = await import("@ipld/car");
      const { writer, out } = CarWriter.create([CID.parse(r.cid) as never]);
      const bytes = collect(out as AsyncIterable<Uint8Array>);
      await writer.put({ cid: CID.parse(r.cid) as never, bytes: await store.getBlock(r.cid) });
      await writer.close();
      const rootOnly = await bytes;
      await expectError(
        other.importCar(
          (async function* () {
            yield rootOnly;
          })(),
        ),
        "BLOCK_MISSING",
      );
      expect(await other.list()).to.deep.equal([]);
      expect(other.packs.storedBytes()).to.equal(0);
    } finally {
      await other.close();
      fs.rmSync(otherDir, { recursive: true, force: true });
    }
  });

  describe("when a process is killed during add", function () {
    it("leaves no partially visible CID, and the next writer repairs and completes", async function () {
      this.timeout(120_000);
      const small = await store.add(Buffer.from("committed before the crash"), { name: "small.txt" });
      const size = 256 << 20;
      const seed = "crash-test";
      const child = spawn(
        process.execPath,
        [
          "-r",
          "ts-node/register/transpile-only",
          path.join(__dirname, "fixtures", "add-child.ts"),
          dir,
          String(size),
          seed,
        ],
        {
          cwd: path.join(__dirname, "..", ".."),
          env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      child.stderr.on("data", (d) => (out += d));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on("exit", (_code, signal) => resolve(signal)),
      );
      const packs = path.join(store.dir, "packs");
      const packSize = () => fs.readdirSync(packs).reduce((n, f) => n + fs.statSync(path.join(packs, f)).size, 0);
      const committed = packSize();
      const deadline = Date.now() + 60_000;
      while (packSize() < committed + (32 << 20)) {
        if (Date.now() > deadline || child.exitCode !== null) expect.fail(`child did not write 32 MiB in time: ${out}`);
        await new Promise((r) => setTimeout(r, 5));
      }
      child.kill("SIGKILL");
      expect(await exited).to.equal("SIGKILL");
      expect(out).not.to.include("done");
      expect(packSize()).to.be.greaterThan(committed);
      expect(fs.existsSync(path.join(store.dir, "LOCK"))).to.equal(true);

      const expected = await cidOnly(kuboDeterministic(size, seed));
      const firstChunk = (await kuboDeterministic(KUBO_CHUNK_SIZE, seed).next()).value as Uint8Array;
      const firstLeaf = CID.createV1(
        0x55,
        (await import("multiformats/hashes/sha2")).sha256.digest(firstChunk) as never,
      );

      const after = new EmbeddedStore(dir);
      try {
        expect(await after.has(expected)).to.equal(false);
        await expectError(collect(after.get(firstLeaf.toString())), "BLOCK_MISSING"); // written but never committed
        expect((await after.list()).map((e) => e.cid)).to.deep.equal([small.cid]);
        // The next write takes over the dead writer's lock and truncates its uncommitted tail.
        const again = await after.add(kuboDeterministic(size, seed), { name: "big.bin" });
        expect(again.cid).to.equal(expected);
        expect(fs.existsSync(path.join(store.dir, "LOCK"))).to.equal(false);
        expect(packSize()).to.equal(after.packs.committedBytes());
        expect(await sha256Of(after.get(again.cid))).to.equal(await sha256Of(kuboDeterministic(size, seed)));
        expect((await collect(after.get(small.cid))).toString()).to.equal("committed before the crash");
      } finally {
        await after.close();
      }
    });

    it("a torn index record is ignored and then truncated", async function () {
      const a = await store.add(Buffer.from("first"));
      const index = path.join(store.dir, "index.log");
      const good = fs.statSync(index).size;
      fs.appendFileSync(index, Buffer.from([200, 0, 0, 0, 1, 2, 3])); // a record cut short by a crash
      const s2 = new EmbeddedStore(dir);
      expect((await s2.list()).map((e) => e.cid)).to.deep.equal([a.cid]);
      const b = await s2.add(Buffer.from("second"));
      expect((await s2.list()).map((e) => e.cid)).to.deep.equal([a.cid, b.cid]);
      expect(fs.statSync(index).size).to.be.greaterThan(good);
      const s3 = new EmbeddedStore(dir);
      expect((await s3.list()).map((e) => e.cid)).to.deep.equal([a.cid, b.cid]);
      await s2.close();
      await s3.close();
    });
  });

  it("two store objects on one folder see each other's commits", async function () {
    const other = new EmbeddedStore(dir);
    const r = await store.add(Buffer.from("from the first"));
    expect((await collect(other.get(r.cid))).toString()).to.equal("from the first");
    const [x, y] = await Promise.all([store.add(randomData(300_000)), other.add(randomData(300_000))]);
    expect(await store.has(y.cid)).to.equal(true);
    expect(await other.has(x.cid)).to.equal(true);
    expect(
      createHash("sha256")
        .update(await collect(store.get(x.cid)))
        .digest("hex"),
    ).to.have.length(64);
    await other.close();
  });
});
