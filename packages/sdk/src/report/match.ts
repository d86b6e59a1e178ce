import sharp from "sharp";
import { escapeHtml } from "../core/html";
import { VARIANT_LABELS } from "../core/fingerprint";
import type { ImageMatch, MatchResult } from "../fingerprint/match";
import { MEASURED } from "../fingerprint/measured";
import { MIN_INLIERS } from "../fingerprint/orb";

/** What re-checking an original's receipt against its file and the chain found (from `verifyEvidence`). */
export interface MatchAnchorCheck {
  ok: boolean;
  /** One line: verified, or why not. */
  line: string;
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

async function thumbnail(bytes: Uint8Array): Promise<string> {
  const jpeg = await sharp(bytes, { animated: false })
    .rotate()
    .resize(420, 420, { fit: "inside", withoutEnlargement: true })
    .flatten({ background: "#ffffff" })
    .jpeg({ quality: 80 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString("base64")}`;
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
