import * as path from "node:path";
import type { Command } from "commander";
import {
  captureSubjectOf,
  collectFiles,
  isWaczPath,
  EmbeddedStore,
  keepInStore,
  ProofmarkError,
  stampFiles,
  StampFingerprints,
  type EvidenceMeta,
  type StampProgress,
} from "@proofmark/sdk";
import { readReceiptFile } from "./match";
import { commandEnv } from "../options";
import { formatAddress, formatBytes, formatTime, rows, type Output } from "../output";
import { calendarUrl, sha256Hex, stampThroughCalendars } from "./witnesses";

interface StampCliOptions {
  out?: string;
  title?: string;
  author?: string;
  note?: string;
  resume?: boolean;
  store?: boolean;
  encrypt?: boolean;
  fingerprint: boolean;
  database?: string;
  calendar: string[];
  sha256?: string;
  name?: string;
  sign?: boolean;
  statement?: string;
}

/** `proofmark stamp <files or folders…>`: one transaction anchors them all; a receipt per file. */
export function register(program: Command): void {
  program
    .command("stamp")
    .description(
      "timestamp files: hash, commit with a secret salt, anchor one Merkle root, write <file>.proof.json receipts",
    )
    .argument("[paths...]", "files or folders (folders are walked; receipts are never stamped)")
    .option("--out <dir>", "write receipts into this folder instead of beside each file")
    .option(
      "--database <url>",
      "postgres://… : index the fingerprints in PostgreSQL, shared by every instance on it (default: SQLite in <data-dir>/fingerprints.sqlite)",
    )
    .option("--title <text>", "title committed with each file")
    .option("--author <text>", "author committed with each file")
    .option("--note <text>", "note committed with each file")
    .option("--resume", "only finish batches left queued by an interrupted or failed stamp")
    .option("--store", "also keep each file in the content store (<data-dir>/store); its CID goes into the receipt")
    .option("--encrypt", "with --store: keep AES-256-GCM ciphertext; the key goes into the receipt only")
    .option(
      "--no-fingerprint",
      "do not fingerprint images (by default JPEG, PNG, WebP, AVIF and GIF get a perceptual fingerprint in their receipt and the data folder's index)",
    )
    .option(
      "--calendar <url>",
      "stamp through this calendar (proofmark calendar serve): no key, no gas; writes PENDING receipts at once (complete them with proofmark upgrade); repeatable",
      calendarUrl,
      [],
    )
    .option(
      "--sha256 <hex>",
      "with --calendar: stamp a bare SHA-256 digest (the file never leaves its machine)",
      sha256Hex,
    )
    .option("--name <text>", "with --sha256: the name shown in the receipt")
    .option(
      "--sign",
      "with --calendar: add your own EIP-712 statement over each leaf, signed with your key (PROOFMARK_PRIVATE_KEY or PROOFMARK_KEYSTORE)",
    )
    .option("--statement <text>", "with --sign: the statement you sign (default: submitted by the holder of this key)")
    .action(async (paths: string[], o: StampCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const meta0: EvidenceMeta = {};
      if (o.title !== undefined) meta0.title = o.title;
      if (o.author !== undefined) meta0.author = o.author;
      if (o.note !== undefined) meta0.note = o.note;
      if (o.calendar.length > 0) {
        if (o.store || o.resume)
          throw new ProofmarkError("INVALID_ARGUMENT", "--store and --resume do not go with --calendar");
        return stampThroughCalendars(env, paths, { ...o, meta: meta0 });
      }
      if (o.sha256 || o.sign)
        throw new ProofmarkError("INVALID_ARGUMENT", "--sha256 and --sign go with --calendar URL");
      if (!o.resume && paths.length === 0)
        throw new ProofmarkError("INVALID_ARGUMENT", "name the files or folders to stamp (or use --resume)");
      const meta: EvidenceMeta = {};
      if (o.title !== undefined) meta.title = o.title;
      if (o.author !== undefined) meta.author = o.author;
      if (o.note !== undefined) meta.note = o.note;
      // bad paths fail here, before any chain work
      const files = o.resume ? [] : collectFiles(paths);
      if (o.encrypt && !o.store) throw new ProofmarkError("INVALID_ARGUMENT", "--encrypt goes with --store");
      refuseStoredCaptures(files, o.store);
      const store = o.store ? new EmbeddedStore(env.dataDir) : undefined;
      const keep =
        store &&
        (async (file: string) => {
          const { cid, encryption } = await keepInStore(store, file, { encrypt: o.encrypt });
          return encryption ? { cid, encryption } : { cid };
        });
      const fingerprints = o.fingerprint ? new StampFingerprints() : undefined;
      const fingerprint = fingerprints && ((file: string) => fingerprints.fingerprintForStamp(file));
      const chain = await env.chain({ history: false }); // stamping only writes: no need to wait for older blocks
      try {
        const result = await stampFiles({
          chain,
          inputs: paths,
          meta,
          outDir: o.out,
          resumeOnly: o.resume,
          keep,
          fingerprint,
          // a capture (.wacz) commits its signed datapackage-digest.json, as `capture` does
          subjectOf: captureSubjectOf,
          onProgress: (p) => showProgress(env.out, p),
        });
        env.out.progressDone();
        const indexed = await fingerprints?.registerOriginals(
          env.dataDir,
          result.files.map((f) => ({
            file: f.file,
            receiptPath: f.receiptPath,
            receipt: readReceiptFile(f.receiptPath),
          })),
          o.database,
        );
        env.out.result({
          ...result,
          fingerprinted: indexed ?? 0,
          tooLittleTexture: fingerprints?.tooLittleTexture ?? [],
        });
        report(env.out, result);
        for (const u of fingerprints?.unreadable ?? [])
          env.out.line(
            `note: ${path.relative(process.cwd(), u.file) || u.file} is not a readable image; stamped without a fingerprint`,
          );
        for (const file of fingerprints?.tooLittleTexture ?? [])
          env.out.line(
            `note: ${path.relative(process.cwd(), file) || file} has too little texture to fingerprint (flat, a smooth gradient or an even fine pattern); it is indexed with its colour layout, but edited copies of it may not be found, and one found by colour layout alone is weaker evidence`,
          );
        if (indexed)
          env.out.line(
            `\nfingerprinted: ${indexed} image(s) added to the fingerprint index (find copies with \`proofmark match <image>\`)`,
          );
      } finally {
        env.out.progressDone();
        chain.close();
        await store?.close();
      }
    });
}

/**
 * A capture is anchored by its signed datapackage-digest.json, not by the WACZ's bytes, so the
 * store's copy could not be checked against its receipt: --store does not take a .wacz.
 */
function refuseStoredCaptures(files: string[], store: boolean | undefined): void {
  const wacz = store ? files.find(isWaczPath) : undefined;
  if (wacz)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `${wacz}: a .wacz is anchored by its signed datapackage-digest.json, not by its bytes, so --store cannot keep it; stamp it without --store (and keep the .wacz itself)`,
      { file: wacz },
    );
}

function showProgress(out: Output, p: StampProgress): void {
  if (p.phase === "hash") {
    const pct = p.size > 0 ? Math.floor((100 * p.bytes) / p.size) : 100;
    out.progress(
      `hashing ${p.index + 1}/${p.count} ${path.basename(p.file)} ${formatBytes(p.bytes)} / ${formatBytes(p.size)} (${pct} %)`,
    );
  } else if (p.phase === "send") out.progress(`anchoring root ${p.root.slice(0, 18)}… (${p.leafCount} file(s))`);
  else if (p.phase === "sent") out.progress(`waiting for transaction ${p.txHash.slice(0, 18)}…`);
}

function report(out: Output, result: Awaited<ReturnType<typeof stampFiles>>): void {
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  for (const f of result.files) {
    const label = f.status === "unchanged" ? "unchanged" : f.status === "resumed" ? "resumed " : "stamped  ";
    out.line(`${label} ${rel(f.file)}  →  ${rel(f.receiptPath)}`);
  }
  for (const b of result.batches) {
    const f = result.files.find((x) => x.anchor.txHash === b.txHash)!;
    out.line();
    out.line(
      `${b.resumed ? "finished an interrupted batch" : "anchored"}: ${b.leafCount} file(s) under one root, one transaction`,
    );
    for (const r of rows([
      ["root", b.root],
      ["transaction", b.txHash],
      ["block", `${f.anchor.blockNumber} on chain ${f.anchor.chainId}`],
      ["time", formatTime(f.anchor.timestamp)],
      ["registry", f.anchor.registry],
      ["submitter", formatAddress(f.anchor.submitter)],
    ]))
      out.line(r);
  }
  if (result.batches.length === 0 && result.files.length > 0) {
    out.line();
    out.line("nothing new to anchor: every file already has a receipt for its current content");
  }
  if (result.batches.length === 0 && result.files.length === 0) out.line("nothing queued");
  for (const s of result.skipped) out.line(`skipped   ${rel(s.path)}  (${s.reason})`);
  if (result.skipped.length > 0)
    out.line(
      `note: ${result.skipped.length} entr${result.skipped.length === 1 ? "y was" : "ies were"} not stamped (not regular files; stamp what they point to directly if it is evidence)`,
    );
  for (const p of result.pendingElsewhere)
    out.line(
      `note: ${p.leafCount} file(s) are still queued for chain ${p.chainId} (root ${p.root}); run \`proofmark stamp --resume\` on that network`,
    );
}
