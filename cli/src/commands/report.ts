import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import {
  buildReportModel, hashFile, isProofmarkError, loadConfig, parseReceipt, ProofmarkError, renderReportHtml, renderReportPdf,
  verifyEvidence, writeFileAtomic, type RejectedReceipt, type ReportLang, type VerificationResult,
} from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";
import { writeMatchReport } from "./match";

interface ReportCliOptions {
  proof?: string;
  out: string;
  lang: ReportLang;
  minConfirmations?: number;
  match?: boolean;
}

/** Chain names from `<dataDir>/config.json`, by chain id. */
export function configuredChainNames(dataDir: string): Record<number, string> {
  const names: Record<number, string> = {};
  for (const [name, n] of Object.entries(loadConfig(dataDir).networks ?? {})) names[n.chainId] ??= name;
  return names;
}

function lang(value: string): ReportLang {
  if (value !== "zh" && value !== "en") throw new InvalidArgumentError(`"${value}" is not a report language; use zh or en`);
  return value;
}

/** `proofmark report <file> --proof P --out report.pdf|report.html`: a verification report for a court or notary. */
export function register(program: Command): void {
  program
    .command("report")
    .description("verify a file against its receipt and the chain, and write a verification report (PDF or HTML) for a court, notary or expert")
    .argument("<file>", "the evidence file")
    .option("--proof <receipt>", "its receipt (default: <file>.proof.json)")
    .requiredOption("--out <report>", "where to write the report: *.pdf or *.html")
    .option("--lang <zh|en>", "language of the report: zh (简体中文) or en", lang, "zh")
    .option("--min-confirmations <n>", "confirmations required (default 1)", positiveInt)
    .option("--match", "instead: a side-by-side report of the registered originals <file> matches (see `proofmark match`); HTML")
    .action(async (file: string, o: ReportCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      if (o.match) return writeMatchReport(env, file, o.out, o.minConfirmations);
      const format = /\.pdf$/i.test(o.out) ? "pdf" : /\.html?$/i.test(o.out) ? "html" : undefined;
      if (!format) throw new ProofmarkError("INVALID_ARGUMENT", `--out ${o.out}: the report's name must end in .pdf or .html`);
      const proof = o.proof ?? `${file}.proof.json`;
      env.out.progress(`hashing ${file}`);
      const digest = { path: file, ...(await hashFile(file)) };
      env.out.progressDone();
      let text: string;
      try {
        text = fs.readFileSync(proof, "utf8");
      } catch {
        throw new ProofmarkError("RECEIPT_NOT_FOUND", `no receipt at ${proof}; pass the file's receipt with --proof`, { path: proof });
      }
      let input: VerificationResult | RejectedReceipt;
      try {
        const receipt = parseReceipt(text);
        input = await verifyEvidence({ receipt, file: digest, rpc: env.opts.rpc, dataDir: env.dataDir, minConfirmations: o.minConfirmations });
      } catch (e) {
        if (!isProofmarkError(e, "RECEIPT_INVALID")) throw e;
        // An altered or corrupt receipt still gets a report, and that report says so first.
        input = { rejected: true, ok: false, code: e.code, message: `${proof}: ${e.message}`, file: digest, receiptPath: proof, checkedAt: new Date().toISOString() };
      }
      const model = buildReportModel(input, { lang: o.lang, fileName: path.basename(file), chainNames: configuredChainNames(env.dataDir) });
      const bytes = format === "pdf" ? await renderReportPdf(model) : renderReportHtml(model);
      writeFileAtomic(o.out, bytes);
      env.out.result({ out: o.out, format, lang: o.lang, verdict: model.verdict.status, passed: model.verdict.passed, code: model.verdict.code, line: model.verdict.line });
      env.out.line(model.verdict.line);
      env.out.line(`report written to ${o.out}`);
      if (!model.verdict.passed) {
        throw new ProofmarkError(model.verdict.code ?? "NOT_CONFIRMED", `not verified (${model.verdict.status}); the report at ${o.out} says why`, { out: o.out, verdict: model.verdict.status });
      }
    });
}
