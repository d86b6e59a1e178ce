import * as crypto from "node:crypto";
import * as http from "node:http";
import type Database from "better-sqlite3";
import { EvidenceRegistryClient, isProofmarkError, parseDigitalLinkPath, type Hex } from "@proofmark/sdk";
import type { JsonRpcProvider } from "ethers";
import { pickLang, t, type Lang } from "./i18n";
import type { ChainStatus } from "./indexer";
import { homePage, layout, messagePage, scanPage, STYLESHEET, STYLESHEET_PATH, verifyPage, type ScanModel } from "./pages";
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
const MAX_LOT = 2n ** 64n - 1n;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Where the per-response nonce goes in a rendered page: no escaped content can contain a raw "<". */
const NONCE_MARK = "<%nonce%>";

/** 128-bit nonces, drawn from the CSPRNG 1,024 at a time. */
let noncePool = Buffer.alloc(0);
let nonceAt = 0;
function freshNonce(): string {
  if (nonceAt >= noncePool.length) {
    noncePool = crypto.randomBytes(16 * 1024);
    nonceAt = 0;
  }
  const nonce = noncePool.toString("base64", nonceAt, nonceAt + 16);
  nonceAt += 16;
  return nonce;
}

function csp(nonce: string): string {
  return [
    "default-src 'none'", `script-src 'nonce-${nonce}'`, "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
  ].join("; ");
}

const COMMON_HEADERS = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

/** Parses a lot id from a path segment (decimal uint64) or returns undefined. */
export function parseLotId(value: string): number | undefined {
  if (!LOT_RE.test(value) || BigInt(value) > MAX_LOT) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * The portal's request handler: pages (scan, verify, home) and the JSON API under /api/. Pages
 * and the API read the index only; `/api/anchors/<root>` also reads the chain (that is its job).
 */
export function createHandler(opts: HandlerOptions): http.RequestListener {
  const q = new PortalQueries(opts.db);
  const counter = new ScanCounter(opts.db, opts.scanWindowMs ?? 10 * 60_000);
  const warnAfter = opts.scanWarnAfter ?? 5;
  const evidence = opts.evidenceRegistry ? new EvidenceRegistryClient(opts.evidenceRegistry, opts.provider) : undefined;
  const log = opts.log ?? ((m: string) => process.stderr.write(`portal: ${m}\n`));

  const chainView = () => {
    const s = opts.status;
    const fresh = s.reachable && Date.now() - s.lastSync < 15_000;
    return { reachable: fresh, lastSync: s.lastSync, indexedTo: s.indexedTo, head: s.head };
  };

  function send(res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
    res.writeHead(status, { ...COMMON_HEADERS, "content-type": type, "content-length": typeof body === "string" ? Buffer.byteLength(body) : body.length, ...extra });
    res.end(body);
  }

  function json(res: http.ServerResponse, status: number, value: unknown): void {
    send(res, status, "application/json; charset=utf-8", JSON.stringify(value), { "cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'" });
  }

  function render(lang: Lang, url: URL, title: string, body: string, script?: string): string {
    const other = new URL(url.pathname, "http://x");
    other.searchParams.set("lang", lang === "zh" ? "en" : "zh");
    return layout({ lang, title, nonce: NONCE_MARK, body, script, langSwitchHref: `${other.pathname}${other.search}` });
  }

  function page(res: http.ServerResponse, status: number, lang: Lang, url: URL, title: string, body: string, script?: string, setCookie?: string): void {
    sendPage(res, status, lang, toTemplate(render(lang, url, title, body, script)), setCookie);
  }

  /** A rendered page as UTF-8 pieces around each NONCE_MARK: encoded once, not per response. */
  function toTemplate(html: string): Buffer[] {
    return html.split(NONCE_MARK).map((part) => Buffer.from(part, "utf8"));
  }

  /** Sends a page template under a fresh nonce (a CSP nonce is never reused). */
  function sendPage(res: http.ServerResponse, status: number, lang: Lang, template: Buffer[], setCookie?: string): void {
    const nonce = freshNonce();
    const headers: Record<string, string> = { "content-security-policy": csp(nonce), "cache-control": "no-store", "content-language": lang === "zh" ? "zh-CN" : "en" };
    if (setCookie) headers["set-cookie"] = setCookie;
    const nonceBytes = Buffer.from(nonce, "latin1");
    const pieces: Buffer[] = [template[0]];
    for (let i = 1; i < template.length; i++) pieces.push(nonceBytes, template[i]);
    send(res, status, "text/html; charset=utf-8", pieces.length === 1 ? pieces[0] : Buffer.concat(pieces), headers);
  }

  /**
   * Rendered scan pages, keyed by everything they show (the index version covers the trace; the
   * scan count and first scan, the warnings and the chain state are in the key). A repeated scan
   * costs a lookup instead of a render. Bounded: cleared when full.
   */
  const scanPages = new Map<string, Buffer[]>();
  function scanTemplate(lang: Lang, url: URL, model: ScanModel): Buffer[] {
    const key = [lang, url.pathname, opts.status.version, model.verdict, model.scans?.count, model.scans?.firstSeen, model.manyScans,
      model.chain.reachable, model.chain.reachable ? 0 : model.chain.lastSync].join("|");
    let template = scanPages.get(key);
    if (template === undefined) {
      template = toTemplate(render(lang, url, t(lang, "title"), scanPage(lang, model)));
      if (scanPages.size >= 10_000) scanPages.clear();
      scanPages.set(key, template);
    }
    return template;
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

  function scanModel(path: string, count: { client: string } | undefined): ScanModel {
    const parsed = parseDigitalLinkPath(path); // throws INVALID_ARGUMENT
    if (parsed.prefix !== "") throw new HttpError(404, "not found");
    const chain = chainView();
    const lotId = parseLotId(parsed.lot);
    const trace = lotId === undefined ? undefined : q.trace(lotId, opts.status.version);
    const base = { gtin: parsed.gtin, lot: parsed.lot, serial: parsed.serial, chain, manyScans: false };
    if (!trace || !trace.product) return { ...base, verdict: "lot-not-found" };
    const issued = issuedSerial(parsed.serial);
    if (!issued || issued.lot !== lotId || issued.gtin !== parsed.gtin) return { ...base, verdict: "unknown-serial", trace };
    const scans = count ? counter.record(parsed.serial, count.client) : q.scans(parsed.serial);
    return { ...base, verdict: "ok", trace, scans, manyScans: (scans?.count ?? 0) > warnAfter };
  }

  async function api(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const p = url.pathname;
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
      if (m[2]) send(res, 200, "application/json; charset=utf-8", `{"chain":${JSON.stringify(chainView())},${q.traceJson(id, opts.status.version)!.slice(1)}`, { "cache-control": "no-store", "content-security-policy": "default-src 'none'; frame-ancestors 'none'" });
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
      json(res, 200, { serial: m[1], known: Boolean(issued), gtin: issued?.gtin, lot: issued?.lot, commitment: issued?.commitment, scans: q.scans(m[1]) ?? { count: 0 } });
      return;
    }
    if (p.startsWith("/api/scan/")) {
      const model = scanModel(p.slice("/api/scan".length), undefined);
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

  return (req, res) => {
    const started = (async () => {
      const url = new URL(req.url ?? "/", "http://portal.invalid");
      const isApi = url.pathname.startsWith("/api/");
      const qLang = url.searchParams.get("lang");
      const lang = pickLang(qLang, req.headers.cookie, req.headers["accept-language"]);
      const cookie = qLang === "zh" || qLang === "en" ? `lang=${qLang}; Path=/; Max-Age=31536000; SameSite=Lax` : undefined;
      try {
        if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "only GET is supported");
        if (url.pathname.length > 400) throw new HttpError(414, "path too long");
        if (isApi) return await api(req, res, url);
        if (url.pathname === STYLESHEET_PATH) {
          return send(res, 200, "text/css; charset=utf-8", STYLESHEET, { "cache-control": "public, max-age=31536000, immutable" });
        }
        if (url.pathname === "/") return page(res, 200, lang, url, t(lang, "home"), homePage(lang), undefined, cookie);
        if (url.pathname === "/verify") {
          const v = verifyPage(lang, { chainId: opts.chainId, evidenceRegistry: opts.evidenceRegistry });
          return page(res, 200, lang, url, t(lang, "verifyTitle"), v.body, v.script, cookie);
        }
        if (url.pathname.startsWith("/01/")) {
          let model: ScanModel;
          try {
            model = scanModel(url.pathname, { client: clientOf(req) });
          } catch (e) {
            if (isProofmarkError(e, "INVALID_ARGUMENT")) {
              return page(res, 400, lang, url, t(lang, "badCode"), messagePage(t(lang, "badCode"), lang === "zh" ? "此链接不是有效的 GS1 数字链接防伪码。" : "This link is not a valid GS1 Digital Link scan code."), undefined, cookie);
            }
            throw e;
          }
          return sendPage(res, 200, lang, scanTemplate(lang, url, model), cookie);
        }
        throw new HttpError(404, "not found");
      } catch (e) {
        const status = e instanceof HttpError ? e.status : isProofmarkError(e, "INVALID_ARGUMENT") ? 400 : 500;
        if (status === 500) log(`error serving ${req.method} ${url.pathname}: ${(e as Error).stack ?? e}`);
        const message = status === 500 ? "internal error" : (e as Error).message;
        if (isApi) return json(res, status, { error: { status, message } });
        return page(res, status, lang, url, status === 404 ? t(lang, "notFound") : t(lang, "error"), messagePage(status === 404 ? t(lang, "notFound") : t(lang, "error"), status === 500 ? "" : message));
      }
    })();
    started.catch((e) => {
      log(`response failed: ${(e as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  };
}
