import * as path from "node:path";
import type { Command } from "commander";
import {
  escapeControlChars,
  type CaptureRecord,
  anchorCaptures,
  captureToWacz,
  fingerprintImageMatcher,
  isProofmarkError,
  ProofmarkError,
  submitCapturesToCalendars,
  type CaptureResult,
} from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";
import { formatAddress, formatBytes, formatTime, rows, type Output } from "../output";
import { calendarUrl } from "./witnesses";

interface CaptureCliOptions {
  out?: string;
  video?: boolean;
  timeout?: number;
  browser?: string;
  trustCertificateSpki?: string[];
  tsa: string[];
  signCert?: string;
  signKey?: string;
  calendar: string[];
}

/** A file name for a capture of `url` made now: capture-<host>-<UTC time>.wacz */
function defaultOut(url: string): string {
  let host = "page";
  try {
    host = new URL(url).host.replace(/[^\w.-]+/g, "_");
  } catch {
    // the URL is checked by the capture itself
  }
  return `capture-${host}-${new Date()
    .toISOString()
    .replace(/[:.]/g, "")
    .replace(/\d{3}Z$/, "Z")}.wacz`;
}

/** `proofmark capture URL [URL…]`: a signed, anchored WACZ of the pages, captured in a fresh browser. */
export function register(program: Command): void {
  program
    .command("capture")
    .description(
      "capture web pages in a fresh Chromium into one signed WACZ (WARC, screenshot, PDF, DOM, HAR, TLS chains, capture record) and anchor it",
    )
    .argument("<urls...>", "the pages to capture (http or https)")
    .option("--out <file.wacz>", "where to write the WACZ (default: capture-<host>-<time>.wacz)")
    .option("--video", "also record a screencast of the session (ffmpeg)")
    .option("--timeout <seconds>", "time each page may take to load (default 30)", positiveInt)
    .option("--browser <path>", "the Chromium to drive (default /usr/bin/chromium)")
    .option(
      "--trust-certificate-spki <sha256-base64...>",
      "accept a certificate no trusted CA issued (base64 SHA-256 of its public key); the capture record says so",
    )
    .option(
      "--tsa <url>",
      "also time-sign the WACZ signature with this RFC 3161 TSA (timeSignature); repeatable",
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      "--sign-cert <cert.pem>",
      "sign in the WACZ signing spec's identity mode with this domain certificate chain (PEM, leaf first) instead of the capture key; needs --sign-key and --tsa",
    )
    .option(
      "--sign-key <key.pem>",
      "the private key of --sign-cert (PEM; encrypted: PROOFMARK_SIGN_KEY_PASSWORD); read, never printed or copied into the WACZ",
    )
    .option(
      "--calendar <url>",
      "anchor through this calendar (proofmark calendar serve) instead of your own transaction: no key, no gas; writes a PENDING receipt at once (complete it with proofmark upgrade FILE.wacz); repeatable",
      calendarUrl,
      [],
    )
    .action(async (urls: string[], o: CaptureCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const out = o.out ?? defaultOut(urls[0]);
      if ((o.signCert === undefined) !== (o.signKey === undefined))
        throw new ProofmarkError("INVALID_ARGUMENT", "--sign-cert and --sign-key go together");
      if (o.signCert !== undefined && o.tsa.length === 0)
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          "--sign-cert needs --tsa URL: the identity mode's timeSignature is an RFC 3161 time-stamp",
        );
      if (!/\.wacz$/i.test(out))
        throw new ProofmarkError("INVALID_ARGUMENT", `--out ${out}: a WACZ file's name must end in .wacz`);
      // the chain (a local node may have to start) is made ready while the browser captures
      const chainReady = env.chain();
      chainReady.catch(() => undefined);
      let captured: CaptureResult;
      try {
        captured = await captureToWacz({
          urls,
          out,
          dataDir: env.dataDir,
          version: require("../../package.json").version,
          video: o.video,
          executablePath: o.browser,
          trustCertificateSpki: o.trustCertificateSpki,
          tsa: o.tsa,
          signWith: o.signCert && o.signKey ? { cert: o.signCert, key: o.signKey } : undefined,
          timeoutMs: o.timeout !== undefined ? o.timeout * 1000 : undefined,
          chainClock: async () => {
            const chain = await chainReady;
            const block = await chain.provider.getBlock("latest");
            return block
              ? { chainId: chain.chainId, blockNumber: block.number, timestamp: block.timestamp }
              : undefined;
          },
          // Every captured image is looked up in this data folder's photo-fingerprint index.
          imageMatcher: fingerprintImageMatcher(env.dataDir),
          onProgress: (t) => env.out.progress(t),
        });
        let anchored:
          { receiptPath: string; anchor: Awaited<ReturnType<typeof anchorCaptures>>["files"][0]["anchor"] } | undefined;
        let submitted: Awaited<ReturnType<typeof submitCapturesToCalendars>> | undefined;
        try {
          if (o.calendar.length > 0) {
            env.out.progress(`submitting the capture's digest to ${o.calendar.length} calendar(s)`);
            submitted = await submitCapturesToCalendars({ files: [out], calendars: o.calendar });
          } else {
            env.out.progress("anchoring");
            const chain = await chainReady;
            anchored = (await anchorCaptures({ chain, files: [out] })).files[0];
          }
        } catch (e) {
          throw notAnchored(e, out, o.calendar);
        }
        env.out.progressDone();
        const r = captured.record;
        env.out.result({
          out,
          receipt: anchored?.receiptPath ?? submitted!.receipts[0].receiptPath,
          pending: submitted !== undefined,
          calendars: submitted?.calendars,
          sha256: captured.digestSha256,
          anchor: anchored?.anchor,
          clean: r.clean,
          pages: r.pages.map((p) => ({
            url: p.url,
            finalUrl: p.finalUrl,
            title: p.title,
            loadTimedOut: p.loadTimedOut,
          })),
          waczBytes: captured.waczBytes,
          rawResponseBytes: captured.rawResponseBytes,
          images: r.images,
          timeSignatures: captured.timeSignatures.map(({ tsa, genTime }) => ({ tsa, genTime })),
          tsaErrors: captured.tsaErrors,
          identity: captured.identity,
        });
        env.out.line(`captured  ${urls.length} page(s)  →  ${out} (${formatBytes(captured.waczBytes)})`);
        for (const p of r.pages) {
          env.out.line(`  ${p.url}${p.finalUrl !== p.url ? ` → ${p.finalUrl}` : ""}`);
          env.out.line(
            `    title ${JSON.stringify(p.title)}${p.loadTimedOut ? "  (did NOT finish loading within the time limit; captured as it was)" : ""}`,
          );
        }
        env.out.line(
          `  ${r.exchanges} HTTP exchange(s), ${r.images.length} image(s), ${r.failed.length} failed request(s), ${r.truncated.length} truncated response(s)`,
        );
        for (const line of imageMatchLines(r, { all: false })) env.out.line(line);
        if (captured.identity)
          env.out.line(
            `  signed as ${escapeControlChars(captured.identity.domain)} (identity mode, certificate sha256 ${captured.identity.certificateSha256.slice(0, 16)}…), time-stamped at ${captured.identity.genTime}`,
          );
        for (const t of captured.timeSignatures) env.out.line(`  time-signed by ${t.tsa} at ${t.genTime}`);
        for (const t of captured.tsaErrors) env.out.line(`  the TSA ${t.tsa} gave no time signature: ${t.message}`);
        env.out.line(r.clean.ok ? "  clean environment: every check passed" : "  CLEAN-ENVIRONMENT CHECK FAILED:");
        for (const c of r.clean.checks.filter((x) => !x.ok)) env.out.line(`    ✗ ${c.item}: ${c.observed}`);
        env.out.line();
        if (anchored) {
          env.out.line(`anchored: datapackage-digest.json of ${path.basename(out)}, one transaction`);
          for (const line of rows([
            ["receipt", anchored.receiptPath],
            ["transaction", anchored.anchor.txHash],
            ["block", `${anchored.anchor.blockNumber} on chain ${anchored.anchor.chainId}`],
            ["time", formatTime(anchored.anchor.timestamp)],
            ["submitter", formatAddress(anchored.anchor.submitter)],
          ]))
            env.out.line(line);
        } else showSubmission(env.out, out, submitted!);
      } finally {
        env.out.progressDone();
        (await chainReady.catch(() => undefined))?.close();
      }
    });
}

/**
 * Anchoring failed after the WACZ was written: the capture is not lost. The error keeps its code and
 * says where the capture is and the command that anchors it later (`stamp` commits a WACZ's signed
 * datapackage-digest.json exactly as `capture` does).
 */
function notAnchored(e: unknown, out: string, calendars: string[]): unknown {
  if (!isProofmarkError(e)) return e;
  const later = calendars.length
    ? `proofmark stamp ${out} ${calendars.map((c) => `--calendar ${c}`).join(" ")}`
    : `proofmark stamp ${out}`;
  return new ProofmarkError(
    e.code,
    `${e.message}. The capture is kept: ${out} is written and signed but NOT anchored; anchor it later with: ${later}${calendars.length ? " (or without --calendar, with a transaction of your own)" : " (with the same network options)"}`,
    { ...e.details, wacz: out, anchorLater: later },
    { cause: e },
  );
}

/** What a calendar submission came to: the pending receipt, each calendar's answer, and what to run next. */
function showSubmission(out: Output, wacz: string, s: Awaited<ReturnType<typeof submitCapturesToCalendars>>): void {
  const receipt = s.receipts[0];
  out.line(`pending: datapackage-digest.json of ${path.basename(wacz)} submitted to the calendar(s)`);
  for (const line of rows([
    ["receipt", `${receipt.receiptPath} (PENDING)`],
    ["leaf", receipt.leaf],
  ]))
    out.line(line);
  for (const c of s.calendars)
    out.line(
      c.ok
        ? `  calendar ${c.calendar}: acknowledged`
        : `  calendar ${c.calendar}: DID NOT ANSWER (${c.code}: ${c.message})`,
    );
  out.line(
    `this receipt is PENDING: nothing anchors the capture yet. Complete it once the calendar has anchored its batch: proofmark upgrade ${wacz}`,
  );
}

/**
 * The captured images and the registered originals they resemble (from the capture record): with
 * `all`, every image with its SHA-256 and then its matches; otherwise only the matches. Names and
 * URLs come from the page or the receipt: control characters escaped.
 */
export function imageMatchLines(record: CaptureRecord | undefined, opts: { all?: boolean } = { all: true }): string[] {
  if (!record) return [];
  const e = escapeControlChars;
  const lines: string[] = [];
  const matches = record.imageMatches;
  if (opts.all) {
    lines.push(
      `images    ${record.images.length} image response(s)${matches === undefined ? " (not matched against registered originals: the capture was made without a fingerprint index)" : ""}`,
    );
  }
  for (const image of record.images) {
    const found = (matches ?? []).filter((m) => m.sha256 === image.sha256);
    if (!opts.all && found.length === 0) continue;
    if (opts.all) lines.push(`  ${image.sha256}  ${image.size} B  ${e(image.mimeType)}  ${e(image.url.slice(0, 200))}`);
    for (const m of found)
      lines.push(
        `  ${opts.all ? "  " : `image ${image.sha256.slice(0, 16)}… `}resembles your registered ${e(String(m.original.name))} (distance ${m.original.distance} bits, ${m.original.decidedBy}; anchored ${m.original.anchoredAt} on chain ${m.original.chainId} block ${m.original.blockNumber}; receipt ${e(String(m.original.receipt))}) — evidence of similarity, not identity`,
      );
  }
  return lines;
}
