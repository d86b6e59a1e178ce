import * as fs from "node:fs";
import type { Command } from "commander";
import {
  collectFiles,
  EmbeddedStore,
  escapeControlChars,
  fetchFromStore,
  hashFile,
  isProofmarkError,
  captureSubjectOf,
  isWaczPath,
  sha256Stream,
  type Receipt,
  ProofmarkError,
  RECEIPT_FILE_RE,
  type VerificationResult,
  type SkippedEntry,
  type WitnessPolicy,
  verifyCapture,
  type CaptureVerification,
} from "@proofmark/sdk";
import { commandEnv, positiveInt, type CommandEnv } from "../options";
import { formatAddress, formatTime, rows, type Output } from "../output";
import { hintFor } from "../hints";
import { addVerifyOptions, commandVerifier, readReceiptText, type VerifyCliFlags } from "../receipts";
import { addWitnessOptions } from "./witnesses";
import { readAnyReceipt, verifyCaptureFile, verifyWithWitnesses, witnessLines } from "./witness-report";
import { imageMatchLines } from "./capture";

interface VerifyCliOptions extends VerifyCliFlags {
  policy?: WitnessPolicy;
  tsaTrust: string[];
  certTrust: string[];
  proof?: string;
  minConfirmations?: number;
  fromStore?: boolean;
}

/** One file (or receipt) to verify and where its receipt is. */
interface Target {
  file: string;
  proof: string;
}

/** `proofmark verify <file…>`: the file matches its receipt and the receipt's root is on chain. */
export function register(program: Command): void {
  addWitnessOptions(
    addVerifyOptions(
      program
        .command("verify")
        .description(
          "check files against their receipts and every witness (chains, RFC 3161 tokens, signatures); exit 0 only when every one is verified (a pending receipt is completed from its calendar in memory, not written)",
        ),
    ),
  )
    .argument("[paths...]", "files or folders (each file is checked against <file>.proof.json), or receipts")
    .option("--proof <receipt>", "the receipt to use (with a single file)")
    .option("--min-confirmations <n>", "confirmations required (default 1)", positiveInt)
    .option(
      "--from-store",
      "read each file from the content store by its receipt's subject.cid (decrypted with the receipt's key); give receipts, or --proof P",
    )
    .action(async (paths: string[], o: VerifyCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      if (!o.fromStore && paths.length === 1 && isWaczPath(paths[0])) return verifyWacz(env, paths[0], o);
      if (!o.fromStore && paths.length === 0)
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          "name the files, folders or receipts to verify (or use --proof P --from-store)",
        );
      const skipped: SkippedEntry[] = [];
      const targets = o.fromStore ? storeTargets(paths, o.proof) : resolveTargets(paths, o.proof, skipped);
      // One session for all receipts: a folder stamped in one batch costs one anchor and one block read.
      const verifier = commandVerifier(env, o);
      const results: Array<{
        file: string;
        proof: string;
        result?: VerificationResult;
        error?: { code: string; message: string };
        note?: string;
      }> = [];
      for (const t of targets) {
        try {
          const receipt = readAnyReceipt(t.proof, readReceiptText);
          env.out.progress(`hashing ${t.file}`);
          // a receipt of a bare digest (stamp --sha256) has no file beside it: the receipt and its witnesses are checked
          const bare = receipt.subject.size === undefined && !o.fromStore && !fs.existsSync(t.file);
          // a capture's receipt covers its signed datapackage-digest.json (checked with the whole WACZ)
          const capture = bare || o.fromStore ? undefined : await captureSubjectOf(t.file);
          const digest = bare
            ? undefined
            : o.fromStore
              ? await digestFromStore(env.dataDir, receipt as Receipt)
              : (capture ?? (await hashFile(t.file)));
          env.out.progressDone();
          const { result, note } = await verifyWithWitnesses(
            verifier,
            receipt,
            digest && { path: t.file, sha256: digest.sha256, size: digest.size },
          );
          results.push({
            file: t.file,
            proof: t.proof,
            result,
            note:
              [
                bare ? "a bare digest: no file was hashed, the receipt's digest was checked against its witnesses" : "",
                capture
                  ? `a capture: its signed datapackage-digest.json was checked against the receipt, after every file, WARC record and the signature of the WACZ; time signatures and an identity certificate are checked by \`proofmark verify ${t.file}\` alone`
                  : "",
                note ?? "",
              ]
                .filter(Boolean)
                .join("; ") || undefined,
          });
        } catch (e) {
          if (!isProofmarkError(e)) throw e;
          results.push({ file: t.file, proof: t.proof, error: { code: e.code, message: e.message } });
        }
      }
      env.out.result(results.length === 1 ? summarize(results[0]) : results.map(summarize));
      for (const r of results) if (r.note) env.out.line(`note: ${r.file}: ${r.note}`);
      if (targets.length === 1) reportOne(env.out, results[0]);
      else reportMany(env.out, results);
      reportSkipped(env.out, skipped);
      const failed = results.filter((r) => !r.result?.ok);
      if (failed.length > 0) {
        const first = failed[0].result?.code ?? failed[0].error?.code ?? "PROOF_INVALID";
        throw new ProofmarkError(
          first as never,
          targets.length === 1
            ? "verification failed (see above)"
            : `${failed.length} of ${results.length} file(s) did not verify`,
          { failed: failed.length },
        );
      }
    });
}

/** With --from-store the inputs are receipts; the file comes from the store. */
function storeTargets(paths: string[], proof?: string): Target[] {
  const receipts = proof ? [proof, ...paths] : paths;
  if (receipts.length === 0)
    throw new ProofmarkError("INVALID_ARGUMENT", "with --from-store, name the receipts (or --proof P)");
  return receipts.map((p) => ({ file: `${p.replace(/\.proof(\.\d+)?\.json$/, "")} (from the store)`, proof: p }));
}

/** SHA-256 and size of a receipt's file as kept in the embedded store (decrypted if needed). */
async function digestFromStore(dataDir: string, receipt: Receipt): Promise<{ sha256: string; size: number }> {
  const store = new EmbeddedStore(dataDir);
  try {
    return await sha256Stream(fetchFromStore(store, receipt, { check: false }));
  } finally {
    await store.close();
  }
}

/** Folder entries that were not verified (symbolic links, FIFOs…): said, so "all verified" means all. */
function reportSkipped(out: Output, skipped: SkippedEntry[]): void {
  for (const s of skipped) out.line(`  skipped  ${s.path}  (${s.reason}; not verified)`);
  if (skipped.length > 0)
    out.line(
      `${skipped.length} entr${skipped.length === 1 ? "y" : "ies"} of the folder(s) skipped, not verified (not regular files)`,
    );
}

function resolveTargets(paths: string[], proof?: string, skipped?: SkippedEntry[]): Target[] {
  if (proof) {
    if (paths.length !== 1) throw new ProofmarkError("INVALID_ARGUMENT", "--proof goes with exactly one file");
    return [{ file: paths[0], proof }];
  }
  const targets: Target[] = [];
  for (const p of paths) {
    if (RECEIPT_FILE_RE.test(p) && fs.existsSync(p) && fs.statSync(p).isFile()) {
      targets.push({ file: p.replace(/\.proof(\.\d+)?\.json$/, ""), proof: p });
      continue;
    }
    for (const file of collectFiles([p], skipped)) targets.push({ file, proof: `${file}.proof.json` });
  }
  return targets;
}

function summarize(r: {
  file: string;
  proof: string;
  result?: VerificationResult;
  error?: { code: string; message: string };
}) {
  if (!r.result)
    return {
      file: r.file,
      proof: r.proof,
      ok: false,
      status: "mismatch",
      code: r.error!.code,
      message: r.error!.message,
    };
  const { ok, status, code, message, anchors, file, uncovered } = r.result;
  return {
    file: r.file,
    proof: r.proof,
    ok,
    status,
    code,
    message,
    sha256: file?.sha256,
    subject: r.result.receipt.subject,
    uncovered,
    policy: r.result.policy,
    timestamps: r.result.timestamps.map((t) => ({
      tsa: t.info?.tsa ?? t.timestamp.tsa,
      url: t.timestamp.tsa,
      genTime: t.info?.genTime,
      ok: t.ok,
      status: t.status,
      code: t.code,
      message: t.message,
      unchecked: t.unchecked,
    })),
    attestations: r.result.attestations.map((a) => ({
      role: a.role,
      signer: a.signer,
      ok: a.ok,
      status: a.status,
      code: a.code,
      message: a.message,
    })),
    anchors: anchors.map((a) => ({
      ...a.anchor,
      ok: a.ok,
      status: a.status,
      code: a.code,
      message: a.message,
      confirmations: a.confirmations,
      final: a.final,
      registry: a.registry,
      endpoints: a.endpoints,
      unchecked: a.unchecked,
      steps: a.steps,
    })),
  };
}

function reportOne(
  out: Output,
  r: { file: string; proof: string; result?: VerificationResult; error?: { code: string; message: string } },
): void {
  if (r.result && r.result.receipt.version === 2) {
    for (const line of witnessLines(r.result, r.file, r.proof)) out.line(line);
    const failedStep = r.result.anchors.flatMap((a) => a.steps).find((s) => !s.ok);
    const hint = r.result.ok ? undefined : hintFor(r.result.code, failedStep?.detail);
    if (hint) out.line(`  hint: ${hint}`);
    return;
  }
  if (!r.result || !r.result.ok) {
    const code = r.result?.code ?? r.error?.code;
    const message = r.result?.message ?? r.error?.message ?? "";
    out.line(`NOT VERIFIED (${r.result?.status ?? "mismatch"})  ${r.file}`);
    out.line(`  ${code}: ${message}`);
    const failedStep = r.result?.anchors.flatMap((a) => a.steps).find((s) => !s.ok);
    const hint = hintFor(code, failedStep?.detail);
    if (hint) out.line(`  hint: ${hint}`);
    return;
  }
  const a = r.result.anchors[0];
  out.line(`${r.result.status === "verified" ? "VERIFIED" : "VERIFIED, NOT YET FINAL"}  ${r.file}`);
  out.line(
    `  the file existed no later than block ${a.anchor.blockNumber}'s time, with ${a.confirmations} confirmation(s)`,
  );
  for (const row of rows([
    ["anchored", formatTime(a.anchor.timestamp)],
    ["block", `${a.anchor.blockNumber} (${a.anchor.blockHash})`],
    ["transaction", a.anchor.txHash],
    ["submitter", formatAddress(a.anchor.submitter)],
    ["chain", `${a.anchor.chainId}${a.final === undefined ? "" : a.final ? ", block final" : ", block not yet final"}`],
    [
      "registry",
      `${a.anchor.registry} (${a.registry?.known ?? `UNKNOWN code ${a.registry?.codeHash}, trusted because you pinned it`})`,
    ],
    ["confirmations", a.confirmations],
    ["sha256", r.result.file?.sha256],
    ["receipt", r.proof],
    ["name in receipt", `${r.result.receipt.subject.name} (not covered by the commitment)`],
    ["checked via", a.endpoints.join(", ")],
  ]))
    out.line(row);
  for (const u of r.result.anchors.flatMap((x) => x.unchecked)) out.line(`  NOT CHECKED: ${u}`);
}

function reportMany(
  out: Output,
  results: Array<{ file: string; result?: VerificationResult; error?: { code: string; message: string } }>,
): void {
  // a loop, not Math.max(...lengths): a folder of 200,000 receipts exceeds the argument limit
  const width = Math.min(
    60,
    results.reduce((w, r) => Math.max(w, r.file.length), 0),
  );
  for (const r of results) {
    const name = r.file.padEnd(width);
    if (r.result?.ok && r.result.receipt.version === 2) {
      out.line(`  ok       ${name}  ${r.result.message}`);
    } else if (r.result?.ok) {
      const a = r.result.anchors[0];
      const unchecked = r.result.anchors.flatMap((x) => x.unchecked);
      out.line(
        `  ok       ${name}  existed no later than ${new Date(a.anchor.timestamp * 1000).toISOString()} (block ${a.anchor.blockNumber}, ${a.confirmations} conf.${r.result.status === "not-final" ? ", not yet final" : ""})${unchecked.length ? `; not checked: ${unchecked.join("; ")}` : ""}`,
      );
    } else if (r.result?.status === "pending") {
      out.line(`  PENDING  ${name}  ${r.result.message}`);
    } else if (r.result?.code === "DIGEST_MISMATCH") {
      out.line(
        `  CHANGED  ${name}  its content differs from what was stamped (receipt sha256 ${r.result.receipt.subject.sha256.slice(0, 16)}…, now ${r.result.file?.sha256.slice(0, 16)}…)`,
      );
    } else {
      const code = r.result?.code ?? r.error?.code;
      out.line(`  FAILED   ${name}  ${code}: ${r.result?.message ?? r.error?.message ?? ""}`);
    }
  }
  const ok = results.filter((r) => r.result?.ok).length;
  out.line();
  out.line(
    `${ok} of ${results.length} file(s) verified${ok === results.length ? "" : `; ${results.length - ok} did not`}`,
  );
}

/** The capture's clocks side by side: the machine's, the chain's latest block, the TSAs'. */
function captureClocks(v: Awaited<ReturnType<typeof verifyCapture>>): Array<[string, string]> {
  const clock = v.wacz.record?.clock;
  if (!clock) return [];
  const out: Array<[string, string]> = [["machine clock", `${clock.machineTime} (at the start of the capture)`]];
  if (clock.chain)
    out.push([
      "chain clock",
      `block ${clock.chain.blockNumber} of chain ${clock.chain.chainId}: ${formatTime(clock.chain.timestamp)} (machine ${clock.chain.offsetSeconds} s ahead)`,
    ]);
  for (const t of v.timeSignatures.filter((x) => x.ok))
    out.push(["TSA clock", `${t.genTime} (${t.signer}; ${t.offsetSeconds} s after the signature's created time)`]);
  return out;
}

/** `proofmark verify capture.wacz`: every file, WARC record and the signature offline, then the anchor. */
async function verifyWacz(env: CommandEnv, file: string, o: VerifyCliOptions): Promise<void> {
  env.out.progress(`checking ${file}`);
  const v = await verifyCaptureFile(env, file, o);
  env.out.progressDone();
  const { record: _record, ...wacz } = v.wacz;
  env.out.result({
    file,
    ok: v.ok,
    code: v.code,
    fault: v.file,
    message: v.message,
    wacz,
    timeSignatures: v.timeSignatures,
    identity: v.identity,
    receipt: v.receiptPath,
    anchor: v.evidence ? summarize({ file, proof: v.receiptPath, result: v.evidence }) : undefined,
  });
  env.out.line(`${v.ok ? "VERIFIED" : "NOT VERIFIED"}  ${file}`);
  if (!v.ok) env.out.line(`  ${v.code}${v.file ? ` in ${v.file}` : ""}: ${v.message}`);
  const hint = v.code === "WACZ_CERT_UNTRUSTED" ? hintFor(v.code) : undefined;
  if (hint) env.out.line(`  hint: ${hint}`);
  for (const r of rows([
    ["files", `${v.wacz.files.filter((f) => f.ok).length} of ${v.wacz.files.length} match datapackage.json`],
    [
      "WARC records",
      `${v.wacz.records.count - v.wacz.records.failures.length} of ${v.wacz.records.count} match their digests`,
    ],
    [
      "signature",
      v.wacz.signature.ok
        ? v.wacz.signature.mode === "identity"
          ? `valid with the certificate of ${escapeControlChars(v.wacz.signature.domain ?? "")} (identity mode, key ${v.wacz.signature.publicKeyFingerprint?.slice(0, 16)}…)`
          : `valid (${v.wacz.signature.curve}, key ${v.wacz.signature.publicKeyFingerprint?.slice(0, 16)}…)`
        : `INVALID: ${v.wacz.signature.reason ?? "-"}`,
    ],
    ...identityRows(v),
    [
      "time signature",
      v.timeSignatures.length
        ? v.timeSignatures
            .map((t) => (t.ok ? `valid: ${t.signer} at ${t.genTime}` : `INVALID (${t.code}): ${t.message}`))
            .join("; ")
        : "none (captured without --tsa)",
    ],
    ...captureClocks(v),
    [
      "anchor",
      v.evidence?.ok
        ? v.evidence.anchors
            .filter((a) => a.ok)
            .map(
              (a) =>
                `chain ${a.anchor.chainId} block ${a.anchor.blockNumber}, ${formatTime(a.anchor.timestamp)}, ${a.confirmations} confirmation(s)`,
            )
            .join("; ")
        : v.evidence?.status === "pending"
          ? `PENDING (NOT VERIFIED): ${v.evidence.message}`
          : v.evidence
            ? `NOT VERIFIED: ${v.evidence.code}`
            : `not checked: ${v.receiptError?.message ?? "the WACZ failed first"}`,
    ],
    ...(v.evidence?.ok && v.evidence.timestamps.length
      ? [
          [
            "receipt TSA",
            v.evidence.timestamps
              .map((t) => (t.ok && t.info ? `${t.info.tsa} at ${t.info.genTime}` : `NOT VERIFIED (${t.code})`))
              .join("; "),
          ] as [string, string],
        ]
      : []),
    [
      "receipt",
      `${v.receiptPath}${v.evidence?.status === "pending" ? " (pending: proofmark upgrade completes it)" : ""}`,
    ],
  ]))
    env.out.line(r);
  if (v.receiptNote) env.out.line(`  note: ${escapeControlChars(v.receiptNote)}`);
  for (const line of imageMatchLines(v.wacz.record)) env.out.line(line);
  if (!v.ok)
    throw new ProofmarkError(
      v.code ?? "WACZ_INVALID",
      `verification failed${v.file ? ` (${v.file})` : ""} (see above)`,
      { file: v.file },
    );
}

/** The identity-mode checks of a capture's signature, each with its outcome, and what was not checked. */
function identityRows(v: CaptureVerification): Array<[string, string]> {
  if (!v.identity) return [];
  return [
    ...v.identity.steps.map((s): [string, string] => [
      s.check,
      `${s.ok ? "ok" : "FAILED"}${s.detail ? `: ${escapeControlChars(s.detail)}` : ""}`,
    ]),
    ["not checked", v.identity.notChecked.join("; ")],
  ];
}
