import { expect } from "chai";
import { CHROMIUM_ARGS } from "../../packages/sdk/src/capture/browser";
import * as fs from "node:fs";
import * as path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { computeLeaf, requestTimestamp, serializeReceipt, type Receipt } from "../../packages/sdk/src";
import { startTestTsa } from "../helpers/tsa";
import { verifierHtml } from "../../packages/sdk/src/report";
import { mine, stampedChain, type ReportFixture } from "./helpers";

const CHROMIUM = "/usr/bin/chromium";
/** The flags every Proofmark browser runs with (the SDK's, as the capture uses them). */
const ARGS = CHROMIUM_ARGS;

describe("standalone verifier page in headless Chromium, against a real local chain", function () {
  this.timeout(180_000);
  let fx: ReportFixture;
  let browser: Browser;
  let pageUrl: string;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      console.log(`    (skipped: ${CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    fx = await stampedChain("verifier");
    await mine(fx.rpcUrl, 70);
    const file = path.join(fx.dir, "verifier.html");
    fs.writeFileSync(file, verifierHtml());
    pageUrl = `file://${file}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });
  after(async () => {
    await browser?.close();
    await fx?.stop();
  });

  /** Opens the page, fills file, receipt and RPC URL, clicks Verify; returns the verdict and every URL the page requested. */
  async function check(
    file: string,
    receiptPath: string,
    rpc: string,
  ): Promise<{ status: string; message: string; requests: string[]; page: Page }> {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pageUrl);
    await page.setInputFiles("#file", file);
    await page.setInputFiles("#receipt", receiptPath);
    await page.fill("#rpc", rpc);
    await page.click("#verify");
    await page.waitForFunction(
      () => !["idle", "running"].includes(document.getElementById("verdict")!.dataset.status!),
      undefined,
      { timeout: 60_000 },
    );
    expect(errors, "page errors").to.deep.equal([]);
    const status = await page.getAttribute("#verdict", "data-status");
    const message = (await page.textContent("#verdict")) ?? "";
    return { status: status!, message, requests, page };
  }

  it("the page computes the SDK's leaf and keccak in the browser itself", async function () {
    const page = await browser.newPage();
    await page.goto(pageUrl);
    const r = fx.receipt;
    const leaf = await page.evaluate(
      ([sha, salt, meta]) =>
        (
          globalThis as unknown as {
            ProofmarkVerifier: {
              computeLeaf(x: { sha256: string; salt: string; meta: Record<string, string> }): string;
            };
          }
        ).ProofmarkVerifier.computeLeaf({
          sha256: sha as string,
          salt: salt as string,
          meta: meta as Record<string, string>,
        }),
      [r.subject.sha256, r.commitment.salt, r.commitment.meta] as const,
    );
    expect(leaf).to.equal(computeLeaf({ sha256: r.subject.sha256, salt: r.commitment.salt, meta: r.commitment.meta }));
    await page.close();
  });

  it("a valid file passes, and the page talked to nothing but the JSON-RPC URL", async function () {
    const { status, message, requests, page } = await check(fx.draft, fx.receiptPath, fx.rpcUrl);
    expect(status, message).to.equal("verified");
    expect(message).to.include("VERIFIED");
    expect(message).to.include("核验通过");
    const steps = await page.$$eval("#steps li", (lis) => lis.map((li) => li.className));
    expect(steps.length).to.be.greaterThan(6);
    expect(steps.every((c) => c === "ok")).to.equal(true);
    const foreign = requests.filter((u) => !u.startsWith("file://") && !u.startsWith(fx.rpcUrl));
    expect(foreign, "requests to anything but the page and the RPC URL").to.deep.equal([]);
    expect(requests.some((u) => u.startsWith(fx.rpcUrl))).to.equal(true);
    await fx.chain.provider.getBlockNumber(); // the chain is still there
    await page.screenshot({ path: path.join(fx.dir, "verifier-valid.png"), fullPage: true });
    await page.close();
  });

  it("a v2 receipt runs through the same engine; its RFC 3161 token is reported NOT CHECKED in the browser, never verified", async function () {
    const tsa = await startTestTsa({ name: "Browser" });
    try {
      const token = await requestTimestamp(tsa.url, fx.receipt.proof.root);
      const v2: Receipt = { ...fx.receipt, version: 2, timestamps: [token], attestations: [], calendars: [] };
      const file = path.join(fx.dir, "v2.proof.json");
      fs.writeFileSync(file, serializeReceipt(v2));
      const { status, message, page } = await check(fx.draft, file, fx.rpcUrl);
      // the anchor verifies; the token cannot be checked here, so under the default policy (all) the receipt is not "verified"
      expect(status, message).to.equal("unverifiable");
      expect(message).to.include("TIMESTAMP_UNTRUSTED").and.include("not checked in the browser");
      const steps = await page.$$eval("#steps li", (lis) => lis.map((li) => [li.className, li.textContent ?? ""]));
      const tokenStep = steps.find(([, t]) => t.includes("RFC 3161"));
      expect(tokenStep?.[0]).to.equal("bad");
      expect(tokenStep?.[1]).to.include("NOT CHECKED");
      expect(steps.filter(([c]) => c === "ok").length).to.be.greaterThan(6); // the anchor's own steps passed
      await page.close();
    } finally {
      await tsa.close();
    }
  });

  it("a receipt witnessed by RFC 3161 tokens only (no anchor): the headline says the page cannot check it and where to, never verified", async function () {
    const tsa = await startTestTsa({ name: "Browser" });
    try {
      const token = await requestTimestamp(tsa.url, fx.receipt.proof.root);
      const tokensOnly: Receipt = {
        ...fx.receipt,
        version: 2,
        anchors: [],
        timestamps: [token],
        attestations: [],
        calendars: [],
      };
      const file = path.join(fx.dir, "tokens-only.proof.json");
      fs.writeFileSync(file, serializeReceipt(tokensOnly));
      const { status, message, requests, page } = await check(fx.draft, file, fx.rpcUrl);
      expect(status, message).to.equal("unverifiable");
      expect(message).to.not.match(/(^|[^T ])VERIFIED:/);
      expect(message).to.include("NOT VERIFIED HERE").and.include("no blockchain anchor");
      expect(message).to.include("--tsa-trust").and.include("没有区块链锚定");
      expect(await page.getAttribute("#verdict", "class")).to.equal("verdict bad");
      // nothing to ask a chain: the page requested nothing but itself
      expect(requests.filter((u) => !u.startsWith("file://"))).to.deep.equal([]);
      await page.close();
    } finally {
      await tsa.close();
    }
  });

  it("a modified file fails", async function () {
    const changed = path.join(fx.dir, "contract-draft-edited.txt");
    fs.writeFileSync(changed, fs.readFileSync(fx.draft, "utf8").replace("v1", "v2"));
    const { status, message, page } = await check(changed, fx.receiptPath, fx.rpcUrl);
    expect(status).to.equal("mismatch");
    expect(message).to.include("DOES NOT MATCH");
    await page.close();
  });

  it("a tampered receipt fails: altered salt, altered anchor time, another root", async function () {
    const cases: Array<[string, (r: any) => void, string]> = [
      ["salt", (r) => (r.commitment.salt = `0x${"ab".repeat(32)}`), "mismatch"],
      ["anchor time", (r) => (r.anchors[0].timestamp -= 3600), "mismatch"],
      ["submitter", (r) => (r.anchors[0].submitter = `0x${"11".repeat(20)}`), "mismatch"],
      [
        "root",
        (r) => {
          // a self-consistent receipt for the same file whose root was never anchored
          r.commitment.salt = `0x${"cd".repeat(32)}`;
          r.commitment.leaf = computeLeaf({
            sha256: r.subject.sha256,
            salt: r.commitment.salt,
            meta: r.commitment.meta,
          });
          r.proof = { root: r.commitment.leaf, path: [], leafCount: 1 };
        },
        "not-anchored",
      ],
    ];
    for (const [what, tamper, expected] of cases) {
      const r = JSON.parse(serializeReceipt(fx.receipt));
      tamper(r);
      const p = path.join(fx.dir, `tampered-${what.replace(/\W/g, "-")}.proof.json`);
      fs.writeFileSync(p, JSON.stringify(r));
      const { status, message, page } = await check(fx.draft, p, fx.rpcUrl);
      expect(status, `${what}: ${message}`).to.equal(expected);
      await page.close();
    }
  });

  it("an RPC URL of the wrong chain or one that does not answer is never a pass", async function () {
    const dead = await check(fx.draft, fx.receiptPath, "http://127.0.0.1:9");
    expect(dead.status).to.equal("unverifiable");
    await dead.page.close();
    const r = JSON.parse(serializeReceipt(fx.receipt));
    r.anchors[0].chainId = 1;
    const p = path.join(fx.dir, "chain1.proof.json");
    fs.writeFileSync(p, JSON.stringify(r));
    const other = await check(fx.draft, p, fx.rpcUrl);
    expect(other.status).to.equal("unverifiable");
    expect(other.message).to.include("serves chain 31337");
    await other.page.close();
  });
});
