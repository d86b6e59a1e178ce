import * as http from "node:http";
import { isProofmarkError, LOCAL_CHAIN_ID } from "@proofmark/sdk";
import { diskFullError } from "@proofmark/sdk/internal";
import { BoundedCache } from "./cache";
import { pickLang, t, type Lang } from "./i18n";
import { homePage, messagePage } from "./pages";
import { PortalQueries, ScanCounter, type ScanBudget } from "./queries";
import { sqliteScanCounts } from "./scan-counts";
import { HttpError, json, page } from "./respond";
import { ApiRoute } from "./routes/api";
import { assetRoute } from "./routes/assets";
import { CHAIN_RELAY_PREFIX, chainRelay } from "./routes/chain-relay";
import type { HandlerOptions, PortalContext, Target } from "./routes/context";
import { ScanRoute } from "./routes/scan";
import { verifyRoute } from "./routes/verify";

export { pageCsp } from "./respond";
export { parseLotId } from "./lot-id";
export type { HandlerOptions } from "./routes/context";

/** The request handler, `flush()` to write pending scan counts (call it before closing the database), `close()` to release the scan counts' store. */
export type PortalHandler = http.RequestListener & { flush(): void; close(): Promise<void> };

/** Counted scans one client address may add to one serial per day (the portal's default). */
export const SCAN_BUDGET_PER_CLIENT = 3;

/** The portal's per-client scan budget: {@link SCAN_BUDGET_PER_CLIENT} per serial per day (or per window, when longer). */
export function scanBudget(windowMs: number): ScanBudget {
  return { perClient: SCAN_BUDGET_PER_CLIENT, periodMs: Math.max(windowMs, 24 * 3_600_000) };
}

/**
 * The client a scan is counted for: its network address. With `trustProxy`, the address the
 * trusted reverse proxy appended to X-Forwarded-For (the right-most entry): everything left of it
 * was sent by the client and proves nothing. Never the user agent (a client picks it freely).
 */
export function clientAddress(req: Pick<http.IncomingMessage, "headers" | "socket">, trustProxy: boolean): string {
  const socket = req.socket.remoteAddress ?? "?";
  if (!trustProxy) return socket;
  const header = req.headers["x-forwarded-for"];
  const list = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return list.length > 0 ? list[list.length - 1] : socket;
}

/**
 * The portal's request handler: one route module per page (routes/scan, routes/verify,
 * routes/api, routes/assets) around shared state (the index's queries, the scan counter, the chain
 * view). Pages and the API read the index only; `/api/anchors/<root>` and the verify page's
 * relay (`/api/chain/…`, routes/chain-relay) also read the chain.
 */
export function createHandler(opts: HandlerOptions): PortalHandler {
  const log = opts.log ?? ((m: string) => process.stderr.write(`portal: ${m}\n`));
  const windowMs = opts.scanWindowMs ?? 10 * 60_000;
  const ctx: PortalContext = {
    opts,
    log,
    q: new PortalQueries(opts.db, opts.chainId === LOCAL_CHAIN_ID),
    counter:
      opts.scanCounts ??
      sqliteScanCounts(
        new ScanCounter(
          opts.db,
          windowMs,
          (e) =>
            log(
              `writing scan counts failed (kept in memory, retried): [${diskFullError(e) ? "DISK_FULL" : ((e as { code?: string }).code ?? "ERROR")}] ${(e as Error).message}`,
            ),
          scanBudget(windowMs),
        ),
      ),
    warnAfter: opts.scanWarnAfter ?? 5,
    chainView() {
      const s = opts.status;
      const fresh = s.reachable && Date.now() - s.lastSync < 15_000;
      return { reachable: fresh, lastSync: s.lastSync, indexedTo: s.indexedTo, head: s.head };
    },
  };
  const scan = new ScanRoute(ctx);
  const api = new ApiRoute(ctx, scan);
  const relay = chainRelay(ctx);

  /** Request targets by raw URL (≤ 512 characters), so a repeated scan does not parse its URL again. */
  const targets = new BoundedCache<string, Target>(5_000, 512);
  const targetOf = (rawUrl: string): Target =>
    targets.getOrSet(rawUrl, () => {
      const url = new URL(rawUrl, "http://portal.invalid");
      return { pathname: url.pathname, lang: url.searchParams.get("lang") };
    });
  /** Page language per (query, cookie, Accept-Language). */
  const langs = new BoundedCache<string, Lang>(1_000, 512);
  const langOf = (query: string | null, cookie: string | undefined, acceptLanguage: string | undefined): Lang =>
    langs.getOrSet(`${query}\n${cookie}\n${acceptLanguage}`, () => pickLang(query, cookie, acceptLanguage));

  function fail(
    res: http.ServerResponse,
    e: unknown,
    method: string | undefined,
    pathname: string,
    isApi: boolean,
    lang: Lang,
  ): void {
    try {
      const status = e instanceof HttpError ? e.status : isProofmarkError(e, "INVALID_ARGUMENT") ? 400 : 500;
      if (status === 500) log(`error serving ${method} ${pathname}: ${(e as Error).stack ?? e}`);
      const message = status === 500 ? "internal error" : (e as Error).message;
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (isApi) return json(res, status, { error: { status, message } });
      const title = status === 404 ? t(lang, "notFound") : t(lang, "error");
      return page(res, status, lang, pathname, title, messagePage(title, status === 500 ? "" : message));
    } catch (again) {
      log(`response failed: ${(again as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
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
      const cookie =
        target.lang === "zh" || target.lang === "en"
          ? `lang=${target.lang}; Path=/; Max-Age=31536000; SameSite=Lax`
          : undefined;
      if (req.method !== "GET" && req.method !== "HEAD") throw new HttpError(405, "only GET is supported");
      if (pathname.length > 400) throw new HttpError(414, "path too long");
      if (pathname.startsWith(CHAIN_RELAY_PREFIX)) {
        relay(res, pathname.slice(CHAIN_RELAY_PREFIX.length), req.url ?? "").catch((e) =>
          fail(res, e, req.method, pathname, true, lang),
        );
        return;
      }
      if (isApi) {
        api.handle(res, pathname).catch((e) => fail(res, e, req.method, pathname, true, lang));
        return;
      }
      if (assetRoute(res, pathname)) return;
      if (pathname === "/") return page(res, 200, lang, pathname, t(lang, "home"), homePage(lang), undefined, cookie);
      if (pathname === "/verify") return verifyRoute(ctx, res, pathname, lang, cookie);
      // A HEAD request is not a scan: it reads the page without counting.
      if (pathname.startsWith("/01/"))
        return void scan
          .handle(
            res,
            target,
            lang,
            cookie,
            req.method === "GET" ? clientAddress(req, opts.trustProxy ?? false) : undefined,
          )
          .catch((e) => fail(res, e, req.method, pathname, false, lang));
      throw new HttpError(404, "not found");
    } catch (e) {
      fail(res, e, req.method, pathname, isApi, lang);
    }
  };
  return Object.assign(handler, { flush: () => ctx.counter.flush(), close: () => ctx.counter.close() });
}
