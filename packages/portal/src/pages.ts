import { createHash } from "node:crypto";
import { escapeHtml as esc, groupSerial, verifierFunctionsJs } from "@proofmark/sdk";
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
export function layout(opts: { lang: Lang; title: string; body: string; script?: string; langSwitchHref: string }): string {
  return `<!doctype html>
<html lang="${opts.lang === "zh" ? "zh-CN" : "en"}"><head><meta charset="utf-8">
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

/** A date-time in the page language, in UTC+8 for Chinese and UTC for English (always labelled). */
// Formatters are built once: creating an Intl.DateTimeFormat per call costs more than a whole page.
const FORMATS = {
  zhTime: new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour12: false, year: "numeric", month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  enTime: new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour12: false, year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" }),
  zhDate: new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric" }),
  enDate: new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "long", year: "numeric" }),
};

export function formatTime(lang: Lang, unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  if (!Number.isFinite(d.getTime())) return "—";
  return lang === "zh" ? `${FORMATS.zhTime.format(d)}（北京时间）` : `${FORMATS.enTime.format(d)} UTC`;
}

function formatDate(lang: Lang, unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  if (!Number.isFinite(d.getTime())) return "—";
  return (lang === "zh" ? FORMATS.zhDate : FORMATS.enDate).format(d);
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
  if (cert) detail.push(`<div class="certificate">${esc(t(lang, "inspectionCertificate"))}: ${esc(cert.name)}${cert.cid ? ` <span class="chain">${esc(cert.cid)}</span>` : ""}</div>`);
  const note = docField(e, "gi:note");
  if (note !== undefined) detail.push(`<div>${esc(t(lang, "note"))}: ${esc(note)}</div>`);
  const badge = e.check === "document-mismatch"
    ? `<span class="badge bad">✗ ${esc(t(lang, "hashChainBroken"))}</span>`
    : reachable && trusted ? `<span class="badge">✓ ${esc(t(lang, "verifiedOnChain"))}</span>` : `<span class="badge stale">${esc(t(lang, "notReverified"))}</span>`;
  return `<li class="${e.disposition === "recalled" || e.check === "document-mismatch" ? "recall" : ""}">
  <div class="step">${esc(stepLabel(lang, e.step))} <span class="when">· ${esc(disp)}</span></div>
  <div class="when">${esc(formatTime(lang, e.eventTime))} · ${esc(t(lang, "by"))} ${esc(e.actorLabel)}</div>
  ${detail.join("")}
  <div>${badge}</div>
  <div class="chain">${esc(t(lang, "block"))} #${esc(e.block)} · ${esc(formatTime(lang, e.time))} · ${esc(t(lang, "tx"))} <span title="${esc(e.tx)}">${esc(short(e.tx))}</span></div>
</li>`;
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
      const key = `${e.tx}|${e.step}|${e.disposition}`;
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
  return firstScanTimes.getOrSet(`${lang}${firstSeenMs}`, () => formatTime(lang, Math.floor(firstSeenMs / 1000)));
}
const firstScanTimes = new BoundedCache<string, string>(10_000);

/** What goes into the {@link SCAN_SLOTS} of a scan page for these counts. */
export function fillScanSlots(lang: Lang, m: Pick<ScanModel, "verdict" | "scans" | "manyScans">): { warning: string; firstScan: string } {
  const s = m.verdict === "ok" ? m.scans : undefined;
  if (!s) return { warning: "", firstScan: "" };
  const first = firstScanTime(lang, s.firstSeen);
  return {
    warning: m.manyScans ? `<div class="banner warn" id="warn-scans"><h2>⚠ ${esc(t(lang, "manyScans"))}</h2><p>${esc(t(lang, "manyScansNote", { first, count: s.count }))}</p></div>` : "",
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
    parts.push(`<div class="banner warn" id="warn-chain"><h2>⚠ ${esc(t(lang, "chainDown"))}</h2><p>${esc(t(lang, "chainDownNote", { time: m.chain.lastSync ? formatTime(lang, Math.floor(m.chain.lastSync / 1000)) : "—" }))}</p></div>`);
  }
  if (m.verdict === "lot-not-found") {
    parts.push(`<div class="banner bad" id="warn-lot"><h1>✗ ${esc(t(lang, "lotNotFound"))}</h1><p>${esc(t(lang, "lotNotFoundNote"))}</p></div>`);
  } else if (m.verdict === "unknown-serial") {
    parts.push(`<div class="banner bad" id="warn-counterfeit"><h1>✗ ${esc(t(lang, "unknownSerial"))}</h1><p>${esc(t(lang, "unknownSerialNote"))}</p></div>`);
  }
  const tr = m.trace;
  if (tr?.status === "broken") {
    parts.push(`<div class="banner bad" id="warn-broken"><h1>✗ ${esc(t(lang, "broken"))}</h1><p>${esc(t(lang, "brokenNote"))}</p>${findingList(lang, tr)}</div>`);
  } else if (tr?.status === "unverifiable") {
    parts.push(`<div class="banner warn" id="warn-unverifiable"><h1>⚠ ${esc(t(lang, "unverifiable"))}</h1><p>${esc(t(lang, "unverifiableNote"))}</p>${findingList(lang, tr)}</div>`);
  }
  if (tr?.recall) {
    parts.push(`<div class="banner bad" id="warn-recall"><h1>⚠ ${esc(t(lang, "recalled"))}</h1><p>${esc(t(lang, "recalledNote"))}</p>
<p>${esc(t(lang, "reason"))}: ${esc(tr.recall.reason)} · ${esc(formatTime(lang, tr.recall.time))}</p></div>`);
  }
  if (m.verdict === "ok") parts.push(SCAN_SLOTS.warning);
  if (m.verdict === "ok" && tr?.status === "genuine") {
    parts.push(`<div class="banner ok" id="genuine"><h1>✓ ${esc(t(lang, "genuine"))}</h1><p>${esc(t(lang, "genuineNote"))}</p></div>`);
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
    <dt>${esc(t(lang, "producer"))}</dt><dd id="producer">${esc(harvest?.actorLabel ?? "—")}</dd>
    ${plot !== undefined ? `<dt>${esc(t(lang, "plot"))}</dt><dd id="plot">${esc(plot)}</dd>` : ""}
    ${certificate ? `<dt>${esc(t(lang, "inspectionCertificate"))}</dt><dd id="certificate">${esc(certificate.name)}</dd>` : ""}
    <dt>${esc(t(lang, "harvestDate"))}</dt><dd id="harvest-date">${harvestEvent ? esc(formatDate(lang, harvestEvent.eventTime)) : "—"}</dd>
    <dt>${esc(t(lang, "lot"))}</dt><dd class="mono">${esc(m.lot)}</dd>
    <dt>${esc(t(lang, "serial"))}</dt><dd class="mono">${esc(groupSerial(m.serial))}</dd>
  </dl>
  ${SCAN_SLOTS.firstScan}
</section>
<section class="card"><h2>${esc(t(lang, "journey"))}</h2>
<ol class="timeline" id="timeline">${timeline(lang, tr, m.chain.reachable)}</ol></section>`);
  } else {
    parts.push(`<section class="card"><dl><dt>GTIN</dt><dd class="mono">${esc(m.gtin)}</dd><dt>${esc(t(lang, "lot"))}</dt><dd class="mono">${esc(m.lot)}</dd><dt>${esc(t(lang, "serial"))}</dt><dd class="mono">${esc(m.serial)}</dd></dl></section>`);
  }
  return parts.join("\n");
}

/** The findings of a broken or unverifiable trace, in the page language (by kind; lot numbers only). */
function findingList(lang: Lang, tr: TraceView): string {
  const keys = {
    "head-mismatch": "findingHeadMismatch", "head-unread": "findingHeadUnread", "storage-mismatch": "findingStorageMismatch",
    "document-mismatch": "findingDocumentMismatch", "mass-balance": "findingMassBalance",
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
export function verifyPage(lang: Lang, chain: { chainId: number; evidenceRegistry?: string }): { body: string; script: string } {
  const body = `<section class="card"><h2>${esc(t(lang, "verifyTitle"))}</h2><p>${esc(t(lang, "verifyIntro"))}</p>
<label id="drop" for="files">${esc(t(lang, "dropHere"))}<input id="files" class="hidden" type="file" multiple></label>
<dl id="chosen"><dt>${esc(t(lang, "file"))}</dt><dd id="file-name">—</dd><dt>${esc(t(lang, "receipt"))}</dt><dd id="receipt-name">—</dd></dl>
<p><button id="verify" type="button">${esc(t(lang, "verifyButton"))}</button></p>
<progress id="progress" class="hidden" max="1" value="0"></progress><p id="status" class="when"></p>
</section><div id="result"></div>`;
  const config = JSON.stringify({ s: VERIFY_STRINGS[lang], lang, chainId: chain.chainId, registry: chain.evidenceRegistry?.toLowerCase() ?? null }).replace(/</g, "\\u003c");
  const script = `${verifierFunctionsJs()}
(function () {
  var C = ${config}, S = C.s, file = null, receiptFile = null;
  var $ = function (id) { return document.getElementById(id); };
  function text(el, s) { el.textContent = s; }
  function fmt(s, v) { return s.replace(/\\{(\\w+)\\}/g, function (_, k) { return String(v[k]); }); }
  function pick(list) {
    for (var i = 0; i < list.length; i++) {
      var f = list[i];
      if (/\\.proof(\\.\\d+)?\\.json$/.test(f.name)) receiptFile = f; else file = f;
    }
    text($("file-name"), file ? file.name + " (" + file.size + " B)" : "—");
    text($("receipt-name"), receiptFile ? receiptFile.name : "—");
  }
  var drop = $("drop");
  $("files").addEventListener("change", function (e) { pick(e.target.files); });
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) { e.preventDefault(); drop.classList.remove("over"); pick(e.dataTransfer.files); });
  function show(ok, title, lines) {
    var box = document.createElement("div"); box.className = "banner " + (ok ? "ok" : "bad"); box.id = ok ? "verify-ok" : "verify-fail";
    var h = document.createElement("h2"); h.textContent = (ok ? "✓ " : "✗ ") + title; box.appendChild(h);
    for (var i = 0; i < lines.length; i++) { var p = document.createElement("p"); p.textContent = lines[i]; box.appendChild(p); }
    var r = $("result"); r.textContent = ""; r.appendChild(box);
    text($("status"), ""); $("progress").classList.add("hidden");
  }
  function hashFile(f, onProgress) {
    var CHUNK = 4 * 1024 * 1024, h = sha256Init(), off = 0;
    return new Promise(function (resolve, reject) {
      function next() {
        if (off >= f.size) { resolve(sha256Final(h)); return; }
        f.slice(off, off + CHUNK).arrayBuffer().then(function (buf) {
          sha256Update(h, new Uint8Array(buf)); off += buf.byteLength; onProgress(off / f.size); setTimeout(next, 0);
        }, reject);
      }
      next();
    });
  }
  $("verify").addEventListener("click", function () {
    if (!file || !receiptFile) { show(false, S.fail, [S.needBoth]); return; }
    var receipt;
    text($("status"), S.readReceipt);
    receiptFile.text().then(function (txt) {
      try { receipt = JSON.parse(txt); } catch (e) { throw new Error(S.badReceipt + "JSON"); }
      var problem = receiptProblem(receipt);
      if (problem) throw new Error(S.badReceipt + problem);
      var prog = $("progress"); prog.classList.remove("hidden"); prog.value = 0;
      text($("status"), S.hashing);
      return hashFile(file, function (x) { prog.value = x; });
    }).then(function (sha) {
      if (sha !== receipt.subject.sha256) throw new Error(S.fileChanged);
      if (file.size !== receipt.subject.size) throw new Error(S.sizeChanged);
      var leaf = evidenceLeaf(sha, receipt.commitment.salt, receipt.commitment.meta).leaf;
      if (leaf !== receipt.commitment.leaf) throw new Error(S.leafMismatch);
      var nodes = foldPath(leaf, receipt.proof.path);
      if ((nodes.length ? nodes[nodes.length - 1] : leaf) !== receipt.proof.root) throw new Error(S.pathMismatch);
      var a = receipt.anchors[0];
      if (a.chainId !== C.chainId || (C.registry && String(a.registry).toLowerCase() !== C.registry)) throw new Error(S.otherChain + "chain " + a.chainId + ", " + a.registry);
      text($("status"), S.checking);
      return fetch("/api/anchors/" + receipt.proof.root, { headers: { accept: "application/json" } }).then(function (r) {
        return r.json().then(function (body) { return { status: r.status, body: body, sha: sha, anchor: a }; });
      });
    }).then(function (res) {
      var b = res.body;
      if (res.status === 503 || (b.chain && b.chain.reachable === false)) throw new Error(S.unreachable);
      if (!b.chain || !b.chain.anchoredAt) throw new Error(S.notAnchored);
      if (b.chain.blockNumber !== res.anchor.blockNumber || b.chain.anchoredAt !== res.anchor.timestamp) throw new Error(S.anchorMismatch);
      var when = new Date(b.chain.anchoredAt * 1000);
      var time = C.lang === "zh" ? when.toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false }) + "（北京时间）" : when.toISOString().replace(".000Z", " UTC").replace("T", " ");
      show(true, S.ok, [fmt(S.existed, { time: time, block: b.chain.blockNumber, conf: b.chain.confirmations }), S.tx + ": " + (b.indexed ? b.indexed.tx : res.anchor.txHash), S.submitter + ": " + b.chain.submitter, S.sha + ": " + res.sha]);
    }).catch(function (e) { show(false, S.fail, [e && e.message ? e.message : String(e)]); });
  });
})();`;
  return { body, script };
}
