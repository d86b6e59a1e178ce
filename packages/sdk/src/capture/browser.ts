import { spawn, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { BrowserContext, CDPSession, Page } from "playwright-core";
import { ProofmarkError } from "../core/errors";
import { DevToolsConnection, type DevToolsChannel } from "./devtools";
import {
  browserBinaries,
  fingerprintBinary,
  observeHost,
  type BinaryFingerprint,
  type CleanCheck,
  type HostObservations,
} from "./environment";

/**
 * Drives Debian's Chromium (playwright-core, no downloaded browser) in a fresh, empty profile and
 * records, through the DevTools protocol, every HTTP exchange of each page (request and response
 * headers as sent and received, bodies as Chromium decoded them), the final DOM, a full-page PNG
 * screenshot, a PDF print, a HAR, the TLS certificate chain of every HTTPS origin, and optionally a
 * screencast. It observes the environment for the capture record. Nothing is injected into the
 * pages; the few read-only scripts run to read the page are kept verbatim in the record.
 */

export const DEFAULT_CHROMIUM = "/usr/bin/chromium";
/** The flags every Proofmark browser runs with (the same as the browser tests). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

export interface CaptureOptions {
  urls: string[];
  executablePath?: string;
  /** How long a page may take to load (ms, default 30 000); the capture then goes on and says so. */
  timeoutMs?: number;
  /** Quiet time to wait for after load, for scripts that change the page (ms, default 1 500). */
  settleMs?: number;
  /** Largest body kept per response (bytes, default 16 MiB); longer ones are kept truncated. */
  maxResponseBytes?: number;
  /** Record a screencast with ffmpeg. */
  video?: boolean;
  ffmpegPath?: string;
  /** The chain's latest block, read right before the capture (for the clock comparison). */
  chainClock?: () => Promise<ChainClock | undefined>;
  env?: NodeJS.ProcessEnv;
  /**
   * Certificates to accept although no trusted CA issued them, each as the base64 SHA-256 of its
   * SubjectPublicKeyInfo (Chromium's `--ignore-certificate-errors-spki-list`): a test site, or an
   * intranet server with its own CA. The capture record says so: the clean-environment check
   * "normal-certificate-checks" then fails, naming the pins.
   */
  trustCertificateSpki?: string[];
  onProgress?: (text: string) => void;
}

export interface ChainClock {
  chainId: number;
  blockNumber: number;
  /** The block's timestamp (Unix seconds). */
  timestamp: number;
}

/** One HTTP exchange as the browser saw it. */
export interface Exchange {
  page: number;
  url: string;
  method: string;
  /** ISO time the request was sent. */
  date: string;
  requestHeaders: Array<[string, string]>;
  requestBody?: Buffer;
  httpVersion: string;
  status?: number;
  statusText?: string;
  responseHeaders?: Array<[string, string]>;
  mimeType?: string;
  remoteIp?: string;
  remotePort?: number;
  body?: Buffer;
  /**
   * Why the body is shorter than what the server sent: "length" (bounded), "time" (never finished),
   * "unspecified" (Chromium no longer had it, e.g. the page navigated away at once).
   */
  truncated?: "length" | "time" | "unspecified";
  /** Bytes received for the body, when truncated. */
  receivedBytes?: number;
  fromCache?: boolean;
  /** The response was served by a service worker (its own fetch, if any, is a separate exchange). */
  fromServiceWorker?: boolean;
  /**
   * Who made the request when it was not the page's own frame: a cross-site (out-of-process) iframe,
   * a worker, or a service worker (whose requests are given to the page being captured then).
   */
  target?: { type: string; url?: string };
  /** The response was a redirect (its Location was followed by another exchange). */
  redirect?: boolean;
  /** Chromium's timing of the exchange (DevTools `Network.ResourceTiming`), when it gave one. */
  timing?: ResourceTiming;
  /** When the body finished loading (DevTools monotonic seconds, the clock of `timing.requestTime`). */
  finishedAt?: number;
}

/**
 * DevTools `Network.ResourceTiming`: `requestTime` in monotonic seconds, every other field in
 * milliseconds after it, -1 when the phase did not happen (a reused connection has no DNS or connect).
 */
export interface ResourceTiming {
  requestTime: number;
  dnsStart: number;
  dnsEnd: number;
  connectStart: number;
  connectEnd: number;
  sslStart: number;
  sslEnd: number;
  sendStart: number;
  sendEnd: number;
  receiveHeadersEnd: number;
}

export interface FailedRequest {
  page: number;
  url: string;
  method: string;
  error: string;
  blockedReason?: string;
  canceled?: boolean;
}

export interface PageCapture {
  index: number;
  url: string;
  finalUrl: string;
  title: string;
  /** The page's visible text (innerText of the body) at snapshot time. */
  text: string;
  loadedAt?: string;
  /** True when the page had not fired `load` before the time limit. */
  loadTimedOut: boolean;
  /** Main-frame navigations after the first (pages that navigate away). */
  navigations: Array<{ url: string; at: string }>;
  /** Windows the page opened (pop-ups); each was closed without being captured. */
  popups: Array<{ url: string; at: string }>;
  /** Resources that are not network exchanges (data: and blob: URLs), seen in the DOM or the network log. */
  localResources: Array<{ url: string; kind: "data" | "blob"; sha256?: string; size?: number }>;
  dom: Buffer;
  screenshot?: Buffer;
  pdf?: Buffer;
  snapshotAt: string;
  errors: string[];
}

export interface TlsOrigin {
  origin: string;
  protocol?: string;
  cipher?: string;
  subjectName?: string;
  issuer?: string;
  validFrom?: number;
  validTo?: number;
  sanList?: string[];
  signedCertificateTimestampList?: unknown[];
  certificateTransparencyCompliance?: string;
  /** The certificate chain, leaf first, PEM. */
  chain: string[];
  error?: string;
}

/** A script run in a captured page, verbatim, and where. */
/** A script a service or shared worker ran, as its JavaScript engine compiled it. */
export interface WorkerScript {
  page: number;
  /** The worker that ran it (its type and its own script URL). */
  target: { type: string; url: string };
  url: string;
  /** When its source was read. */
  at: string;
  source: string;
}

export interface ScriptRun {
  page: number;
  world: "page" | "utility";
  source: string;
  purpose: string;
}

export interface BrowserObservations {
  executablePath: string;
  version: string;
  userAgent: string;
  /** The browser's own command line (DevTools `Browser.getBrowserCommandLine`), when it answers. */
  commandLine?: string[];
  binaries: BinaryFingerprint[];
  profile: { path: string; entriesBeforeLaunch: number };
  extensionTargets: string[];
}

export interface CaptureSession {
  startedAt: string;
  endedAt: string;
  pages: PageCapture[];
  exchanges: Exchange[];
  failed: FailedRequest[];
  tls: TlsOrigin[];
  /** The targets attached besides the pages: cross-site iframes, workers, service workers. */
  targets: Array<{ page: number; type: string; url: string }>;
  /**
   * The scripts service and shared workers ran, as V8 compiled them (DevTools
   * `Debugger.getScriptSource` on the worker, attached before it ran): the browser fetches a
   * worker's own script before any DevTools session sees the request, so its HTTP response
   * (status, headers, raw bytes) cannot be recorded — its source text can.
   */
  workerScripts: WorkerScript[];
  video?: { bytes: Buffer; frames: number; error?: string } | { error: string };
  scripts: ScriptRun[];
  host: HostObservations;
  browser: BrowserObservations;
  clock: { machineTime: string; chain?: ChainClock & { offsetSeconds: number }; error?: string };
  clean: CleanCheck[];
  limits: { timeoutMs: number; settleMs: number; maxResponseBytes: number };
  tool: { playwrightCore: string; node: string };
}

const TEXT_SCRIPT = '() => (document.body ? document.body.innerText : "")';
const LOCAL_RESOURCES_SCRIPT =
  '() => Array.from(document.querySelectorAll("[src],[href]")).map((e) => e.currentSrc || e.getAttribute("src") || e.getAttribute("href") || "").filter((u) => /^(data|blob):/i.test(u))';

/** Browser-wide: service and shared workers (they outlive pages; their requests are recorded too). */
const BROWSER_AUTO_ATTACH = {
  autoAttach: true,
  waitForDebuggerOnStart: true,
  flatten: true,
  filter: [{ type: "service_worker" }, { type: "shared_worker" }],
};
/** Per page and per iframe: out-of-process iframes and dedicated workers (service workers above). */
const PAGE_AUTO_ATTACH = {
  autoAttach: true,
  waitForDebuggerOnStart: true,
  flatten: true,
  filter: [
    { type: "service_worker", exclude: true },
    { type: "shared_worker", exclude: true },
    { type: "browser", exclude: true },
    { type: "tab", exclude: true },
    {},
  ],
};

/**
 * Reads every script a worker compiles (its own script, importScripts) through its Debugger domain,
 * enabled before the worker runs; no breakpoint is set, so nothing pauses and nothing is injected.
 */
async function readWorkerScripts(
  ch: DevToolsChannel,
  session: Pick<CaptureSession, "workerScripts">,
  page: number,
  target: { type: string; url?: string },
): Promise<void> {
  const seen = new Set<string>();
  ch.on("Debugger.scriptParsed", (e: { scriptId: string; url: string }) => {
    if (!/^https?:/i.test(e.url) || seen.has(e.url)) return;
    seen.add(e.url);
    ch.send("Debugger.getScriptSource", { scriptId: e.scriptId })
      .then((r: { scriptSource: string }) =>
        session.workerScripts.push({
          page,
          target: { type: target.type, url: target.url ?? "" },
          url: e.url,
          at: new Date().toISOString(),
          source: r.scriptSource,
        }),
      )
      .catch(() => undefined);
  });
  await ch.send("Debugger.enable", {});
}

function headerPairs(headers: Record<string, string> | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const [k, v] of Object.entries(headers ?? {})) for (const part of String(v).split("\n")) out.push([k, part]);
  return out;
}

/**
 * The bound on one browser step that has no time limit of its own (opening a page, a DevTools
 * session): a browser that stops answering fails the capture with the step named, never hangs it.
 */
const BROWSER_STEP_TIMEOUT_MS = 30_000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Captures the URLs, one after the other, in one fresh browser profile.
 *
 * @example
 * const session = await captureUrls({ urls: ["https://shop.example/item/1"], video: true });
 */
export async function captureUrls(opts: CaptureOptions): Promise<CaptureSession> {
  const executablePath = opts.executablePath ?? DEFAULT_CHROMIUM;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const settleMs = opts.settleMs ?? 1_500;
  const maxResponseBytes = opts.maxResponseBytes ?? 16 * 1024 * 1024;
  const env = opts.env ?? process.env;
  for (const u of opts.urls) {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `"${u}" is not a URL; give the page's full address, e.g. https://shop.example/item/1`,
        { url: u },
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new ProofmarkError("INVALID_ARGUMENT", `${u}: only http and https pages can be captured`, { url: u });
  }
  if (!fs.existsSync(executablePath)) {
    throw new ProofmarkError(
      "CAPTURE_FAILED",
      `no browser at ${executablePath}; install Debian's chromium (apt-get install -y chromium)`,
      { executablePath },
    );
  }
  const host = observeHost(env);
  // Done while the browser starts and pages load (they do not depend on each other): the browser
  // binary's SHA-256 (~300 MB for Debian's Chromium) and the chain's clock (the machine's time is
  // taken when the block arrives, so the two are compared at the same moment).
  const binariesHashed = Promise.all(browserBinaries(executablePath).map(fingerprintBinary));
  const clock: CaptureSession["clock"] = { machineTime: new Date().toISOString() };
  const clockRead = (async () => {
    try {
      const c = await opts.chainClock?.();
      const machineNow = new Date();
      clock.machineTime = machineNow.toISOString();
      if (c)
        clock.chain = { ...c, offsetSeconds: Math.round((machineNow.getTime() / 1000 - c.timestamp) * 1000) / 1000 };
    } catch (e) {
      clock.error = (e as Error).message;
    }
  })();

  const work = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-capture-"));
  const profile = path.join(work, "profile");
  fs.mkdirSync(profile);
  const entriesBeforeLaunch = fs.readdirSync(profile).length;
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  const startedAt = new Date().toISOString();
  opts.onProgress?.("starting Chromium");
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      // the second DevTools connection (loopback, a free port): see ./devtools.ts
      args: [
        ...CHROMIUM_ARGS,
        "--remote-debugging-port=0",
        ...(opts.trustCertificateSpki?.length
          ? [`--ignore-certificate-errors-spki-list=${opts.trustCertificateSpki.join(",")}`]
          : []),
      ],
      headless: true,
      viewport: { width: 1280, height: 900 },
      env: env as Record<string, string>,
    });
  } catch (e) {
    fs.rmSync(work, { recursive: true, force: true });
    throw new ProofmarkError(
      "CAPTURE_FAILED",
      `Chromium (${executablePath}) did not start: ${(e as Error).message.split("\n")[0]}`,
      { executablePath },
    );
  }

  const session: Omit<CaptureSession, "endedAt" | "browser" | "clean"> = {
    startedAt,
    targets: [],
    workerScripts: [],
    pages: [],
    exchanges: [],
    failed: [],
    tls: [],
    scripts: [],
    host,
    clock,
    limits: { timeoutMs, settleMs, maxResponseBytes },
    tool: {
      playwrightCore: (require("playwright-core/package.json") as { version: string }).version,
      node: process.version,
    },
  };
  const video = opts.video ? startVideo(opts.ffmpegPath ?? "ffmpeg", work) : undefined;
  const closePopup = (pc: PageCapture) => (p: Page) => {
    // a pop-up: record where it went, then close it (it is not part of the capture)
    const popup = { url: p.url(), at: new Date().toISOString() };
    pc.popups.push(popup);
    p.waitForLoadState("domcontentloaded", { timeout: 2_000 })
      .catch(() => undefined)
      .then(() => {
        popup.url = p.url();
        return p.close();
      })
      .catch(() => undefined);
  };

  let browserInfo: BrowserObservations | undefined;
  let devtools: DevToolsConnection | undefined;
  const recorder = new NetworkRecorder(maxResponseBytes, session);
  try {
    devtools = await DevToolsConnection.open(profile);
    const dt = devtools;
    const attached = new Set<string>();
    // every target a page spawns (cross-site iframes, workers) and every service worker: Network
    // enabled before it runs (waitForDebuggerOnStart), then resumed
    const autoAttach = (sessionId: string | undefined) => {
      dt.channel(sessionId).on(
        "Target.attachedToTarget",
        (e: { sessionId: string; targetInfo: { targetId: string; type: string; url: string } }) => {
          const ch = dt.channel(e.sessionId);
          const info = e.targetInfo;
          const fresh = !attached.has(info.targetId);
          attached.add(info.targetId);
          if (fresh) session.targets.push({ page: recorder.page, type: info.type, url: info.url });
          const target = { type: info.type, ...(info.url ? { url: info.url } : {}) };
          const worker = fresh && /^(service|shared)_worker$/.test(info.type);
          void (fresh ? recorder.attach(ch, target) : Promise.resolve())
            .then(() => (worker ? readWorkerScripts(ch, session, recorder.page, target) : undefined))
            .then(() => (info.type === "iframe" ? ch.send("Target.setAutoAttach", PAGE_AUTO_ATTACH) : undefined))
            .catch(() => undefined)
            .finally(() => ch.send("Runtime.runIfWaitingForDebugger").catch(() => undefined));
          if (fresh && info.type === "iframe") autoAttach(e.sessionId);
        },
      );
    };
    autoAttach(undefined);
    await dt.send("Target.setAutoAttach", BROWSER_AUTO_ATTACH);
    for (let i = 0; i < opts.urls.length; i++) {
      const url = opts.urls[i];
      opts.onProgress?.(`capturing ${url}`);
      const page = await withTimeout(context.newPage(), BROWSER_STEP_TIMEOUT_MS, "opening a page");
      const cdp = await withTimeout(context.newCDPSession(page), BROWSER_STEP_TIMEOUT_MS, "a DevTools session");
      recorder.page = i;
      const { targetInfo } = (await withTimeout(
        cdp.send("Target.getTargetInfo"),
        BROWSER_STEP_TIMEOUT_MS,
        "reading the page's target",
      )) as { targetInfo: { targetId: string } };
      const { sessionId: pageSession } = await dt.send<{ sessionId: string }>("Target.attachToTarget", {
        targetId: targetInfo.targetId,
        flatten: true,
      });
      if (!browserInfo)
        browserInfo = await withTimeout(
          observeBrowser(context, executablePath, profile, entriesBeforeLaunch),
          BROWSER_STEP_TIMEOUT_MS,
          "reading the browser's version and command line",
        );
      const pc: PageCapture = {
        index: i,
        url,
        finalUrl: url,
        title: "",
        text: "",
        loadTimedOut: false,
        navigations: [],
        popups: [],
        localResources: [],
        dom: Buffer.alloc(0),
        snapshotAt: "",
        errors: [],
      };
      session.pages.push(pc);
      page.on("popup", closePopup(pc));
      await recorder.attach(dt.channel(pageSession));
      autoAttach(pageSession);
      await dt.send("Target.setAutoAttach", PAGE_AUTO_ATTACH, pageSession);
      if (video) await withTimeout(video.attach(cdp), BROWSER_STEP_TIMEOUT_MS, "starting the screencast");
      let first = true;
      page.on("framenavigated", (f) => {
        if (f !== page.mainFrame()) return;
        if (first) first = false;
        else pc.navigations.push({ url: f.url(), at: new Date().toISOString() });
      });
      page.on("pageerror", (e) => pc.errors.push(String(e).slice(0, 500)));
      try {
        await page.goto(url, { waitUntil: "load", timeout: timeoutMs });
        pc.loadedAt = new Date().toISOString();
      } catch (e) {
        if ((e as Error).name === "TimeoutError" || /Timeout/.test((e as Error).message)) pc.loadTimedOut = true;
        else pc.errors.push(`navigation failed: ${(e as Error).message.split("\n")[0]}`);
      }
      await page.waitForLoadState("networkidle", { timeout: pc.loadTimedOut ? 1 : settleMs }).catch(() => undefined);
      if (video)
        await withTimeout(video.detach(cdp), BROWSER_STEP_TIMEOUT_MS, "stopping the screencast").catch(() => undefined);
      pc.snapshotAt = new Date().toISOString();
      pc.finalUrl = page.url();
      const run = async <T>(source: string, purpose: string): Promise<T | undefined> => {
        session.scripts.push({ page: i, world: "page", source, purpose });
        try {
          return (await withTimeout(page.evaluate(`(${source})()`), 10_000, purpose)) as T;
        } catch (e) {
          pc.errors.push(`${purpose}: ${(e as Error).message.split("\n")[0]}`);
          return undefined;
        }
      };
      pc.title = (await withTimeout(page.title(), 10_000, "reading the title").catch(() => "")) ?? "";
      pc.text = (await run<string>(TEXT_SCRIPT, "read the page's visible text")) ?? "";
      for (const u of (await run<string[]>(
        LOCAL_RESOURCES_SCRIPT,
        "list data: and blob: resources referenced by the DOM",
      )) ?? []) {
        const kind = /^data:/i.test(u) ? "data" : "blob";
        if (pc.localResources.some((r) => r.url === u)) continue;
        pc.localResources.push({
          url: u.length > 300 ? `${u.slice(0, 300)}…` : u,
          kind,
          ...(kind === "data" ? dataUrlDigest(u) : {}),
        });
      }
      try {
        pc.dom = Buffer.from(await withTimeout(page.content(), 15_000, "reading the DOM"), "utf8");
      } catch (e) {
        pc.errors.push(`DOM: ${(e as Error).message.split("\n")[0]}`);
      }
      try {
        pc.screenshot = await withTimeout(
          page.screenshot({ fullPage: true, timeout: 20_000 }),
          25_000,
          "the screenshot",
        );
      } catch (e) {
        pc.errors.push(`screenshot: ${(e as Error).message.split("\n")[0]}`);
      }
      try {
        pc.pdf = await withTimeout(page.pdf({ printBackground: true }), 30_000, "the PDF print");
      } catch (e) {
        pc.errors.push(`PDF: ${(e as Error).message.split("\n")[0]}`);
      }
      await recorder.finish();
      for (const r of recorder.localUrls.splice(0)) {
        if (!pc.localResources.some((x) => x.url === r.url)) pc.localResources.push(r);
      }
      await dt.send("Target.detachFromTarget", { sessionId: pageSession }).catch(() => undefined);
      await withTimeout(cdp.detach(), 10_000, "detaching").catch(() => undefined);
      await withTimeout(page.close({ runBeforeUnload: false }), 15_000, "closing the page").catch(() => undefined);
    }
  } finally {
    devtools?.close();
    // bounded: the browser (started here, found by its profile folder) is killed if it does not close
    await withTimeout(context.close(), 30_000, "closing the browser").catch(() => killBrowser(profile));
  }
  const endedAt = new Date().toISOString();
  const videoResult = video ? await video.finish() : undefined;
  fs.rmSync(work, { recursive: true, force: true });
  const browser = browserInfo ?? {
    executablePath,
    version: "",
    userAgent: "",
    binaries: [],
    profile: { path: profile, entriesBeforeLaunch },
    extensionTargets: [],
  };
  browser.binaries = await binariesHashed;
  await clockRead;
  const result: CaptureSession = { ...session, endedAt, video: videoResult, browser, clean: [] };
  result.clean = cleanChecklist(result);
  return result;
}

function dataUrlDigest(u: string): { sha256?: string; size?: number } {
  const m = /^data:([^,]*?)(;base64)?,(.*)$/is.exec(u);
  if (!m) return {};
  const bytes = m[2] ? Buffer.from(m[3], "base64") : Buffer.from(decodeURIComponent(m[3]), "utf8");
  return { sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
}

async function observeBrowser(
  context: BrowserContext,
  executablePath: string,
  profile: string,
  entriesBeforeLaunch: number,
): Promise<BrowserObservations> {
  const browser = context.browser();
  const cdp = browser ? await browser.newBrowserCDPSession() : undefined;
  const v = cdp
    ? ((await cdp.send("Browser.getVersion")) as { product: string; userAgent: string })
    : { product: browser?.version() ?? "", userAgent: "" };
  let commandLine: string[] | undefined;
  let targets: Array<{ type: string; url: string }> = [];
  if (cdp) {
    commandLine = await cdp.send("Browser.getBrowserCommandLine" as never).then(
      (r) => (r as { arguments: string[] }).arguments,
      () => processCommandLine(profile),
    );
    targets = await cdp.send("Target.getTargets").then(
      (r) => (r as { targetInfos: Array<{ type: string; url: string }> }).targetInfos,
      () => [],
    );
    await cdp.detach().catch(() => undefined);
  }
  return {
    executablePath,
    version: v.product,
    userAgent: v.userAgent,
    commandLine,
    binaries: [],
    profile: { path: profile, entriesBeforeLaunch },
    extensionTargets: targets.filter((t) => t.url.startsWith("chrome-extension://")).map((t) => `${t.type} ${t.url}`),
  };
}

/** Kills the browser processes started with `profile` (they were started by this capture). */
function killBrowser(profile: string): void {
  for (const pid of browserPids(profile)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

function browserPids(profile: string): number[] {
  const pids: number[] = [];
  try {
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(`--user-data-dir=${profile}`))
          pids.push(Number(pid));
      } catch {
        continue;
      }
    }
  } catch {
    // no /proc
  }
  return pids;
}

/** The command line of the browser process using `profile`, as the kernel reports it (/proc). */
function processCommandLine(profile: string): string[] | undefined {
  try {
    for (const pid of fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let args: string[];
      try {
        args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      } catch {
        continue;
      }
      if (args.includes(`--user-data-dir=${profile}`) && !args.some((a) => a.startsWith("--type="))) return args;
    }
  } catch {
    // no /proc: the command line stays unreported
  }
  return undefined;
}

/** The clean-environment checklist, from what was observed (never from what was intended). */
export function cleanChecklist(s: Pick<CaptureSession, "browser" | "host" | "exchanges" | "scripts">): CleanCheck[] {
  const cmd = s.browser.commandLine;
  const proxyFlags = (cmd ?? []).filter((a) => /^--(proxy-server|proxy-pac-url|proxy-auto-detect)/.test(a));
  const proxyEnv = Object.entries(s.host.proxyEnv);
  const cached = s.exchanges.filter((e) => e.fromCache);
  const extensionFlag = cmd?.includes("--disable-extensions");
  return [
    {
      item: "fresh-profile",
      ok: s.browser.profile.entriesBeforeLaunch === 0,
      observed: `the profile folder was created for this capture and held ${s.browser.profile.entriesBeforeLaunch} entries when Chromium started`,
    },
    {
      item: "no-extensions",
      ok: s.browser.extensionTargets.length === 0 && extensionFlag !== false,
      observed: `${s.browser.extensionTargets.length} extension target(s) running${s.browser.extensionTargets.length ? `: ${s.browser.extensionTargets.join(", ")}` : ""}; command line ${cmd ? (extensionFlag ? "has --disable-extensions" : "does NOT have --disable-extensions") : "not reported by the browser"}`,
    },
    {
      item: "empty-cache",
      ok: s.browser.profile.entriesBeforeLaunch === 0 && cached.length === 0,
      observed: `the profile (and so its cache) was empty at launch; ${cached.length} response(s) came from a cache${
        cached.length
          ? `: ${cached
              .slice(0, 5)
              .map((e) => e.url)
              .join(", ")}`
          : ""
      }`,
    },
    {
      item: "no-proxy",
      ok: proxyEnv.length === 0 && proxyFlags.length === 0,
      observed: `${proxyEnv.length ? `proxy variables SET in the environment: ${proxyEnv.map(([k, v]) => `${k}=${v}`).join(", ")}` : "no proxy variable in the environment"}; ${cmd ? (proxyFlags.length ? `Chromium flags: ${proxyFlags.join(" ")}` : "no proxy flag on Chromium's command line") : "Chromium's command line not reported"}`,
    },
    {
      item: "normal-certificate-checks",
      ok: !(cmd ?? []).some((a) => a.startsWith("--ignore-certificate-errors")),
      observed: cmd
        ? (cmd ?? []).filter((a) => a.startsWith("--ignore-certificate-errors")).join(" ") ||
          "no flag on Chromium's command line relaxes certificate checks"
        : "Chromium's command line not reported",
    },
    {
      item: "no-injected-page-scripts",
      ok: s.scripts.every((x) => x.world !== "page" || /^\(\) => /.test(x.source)),
      observed: `${s.scripts.length} read-only script(s) were run in the pages after they loaded, each kept verbatim in the record; none was added before or during loading`,
    },
  ];
}

/**
 * Records the network exchanges of the capture through every DevTools session attached to it: the
 * page's, its out-of-process iframes' and workers', and the browser's service workers. A request can
 * start in one session and finish in another (a cross-site iframe's document: sent by the parent,
 * finished by the iframe), so the exchanges in flight are kept by request id across sessions, and
 * each body is read from the session that saw the request finish.
 */
class NetworkRecorder {
  /** The page the exchanges seen now belong to. */
  page = 0;
  private readonly live = new Map<
    string,
    Exchange & { received: number; finished: boolean; streaming?: Promise<void>; channel: DevToolsChannel }
  >();
  private readonly pending: Array<Promise<unknown>> = [];
  private readonly extraRequest = new Map<string, Array<[string, string]>>();
  private readonly extraResponse = new Map<
    string,
    { headers: Array<[string, string]>; statusCode: number; headersText?: string }
  >();
  private readonly tlsOrigins = new Set<string>();
  readonly localUrls: PageCapture["localResources"] = [];

  constructor(
    private readonly max: number,
    private readonly session: { exchanges: Exchange[]; failed: FailedRequest[]; tls: TlsOrigin[] },
  ) {}

  /** Listens to a session's Network events and enables them; `target` names a page's sub-target. */
  async attach(ch: DevToolsChannel, target?: Exchange["target"]): Promise<void> {
    type E = Record<string, never>;
    ch.on("Network.requestWillBeSent", (e: E) => this.onRequest(e as never, ch, target));
    ch.on("Network.requestWillBeSentExtraInfo", (e: E) =>
      this.extraRequest.set(e.requestId, headerPairs(e.headers as Record<string, string>)),
    );
    ch.on("Network.responseReceivedExtraInfo", (e: E) =>
      this.extraResponse.set(e.requestId, {
        headers: headerPairs(e.headers as Record<string, string>),
        statusCode: e.statusCode,
        headersText: e.headersText,
      }),
    );
    ch.on("Network.responseReceived", (e: E) => this.onResponse(e as never, ch));
    ch.on("Network.dataReceived", (e: E) => this.onData(e.requestId, e.dataLength, e.data, ch));
    ch.on("Network.loadingFinished", (e: E) => this.onFinished(e.requestId, ch, e.timestamp as number | undefined));
    ch.on("Network.loadingFailed", (e: E) => this.onFailed(e as never));
    await ch.send("Network.enable", {
      maxTotalBufferSize: 256 * 1024 * 1024,
      maxResourceBufferSize: Math.max(this.max, 64 * 1024 * 1024),
    });
  }

  private onRequest(
    e: {
      requestId: string;
      request: {
        url: string;
        method: string;
        headers: Record<string, string>;
        postData?: string;
        postDataEntries?: Array<{ bytes?: string }>;
      };
      redirectResponse?: {
        status: number;
        statusText: string;
        headers: Record<string, string>;
        remoteIPAddress?: string;
        remotePort?: number;
        protocol?: string;
        timing?: ResourceTiming;
      };
      wallTime: number;
      timestamp?: number;
    },
    ch: DevToolsChannel,
    target?: Exchange["target"],
  ): void {
    const url = e.request.url;
    if (/^(data|blob):/i.test(url)) {
      if (!this.localUrls.some((r) => r.url === url))
        this.localUrls.push({
          url: url.length > 300 ? `${url.slice(0, 300)}…` : url,
          kind: /^data:/i.test(url) ? "data" : "blob",
        });
      return;
    }
    const previous = this.live.get(e.requestId);
    if (previous && e.redirectResponse) {
      const r = e.redirectResponse;
      const extra = this.extraResponse.get(e.requestId);
      Object.assign(previous, {
        status: r.status,
        statusText: r.statusText,
        responseHeaders: extra?.headers ?? headerPairs(r.headers),
        remoteIp: r.remoteIPAddress,
        remotePort: r.remotePort,
        httpVersion: httpVersion(r.protocol),
        ...(r.timing ? { timing: r.timing } : {}),
        ...(e.timestamp !== undefined ? { finishedAt: e.timestamp } : {}),
        body: Buffer.alloc(0),
        redirect: true,
        finished: true,
      });
      this.extraResponse.delete(e.requestId);
      this.session.exchanges.push(previous);
    }
    const body = e.request.postDataEntries?.length
      ? Buffer.concat(e.request.postDataEntries.map((p) => Buffer.from(p.bytes ?? "", "base64")))
      : e.request.postData !== undefined
        ? Buffer.from(e.request.postData, "utf8")
        : undefined;
    this.live.set(e.requestId, {
      page: this.page,
      ...(target ? { target } : {}),
      channel: ch,
      url,
      method: e.request.method,
      date: new Date(e.wallTime * 1000).toISOString(),
      requestHeaders: headerPairs(e.request.headers),
      requestBody: body,
      httpVersion: "HTTP/1.1",
      received: 0,
      finished: false,
    });
  }

  private onResponse(
    e: {
      requestId: string;
      response: {
        url: string;
        status: number;
        statusText: string;
        headers: Record<string, string>;
        mimeType: string;
        remoteIPAddress?: string;
        remotePort?: number;
        protocol?: string;
        fromDiskCache?: boolean;
        fromPrefetchCache?: boolean;
        fromServiceWorker?: boolean;
        securityDetails?: Record<string, unknown>;
        timing?: ResourceTiming;
      };
    },
    ch: DevToolsChannel,
  ): void {
    const x = this.live.get(e.requestId);
    if (!x) return;
    x.channel = ch;
    const r = e.response;
    const extra = this.extraResponse.get(e.requestId);
    const extraReq = this.extraRequest.get(e.requestId);
    if (extraReq) x.requestHeaders = extraReq;
    Object.assign(x, {
      status: r.status,
      statusText: r.statusText || extra?.headersText?.match(/^HTTP\/[\d.]+ \d+ ?(.*)\r?\n/)?.[1] || "",
      responseHeaders: extra?.headers ?? headerPairs(r.headers),
      mimeType: r.mimeType,
      remoteIp: r.remoteIPAddress,
      remotePort: r.remotePort,
      httpVersion: httpVersion(r.protocol),
      fromCache: Boolean(r.fromDiskCache || r.fromPrefetchCache),
      ...(r.fromServiceWorker ? { fromServiceWorker: true } : {}),
      ...(r.timing ? { timing: r.timing } : {}),
    });
    if (r.securityDetails) {
      const origin = new URL(r.url).origin;
      if (!this.tlsOrigins.has(origin)) {
        this.tlsOrigins.add(origin);
        this.pending.push(this.recordTls(origin, r.securityDetails, ch));
      }
    }
  }

  private async recordTls(origin: string, d: Record<string, unknown>, ch: DevToolsChannel): Promise<void> {
    const entry: TlsOrigin = {
      origin,
      protocol: d.protocol as string,
      cipher: d.cipher as string,
      subjectName: d.subjectName as string,
      issuer: d.issuer as string,
      validFrom: d.validFrom as number,
      validTo: d.validTo as number,
      sanList: d.sanList as string[],
      signedCertificateTimestampList: d.signedCertificateTimestampList as unknown[],
      certificateTransparencyCompliance: d.certificateTransparencyCompliance as string,
      chain: [],
    };
    try {
      const { tableNames } = (await ch.send("Network.getCertificate", { origin })) as { tableNames: string[] };
      entry.chain = tableNames.map(
        (der) => `-----BEGIN CERTIFICATE-----\n${der.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`,
      );
    } catch (e) {
      entry.error = (e as Error).message;
    }
    this.session.tls.push(entry);
  }

  private onData(requestId: string, length: number, data: string | undefined, ch: DevToolsChannel): void {
    const x = this.live.get(requestId);
    if (!x) return;
    x.channel = ch;
    x.received += length;
    if (data && x.streaming && (x.body?.length ?? 0) < this.max) {
      // streamed data after Network.streamResourceContent: kept up to the bound
      x.body = Buffer.concat([x.body ?? Buffer.alloc(0), Buffer.from(data, "base64")]).subarray(0, this.max);
    }
    if (x.received > this.max && !x.streaming) {
      // Bounded: keep the first `max` bytes Chromium has buffered, and record the body as truncated.
      x.truncated = "length";
      x.streaming = ch
        .send("Network.streamResourceContent", { requestId })
        .then((r) => {
          x.body = Buffer.concat([
            Buffer.from((r as { bufferedData: string }).bufferedData, "base64"),
            x.body ?? Buffer.alloc(0),
          ]).subarray(0, this.max);
        })
        .catch(() => undefined);
      this.pending.push(x.streaming);
    }
  }

  private onFinished(requestId: string, ch: DevToolsChannel, timestamp?: number): void {
    const x = this.live.get(requestId);
    if (!x || x.finished) return;
    x.channel = ch;
    if (timestamp !== undefined) x.finishedAt = timestamp;
    x.finished = true;
    this.live.delete(requestId);
    // the raw headers (with Set-Cookie) may arrive after responseReceived
    const extra = this.extraResponse.get(requestId);
    if (extra) x.responseHeaders = extra.headers;
    const extraReq = this.extraRequest.get(requestId);
    if (extraReq) x.requestHeaders = extraReq;
    this.session.exchanges.push(x);
    if (x.truncated) x.receivedBytes = x.received;
    const streamed = x.streaming;
    this.pending.push(
      (streamed ?? Promise.resolve())
        .then(() => {
          // a truncated body already streamed is kept as it is; otherwise the body Chromium buffered
          if (x.truncated && (x.body?.length ?? 0) > 0) return;
          return ch
            .send("Network.getResponseBody", { requestId })
            .then((r: { body: string; base64Encoded: boolean }) => {
              const body = r.base64Encoded ? Buffer.from(r.body, "base64") : Buffer.from(r.body, "utf8");
              x.body = x.truncated ? body.subarray(0, this.max) : body;
            });
        })
        .catch(() => {
          x.body = x.body ?? Buffer.alloc(0);
          x.truncated = x.truncated ?? "unspecified";
        }),
    );
  }

  private onFailed(e: { requestId: string; errorText: string; canceled?: boolean; blockedReason?: string }): void {
    const x = this.live.get(e.requestId);
    if (!x) return;
    this.live.delete(e.requestId);
    this.session.failed.push({
      page: this.page,
      url: x.url,
      method: x.method,
      error: e.errorText,
      ...(e.blockedReason ? { blockedReason: e.blockedReason } : {}),
      ...(e.canceled ? { canceled: true } : {}),
    });
  }

  /** Waits for the bodies, and records exchanges still open (never finished) as truncated in time. */
  async finish(): Promise<void> {
    for (const [requestId, x] of this.live) {
      if (x.status === undefined) {
        this.session.failed.push({
          page: this.page,
          url: x.url,
          method: x.method,
          error: "no response before the capture ended",
        });
        continue;
      }
      x.truncated = x.truncated ?? "time";
      x.receivedBytes = x.received;
      if (!x.streaming) {
        this.pending.push(
          x.channel
            .send("Network.streamResourceContent", { requestId })
            .then((r) => {
              x.body = Buffer.from((r as { bufferedData: string }).bufferedData, "base64").subarray(0, this.max);
            })
            .catch(() => {
              x.body = Buffer.alloc(0);
            }),
        );
      }
      this.session.exchanges.push(x);
    }
    this.live.clear();
    await Promise.allSettled(this.pending);
    for (const x of this.session.exchanges) {
      delete (x as { streaming?: unknown }).streaming;
      delete (x as { channel?: unknown }).channel;
    }
  }
}

function httpVersion(protocol?: string): string {
  if (protocol === "h2") return "HTTP/2";
  if (protocol === "h3" || protocol?.startsWith("h3")) return "HTTP/3";
  if (protocol === "http/1.0") return "HTTP/1.0";
  return "HTTP/1.1";
}

/** A screencast: DevTools frames (JPEG) fed to ffmpeg at a steady 5 frames per second. */
function startVideo(ffmpeg: string, work: string) {
  const out = path.join(work, "video.mp4");
  let last: Buffer | undefined;
  let frames = 0;
  let error: string | undefined;
  let child: ChildProcess | undefined;
  try {
    child = spawn(
      ffmpeg,
      [
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "image2pipe",
        "-framerate",
        "5",
        "-c:v",
        "mjpeg",
        "-i",
        "-",
        "-vf",
        "pad=ceil(iw/2)*2:ceil(ih/2)*2",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-pix_fmt",
        "yuv420p",
        "-movflags",
        "+faststart",
        "-y",
        out,
      ],
      { stdio: ["pipe", "ignore", "pipe"] },
    );
    child.on("error", (e) => (error = `ffmpeg could not run: ${e.message}`));
    child.stderr?.on("data", (d) => (error = `${error ?? ""}${d}`.slice(-2000)));
    child.stdin?.on("error", () => undefined);
  } catch (e) {
    error = (e as Error).message;
  }
  const tick = setInterval(() => {
    if (last && child?.stdin?.writable) {
      child.stdin.write(last);
      frames++;
    }
  }, 200);
  const handlers = new Map<CDPSession, (f: { data: string; sessionId: number }) => void>();
  return {
    async attach(cdp: CDPSession) {
      const onFrame = (f: { data: string; sessionId: number }) => {
        last = Buffer.from(f.data, "base64");
        cdp.send("Page.screencastFrameAck", { sessionId: f.sessionId }).catch(() => undefined);
      };
      handlers.set(cdp, onFrame);
      cdp.on("Page.screencastFrame", onFrame);
      await cdp
        .send("Page.startScreencast", { format: "jpeg", quality: 70, everyNthFrame: 1 })
        .catch((e: Error) => (error = e.message));
    },
    async detach(cdp: CDPSession) {
      await cdp.send("Page.stopScreencast").catch(() => undefined);
      const h = handlers.get(cdp);
      if (h) cdp.off("Page.screencastFrame", h);
    },
    async finish(): Promise<{ bytes: Buffer; frames: number; error?: string } | { error: string }> {
      clearInterval(tick);
      if (!child) return { error: error ?? "ffmpeg did not start" };
      const done = new Promise<number | null>((resolve) => child!.on("close", resolve));
      child.stdin?.end();
      const code = await withTimeout(done, 60_000, "ffmpeg").catch(() => null);
      if (code !== 0 || !fs.existsSync(out))
        return { error: `ffmpeg failed (exit ${code}): ${error ?? "no output"} (${frames} frame(s) given)` };
      return { bytes: fs.readFileSync(out), frames };
    },
  };
}
