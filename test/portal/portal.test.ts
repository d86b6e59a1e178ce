import { createHash } from "node:crypto";
import { expect } from "chai";
import { CHROMIUM_ARGS } from "../../packages/sdk/src/capture/browser";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { Contract, keccak256, toUtf8Bytes, Wallet, ZeroHash } from "ethers";
import Database from "better-sqlite3";
import {
  calendarAttestationFor,
  computeLeaf,
  devAccounts,
  EvidenceRegistryClient,
  GiSession,
  MerkleTree,
  openChain,
  ProvenanceRegistryClient,
  readDeployments,
  registryArtifact,
  requestTimestamp,
  serializeReceipt,
  signCalendarAcknowledgement,
  type Receipt,
  minedReceipt,
} from "../../packages/sdk/src";
import { startTestTsa } from "../helpers/tsa";
import {
  accountLabel,
  clientAddress,
  createHandler,
  Indexer,
  openDb,
  parseLotId,
  startPortal,
  type Portal,
} from "../../packages/portal/src";
import { LotIndex } from "../../packages/portal/src/lot-index";
import {
  ALTERED_NOTE,
  alterDocument,
  CERTIFICATE_NAME,
  HOSTILE_PARTICIPANT,
  RETAIL_ADDRESS,
  seedWorld,
  stopChain,
  tempDataDir,
  XSS_NAME,
  type SeededWorld,
} from "./fixture";
import { runCli } from "../cli/helpers";

const CHROMIUM = "/usr/bin/chromium";
/** The flags every Proofmark browser runs with (the SDK's, as the capture uses them). */
const ARGS = CHROMIUM_ARGS;
const RESULTS = path.join(__dirname, "..", "..", "test-results");

async function get(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, headers: r.headers, text: await r.text() };
}

/** A request from a given loopback address (127.0.0.0/8 all reach this machine): another client, as the portal sees it. */
function getFrom(
  url: string,
  localAddress: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("portal (real chain, real SQLite, real browser)", function () {
  this.timeout(180_000);
  let world: SeededWorld;
  let portal: Portal;
  let browser: Browser | undefined;
  const scanPath = (uri: string) => new URL(uri).pathname;

  before(async function () {
    const dataDir = tempDataDir("portal");
    world = await seedWorld(dataDir);
    // One inspection document is altered in the content store before the portal reads it.
    expect(alterDocument(dataDir, ALTERED_NOTE)).to.be.greaterThan(0);
    portal = await startPortal({ dataDir, port: 0, pollMs: 200 });
    await portal.sync();
    if (fs.existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await portal?.close();
    if (world) await stopChain(world.dataDir);
  });

  function needBrowser(ctx: Mocha.Context): Browser {
    if (!browser) {
      console.log(`      (skipped: ${CHROMIUM} is missing — apt-get install -y chromium)`);
      ctx.skip();
    }
    return browser!;
  }

  async function phone(b: Browser, lang = "zh-CN"): Promise<Page> {
    const context = await b.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      locale: lang,
      userAgent: `pm-test-${Math.random()}`,
    });
    return context.newPage();
  }

  describe("JSON API and headers", () => {
    it("reports health with the chain reachable and the registries followed", async () => {
      const r = JSON.parse((await get(`${portal.url}/api/health`)).text);
      expect(r.chain.reachable).to.equal(true);
      expect(r.evidenceRegistry).to.match(/^0x[0-9a-fA-F]{40}$/);
      expect(r.provenanceRegistry).to.match(/^0x[0-9a-fA-F]{40}$/);
    });

    it("serves a lot's trace from the index: product, ancestors back to the harvest, every event, codes", async () => {
      const r = JSON.parse((await get(`${portal.url}/api/lots/${world.goodLot}/trace`)).text);
      expect(r.product.name).to.equal("砀山酥梨");
      expect(r.status).to.equal("genuine");
      expect(r.ancestors).to.have.length(1);
      expect(r.ancestors[0].origin).to.equal("harvest");
      expect(r.events.map((e: { step: string }) => e.step)).to.include.members([
        "commissioning",
        "inspecting",
        "packing",
        "shipping",
        "receiving",
      ]);
      expect(r.codes[0].commitment).to.equal(world.good.manifest.commitment);
    });

    it("names chain facts as the glossary does: blockNumber and txHash in lots, events, codes and recalls", async () => {
      const trace = JSON.parse((await get(`${portal.url}/api/lots/${world.goodLot}/trace`)).text);
      const recalled = JSON.parse((await get(`${portal.url}/api/lots/${world.recalledLot}`)).text);
      for (const fact of [trace.lot, trace.events[0], trace.codes[0], recalled.recall]) {
        expect(fact.blockNumber).to.be.a("number").and.greaterThan(0);
        expect(fact.txHash).to.match(/^0x[0-9a-f]{64}$/);
        expect(fact).to.not.have.any.keys("block", "tx");
      }
    });

    it("marks a lot whose harvest was recalled as recalled, with the reason", async () => {
      const r = JSON.parse((await get(`${portal.url}/api/lots/${world.recalledLot}`)).text);
      expect(r.status).to.equal("recalled");
      expect(r.recall.reason).to.equal("pesticide residue above limit");
    });

    it("rejects bad path parameters with 400 and no stack trace", async () => {
      for (const p of [
        "/api/lots/abc",
        "/api/lots/99999999999999999999999",
        "/api/anchors/0x12",
        "/api/serials/<script>",
      ]) {
        const r = await get(`${portal.url}${p}`);
        expect(r.status, p).to.equal(400);
        expect(r.text).not.to.match(/at .*\.(ts|js):\d+/);
      }
      const page = await get(`${portal.url}/01/06901234567893/10/1/21/X`);
      expect(page.status).to.equal(400);
      expect(page.text).not.to.match(/at .*\.(ts|js):\d+/);
      expect((await get(`${portal.url}/api/lots/424242`)).status).to.equal(404);
    });

    it("sends a strict Content-Security-Policy: no script on scan pages, the verify page's one script by its hash", async () => {
      const a = await get(`${portal.url}${scanPath(world.good.manifest.serials[0].uri)}`);
      const b = await get(`${portal.url}/verify`);
      const csp = a.headers.get("content-security-policy")!;
      expect(csp).to.match(/default-src 'none'/);
      expect(csp).to.include("script-src 'none'");
      expect(a.text).not.to.include("<script");
      expect(csp).not.to.match(/unsafe/);
      const verifyCsp = b.headers.get("content-security-policy")!;
      expect(verifyCsp).not.to.match(/unsafe/);
      const scripts = [...b.text.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
      expect(scripts).to.have.length(1);
      const hash = createHash("sha256").update(scripts[0], "utf8").digest("base64");
      expect(verifyCsp).to.include(`script-src 'sha256-${hash}'`);
      // A script with any other text (one injected into the page, say) has another hash and is refused.
      expect(verifyCsp).not.to.include(createHash("sha256").update(`${scripts[0]} `, "utf8").digest("base64"));
      expect(a.headers.get("x-content-type-options")).to.equal("nosniff");
    });

    it("counts a client once per window, however often it reloads", async () => {
      const serial = world.good.manifest.serials[1];
      for (let i = 0; i < 5; i++) await get(`${portal.url}${scanPath(serial.uri)}`, { "user-agent": "same-client" });
      const r = JSON.parse((await get(`${portal.url}/api/serials/${serial.serial}`)).text);
      expect(r.known).to.equal(true);
      expect(r.scans.count).to.equal(1);
      await getFrom(`${portal.url}${scanPath(serial.uri)}`, "127.0.0.2", { "user-agent": "another-client" });
      expect(JSON.parse((await get(`${portal.url}/api/serials/${serial.serial}`)).text).scans.count).to.equal(2);
    });

    it("counts by client address: a rotating User-Agent, HEAD requests and a spoofed X-Forwarded-For add nothing", async () => {
      const serial = world.good.manifest.serials[3];
      const uri = `${portal.url}${scanPath(serial.uri)}`;
      const count = async () => JSON.parse((await get(`${portal.url}/api/serials/${serial.serial}`)).text).scans.count;
      for (let i = 0; i < 6; i++)
        await getFrom(uri, "127.0.0.3", { "user-agent": `rotated-${i}`, "x-forwarded-for": `203.0.113.${i}` });
      expect(await count(), "one machine, six user agents, six forged proxy headers").to.equal(1);
      for (let i = 0; i < 3; i++) expect((await getFrom(uri, "127.0.0.4", {}, "HEAD")).status).to.equal(200);
      expect(await count(), "HEAD is not a scan").to.equal(1);
      await getFrom(uri, "127.0.0.4");
      expect(await count()).to.equal(2);
    });

    it("behind a trusted proxy, counts the address the proxy appended (right-most), not the client-supplied entries", async () => {
      // A second handler on the same index, as a portal behind a reverse proxy runs it.
      const db = new Database(path.join(world.dataDir, "portal", "index-31337.sqlite"));
      db.pragma("busy_timeout = 5000");
      const handler = createHandler({
        db,
        chainId: 31337,
        provider: portal.chain.provider,
        status: portal.indexer.status,
        trustProxy: true,
      });
      const server = http.createServer(handler);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
      try {
        const proxied = `http://127.0.0.1:${(server.address() as { port: number }).port}${scanPath(world.good.manifest.serials[4].uri)}`;
        const count = async () =>
          JSON.parse((await get(`${portal.url}/api/serials/${world.good.manifest.serials[4].serial}`)).text).scans
            .count;
        // The client forges the first entries; the proxy appends the address it saw (198.51.100.7).
        for (let i = 0; i < 5; i++)
          await get(proxied, { "x-forwarded-for": `10.0.0.${i}, 192.0.2.${i}, 198.51.100.7` });
        handler.flush();
        expect(await count()).to.equal(1);
        await get(proxied, { "x-forwarded-for": "10.0.0.1, 198.51.100.8" });
        handler.flush();
        expect(await count()).to.equal(2);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
        handler.flush();
        db.close();
      }
    });

    it("takes the right-most X-Forwarded-For entry only with --trust-proxy", () => {
      const req = (xff: string | string[] | undefined) =>
        ({ headers: { "x-forwarded-for": xff }, socket: { remoteAddress: "127.0.0.9" } }) as never;
      expect(clientAddress(req("1.1.1.1, 2.2.2.2"), false)).to.equal("127.0.0.9");
      expect(clientAddress(req("1.1.1.1, 2.2.2.2"), true)).to.equal("2.2.2.2");
      expect(clientAddress(req(["1.1.1.1", "3.3.3.3"]), true)).to.equal("3.3.3.3");
      expect(clientAddress(req(undefined), true)).to.equal("127.0.0.9");
      expect(clientAddress(req(" , "), true)).to.equal("127.0.0.9");
    });

    it("chooses the language from ?lang, the cookie, then Accept-Language", async () => {
      const uri = `${portal.url}${scanPath(world.good.manifest.serials[0].uri)}`;
      expect((await get(uri, { "accept-language": "en-US,en;q=0.9" })).text).to.include("Genuine");
      expect((await get(uri, { "accept-language": "zh-CN,zh;q=0.9,en;q=0.8" })).text).to.include("正品");
      expect((await get(uri, { "accept-language": "de, en;q=0.5, zh;q=0.4" })).text).to.include("Genuine");
      const switched = await get(`${uri}?lang=en`, { "accept-language": "zh-CN" });
      expect(switched.text).to.include("Genuine");
      expect(switched.headers.get("set-cookie")).to.match(/lang=en/);
      expect((await get(uri, { cookie: "lang=en", "accept-language": "zh-CN" })).text).to.include("Genuine");
    });
  });

  describe("scan pages in Chromium (phone size)", () => {
    it("shows the origin of a demo package, each step verified on chain; saves a screenshot", async function () {
      const page = await phone(needBrowser(this));
      await page.goto(world.good.manifest.serials[0].uri.replace(/^https?:\/\/[^/]+/, portal.url));
      await page.locator("#genuine").waitFor();
      const origin = await page.locator("#origin").innerText();
      expect(origin).to.include("砀山酥梨");
      expect(origin).to.include("安徽省砀山县");
      expect(origin).to.include("AGI00001");
      // The producer by its participant record (name, licence number), not a dev-account label.
      expect(await page.locator("#producer").innerText()).to.equal("砀山县李庄果园 · 许可证号 SC-2026-0042");
      expect(await page.locator("#harvest-date").innerText()).to.include("2026");
      const steps = await page.locator("#timeline li").allInnerTexts();
      expect(steps.join("\n"))
        .to.include("采收")
        .and.include("检验")
        .and.include("包装")
        .and.include("发货")
        .and.include("收货");
      expect(await page.locator("#timeline .badge").count()).to.equal(steps.length);
      // Packing is recorded on the harvest lot and on the packed lot in one transaction: shown once.
      expect(
        steps.filter((s) => s.includes("包装")),
        "packing once",
      ).to.have.length(1);
      expect(await page.locator("#timeline .badge").first().innerText()).to.include("已上链验证");
      expect(await page.locator("#warn-counterfeit").count()).to.equal(0);
      fs.mkdirSync(RESULTS, { recursive: true });
      await page.screenshot({ path: path.join(RESULTS, "scan-page-390x844.png"), fullPage: false });
      await page.screenshot({ path: path.join(RESULTS, "scan-page-full.png"), fullPage: true });
      await page.locator("#lang-switch").click();
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#genuine").innerText()).to.include("Genuine");
      expect(await page.locator("#producer").innerText()).to.equal("Lizhuang Orchard, Dangshan · licence SC-2026-0042");
      const timelineEn = await page.locator("#timeline").innerText();
      expect(timelineEn).to.include("By Lizhuang Orchard, Dangshan · licence SC-2026-0042");
      expect(timelineEn).to.include("By Anhui Agricultural Products Inspection Centre");
      expect(timelineEn, "logistics has no record").to.include("By logistics · unregistered");
      await page.context().close();
    });

    it("names an unregistered producer by its account, marked 未登记 / unregistered", async function () {
      const page = await phone(needBrowser(this));
      await page.goto(`${portal.url}${scanPath(world.recalled.manifest.serials[0].uri)}`);
      await page.locator("#warn-recall").waitFor();
      const en = await get(`${portal.url}${scanPath(world.recalled.manifest.serials[0].uri)}?lang=en`);
      expect(en.text).to.include('<span class="mono">farmer2</span> · <span class="unregistered">unregistered</span>');
      const zh = await get(`${portal.url}${scanPath(world.recalled.manifest.serials[0].uri)}?lang=zh`);
      expect(zh.text).to.include('<span class="mono">farmer2</span> · <span class="unregistered">未登记</span>');
      await page.context().close();
    });

    it("warns that a serial with one character changed is likely counterfeit", async function () {
      const page = await phone(needBrowser(this));
      const s = world.good.manifest.serials[0];
      const forged = s.serial.slice(0, -1) + (s.serial.endsWith("A") ? "B" : "A");
      await page.goto(`${portal.url}${scanPath(s.uri).replace(s.serial, forged)}`);
      const text = await page.locator("#warn-counterfeit").innerText();
      expect(text).to.include("可能是假冒产品");
      expect(await page.locator("#genuine").count()).to.equal(0);
      expect(await page.locator("#origin").count()).to.equal(0);
      await page.screenshot({ path: path.join(RESULTS, "scan-counterfeit-390x844.png") });
      await page.context().close();
    });

    it("warns that a lot that does not exist was not found", async function () {
      const page = await phone(needBrowser(this), "en-US");
      await page.goto(`${portal.url}/01/${world.gtin}/10/987654/21/${world.good.manifest.serials[0].serial}`);
      expect(await page.locator("#warn-lot").innerText()).to.include("Lot or product not found");
      await page.context().close();
    });

    it("shows the recall of a package whose harvest was recalled", async function () {
      const page = await phone(needBrowser(this));
      await page.goto(`${portal.url}${scanPath(world.recalled.manifest.serials[0].uri)}`);
      const text = await page.locator("#warn-recall").innerText();
      expect(text).to.include("此批次已召回");
      expect(text).to.include("pesticide residue above limit");
      expect(await page.locator("#genuine").count()).to.equal(0);
      await page.context().close();
    });

    it("renders a product named <img src=x onerror=alert(1)> as inert text", async function () {
      const page = await phone(needBrowser(this), "en-US");
      let dialogs = 0;
      page.on("dialog", (d) => {
        dialogs++;
        void d.dismiss();
      });
      await page.goto(`${portal.url}${scanPath(world.xss.manifest.serials[0].uri)}`);
      await page.locator("#origin").waitFor();
      expect(await page.locator(".product-name").innerText()).to.equal(XSS_NAME);
      expect(await page.locator("#plot").innerText(), "a plot from the event document, escaped").to.equal(XSS_NAME);
      expect(await page.locator("#timeline").innerText()).to.include(`Note: ${XSS_NAME}`);
      expect(await page.locator("main img").count()).to.equal(0);
      // A hostile participant record (markup, a right-to-left override, newlines, an escape), written
      // straight to the registry: shown as text, each name isolated in its own <bdi>.
      const shownName = await page.locator("#producer bdi.participant").innerText();
      expect(shownName).to.include("<script>alert(3)</script>").and.include("\u202E").and.include("VERIFIED");
      expect(await page.locator("#producer bdi.licence").innerText()).to.equal(HOSTILE_PARTICIPANT.licence);
      expect(await page.locator("main script, main svg, main b").count()).to.equal(0);
      const raw = (await get(`${portal.url}${scanPath(world.xss.manifest.serials[0].uri)}?lang=zh`)).text;
      expect(raw).to.not.include("<b>farm</b>");
      expect(raw).to.not.include("<svg");
      expect(raw).to.include("&lt;img src=x onerror=alert(2)&gt;\u202Eevil\n&lt;b&gt;farm&lt;/b&gt;</bdi>");
      await page.waitForTimeout(300);
      expect(dialogs).to.equal(0);
      await page.context().close();
    });

    it("gi trace prints the same hostile participant record with every control character escaped", async function () {
      const out = await runCli(["gi", "trace", String(world.xssLot), "--lang", "en"], {
        cwd: world.dataDir,
        dataDir: world.dataDir,
      });
      expect(out.code, out.stderr).to.equal(0);
      expect(out.stdout).to.include("by <script>alert(3)</script>\\u202e\\e[2Jfarm\\r\\nVERIFIED · licence");
      expect(out.stdout).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f\u202e\u2066]/);
      const zh = await runCli(["gi", "trace", String(world.goodLot), "--lang", "zh"], {
        cwd: world.dataDir,
        dataDir: world.dataDir,
      });
      expect(zh.stdout).to.match(/by 砀山县李庄果园 · 许可证号 SC-2026-0042, season 2026/);
      expect(zh.stdout).to.match(/shipping .*logistics 0x[0-9a-fA-F]{40} · 未登记/);
    });

    it("warns when a code was scanned many times, with the first scan time and count", async function () {
      const s = world.good.manifest.serials[2];
      // Six other machines (a user agent alone makes no new client).
      for (let i = 0; i < 6; i++)
        await getFrom(`${portal.url}${scanPath(s.uri)}`, `127.0.1.${i + 1}`, { "user-agent": `client-${i}` });
      const page = await phone(needBrowser(this), "en-US");
      await page.goto(`${portal.url}${scanPath(s.uri)}`);
      const text = await page.locator("#warn-scans").innerText();
      expect(text).to.match(/7 scans in all/);
      expect(text).to.match(/First scanned \d/);
      await page.context().close();
    });
  });

  describe("the consumer sees the verdict the SDK gives", () => {
    const indexFile = () => path.join(world.dataDir, "portal", "index-31337.sqlite");

    it("gives every seeded lot the status `gi trace` gives it (one assessment, fed by one log reducer)", async () => {
      const chain = await openChain({ dataDir: world.dataDir });
      const gi = await GiSession.open(chain, { readOnly: true });
      try {
        for (const lot of [world.goodLot, world.recalledLot, world.alteredLot, world.spareLot]) {
          const sdk = await gi.trace(lot);
          const api = JSON.parse((await get(`${portal.url}/api/lots/${lot}/trace`)).text);
          expect(api.status, `lot ${lot}: ${sdk.reasons.join("; ")}`).to.equal(sdk.status);
          expect(api.checks).to.deep.equal(sdk.checks);
        }
        expect((await gi.trace(world.goodLot)).status).to.equal("genuine");
        expect((await gi.trace(world.alteredLot)).status).to.equal("broken");
      } finally {
        await gi.close();
        chain.close();
      }
    });

    it("shows the plot and the inspection certificate from the verified event documents, in both languages", async function () {
      const page = await phone(needBrowser(this));
      await page.goto(`${portal.url}${scanPath(world.good.manifest.serials[1].uri)}?lang=zh`);
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#plot").innerText()).to.equal("DS-07");
      expect(await page.locator("#certificate").innerText()).to.equal(CERTIFICATE_NAME);
      expect(await page.locator("#timeline").innerText()).to.include(`检验证书: ${CERTIFICATE_NAME}`);
      await page.goto(`${portal.url}${scanPath(world.good.manifest.serials[1].uri)}?lang=en`);
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#timeline").innerText()).to.include(`Inspection certificate: ${CERTIFICATE_NAME}`);
      expect(await page.locator("#plot").innerText()).to.equal("DS-07");
      await page.context().close();
    });

    it("shows a place recorded as a plain address (kept beside its URI in the event document), in both languages", async function () {
      const page = await phone(needBrowser(this));
      await page.goto(`${portal.url}${scanPath(world.good.manifest.serials[1].uri)}?lang=zh`);
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#timeline").innerText()).to.include(`地点: ${RETAIL_ADDRESS}`);
      await page.goto(`${portal.url}${scanPath(world.good.manifest.serials[1].uri)}?lang=en`);
      expect(await page.locator("#timeline").innerText()).to.include(`Location: ${RETAIL_ADDRESS}`);
      await page.context().close();
    });

    it("a box whose event document was altered in the store shows broken, never genuine (zh and en)", async function () {
      const page = await phone(needBrowser(this));
      const uri = `${portal.url}${scanPath(world.altered.manifest.serials[0].uri)}`;
      await page.goto(`${uri}?lang=zh`);
      const zh = await page.locator("#warn-broken").innerText();
      expect(zh).to.include("溯源记录与区块链不符");
      expect(zh).to.include("事件文件与链上摘要不符");
      expect(await page.locator("#genuine").count()).to.equal(0);
      // The altered document's contents are never shown as if they were evidence.
      expect(await page.locator("main").innerText()).not.to.include("lot to be altered");
      expect(await page.locator("#timeline .badge.bad").count()).to.be.greaterThan(0);
      await page.screenshot({ path: path.join(RESULTS, "scan-broken-390x844.png") });
      await page.goto(`${uri}?lang=en`);
      expect(await page.locator("#warn-broken").innerText()).to.include("does not match the blockchain");
      expect(await page.locator("#genuine").count()).to.equal(0);
      await page.context().close();
      const api = JSON.parse(
        (await get(`${portal.url}/api/scan${scanPath(world.altered.manifest.serials[0].uri)}`)).text,
      );
      expect(api.status).to.equal("broken");
    });

    it("a box whose indexed head disagrees with the chain shows broken; one never checked against storage shows unverifiable", async function () {
      const b = needBrowser(this);
      const uri = `${portal.url}${scanPath(world.spare.manifest.serials[0].uri)}`;
      expect((await get(`${uri}?lang=en`)).text).to.include('id="genuine"');
      const db = new Database(indexFile());
      try {
        // The index's head of the packed lot no longer is the one the chain keeps.
        db.prepare(
          "UPDATE lot_states SET head = ? WHERE lot = ? AND block = (SELECT MAX(block) FROM lot_states WHERE lot = ?)",
        ).run(`0x${"ab".repeat(32)}`, world.spareLot, world.spareLot);
        portal.indexer.status.version++; // what every sync that changes the index does: pages and traces are rebuilt
        const page = await phone(b);
        await page.goto(`${uri}?lang=zh`);
        expect(await page.locator("#warn-broken").innerText()).to.include("哈希链与链上存储不符");
        expect(await page.locator("#genuine").count()).to.equal(0);
        await page.goto(`${uri}?lang=en`);
        expect(await page.locator("#warn-broken").innerText()).to.include(
          "its hash chain differs from the chain's storage",
        );
        const trace = JSON.parse((await get(`${portal.url}/api/lots/${world.spareLot}/trace`)).text);
        expect(trace.status).to.equal("broken");
        expect(trace.findings.map((f: { kind: string }) => f.kind)).to.include("head-mismatch");
        // Without the storage words read from the chain, nothing can be compared: unverifiable, not genuine.
        db.prepare("DELETE FROM lot_checks WHERE lot = ?").run(world.spareLot);
        portal.indexer.status.version++;
        await page.goto(`${uri}?lang=zh`);
        expect(await page.locator("#warn-unverifiable").innerText()).to.include("暂时无法完整验证");
        expect(await page.locator("#genuine").count()).to.equal(0);
        await page.goto(`${uri}?lang=en`);
        expect(await page.locator("#warn-unverifiable").innerText()).to.include("could not be fully verified");
        expect(JSON.parse((await get(`${portal.url}/api/lots/${world.spareLot}/trace`)).text).status).to.equal(
          "unverifiable",
        );
        await page.context().close();
      } finally {
        db.close();
      }
    });
  });

  describe("verify page in Chromium", () => {
    before(async () => {
      // The page runs the SDK's engine, which (like `verify` and `report`) says "not yet final" until
      // the anchoring block is final: mine past Anvil's finality depth.
      const chain = await openChain({ dataDir: world.dataDir });
      try {
        await chain.provider.send("anvil_mine", ["0x46"]);
      } finally {
        chain.close();
      }
    });
    async function verifyWith(b: Browser, files: string[]): Promise<{ ok: boolean; text: string }> {
      const page = await phone(b, "en-US");
      const requests: string[] = [];
      page.on("request", (r) => requests.push(`${r.method()} ${r.url()} ${r.postData() ?? ""}`));
      await page.goto(`${portal.url}/verify`);
      await page.locator("#files").setInputFiles(files);
      await page.locator("#verify").click();
      await page.locator("#verify-ok, #verify-fail").first().waitFor({ timeout: 30_000 });
      const ok = (await page.locator("#verify-ok").count()) === 1;
      const text = await page.locator("#result").innerText();
      if (ok) await page.screenshot({ path: path.join(RESULTS, "verify-ok-390x844.png") });
      // The file never leaves the device: only GETs, no request carries a body.
      expect(requests.every((r) => r.startsWith("GET ") && r.endsWith(" "))).to.equal(true, requests.join("\n"));
      await page.context().close();
      return { ok, text };
    }

    it("passes a stamped file with its receipt and says when it was anchored", async function () {
      const r = await verifyWith(needBrowser(this), [world.stampedFile, world.receiptFile]);
      expect(r.ok, r.text).to.equal(true);
      expect(r.text).to.match(/existed no later than .* \(block \d+, \d+ confirmations\)/);
    });

    it("fails a tampered file", async function () {
      const dir = tempDataDir("tampered");
      const copy = path.join(dir, path.basename(world.stampedFile));
      const bytes = fs.readFileSync(world.stampedFile);
      bytes[100] ^= 1;
      fs.writeFileSync(copy, bytes);
      const r = await verifyWith(needBrowser(this), [copy, world.receiptFile]);
      expect(r.ok).to.equal(false);
      expect(r.text).to.include("differs from what was stamped");
    });

    it("a receipt witnessed by RFC 3161 tokens only, and a pending one, each say what to do instead, never verified", async function () {
      const b = needBrowser(this);
      const stamped = JSON.parse(fs.readFileSync(world.receiptFile, "utf8")) as Receipt;
      const dir = tempDataDir("witness-receipts");
      const write = (name: string, r: unknown) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, serializeReceipt(r as Receipt));
        return file;
      };
      const tsa = await startTestTsa({ name: "Portal" });
      try {
        const token = await requestTimestamp(tsa.url, stamped.proof.root);
        const tokensOnly = write(path.basename(world.receiptFile), {
          ...stamped,
          version: 2,
          anchors: [],
          timestamps: [token],
          attestations: [],
          calendars: [],
        });
        const r = await verifyWith(b, [world.stampedFile, tokensOnly]);
        expect(r.ok).to.equal(false);
        expect(r.text).to.include("no blockchain anchor").and.include("--tsa-trust");
      } finally {
        await tsa.close();
      }
      // a calendar's acknowledgement, not yet anchored
      const { salt, meta } = stamped.commitment;
      const leaf = computeLeaf({ sha256: stamped.subject.sha256, salt, meta });
      const ack = await signCalendarAcknowledgement(Wallet.createRandom(), {
        leaves: [leaf],
        receivedAt: Date.now(),
        calendar: "http://127.0.0.1:1",
      });
      const pendingDir = tempDataDir("pending-receipt");
      const pending = path.join(pendingDir, path.basename(world.receiptFile));
      fs.writeFileSync(
        pending,
        serializeReceipt({
          format: "proofmark-receipt",
          version: 2,
          subject: stamped.subject,
          commitment: { salt, meta, leaf },
          anchors: [],
          timestamps: [],
          attestations: [calendarAttestationFor(ack, ack.tree, 0)],
          calendars: ["http://127.0.0.1:1"],
        } as unknown as Receipt),
      );
      const p = await verifyWith(b, [world.stampedFile, pending]);
      expect(p.ok).to.equal(false);
      expect(p.text).to.include("still pending").and.include("proofmark upgrade");
    });

    it("fails a tampered receipt", async function () {
      const dir = tempDataDir("tampered-receipt");
      const receipt = JSON.parse(fs.readFileSync(world.receiptFile, "utf8"));
      receipt.commitment.meta = { ...receipt.commitment.meta, author: "someone else" };
      const file = path.join(dir, path.basename(world.receiptFile));
      fs.writeFileSync(file, JSON.stringify(receipt));
      const r = await verifyWith(needBrowser(this), [world.stampedFile, file]);
      expect(r.ok).to.equal(false);
      expect(r.text).to.include("receipt was altered");
    });
  });

  describe("indexer", () => {
    it("a scan page and trace already served show a recall recorded after them", async () => {
      const uri = `${portal.url}${scanPath(world.xss.manifest.serials[1].uri)}`;
      const before = await get(uri, { "accept-language": "en" });
      expect(before.text).to.include('id="genuine"');
      expect(JSON.parse((await get(`${portal.url}/api/lots/${world.xssLot}/trace`)).text).status).to.equal("genuine");
      const chain = await openChain({ dataDir: world.dataDir, as: "inspector" });
      try {
        const registry = new ProvenanceRegistryClient(
          readDeployments(world.dataDir, chain.chainId).ProvenanceRegistry!.address,
          await chain.signer(),
        );
        await registry.recall(world.xssLot, "mislabelled product", {
          eventTime: 1_790_000_000,
          location: ZeroHash as `0x${string}`,
          document: ZeroHash as `0x${string}`,
        });
      } finally {
        chain.close();
      }
      await portal.sync();
      const after = await get(uri, { "accept-language": "en" });
      expect(after.text).to.include('id="warn-recall"');
      expect(after.text).to.include("mislabelled product");
      expect(after.text).not.to.include('id="genuine"');
      expect(JSON.parse((await get(`${portal.url}/api/lots/${world.xssLot}/trace`)).text).status).to.equal("recalled");
    });

    it("undoes a reorganised block and indexes the new branch", async () => {
      const chain = await openChain({ dataDir: world.dataDir, as: "designer" });
      try {
        const registry = new EvidenceRegistryClient(
          readDeployments(world.dataDir, chain.chainId).EvidenceRegistry!.address,
          await chain.signer(),
        );
        const snapshot = await chain.provider.send("evm_snapshot", []);
        const a = MerkleTree.build([`0x${"a1".repeat(32)}`]).root;
        await registry.anchor(a, 1);
        await portal.sync();
        expect(JSON.parse((await get(`${portal.url}/api/anchors/${a}`)).text).indexed).not.to.equal(null);
        await chain.provider.send("evm_revert", [snapshot]);
        const b = MerkleTree.build([`0x${"b2".repeat(32)}`]).root;
        await registry.anchor(b, 1);
        // the explicit sync or the portal's own poller (whichever comes first) undoes the old branch
        await portal.indexer.sync();
        expect(portal.indexer.status.lastReorgFrom).to.be.a("number");
        expect(JSON.parse((await get(`${portal.url}/api/anchors/${a}`)).text).indexed).to.equal(null);
        const indexed = JSON.parse((await get(`${portal.url}/api/anchors/${b}`)).text).indexed;
        expect(indexed.root).to.equal(b);
        // the glossary's names, as in the same response's chain part
        expect(indexed).to.have.all.keys("root", "submitter", "leafCount", "blockNumber", "txHash", "anchoredAt");
      } finally {
        chain.close();
      }
    });

    it("a reorganisation that undoes the block a lot was last checked at reads the lot's storage again", async () => {
      // A lot changed at block L and checked against storage at L + 1 (the head of the sync that
      // indexed both); block L + 1 is then replaced: the check goes with it and must be made again.
      const chain = await openChain({ dataDir: world.dataDir, as: "logistics" });
      const dir = tempDataDir("reorg-check");
      const db = openDb(path.join(dir, "index.sqlite"));
      try {
        const deployments = readDeployments(world.dataDir, chain.chainId);
        const provenance = deployments.ProvenanceRegistry!.address;
        const registry = new Contract(
          provenance,
          registryArtifact("ProvenanceRegistry").abi as never,
          await chain.signer(),
        );
        const event = (n: string) => ({
          lot: world.spareLot,
          step: 9,
          disposition: 4,
          eventTime: 1_788_000_000,
          location: keccak256(toUtf8Bytes("truck")),
          document: keccak256(toUtf8Bytes(n)),
        });
        await minedReceipt(await registry.recordEvents([event("reorg-check")]));
        const snapshot = await chain.provider.send("evm_snapshot", []);
        const evidence = new EvidenceRegistryClient(deployments.EvidenceRegistry!.address, await chain.signer());
        await evidence.anchor(MerkleTree.build([`0x${"c3".repeat(32)}`]).root, 1);
        const indexer = new Indexer({ db, provider: chain.provider, provenanceRegistry: provenance, fromBlock: 0 });
        await indexer.sync();
        const lots = new LotIndex(db);
        expect(lots.stored(world.spareLot), "checked at the end of the catch-up").to.not.equal(undefined);
        await chain.provider.send("evm_revert", [snapshot]);
        await evidence.anchor(MerkleTree.build([`0x${"d4".repeat(32)}`]).root, 1);
        const r = await indexer.sync();
        expect(r.reorgedFrom).to.be.a("number");
        expect(lots.stored(world.spareLot), "checked again after the reorganisation").to.not.equal(undefined);
      } finally {
        db.close();
        chain.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("catches up on a history longer than the node keeps state for: lot storage is read at the head", async () => {
      // Anvil keeps the state of its last 64 blocks (geth 128): reads at the end of an old range fail.
      const chain = await openChain({ dataDir: world.dataDir });
      const dir = tempDataDir("long-history");
      const db = openDb(path.join(dir, "index.sqlite"));
      try {
        await chain.provider.send("anvil_mine", ["0x834"]); // 2,100 empty blocks after the season
        const provenance = readDeployments(world.dataDir, chain.chainId).ProvenanceRegistry!.address;
        const indexer = new Indexer({ db, provider: chain.provider, provenanceRegistry: provenance, fromBlock: 0 });
        const r = await indexer.sync();
        expect(r.indexedTo).to.equal(await chain.provider.getBlockNumber());
        expect(new LotIndex(db).stored(world.goodLot), "the lot's storage words were read").to.not.equal(undefined);
      } finally {
        db.close();
        chain.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it("shows the chain as unreachable (data not re-verified) when the chain stops", async function () {
      await stopChain(world.dataDir);
      await portal.sync().catch(() => undefined);
      expect(portal.indexer.status.reachable).to.equal(false);
      const r = await get(`${portal.url}${scanPath(world.good.manifest.serials[0].uri)}`, { "accept-language": "en" });
      expect(r.status).to.equal(200);
      expect(r.text).to.include("cannot be reached");
      expect(r.text).to.include("Not re-verified");
      expect(r.text).to.include("Dangshan Su Pear");
    });
  });
});

describe("portal: account labels", () => {
  it("names the local chain's dev accounts only on the local chain", () => {
    const farmer1 = devAccounts().find((a) => a.name === "farmer1")!.address;
    expect(accountLabel(farmer1, true)).to.equal("farmer1");
    // On any other chain the same well-known address is just an address.
    expect(accountLabel(farmer1, false)).to.equal(farmer1);
    expect(accountLabel("0x000000000000000000000000000000000000dEaD", true)).to.equal(
      "0x000000000000000000000000000000000000dEaD",
    );
  });
});

describe("portal: lot ids in paths", () => {
  it("accepts decimal ids up to 2^53 - 1 and refuses the rest", () => {
    expect(parseLotId("1")).to.equal(1);
    expect(parseLotId("9007199254740991")).to.equal(9007199254740991);
    for (const bad of [
      "0",
      "01",
      "-1",
      "1.0",
      "1e3",
      " 1",
      "abc",
      "",
      "9007199254740992",
      "18446744073709551615",
      "1".repeat(21),
    ]) {
      expect(parseLotId(bad), bad).to.equal(undefined);
    }
  });
});
