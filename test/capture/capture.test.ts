import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser } from "playwright-core";
import {
  captureToWacz,
  CHROMIUM_ARGS,
  harTimings,
  DEFAULT_CHROMIUM,
  readZip,
  verifyWaczBytes,
  writeZip,
  type CaptureRecord,
} from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { replayedText } from "./replay";
import { HOSTILE_TITLE, LATE_TEXT, PRODUCT_TEXT, startShop, type ShopSite } from "./site";

/** A copy of the WACZ with one byte of `name` changed (and the ZIP re-written, so only the hash check can catch it). */
function alter(wacz: Buffer, name: string, at = (n: number) => Math.floor(n / 2)): Buffer {
  const entries = [...readZip(wacz).values()].sort((a, b) => a.offset - b.offset);
  return writeZip(
    entries.map((e) => {
      if (e.name !== name) return { name: e.name, data: e.data, deflate: e.method === "deflate" };
      const data = Buffer.from(e.data);
      data[at(data.length)] ^= 0x01;
      return { name: e.name, data, deflate: e.method === "deflate" };
    }),
  );
}

describe("proofmark capture: web pages into a signed, anchored WACZ", function () {
  this.timeout(600_000);
  let site: ShopSite;
  let ws: { dir: string; dataDir: string };
  let wacz: string;
  let bytes: Buffer;
  let record: CaptureRecord;
  let productUrl: string;

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    assertBuilt();
    site = await startShop();
    ws = makeWorkspace("capture");
    productUrl = `${site.base}/product`;
    wacz = path.join(ws.dir, "scarf.wacz");
    const r = await runCli(["capture", productUrl, `${site.base}/gzip`, "--out", wacz, "--video"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
      timeoutMs: 300_000,
    });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.include("anchored: datapackage-digest.json of scarf.wacz");
    bytes = fs.readFileSync(wacz);
    record = JSON.parse(readZip(bytes).get("capture/record.json")!.data.toString("utf8"));
  });
  after(async () => {
    await site?.close();
    if (ws) {
      killLocalChain(ws.dataDir);
      fs.rmSync(ws.dir, { recursive: true, force: true });
    }
  });

  it("writes a WACZ with the spec's layout, a datapackage.json hash per file and a signed digest", function () {
    const entries = readZip(bytes);
    for (const name of [
      "archive/data.warc",
      "indexes/index.cdxj",
      "pages/pages.jsonl",
      "datapackage.json",
      "datapackage-digest.json",
      "capture/record.json",
      "capture/page-1/screenshot.png",
      "capture/page-1/print.pdf",
      "capture/page-1/dom.html",
      "capture/capture.har",
      "capture/tls.json",
      "capture/video.mp4",
    ]) {
      expect(entries.has(name), name).to.equal(true);
    }
    expect(entries.get("archive/data.warc")!.method).to.equal("store");
    const dp = JSON.parse(entries.get("datapackage.json")!.data.toString());
    expect(dp.resources.map((r: { path: string }) => r.path)).to.include.members([
      "archive/data.warc",
      "capture/page-1/screenshot.png",
    ]);
    const digest = JSON.parse(entries.get("datapackage-digest.json")!.data.toString());
    expect(Object.keys(digest.signedData).sort()).to.deep.equal([
      "created",
      "hash",
      "publicKey",
      "signature",
      "software",
      "version",
    ]);
    expect(entries.get("capture/page-1/screenshot.png")!.data.subarray(1, 4).toString()).to.equal("PNG");
    expect(entries.get("capture/page-1/print.pdf")!.data.subarray(0, 5).toString()).to.equal("%PDF-");
    expect(entries.get("capture/video.mp4")!.data.subarray(4, 8).toString()).to.equal("ftyp");
    expect(verifyWaczBytes(bytes).ok).to.equal(true);
  });

  it("fills the HAR's timings from Chromium's own timing of each exchange", function () {
    const har = JSON.parse(readZip(bytes).get("capture/capture.har")!.data.toString("utf8")) as {
      log: {
        entries: Array<{
          request: { url: string };
          response: { status: number };
          time: number;
          timings: Record<string, number>;
          _timingsMissing?: boolean;
        }>;
      };
    };
    const entry = (p: string) => har.log.entries.find((e) => e.request.url === `${site.base}${p}`)!;
    for (const p of ["/product", "/style.css", "/img/scarf.png", "/old/detail.png"]) {
      const e = entry(p);
      expect(e, p).to.not.equal(undefined);
      expect(e._timingsMissing, p).to.equal(undefined);
      for (const k of ["send", "wait", "receive"]) expect(e.timings[k], `${p} ${k}`).to.be.at.least(0);
      const phases = ["blocked", "dns", "connect", "send", "wait", "receive"].map((k) => e.timings[k]);
      const sum = phases.filter((v) => v > 0).reduce((a, b) => a + b, 0);
      expect(e.time, p).to.be.closeTo(sum, 0.01);
      expect(e.time, p).to.be.greaterThan(0);
    }
    // plain HTTP: no TLS phase on any exchange; a connect phase is either measured or did not happen
    for (const e of har.log.entries.filter((x) => x.response.status > 0 && !x._timingsMissing)) {
      expect(e.timings.ssl, e.request.url).to.equal(-1);
      expect(e.timings.connect === -1 || e.timings.connect >= 0, e.request.url).to.equal(true);
    }
  });

  it("turns Chromium's ResourceTiming into HAR phases (-1 for phases that did not happen)", function () {
    const timing = {
      requestTime: 1000,
      dnsStart: 1,
      dnsEnd: 3,
      connectStart: 3,
      connectEnd: 10,
      sslStart: 5,
      sslEnd: 10,
      sendStart: 10.5,
      sendEnd: 11,
      receiveHeadersEnd: 40,
    };
    expect(harTimings({ timing, finishedAt: 1000.1 })).to.deep.equal({
      time: 99.5, // the gap between connectEnd and sendStart is in no phase
      timings: { blocked: 1, dns: 2, connect: 7, ssl: 5, send: 0.5, wait: 29, receive: 60 },
    });
    const reused = { ...timing, dnsStart: -1, dnsEnd: -1, connectStart: -1, connectEnd: -1, sslStart: -1, sslEnd: -1 };
    expect(harTimings({ timing: reused, finishedAt: 1000.05 }).timings).to.deep.equal({
      blocked: 10.5,
      dns: -1,
      connect: -1,
      ssl: -1,
      send: 0.5,
      wait: 29,
      receive: 10,
    });
    expect(harTimings({})).to.include({ time: 0, _timingsMissing: true });
  });

  it("records every exchange: the page, CSS, script, images, the redirect, the 404 and the cookie", function () {
    const warc = readZip(bytes).get("archive/data.warc")!.data.toString("latin1");
    for (const p of [
      "/product",
      "/style.css",
      "/app.js",
      "/img/scarf.png",
      "/old/detail.png",
      "/img/detail.png",
      "/img/missing.png",
    ]) {
      expect(warc, p).to.include(`WARC-Target-URI: ${site.base}${p}`);
    }
    expect(warc).to.match(/HTTP\/1\.1 301 Moved Permanently\r\n[\s\S]*?location: \/img\/detail\.png/i);
    expect(warc).to.match(/set-cookie: session=abc123/i);
    expect(warc).to.include("X-Proofmark-Original-Content-Encoding: gzip");
    expect(record.httpErrors.map((e) => e.url)).to.include(`${site.base}/img/missing.png`);
    const page = record.pages[0];
    expect(page.title).to.equal("Silk scarf — Shop");
    expect(page.text).to.include(PRODUCT_TEXT).and.to.include(LATE_TEXT); // the script's change after load
    expect(record.pages[1].text).to.include(`${PRODUCT_TEXT} (compressed)`);
    const images = record.images.map((i) => `${i.url} ${i.sha256}`);
    for (const [p, png] of Object.entries(site.images))
      expect(images).to.include(
        `${site.base}${p} ${require("node:crypto").createHash("sha256").update(png).digest("hex")}`,
      );
    expect(readZip(bytes).get("capture/page-1/dom.html")!.data.toString()).to.include(LATE_TEXT);
  });

  it("keeps a capture record: versions, browser binary hash, clock against the chain, environment, clean checks", function () {
    expect(record.tool.name).to.equal("proofmark");
    expect(record.browser.version).to.match(/Chrome\/\d+/);
    expect(record.browser.binaries[0].sha256).to.match(/^[0-9a-f]{64}$/);
    expect(record.clock.chain?.chainId).to.equal(31337);
    expect(record.addresses.some((a) => a.address === "127.0.0.1")).to.equal(true);
    expect(record.browser.commandLine).to.include("--disable-extensions");
    expect(record.clean.checks.map((c) => c.item)).to.deep.equal([
      "fresh-profile",
      "no-extensions",
      "empty-cache",
      "no-proxy",
      "normal-certificate-checks",
      "no-injected-page-scripts",
    ]);
    expect(record.clean.checks.find((c) => c.item === "normal-certificate-checks")!.ok).to.equal(true);
    expect(record.scripts.length).to.be.greaterThan(0);
    expect(record.scripts[0].source).to.include("innerText");
  });

  it("verifies offline and against the chain, and the receipt names the WACZ and the URLs", async function () {
    const r = await runCli(["verify", wacz, "--json"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 120_000 });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const out = JSON.parse(r.stdout);
    expect(out.ok).to.equal(true);
    const receipt = JSON.parse(fs.readFileSync(`${wacz}.proof.json`, "utf8"));
    expect(receipt.subject.name).to.equal("datapackage-digest.json");
    expect(receipt.commitment.meta.wacz).to.equal("scarf.wacz");
    expect(receipt.commitment.meta.urls.split(" ")).to.deep.equal([productUrl, `${site.base}/gzip`]);
  });

  it("replays in ReplayWeb.page (served from npm) showing the same text, with the site gone", async function () {
    const browser: Browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM, args: CHROMIUM_ARGS });
    try {
      await site.close();
      const text = await replayedText(browser, bytes, productUrl, LATE_TEXT);
      expect(text).to.include(PRODUCT_TEXT).and.to.include("¥ 399");
    } finally {
      await browser.close();
      site = await startShop(); // later tests need a site object to close
    }
  });

  it("the signature verifies the way ReplayWeb.page checks it (WebCrypto in Chromium: spki P-384, ECDSA SHA-256 over the hash text)", async function () {
    const signed = JSON.parse(readZip(bytes).get("datapackage-digest.json")!.data.toString()).signedData;
    const browser: Browser = await chromium.launch({ executablePath: DEFAULT_CHROMIUM, args: CHROMIUM_ARGS });
    try {
      const page = await browser.newPage();
      await page.goto(`${site.base}/away`); // a secure context (127.0.0.1) for crypto.subtle
      const check = (s: typeof signed) =>
        page.evaluate(async (d: { hash: string; signature: string; publicKey: string }) => {
          const b64 = (x: string) => Uint8Array.from(atob(x), (c) => c.charCodeAt(0));
          // as wabac.js src/wacz/certutils.ts verifyWACZSignature does for anonymous signatures
          const key = await crypto.subtle.importKey(
            "spki",
            b64(d.publicKey),
            { name: "ECDSA", namedCurve: "P-384" },
            true,
            ["verify"],
          );
          return crypto.subtle.verify(
            { name: "ECDSA", hash: "SHA-256" },
            key,
            b64(d.signature),
            new TextEncoder().encode(d.hash),
          );
        }, s);
      expect(await check(signed)).to.equal(true);
      expect(
        await check({ ...signed, hash: signed.hash.replace(/.$/, (c: string) => (c === "0" ? "1" : "0")) }),
      ).to.equal(false);
    } finally {
      await browser.close();
    }
  });

  for (const [kind, name] of [
    ["a WARC record", "archive/data.warc"],
    ["the screenshot", "capture/page-1/screenshot.png"],
    ["the capture record", "capture/record.json"],
    ["the CDXJ index", "indexes/index.cdxj"],
    ["the DOM", "capture/page-1/dom.html"],
    ["the video", "capture/video.mp4"],
  ] as const) {
    it(`altering one byte of ${kind} fails verification with the file named`, async function () {
      const bad = path.join(ws.dir, `bad-${path.basename(name)}.wacz`);
      fs.writeFileSync(bad, alter(bytes, name));
      fs.copyFileSync(`${wacz}.proof.json`, `${bad}.proof.json`);
      const r = await runCli(["verify", bad, "--json"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 120_000 });
      expect(r.code).to.equal(1);
      const out = JSON.parse(r.stdout);
      expect(out.ok).to.equal(false);
      expect(out.fault).to.equal(name);
      expect(out.code).to.equal("WACZ_FILE_MISMATCH");
    });
  }

  it("a WARC record altered with its file hash patched up still fails its own digest", function () {
    const entries = [...readZip(bytes).values()].sort((a, b) => a.offset - b.offset);
    const warc = Buffer.from(entries.find((e) => e.name === "archive/data.warc")!.data);
    const at = warc.indexOf(PRODUCT_TEXT);
    warc[at] ^= 0x20;
    const dp = JSON.parse(entries.find((e) => e.name === "datapackage.json")!.data.toString());
    for (const r of dp.resources)
      if (r.path === "archive/data.warc")
        r.hash = `sha256:${require("node:crypto").createHash("sha256").update(warc).digest("hex")}`;
    const forged = writeZip(
      entries.map((e) => ({
        name: e.name,
        data:
          e.name === "archive/data.warc"
            ? warc
            : e.name === "datapackage.json"
              ? Buffer.from(JSON.stringify(dp))
              : e.data,
      })),
    );
    const v = verifyWaczBytes(forged);
    expect(v.ok).to.equal(false);
    expect(v.code).to.equal("WACZ_FILE_MISMATCH"); // datapackage.json no longer matches the signed digest…
    expect(v.file).to.equal("datapackage.json");
    expect(v.records.failures.length).to.equal(1); // …and the record fails its own payload digest
    expect(v.records.failures[0].uri).to.equal(productUrl);
  });

  it("a re-signed or unsigned digest file fails the signature or the anchor", async function () {
    const entries = [...readZip(bytes).values()].sort((a, b) => a.offset - b.offset);
    const digest = JSON.parse(entries.find((e) => e.name === "datapackage-digest.json")!.data.toString());
    digest.signedData.signature = Buffer.alloc(96, 1).toString("base64");
    const forged = writeZip(
      entries.map((e) => ({
        name: e.name,
        data: e.name === "datapackage-digest.json" ? Buffer.from(JSON.stringify(digest)) : e.data,
      })),
    );
    const v = verifyWaczBytes(forged);
    expect(v.code).to.equal("WACZ_SIGNATURE_INVALID");
    expect(v.file).to.equal("datapackage-digest.json");
  });

  it("writes the court report (HTML with the screenshot, and PDF)", async function () {
    const html = path.join(ws.dir, "report.html");
    const r = await runCli(["report", wacz, "--out", html, "--lang", "en"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr + r.stdout).to.equal(0);
    const text = fs.readFileSync(html, "utf8");
    expect(text)
      .to.include("VERIFIED")
      .and.to.include("Clean-environment checks")
      .and.to.include("does NOT prove who operates the page");
    expect(text).to.include("data:image/png;base64,").and.to.include("img-src data:");
    expect(text).to.include("unzip -p").and.to.include("eth_call");
    const pdf = path.join(ws.dir, "report.pdf");
    const p = await runCli(["report", wacz, "--out", pdf, "--lang", "zh"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
      timeoutMs: 120_000,
    });
    expect(p.code, p.stderr).to.equal(0);
    expect(fs.readFileSync(pdf).subarray(0, 5).toString()).to.equal("%PDF-");
  });

  describe("hostile pages, with a proxy variable set", function () {
    let hostile: CaptureRecord;
    let hostileBytes: Buffer;
    let hostileUrls: string[];

    before(async function () {
      hostileUrls = ["/slow", "/big", "/popup", "/local", "/hostile", "/silent"].map((p) => `${site.base}${p}`);
      const out = path.join(ws.dir, "hostile.wacz");
      await captureToWacz({
        urls: hostileUrls,
        out,
        dataDir: ws.dataDir,
        version: "test",
        timeoutMs: 15_000,
        settleMs: 1_000,
        maxResponseBytes: 4 * 1024 * 1024,
        env: { ...process.env, HTTPS_PROXY: "http://127.0.0.1:9" },
      });
      hostileBytes = fs.readFileSync(out);
      hostile = JSON.parse(readZip(hostileBytes).get("capture/record.json")!.data.toString("utf8"));
    });

    it("the clean-environment check fails visibly, naming the proxy variable", function () {
      expect(hostile.clean.ok).to.equal(false);
      const proxy = hostile.clean.checks.find((c) => c.item === "no-proxy")!;
      expect(proxy.ok).to.equal(false);
      expect(proxy.observed).to.include("HTTPS_PROXY=http://127.0.0.1:9");
      expect(hostile.proxy.environment).to.deep.equal({ HTTPS_PROXY: "http://127.0.0.1:9" });
    });

    it("a page that never finishes loading ends at the time limit and says so", function () {
      const slow = hostile.pages[0];
      expect(slow.loadTimedOut).to.equal(true);
      expect(slow.text).to.include("never finishes loading");
      expect(hostile.truncated.some((t) => t.url.endsWith("/hang.png") && t.reason === "time")).to.equal(true);
    });

    it("a server that never answers: the capture ends at the time limit, the request is listed as failed", function () {
      const silent = hostile.pages[5];
      expect(silent.loadTimedOut).to.equal(true);
      expect(hostile.failed.some((f) => f.url === `${site.base}/silent` && /no response/.test(f.error))).to.equal(true);
    });

    it("a 50 MB response is kept bounded and recorded as truncated", function () {
      const big = hostile.truncated.find((t) => t.url.endsWith("/big.js"))!;
      expect(big.reason).to.equal("length");
      expect(big.keptBytes).to.be.at.most(4 * 1024 * 1024);
      expect(hostileBytes.length).to.be.lessThan(10 * 1024 * 1024);
      expect(readZip(hostileBytes).get("archive/data.warc")!.data.toString("latin1")).to.include(
        "WARC-Truncated: length",
      );
    });

    it("pop-ups are closed and listed; navigating away is recorded", function () {
      const p = hostile.pages[2];
      expect(p.popups.length).to.equal(1);
      expect(p.navigations.map((n) => n.url)).to.include(`${site.base}/away`);
    });

    it("data: and blob: resources are listed (the data: image with its SHA-256), not archived as exchanges", function () {
      const local = hostile.pages[3].localResources;
      expect(local.some((r) => r.kind === "data" && /^[0-9a-f]{64}$/.test(r.sha256 ?? ""))).to.equal(true);
      expect(local.some((r) => r.kind === "blob")).to.equal(true);
      expect(hostile.images.some((i) => i.url.startsWith("data:image/png"))).to.equal(true);
    });

    it("the WACZ still verifies offline, and the report escapes markup in the page title", function () {
      expect(verifyWaczBytes(hostileBytes).ok).to.equal(true);
      expect(hostile.pages[4].title).to.equal(HOSTILE_TITLE);
      const { buildCaptureReportModel, renderCaptureReportHtml } =
        require("../../packages/sdk/src") as typeof import("../../packages/sdk/src");
      const v = {
        ok: false,
        code: "RECEIPT_NOT_FOUND" as const,
        message: "not anchored",
        path: "hostile.wacz",
        wacz: verifyWaczBytes(hostileBytes),
        timeSignatures: [],
        receiptPath: "x",
      };
      const html = renderCaptureReportHtml(buildCaptureReportModel(v, { lang: "en" }), []);
      expect(html).to.not.include("<script>alert(1)</script>");
      expect(html).to.include("&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;Evil &amp; Co&lt;/b&gt;");
      expect(html).to.include("CLEAN-ENVIRONMENT CHECK FAILED");
    });
  });
});
