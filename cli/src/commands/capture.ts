import * as path from "node:path";
import type { Command } from "commander";
import {
  anchorCaptures,
  captureToWacz,
  fingerprintImageMatcher,
  ProofmarkError,
  type CaptureResult,
} from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";
import { formatAddress, formatBytes, formatTime, rows } from "../output";

interface CaptureCliOptions {
  out?: string;
  video?: boolean;
  timeout?: number;
  browser?: string;
  trustCertificateSpki?: string[];
  tsa: string[];
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
    .action(async (urls: string[], o: CaptureCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const out = o.out ?? defaultOut(urls[0]);
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
        env.out.progress("anchoring");
        const chain = await chainReady;
        const stamped = await anchorCaptures({ chain, files: [out] });
        env.out.progressDone();
        const file = stamped.files[0];
        const r = captured.record;
        env.out.result({
          out,
          receipt: file.receiptPath,
          sha256: captured.digestSha256,
          anchor: file.anchor,
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
        for (const m of r.imageMatches ?? [])
          env.out.line(
            `  image ${m.sha256.slice(0, 16)}… resembles your registered ${m.original.name} (distance ${m.original.distance}, anchored ${m.original.anchoredAt}) — evidence of similarity, not identity`,
          );
        for (const t of captured.timeSignatures) env.out.line(`  time-signed by ${t.tsa} at ${t.genTime}`);
        for (const t of captured.tsaErrors) env.out.line(`  the TSA ${t.tsa} gave no time signature: ${t.message}`);
        env.out.line(r.clean.ok ? "  clean environment: every check passed" : "  CLEAN-ENVIRONMENT CHECK FAILED:");
        for (const c of r.clean.checks.filter((x) => !x.ok)) env.out.line(`    ✗ ${c.item}: ${c.observed}`);
        env.out.line();
        env.out.line(`anchored: datapackage-digest.json of ${path.basename(out)}, one transaction`);
        for (const line of rows([
          ["receipt", file.receiptPath],
          ["transaction", file.anchor.txHash],
          ["block", `${file.anchor.blockNumber} on chain ${file.anchor.chainId}`],
          ["time", formatTime(file.anchor.timestamp)],
          ["submitter", formatAddress(file.anchor.submitter)],
        ]))
          env.out.line(line);
      } finally {
        env.out.progressDone();
        (await chainReady.catch(() => undefined))?.close();
      }
    });
}
