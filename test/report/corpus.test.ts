import { expect } from "chai";
import { CHROMIUM_ARGS } from "../../packages/sdk/src/capture/browser";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ContractFactory, type Provider } from "ethers";
import { chromium, type Browser } from "playwright-core";
import { createHandler, openDb, startPortal, type Portal } from "../../packages/portal/src";
import {
  computeLeaf,
  hashFile,
  isProofmarkError,
  makeProvider,
  parseReceipt,
  randomSalt,
  serializeReceipt,
  toHex,
  verifyEvidence,
  type VerificationResult,
  minedReceipt,
} from "../../packages/sdk/src";
import { buildReportModel, verifierHtml, type RejectedReceipt } from "../../packages/sdk/src/report";
import { CLI } from "../cli/helpers";
import { mine, stampedChain, type ReportFixture } from "./helpers";

/**
 * One corpus of good and bad receipts, run through all four consumers of the verification engine —
 * the CLI (`proofmark verify --json`), the report model (as `proofmark report` builds it), the
 * standalone verifier page and the portal's verify page, both in Chromium — which must give the
 * same verdict and the same code for every receipt.
 */

const CHROMIUM = "/usr/bin/chromium";
/** The flags every Proofmark browser runs with (the SDK's, as the capture uses them). */
const ARGS = CHROMIUM_ARGS;

interface Case {
  name: string;
  file: string;
  receipt: string;
  /** Which endpoint: the real chain, or a server that accepts connections and never answers. */
  rpc: "chain" | "hanging";
  status: string;
  code?: string;
}

interface Verdict {
  status: string;
  code?: string;
}

describe("one corpus of receipts through the CLI, the report, the standalone verifier and the portal: identical verdicts", function () {
  this.timeout(900_000);
  let fx: ReportFixture;
  let dir: string;
  let portal: Portal;
  let hangingPortal: { url: string; close(): Promise<void> };
  let hanging: { url: string; close(): void };
  let browser: Browser | undefined;
  const cases: Case[] = [];
  let forgedRegistry: string;
  let forgedReceipt: string;

  const write = (name: string, value: unknown) => {
    const p = path.join(dir, `${name}.proof.json`);
    fs.writeFileSync(p, typeof value === "string" ? value : JSON.stringify(value, null, 2));
    return p;
  };
  const copy = () => JSON.parse(serializeReceipt(fx.receipt));
  const rpcOf = (c: Case) => (c.rpc === "chain" ? fx.rpcUrl : hanging.url);

  before(async function () {
    fx = await stampedChain("corpus");
    dir = path.join(fx.dir, "corpus");
    fs.mkdirSync(dir);
    const signer = await fx.chain.signer();

    // A forged registry (test-only contract) that answers anchorOf with a backdated, "consistent"
    // anchor: block 1's real hash and time, and block 1's real first transaction.
    const artifact = JSON.parse(
      fs.readFileSync(
        path.join(
          __dirname,
          "..",
          "..",
          "artifacts",
          "contracts",
          "mocks",
          "ForgedEvidenceRegistry.sol",
          "ForgedEvidenceRegistry.json",
        ),
        "utf8",
      ),
    );
    const forged = await new ContractFactory(artifact.abi, artifact.bytecode, signer).deploy();
    await forged.waitForDeployment();
    forgedRegistry = (await forged.getAddress()).toLowerCase();
    const block1 = (await fx.chain.provider.getBlock(1))!;
    const { sha256, size } = await hashFile(fx.draft);
    const salt = randomSalt();
    const leaf = computeLeaf({ sha256, salt, meta: fx.receipt.commitment.meta });
    const submitter = (await signer.getAddress()).toLowerCase();
    await minedReceipt(
      await (
        forged as unknown as {
          forge(r: string, s: string, t: number, b: number): Promise<{ hash: string; provider: Provider }>;
        }
      ).forge(leaf, submitter, block1.timestamp, 1),
    );
    forgedReceipt = write("forged-registry", {
      ...copy(),
      subject: { ...fx.receipt.subject, sha256, size },
      commitment: { salt, meta: fx.receipt.commitment.meta, leaf },
      proof: { root: leaf, path: [], leafCount: 1 },
      anchors: [
        {
          chainId: 31337,
          registry: forgedRegistry,
          txHash: block1.transactions[0],
          blockNumber: 1,
          blockHash: block1.hash,
          timestamp: block1.timestamp,
          submitter,
        },
      ],
    });
    await mine(fx.rpcUrl, 70); // the anchoring blocks become final

    const changed = path.join(dir, "contract-draft-changed.txt");
    fs.writeFileSync(changed, fs.readFileSync(fx.draft, "utf8").replace("v1", "v2"));
    const tamper = (f: (r: any) => void) => {
      const r = copy();
      f(r);
      return r;
    };
    const unanchored = tamper((r) => {
      r.commitment.salt = `0x${"cd".repeat(32)}`;
      r.commitment.leaf = computeLeaf({ sha256: r.subject.sha256, salt: r.commitment.salt, meta: r.commitment.meta });
      r.proof = { root: r.commitment.leaf, path: [], leafCount: 1 };
    });
    const add = (
      name: string,
      file: string,
      receipt: string,
      status: string,
      code?: string,
      rpc: Case["rpc"] = "chain",
    ) => cases.push({ name, file, receipt, rpc, status, code });
    add("good", fx.draft, fx.receiptPath, "verified");
    add("modified file", changed, fx.receiptPath, "mismatch", "DIGEST_MISMATCH");
    add(
      "altered salt",
      fx.draft,
      write(
        "salt",
        tamper((r) => (r.commitment.salt = `0x${"ab".repeat(32)}`)),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "altered leaf",
      fx.draft,
      write(
        "leaf",
        tamper((r) => (r.commitment.leaf = toHex(randomBytes(32)))),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "altered path",
      fx.draft,
      write(
        "path",
        tamper((r) => (r.proof.path = [toHex(randomBytes(32))])),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "altered root",
      fx.draft,
      write(
        "root",
        tamper((r) => (r.proof.root = toHex(randomBytes(32)))),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "extra field",
      fx.draft,
      write(
        "extra",
        tamper((r) => (r.subject.note = "trust me")),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "duplicate JSON key",
      fx.draft,
      write("dupkey", serializeReceipt(fx.receipt).replace('"version": 1,', '"version": 1,\n  "version": 1,')),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "__proto__ meta key",
      fx.draft,
      write(
        "proto",
        serializeReceipt(fx.receipt).replace('"meta": {', '"meta": {\n      "__proto__": "FORGED AUTHOR: Bob",'),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "other chain",
      fx.draft,
      write(
        "chain1",
        tamper((r) => (r.anchors[0].chainId = 1)),
      ),
      "unverifiable",
      "CHAIN_MISMATCH",
    );
    add("unanchored root", fx.draft, write("unanchored", unanchored), "not-anchored", "NOT_ANCHORED");
    add("forged registry, backdated and consistent", fx.draft, forgedReceipt, "unverifiable", "REGISTRY_UNKNOWN");
    add(
      "random txHash",
      fx.draft,
      write(
        "txhash",
        tamper((r) => (r.anchors[0].txHash = toHex(randomBytes(32)))),
      ),
      "mismatch",
      "ANCHOR_MISMATCH",
    );
    add(
      "duplicated anchors",
      fx.draft,
      write(
        "dup-anchors",
        tamper((r) => (r.anchors = [r.anchors[0], r.anchors[0]])),
      ),
      "mismatch",
      "RECEIPT_INVALID",
    );
    add(
      "wrong leafCount",
      fx.draft,
      write(
        "leafcount",
        tamper((r) => (r.proof.leafCount = 2)),
      ),
      "mismatch",
      "ANCHOR_MISMATCH",
    );
    add(
      "altered anchor time",
      fx.draft,
      write(
        "time",
        tamper((r) => (r.anchors[0].timestamp -= 3600)),
      ),
      "mismatch",
      "ANCHOR_MISMATCH",
    );

    // An endpoint that accepts the TCP connection and never answers.
    const sockets = new Set<net.Socket>();
    const server = net.createServer((s) => {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    hanging = {
      url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    };
    add("hanging RPC", fx.draft, fx.receiptPath, "unverifiable", "RPC_UNREACHABLE", "hanging");

    portal = await startPortal({ dataDir: fx.dataDir, port: 0, pollMs: 200 });
    // The portal's verify page reads its own node; a second portal whose node never answers.
    const db = openDb(path.join(fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-corpus-portal-")), "index.sqlite"));
    const provider = makeProvider(hanging.url, 31337);
    const handler = createHandler({
      db,
      chainId: 31337,
      provider,
      status: { reachable: false, indexedTo: 0, head: 0, lastSync: 0, version: 0 },
    });
    const hs = http.createServer(handler);
    await new Promise<void>((resolve) => hs.listen(0, "127.0.0.1", resolve));
    hangingPortal = {
      url: `http://127.0.0.1:${(hs.address() as net.AddressInfo).port}`,
      close: () =>
        new Promise<void>((resolve) => {
          hs.close(() => resolve());
          hs.closeAllConnections();
          handler.flush();
          provider.destroy();
          db.close();
        }),
    };
    if (fs.existsSync(CHROMIUM)) browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  });

  after(async () => {
    await browser?.close();
    await hangingPortal?.close();
    await portal?.close();
    hanging?.close();
    await fx?.stop();
  });

  /** `proofmark verify FILE --proof P --json --rpc URL`. */
  function viaCli(c: Case, extra: string[] = []): Verdict & { ms: number; exit: number | null } {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [
        CLI,
        "--data-dir",
        fx.dataDir,
        "--json",
        "--rpc",
        rpcOf(c),
        "verify",
        c.file,
        "--proof",
        c.receipt,
        "--rpc-timeout",
        "3",
        ...extra,
      ],
      { encoding: "utf8", timeout: 120_000 },
    );
    const ms = Date.now() - t0;
    const out = JSON.parse(r.stdout);
    return { status: out.status, code: out.code ?? undefined, ms, exit: r.status };
  }

  /** The report model, built as `proofmark report` builds it. */
  async function viaReport(c: Case, trustRegistries?: string[]): Promise<Verdict> {
    let input: VerificationResult | RejectedReceipt;
    const digest = { path: c.file, ...(await hashFile(c.file)) };
    try {
      input = await verifyEvidence({
        receipt: parseReceipt(fs.readFileSync(c.receipt, "utf8")),
        file: digest,
        rpc: [rpcOf(c)],
        dataDir: fx.dataDir,
        rpcTimeoutMs: 3_000,
        trustRegistries,
      });
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      input = {
        rejected: true,
        ok: false,
        code: e.code,
        message: e.message,
        file: digest,
        receiptPath: c.receipt,
        checkedAt: new Date().toISOString(),
      };
    }
    const model = buildReportModel(input, { lang: "en" });
    return { status: model.verdict.status, code: model.verdict.code };
  }

  async function viaStandalone(c: Case, pageUrl: string): Promise<Verdict> {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(pageUrl);
    await page.setInputFiles("#file", c.file);
    await page.setInputFiles("#receipt", c.receipt);
    await page.fill("#rpc", rpcOf(c));
    await page.click("#verify");
    await page.waitForFunction(
      () => !["idle", "running"].includes(document.getElementById("verdict")!.dataset.status!),
      undefined,
      { timeout: 60_000 },
    );
    expect(errors, "page errors").to.deep.equal([]);
    const v = {
      status: (await page.getAttribute("#verdict", "data-status"))!,
      code: (await page.getAttribute("#verdict", "data-code")) ?? undefined,
    };
    await page.close();
    return v;
  }

  async function viaPortal(c: Case): Promise<Verdict> {
    const page = await browser!.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${c.rpc === "chain" ? portal.url : hangingPortal.url}/verify?lang=en`);
    // the portal picks the receipt by its name: *.proof.json
    await page.locator("#files").setInputFiles([c.file, c.receipt]);
    await page.locator("#verify").click();
    await page.locator("#verify-ok, #verify-fail").first().waitFor({ timeout: 60_000 });
    expect(errors, "page errors").to.deep.equal([]);
    const box = page.locator("#verify-ok, #verify-fail").first();
    const v = {
      status: (await box.getAttribute("data-status"))!,
      code: (await box.getAttribute("data-code")) ?? undefined,
    };
    await page.close();
    return v;
  }

  it("every receipt gets its expected verdict and code from all four consumers", async function () {
    const pageFile = path.join(dir, "verifier.html");
    fs.writeFileSync(pageFile, verifierHtml());
    const table: string[] = [];
    for (const c of cases) {
      const got: Record<string, Verdict> = { cli: viaCli(c), report: await viaReport(c) };
      if (browser) {
        got.standalone = await viaStandalone(c, `file://${pageFile}`);
        got.portal = await viaPortal(c);
      }
      table.push(
        `${c.name}: ${Object.entries(got)
          .map(([k, v]) => `${k}=${v.status}/${v.code ?? "-"}`)
          .join(" ")}`,
      );
      for (const [consumer, v] of Object.entries(got)) {
        expect({ status: v.status, code: v.code }, `${c.name} via ${consumer}\n${table.join("\n")}`).to.deep.equal({
          status: c.status,
          code: c.code,
        });
      }
    }
    if (!browser) console.log(`    (browser consumers skipped: ${CHROMIUM} is missing)`);
  });

  it("a hanging endpoint ends verify with RPC_UNREACHABLE naming it, within the deadline, and the process exits", function () {
    const c = cases.find((x) => x.rpc === "hanging")!;
    const r = viaCli(c);
    expect(r.code).to.equal("RPC_UNREACHABLE");
    expect(r.exit).to.equal(1);
    expect(r.ms).to.be.lessThan(20_000);
    const out = spawnSync(
      process.execPath,
      [
        CLI,
        "--data-dir",
        fx.dataDir,
        "--rpc",
        hanging.url,
        "verify",
        c.file,
        "--proof",
        c.receipt,
        "--rpc-timeout",
        "2",
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(out.stdout + out.stderr).to.include(hanging.url);
  });

  it("a forged registry pinned by the user is still caught: no anchoring log in the claimed block", async function () {
    const c = {
      name: "forged, trusted",
      file: fx.draft,
      receipt: forgedReceipt,
      rpc: "chain" as const,
      status: "mismatch",
      code: "ANCHOR_MISMATCH",
    };
    const cli = viaCli(c, ["--trust-registry", forgedRegistry]);
    expect({ status: cli.status, code: cli.code }).to.deep.equal({ status: c.status, code: c.code });
    expect(await viaReport(c, [forgedRegistry])).to.deep.equal({ status: c.status, code: c.code });
  });

  it("a receipt of /dev/zero fails fast with RECEIPT_TOO_LARGE", function () {
    const t0 = Date.now();
    const r = spawnSync(
      process.execPath,
      [CLI, "--data-dir", fx.dataDir, "--json", "verify", fx.draft, "--proof", "/dev/zero"],
      { encoding: "utf8", timeout: 60_000 },
    );
    expect(Date.now() - t0).to.be.lessThan(15_000);
    expect(r.status).to.equal(1);
    expect(JSON.parse(r.stdout).code).to.equal("RECEIPT_TOO_LARGE");
  });
});
