import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { DEFAULT_CHROMIUM, readZip, writeZip, type CaptureRecord } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { productPhoto, stolenCopy } from "../fingerprint/images";

// Issue 15 × issue 14: a capture of an infringing listing names the seller's registered originals
// among the images it recorded (looked up in the data folder's fingerprint index), and only those.
describe("proofmark capture: captured images are matched against the registered originals", function () {
  this.timeout(600_000);
  const ws = makeWorkspace("capture-match");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 300_000 });
  let server: http.Server | undefined;

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    assertBuilt();
    fs.mkdirSync(path.join(ws.dir, "shop"), { recursive: true });
    fs.writeFileSync(path.join(ws.dir, "shop", "tea-cup.jpg"), await productPhoto(101));
    const stolen = await stolenCopy(fs.readFileSync(path.join(ws.dir, "shop", "tea-cup.jpg")));
    const unrelated = await productPhoto(999);
    const files: Record<string, [string, Buffer]> = {
      "/item": [
        "text/html; charset=utf-8",
        Buffer.from(
          '<!doctype html><title>Tea cup — other shop</title><h1>Tea cup</h1><img src="/a.jpg"><img src="/b.jpg">',
        ),
      ],
      "/a.jpg": ["image/jpeg", stolen],
      "/b.jpg": ["image/jpeg", unrelated],
    };
    server = http.createServer((req, res) => {
      const f = files[req.url ?? ""];
      if (!f) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": f[0], "content-length": f[1].length }).end(f[1]);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  });

  after(function () {
    server?.close();
    killLocalChain(ws.dataDir);
  });

  it("records the matching original (with its anchor) in the capture record and says so; the unrelated image matches nothing", async function () {
    const stamped = await run(["stamp", "shop", "--author", "Mei"]);
    expect(stamped.code, stamped.stderr).to.equal(0);
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/item`;
    const out = path.join(ws.dir, "listing.wacz");
    const r = await run(["capture", url, "--out", out]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.match(/resembles your registered tea-cup\.jpg .*evidence of similarity/);
    const record = JSON.parse(
      readZip(fs.readFileSync(out)).get("capture/record.json")!.data.toString("utf8"),
    ) as CaptureRecord;
    const matches = record.imageMatches ?? [];
    expect(matches.map((m) => m.original.name)).to.deep.equal(["tea-cup.jpg"]);
    const stolenImage = record.images.find((i) => i.url.endsWith("/a.jpg"));
    expect(matches[0].sha256).to.equal(stolenImage?.sha256);
    expect(String(matches[0].original.receipt)).to.match(/tea-cup\.jpg\.proof\.json$/);

    // verify lists every image response with its SHA-256, and under the copy the original it resembles
    const unrelatedImage = record.images.find((i) => i.url.endsWith("/b.jpg"))!;
    const v = await run(["verify", out]);
    expect(v.code, v.stderr + v.stdout).to.equal(0);
    expect(v.stdout).to.match(/images\s+\d+ image response\(s\)/);
    expect(v.stdout).to.include(
      `${stolenImage!.sha256}  ${stolenImage!.size} B  image/jpeg  ${url.replace("/item", "/a.jpg")}`,
    );
    expect(v.stdout).to.include(`${unrelatedImage.sha256}  ${unrelatedImage.size} B  image/jpeg`);
    expect(v.stdout).to.match(
      /resembles your registered tea-cup\.jpg \(distance \d+ bits, [a-z-]+; anchored \d{4}-\d\d-\d\dT[^ ]+ on chain 31337 block \d+; receipt [^)]*tea-cup\.jpg\.proof\.json\) — evidence of similarity, not identity/,
    );
    expect(v.stdout.match(/resembles your registered/g)).to.have.length(1);

    // the court report says the same, in its own words
    const html = path.join(ws.dir, "listing.html");
    const rep = await run(["report", out, "--out", html, "--lang", "en"]);
    expect(rep.code, rep.stderr + rep.stdout).to.equal(0);
    const text = fs.readFileSync(html, "utf8");
    expect(text).to.include("looked up among the registered originals");
    expect(text).to.match(
      new RegExp(`${stolenImage!.sha256} resembles the registered original tea-cup\\.jpg \\(distance \\d+ bits`),
    );
    expect(text).to.include("evidence of similarity, not identity");
    expect(text).to.not.include(`${unrelatedImage.sha256} resembles`);
  });

  it("match on a .wacz looks up every image it recorded in the index as it is now", async function () {
    const out = path.join(ws.dir, "listing.wacz");
    const r = await run(["match", out]);
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const record = JSON.parse(
      readZip(fs.readFileSync(out)).get("capture/record.json")!.data.toString("utf8"),
    ) as CaptureRecord;
    expect(r.stdout).to.include("2 image response(s), 1 resembling a registered original");
    for (const i of record.images) expect(r.stdout).to.include(`${i.sha256}  ${i.size} B`);
    expect(r.stdout).to.match(/resembles your registered tea-cup\.jpg .*evidence of similarity, not identity/);
    // an altered capture is refused before any lookup, naming the file
    const entries = [...readZip(fs.readFileSync(out)).values()].sort((a, b) => a.offset - b.offset);
    const altered = writeZip(
      entries.map((e) => {
        const data = Buffer.from(e.data);
        if (e.name === "capture/record.json") data[Math.floor(data.length / 2)] ^= 0x01;
        return { name: e.name, data, deflate: e.method === "deflate" };
      }),
    );
    fs.writeFileSync(path.join(ws.dir, "altered.wacz"), altered);
    const bad = await run(["match", path.join(ws.dir, "altered.wacz")]);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr + bad.stdout).to.match(/capture\/record\.json/);
  });
});
