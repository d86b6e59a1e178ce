import type Sharp from "sharp";
import { lazyModule } from "../util/lazy";
import { escapeHtml } from "../core/html";
import { VARIANT_LABELS } from "../core/fingerprint";
import type { ImageMatch, MatchResult } from "../fingerprint/match";
import { CANDIDATE_DISTANCE, MATCH_DISTANCE } from "../fingerprint/measured";
import { translator, type Lang } from "../core/i18n";
import { formatCst, formatUtc } from "../core/time-format";
import { sha256Bytes } from "../core/digest";
import type { ReportModel, ReportSection } from "./model";
import { MATCH_REPORT_TEXTS } from "./texts/match-report";
import { MEASURED } from "../fingerprint/measured";
import { MIN_INLIERS } from "../fingerprint/orb";

const sharp = lazyModule<typeof Sharp>("sharp");

/** What re-checking an original's receipt against its file and the chain found (from `verifyEvidence`). */
export interface MatchAnchorCheck {
  ok: boolean;
  /** One line: verified, or why not (the HTML report). */
  line: string;
  /** Why not, for the catalogued reports: the error code and message. */
  code?: string;
  message?: string;
}

export interface MatchReportInput {
  /** Display name of the suspect image. */
  suspectName: string;
  suspect: Uint8Array;
  result: MatchResult;
  /** The originals' image bytes, by index id (missing files are shown as missing). */
  originals: Map<number, Uint8Array>;
  /** Receipt re-checks, by index id (absent: not re-checked). */
  anchorChecks: Map<number, MatchAnchorCheck>;
  checkedAt: string;
}

function thumbnailJpeg(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes, { animated: false })
    .rotate()
    .resize(420, 420, { fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .jpeg({ quality: 80 })
    .toBuffer();
}

async function thumbnail(bytes: Uint8Array): Promise<string> {
  return `data:image/jpeg;base64,${(await thumbnailJpeg(bytes)).toString("base64")}`;
}

function pct(x: number): string {
  return `${(100 * x).toFixed(3)} %`;
}

/**
 * The side-by-side match report (HTML, self-contained): the suspect next to each original it
 * matches, the distances and what the threshold means (its measured false-match rate), local-feature
 * inliers, and the original's anchor. It says what a match is — evidence of similarity — and what was
 * not checked.
 *
 * @example
 * const html = await renderMatchReportHtml({ suspectName: "copy.jpg", suspect, result, originals, anchorChecks, checkedAt });
 */
export async function renderMatchReportHtml(input: MatchReportInput): Promise<string> {
  const { result } = input;
  const suspectSrc = await thumbnail(input.suspect);
  const fmrAtD = MEASURED.falseMatchRateByDistance[result.maxDistance];
  const threshold = Number.isFinite(fmrAtD)
    ? `In the corpus run (${escapeHtml(MEASURED.corpus)}; ${MEASURED.originals} images), ${pct(fmrAtD)} of pairs of unrelated images were at distance ${result.maxDistance} or less: that is the chance that an unrelated image passes this threshold against one original.`
    : `The false-match rate at distance ${result.maxDistance} was not measured on the corpus; treat a hash-only match at this distance with care.`;
  const sections: string[] = [];
  for (const m of result.matches) sections.push(await matchSection(input, m, suspectSrc, threshold));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Proofmark image match report</title>
<style>
body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
.pair{display:flex;gap:1rem;flex-wrap:wrap}.pair figure{flex:1;min-width:16rem;margin:0}.pair img{max-width:100%;border:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .5rem;text-align:left;vertical-align:top}
.note{background:#fff7e0;border-left:4px solid #e0a800;padding:.5rem 1rem}.ok{color:#176d2c}.bad{color:#a11}
</style></head><body>
<h1>Image match report</h1>
<p class="note"><strong>A match is evidence of similarity, not proof of copying.</strong> It says that the suspect image and a registered original look alike after the edits measured below; the original's receipt and its anchor on the chain show when her file existed.</p>
<table>
<tr><th>Suspect image</th><td>${escapeHtml(input.suspectName)}</td></tr>
<tr><th>Checked at</th><td>${escapeHtml(input.checkedAt)}</td></tr>
<tr><th>Originals in the index</th><td>${result.indexed}</td></tr>
<tr><th>Match distance</th><td>${result.maxDistance} of 64 bits (pHash-64); candidates up to ${result.candidateDistance} bits count only when ORB + RANSAC finds at least ${MIN_INLIERS} inliers</td></tr>
<tr><th>Matches</th><td>${result.matches.length}</td></tr>
</table>
${sections.join("\n") || "<p>No registered original matches this image.</p>"}
<h2>How the comparison works</h2>
<p>Both images are decoded, uniform borders are trimmed, and a 64-bit perceptual hash (pHash: the signs of low-frequency DCT coefficients of the grey image) is computed. Originals are indexed with eight variants (whole, mirrored, centre crops, one-sided crops), so cropped, bordered and mirrored copies land near one of them. The distance is the number of differing bits. ${threshold}</p>
<p>Local features (ORB keypoints matched with a ratio test, then a RANSAC homography) count the keypoints that one geometric transform maps from the suspect onto the original; unrelated images typically give none.</p>
<h2>What this report did not check</h2>
<ul><li>Who made either image, or whether the suspect was derived from the original rather than both from a common source.</li>
<li>Originals whose file was no longer at its stamping path could not be shown or re-verified against the chain; their rows say so.</li></ul>
</body></html>
`;
}

async function matchSection(
  input: MatchReportInput,
  m: ImageMatch,
  suspectSrc: string,
  threshold: string,
): Promise<string> {
  const o = m.original;
  const bytes = input.originals.get(o.id);
  const originalImg = bytes
    ? `<img alt="original" src="${await thumbnail(bytes)}">`
    : '<p class="bad">The original file is no longer at its stamping path.</p>';
  const check = input.anchorChecks.get(o.id);
  const when = new Date(o.anchoredAt * 1000).toISOString().replace(".000Z", "Z");
  return `<h2>Original: ${escapeHtml(o.name)}</h2>
<div class="pair"><figure><img alt="suspect" src="${suspectSrc}"><figcaption>Suspect: ${escapeHtml(input.suspectName)}</figcaption></figure>
<figure>${originalImg}<figcaption>Original: ${escapeHtml(o.name)}</figcaption></figure></div>
<table>
<tr><th>Distance</th><td>${m.distance} of 64 bits (pHash-64); ${m.distance256} of 256 bits (256-bit DCT hash)</td></tr>
<tr><th>Matching variant</th><td>${escapeHtml(VARIANT_LABELS[m.variant])}</td></tr>
<tr><th>Local features</th><td>${m.inliers === undefined ? "not checked (no stored features)" : `${m.inliers} RANSAC inliers (ORB)`}</td></tr>
<tr><th>Decided by</th><td>${m.decidedBy === "hash" ? `hash distance ≤ ${input.result.maxDistance}` : `local features: ${m.inliers} inliers ≥ ${MIN_INLIERS} (hash distance ${m.distance})`}</td></tr>
<tr><th>What the threshold means</th><td>${threshold}</td></tr>
<tr><th>Anchored</th><td>${escapeHtml(when)} — block ${o.blockNumber} on chain ${o.chainId}, transaction ${escapeHtml(o.txHash)}</td></tr>
<tr><th>Receipt</th><td>${escapeHtml(o.receiptPath)} (${escapeHtml(m.receipt === "present" ? "present; its leaf commits this fingerprint" : m.receipt)})</td></tr>
<tr><th>Original file SHA-256</th><td>${escapeHtml(o.sha256)}</td></tr>
<tr><th>Receipt re-verified</th><td>${check ? `<span class="${check.ok ? "ok" : "bad"}">${escapeHtml(check.line)}</span>` : "not re-verified (original file or receipt missing)"}</td></tr>
</table>`;
}

/**
 * The match report as the common report model (sections of blocks, texts from the
 * `MATCH_REPORT_TEXTS` catalogue in Chinese or English), so it renders through the same PDF
 * renderer as `proofmark report`: the suspect beside each original, distances, the measured
 * false-match rate of the threshold, the original's anchor and its re-verification.
 *
 * @example
 * const pdf = await renderReportPdf(await buildMatchReportModel({ ...input, lang: "zh" }));
 */
export async function buildMatchReportModel(input: MatchReportInput & { lang: Lang }): Promise<ReportModel> {
  const t = translator(MATCH_REPORT_TEXTS, input.lang);
  const { result } = input;
  const pctText = (x: number) => `${(100 * x).toFixed(3)} %`;
  const fmrAtD = MEASURED.falseMatchRateByDistance[result.maxDistance];
  const threshold = Number.isFinite(fmrAtD)
    ? t("falseMatchAt", {
        corpus: MEASURED.corpus,
        originals: MEASURED.originals,
        rate: pctText(fmrAtD),
        distance: result.maxDistance,
        matchDistance: MATCH_DISTANCE,
        candidate: CANDIDATE_DISTANCE,
        fmr: pctText(MEASURED.falseMatchRate),
        recall: `${(100 * MEASURED.recall).toFixed(1)} %`,
      })
    : t("falseMatchNotMeasured", { distance: result.maxDistance });
  const best = result.matches[0];
  const suspectJpeg = await thumbnailJpeg(input.suspect);
  const seenAs = { whole: t("seenAsWhole"), region: t("seenAsRegion"), rotation: t("seenAsRotation") };
  const receiptWords = {
    present: t("receiptPresent"),
    missing: t("receiptMissing"),
    invalid: t("receiptInvalid"),
    "other-fingerprint": t("receiptOtherFingerprint"),
  };
  const sections: ReportSection[] = [
    {
      number: 1,
      title: t("summaryHeading"),
      blocks: [
        { kind: "para", text: "" }, // the verdict box takes the first block's place
        { kind: "para", text: t("similarityNote"), tone: "warn" },
        {
          kind: "fields",
          rows: [
            { label: t("suspectImage"), value: input.suspectName },
            { label: t("suspectSha256"), value: sha256Bytes(input.suspect), mono: true },
            { label: t("checkedAt"), value: input.checkedAt },
            { label: t("originalsIndexed"), value: String(result.indexed) },
            {
              label: t("matchDistance"),
              value: t("matchDistanceValue", {
                distance: result.maxDistance,
                candidate: result.candidateDistance,
                inliers: MIN_INLIERS,
              }),
            },
            { label: t("matches"), value: String(result.matches.length) },
            { label: t("threshold"), value: threshold },
          ],
        },
      ],
    },
  ];
  for (const m of result.matches) {
    const o = m.original;
    const bytes = input.originals.get(o.id);
    const check = input.anchorChecks.get(o.id);
    sections.push({
      number: sections.length + 1,
      title: t("originalHeading", { name: o.name }),
      blocks: [
        {
          kind: "images",
          items: [
            { caption: t("suspectCaption", { name: input.suspectName }), jpeg: suspectJpeg },
            bytes
              ? { caption: t("originalCaption", { name: o.name }), jpeg: await thumbnailJpeg(bytes) }
              : { caption: t("originalCaption", { name: o.name }), missing: t("originalMissing") },
          ],
        },
        {
          kind: "check",
          title: t("originalHeading", { name: o.name }),
          ok: check?.ok,
          rows: [
            { label: t("distance"), value: t("distanceValue", { distance: m.distance, distance256: m.distance256 }) },
            { label: t("variant"), value: VARIANT_LABELS[m.variant] },
            {
              label: t("localFeatures"),
              value: m.inliers === undefined ? t("featuresNotChecked") : t("featuresInliers", { inliers: m.inliers }),
            },
            {
              label: t("decidedBy"),
              value:
                m.decidedBy === "hash"
                  ? t("decidedByHash", { distance: result.maxDistance })
                  : t("decidedByFeatures", { inliers: m.inliers ?? 0, min: MIN_INLIERS, distance: m.distance }),
            },
            { label: t("seenAs"), value: seenAs[m.seenAs] },
            {
              label: t("anchored"),
              value: t("anchoredValue", {
                timeCst: formatCst(o.anchoredAt, input.lang),
                timeUtc: formatUtc(o.anchoredAt),
                chainId: o.chainId,
                blockNumber: o.blockNumber,
                txHash: o.txHash,
              }),
            },
            { label: t("receipt"), value: `${o.receiptPath} (${receiptWords[m.receipt]})`, mono: true },
            { label: t("originalSha256"), value: o.sha256, mono: true },
            {
              label: t("reverified"),
              value: !check
                ? t("notReverified")
                : check.ok
                  ? t("reverifiedOk", { chainId: o.chainId, blockNumber: o.blockNumber })
                  : t("reverifiedFailed", { code: check.code ?? "", message: check.message ?? "" }),
            },
          ],
        },
      ],
    });
  }
  sections.push(
    {
      number: sections.length + 1,
      title: t("methodHeading"),
      blocks: [
        { kind: "para", text: `${t("method")} ${threshold}` },
        { kind: "para", text: t("methodFeatures") },
      ],
    },
    {
      number: sections.length + 2,
      title: t("notCheckedHeading"),
      blocks: [{ kind: "list", items: [t("notCheckedAuthor"), t("notCheckedMissing")] }],
    },
  );
  return {
    lang: input.lang,
    title: t("title"),
    verdict: {
      // the box says "similar" in the report's tone for a passed check; its wording never says "verified"
      status: "verified",
      passed: true,
      line: best
        ? t("verdict", {
            count: result.matches.length,
            name: best.original.name,
            distance: best.distance,
            timeCst: formatCst(best.original.anchoredAt, input.lang),
            timeUtc: formatUtc(best.original.anchoredAt),
          })
        : "",
      detail: t("similarityNote"),
    },
    subject: { name: input.suspectName },
    generatedAt: input.checkedAt,
    sections,
    footer: t("footer"),
  };
}
