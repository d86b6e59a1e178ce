import type Sharp from "sharp";
import { lazyModule } from "../util/lazy";
import { LAYOUT_CANDIDATES, VARIANT_TEXTS, layoutViewText } from "../core/fingerprint";
import type { MatchResult } from "../fingerprint/match";
import { CANDIDATE_DISTANCE, MATCH_DISTANCE } from "../fingerprint/measured";
import { translator, type Lang } from "../core/i18n";
import { formatCst, formatUtc } from "../core/time-format";
import { sha256Bytes } from "../core/digest";
import type { ReportModel, ReportSection } from "./model";
import { renderReportHtml } from "./html";
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

/**
 * The side-by-side match report as one self-contained HTML page, in Chinese or English: the same
 * model (`buildMatchReportModel`, texts from the `MATCH_REPORT_TEXTS` catalogue) as the PDF, so both
 * say the same — the suspect beside each original it matches, the distances and what the threshold
 * means, how each original was found and decided, the original's anchor — with the images inline.
 *
 * @example
 * const html = await renderMatchReportHtml({ suspectName: "copy.jpg", suspect, result, originals, anchorChecks, checkedAt, lang: "zh" });
 */
export async function renderMatchReportHtml(input: MatchReportInput & { lang: Lang }): Promise<string> {
  const html = renderReportHtml(await buildMatchReportModel(input));
  const csp = "default-src 'none'; style-src 'unsafe-inline'";
  if (!html.includes(csp))
    throw new Error("the report's Content-Security-Policy changed: update renderMatchReportHtml");
  return html.replace(csp, `${csp}; img-src data:`);
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
  const layoutOnly = best !== undefined && best.decidedBy === "colour layout";
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
        ...(result.suspect.tooLittleTexture
          ? [{ kind: "para" as const, text: t("tooLittleTexture"), tone: "warn" as const }]
          : []),
        ...(result.matches.length === 0 ? [{ kind: "para" as const, text: t("noMatch") }] : []),
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
            { label: t("variant"), value: VARIANT_TEXTS[m.variant][input.lang] },
            {
              label: t("localFeatures"),
              value: m.inliers === undefined ? t("featuresNotChecked") : t("featuresInliers", { inliers: m.inliers }),
            },
            {
              label: t("decidedBy"),
              value:
                m.decidedBy === "hash"
                  ? t("decidedByHash", { distance: result.maxDistance })
                  : m.decidedBy === "colour layout"
                    ? t("decidedByLayout", {
                        distance: m.layout?.distance ?? "?",
                        max: m.layout?.maxDistance ?? "?",
                        view: m.layout ? layoutViewText(m.layout.view, input.lang) : "?",
                      })
                    : t("decidedByFeatures", { inliers: m.inliers ?? 0, min: MIN_INLIERS, distance: m.distance }),
            },
            {
              label: t("foundBy"),
              value:
                m.foundBy === "hash"
                  ? t("foundByHash")
                  : m.foundBy === "colour layout"
                    ? t("foundByLayout")
                    : t("foundByLocalFeatures"),
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
      blocks: [
        {
          kind: "list",
          items: [
            t("notCheckedAuthor"),
            t("notCheckedMissing"),
            ...result.notChecked.map((n) =>
              t("notCheckedFeatures", {
                seenAs: seenAs[n.seenAs],
                original: n.original ? t("notCheckedFeaturesOriginal", { name: n.original }) : "",
                reason: n.reason,
              }),
            ),
            ...(result.layoutComparison?.nearestOnly
              ? [t("notCheckedLayouts", { compared: result.layoutComparison.compared, limit: LAYOUT_CANDIDATES })]
              : []),
          ],
        },
      ],
    },
  );
  return {
    lang: input.lang,
    title: t("title"),
    verdict: {
      // the box says "similar" in the report's tone for a passed check; its wording never says "verified".
      // A colour-layout resemblance alone (matches are sorted so that it comes last) is not that verdict.
      status: layoutOnly ? "unverifiable" : "verified",
      passed: !layoutOnly,
      line: layoutOnly
        ? t("verdictLayoutOnly", {
            name: best.original.name,
            distance: best.layout?.distance ?? "?",
            max: best.layout?.maxDistance ?? "?",
            timeCst: formatCst(best.original.anchoredAt, input.lang),
            timeUtc: formatUtc(best.original.anchoredAt),
          })
        : best
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
