import * as http from "node:http";
import type { AddressInfo } from "node:net";
import {
  CoopRelay,
  EmbeddedStore,
  escapeHtml,
  isProofmarkError,
  ProofmarkError,
  memberPageScript,
  openChain,
  photoUploadFromHeaders,
  PHOTO_MAX_BYTES,
  translate,
  MEMBER_STRINGS,
  type ChainContext,
  type ErrorCode,
  type SignedPrepareRequest,
} from "@proofmark/sdk";
import { pickLang } from "../i18n";

/**
 * `proofmark coop serve`: the co-op's member pages and relay. Members record GI steps from a phone
 * (the page: GET /), the relay prepares, checks and submits their signed requests, paying the gas
 * with the co-op's key (POST /api/coop/prepare — a request the member signs, see prepare-request.ts —
 * and /api/coop/submit), and keeps certificate photos in
 * the data folder's content store (POST /api/coop/photo — an upload the member signs, see
 * photo-request.ts, within a daily allowance of bytes per member). Separate from the consumer portal.
 */

export interface CoopServerOptions {
  dataDir: string;
  port?: number;
  host?: string;
  network?: string;
  rpc?: string[];
  /** The relayer: a dev account name on the local chain (default "coop"), else the configured key. */
  as?: string;
  burst?: number;
  perSecond?: number;
  /** Seconds a prepared harvest or packing keeps the next lot id for its member (default 20). */
  holdSeconds?: number;
  /** Bytes of certificate photos each member may add in any 24 hours (default 64 MiB). */
  photoBytesPerDay?: number;
  /** Harvests and packings a member may prepare and never send within 10 minutes before its next are refused (default 3). */
  maxUnsentTurns?: number;
  log?: (message: string) => void;
}

export interface CoopServer {
  url: string;
  chain: ChainContext;
  relay: CoopRelay;
  close(): Promise<void>;
}

const BODY_LIMIT = 64 * 1024;
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
const CSS = `body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:34rem;padding:0 1rem 4rem;color:#1d1d1f}
header{display:flex;justify-content:space-between;align-items:baseline}h1{font-size:1.4rem}
label{display:block;margin:.5rem 0}input,textarea{display:block;width:100%;box-sizing:border-box;font-size:1rem;padding:.5rem}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.5rem 0}form,section.key{border:1px solid #ccc;border-radius:8px;padding:.5rem 1rem;margin:1rem 0}
.address,code{word-break:break-all;font-family:ui-monospace,monospace}.result{border-radius:8px;padding:.5rem 1rem;margin:.5rem 0}
.recorded{background:#e8f5e9}.refusal{background:#fdecea}.cli-message{font-size:.9rem;color:#444}`;

/** Answers of the relay's refusals: the HTTP status for each code. */
function statusOf(code: ErrorCode): number {
  switch (code) {
    case "RELAY_RATE_LIMITED":
    case "RELAY_PHOTO_QUOTA":
    case "RELAY_TURNS_UNSENT":
      return 429;
    case "INPUT_TOO_LARGE":
      return 413;
    case "RELAY_CANNOT_PAY":
    case "RELAY_UNAVAILABLE":
      return 503;
    case "ROLE_MISSING":
    case "LICENCE_MISSING":
      return 403;
    case "RELAY_SIGNATURE_INVALID":
    case "RELAY_SIGNATURE_MISSING":
    case "RELAY_SIGNATURE_STALE":
      return 401;
    case "RELAY_NONCE_USED":
    case "RELAY_SIGNATURE_REPLAYED":
    case "RELAY_REQUEST_STALE":
      return 409;
    default:
      return 400;
  }
}

function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      if (size > limit) return;
      size += c.length;
      if (size > limit) {
        chunks.length = 0;
        reject(Object.assign(new Error("body too large"), { tooLarge: true }));
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * Reads and drops what is left of a refused request's body, up to `limit` bytes, so that the client
 * (a phone still uploading a photo) gets the refusal rather than a reset connection: true when the
 * body ended, false when it ran over (then the answer closes the connection).
 */
function discardBody(req: http.IncomingMessage, limit: number): Promise<boolean> {
  if (req.complete || req.method === "GET") return Promise.resolve(true);
  return new Promise((resolve) => {
    let size = 0;
    const done = (ended: boolean) => {
      req.off("data", onData);
      req.off("end", onEnd);
      resolve(ended);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) done(false);
    };
    const onEnd = () => done(true);
    req.on("data", onData);
    req.on("end", onEnd);
    req.once("error", () => done(false));
    req.resume();
  });
}

function answer(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": CSP,
    ...extra,
  });
  res.end(body);
}

const sendJson = (res: http.ServerResponse, status: number, value: unknown, extra: Record<string, string> = {}) =>
  answer(res, status, JSON.stringify(value), "application/json; charset=utf-8", extra);

/** The member page's shell: the script renders it in the page's language. */
export function memberPageHtml(lang: "zh" | "en"): string {
  const title = translate(MEMBER_STRINGS, lang, "title");
  return `<!doctype html><html lang="${lang === "zh" ? "zh-CN" : "en"}" data-lang="${lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/member.css"></head><body><main id="app"></main><script src="/member.js"></script></body></html>`;
}

/** Starts the co-op server (member pages + relay) on `port` (0: any free port). */
export async function startCoop(opts: CoopServerOptions): Promise<CoopServer> {
  const chain = await openChain({
    dataDir: opts.dataDir,
    network: opts.network,
    rpc: opts.rpc,
    as: opts.as ?? (opts.rpc?.length || opts.network ? undefined : "coop"),
  });
  const store = new EmbeddedStore(chain.dataDir);
  let relay: CoopRelay;
  try {
    relay = await CoopRelay.open(chain, store, {
      burst: opts.burst,
      perSecond: opts.perSecond,
      holdSeconds: opts.holdSeconds,
      photoBytesPerDay: opts.photoBytesPerDay,
      maxUnsentTurns: opts.maxUnsentTurns,
    });
  } catch (e) {
    chain.close();
    throw e;
  }
  const script = memberPageScript();
  const log = opts.log ?? (() => undefined);
  const server = http.createServer((req, res) => {
    handle(req, res).catch(async (e) => {
      const close: Record<string, string> = (await discardBody(req, PHOTO_MAX_BYTES)) ? {} : { connection: "close" };
      if (isProofmarkError(e)) {
        // The admin's record of whose role to look at: a member held turns unsent, or used up its photos.
        if (e.code === "RELAY_TURNS_UNSENT" || e.code === "RELAY_PHOTO_QUOTA") log(`refused ${e.code}: ${e.message}`);
        const after = e.details.retryAfter;
        const retry =
          statusOf(e.code) === 429 && typeof after === "number" ? { "retry-after": String(after) } : undefined;
        sendJson(res, statusOf(e.code), { error: e.toJSON() }, { ...retry, ...close });
        return;
      }
      if ((e as { tooLarge?: boolean }).tooLarge) {
        sendJson(res, 413, { error: { code: "INPUT_TOO_LARGE", message: "request body too large" } }, close);
        return;
      }
      log(`error: ${(e as Error).message}`);
      if (!res.headersSent) sendJson(res, 500, { error: { code: "TX_FAILED", message: "internal error" } });
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://coop.invalid");
    const p = url.pathname;
    if (req.method === "GET" && (p === "/" || p === "/member")) {
      const lang = pickLang(url.searchParams.get("lang"), req.headers.cookie, req.headers["accept-language"]);
      answer(res, 200, memberPageHtml(lang), "text/html; charset=utf-8");
      return;
    }
    if (req.method === "GET" && p === "/member.js") {
      answer(res, 200, script, "text/javascript; charset=utf-8");
      return;
    }
    if (req.method === "GET" && p === "/member.css") {
      answer(res, 200, CSS, "text/css; charset=utf-8");
      return;
    }
    const member = /^\/api\/coop\/member\/(0x[0-9a-fA-F]{40})$/.exec(p);
    if (req.method === "GET" && member) {
      const roles = await relay.memberRoles(member[1], req.socket.remoteAddress ?? "unknown");
      sendJson(res, 200, {
        ...roles,
        registry: relay.registry,
        prepareDomain: relay.prepareDomain,
        products: roles.products.map((x) => ({ ...x, steps: CoopRelay.stepsFor(x.roles) })),
      });
      return;
    }
    if (req.method === "POST" && p === "/api/coop/prepare") {
      const body = parseJson(await readBody(req, BODY_LIMIT));
      sendJson(res, 200, await relay.prepare((body ?? {}) as SignedPrepareRequest));
      return;
    }
    if (req.method === "POST" && p === "/api/coop/submit") {
      const signed = parseJson(await readBody(req, BODY_LIMIT));
      const result = await relay.submit(signed as never);
      log(`recorded ${result.step} lot ${result.lot} for ${result.member} in ${result.txHash}`);
      sendJson(res, 200, result);
      return;
    }
    if (req.method === "POST" && p === "/api/coop/photo") {
      const name = (url.searchParams.get("name") ?? "certificate.jpg").slice(0, 200);
      const header = (h: string) => {
        const v = req.headers[h];
        return Array.isArray(v) ? v[0] : v;
      };
      // Every check is on the signed headers; the body is read only once they pass (and no longer than signed).
      const photo = await relay.addPhoto(photoUploadFromHeaders(header), name, (limit) =>
        readBody(req, Math.min(limit, PHOTO_MAX_BYTES)),
      );
      log(`kept a ${photo.name} photo (${photo.cid})`);
      sendJson(res, 200, photo);
      return;
    }
    sendJson(res, 404, { error: { code: "INVALID_ARGUMENT", message: "not found" } });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8090, opts.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    chain,
    relay,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await store.close?.();
      chain.close();
    },
  };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new ProofmarkError("INVALID_ARGUMENT", "the request body is not JSON", {}, { cause: e });
  }
}
