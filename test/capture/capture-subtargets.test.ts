import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { chromium, type Browser } from "playwright-core";
import {
  buildCaptureReportModel,
  captureToWacz,
  parseReceipt,
  renderCaptureReportHtml,
  verifyCapture,
  CHROMIUM_ARGS,
  DEFAULT_CHROMIUM,
  readWarc,
  readZip,
  verifyWaczBytes,
  type CaptureRecord,
} from "../../packages/sdk/src";
import { makeWorkspace } from "../cli/helpers";
import { replayedText } from "./replay";
import { tinyPng } from "./site";

// What a page makes others request: a cross-site iframe (another host name and port, so Chromium
// runs it out of process, in its own DevTools target) whose image and fetch must be in the WACZ, and
// a service worker that fetches a resource itself and serves the page a response made from it.
const SW_SOURCE = `self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(clients.claim()));
self.addEventListener("fetch", (e) => {
  if (new URL(e.request.url).pathname === "/via-sw.txt")
    e.respondWith(fetch("/sw-source.txt").then((r) => r.text()).then((t) => new Response("Served by the worker: " + t, { headers: { "content-type": "text/plain" } })));
});`;

describe("proofmark capture: cross-site iframes and service workers", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("capture-subtargets");
  const framePng = tinyPng(7);
  const servers: http.Server[] = [];
  let shop = "";
  let other = "";
  let browser: Browser | undefined;

  const listen = async (handler: http.RequestListener) => {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return (server.address() as AddressInfo).port;
  };

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    // the iframe's site: "localhost" is another site than "127.0.0.1" (site isolation: out of process)
    const otherPort = await listen((req, res) => {
      if (req.url === "/frame")
        return res
          .writeHead(200, { "content-type": "text/html; charset=utf-8" })
          .end(
            `<!doctype html><p>Seller frame</p><img src="/frame.png"><div id="api"></div><script>fetch("/frame-api.json").then(r=>r.json()).then(j=>document.getElementById("api").textContent=j.text)</script>`,
          );
      if (req.url === "/frame.png") return res.writeHead(200, { "content-type": "image/png" }).end(framePng);
      if (req.url === "/frame-api.json")
        return res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ text: "Stock from the frame API" }));
      res.writeHead(404).end();
    });
    other = `http://localhost:${otherPort}`;
    const shopPort = await listen((req, res) => {
      if (req.url === "/page")
        return res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(
          `<!doctype html><title>Framed shop</title><h1>Shop with a frame</h1><p id="sw">waiting</p>
<iframe src="${other}/frame" width="400" height="200"></iframe>
<script>
navigator.serviceWorker.register("/sw.js")
  .then(() => navigator.serviceWorker.controller || new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r)))
  .then(() => fetch("/via-sw.txt")).then((r) => r.text()).then((t) => (document.getElementById("sw").textContent = t));
</script>`,
        );
      if (req.url === "/sw.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(SW_SOURCE);
      if (req.url === "/sw-source.txt")
        return res.writeHead(200, { "content-type": "text/plain" }).end("price list from the network");
      res.writeHead(404).end();
    });
    shop = `http://127.0.0.1:${shopPort}`;
  });

  after(async function () {
    await browser?.close();
    for (const s of servers) s.close();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("records the iframe's and the service worker's requests in the WARC, CDXJ and HAR, and they replay", async function () {
    const out = path.join(ws.dir, "framed.wacz");
    const r = await captureToWacz({ urls: [`${shop}/page`], out, dataDir: ws.dataDir, version: "test" });
    expect(r.record.pages[0].text).to.include("Served by the worker: price list from the network");
    const entries = readZip(fs.readFileSync(out));
    const warc = readWarc(entries.get("archive/data.warc")!.data, "archive/data.warc");
    const response = (url: string) => warc.find((x) => x.type === "response" && x.targetUri === url);
    const request = (url: string) => warc.find((x) => x.type === "request" && x.targetUri === url);
    for (const url of [
      `${other}/frame`,
      `${other}/frame.png`,
      `${other}/frame-api.json`,
      `${shop}/via-sw.txt`,
      `${shop}/sw-source.txt`,
    ]) {
      expect(response(url), `response record for ${url}`).to.not.equal(undefined);
      expect(request(url), `request record for ${url}`).to.not.equal(undefined);
    }
    const text = (url: string) => {
      const raw = Buffer.from(response(url)!.block);
      return raw.subarray(raw.indexOf("\r\n\r\n") + 4);
    };
    expect(text(`${other}/frame.png`).equals(framePng)).to.equal(true);
    expect(text(`${other}/frame-api.json`).toString()).to.include("Stock from the frame API");
    expect(text(`${shop}/via-sw.txt`).toString()).to.equal("Served by the worker: price list from the network");
    // who made the request, and what a service worker served
    expect(response(`${other}/frame.png`)!.headers.get("warc-proofmark-target")).to.match(/^iframe/);
    expect(response(`${shop}/sw-source.txt`)!.headers.get("warc-proofmark-target")).to.equal(
      `service_worker ${shop}/sw.js`,
    );
    expect(response(`${shop}/via-sw.txt`)!.headers.get("warc-proofmark-served-by")).to.equal("service-worker");
    expect(response(`${shop}/page`)!.headers.get("warc-proofmark-target")).to.equal(undefined);
    // the service worker's own script: not seen as an HTTP exchange, stored as the source it ran
    const swScript = warc.find((x) => x.type === "resource" && x.targetUri === `${shop}/sw.js`);
    expect(swScript, "resource record of the service worker's script").to.not.equal(undefined);
    expect(Buffer.from(swScript!.block).toString("utf8")).to.equal(SW_SOURCE);
    expect(swScript!.headers.get("warc-proofmark-source")).to.equal("devtools-debugger");
    expect(swScript!.headers.get("warc-proofmark-target")).to.equal(`service_worker ${shop}/sw.js`);
    const checked = verifyWaczBytes(fs.readFileSync(out));
    expect(checked.ok, checked.message).to.equal(true);

    const cdxj = entries.get("indexes/index.cdxj")!.data.toString("utf8");
    for (const url of [`${other}/frame.png`, `${other}/frame-api.json`, `${shop}/via-sw.txt`, `${shop}/sw-source.txt`])
      expect(cdxj, url).to.include(`"url":"${url}"`);
    const har = JSON.parse(entries.get("capture/capture.har")!.data.toString("utf8")) as {
      log: {
        entries: Array<{ request: { url: string }; _fetchedViaServiceWorker?: boolean; _target?: { type: string } }>;
      };
    };
    const harEntry = (url: string) => har.log.entries.find((e) => e.request.url === url);
    expect(harEntry(`${other}/frame-api.json`)?._target?.type).to.equal("iframe");
    expect(harEntry(`${shop}/sw-source.txt`)?._target?.type).to.equal("service_worker");
    expect(harEntry(`${shop}/via-sw.txt`)?._fetchedViaServiceWorker).to.equal(true);

    const record = JSON.parse(entries.get("capture/record.json")!.data.toString("utf8")) as CaptureRecord;
    expect(record.targets.map((t) => t.type)).to.include.members(["iframe", "service_worker"]);
    expect(record.workerScripts?.map((w) => [w.url, w.size])).to.deep.equal([
      [`${shop}/sw.js`, Buffer.byteLength(SW_SOURCE)],
    ]);
    expect(cdxj).to.include(`"url":"${shop}/sw.js"`);
    // the report lists the worker's script (the capture is not anchored here: the report says that too)
    const checked2 = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt });
    const html = renderCaptureReportHtml(buildCaptureReportModel(checked2, { lang: "en" }), []);
    expect(html).to.include("Scripts that service and shared workers ran");
    expect(html).to.include(`${record.workerScripts![0].sha256}  ${Buffer.byteLength(SW_SOURCE)} B  ${shop}/sw.js`);
    expect(record.servedByServiceWorker.map((s) => s.url)).to.deep.equal([`${shop}/via-sw.txt`]);
    // where the capture came from, as this host's routing sees it, for each server reached
    expect(record.sourceAddresses).to.deep.include({ remote: "127.0.0.1", source: "127.0.0.1" });
    // a response served by a service worker is not a cache hit
    expect(record.clean.checks.find((c) => c.item === "empty-cache")!.ok).to.equal(true);

    // replay: the iframe's fetched text inside the replayed page, the worker's response on its own
    browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM, args: CHROMIUM_ARGS });
    const bytes = fs.readFileSync(out);
    expect(await replayedText(browser, bytes, `${shop}/page`, "Stock from the frame API")).to.include(
      "Stock from the frame API",
    );
    expect(await replayedText(browser, bytes, `${shop}/via-sw.txt`, "Served by the worker")).to.include(
      "price list from the network",
    );
  });
});
