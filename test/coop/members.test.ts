import * as fs from "node:fs";
import { expect } from "chai";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { CHROMIUM_ARGS } from "../../packages/sdk/src/capture/browser";
import {
  EmbeddedStore,
  GiSession,
  devAccounts,
  issueScanCodes,
  openChain,
  parseQuantity,
  ProvenanceRegistryClient,
  readDeployments,
} from "../../packages/sdk/src";
import { startCoop, startPortal, type CoopServer, type Portal } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "../portal/fixture";

const CHROMIUM = "/usr/bin/chromium";
const PASS = "correct horse battery staple";
// A tiny PNG: the plot's certificate photo.
const PHOTO = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  "base64",
);

describe("co-op members record the season from phone pages; the co-op pays the gas (real chain, relay, browser)", function () {
  this.timeout(600_000);
  let dataDir: string;
  let coop: CoopServer;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const members: Record<string, { page: Page; address: string }> = {};

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is missing — apt-get install -y chromium)`);
      this.skip();
    }
    dataDir = tempDataDir("coop");
    coop = await startCoop({ dataDir, port: 0, burst: 20, perSecond: 5 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  });

  after(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await coop?.close();
    if (dataDir) await stopChain(dataDir);
  });

  async function phone(lang: "zh" | "en"): Promise<Page> {
    const context = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      locale: lang === "zh" ? "zh-CN" : "en-US",
    });
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${coop.url}/?lang=${lang}`);
    return page;
  }

  async function admin(as: string, fn: (gi: GiSession) => Promise<unknown>): Promise<void> {
    const gi = await GiSession.open(await openChain({ dataDir, as }));
    try {
      await fn(gi);
    } finally {
      await gi.close();
    }
  }

  /** Fills and sends a step's form; returns the newest result box (recorded or refusal). */
  async function record(page: Page, step: string, fields: Record<string, string>, before?: number) {
    const results = page.locator("#results .result");
    const count = before ?? (await results.count());
    const form = page.locator(`form[data-step="${step}"]`).first();
    for (const [name, value] of Object.entries(fields)) await form.locator(`[name="${name}"]`).fill(value);
    await form.locator("button[type=submit]").click();
    await page.waitForFunction((n) => document.querySelectorAll("#results .result").length > n, count, {
      timeout: 120_000,
    });
    return results.first();
  }

  it("members create their keys in the browser; the registry trusts the recorded forwarder", async function () {
    const deployments = readDeployments(dataDir, coop.chain.chainId);
    expect(deployments.ProvenanceForwarder?.address, "the forwarder is recorded beside the registry").to.match(/^0x/);
    const client = new ProvenanceRegistryClient(deployments.ProvenanceRegistry!.address, coop.chain.provider);
    expect(await client.contract.trustedForwarder()).to.equal(deployments.ProvenanceForwarder!.address);
    for (const [name, lang] of [
      ["farm1", "zh"],
      ["farm2", "zh"],
      ["inspector", "en"],
      ["packer", "zh"],
      ["carrier", "en"],
    ] as const) {
      const page = await phone(lang);
      await page.locator("#passphrase").fill(PASS);
      await page.locator("#create").click();
      const address = (await page.locator("#address").innerText({ timeout: 120_000 })).trim();
      expect(address).to.match(/^0x[0-9a-fA-F]{40}$/);
      const stored = await page.evaluate(() => localStorage.getItem("proofmark.coop.keystore"));
      const keystore = JSON.parse(stored!) as { version: number; crypto?: { kdf: string }; Crypto?: { kdf: string } };
      expect(keystore.version, "a standard (v3) JSON keystore").to.equal(3);
      expect((keystore.crypto ?? keystore.Crypto)!.kdf).to.equal("scrypt");
      expect(stored!.toLowerCase(), "no clear private key in storage").not.to.match(/privatekey/);
      expect(await page.locator("#no-roles").count()).to.equal(1);
      members[name] = { page, address };
    }
  });

  it("the co-op's admin creates the product and grants roles and licences to the members' addresses", async function () {
    await admin("registrar", (gi) =>
      gi.createProduct({
        name: "砀山酥梨",
        nameEn: "Dangshan Su Pear",
        giNumber: "AGI00001",
        region: "安徽省砀山县",
        unit: "g",
        admin: devAccounts().find((a) => a.name === "admin")!.address,
      }),
    );
    await admin("admin", async (gi) => {
      await gi.grantRole(1, "producer", members.farm1.address);
      await gi.grantRole(1, "producer", members.farm2.address);
      await gi.grantRole(1, "inspector", members.inspector.address);
      await gi.grantRole(1, "processor", members.packer.address);
      await gi.grantRole(1, "logistics", members.carrier.address);
      await gi.grantLicence(1, members.farm1.address, parseQuantity("2000kg", "g"), 2026);
      await gi.grantLicence(1, members.farm2.address, parseQuantity("1000kg", "g"), 2026);
    });
    // Unlocking decrypts the keystore with the passphrase; the page then shows only the steps the role allows.
    for (const m of Object.values(members)) {
      await m.page.reload();
      await m.page.locator("#passphrase").fill(PASS);
      await m.page.locator("#unlock").click();
      await m.page.locator("section.product").waitFor({ timeout: 120_000 });
    }
    const steps = async (name: string) =>
      members[name].page.locator("form[data-step]").evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.step));
    expect(await steps("farm1")).to.deep.equal(["harvest", "shipping"]);
    expect(await steps("inspector")).to.deep.equal(["inspecting"]);
    expect(await steps("packer")).to.deep.equal(["packing", "shipping", "receiving"]);
    expect(await steps("carrier")).to.deep.equal(["shipping", "receiving"]);
  });

  it("two farms harvest (one with the plot's certificate photo kept in the content store); each sees the lot and its transaction", async function () {
    const farm1 = members.farm1.page;
    await farm1.locator('form[data-step="harvest"] [name="photo"]').setInputFiles({
      name: "DS-07-certificate.png",
      mimeType: "image/png",
      buffer: PHOTO,
    });
    const r1 = await record(farm1, "harvest", { quantity: "1200kg", plot: "DS-07", date: "2026-09-01" });
    expect(await r1.getAttribute("class")).to.include("recorded");
    expect(await r1.innerText()).to.include("已记录：采收，批次 1");
    const tx1 = (await r1.locator("code.tx").innerText()).trim();
    const receipt = await coop.chain.provider.getTransactionReceipt(tx1);
    expect(receipt?.status).to.equal(1);
    expect(receipt?.from.toLowerCase(), "the relayer sent it").to.equal(
      (await coop.relay.relayer.getAddress()).toLowerCase(),
    );
    const client = new ProvenanceRegistryClient(coop.relay.registry, coop.chain.provider);
    const lot1 = await client.lot(1);
    expect(lot1.quantity).to.equal(1_200_000n);
    expect((await client.licence(1, members.farm1.address, 2026)).harvested, "the member's quota was used").to.equal(
      1_200_000n,
    );
    const r2 = await record(members.farm2.page, "harvest", { quantity: "800kg", plot: "DS-12", date: "2026-09-02" });
    expect(await r2.innerText()).to.include("批次 2");
    // The photo is in the content store, named in the harvest's event document.
    const store = new EmbeddedStore(dataDir);
    try {
      const docs = coop.relay.documents;
      const loaded = await docs.load(await harvestDocument(1));
      const event = loaded!.doc.epcis.epcisBody.eventList[0] as unknown as { ilmd: Record<string, string> };
      const ilmd = event.ilmd;
      expect(ilmd["gi:plot"]).to.equal("DS-07");
      expect(ilmd["gi:producer"]).to.equal(members.farm1.address.toLowerCase());
      const chunks: Uint8Array[] = [];
      for await (const chunk of store.get(ilmd["gi:attachment"])) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(PHOTO)).to.equal(true);
    } finally {
      await store.close();
    }
  });

  /** The document digest of the first event recorded on `lot` (from the registry's logs). */
  async function harvestDocument(lot: number): Promise<`0x${string}`> {
    const client = new ProvenanceRegistryClient(coop.relay.registry, coop.chain.provider);
    const logs = await client.contract.queryFilter(client.contract.filters.LotEventRecorded(lot));
    return (logs[0] as unknown as { args: { document: `0x${string}` } }).args.document;
  }

  it("over quota is refused in Chinese with the CLI's wording; a revoked role is refused in English; nothing recorded", async function () {
    const r = await record(members.farm2.page, "harvest", { quantity: "500kg", plot: "DS-12", date: "2026-09-03" });
    expect(await r.getAttribute("data-code")).to.equal("QUOTA_EXCEEDED");
    const zh = await r.innerText();
    expect(zh).to.include("未记录：采收");
    expect(zh).to.include("超出采收配额");
    expect(zh, "the CLI's message").to.include(
      "asked to harvest 500 kg but only 200 kg of the 2026 quota of 1,000 kg is left",
    );
    // The inspector's page is in English; the admin revokes the role, the inspector tries anyway.
    await admin("admin", (gi) => gi.revokeRole(1, "inspector", members.inspector.address));
    const e = await record(members.inspector.page, "inspecting", { lot: "2", note: "too late" });
    expect(await e.getAttribute("data-code")).to.equal("ROLE_MISSING");
    const en = await e.innerText();
    expect(en).to.include("Not recorded: Inspection");
    expect(en).to.include("Your role cannot record this step");
    expect(en).to.include(`${members.inspector.address} holds none of the roles admin / inspector of product 1`);
    await admin("admin", (gi) => gi.grantRole(1, "inspector", members.inspector.address));
    const client = new ProvenanceRegistryClient(coop.relay.registry, coop.chain.provider);
    expect((await client.counts()).lots).to.equal(2);
  });

  it("an inspection filled offline is kept on the phone and sent when the network returns", async function () {
    const page = members.inspector.page;
    const before = await page.locator("#results .result").count();
    await page.context().setOffline(true);
    const form = page.locator('form[data-step="inspecting"]');
    await form.locator('[name="lot"]').fill("1");
    await form.locator('[name="note"]').fill("sugar 12.5 °Bx, residue test passed");
    await form.locator("button[type=submit]").click();
    await page.waitForFunction(() => document.getElementById("queue")?.dataset.count === "1");
    await new Promise((r) => setTimeout(r, 2500));
    expect(await page.locator("#results .result").count(), "nothing sent while offline").to.equal(before);
    const queued = await page.evaluate(() => JSON.parse(localStorage.getItem("proofmark.coop.queue") ?? "[]").length);
    expect(queued).to.equal(1);
    await page.context().setOffline(false);
    await page.waitForFunction((n) => document.querySelectorAll("#results .result").length > n, before, {
      timeout: 120_000,
    });
    const r = page.locator("#results .result").first();
    expect(await r.getAttribute("class")).to.include("recorded");
    expect(await r.innerText()).to.include("Recorded: Inspection, lot 1");
    expect(await page.evaluate(() => localStorage.getItem("proofmark.coop.queue"))).to.equal("[]");
  });

  it("packing and shipping from phones; no member ever held ETH; the consumer scan page shows the season", async function () {
    const p = await record(members.packer.page, "packing", { lot: "1", packages: "200", size: "5kg" });
    expect(await p.innerText()).to.include("已记录：包装，批次 3");
    const s = await record(members.carrier.page, "shipping", { lot: "3", location: "上海市静安区南京西路 1 号" });
    expect(await s.innerText()).to.include("Recorded: Shipping, lot 3");
    for (const [name, m] of Object.entries(members))
      expect(await coop.chain.provider.getBalance(m.address), `${name} holds no ETH`).to.equal(0n);
    // Codes for the packed lot, then the existing consumer portal.
    const chain = await openChain({ dataDir, as: "admin" });
    let issued;
    try {
      issued = await issueScanCodes({
        chain,
        lot: 3,
        count: 2,
        gtin: "06901234567892",
        outDir: `${dataDir}/labels`,
        resolver: "https://id.example.org",
        png: false,
      });
    } finally {
      chain.close();
    }
    let portal: Portal | undefined;
    try {
      portal = await startPortal({ dataDir, port: 0, pollMs: 200 });
      await portal.sync();
      const page = await browser!.newPage();
      await page.goto(`${portal.url}${new URL(issued.manifest.serials[0].uri).pathname}?lang=zh`);
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#plot").innerText()).to.equal("DS-07");
      const timeline = await page.locator("#timeline").innerText();
      expect(timeline).to.include("上海市静安区南京西路 1 号");
      for (const step of ["采收", "检验", "包装", "发货"]) expect(timeline, step).to.include(step);
      await page.close();
    } finally {
      await portal?.close();
    }
  });
});
