import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import { CID, EmbeddedStore, KUBO_CHUNK_SIZE, createStoreHandler, serveStore } from "../../packages/sdk/src/store";
import { randomData, tempDir } from "./helpers";

function request(
  url: string,
  options: http.RequestOptions = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, options, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d) => parts.push(d));
      res.on("end", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), complete: res.complete }),
      );
      res.on("error", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), complete: false }),
      );
      res.on("aborted", () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(parts), complete: false }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}

describe("store: HTTP handler GET /ipfs/<cid>", function () {
  let dir: string;
  let store: EmbeddedStore;
  let server: http.Server;
  let base: string;
  before(async function () {
    dir = tempDir("http");
    store = new EmbeddedStore(dir);
    ({ server, url: base } = await serveStore(store, { port: 0 }));
  });
  after(async function () {
    await new Promise((r) => server.close(r));
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("streams the verified bytes with immutable caching headers", async function () {
    const data = randomData(3 * KUBO_CHUNK_SIZE + 1);
    const { cid } = await store.add(data);
    const r = await request(`${base}/ipfs/${cid}`);
    expect(r.status).to.equal(200);
    expect(r.headers["content-type"]).to.equal("application/octet-stream");
    expect(r.headers.etag).to.equal(`"${cid}"`);
    expect(r.headers["cache-control"]).to.include("immutable");
    expect(r.body.equals(data)).to.equal(true);
    const head = await request(`${base}/ipfs/${cid}`, { method: "HEAD" });
    expect(head.status).to.equal(200);
    expect(head.body.length).to.equal(0);
  });

  it("?format=car (or Accept: application/vnd.ipld.car) returns a CAR another store can import", async function () {
    const data = randomData(2 * KUBO_CHUNK_SIZE + 7);
    const { cid } = await store.add(data);
    const r = await request(`${base}/ipfs/${cid}?format=car`);
    expect(r.status).to.equal(200);
    expect(r.headers["content-type"]).to.include("application/vnd.ipld.car");
    const byAccept = await request(`${base}/ipfs/${cid}`, { headers: { accept: "application/vnd.ipld.car" } });
    expect(byAccept.body.equals(r.body)).to.equal(true);
    const otherDir = tempDir("http-car");
    const other = new EmbeddedStore(otherDir);
    expect(
      await other.importCar(
        (async function* () {
          yield r.body;
        })(),
      ),
    ).to.deep.equal([cid]);
    await other.close();
    fs.rmSync(otherDir, { recursive: true, force: true });
  });

  it("answers 400 for a malformed CID, 404 for an absent one, 405 for other methods, and leaves other paths alone", async function () {
    expect((await request(`${base}/ipfs/not-a-cid`)).status).to.equal(400);
    const absent = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba";
    const r = await request(`${base}/ipfs/${absent}`);
    expect(r.status).to.equal(404);
    expect(JSON.parse(r.body.toString())).to.include({ error: "BLOCK_MISSING" });
    expect((await request(`${base}/ipfs/${absent}`, { method: "POST" })).status).to.equal(405);
    const handle = createStoreHandler(store);
    expect(
      handle({ url: "/scan/01/123", method: "GET", headers: {} } as http.IncomingMessage, {} as http.ServerResponse),
    ).to.equal(false);
  });

  it("a corrupt first block is a 502 error; a corrupt later block cuts the connection (never wrong bytes)", async function () {
    const data = randomData(4 * KUBO_CHUNK_SIZE);
    const { cid } = await store.add(data);
    const { sha256 } = await import("multiformats/hashes/sha2");
    const leafOf = async (i: number) =>
      CID.createV1(0x55, (await sha256.digest(data.subarray(i * KUBO_CHUNK_SIZE, (i + 1) * KUBO_CHUNK_SIZE))) as never);
    const corrupt = async (i: number) => {
      const loc = store.packs.locate(await leafOf(i))!;
      const fd = fs.openSync(loc.file, "r+");
      fs.writeSync(fd, Buffer.from([data[i * KUBO_CHUNK_SIZE + 3] ^ 0x80]), 0, 1, loc.offset + 3);
      fs.closeSync(fd);
    };
    await corrupt(2);
    const r = await request(`${base}/ipfs/${cid}`);
    expect(r.complete).to.equal(false);
    expect(r.body.length).to.be.lessThan(data.length);
    expect(r.body.equals(data.subarray(0, r.body.length))).to.equal(true);
    await corrupt(0);
    const first = await request(`${base}/ipfs/${cid}`);
    expect(first.status).to.equal(502);
    expect(JSON.parse(first.body.toString())).to.include({ error: "CID_MISMATCH" });
  });
});
