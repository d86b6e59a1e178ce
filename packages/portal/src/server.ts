import * as crypto from "node:crypto";
import * as http from "node:http";
import type Database from "better-sqlite3";
import { ANCHOR_OF_SELECTOR, EvidenceRegistryClient, isProofmarkError, LOCAL_CHAIN_ID, parseDigitalLinkPath, providerReader, type Hex } from "@proofmark/sdk";
import type { JsonRpcProvider } from "ethers";
import { pickLang, t, type Lang } from "./i18n";
import type { ChainStatus } from "./indexer";
import { fillScanSlots, homePage, layout, messagePage, SCAN_SLOTS, scanPage, STYLESHEET, STYLESHEET_PATH, verifyPage, type ScanModel } from "./pages";
import { PortalQueries, ScanCounter } from "./queries";

export interface HandlerOptions {
  db: Database.Database;
  chainId: number;
  provider: JsonRpcProvider;
  evidenceRegistry?: string;
  provenanceRegistry?: string;
  status: ChainStatus;
  /** A code scanned more than this many times (distinct client windows) shows the warning. Default 5. */
  scanWarnAfter?: number;
  /** Per-client window for scan counting, ms. Default 10 minutes. */
  scanWindowMs?: number;
  /** Use the first X-Forwarded-For address as the client (behind a trusted proxy). */
  trustProxy?: boolean;
  /** Where unexpected errors are reported (never to the client). */
  log?: (message: string) => void;
}

const LOT_RE = /^[1-9][0-9]{0,19}$/;
const ROOT_RE = /^0x[0-9a-f]{64}$/;
const SERIAL_RE = /^[0-9A-Z]{1,20}$/;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/**
 * The Content-Security-Policy of a page: no script at all, or exactly the page's one inline script,
 * allowed by its SHA-256 (CSP Level 2 hash source). The hash covers the script's exact text, so
 * nothing injected into a page can run, and the header is fixed per page: no per-response work.
 */
export function pageCsp(script: string | undefined): string {
  const scriptSrc = script === undefined ? "'none'" : `'sha256-${crypto.createHash("sha256").update(script, "utf8").digest("base64")}'`;
  return [
    "default-src 'none'", `script-src ${scriptSrc}`, "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join("; ");
}

const CHAIN_RELAY_PREFIX = "/api/chain/";
const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;

/** The relay's allow-list: each method, and only with the parameters the verification engine sends. */
function relayAllows(method: string, p: unknown[]): boolean {
  const obj = (v: unknown) => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  switch (method) {
    case "eth_chainId":
    case "eth_blockNumber":
      return p.length === 0;
    case "eth_getCode":
      return p.length === 2 && ADDRESS.test(String(p[0])) && p[1] === "latest";
    case "eth_call": {
      const c = obj(p[0]);
      return p.length === 2 && p[1] === "latest" && !!c && Object.keys(c).length === 2 && ADDRESS.test(String(c.to)) && new RegExp(`^${ANCHOR_OF_SELECTOR}[0-9a-f]{64}$`).test(String(c.data));
    }
    case "eth_getBlockByNumber":
      return p.length === 2 && p[1] === false && (p[0] === "finalized" || /^0x[0-9a-f]{1,14}$/.test(String(p[0])));
    case "eth_getLogs": {
      const f = obj(p[0]);
      return p.length === 1 && !!f && HEX32.test(String(f.blockHash)) && ADDRESS.test(String(f.address)) && Array.isArray(f.topics) && f.topics.length <= 4 && f.topics.every((t) => HEX32.test(String(t))) && Object.keys(f).length === 3;
    }
    case "eth_getTransactionReceipt":
      return p.length === 1 && HEX32.test(String(p[0]));
    default:
      return false;
  }
}

/** Sent with every response, as a flat [name, value, …] list (what `writeHead` takes fastest). */
const COMMON_HEADERS = [
  "x-content-type-options", "nosniff",
  "referrer-policy", "no-referrer",
  "x-frame-options", "DENY",
  "cross-origin-opener-policy", "same-origin",
];
const API_HEADERS = [...COMMON_HEADERS, "content-type", "application/json; charset=utf-8", "cache-control", "no-store", "content-security-policy", "default-src 'none'; frame-ancestors 'none'"];

/** A rendered page: its bytes and its headers (content length included), built once and reused. */
interface RenderedPage {
  body: Buffer;
  headers: string[];
}

/** A request target, parsed once per distinct raw URL. */
interface Target {
  pathname: string;
  /** `?lang=` when present. */
  lang: string | null;
  /** Scan pages: the GS1 Digital Link parsed from the path. */
  link?: ReturnType<typeof parseDigitalLinkPath>;
  /** Scan pages, per language: the page template for the current trace, and the page last sent. */
  templates?: Partial<Record<Lang, ScanTemplate>>;
  shown?: Partial<Record<Lang, ShownScan>>;
}

/** A scan page rendered without its counts: byte pieces around the SCAN_SLOTS, and what it showed. */
interface ScanTemplate {
  version: number;
  verdict: ScanModel["verdict"];
  reachable: boolean;
  lastSync: number;
  pieces: Buffer[];
  /** The slot between pieces[i] and pieces[i + 1]. */
  slots: Array<keyof typeof SCAN_SLOTS>;
  /** Headers without content-length. */
  headers: string[];
}

/** The scan page last sent for a URL: its template, the counts it was filled with, and its bytes. */
interface ShownScan {
  template: ScanTemplate;
  count: number;
  firstSeen: number;
  manyScans: boolean;
  page: RenderedPage;
}

/** The slot marks of a scan page (pages.ts), as a splitting pattern with one capture. */
const SLOT_NAMES: Record<string, keyof typeof SCAN_SLOTS> = Object.fromEntries(Object.entries(SCAN_SLOTS).map(([name, mark]) => [mark, name as keyof typeof SCAN_SLOTS]));
const SLOT_RE = new RegExp(`(${Object.values(SCAN_SLOTS).join("|")})`);

/** The request handler, and `flush()` to write pending scan counts (call it before closing the database). */
export type PortalHandler = http.RequestListener & { flush(): void };

/**
 * Parses a lot id from a path segment (decimal, as the chain's uint64 ids) or returns undefined.
 * Ids past 2^53 round to unsafe numbers and are refused (no chain gets near them).
 */
export function parseLotId(value: string): number | undefined {
  if (!LOT_RE.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The portal's request handler: pages (scan, verify, home) and the JSON API under /api/. Pages
 * and the API read the index only; `/api/anchors/<root>` also reads the chain (that is its job).
 */
export function createHandler(opts: HandlerOptions): PortalHandler {
  const q = new PortalQueries(opts.db, opts.chainId === LOCAL_CHAIN_ID);
  const log = opts.log ?? ((m: string) => process.stderr.write(`portal: ${m}\n`));
  const counter = new ScanCounter(opts.db, opts.scanWindowMs ?? 10 * 60_000, (e) => log(`writing scan counts failed (kept in memory, retried): ${(e as Error).message}`));
  const warnAfter = opts.scanWarnAfter ?? 5;
  const evidence = opts.evidenceRegistry ? new EvidenceRegistryClient(opts.evidenceRegistry, opts.provider) : undefined;

  const chainView = () => {
    const s = opts.status;
    const fresh = s.reachable && Date.now() - s.lastSync < 15_000;
    return { reachable: fresh, lastSync: s.lastSync, indexedTo: s.indexedTo, head: s.head };
  };

  function send(res: http.ServerResponse, status: number, headers: string[], body: string | Buffer): void {
    res.writeHead(status, [...headers, "content-length", String(typeof body === "string" ? Buffer.byteLength(body) : body.length)]);
    res.end(body);
  }

  function json(res: http.ServerResponse, status: number, value: unknown): void {
    send(res, status, API_HEADERS, JSON.stringify(value));
  }

  /** A page's HTML: the layout around `body`, with a link to the same page in the other language. */
  function renderHtml(lang: Lang, pathname: string, title: string, body: string, script?: string): string {
    const other = new URL(pathname, "http://x");
    other.searchParams.set("lang", lang === "zh" ? "en" : "zh");
    return layout({ lang, title, body, script, langSwitchHref: `${other.pathname}${other.search}` });
  }

  /** A page's headers without content-length: its CSP (by script hash) and language. */
  function pageHeaders(lang: Lang, script?: string): string[] {
    return [
      ...COMMON_HEADERS, "content-type", "text/html; charset=utf-8", "content-security-policy", pageCsp(script), "cache-control", "no-store",
      "content-language", lang === "zh" ? "zh-CN" : "en",
    ];
  }

  function asPage(body: Buffer, headers: string[]): RenderedPage {
    return { body, headers: [...headers, "content-length", String(body.length)] };
  }

  /** Renders a page once: HTML bytes, and headers with its CSP (by script hash) and length. */
  function render(lang: Lang, pathname: string, title: string, body: string, script?: string): RenderedPage {
    return asPage(Buffer.from(renderHtml(lang, pathname, title, body, script), "utf8"), pageHeaders(lang, script));
  }

  function sendPage(res: http.ServerResponse, status: number, page: RenderedPage, setCookie?: string): void {
    res.writeHead(status, setCookie ? [...page.headers, "set-cookie", setCookie] : page.headers);
    res.end(page.body);
  }

  function page(res: http.ServerResponse, status: number, lang: Lang, pathname: string, title: string, body: string, script?: string, setCookie?: string): void {
    sendPage(res, status, render(lang, pathname, title, body, script), setCookie);
  }

  /**
   * The scan page for `target` in `lang`. The page is rendered once per trace version, verdict and
   * chain state, with slots for the counts (pages.ts SCAN_SLOTS); a counted scan only fills the
   * slots, and a scan that changed no count re-sends the last page's bytes.
   */
  function scanRendered(lang: Lang, target: Target, model: ScanModel): RenderedPage {
    const chain = model.chain;
    let template = target.templates?.[lang];
    if (
      template === undefined || template.version !== opts.status.version || template.verdict !== model.verdict ||
      template.reachable !== chain.reachable || (!chain.reachable && template.lastSync !== chain.lastSync)
    ) {
      const html = renderHtml(lang, target.pathname, t(lang, "title"), scanPage(lang, model));
      const parts = html.split(SLOT_RE);
      template = {
        version: opts.status.version, verdict: model.verdict, reachable: chain.reachable, lastSync: chain.lastSync,
        pieces: parts.filter((_p, i) => i % 2 === 0).map((p) => Buffer.from(p, "utf8")),
        slots: parts.filter((_p, i) => i % 2 === 1).map((name) => SLOT_NAMES[name]),
        headers: pageHeaders(lang),
      };
      target.templates ??= {};
      target.templates[lang] = template;
    }
    const count = model.scans?.count ?? -1;
    const firstSeen = model.scans?.firstSeen ?? -1;
    const last = target.shown?.[lang];
    if (last !== undefined && last.template === template && last.count === count && last.firstSeen === firstSeen && last.manyScans === model.manyScans) {
      return last.page;
    }
    let body: Buffer;
    if (template.slots.length === 0) body = template.pieces[0];
    else {
      const filled = fillScanSlots(lang, model);
      const pieces: Buffer[] = [template.pieces[0]];
      for (let i = 0; i < template.slots.length; i++) pieces.push(Buffer.from(filled[template.slots[i]], "utf8"), template.pieces[i + 1]);
      body = Buffer.concat(pieces);
    }
    const page = asPage(body, template.headers);
    target.shown ??= {};
    target.shown[lang] = { template, count, firstSeen, manyScans: model.manyScans, page };
    return page;
  }

  /** Request targets by raw URL, so a repeated scan does not parse its URL again. */
  const targets = new Map<string, Target>();
  function targetOf(rawUrl: string): Target {
    let target = targets.get(rawUrl);
    if (target === undefined) {
      const url = new URL(rawUrl, "http://portal.invalid");
      target = { pathname: url.pathname, lang: url.searchParams.get("lang") };
      // Bounded in count and size: 5,000 URLs of ≤ 512 characters, each with ≤ 2 pages of ~5 KB.
      if (rawUrl.length <= 512) {
        if (targets.size >= 5_000) targets.clear();
        targets.set(rawUrl, target);
      }
    }
    return target;
  }

  /** Page language per (query, cookie, Accept-Language), bounded. */
  const langs = new Map<string, Lang>();
  function langOf(query: string | null, cookie: string | undefined, acceptLanguage: string | undefined): Lang {
    const key = `${query}\n${cookie}\n${acceptLanguage}`;
    let lang = langs.get(key);
    if (lang === undefined) {
      lang = pickLang(query, cookie, acceptLanguage);
      if (key.length <= 512) {
        if (langs.size >= 1_000) langs.clear();
        langs.set(key, lang);
      }
    }
    return lang;
  }

  /** Trace API bodies per lot, rebuilt when the index or the chain view changes. */
  const traceBodies = new Map<number, { key: string; body: Buffer }>();
  function traceBody(id: number): Buffer | undefined {
    const chain = JSON.stringify(chainView());
    const key = `${opts.status.version}|${chain}`;
    const hit = traceBodies.get(id);
    if (hit?.key === key) return hit.body;
    const trace = q.trace(id, opts.status.version);
    if (trace === undefined) return undefined;
    const body = Buffer.from(`{"chain":${chain},${JSON.stringify(trace).slice(1)}`, "utf8");
    if (traceBodies.size >= 5_000) traceBodies.clear();
    traceBodies.set(id, { key, body });
    return body;
  }

  function clientOf(req: http.IncomingMessage): string {
    const forwarded = opts.trustProxy ? String(req.headers["x-forwarded-for"] ?? "").split(",")[0].trim() : "";
    return `${forwarded || req.socket.remoteAddress || "?"}|${String(req.headers["user-agent"] ?? "").slice(0, 200)}`;
  }

  /** Serial lookups, memoised per index version (serials only change when the index does). */
  const serials = new Map<string, ReturnType<typeof q.serial> | null>();
  let serialsVersion = -1;
  function issuedSerial(serial: string): ReturnType<typeof q.serial> {
    if (serialsVersion !== opts.status.version) {
      serials.clear();
      serialsVersion = opts.status.version;
    }
    let r = serials.get(serial);
    if (r === undefined) {
      r = q.serial(serial) ?? null;
      if (serials.size >= 100_000) serials.clear();
      serials.set(serial, r);
    }
    return r ?? undefined;
  }

  function scanModel(parsed: ReturnType<typeof parseDigitalLinkPath>, count: { client: string } | undefined): ScanModel {
    if (parsed.prefix !== "") throw new HttpError(404, "not found");
    const chain = chainView();
    const lotId = parseLotId(parsed.lot);
    const trace = lotId === undefined ? undefined : q.trace(lotId, opts.status.version);
    const model: ScanModel = { gtin: parsed.gtin, lot: parsed.lot, serial: parsed.serial, verdict: "lot-not-found", trace: undefined, scans: undefined, manyScans: false, chain };
    if (!trace || !trace.product) return model;
    model.trace = trace;
    const issued = issuedSerial(parsed.serial);
    if (!issued || issued.lot !== lotId || issued.gtin !== parsed.gtin) {
      model.verdict = "unknown-serial";
      return model;
    }
    model.verdict = "ok";
    model.scans = count ? counter.record(parsed.serial, count.client) : counter.read(parsed.serial);
    model.manyScans = (model.scans?.count ?? 0) > warnAfter;
    return model;
  }

  async function api(res: http.ServerResponse, p: string): Promise<void> {
    let m: RegExpExecArray | null;
    if (p === "/api/health") {
      json(res, 200, { ok: true, chainId: opts.chainId, evidenceRegistry: opts.evidenceRegistry ?? null, provenanceRegistry: opts.provenanceRegistry ?? null, chain: chainView() });
      return;
    }
    if ((m = /^\/api\/lots\/([^/]+)(\/trace)?$/.exec(p))) {
      const id = parseLotId(m[1]);
      if (id === undefined) throw new HttpError(400, "lot must be a decimal lot id ≥ 1");
      const trace = q.trace(id, opts.status.version);
      if (!trace) throw new HttpError(404, `lot ${id} is not in the index`);
      if (m[2]) send(res, 200, API_HEADERS, traceBody(id)!);
      else json(res, 200, { lot: trace.lot, product: trace.product, status: trace.status, recall: trace.recall, codes: trace.codes, chain: chainView() });
      return;
    }
    if ((m = /^\/api\/products\/([^/]+)$/.exec(p))) {
      const id = /^[1-9][0-9]{0,9}$/.test(m[1]) ? Number(m[1]) : undefined;
      if (id === undefined) throw new HttpError(400, "product must be a decimal product id ≥ 1");
      const product = q.product(id);
      if (!product) throw new HttpError(404, `product ${id} is not in the index`);
      json(res, 200, product);
      return;
    }
    if ((m = /^\/api\/serials\/([^/]+)$/.exec(p))) {
      if (!SERIAL_RE.test(m[1])) throw new HttpError(400, "serial must be 1–20 characters 0-9 A-Z");
      const issued = q.serial(m[1]);
      json(res, 200, { serial: m[1], known: Boolean(issued), gtin: issued?.gtin, lot: issued?.lot, commitment: issued?.commitment, scans: counter.read(m[1]) ?? { count: 0 } });
      return;
    }
    if (p.startsWith("/api/scan/")) {
      const model = scanModel(parseDigitalLinkPath(p.slice("/api/scan".length)), undefined);
      json(res, 200, { gtin: model.gtin, lot: model.lot, serial: model.serial, verdict: model.verdict, status: model.trace?.status, recall: model.trace?.recall, scans: model.scans ?? { count: 0 }, manyScans: model.manyScans, chain: model.chain });
      return;
    }
    if ((m = /^\/api\/anchors\/([^/]+)$/.exec(p))) {
      const root = m[1].toLowerCase();
      if (!ROOT_RE.test(root)) throw new HttpError(400, "root must be 0x followed by 64 hex digits");
      const indexed = q.anchor(root);
      let chain: Record<string, unknown>;
      if (!evidence) chain = { reachable: false, error: "no EvidenceRegistry is configured" };
      else {
        try {
          const timeout = new Promise<never>((_r, reject) => setTimeout(() => reject(new Error("timeout")), 4_000).unref());
          const [a, head] = await Promise.race([Promise.all([evidence.anchorOf(root as Hex), opts.provider.getBlockNumber()]), timeout]);
          chain = { reachable: true, anchoredAt: a.anchoredAt, blockNumber: a.blockNumber, submitter: a.submitter, confirmations: a.anchoredAt ? head - a.blockNumber + 1 : 0 };
        } catch {
          chain = { reachable: false };
        }
      }
      json(res, chain.reachable ? 200 : 503, { root, chainId: opts.chainId, registry: opts.evidenceRegistry?.toLowerCase() ?? null, indexed: indexed ?? null, chain });
      return;
    }
    throw new HttpError(404, "no such API");
  }

  function fail(res: http.ServerResponse, e: unknown, method: string | undefined, pathname: string, isApi: boolean, lang: Lang): void {
    try {
      failWith(res, e, method, pathname, isApi, lang);
    } catch (again) {
      log(`response failed: ${(again as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    }
  }

  function failWith(res: http.ServerResponse, e: unknown, method: string | undefined, pathname: string, isApi: boolean, lang: Lang): void {
    const status = e instanceof HttpError ? e.status : isProofmarkError(e, "INVALID_ARGUMENT") ? 400 : 500;
    if (status === 500) log(`error serving ${method} ${pathname}: ${(e as Error).stack ?? e}`);
    const message = status === 500 ? "internal error" : (e as Error).message;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (isApi) return json(res, status, { error: { status, message } });
    return page(res, status, lang, pathname, status === 404 ? t(lang, "notFound") : t(lang, "error"), messagePage(status === 404 ? t(lang, "notFound") : t(lang, "error"), status === 500 ? "" : message));
  }

  const relayReader = providerReader(opts.provider, "the portal's node", 8_000);

  /**
   * GET /api/chain/<method>?params=<JSON>: the verify page's engine reads the portal's chain through
   * this relay (the engine checks; the relay only fetches). Read-only methods, and only the shapes
   * the engine sends: anchorOf calls, one-block log queries, block headers without bodies.
   */
  async function chainRelay(res: http.ServerResponse, method: string, rawUrl: string): Promise<void> {
    const q = rawUrl.indexOf("?");
    const raw = q < 0 ? "[]" : new URLSearchParams(rawUrl.slice(q + 1)).get("params") ?? "[]";
    if (raw.length > 2_000) throw new HttpError(414, "params too long");
    let params: unknown[];
    try {
      params = JSON.parse(raw);
    } catch {
      throw new HttpError(400, "params must be a JSON array");
    }
    if (!Array.isArray(params) || !relayAllows(method, params)) throw new HttpError(400, `${method} with these params is not relayed`);
    try {
      json(res, 200, { result: await relayReader.request(method, params) });
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      json(res, e.details.refused ? 200 : 502, { error: { message: e.message } });
    }
  }

  const handler: http.RequestListener = (req, res) => {
    let pathname = "/";
    let isApi = false;
    let lang: Lang = "zh";
    try {
      const target = targetOf(req.url ?? "/");
      pathname = target.pathname;
      isApi = pathname.startsWith("/api/");
      lang = langOf(target.lang, req.headers.cookie, req.headers["accept-language"]);
      const cookie = target.lang === "zh" || target.lang === "en" ? `lang=${target.lang}; Path=/; Max-Age=31536000; SameSite=Lax` : undefined;
      if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "only GET is supported");
      if (pathname.length > 400) throw new HttpError(414, "path too long");
      if (pathname.startsWith(CHAIN_RELAY_PREFIX)) {
        chainRelay(res, pathname.slice(CHAIN_RELAY_PREFIX.length), req.url ?? "").catch((e) => fail(res, e, req.method, pathname, true, lang));
        return;
      }
      if (isApi) {
        api(res, pathname).catch((e) => fail(res, e, req.method, pathname, true, lang));
        return;
      }
      if (pathname === STYLESHEET_PATH) {
        return send(res, 200, [...COMMON_HEADERS, "content-type", "text/css; charset=utf-8", "cache-control", "public, max-age=31536000, immutable"], STYLESHEET);
      }
      if (pathname === "/") return page(res, 200, lang, pathname, t(lang, "home"), homePage(lang), undefined, cookie);
      if (pathname === "/verify") {
        const v = verifyPage(lang);
        return page(res, 200, lang, pathname, t(lang, "verifyTitle"), v.body, v.script, cookie);
      }
      if (pathname.startsWith("/01/")) {
        let model: ScanModel;
        try {
          target.link ??= parseDigitalLinkPath(pathname);
          model = scanModel(target.link, { client: clientOf(req) });
        } catch (e) {
          if (isProofmarkError(e, "INVALID_ARGUMENT")) {
            return page(res, 400, lang, pathname, t(lang, "badCode"), messagePage(t(lang, "badCode"), lang === "zh" ? "此链接不是有效的 GS1 数字链接防伪码。" : "This link is not a valid GS1 Digital Link scan code."), undefined, cookie);
          }
          throw e;
        }
        return sendPage(res, 200, scanRendered(lang, target, model), cookie);
      }
      throw new HttpError(404, "not found");
    } catch (e) {
      fail(res, e, req.method, pathname, isApi, lang);
    }
  };
  return Object.assign(handler, { flush: () => counter.flush() });
}
