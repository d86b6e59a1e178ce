import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { EmbeddedStore, serveStore } from "../../packages/sdk/src/store";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";

describe("faults: store reads and the store's HTTP server under bad input", function () {
  this.timeout(180_000);
  const ws = makeWorkspace("store-faults");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 60_000 });
  before(function () {
    assertBuilt();
  });
  after(function () {
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("store get CID to stdout with a corrupt block: the coded error, no stack trace, exit 1", async function () {
    fs.writeFileSync(path.join(ws.dir, "f.bin"), randomBytes(2_000_000));
    const added = await run(["store", "add", "f.bin", "--json"]);
    expect(added.code, added.stderr).to.equal(0);
    const cid = JSON.parse(added.stdout).added[0].cid;
    const pack = path.join(ws.dataDir, "store", "packs", "000001.pack");
    const fd = fs.openSync(pack, "r+");
    fs.writeSync(fd, Buffer.from("XXXX"), 0, 4, 1_000_000);
    fs.closeSync(fd);
    const r = await run(["store", "get", cid]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/^proofmark: block \S+ in the store at .* does not match its CID.*\[CID_MISMATCH\]\n$/);
    expect(r.stderr).not.to.match(/\n\s+at /);
  });

  it("store add of a FIFO or a device is a coded error, never a read that does not end", async function () {
    const r = await run(["store", "add", "/dev/zero"]);
    expect(r.code).to.not.equal(0);
    expect(r.stderr).to.match(/not a regular file/);
    expect(r.stderr).to.include("[FILE_NOT_FOUND]");
  });

  it("the HTTP server refuses request bodies (413) and malformed paths (400), and keeps serving", async function () {
    const store = new EmbeddedStore(path.join(ws.dir, "http"));
    const { cid } = await store.add(Buffer.from("served"));
    const { server, url } = await serveStore(store, { port: 0 });
    const { port } = server.address() as net.AddressInfo;
    try {
      const withBody = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: "127.0.0.1", port, path: `/ipfs/${cid}`, method: "GET", headers: { "transfer-encoding": "chunked" } },
          (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve({ status: res.statusCode!, body }));
          },
        );
        req.on("error", reject);
        req.write(Buffer.alloc(1 << 20));
        req.end();
      });
      expect(withBody.status).to.equal(413);
      expect(JSON.parse(withBody.body).error).to.equal("INPUT_TOO_LARGE");
      const bad = await fetch(`${url}/ipfs/%E0%A4%A`);
      expect(bad.status).to.equal(400);
      const good = await fetch(`${url}/ipfs/${cid}`);
      expect(await good.text()).to.equal("served");
    } finally {
      await new Promise((r) => server.close(r));
      await store.close();
    }
  });
});
