import * as fs from "node:fs";
import { spawn, type ChildProcess } from "node:child_process";
import { expect } from "chai";
import { Wallet } from "ethers";
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
  signPrepareRequest,
} from "../../packages/sdk/src";
import { startCoop, startPortal, type CoopServer, type Portal } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "../portal/fixture";
import { startPostgresOrSkip } from "../helpers/postgres";
import { CLI } from "../cli/helpers";

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
  let issued: Awaited<ReturnType<typeof issueScanCodes>> | undefined;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`      (skipped: ${CHROMIUM} is missing — apt-get install -y chromium)`);
      this.skip();
    }
    dataDir = tempDataDir("coop");
    // Each farm's photos a day: the two certificate photos farm 1 sends below, not a third.
    coop = await startCoop({ dataDir, port: 0, burst: 20, perSecond: 5, photoBytesPerDay: PHOTO.length * 2 + 10 });
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
      ["coopAdmin", "zh"],
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
      await gi.grantRole(1, "admin", members.coopAdmin.address);
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
    expect(await steps("coopAdmin")).to.deep.equal([
      "harvest",
      "inspecting",
      "packing",
      "shipping",
      "receiving",
      "participant",
    ]);
  });

  it("the product's admin registers the farms from the phone page (a signed meta-transaction); names escaped; a farm cannot", async function () {
    const page = members.coopAdmin.page;
    const client = new ProvenanceRegistryClient(coop.relay.registry, coop.chain.provider);
    const register = (fields: Record<string, string>) =>
      page.evaluate((f) => {
        const form = document.querySelector('form[data-step="participant"]') as HTMLFormElement;
        for (const [k, v] of Object.entries(f)) (form.elements.namedItem(k) as HTMLInputElement).value = v;
      }, fields);
    const sendForm = async () => {
      const before = await page.locator("#results .result").count();
      await page.locator('form[data-step="participant"] button[type=submit]').click();
      await page.waitForFunction((n) => document.querySelectorAll("#results .result").length > n, before, {
        timeout: 120_000,
      });
      return page.locator("#results .result").first();
    };
    await register({
      account: members.farm1.address,
      kind: "farm",
      name: "砀山县李庄果园",
      nameEn: "Lizhuang Orchard",
      licence: "SC-2026-0042",
      region: "安徽省砀山县",
    });
    const r1 = await sendForm();
    expect(await r1.getAttribute("class"), await r1.innerText()).to.include("recorded");
    expect(await r1.innerText()).to.include("已登记");
    expect(await r1.innerText()).to.include("砀山县李庄果园");
    const hostile = '<img src=x onerror="window.__pwned=1">王庄果园';
    await register({ account: members.farm2.address, kind: "farm", name: hostile, nameEn: "Wangzhuang Orchard" });
    const r2 = await sendForm();
    expect(await r2.getAttribute("class"), await r2.innerText()).to.include("recorded");
    expect(await r2.locator(".participant-name").innerText(), "shown as text").to.equal(hostile);
    expect(await page.locator("#results img").count(), "no markup from a name").to.equal(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).to.equal(undefined);
    const p1 = await client.participant(1, members.farm1.address);
    expect(p1).to.deep.include({
      kind: "farm",
      name: "砀山县李庄果园",
      nameEn: "Lizhuang Orchard",
      licence: "SC-2026-0042",
      region: "安徽省砀山县",
    });
    expect((await client.participant(1, members.farm2.address))?.name).to.equal(hostile);
    // The registry saw the admin's phone key as the sender, through the relay.
    const tx = (await r1.locator("code.tx").innerText()).trim();
    const receipt = await coop.chain.provider.getTransactionReceipt(tx);
    expect(receipt?.from.toLowerCase()).to.equal((await coop.relay.relayer.getAddress()).toLowerCase());
    expect(await coop.chain.provider.getBalance(members.coopAdmin.address)).to.equal(0n);
    // A farm's page offers no such form, and the relay refuses it with the CLI's wording.
    expect(await members.farm1.page.locator('form[data-step="participant"]').count()).to.equal(0);
    // (signed with the farm's own key, read from the phone's keystore)
    const stored = await members.farm1.page.evaluate(() => localStorage.getItem("proofmark.coop.keystore"));
    const farmKey = await Wallet.fromEncryptedJson(stored!, PASS);
    const refused = await fetch(`${coop.url}/api/coop/prepare`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(
        await signPrepareRequest(farmKey, coop.relay.prepareDomain, {
          step: "participant",
          product: 1,
          account: members.farm1.address,
          kind: "farm",
          name: "mine",
        }),
      ),
    });
    const body = (await refused.json()) as { error: { code: string; message: string } };
    expect(body.error.code).to.equal("ROLE_MISSING");
    expect(body.error.message).to.include(`registering ${members.farm1.address} as a participant of product 1`);
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

  /** The forms waiting in the page's IndexedDB queue: their step, and the photo's type and bytes if any. */
  async function queuedForms(page: Page): Promise<{ step: string; photo?: { blob: boolean; bytes: number[] } }[]> {
    return page.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const open = indexedDB.open("proofmark-coop");
        open.onsuccess = () => resolve(open.result);
        open.onerror = () => reject(open.error);
      });
      const items = await new Promise<any[]>((resolve, reject) => {
        const r = db.transaction("queue").objectStore("queue").getAll();
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => reject(r.error);
      });
      db.close();
      const out = [];
      for (const item of items)
        out.push({
          step: item.form.step,
          ...(item.photo
            ? {
                photo: {
                  blob: item.photo.blob instanceof Blob,
                  bytes: Array.from(new Uint8Array(await (item.photo.blob as Blob).arrayBuffer())),
                },
              }
            : {}),
        });
      return out;
    });
  }

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
    expect((await queuedForms(page)).length, "kept in IndexedDB").to.equal(1);
    await page.context().setOffline(false);
    await page.waitForFunction((n) => document.querySelectorAll("#results .result").length > n, before, {
      timeout: 120_000,
    });
    const r = page.locator("#results .result").first();
    expect(await r.getAttribute("class")).to.include("recorded");
    expect(await r.innerText()).to.include("Recorded: Inspection, lot 1");
    expect(await queuedForms(page)).to.deep.equal([]);
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
      await page.goto(`${portal.url}${new URL(issued!.manifest.serials[0].uri).pathname}?lang=zh`);
      await page.locator("#genuine").waitFor();
      expect(await page.locator("#plot").innerText()).to.equal("DS-07");
      const timeline = await page.locator("#timeline").innerText();
      expect(timeline).to.include("上海市静安区南京西路 1 号");
      for (const step of ["采收", "检验", "包装", "发货"]) expect(timeline, step).to.include(step);
      // The farm registered from the admin's phone is named, not shown as an address.
      expect(await page.locator("body").innerText()).to.include("砀山县李庄果园");
      await page.close();
    } finally {
      await portal?.close();
    }
  });

  it("two portal instances on one PostgreSQL serve the season naming the farm; a scan on either counts on both", async function () {
    expect(issued, "the season above issued codes").not.to.equal(undefined);
    const pg = await startPostgresOrSkip(this);
    const children: ChildProcess[] = [];
    const serve = () =>
      new Promise<string>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            CLI,
            "serve",
            "--port",
            "0",
            "--database",
            pg.url,
            "--rpc",
            coop.chain.rpcUrls[0],
            "--trust-proxy",
            "--json",
          ],
          { env: { ...process.env, PROOFMARK_HOME: dataDir }, stdio: ["ignore", "pipe", "pipe"] },
        );
        children.push(child);
        let out = "";
        child.stdout!.on("data", (d) => {
          out += d;
          const m = /"url"\s*:\s*"([^"]+)"/.exec(out) ?? /portal on (\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.on("exit", (code) => reject(new Error(`serve exited (${code}): ${out}`)));
      });
    try {
      const urls = [await serve(), await serve()];
      const path = new URL(issued!.manifest.serials[1].uri).pathname;
      const serial = path.split("/").pop()!;
      const scan = async (url: string, client: string) => {
        const r = await fetch(`${url}${path}?lang=zh`, { headers: { "x-forwarded-for": client } });
        return { status: r.status, html: await r.text() };
      };
      // Each instance serves the season once the shared index has it (one of them indexes).
      for (const [i, url] of urls.entries()) {
        const deadline = Date.now() + 120_000;
        let page = await scan(url, `10.0.0.${i + 1}`);
        while (!page.html.includes('id="genuine"') && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 500));
          page = await scan(url, `10.0.0.${i + 1}`);
        }
        expect(page.html, `instance ${i + 1} shows the genuine season`).to.include('id="genuine"');
        expect(page.html, "the farm is named").to.include("砀山县李庄果园");
      }
      const counts = async () =>
        Promise.all(
          urls.map(async (url) => ((await (await fetch(`${url}/api/serials/${serial}`)).json()) as any).scans.count),
        );
      // Scans while the index was catching up may not be counted; from now on each one is, on both.
      const [before] = await counts();
      await scan(urls[0], "10.0.1.1");
      await scan(urls[1], "10.0.1.2");
      await scan(urls[1], "10.0.1.3");
      expect(await counts()).to.deep.equal([before + 3, before + 3]);
    } finally {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGTERM");
      await Promise.all(children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : undefined)));
      pg.stop();
    }
  });

  it("a harvest with its photo queued while the relay is unreachable survives a page reload as a Blob, and is sent after unlocking", async function () {
    const page = members.farm1.page;
    await page.route("**/api/coop/**", (route) => route.abort("internetdisconnected"));
    await page.locator('form[data-step="harvest"] [name="photo"]').setInputFiles({
      name: "DS-07-certificate-2.png",
      mimeType: "image/png",
      buffer: PHOTO,
    });
    const form = page.locator('form[data-step="harvest"]');
    await form.locator('[name="quantity"]').fill("100kg");
    await form.locator('[name="plot"]').fill("DS-07");
    await form.locator('[name="date"]').fill("2026-09-05");
    await form.locator("button[type=submit]").click();
    await page.waitForFunction(() => document.getElementById("queue")?.dataset.count === "1");
    await page.reload();
    const kept = await queuedForms(page);
    expect(kept).to.have.length(1);
    expect(kept[0].step).to.equal("harvest");
    expect(kept[0].photo?.blob, "the photo is kept as a Blob, not base64 text").to.equal(true);
    expect(Buffer.from(kept[0].photo!.bytes).equals(PHOTO)).to.equal(true);
    await page.unroute("**/api/coop/**");
    await page.locator("#passphrase").fill(PASS);
    await page.locator("#unlock").click();
    await page.waitForFunction(() => document.querySelector("#results .result.recorded") !== null, undefined, {
      timeout: 120_000,
    });
    expect(await page.locator("#results .result").first().innerText()).to.include("已记录：采收，批次 4");
    expect(await queuedForms(page)).to.deep.equal([]);
    const loaded = await coop.relay.documents.load(await harvestDocument(4));
    const ilmd = (loaded!.doc.epcis.epcisBody.eventList[0] as unknown as { ilmd: Record<string, string> }).ilmd;
    const store = new EmbeddedStore(dataDir);
    try {
      const chunks: Uint8Array[] = [];
      for await (const chunk of store.get(ilmd["gi:attachment"])) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(PHOTO), "the photo sent after the reload").to.equal(true);
    } finally {
      await store.close();
    }
    expect(await coop.chain.provider.getBalance(members.farm1.address)).to.equal(0n);
  });

  it("a phone whose clock is an hour slow still records: refused as stale once, the page signs again by the relay's clock", async function () {
    const page = members.farm2.page;
    const prepares: { status: number; code?: string }[] = [];
    const seen = (r: import("playwright-core").Response) => {
      if (!r.url().endsWith("/api/coop/prepare")) return;
      void r
        .json()
        .then((j: { error?: { code: string } }) => prepares.push({ status: r.status(), code: j.error?.code }))
        .catch(() => undefined);
    };
    page.on("response", seen);
    try {
      await page.clock.setFixedTime(Date.now() - 3_600_000);
      const r = await record(page, "harvest", { quantity: "50kg", plot: "DS-12", date: "2026-09-06" });
      expect(await r.getAttribute("class"), await r.innerText()).to.include("recorded");
      expect(await r.innerText()).to.include("已记录：采收");
    } finally {
      page.off("response", seen);
    }
    expect(prepares.map((p) => p.code ?? p.status)).to.deep.equal(["RELAY_SIGNATURE_STALE", 200]);
    expect(prepares[0].status).to.equal(401);
  });

  it("a photo over the member's daily allowance is refused with its heading, and the form and photo stay on the phone, not sent again before the relay's wait", async function () {
    const page = members.farm1.page;
    const photos: number[] = [];
    const seen = (r: import("playwright-core").Request) => {
      if (r.url().includes("/api/coop/photo")) photos.push(Date.now());
    };
    page.on("request", seen);
    try {
      const lotsBefore = (await coop.relay.client.counts()).lots;
      await page.locator('form[data-step="harvest"] [name="photo"]').setInputFiles({
        name: "DS-07-certificate-3.png",
        mimeType: "image/png",
        buffer: PHOTO,
      });
      const form = page.locator('form[data-step="harvest"]');
      await form.locator('[name="quantity"]').fill("10kg");
      await form.locator('[name="plot"]').fill("DS-07");
      await form.locator('[name="date"]').fill("2026-09-07");
      await form.locator("button[type=submit]").click();
      const refusal = page.locator('#results .result.refusal[data-code="RELAY_PHOTO_QUOTA"]').last();
      await refusal.waitFor({ timeout: 60_000 });
      expect(await refusal.innerText()).to.include("今天上传的照片已达上限");
      expect(await refusal.innerText()).to.include("bytes of photos in the last 24 hours");
      // Kept, with its photo; the page's 2-second flush does not send it again within the day's wait.
      await new Promise((r) => setTimeout(r, 5_000));
      expect(photos, "one upload, not one every flush").to.have.length(1);
      const kept = await queuedForms(page);
      expect(kept.map((k) => k.step)).to.deep.equal(["harvest"]);
      expect(Buffer.from(kept[0].photo!.bytes).equals(PHOTO)).to.equal(true);
      expect(await page.locator("#queue").getAttribute("data-count")).to.equal("1");
      expect((await coop.relay.client.counts()).lots, "nothing recorded").to.equal(lotsBefore);
    } finally {
      page.off("request", seen);
    }
  });
});
