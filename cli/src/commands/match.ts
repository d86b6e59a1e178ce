import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import {
  fingerprintImageMatcher,
  hashFile,
  isProofmarkError,
  isWaczPath,
  verifyWaczBytes,
  waczImages,
  matchImage,
  renderMatchReportHtml,
  renderReportPdf,
  buildMatchReportModel,
  type ReportLang,
  verifyEvidence,
  type MatchAnchorCheck,
  CANDIDATE_DISTANCE,
  MATCH_DISTANCE,
  MAX_MATCH_DISTANCE,
  MEASURED,
  MIN_INLIERS,
  parseReceipt,
  ProofmarkError,
  VARIANT_TEXTS,
  layoutViewText,
  LAYOUT_CANDIDATES,
  type MatchResult,
  type Receipt,
  type SuspectView,
} from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv, type CommandEnv } from "../options";
import { formatTime, rows, type Output } from "../output";
import { imageMatchLines } from "./capture";

interface MatchCliOptions {
  maxDistance?: number;
  features: boolean;
  database?: string;
}

/** The `--database` option of the commands that read or write the fingerprint index. */
export const FINGERPRINT_DATABASE_HELP =
  "postgres://… : the fingerprint index in PostgreSQL (default: SQLite in <data-dir>/fingerprints.sqlite)";

/** A receipt file, parsed strictly; RECEIPT_NOT_FOUND when there is none. */
export function readReceiptFile(receiptPath: string): Receipt {
  let text: string;
  try {
    text = fs.readFileSync(receiptPath, "utf8");
  } catch {
    throw new ProofmarkError("RECEIPT_NOT_FOUND", `no receipt at ${receiptPath}`, { path: receiptPath });
  }
  return parseReceipt(text);
}

function distance(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > MAX_MATCH_DISTANCE)
    throw new InvalidArgumentError(`"${value}" is not a distance from 0 to ${MAX_MATCH_DISTANCE} (pHash-64 bits)`);
  return n;
}

/** How the suspect was looked up when it matched, in words. */
const SEEN_AS: Record<SuspectView, string> = {
  whole: "the image as it is (uniform borders trimmed)",
  region: "the photo found inside it (a screenshot, a frame, a caption bar around it)",
  rotation: "the image turned back (it sits rotated on a plain canvas)",
};

/** The sentence every match output carries. */
export const SIMILARITY_NOTE =
  "A match is evidence of SIMILARITY between the images, not proof of copying; the original's receipt proves when her file existed.";

/** `proofmark match <image>`: the registered originals an image matches. */
export function register(program: Command): void {
  program
    .command("match")
    .description(
      "find the registered originals (stamped images) that an image matches, with distance, variant, receipt and anchoring time",
    )
    .argument(
      "<image>",
      "the suspect image (JPEG, PNG, WebP, AVIF, GIF), or a capture (.wacz): each image it recorded is looked up (default thresholds)",
    )
    .option(
      "--max-distance <bits>",
      `match distance in pHash-64 bits (default ${MATCH_DISTANCE}; larger finds more edited copies and more unrelated images)`,
      distance,
    )
    .option("--no-features", "skip the ORB + RANSAC check of candidates (hash distance only)")
    .option("--database <url>", FINGERPRINT_DATABASE_HELP)
    .action(async (image: string, o: MatchCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      if (!fs.existsSync(image)) throw new ProofmarkError("FILE_NOT_FOUND", `no file at ${image}`, { path: image });
      if (isWaczPath(image)) return matchCapture(env, image);
      env.out.progress(`fingerprinting ${image}`);
      const result = await matchImage({
        dataDir: env.dataDir,
        image,
        maxDistance: o.maxDistance,
        features: o.features,
        database: o.database,
      });
      env.out.progressDone();
      env.out.result({ image, note: SIMILARITY_NOTE, measured: MEASURED, ...result });
      printMatches(env.out, image, result);
    });
}

/**
 * `proofmark match capture.wacz`: every image response of a capture (checked offline first) looked
 * up in this data folder's fingerprint index now — originals registered after the capture included.
 */
async function matchCapture(env: CommandEnv, file: string): Promise<void> {
  env.out.progress(`checking ${file}`);
  const bytes = fs.readFileSync(file);
  const v = verifyWaczBytes(bytes);
  if (!v.ok)
    throw new ProofmarkError(
      v.code ?? "WACZ_INVALID",
      `${file} does not pass its own checks${v.file ? ` (${v.file})` : ""}: ${v.message}`,
      { file: v.file },
    );
  const images = waczImages(bytes);
  env.out.progress(`looking up ${images.length} image(s) among the registered originals`);
  const imageMatches = await fingerprintImageMatcher(env.dataDir)(images.filter((i) => i.bytes.length > 0));
  env.out.progressDone();
  const record = { ...v.record!, imageMatches };
  env.out.result({
    file,
    note: SIMILARITY_NOTE,
    images: record.images,
    matches: imageMatches,
    atCapture: v.record?.imageMatches,
  });
  env.out.line(
    `${file}: ${images.length} image response(s), ${new Set(imageMatches.map((m) => m.sha256)).size} resembling a registered original of this data folder (looked up now)`,
  );
  for (const line of imageMatchLines(record)) env.out.line(line);
  env.out.line();
  env.out.line(SIMILARITY_NOTE);
}

function printMatches(out: Output, image: string, r: MatchResult): void {
  const strong = r.matches.filter((m) => m.decidedBy !== "colour layout").length;
  const weak = r.matches.length - strong;
  out.line(
    `${strong === 0 ? "no match" : `${strong} match(es)`} for ${image} among ${r.indexed} indexed original(s) (match distance ≤ ${r.maxDistance} of 64 bits)` +
      (weak ? `; ${weak} resemblance(s) by colour layout only (weaker evidence, see below)` : ""),
  );
  if (r.suspect.tooLittleTexture)
    out.line(
      `note: ${image} has too little texture to fingerprint (flat, a smooth gradient or an even fine pattern): its hash is mostly noise, so a copy of a registered original may go unfound and unrelated flat pictures may match`,
    );
  for (const n of r.notChecked)
    out.line(
      `note: local features not checked for ${image} (${n.seenAs === "whole" ? "as it is" : n.seenAs === "region" ? "the photo found inside it" : "turned back"}${n.original ? `, against ${n.original}` : ""}): ${n.reason}`,
    );
  if (r.layoutComparison?.nearestOnly)
    out.line(
      `note: the colour layout of ${image} was compared only with the ${r.layoutComparison.compared} registered originals with a colour layout nearest to it by layout descriptor (the index holds more than ${LAYOUT_CANDIDATES}); the others were not compared`,
    );
  for (const m of r.matches) {
    const o = m.original;
    out.line();
    out.line(m.layout ? `${o.name}  (colour layout only: weaker evidence)` : `${o.name}`);
    for (const line of rows([
      ...(m.layout
        ? [
            [
              "colour layout",
              `distance ${m.layout.distance} (≤ ${m.layout.maxDistance}), nearest to the original's view: ${layoutViewText(m.layout.view, "en")}`,
            ] as [string, string],
          ]
        : []),
      ["distance", `${m.distance} / 64 bits (pHash-64), ${m.distance256} / 256 bits (hash-256)`],
      ["variant", VARIANT_TEXTS[m.variant].en],
      [
        "local features",
        m.inliers === undefined
          ? "not checked"
          : `${m.inliers} RANSAC inliers (ORB)${m.inliers >= MIN_INLIERS ? "" : `, below ${MIN_INLIERS}`}`,
      ],
      [
        "decided by",
        m.decidedBy === "hash"
          ? "hash distance"
          : m.layout
            ? m.layout.note
            : m.seenAs === "whole"
              ? `local features (hash distance ${m.distance} is above ${r.maxDistance})`
              : "local features (what was found by a guess at the photo is always confirmed by them)",
      ],
      [
        "found by",
        m.foundBy === "hash"
          ? "hash distance (a candidate near by pHash-64)"
          : m.foundBy === "colour layout"
            ? "colour layout (the nearest of the registered originals with too little texture for a hash)"
            : "local features (the suspect's ORB descriptors share keys with the original's)",
      ],
      ["seen as", SEEN_AS[m.seenAs]],
      ["anchored", `${formatTime(o.anchoredAt)}, block ${o.blockNumber} on chain ${o.chainId}`],
      [
        "receipt",
        `${path.relative(process.cwd(), o.receiptPath) || o.receiptPath} (${m.receipt === "present" ? "present, commits this fingerprint" : m.receipt})`,
      ],
      ["original file", o.file],
    ]))
      out.line(line);
  }
  out.line();
  out.line(SIMILARITY_NOTE);
  if (Number.isFinite(MEASURED.falseMatchRate)) {
    out.line(
      `With the default thresholds (distance ${MATCH_DISTANCE}, features to ${CANDIDATE_DISTANCE}), match matched ${(MEASURED.falseMatchRate * 100).toFixed(3)} % of unrelated image pairs and found ${(MEASURED.recall * 100).toFixed(1)} % of edited copies in the corpus run (${MEASURED.corpus}).`,
    );
  }
  if (r.matches.length > 0)
    out.line(
      "Check an original's receipt with `proofmark verify <original> --proof <receipt>`; write a side-by-side report with `proofmark report <image> --match --out report.pdf` (or .html).",
    );
}

/**
 * `proofmark report <image> --match --out report.pdf|report.html`: the side-by-side match report
 * (PDF through the report renderer, HTML as one self-contained page; both from one model, in the
 * report's language). Each
 * matching original whose file is still at its stamping path is re-verified against its receipt
 * and the chain (`verifyEvidence`). No match → NO_MATCH (the report is not written).
 */
export async function writeMatchReport(
  env: CommandEnv,
  image: string,
  out: string,
  opts: { minConfirmations?: number; database?: string; lang: ReportLang },
): Promise<void> {
  const format = /\.pdf$/i.test(out) ? "pdf" : /\.html?$/i.test(out) ? "html" : undefined;
  if (!format)
    throw new ProofmarkError("INVALID_ARGUMENT", `--out ${out}: the match report's name must end in .pdf or .html`);
  if (!fs.existsSync(image)) throw new ProofmarkError("FILE_NOT_FOUND", `no file at ${image}`, { path: image });
  env.out.progress(`matching ${image}`);
  const result = await matchImage({ dataDir: env.dataDir, database: opts.database, image });
  env.out.progressDone();
  if (result.matches.length === 0) {
    throw new ProofmarkError(
      "NO_MATCH",
      `${image} matches none of the ${result.indexed} registered original(s) (distance ≤ ${result.maxDistance}); no report written`,
      { image, indexed: result.indexed },
    );
  }
  const originals = new Map<number, Uint8Array>();
  const anchorChecks = new Map<number, MatchAnchorCheck>();
  for (const m of result.matches) {
    const o = m.original;
    if (!fs.existsSync(o.file) || !fs.existsSync(o.receiptPath)) continue;
    originals.set(o.id, fs.readFileSync(o.file));
    try {
      const receipt = readReceiptFile(o.receiptPath);
      const v = await verifyEvidence({
        receipt,
        file: { path: o.file, ...(await hashFile(o.file)) },
        rpc: env.opts.rpc,
        dataDir: env.dataDir,
        minConfirmations: opts.minConfirmations,
      });
      anchorChecks.set(o.id, {
        ok: v.ok,
        line: v.ok
          ? `verified: the original file matches its receipt, anchored in block ${o.blockNumber} on chain ${o.chainId}`
          : `not verified: ${v.code ?? "failed"} ${v.message ?? ""}`.trim(),
        code: v.ok ? undefined : (v.code ?? "failed"),
        message: v.ok ? undefined : v.message,
      });
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      anchorChecks.set(o.id, {
        ok: false,
        line: `not verified: ${e.code}: ${e.message}`,
        code: e.code,
        message: e.message,
      });
    }
  }
  const input = {
    suspectName: path.basename(image),
    suspect: fs.readFileSync(image),
    result,
    originals,
    anchorChecks,
    checkedAt: new Date().toISOString(),
  };
  writeFileAtomic(
    out,
    format === "pdf"
      ? await renderReportPdf(await buildMatchReportModel({ ...input, lang: opts.lang }))
      : await renderMatchReportHtml({ ...input, lang: opts.lang }),
  );
  const best = result.matches[0];
  env.out.result({
    out,
    format,
    matches: result.matches.length,
    best: {
      name: best.original.name,
      distance: best.distance,
      variant: best.variant,
      anchoredAt: best.original.anchoredAt,
    },
    note: SIMILARITY_NOTE,
  });
  env.out.line(
    `${result.matches.length} match(es); nearest: ${best.original.name} at distance ${best.distance}, anchored ${formatTime(best.original.anchoredAt)}`,
  );
  env.out.line(SIMILARITY_NOTE);
  env.out.line(`report written to ${out}`);
}
