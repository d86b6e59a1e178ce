import { createHash } from "node:crypto";
import { ProofmarkError, type ErrorCode } from "../core/errors";
import type {
  CaptureSession,
  WorkerScript,
  Exchange,
  FailedRequest,
  PageCapture,
  ScriptRun,
  TlsOrigin,
  BrowserObservations,
} from "./browser";
import { sourceAddresses, type CleanCheck, type HostObservations } from "./environment";
import {
  publicKeyFingerprint,
  signDatapackageHash,
  verifySignedData,
  type CaptureKey,
  timeSignSignature,
  type SignedData,
  type TimeSignature,
} from "./signing";
import {
  checkIdentitySignature,
  isIdentitySignedData,
  signDatapackageHashWithIdentity,
  type IdentitySignedData,
  type SigningIdentity,
} from "./identity";
import { cdxjIndex, checkWarcRecord, readWarc, warcinfoRecord, warcRecord } from "./warc";
import { readZip, writeZip, type ZipEntryInput } from "./zip";

/**
 * A capture as one WACZ 1.2 file (webrecorder/specs wacz/1.2.0):
 *
 *   archive/data.warc           every exchange, WARC/1.1 request + response records (STORE)
 *   indexes/index.cdxj          CDXJ index of the WARC
 *   pages/pages.jsonl           the captured pages (url, ts, title, text)
 *   capture/record.json         the capture record: how, when, where from, clean-environment checks
 *   capture/page-N/…            screenshot.png, print.pdf, dom.html of each page
 *   capture/capture.har         the HAR of the session
 *   capture/tls.json            the TLS certificate chain of every HTTPS origin
 *   capture/video.mp4           the screencast (with --video)
 *   datapackage.json            every file above with its SHA-256 and size
 *   datapackage-digest.json     the SHA-256 of datapackage.json, signed (WACZ signing, anonymous mode)
 *
 * Custom files live under capture/, as the spec asks (never inside archive/, indexes/ or pages/).
 */

export const WARC_PATH = "archive/data.warc";
export const CDXJ_PATH = "indexes/index.cdxj";
export const PAGES_PATH = "pages/pages.jsonl";
export const RECORD_PATH = "capture/record.json";
export const DATAPACKAGE = "datapackage.json";
export const DATAPACKAGE_DIGEST = "datapackage-digest.json";

/** An image the captured pages loaded, with its digest (for matching against registered originals). */
export interface CapturedImage {
  page: number;
  url: string;
  mimeType: string;
  sha256: string;
  size: number;
  truncated?: boolean;
}

/** A match of a captured image against a registered original, as an image matcher reports it. */
export interface CapturedImageMatch {
  /** SHA-256 of the captured image. */
  sha256: string;
  /** What it matched (a receipt, a registered item) and how close, in the matcher's own words. */
  original: Record<string, string | number>;
}

/**
 * The hook for the photo-fingerprint index: given the captured images (bytes and digests), return
 * the registered originals they match. Proofmark records the answer in the capture record; without
 * a matcher, no match is claimed or shown.
 */
export type ImageMatcher = (images: Array<CapturedImage & { bytes: Buffer }>) => Promise<CapturedImageMatch[]>;

/** The capture record (`capture/record.json`), format `proofmark-capture-record` version 1. */
export interface CaptureRecord {
  format: "proofmark-capture-record";
  version: 1;
  urls: string[];
  startedAt: string;
  endedAt: string;
  tool: { name: "proofmark"; version: string; playwrightCore: string; node: string };
  browser: BrowserObservations;
  os: HostObservations["os"];
  clock: CaptureSession["clock"];
  proxy: { environment: Record<string, string>; chromiumFlags: string[] | null };
  hosts?: string;
  resolver?: string;
  nsswitchHosts?: string;
  addresses: HostObservations["addresses"];
  /** For each server address, the local address the capturing host's routing chose to reach it. */
  sourceAddresses: Array<{ remote: string; source?: string; error?: string }>;
  limits: CaptureSession["limits"];
  scripts: ScriptRun[];
  failed: FailedRequest[];
  httpErrors: Array<{ page: number; url: string; status: number }>;
  truncated: Array<{
    page: number;
    url: string;
    reason: "length" | "time" | "unspecified";
    receivedBytes?: number;
    keptBytes: number;
  }>;
  pages: Array<
    Omit<PageCapture, "dom" | "screenshot" | "pdf"> & { files: { dom?: string; screenshot?: string; pdf?: string } }
  >;
  images: CapturedImage[];
  /** Targets attached besides the pages (cross-site iframes, workers, service workers). */
  targets: CaptureSession["targets"];
  /**
   * Scripts service and shared workers ran, stored as WARC resource records (their source as the
   * worker compiled it; the browser's own fetch of a worker's script is not visible to DevTools).
   */
  workerScripts?: Array<Omit<WorkerScript, "source"> & { sha256: string; size: number }>;
  /** Responses a service worker gave the pages. */
  servedByServiceWorker: Array<{ page: number; url: string; status?: number }>;
  imageMatches?: CapturedImageMatch[];
  tls: Array<Omit<TlsOrigin, "chain"> & { chainLength: number }>;
  video?: { file: string; frames: number } | { error: string };
  exchanges: number;
  clean: { ok: boolean; checks: CleanCheck[] };
  notes: string[];
}

const NOTES = [
  "Bodies are recorded as Chromium decoded them: a Content-Encoding or Transfer-Encoding header is kept as X-Proofmark-Original-Content-Encoding / X-Proofmark-Original-Transfer-Encoding and Content-Length is the recorded body's length.",
  "Scripts listed under `scripts` ran after the page loaded, to read it; Playwright also evaluates its own helper script in an isolated world to read the title and DOM. Nothing was added to the pages before or while they loaded.",
  "Requests made by cross-site (out-of-process) iframes, workers and service workers are recorded like the page's own: their WARC response records carry WARC-Proofmark-Target (who made the request), and a response a service worker gave the page carries WARC-Proofmark-Served-By: service-worker (what the service worker fetched itself is a separate exchange). A worker's own script is fetched by the browser before any DevTools session can see that request, so its HTTP response (status line, headers, bytes as sent) is not recorded; instead each script a service or shared worker compiled (its own and importScripts) is read through the worker's DevTools Debugger domain (enabled before the worker ran, no breakpoint set: nothing paused or injected) and stored as a WARC resource record (UTF-8 source text as the worker's JavaScript engine compiled it, WARC-Proofmark-Source: devtools-debugger) listed under `workerScripts`.",
  "Chromium listened on a loopback DevTools port (--remote-debugging-port=0: a free port on 127.0.0.1, see the command line) for the second DevTools connection that attaches iframes, workers and service workers. The port is picked at random and open only while the capture runs; whether another local process connected to it is not observed.",
  "The HAR (capture/capture.har) is written from the same recorded exchanges as the WARC, without bodies (they are in the WARC); its timings are Chromium's own (DevTools Network.ResourceTiming and the time loading finished): a response without them (made by a service worker, or from a cache) has every phase 0 and _timingsMissing.",
  "Pop-up windows opened by a page were closed at once and are listed, not captured.",
];

function sha256(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}

function renameEncodings(headers: Array<[string, string]>, bodyLength: number): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of headers) {
    const lk = k.toLowerCase();
    if (lk === "content-encoding") out.push(["X-Proofmark-Original-Content-Encoding", v]);
    else if (lk === "transfer-encoding") out.push(["X-Proofmark-Original-Transfer-Encoding", v]);
    else if (lk === "content-length") out.push(["X-Proofmark-Original-Content-Length", v]);
    else if (!lk.startsWith(":")) out.push([k, v]);
  }
  out.push(["Content-Length", String(bodyLength)]);
  return out;
}

function requestLine(x: Exchange): string {
  const u = new URL(x.url);
  return `${x.method} ${u.pathname}${u.search} ${x.httpVersion === "HTTP/2" || x.httpVersion === "HTTP/3" ? "HTTP/1.1" : x.httpVersion}`;
}

async function buildWarc(session: CaptureSession, software: string): Promise<Buffer> {
  const parts: Uint8Array[] = [
    await warcinfoRecord(
      "data.warc",
      { software, format: "WARC File Format 1.1", "proofmark-capture-urls": session.pages.map((p) => p.url).join(" ") },
      session.startedAt,
    ),
  ];
  for (const x of session.exchanges) {
    if (x.status === undefined) continue;
    const body = x.body ?? Buffer.alloc(0);
    const reqHeaders = x.requestHeaders.filter(([k]) => !k.startsWith(":"));
    if (!reqHeaders.some(([k]) => k.toLowerCase() === "host")) reqHeaders.unshift(["Host", new URL(x.url).host]);
    const response = await warcRecord({
      type: "response",
      url: x.url,
      date: x.date,
      statusline:
        `${x.httpVersion === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1"} ${x.status} ${x.statusText ?? ""}`.trimEnd(),
      httpHeaders: renameEncodings(x.responseHeaders ?? [], body.length),
      payload: body,
      warcHeaders: {
        ...(x.remoteIp ? { "WARC-IP-Address": x.remoteIp.replace(/^\[|\]$/g, "") } : {}),
        ...(x.truncated ? { "WARC-Truncated": x.truncated } : {}),
        "WARC-Protocol": x.httpVersion.toLowerCase().replace("http/", "http/"),
        ...(x.target ? { "WARC-Proofmark-Target": `${x.target.type}${x.target.url ? ` ${x.target.url}` : ""}` } : {}),
        ...(x.fromServiceWorker ? { "WARC-Proofmark-Served-By": "service-worker" } : {}),
      },
    });
    const request = await warcRecord({
      type: "request",
      url: x.url,
      date: x.date,
      statusline: requestLine(x),
      httpHeaders: reqHeaders,
      payload: x.requestBody ?? Buffer.alloc(0),
      warcHeaders: { "WARC-Concurrent-To": response.id },
    });
    parts.push(response.bytes, request.bytes);
  }
  for (const w of session.workerScripts) {
    const resource = await warcRecord({
      type: "resource",
      url: w.url,
      date: w.at,
      contentType: "application/javascript; charset=utf-8",
      payload: Buffer.from(w.source, "utf8"),
      warcHeaders: {
        "WARC-Proofmark-Target": `${w.target.type} ${w.target.url}`,
        "WARC-Proofmark-Source": "devtools-debugger",
      },
    });
    parts.push(resource.bytes);
  }
  return Buffer.concat(parts);
}

/**
 * HAR 1.2 `time` and `timings` of an exchange from Chromium's own timing of it (DevTools
 * `Network.ResourceTiming`, and the time its body finished loading), as Chromium's DevTools export
 * them: phases that did not happen (a reused connection's DNS and connect) are -1; `ssl` is part of
 * `connect`. Without Chromium's timing (a response a service worker made, a cache hit) every phase
 * is 0 and `_timingsMissing` says so.
 */
export function harTimings(x: Pick<Exchange, "timing" | "finishedAt">): {
  time: number;
  timings: Record<"blocked" | "dns" | "connect" | "ssl" | "send" | "wait" | "receive", number>;
  _timingsMissing?: true;
} {
  const t = x.timing;
  if (!t || !(t.requestTime > 0) || t.sendStart < 0)
    return {
      time: 0,
      timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 0 },
      _timingsMissing: true,
    };
  const ms = (v: number) => Math.max(0, Math.round(v * 1000) / 1000);
  const span = (a: number, b: number) => (a >= 0 && b >= a ? ms(b - a) : -1);
  const firstPhase = [t.dnsStart, t.connectStart, t.sendStart].find((v) => v >= 0)!;
  const headersEnd = Math.max(t.receiveHeadersEnd, t.sendEnd);
  const finished = x.finishedAt !== undefined ? (x.finishedAt - t.requestTime) * 1000 : headersEnd;
  const timings = {
    blocked: ms(firstPhase),
    dns: span(t.dnsStart, t.dnsEnd),
    connect: span(t.connectStart, t.connectEnd),
    ssl: span(t.sslStart, t.sslEnd),
    send: ms(t.sendEnd - t.sendStart),
    wait: ms(headersEnd - t.sendEnd),
    receive: ms(finished - headersEnd),
  };
  const time = [timings.blocked, timings.dns, timings.connect, timings.send, timings.wait, timings.receive]
    .filter((v) => v > 0)
    .reduce((a, b) => a + b, 0);
  return { time: Math.round(time * 1000) / 1000, timings };
}

/**
 * The session as a HAR 1.2 log (no bodies: they are in the WARC), written from the same exchanges
 * as the WARC, so both list the same requests: the page's, its cross-site iframes', its workers' and
 * service workers' (`_target`), responses served by a service worker (`_fetchedViaServiceWorker`,
 * as Chromium's DevTools write it) and requests that failed (status 0, `_failureText`).
 */
export function buildHar(session: CaptureSession, version: string): Buffer {
  const headers = (h: Array<[string, string]> | undefined) => (h ?? []).map(([name, value]) => ({ name, value }));
  const query = (url: string) => {
    try {
      return [...new URL(url).searchParams].map(([name, value]) => ({ name, value }));
    } catch {
      return [];
    }
  };
  const pageref = (i: number) => `page_${i + 1}`;
  const entries: object[] = session.exchanges
    .filter((x) => x.status !== undefined)
    .map((x) => ({
      pageref: pageref(x.page),
      startedDateTime: x.date,
      ...harTimings(x),
      request: {
        method: x.method,
        url: x.url,
        httpVersion: x.httpVersion,
        cookies: [],
        headers: headers(x.requestHeaders),
        queryString: query(x.url),
        headersSize: -1,
        bodySize: x.requestBody?.length ?? 0,
      },
      response: {
        status: x.status,
        statusText: x.statusText ?? "",
        httpVersion: x.httpVersion,
        cookies: [],
        headers: headers(x.responseHeaders),
        content: { size: x.body?.length ?? 0, mimeType: x.mimeType ?? "" },
        redirectURL: x.redirect
          ? ((x.responseHeaders ?? []).find(([k]) => k.toLowerCase() === "location")?.[1] ?? "")
          : "",
        headersSize: -1,
        bodySize: x.body?.length ?? 0,
      },
      cache: {},
      ...(x.remoteIp ? { serverIPAddress: x.remoteIp.replace(/^\[|\]$/g, "") } : {}),
      ...(x.target ? { _target: x.target } : {}),
      ...(x.fromServiceWorker ? { _fetchedViaServiceWorker: true } : {}),
      ...(x.truncated ? { _truncated: x.truncated } : {}),
    }));
  for (const f of session.failed)
    entries.push({
      pageref: pageref(f.page),
      startedDateTime: session.pages[f.page]?.snapshotAt || session.startedAt,
      time: 0,
      request: {
        method: f.method,
        url: f.url,
        httpVersion: "",
        cookies: [],
        headers: [],
        queryString: query(f.url),
        headersSize: -1,
        bodySize: 0,
      },
      response: {
        status: 0,
        statusText: "",
        httpVersion: "",
        cookies: [],
        headers: [],
        content: { size: 0, mimeType: "" },
        redirectURL: "",
        headersSize: -1,
        bodySize: 0,
      },
      cache: {},
      timings: { send: 0, wait: 0, receive: 0 },
      _failureText: f.blockedReason ? `${f.error} (blocked: ${f.blockedReason})` : f.error,
    });
  const har = {
    log: {
      version: "1.2",
      creator: { name: "Proofmark", version },
      browser: { name: "Chromium", version: session.browser.version },
      pages: session.pages.map((p) => ({
        id: pageref(p.index),
        startedDateTime: p.loadedAt ?? p.snapshotAt ?? session.startedAt,
        title: p.title,
        pageTimings: {},
      })),
      entries,
    },
  };
  return Buffer.from(`${JSON.stringify(har, null, 2)}\n`);
}

/** The images among the captured responses (and data: images of the DOM), with their SHA-256. */
export function capturedImages(session: CaptureSession): Array<CapturedImage & { bytes: Buffer }> {
  const out: Array<CapturedImage & { bytes: Buffer }> = [];
  for (const x of session.exchanges) {
    if (!x.mimeType?.startsWith("image/") || !x.body || x.body.length === 0) continue;
    out.push({
      page: x.page,
      url: x.url,
      mimeType: x.mimeType,
      sha256: sha256(x.body),
      size: x.body.length,
      ...(x.truncated ? { truncated: true } : {}),
      bytes: x.body,
    });
  }
  for (const p of session.pages) {
    for (const r of p.localResources) {
      const m = /^data:(image\/[\w.+-]+)[;,]/i.exec(r.url);
      if (m && r.sha256 && r.size !== undefined)
        out.push({ page: p.index, url: r.url, mimeType: m[1], sha256: r.sha256, size: r.size, bytes: Buffer.alloc(0) });
    }
  }
  return out;
}

export interface PackagedCapture {
  wacz: Buffer;
  record: CaptureRecord;
  /** The bytes of the signed datapackage-digest.json (what is anchored). */
  datapackageDigest: Buffer;
  /** Sum of the recorded response bodies (for the size comparison). */
  rawResponseBytes: number;
  /** RFC 3161 time signatures of the signature (one per TSA that answered). */
  timeSignatures: TimeSignature[];
  /** TSAs that were asked and did not answer with a token. */
  tsaErrors: Array<{ tsa: string; message: string }>;
}

/**
 * Packages a capture session as a signed WACZ.
 *
 * @example
 * const { wacz } = await packageCapture(session, loadCaptureKey(dataDir), { version: "0.1.0" });
 *
 * With a {@link SigningIdentity} (a domain certificate and its key) the signature is in the spec's
 * identity mode, time-stamped by the first of `opts.tsa` that answers.
 */
export async function packageCapture(
  session: CaptureSession,
  key: CaptureKey | SigningIdentity,
  opts: { version: string; imageMatcher?: ImageMatcher; tsa?: string[] },
): Promise<PackagedCapture> {
  const software = `Proofmark ${opts.version}`;
  const warc = await buildWarc(session, software);
  const cdxj = await cdxjIndex(warc, "data.warc");
  const pageLines = [JSON.stringify({ format: "json-pages-1.0", id: "pages", title: "All Pages" })];
  const files: ZipEntryInput[] = [];
  const record: CaptureRecord = {
    format: "proofmark-capture-record",
    version: 1,
    urls: session.pages.map((p) => p.url),
    startedAt: session.startedAt,
    endedAt: session.endedAt,
    tool: { name: "proofmark", version: opts.version, ...session.tool },
    browser: session.browser,
    os: session.host.os,
    clock: session.clock,
    proxy: {
      environment: session.host.proxyEnv,
      chromiumFlags: session.browser.commandLine
        ? session.browser.commandLine.filter((a) => /^--proxy|^--no-proxy/.test(a))
        : null,
    },
    hosts: session.host.hosts,
    resolver: session.host.resolver,
    nsswitchHosts: session.host.nsswitchHosts,
    addresses: session.host.addresses,
    sourceAddresses: await sourceAddresses(
      session.exchanges.filter((x) => x.remoteIp).map((x) => x.remoteIp!.replace(/^\[|\]$/g, "")),
    ),
    limits: session.limits,
    scripts: session.scripts,
    failed: session.failed,
    httpErrors: session.exchanges
      .filter((x) => (x.status ?? 0) >= 400)
      .map((x) => ({ page: x.page, url: x.url, status: x.status! })),
    truncated: session.exchanges
      .filter((x) => x.truncated)
      .map((x) => ({
        page: x.page,
        url: x.url,
        reason: x.truncated!,
        receivedBytes: x.receivedBytes,
        keptBytes: x.body?.length ?? 0,
      })),
    pages: [],
    images: [],
    targets: session.targets,
    workerScripts: session.workerScripts.map(({ source, ...w }) => {
      const bytes = Buffer.from(source, "utf8");
      return { ...w, sha256: sha256(bytes), size: bytes.length };
    }),
    servedByServiceWorker: session.exchanges
      .filter((x) => x.fromServiceWorker)
      .map((x) => ({ page: x.page, url: x.url, status: x.status })),
    tls: session.tls.map(({ chain, ...t }) => ({ ...t, chainLength: chain.length })),
    exchanges: session.exchanges.filter((x) => x.status !== undefined).length,
    clean: { ok: session.clean.every((c) => c.ok), checks: session.clean },
    notes: NOTES,
  };
  for (const p of session.pages) {
    const dir = `capture/page-${p.index + 1}`;
    const { dom, screenshot, pdf, ...rest } = p;
    const pageFiles: CaptureRecord["pages"][number]["files"] = {};
    if (dom.length) files.push({ name: (pageFiles.dom = `${dir}/dom.html`), data: dom, deflate: true });
    if (screenshot) files.push({ name: (pageFiles.screenshot = `${dir}/screenshot.png`), data: screenshot });
    if (pdf) files.push({ name: (pageFiles.pdf = `${dir}/print.pdf`), data: pdf });
    record.pages.push({ ...rest, files: pageFiles });
    pageLines.push(
      JSON.stringify({
        id: `page-${p.index + 1}`,
        url: p.url,
        ts: p.snapshotAt || session.startedAt,
        title: p.title,
        text: p.text,
      }),
    );
  }
  const images = capturedImages(session);
  record.images = images.map(({ bytes: _b, ...img }) => img);
  if (opts.imageMatcher) record.imageMatches = await opts.imageMatcher(images);
  files.push({ name: "capture/capture.har", data: buildHar(session, opts.version), deflate: true });
  files.push({
    name: "capture/tls.json",
    data: Buffer.from(`${JSON.stringify(session.tls, null, 2)}\n`),
    deflate: true,
  });
  if (session.video && "bytes" in session.video) {
    files.push({ name: "capture/video.mp4", data: session.video.bytes });
    record.video = { file: "capture/video.mp4", frames: session.video.frames };
  } else if (session.video) record.video = { error: session.video.error };
  const recordBytes = Buffer.from(`${JSON.stringify(record, null, 2)}\n`);
  const all: ZipEntryInput[] = [
    { name: WARC_PATH, data: warc },
    { name: CDXJ_PATH, data: Buffer.from(cdxj), deflate: true },
    { name: PAGES_PATH, data: Buffer.from(`${pageLines.join("\n")}\n`), deflate: true },
    { name: RECORD_PATH, data: recordBytes, deflate: true },
    ...files,
  ];
  const first = session.pages[0];
  const datapackage = {
    // WACZ 1.2 says "wacz"; ReplayWeb.page 2.5 / wabac.js 2.27 refuse any profile but "data-package"
    // (and the other writers, py-wacz, js-wacz and browsertrix, write it): a capture that does not
    // replay is worth less than the letter of that one field.
    profile: "data-package",
    title: `Capture of ${record.urls.join(", ")}`,
    description: `Captured by Proofmark ${opts.version} in a fresh Chromium profile; the capture record is ${RECORD_PATH}.`,
    created: session.endedAt,
    modified: session.endedAt,
    software,
    home: first ? { url: first.url, ts: first.snapshotAt || session.startedAt } : undefined,
    resources: all.map((f) => ({
      name: f.name.split("/").pop(),
      path: f.name,
      hash: `sha256:${sha256(f.data)}`,
      bytes: f.data.length,
    })),
  };
  const datapackageBytes = Buffer.from(`${JSON.stringify(datapackage, null, 2)}\n`);
  const hash = `sha256:${sha256(datapackageBytes)}`;
  let signedData: SignedData | IdentitySignedData;
  let timeSignatures: TimeSignature[];
  let tsaErrors: Array<{ tsa: string; message: string }>;
  if ("domainCert" in key) {
    ({
      signedData,
      timeSignatures,
      errors: tsaErrors,
    } = await signDatapackageHashWithIdentity(hash, key, software, opts.tsa ?? []));
  } else {
    signedData = signDatapackageHash(hash, key, software);
    ({ timeSignatures, errors: tsaErrors } = await timeSignSignature(signedData, opts.tsa ?? []));
  }
  const digestBytes = Buffer.from(
    `${JSON.stringify({ path: DATAPACKAGE, hash, signedData, ...(timeSignatures.length ? { timeSignatures } : {}) }, null, 2)}\n`,
  );
  const wacz = writeZip([
    ...all,
    { name: DATAPACKAGE, data: datapackageBytes, deflate: true },
    { name: DATAPACKAGE_DIGEST, data: digestBytes, deflate: true },
  ]);
  const rawResponseBytes = session.exchanges.reduce((n, x) => n + (x.body?.length ?? 0), 0);
  return { wacz, record, datapackageDigest: digestBytes, rawResponseBytes, timeSignatures, tsaErrors };
}

/** One file of the WACZ against its datapackage.json entry. */
export interface WaczFileCheck {
  path: string;
  ok: boolean;
  expected?: string;
  actual?: string;
  problem?: string;
}

/** Every offline check of a WACZ, and the first failure (`code`, `file`, `message`). */
export interface WaczVerification {
  ok: boolean;
  code?: ErrorCode;
  /** The file inside the WACZ at fault. */
  file?: string;
  message: string;
  datapackageHash: { ok: boolean; expected?: string; actual?: string };
  signature: {
    ok: boolean;
    reason?: string;
    curve?: string;
    /** The spec's signing mode: the capturer's own key, or a domain certificate's. */
    mode?: "anonymous" | "identity";
    /** Identity mode: the domain and its certificate (trust is checked by `verifyCapture`). */
    domain?: string;
    certificate?: { subject: string; issuer: string; validFrom: string; validTo: string; sha256: string };
    publicKeyFingerprint?: string;
    created?: string;
    software?: string;
    signedData?: SignedData | IdentitySignedData;
  };
  files: WaczFileCheck[];
  records: {
    file: string;
    count: number;
    ok: boolean;
    failures: Array<{ offset: number; type: string; uri?: string; problem: string }>;
  };
  index: { ok: boolean; lines: number; problem?: string };
  /** The `timeSignatures` of datapackage-digest.json as found (checked by `verifyCapture`). */
  timeSignatures?: unknown;
  /** SHA-256 and size of datapackage-digest.json: the subject of the anchor. */
  digestFile?: { sha256: string; size: number };
  record?: CaptureRecord;
}

/**
 * Re-checks a WACZ offline: datapackage-digest.json's hash of datapackage.json and its signature,
 * every file's SHA-256 and size against datapackage.json (and no file left out of it), every WARC
 * record's block and payload digests, every CDXJ line pointing at a record of its URL, and the
 * capture record's format. Never throws for a failed check.
 *
 * @example
 * const v = verifyWaczBytes(fs.readFileSync("capture.wacz"));
 * if (!v.ok) console.error(v.code, v.file, v.message);
 */
export function verifyWaczBytes(bytes: Buffer): WaczVerification {
  const v: WaczVerification = {
    ok: false,
    message: "",
    datapackageHash: { ok: false },
    signature: { ok: false },
    files: [],
    records: { file: WARC_PATH, count: 0, ok: false, failures: [] },
    index: { ok: false, lines: 0 },
  };
  const fail = (code: ErrorCode, file: string | undefined, message: string): WaczVerification => {
    if (!v.code) Object.assign(v, { code, file, message });
    v.ok = false;
    return v;
  };
  let entries: ReturnType<typeof readZip>;
  try {
    entries = readZip(bytes);
  } catch (e) {
    return fail("WACZ_INVALID", (e as ProofmarkError).details?.file as string | undefined, (e as Error).message);
  }
  const dp = entries.get(DATAPACKAGE);
  const dg = entries.get(DATAPACKAGE_DIGEST);
  if (!dp) return fail("WACZ_INVALID", DATAPACKAGE, "the WACZ has no datapackage.json");
  if (!dg) return fail("WACZ_INVALID", DATAPACKAGE_DIGEST, "the WACZ has no datapackage-digest.json: it is not signed");
  v.digestFile = { sha256: sha256(dg.data), size: dg.data.length };
  let digest: { path?: string; hash?: string; signedData?: SignedData | IdentitySignedData; timeSignatures?: unknown };
  try {
    digest = JSON.parse(dg.data.toString("utf8"));
  } catch {
    return fail("WACZ_FILE_MISMATCH", DATAPACKAGE_DIGEST, "datapackage-digest.json is not valid JSON: it was altered");
  }
  v.timeSignatures = digest.timeSignatures;
  const actualDp = `sha256:${sha256(dp.data)}`;
  v.datapackageHash = {
    ok: digest.path === DATAPACKAGE && digest.hash === actualDp,
    expected: digest.hash,
    actual: actualDp,
  };
  const identity = isIdentitySignedData(digest.signedData) ? checkIdentitySignature(digest.signedData) : undefined;
  const sig = identity ?? verifySignedData(digest.signedData);
  const signerKey = identity
    ? identity.publicKey
    : typeof (digest.signedData as SignedData | undefined)?.publicKey === "string"
      ? (digest.signedData as SignedData).publicKey
      : undefined;
  v.signature = {
    ok: sig.ok && digest.signedData?.hash === digest.hash,
    reason:
      sig.ok && digest.signedData?.hash !== digest.hash
        ? "signedData.hash differs from the digest file's hash"
        : sig.reason,
    mode: identity ? "identity" : "anonymous",
    ...(identity
      ? { domain: identity.domain, certificate: identity.certificate }
      : { curve: (sig as { curve?: string }).curve }),
    ...(digest.signedData
      ? {
          publicKeyFingerprint: signerKey ? publicKeyFingerprint(signerKey) : undefined,
          created: digest.signedData.created,
          software: digest.signedData.software,
          signedData: digest.signedData,
        }
      : {}),
  };
  if (!v.datapackageHash.ok)
    fail(
      "WACZ_FILE_MISMATCH",
      DATAPACKAGE,
      `datapackage.json does not match the hash in datapackage-digest.json (expected ${digest.hash}, is ${actualDp}): the file list was altered`,
    );
  if (!v.signature.ok)
    fail(
      (sig.ok ? undefined : identity?.code) ?? "WACZ_SIGNATURE_INVALID",
      DATAPACKAGE_DIGEST,
      `the signature in datapackage-digest.json does not hold: ${v.signature.reason}`,
    );
  let datapackage: { resources?: Array<{ path?: string; hash?: string; bytes?: number }> };
  try {
    datapackage = JSON.parse(dp.data.toString("utf8"));
  } catch {
    return fail("WACZ_FILE_MISMATCH", DATAPACKAGE, "datapackage.json is not valid JSON: it was altered");
  }
  const listed = new Set<string>();
  for (const r of datapackage.resources ?? []) {
    const p = String(r.path);
    listed.add(p);
    const entry = entries.get(p);
    const check: WaczFileCheck = { path: p, ok: false, expected: r.hash };
    if (!entry) check.problem = "listed in datapackage.json but missing from the WACZ";
    else {
      check.actual = `sha256:${sha256(entry.data)}`;
      if (check.actual !== r.hash) check.problem = "its SHA-256 differs from datapackage.json";
      else if (entry.data.length !== r.bytes)
        check.problem = `its size (${entry.data.length}) differs from datapackage.json (${r.bytes})`;
      else if (!entry.crcOk) check.problem = "its CRC-32 in the ZIP does not match its bytes";
      else check.ok = true;
    }
    v.files.push(check);
    if (!check.ok)
      fail(
        "WACZ_FILE_MISMATCH",
        p,
        `${p}: ${check.problem} (expected ${r.hash}${check.actual ? `, is ${check.actual}` : ""})`,
      );
  }
  for (const name of entries.keys()) {
    if (!listed.has(name) && name !== DATAPACKAGE && name !== DATAPACKAGE_DIGEST) {
      v.files.push({ path: name, ok: false, problem: "in the WACZ but not listed in datapackage.json" });
      fail(
        "WACZ_FILE_MISMATCH",
        name,
        `${name} is in the WACZ but not listed in datapackage.json: it was added after signing`,
      );
    }
  }
  const warc = entries.get(WARC_PATH);
  if (!warc) return fail("WACZ_INVALID", WARC_PATH, `the WACZ has no ${WARC_PATH}`);
  let records: ReturnType<typeof readWarc> = [];
  try {
    records = readWarc(warc.data, WARC_PATH);
  } catch (e) {
    v.records.failures.push({
      offset: ((e as ProofmarkError).details?.offset as number) ?? 0,
      type: "?",
      problem: (e as Error).message,
    });
    fail("WARC_DIGEST_MISMATCH", WARC_PATH, (e as Error).message);
  }
  v.records.count = records.length;
  for (const r of records) {
    const c = checkWarcRecord(r);
    if (!c.ok) {
      const what =
        c.block.expected !== c.block.actual
          ? `block digest ${c.block.expected ?? "(missing)"} ≠ ${c.block.actual}`
          : `payload digest ${c.payload?.expected ?? "(missing)"} ≠ ${c.payload?.actual}`;
      v.records.failures.push({ offset: r.offset, type: r.type, uri: r.targetUri, problem: what });
    }
  }
  v.records.ok = records.length > 0 && v.records.failures.length === 0;
  if (v.records.failures.length) {
    const f = v.records.failures[0];
    fail(
      "WARC_DIGEST_MISMATCH",
      WARC_PATH,
      `${WARC_PATH}: the ${f.type} record at byte ${f.offset}${f.uri ? ` (${f.uri})` : ""} fails its digest: ${f.problem}`,
    );
  }
  const cdxj = entries.get(CDXJ_PATH);
  if (!cdxj) fail("WACZ_INVALID", CDXJ_PATH, `the WACZ has no ${CDXJ_PATH}`);
  else {
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    const lines = cdxj.data.toString("utf8").split("\n").filter(Boolean);
    v.index.lines = lines.length;
    for (const line of lines) {
      const json = line.slice(line.indexOf("{"));
      let entry: { url?: string; offset?: string; length?: string };
      try {
        entry = JSON.parse(json);
      } catch {
        v.index.problem = `a line of ${CDXJ_PATH} is not CDXJ`;
        break;
      }
      const r = byOffset.get(Number(entry.offset));
      // warcio counts a record without its two closing CRLFs
      if (
        !r ||
        (r.length !== Number(entry.length) && r.length - 4 !== Number(entry.length)) ||
        r.targetUri !== entry.url
      ) {
        v.index.problem = `${CDXJ_PATH} points at byte ${entry.offset} for ${entry.url}, where the WARC has no such record`;
        break;
      }
    }
    v.index.ok = !v.index.problem && lines.length > 0;
    if (!v.index.ok) fail("WACZ_FILE_MISMATCH", CDXJ_PATH, v.index.problem ?? `${CDXJ_PATH} is empty`);
  }
  const rec = entries.get(RECORD_PATH);
  if (!rec) fail("WACZ_INVALID", RECORD_PATH, `the WACZ has no ${RECORD_PATH}`);
  else {
    try {
      const parsed = JSON.parse(rec.data.toString("utf8")) as CaptureRecord;
      if (parsed.format !== "proofmark-capture-record" || parsed.version !== 1) throw new Error("format");
      v.record = parsed;
    } catch {
      fail("WACZ_INVALID", RECORD_PATH, `${RECORD_PATH} is not a proofmark-capture-record v1`);
    }
  }
  if (!v.code) {
    v.ok = true;
    v.message = `the WACZ is intact: ${v.files.length} files match datapackage.json, ${v.records.count} WARC records match their digests, and datapackage-digest.json is signed by ${v.signature.mode === "identity" ? `the certificate of ${v.signature.domain}, ` : ""}key ${v.signature.publicKeyFingerprint?.slice(0, 16)}…`;
  }
  return v;
}

/**
 * The images a WACZ's capture record lists, with their bytes taken from the WARC response records
 * (each body checked against the SHA-256 the record gives). Images whose bytes are not in the WARC
 * (a `data:` URL, a body the browser no longer had) come with empty bytes. Check the WACZ first
 * ({@link verifyWaczBytes}): this only reads it.
 *
 * @example
 * const matches = await fingerprintImageMatcher(dataDir)(waczImages(fs.readFileSync("item.wacz")));
 */
export function waczImages(bytes: Buffer): Array<CapturedImage & { bytes: Buffer }> {
  const entries = readZip(bytes);
  const recordFile = entries.get("capture/record.json");
  if (!recordFile) throw new ProofmarkError("WACZ_INVALID", "the WACZ has no capture record (capture/record.json)");
  const record = JSON.parse(recordFile.data.toString("utf8")) as CaptureRecord;
  const bodies = new Map<string, Buffer>();
  for (const [name, entry] of entries) {
    if (!/^archive\/[^/]+\.warc$/.test(name)) continue;
    for (const r of readWarc(entry.data, name)) {
      if (r.type !== "response") continue;
      const split = r.block.indexOf("\r\n\r\n", 0, "latin1");
      if (split < 0) continue;
      const body = r.block.subarray(split + 4);
      bodies.set(sha256(body), Buffer.from(body));
    }
  }
  return record.images.map((image) => ({ ...image, bytes: bodies.get(image.sha256) ?? Buffer.alloc(0) }));
}

/** A file inside a WACZ (for the report: screenshot, record). */
export function readWaczEntry(bytes: Buffer, name: string): Buffer | undefined {
  try {
    return readZip(bytes).get(name)?.data;
  } catch {
    return undefined;
  }
}
