import { expect } from "chai";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { hashFile, rpcCall, serializeReceipt, verifyEvidence, type Receipt } from "../../packages/sdk/src";
import {
  anchorOfAnswerWords,
  buildReportModel,
  decodeAnchorOfAnswer,
  renderReportHtml,
  renderReportPdf,
  verdictStatus,
  type ReportLang,
} from "../../packages/sdk/src/report";
import { CLI } from "../cli/helpers";
import {
  compact,
  hasTool,
  lyingProxy,
  mine,
  pdfText,
  stampedChain,
  unanchoredReceipt,
  type ReportFixture,
} from "./helpers";

const SECTIONS: Record<ReportLang, string[]> = {
  en: [
    "1. Verdict",
    "2. Subject",
    "3. Time of storage",
    "4. Where",
    "5. How it was checked",
    "6. What this establishes and what it does not",
    "7. How to re-verify independently",
    "8. Technical appendix",
  ],
  zh: [
    "1. 核验结论",
    "2. 核验对象",
    "3. 存证时间",
    "4. 存证位置",
    "5. 核验过程",
    "6. 本报告证明什么、不证明什么",
    "7. 独立复核方法",
    "8. 技术附录",
  ],
};
/** A passing verdict, in text without white space. */
const PASS = { en: /(?<!NOT)VERIFIED—/, zh: /核验通过/ };

/** The text of section 1 (the verdict), from the PDF's text. */
function verdictSection(text: string, lang: ReportLang): string {
  const c = compact(text);
  return c.slice(c.indexOf(compact(SECTIONS[lang][0])), c.indexOf(compact(SECTIONS[lang][1])));
}

function expectSectionsInOrder(text: string, lang: ReportLang): void {
  const c = compact(text);
  let last = -1;
  for (const title of SECTIONS[lang]) {
    const at = c.indexOf(compact(title), last + 1);
    expect(at, `section "${title}" after position ${last}`).to.be.greaterThan(last);
    last = at;
  }
}

describe("proofmark report: verification reports read back from the PDF", function () {
  this.timeout(180_000);
  let fx: ReportFixture;

  before(async function () {
    if (!hasTool("pdftotext")) {
      console.log("    (skipped: pdftotext is missing — apt-get install -y poppler-utils; .ci/run installs it)");
      this.skip();
    }
    fx = await stampedChain("report");
  });
  after(async () => {
    await fx?.stop();
  });

  async function report(receipt: Receipt, file: string, lang: ReportLang, rpc?: string[]) {
    const result = await verifyEvidence({
      receipt,
      file: { path: file, ...(await hashFile(file)) },
      dataDir: fx.dataDir,
      rpc,
    });
    const model = buildReportModel(result, { lang });
    const pdf = await renderReportPdf(model);
    const text = pdfText(pdf);
    expectSectionsInOrder(text, lang);
    return { result, model, pdf, text };
  }

  it("right after stamping, the anchor is on chain but its block is not final: NOT YET FINAL, never a pass", async function () {
    const { model, text } = await report(fx.receipt, fx.draft, "en");
    expect(model.verdict.status).to.equal("not-final");
    expect(verdictSection(text, "en")).to.include(compact("NOT YET FINAL — not verified"));
    expect(compact(text)).to.not.match(PASS.en);
  });

  describe("once the anchoring block is final", function () {
    before(async () => {
      await mine(fx.rpcUrl, 70); // Anvil finalizes blocks 64 behind the head
    });

    for (const lang of ["en", "zh"] as const) {
      it(`a valid file gets a passing report (${lang}) with subject, time in UTC and China Standard Time, and where`, async function () {
        const { model, text, result } = await report(fx.receipt, fx.draft, lang);
        expect(result.ok).to.equal(true);
        expect(model.verdict.status).to.equal("verified");
        const a = fx.receipt.anchors[0];
        const c = compact(text);
        expect(verdictSection(text, lang)).to.match(PASS[lang]);
        for (const s of [
          fx.receipt.subject.sha256,
          a.blockHash,
          a.txHash,
          a.registry,
          a.submitter,
          fx.receipt.proof.root,
          "1.0.0",
          "contract-draft.txt",
          "设计授权合同草稿",
          "张三",
        ])
          expect(c).to.include(s);
        const utc = new Date(a.timestamp * 1000).toISOString().replace("T", " ").slice(0, 19);
        const cst = new Date((a.timestamp + 8 * 3600) * 1000).toISOString().replace("T", " ").slice(0, 19);
        expect(c).to.include(compact(`${utc} UTC`));
        expect(c).to.include(compact(cst));
        expect(c).to.include(lang === "zh" ? compact("北京时间，UTC+8") : compact("China Standard Time (UTC+8)"));
        expect(c).to.include(lang === "zh" ? "不证明文件由谁创作" : compact("does NOT establish who made the file"));
        expect(c).to.include(lang === "zh" ? "第十八条" : compact("Under article 18"));
        expect(c).to.include(`sha256sum'contract-draft.txt'`);
      });
    }

    it("section 7's calldata, sent with a raw fetch to the chain, returns the anchor the report prints", async function () {
      const { text } = await report(fx.receipt, fx.draft, "en");
      const rpc = /RPC=(http:\/\/\S+)/.exec(text)?.[1];
      const call = /"method": "eth_call",\s*"params": \[\{"to": "(0x[0-9a-f]{40})",\s*"data": "(0x[0-9a-f]+)"\},/.exec(
        text,
      );
      expect(rpc, "RPC= line").to.equal(fx.rpcUrl);
      expect(call, "eth_call request body").to.not.equal(null);
      const [, to, data] = call!;
      expect(data).to.have.length(2 + 8 + 64);
      expect(data.endsWith(fx.receipt.proof.root.slice(2))).to.equal(true);
      const response = await fetch(rpc!, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_call", params: [{ to, data }, "latest"] }),
      });
      const { result } = (await response.json()) as { result: string };
      const a = fx.receipt.anchors[0];
      expect(decodeAnchorOfAnswer(result)).to.deep.equal({
        submitter: a.submitter,
        anchoredAt: a.timestamp,
        blockNumber: a.blockNumber,
      });
      // the three words the report tells the expert to expect are exactly the answer
      const printed = anchorOfAnswerWords({
        submitter: a.submitter,
        anchoredAt: a.timestamp,
        blockNumber: a.blockNumber,
      });
      for (const w of printed) expect(text).to.include(`# ${w}`);
      expect(`0x${printed.join("")}`).to.equal(result);
      // and the block the report names has the hash and time it prints
      const block = await rpcCall<{ hash: string; timestamp: string }>(rpc!, "eth_getBlockByNumber", [
        `0x${a.blockNumber.toString(16)}`,
        false,
      ]);
      expect(text).to.include(`"hash": "${block.hash}"`);
      expect(text).to.include(`"timestamp": "${block.timestamp}"`);
    });

    it("a modified file: DOES NOT MATCH, first line, and no time of storage is claimed", async function () {
      const changed = path.join(fx.dir, "contract-draft-edited.txt");
      fs.writeFileSync(changed, fs.readFileSync(fx.draft, "utf8").replace("v1", "v2"));
      for (const lang of ["en", "zh"] as const) {
        const { model, text } = await report(fx.receipt, changed, lang);
        expect(model.verdict.status).to.equal("mismatch");
        expect(model.verdict.code).to.equal("DIGEST_MISMATCH");
        expect(verdictSection(text, lang)).to.include(
          lang === "en"
            ? compact("DOES NOT MATCH — not verified: the file is not the file that was stamped")
            : compact("不一致 — 未通过核验：该文件不是当初存证的文件"),
        );
        expect(compact(text)).to.not.match(PASS[lang]);
        expect(compact(text)).to.include(lang === "en" ? "NOTCONFIRMED." : "未经确认");
        expect(compact(text)).to.not.include(lang === "en" ? "Existednolaterthan" : "不晚于此时间已存在");
      }
    });

    it("a receipt for another chain: NOT VERIFIED, nothing checked against the receipt's chain", async function () {
      const receipt: Receipt = { ...fx.receipt, anchors: [{ ...fx.receipt.anchors[0], chainId: 1 }] };
      const { model, text } = await report(receipt, fx.draft, "en", [fx.rpcUrl]);
      expect(model.verdict.code).to.equal("CHAIN_MISMATCH");
      expect(model.verdict.status).to.equal("unverifiable");
      expect(verdictSection(text, "en")).to.include(
        compact(
          "NOT VERIFIED — the receipt was anchored on chain 1 (Ethereum Mainnet), but the RPC endpoint used serves another chain",
        ),
      );
      expect(compact(text)).to.not.match(PASS.en);
    });

    it("an unanchored receipt: NOT ANCHORED", async function () {
      const receipt = await unanchoredReceipt(fx.draft, fx.receipt);
      for (const lang of ["en", "zh"] as const) {
        const { model, text } = await report(receipt, fx.draft, lang);
        expect(model.verdict.status).to.equal("not-anchored");
        expect(verdictSection(text, lang)).to.include(
          lang === "en" ? compact("NOT ANCHORED — not verified") : compact("未锚定 — 未通过核验"),
        );
        expect(compact(text)).to.not.match(PASS[lang]);
      }
    });

    it("an RPC endpoint that answers with another root's anchor: DOES NOT MATCH, alone or cross-checked with an honest one", async function () {
      const proxy = await lyingProxy(fx.rpcUrl, fx.other.proof.root);
      try {
        const alone = await report(fx.receipt, fx.draft, "en", [proxy.url]);
        expect(proxy.rewrites()).to.be.greaterThan(0);
        expect(alone.model.verdict.code).to.equal("ANCHOR_MISMATCH");
        expect(verdictSection(alone.text, "en")).to.include(
          compact("DOES NOT MATCH — not verified: what the chain records differs from what the receipt says"),
        );
        expect(compact(alone.text)).to.not.match(PASS.en);

        const both = await report(fx.receipt, fx.draft, "zh", [fx.rpcUrl, proxy.url]);
        expect(both.model.verdict.status).to.equal("mismatch");
        expect(verdictSection(both.text, "zh")).to.include(compact("不一致 — 未通过核验：链上记录与凭证所述不符"));
        expect(compact(both.text)).to.include(compact(`RPC 节点 ${proxy.url}`));
        expect(compact(both.text)).to.include(compact(`RPC 节点 ${fx.rpcUrl}`));
        expect(compact(both.text)).to.not.match(PASS.zh);
      } finally {
        await proxy.close();
      }
    });

    it("the verdict is derived from the result alone: any failed result is never reported as verified", async function () {
      const result = await verifyEvidence({
        receipt: fx.receipt,
        file: { path: fx.draft, ...(await hashFile(fx.draft)) },
        dataDir: fx.dataDir,
      });
      expect(verdictStatus(result)).to.equal("verified");
      expect(verdictStatus({ ...result, file: undefined })).to.equal("unverifiable");
      for (const code of [
        "DIGEST_MISMATCH",
        "PROOF_INVALID",
        "ANCHOR_MISMATCH",
        "NOT_ANCHORED",
        "NOT_CONFIRMED",
        "CHAIN_MISMATCH",
        "RPC_UNREACHABLE",
        "REGISTRY_NOT_FOUND",
        "NETWORK_UNKNOWN",
      ] as const) {
        const failed = { ...result, ok: false, code, message: "x" };
        expect(verdictStatus(failed), code).to.not.equal("verified");
        expect(buildReportModel(failed, { lang: "en" }).verdict.passed, code).to.equal(false);
      }
      expect(verdictStatus({ ...result, anchors: result.anchors.map((a) => ({ ...a, final: false })) })).to.equal(
        "not-final",
      );
    });

    it("the HTML report carries the same verdict, escaped", async function () {
      const result = await verifyEvidence({
        receipt: fx.receipt,
        file: { path: fx.draft, ...(await hashFile(fx.draft)) },
        dataDir: fx.dataDir,
      });
      const html = renderReportHtml(buildReportModel(result, { lang: "zh", fileName: "<b>draft</b>.txt" }));
      expect(html).to.include('data-verdict="verified"');
      expect(html).to.include("&lt;b&gt;draft&lt;/b&gt;.txt");
      expect(html).to.not.include("<b>draft</b>");
      expect(html).to.include("核验通过");
    });

    describe("through the CLI", function () {
      before(function () {
        if (!fs.existsSync(CLI.replace(/bin[\\/]proofmark\.js$/, path.join("dist", "index.js")))) {
          console.log("    (skipped: the CLI is not built; run npx tsc -b packages/sdk cli)");
          this.skip();
        }
      });
      const run = (args: string[]) =>
        spawnSync(process.execPath, [CLI, "--data-dir", fx.dataDir, ...args], {
          cwd: fx.dir,
          encoding: "utf8",
          timeout: 90_000,
        });

      it("proofmark report writes a Chinese PDF and exits 0 for a valid file; a page renders to PNG", function () {
        const out = path.join(fx.dir, "report-zh.pdf");
        const r = run(["report", fx.draft, "--out", out, "--lang", "zh"]);
        expect(r.status, r.stderr).to.equal(0);
        expect(r.stdout).to.include("核验通过");
        expect(verdictSection(pdfText(out), "zh")).to.match(PASS.zh);
        if (hasTool("pdftoppm")) {
          const png = path.join(fx.dir, "report-zh-page");
          expect(spawnSync("pdftoppm", ["-png", "-r", "60", "-f", "1", "-l", "1", out, png]).status).to.equal(0);
          const file = fs.readdirSync(fx.dir).find((f) => f.startsWith("report-zh-page") && f.endsWith(".png"));
          expect(file, "rendered PNG").to.not.equal(undefined);
          expect(fs.statSync(path.join(fx.dir, file!)).size).to.be.greaterThan(10_000);
        }
      });

      it("a tampered receipt still gets a report, whose first line says so, and the command exits 1", function () {
        const bad = JSON.parse(serializeReceipt(fx.receipt));
        bad.commitment.salt = `0x${"ab".repeat(32)}`;
        const badPath = path.join(fx.dir, "tampered.proof.json");
        fs.writeFileSync(badPath, JSON.stringify(bad));
        const out = path.join(fx.dir, "report-tampered.pdf");
        const r = run(["report", fx.draft, "--proof", badPath, "--out", out, "--lang", "en", "--json"]);
        expect(r.status).to.equal(1);
        expect(JSON.parse(r.stdout)).to.include({ verdict: "mismatch", passed: false, code: "RECEIPT_INVALID" });
        const text = pdfText(out);
        expect(verdictSection(text, "en")).to.include(
          compact("DOES NOT MATCH — not verified: the receipt is not internally consistent"),
        );
        expect(compact(text)).to.not.match(PASS.en);
      });

      it("proofmark certificate writes one page with the file's SHA-256 and the verify URL from config.json", function () {
        fs.writeFileSync(path.join(fx.dataDir, "config.json"), JSON.stringify({ resolver: "https://id.example.org/" }));
        try {
          const out = path.join(fx.dir, "cert.pdf");
          const r = run(["certificate", fx.receiptPath, "--out", out, "--json"]);
          expect(r.status, r.stderr).to.equal(0);
          const info = spawnSync("pdfinfo", [out], { encoding: "utf8" }).stdout;
          expect(info).to.match(/Pages:\s+1\n/);
          const c = compact(pdfText(out));
          for (const s of [
            "区块链存证证书",
            "设计授权合同草稿",
            "张三",
            "contract-draft.txt",
            fx.receipt.subject.sha256,
            fx.receipt.anchors[0].txHash,
          ])
            expect(c).to.include(s);
          expect(JSON.parse(r.stdout).verifyUrl).to.equal(
            `https://id.example.org/verify?chain=31337&root=${fx.receipt.proof.root}&tx=${fx.receipt.anchors[0].txHash}`,
          );
        } finally {
          fs.rmSync(path.join(fx.dataDir, "config.json"));
        }
      });

      it("proofmark certificate refuses a receipt the chain does not confirm", async function () {
        const p = path.join(fx.dir, "unanchored.proof.json");
        fs.writeFileSync(p, serializeReceipt(await unanchoredReceipt(fx.draft, fx.receipt)));
        const r = run(["certificate", p, "--out", path.join(fx.dir, "nope.pdf")]);
        expect(r.status).to.equal(1);
        expect(r.stderr).to.include("[NOT_ANCHORED]");
        expect(fs.existsSync(path.join(fx.dir, "nope.pdf"))).to.equal(false);
      });
    });
  });
});
