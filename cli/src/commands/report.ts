import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import {
  buildCaptureReportModel,
  buildReportModel,
  hashFile,
  isWaczPath,
  readWaczEntry,
  renderCaptureReportHtml,
  isProofmarkError,
  loadConfig,
  escapeControlChars,
  ProofmarkError,
  renderReportHtml,
  renderReportPdf,
  type RejectedReceipt,
  type ReportLang,
  type VerificationResult,
  type WitnessPolicy,
} from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv, positiveInt, type CommandEnv } from "../options";
import { addVerifyOptions, commandVerifier, readReceiptText, type VerifyCliFlags } from "../receipts";
import { FINGERPRINT_DATABASE_HELP, writeMatchReport } from "./match";
import { addWitnessOptions } from "./witnesses";
import { readAnyReceipt, verifyCaptureFile, verifyWithWitnesses } from "./witness-report";

interface ReportCliOptions extends VerifyCliFlags {
  policy?: WitnessPolicy;
  tsaTrust: string[];
  certTrust: string[];
  proof?: string;
  out: string;
  lang: ReportLang;
  minConfirmations?: number;
  match?: boolean;
  database?: string;
}

/** Chain names from `<dataDir>/config.json`, by chain id. */
export function configuredChainNames(dataDir: string): Record<number, string> {
  const names: Record<number, string> = {};
  for (const [name, n] of Object.entries(loadConfig(dataDir).networks ?? {})) names[n.chainId] ??= name;
  return names;
}

function lang(value: string): ReportLang {
  if (value !== "zh" && value !== "en")
    throw new InvalidArgumentError(`"${value}" is not a report language; use zh or en`);
  return value;
}

/** `proofmark report <file> --proof P --out report.pdf|report.html`: a verification report for a court or notary. */
export function register(program: Command): void {
  addWitnessOptions(
    addVerifyOptions(
      program
        .command("report")
        .description(
          "verify a file against its receipt and the chain, and write a verification report (PDF or HTML) for a court, notary or expert",
        )
        .argument("<file>", "the evidence file")
        .option("--proof <receipt>", "its receipt (default: <file>.proof.json)")
        .requiredOption("--out <report>", "where to write the report: *.pdf or *.html")
        .option("--lang <zh|en>", "language of the report: zh (简体中文) or en", lang, "zh")
        .option("--min-confirmations <n>", "confirmations required (default 1)", positiveInt)
        .option(
          "--match",
          "instead: a side-by-side report of the registered originals <file> matches (see `proofmark match`); PDF in --lang, or HTML (English)",
        )
        .option("--database <url>", `with --match: ${FINGERPRINT_DATABASE_HELP}`),
    ),
  ).action(async (file: string, o: ReportCliOptions, cmd: Command) => {
    const env = commandEnv(cmd);
    if (o.match) return writeMatchReport(env, file, o.out, o);
    const format = /\.pdf$/i.test(o.out) ? "pdf" : /\.html?$/i.test(o.out) ? "html" : undefined;
    if (!format)
      throw new ProofmarkError("INVALID_ARGUMENT", `--out ${o.out}: the report's name must end in .pdf or .html`);
    if (isWaczPath(file)) return reportCapture(env, file, o, format);
    const proof = o.proof ?? `${file}.proof.json`;
    env.out.progress(`hashing ${file}`);
    const digest = { path: file, ...(await hashFile(file)) };
    env.out.progressDone();
    let input: VerificationResult | RejectedReceipt;
    try {
      const receipt = readAnyReceipt(proof, readReceiptText);
      const verifier = commandVerifier(env, o);
      const { result, note } = await verifyWithWitnesses(verifier, receipt, digest);
      if (note) env.out.line(`note: ${note}`);
      input = result;
    } catch (e) {
      if (!isProofmarkError(e, "RECEIPT_INVALID") && !isProofmarkError(e, "RECEIPT_TOO_LARGE")) throw e;
      // An altered or corrupt receipt still gets a report, and that report says so first.
      input = {
        rejected: true,
        ok: false,
        code: e.code,
        message: `${proof}: ${e.message}`,
        file: digest,
        receiptPath: proof,
        checkedAt: new Date().toISOString(),
      };
    }
    const model = buildReportModel(input, {
      lang: o.lang,
      fileName: path.basename(file),
      chainNames: configuredChainNames(env.dataDir),
    });
    const bytes = format === "pdf" ? await renderReportPdf(model) : renderReportHtml(model);
    writeFileAtomic(o.out, bytes);
    env.out.result({
      out: o.out,
      format,
      lang: o.lang,
      verdict: model.verdict.status,
      passed: model.verdict.passed,
      code: model.verdict.code,
      line: model.verdict.line,
    });
    env.out.line(model.verdict.line);
    env.out.line(`report written to ${o.out}`);
    if (!model.verdict.passed) {
      throw new ProofmarkError(
        model.verdict.code ?? "NOT_CONFIRMED",
        `not verified (${model.verdict.status}); the report at ${o.out} says why`,
        { out: o.out, verdict: model.verdict.status },
      );
    }
  });
}

/** `proofmark report capture.wacz`: the court report of a web capture. */
async function reportCapture(
  env: CommandEnv,
  file: string,
  o: ReportCliOptions,
  format: "pdf" | "html",
): Promise<void> {
  const v = await verifyCaptureFile(env, file, o);
  if (v.receiptNote) env.out.line(`note: ${escapeControlChars(v.receiptNote)}`);
  const model = buildCaptureReportModel(v, { lang: o.lang });
  const bytes = fs.readFileSync(file);
  const screenshots = (v.wacz.record?.pages ?? []).flatMap((p) => {
    const png = p.files.screenshot ? readWaczEntry(bytes, p.files.screenshot) : undefined;
    return png ? [{ page: p.url, png }] : [];
  });
  writeFileAtomic(o.out, format === "pdf" ? await renderReportPdf(model) : renderCaptureReportHtml(model, screenshots));
  env.out.result({
    out: o.out,
    format,
    lang: o.lang,
    verdict: model.verdict.status,
    passed: model.verdict.passed,
    code: model.verdict.code,
    file: v.file,
    line: model.verdict.line,
  });
  env.out.line(model.verdict.line);
  env.out.line(`report written to ${o.out}`);
  if (!model.verdict.passed)
    throw new ProofmarkError(
      model.verdict.code ?? "WACZ_INVALID",
      `not verified (${model.verdict.status}); the report at ${o.out} says why`,
      { out: o.out, file: v.file },
    );
}
