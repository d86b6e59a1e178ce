import { createHash } from "node:crypto";
import {
  escapeHtml as esc,
  eventLocationName,
  formatPageDate,
  formatPageTime,
  groupSerial,
  LANGUAGE_TAGS,
  participantName,
  PARTICIPANT_TEXTS,
  translate,
  verifierBundleJs,
  type EpcisEvent,
  type ParticipantView,
} from "@proofmark/sdk";
import { BoundedCache } from "./cache";
import { DISPOSITION_LABELS, STEP_LABELS, t, VERIFY_STRINGS, type Lang } from "./i18n";
import type { EventView, TraceView } from "./queries";

/**
 * HTML pages. Every value that comes from the chain, the index or the request goes through
 * `esc()`; a page has at most one inline script, allowed by its hash in the CSP (server.ts pageCsp);
 * the stylesheet is a separate immutable file; no inline event handlers or styles.
 */

const CSS = `
:root { --ok: #0a7d32; --bad: #b3261e; --warn: #8a5a00; --ink: #1b1b1b; --muted: #5f6368; --line: #e3e3e3; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: var(--ink); background: #f6f7f5; }
header { display: flex; justify-content: space-between; align-items: center; padding: 10px 16px; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
header a { color: var(--muted); text-decoration: none; font-size: 14px; }
main { max-width: 640px; margin: 0 auto; padding: 12px 12px 40px; }
.banner { border-radius: 12px; padding: 14px 16px; margin: 10px 0; color: #fff; }
.banner h1, .banner h2 { margin: 0 0 4px; font-size: 20px; line-height: 1.3; }
.banner p { margin: 0; font-size: 15px; }
.banner.ok { background: var(--ok); }
.banner.bad { background: var(--bad); }
.banner.warn { background: #fff4e0; color: var(--warn); border: 2px solid #f0b44c; }
.card { background: #fff; border-radius: 12px; padding: 14px 16px; margin: 10px 0; border: 1px solid var(--line); }
.card h2 { font-size: 17px; margin: 0 0 8px; }
.product-name { font-size: 22px; font-weight: 700; margin: 0; overflow-wrap: anywhere; }
.product-en { color: var(--muted); margin: 0 0 8px; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
ol.timeline { list-style: none; margin: 0; padding: 0; }
ol.timeline li { border-left: 3px solid var(--ok); padding: 0 0 14px 14px; position: relative; }
ol.timeline li.recall { border-left-color: var(--bad); }
ol.timeline .step { font-weight: 700; }
ol.timeline .when { color: var(--muted); font-size: 14px; }
.badge { display: inline-block; font-size: 13px; padding: 1px 8px; border-radius: 999px; background: #e6f4ea; color: var(--ok); margin-top: 4px; }
.badge.stale { background: #fff4e0; color: var(--warn); }
.badge.bad { background: #fce8e6; color: var(--bad); }
.chain { font-size: 12px; color: var(--muted); overflow-wrap: anywhere; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; overflow-wrap: anywhere; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 20px; }
#drop { display: block; border: 2px dashed #9aa0a6; border-radius: 12px; padding: 28px 16px; text-align: center; background: #fff; cursor: pointer; }
#drop.over { border-color: var(--ok); background: #f0faf3; }
progress { width: 100%; height: 14px; }
button { font-size: 17px; padding: 10px 18px; border-radius: 10px; border: 0; background: #1a73e8; color: #fff; }
.hidden { display: none; }
`;

/** The stylesheet, served once and cached by the browser (content-addressed path, immutable). */
export const STYLESHEET = CSS;
export const STYLESHEET_PATH = `/assets/portal-${createHash("sha256").update(CSS).digest("hex").slice(0, 16)}.css`;

/** A full page: the stylesheet by reference, its one inline script (allowed by hash, see pageCsp). */
export function layout(opts: {
  lang: Lang;
  title: string;
  body: string;
  script?: string;
  langSwitchHref: string;
}): string {
  return `<!doctype html>
<html lang="${LANGUAGE_TAGS[opts.lang]}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${esc(opts.title)}</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}"></head>
<body>
<header><span class="brand">Proofmark</span><a id="lang-switch" href="${esc(opts.langSwitchHref)}">${esc(t(opts.lang, "lang"))}</a></header>
<main>${opts.body}</main>
<footer>Proofmark · <a href="/verify">${esc(t(opts.lang, "verifyLink"))}</a></footer>
${opts.script ? `<script>${opts.script}</script>` : ""}
</body></html>`;
}

function short(hex: string): string {
  return hex.length > 18 ? `${hex.slice(0, 10)}…${hex.slice(-6)}` : hex;
}

/** What the scan page shows, decided by the server from the index. */
export interface ScanModel {
  gtin: string;
  lot: string;
  serial: string;
  /** "ok": issued serial of an existing lot; "unknown-serial"; "lot-not-found". */
  verdict: "ok" | "unknown-serial" | "lot-not-found";
  trace?: TraceView;
  scans?: { count: number; firstSeen: number };
  manyScans: boolean;
  chain: { reachable: boolean; lastSync: number };
}

function stepLabel(lang: Lang, step: string): string {
  return STEP_LABELS[step]?.[lang] ?? step;
}

/** A string field of a verified event document (EPCIS top level or ILMD), if it is one. */
function docField(e: EventView | undefined, key: string): string | undefined {
  const d = e?.details;
  if (!d) return undefined;
  const ilmd = d.ilmd as Record<string, unknown> | undefined;
  const v = d[key] ?? (ilmd && typeof ilmd === "object" ? ilmd[key] : undefined);
  return typeof v === "string" || typeof v === "number" ? String(v) : undefined;
}

/** The plot a harvest came from, from its verified document. */
export function plotOf(e: EventView | undefined): string | undefined {
  return docField(e, "gi:plot");
}

/** The certificate attached to an (inspection) event's verified document: its file name and CID. */
export function certificateOf(e: EventView | undefined): { name: string; cid?: string } | undefined {
  const name = docField(e, "gi:attachmentName");
  return name === undefined ? undefined : { name, cid: docField(e, "gi:attachment") };
}

function eventItem(lang: Lang, e: EventView, reachable: boolean, trusted: boolean): string {
  const disp = DISPOSITION_LABELS[e.disposition]?.[lang] ?? e.disposition;
  const detail: string[] = [];
  const cert = certificateOf(e);
  if (cert)
    detail.push(
      `<div class="certificate">${esc(t(lang, "inspectionCertificate"))}: ${esc(cert.name)}${cert.cid ? ` <span class="chain">${esc(cert.cid)}</span>` : ""}</div>`,
    );
  // A place given as plain text (an address) is kept in the document beside its stable URI.
  const place = e.details ? eventLocationName(e.details as EpcisEvent) : undefined;
  if (place !== undefined) detail.push(`<div class="place">${esc(t(lang, "location"))}: ${esc(place)}</div>`);
  const note = docField(e, "gi:note");
  if (note !== undefined) detail.push(`<div>${esc(t(lang, "note"))}: ${esc(note)}</div>`);
  const badge =
    e.check === "document-mismatch"
      ? `<span class="badge bad">✗ ${esc(t(lang, "hashChainBroken"))}</span>`
      : reachable && trusted
        ? `<span class="badge">✓ ${esc(t(lang, "verifiedOnChain"))}</span>`
        : `<span class="badge stale">${esc(t(lang, "notReverified"))}</span>`;
  return `<li class="${e.disposition === "recalled" || e.check === "document-mismatch" ? "recall" : ""}">
  <div class="step">${esc(stepLabel(lang, e.step))} <span class="when">· ${esc(disp)}</span></div>
  <div class="when">${esc(formatPageTime(lang, e.eventTime))} · ${esc(t(lang, "by"))} ${actorHtml(lang, e.actorLabel, e.participant)}</div>
  ${detail.join("")}
  <div>${badge}</div>
  <div class="chain">${esc(t(lang, "block"))} #${esc(e.blockNumber)} · ${esc(formatPageTime(lang, e.time))} · ${esc(t(lang, "tx"))} <span title="${esc(e.txHash)}">${esc(short(e.txHash))}</span></div>
</li>`;
}

/**
 * Who an actor is, as HTML: its participant record's name in `lang` and licence number
 * ("砀山县李庄果园 · 许可证号 SC1234"), or its address and "unregistered" / "未登记". Names are
 * untrusted chain text: escaped, and each inside its own <bdi> so that bidirectional controls in a
 * name cannot reorder the text around it.
 */
export function actorHtml(lang: Lang, label: string, p: ParticipantView | undefined): string {
  if (!p)
    return `<span class="mono">${esc(label)}</span> · <span class="unregistered">${esc(translate(PARTICIPANT_TEXTS, lang, "unregistered"))}</span>`;
  const name = `<bdi class="participant">${esc(participantName(p, lang))}</bdi>`;
  if (p.licence === "") return name;
  const [before, after] = PARTICIPANT_TEXTS.licence[lang].split("{licence}");
  return `${name} · ${esc(before)}<bdi class="licence">${esc(p.licence)}</bdi>${esc(after ?? "")}`;
}

/**
 * The timeline of a trace, rendered once per trace object (the index keeps one per version),
 * language and chain state: every serial of a lot shares it, so a first scan does not format
 * every event again.
 */
function timeline(lang: Lang, trace: TraceView, reachable: boolean): string {
  let byKey = timelines.get(trace);
  if (!byKey) {
    byKey = new Map();
    timelines.set(trace, byKey);
  }
  const key = `${lang}|${reachable}`;
  let html = byKey.get(key);
  if (html === undefined) {
    // One operation can record the same step on several lots (packing records it on the lot packed
    // and on the new packed lot, in one transaction): a consumer sees it once.
    const seen = new Set<string>();
    const shown = trace.events.filter((e) => {
      const key = `${e.txHash}|${e.step}|${e.disposition}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const trusted = trace.status === "genuine" || trace.status === "recalled";
    html = shown.map((e) => eventItem(lang, e, reachable, trusted)).join("\n");
    byKey.set(key, html);
  }
  return html;
}
const timelines = new WeakMap<TraceView, Map<string, string>>();

/**
 * Where a scan page shows what changes with every counted scan. A page is rendered once with
 * these marks and filled per count by {@link fillScanSlots}; escaped content never contains a raw
 * "<", so a mark cannot come from data.
 */
export const SCAN_SLOTS = { warning: "<%scan-warning%>", firstScan: "<%first-scan%>" } as const;

/** A first-scan time as shown (formatted once per serial and language: it never changes). */
function firstScanTime(lang: Lang, firstSeenMs: number): string {
  return firstScanTimes.getOrSet(`${lang}${firstSeenMs}`, () => formatPageTime(lang, Math.floor(firstSeenMs / 1000)));
}
const firstScanTimes = new BoundedCache<string, string>(10_000);

/** What goes into the {@link SCAN_SLOTS} of a scan page for these counts. */
export function fillScanSlots(
  lang: Lang,
  m: Pick<ScanModel, "verdict" | "scans" | "manyScans">,
): { warning: string; firstScan: string } {
  const s = m.verdict === "ok" ? m.scans : undefined;
  if (!s) return { warning: "", firstScan: "" };
  const first = firstScanTime(lang, s.firstSeen);
  return {
    warning: m.manyScans
      ? `<div class="banner warn" id="warn-scans"><h2>⚠ ${esc(t(lang, "manyScans"))}</h2><p>${esc(t(lang, "manyScansNote", { first, count: s.count }))}</p></div>`
      : "",
    firstScan: `<p class="when">${esc(t(lang, "firstScan", { first, count: s.count }))}</p>`,
  };
}

/**
 * The consumer scan page, with {@link SCAN_SLOTS} where the scan count goes: everything else
 * depends only on the trace, the verdict and the chain state, so one rendering serves every
 * count.
 */
export function scanPage(lang: Lang, m: ScanModel): string {
  const parts: string[] = [];
  if (!m.chain.reachable) {
    parts.push(
      `<div class="banner warn" id="warn-chain"><h2>⚠ ${esc(t(lang, "chainDown"))}</h2><p>${esc(t(lang, "chainDownNote", { time: m.chain.lastSync ? formatPageTime(lang, Math.floor(m.chain.lastSync / 1000)) : "—" }))}</p></div>`,
    );
  }
  if (m.verdict === "lot-not-found") {
    parts.push(
      `<div class="banner bad" id="warn-lot"><h1>✗ ${esc(t(lang, "lotNotFound"))}</h1><p>${esc(t(lang, "lotNotFoundNote"))}</p></div>`,
    );
  } else if (m.verdict === "unknown-serial") {
    parts.push(
      `<div class="banner bad" id="warn-counterfeit"><h1>✗ ${esc(t(lang, "unknownSerial"))}</h1><p>${esc(t(lang, "unknownSerialNote"))}</p></div>`,
    );
  }
  const tr = m.trace;
  if (tr?.status === "broken") {
    parts.push(
      `<div class="banner bad" id="warn-broken"><h1>✗ ${esc(t(lang, "broken"))}</h1><p>${esc(t(lang, "brokenNote"))}</p>${findingList(lang, tr)}</div>`,
    );
  } else if (tr?.status === "unverifiable") {
    parts.push(
      `<div class="banner warn" id="warn-unverifiable"><h1>⚠ ${esc(t(lang, "unverifiable"))}</h1><p>${esc(t(lang, "unverifiableNote"))}</p>${findingList(lang, tr)}</div>`,
    );
  }
  if (tr?.recall) {
    parts.push(`<div class="banner bad" id="warn-recall"><h1>⚠ ${esc(t(lang, "recalled"))}</h1><p>${esc(t(lang, "recalledNote"))}</p>
<p>${esc(t(lang, "reason"))}: ${esc(tr.recall.reason)} · ${esc(formatPageTime(lang, tr.recall.time))}</p></div>`);
  }
  if (m.verdict === "ok") parts.push(SCAN_SLOTS.warning);
  if (m.verdict === "ok" && tr?.status === "genuine") {
    parts.push(
      `<div class="banner ok" id="genuine"><h1>✓ ${esc(t(lang, "genuine"))}</h1><p>${esc(t(lang, "genuineNote"))}</p></div>`,
    );
  }
  if (m.verdict === "ok" && tr) {
    const p = tr.product;
    const harvest = tr.harvests[0];
    const harvestEvent = tr.events.find((e) => e.step === "commissioning" && harvest && e.lot === harvest.lot);
    const plot = plotOf(harvestEvent);
    const certificate = certificateOf(tr.events.find((e) => e.step === "inspecting" && certificateOf(e)));
    parts.push(`<section class="card" id="origin">
  <p class="product-name">${esc(p ? (lang === "zh" ? p.name : p.nameEn || p.name) : "—")}</p>
  <p class="product-en">${esc(p ? (lang === "zh" ? p.nameEn : p.name) : "")}</p>
  <dl>
    <dt>${esc(t(lang, "giNumber"))}</dt><dd>${esc(p?.giNumber ?? "—")}</dd>
    <dt>${esc(t(lang, "region"))}</dt><dd id="region">${esc(p?.region ?? "—")}</dd>
    <dt>${esc(t(lang, "producer"))}</dt><dd id="producer">${harvest ? actorHtml(lang, harvest.actorLabel, harvest.participant) : "—"}</dd>
    ${plot !== undefined ? `<dt>${esc(t(lang, "plot"))}</dt><dd id="plot">${esc(plot)}</dd>` : ""}
    ${certificate ? `<dt>${esc(t(lang, "inspectionCertificate"))}</dt><dd id="certificate">${esc(certificate.name)}</dd>` : ""}
    <dt>${esc(t(lang, "harvestDate"))}</dt><dd id="harvest-date">${harvestEvent ? esc(formatPageDate(lang, harvestEvent.eventTime)) : "—"}</dd>
    <dt>${esc(t(lang, "lot"))}</dt><dd class="mono">${esc(m.lot)}</dd>
    <dt>${esc(t(lang, "serial"))}</dt><dd class="mono">${esc(groupSerial(m.serial))}</dd>
  </dl>
  ${SCAN_SLOTS.firstScan}
</section>
<section class="card"><h2>${esc(t(lang, "journey"))}</h2>
<ol class="timeline" id="timeline">${timeline(lang, tr, m.chain.reachable)}</ol></section>`);
  } else {
    parts.push(
      `<section class="card"><dl><dt>GTIN</dt><dd class="mono">${esc(m.gtin)}</dd><dt>${esc(t(lang, "lot"))}</dt><dd class="mono">${esc(m.lot)}</dd><dt>${esc(t(lang, "serial"))}</dt><dd class="mono">${esc(m.serial)}</dd></dl></section>`,
    );
  }
  return parts.join("\n");
}

/** The findings of a broken or unverifiable trace, in the page language (by kind; lot numbers only). */
function findingList(lang: Lang, tr: TraceView): string {
  const keys = {
    "head-mismatch": "findingHeadMismatch",
    "head-unread": "findingHeadUnread",
    "storage-mismatch": "findingStorageMismatch",
    "document-mismatch": "findingDocumentMismatch",
    "mass-balance": "findingMassBalance",
  } as const;
  const lines = new Set<string>();
  for (const f of tr.findings) if (f.kind !== "recalled") lines.add(t(lang, keys[f.kind], { lot: f.lot }));
  if (tr.status === "unverifiable") {
    for (const u of tr.unchecked) {
      const lot = /^lot (\d+)/.exec(u)?.[1];
      lines.add(t(lang, "findingHeadUnread", { lot: lot ?? "?" }));
    }
  }
  return lines.size ? `<ul class="findings">${[...lines].map((l) => `<li>${esc(l)}</li>`).join("")}</ul>` : "";
}

/** A short message page (errors, not found). */
export function messagePage(title: string, message: string): string {
  return `<div class="banner bad"><h1>${esc(title)}</h1><p>${esc(message)}</p></div>`;
}

/** The home page. */
export function homePage(lang: Lang): string {
  return `<section class="card"><h2>${esc(t(lang, "home"))}</h2><p>${esc(t(lang, "homeIntro"))}</p><p><a href="/verify">${esc(t(lang, "verifyLink"))} →</a></p></section>`;
}

/** The verify page body and its script. */
export function verifyPage(lang: Lang): { body: string; script: string } {
  const body = `<section class="card"><h2>${esc(t(lang, "verifyTitle"))}</h2><p>${esc(t(lang, "verifyIntro"))}</p>
<label id="drop" for="files">${esc(t(lang, "dropHere"))}<input id="files" class="hidden" type="file" multiple></label>
<dl id="chosen"><dt>${esc(t(lang, "file"))}</dt><dd id="file-name">—</dd><dt>${esc(t(lang, "receipt"))}</dt><dd id="receipt-name">—</dd></dl>
<p><button id="verify" type="button">${esc(t(lang, "verifyButton"))}</button></p>
<progress id="progress" class="hidden" max="1" value="0"></progress><p id="status" class="when"></p>
</section><div id="result"></div>`;
  // The SDK's verification engine, bundled from its source (report/verifier-browser.ts); it reads
  // the chain through the portal's read-only relay (GET /api/chain/<method>).
  const config = JSON.stringify({ s: VERIFY_STRINGS[lang], lang }).replace(/</g, "\\u003c");
  const script = `${verifierBundleJs()}\nProofmarkVerifier.portalUi(${config});`;
  return { body, script };
}
