import {
  escapeControlChars,
  isPendingReceipt,
  loadCertTrust,
  loadTsaTrust,
  parseAnyReceipt,
  upgradeReceipt,
  verifyCapture,
  type CaptureVerification,
  type WitnessPolicy,
  type PendingReceipt,
  type Receipt,
  type VerificationResult,
  type Verifier,
} from "@proofmark/sdk";
import type { CommandEnv } from "../options";
import { formatTime } from "../output";
import { commandVerifier, parseReceiptText, type VerifyCliFlags } from "../receipts";

/** Reads a receipt file, pending or complete; errors name the file. */
export function readAnyReceipt(file: string, readText: (file: string) => string): Receipt | PendingReceipt {
  return parseReceiptText(file, readText(file), parseAnyReceipt);
}

/**
 * Verifies a receipt; a pending one is first completed from its calendars in memory (the proof is
 * verified like any receipt and NOT written back: `upgrade` writes). Still pending → "pending".
 */
export async function verifyWithWitnesses(
  verifier: Verifier,
  receipt: Receipt | PendingReceipt,
  file?: { path?: string; sha256: string; size: number },
): Promise<{ result: VerificationResult; note?: string }> {
  if (!isPendingReceipt(receipt)) return { result: await verifier.verify(receipt, file) };
  const out = await upgradeReceipt(receipt, { verifier, file });
  if (out.status === "complete")
    return {
      result: out.result,
      note: `the receipt was pending; ${out.calendar} completed it and that proof verified (the file on disk is still pending: proofmark upgrade writes it)`,
    };
  const result = await verifier.verify(receipt, file);
  const refused = out.refused.map((r) => `${r.calendar} REFUSED (${r.code}): ${r.message}`);
  const down = out.unchecked.map((u) => `${u.calendar}: ${u.code}: ${u.message}`);
  return { result, note: [...refused, ...down].filter(Boolean).join("; ") || undefined };
}

/**
 * `verify capture.wacz` and `report capture.wacz`: the WACZ checked offline (every file, WARC record,
 * the signature, time signatures and identity against the trust flags), then its receipt through the
 * command's verifier; a pending receipt is completed from its calendars in memory, never shown as verified.
 */
export function verifyCaptureFile(
  env: CommandEnv,
  file: string,
  o: VerifyCliFlags & {
    proof?: string;
    minConfirmations?: number;
    policy?: WitnessPolicy;
    tsaTrust: string[];
    certTrust: string[];
  },
): Promise<CaptureVerification> {
  const verifier = commandVerifier(env, o);
  return verifyCapture({
    path: file,
    receiptPath: o.proof,
    dataDir: env.dataDir,
    rpc: env.opts.rpc,
    minConfirmations: o.minConfirmations,
    parseReceipt: parseAnyReceipt,
    verifyReceipt: (receipt, digest) => verifyWithWitnesses(verifier, receipt, digest),
    tsaTrust: loadTsaTrust(o.tsaTrust, process.env),
    certTrust: loadCertTrust(o.certTrust, process.env),
  });
}

function verdictWord(ok: boolean, status: string): string {
  return ok ? "VERIFIED" : status === "unverifiable" ? "NOT CHECKED" : status.toUpperCase();
}

/** Every clock of a verified result: block time per chain, each TSA's genTime, and their spread. */
export function clocksOf(result: VerificationResult): {
  clocks: Array<{ witness: string; time: number; iso: string }>;
  spreadSeconds?: number;
} {
  const clocks = [
    ...result.anchors
      .filter((a) => a.ok)
      .map((a) => ({ witness: `chain ${a.anchor.chainId} block ${a.anchor.blockNumber}`, time: a.anchor.timestamp })),
    ...result.timestamps
      .filter((t) => t.ok && t.info)
      .map((t) => ({ witness: `TSA ${t.info!.tsa}`, time: Date.parse(t.info!.genTime) / 1000 })),
  ].map((c) => ({ ...c, iso: new Date(c.time * 1000).toISOString() }));
  const times = clocks.map((c) => c.time);
  return { clocks, spreadSeconds: times.length > 1 ? Math.max(...times) - Math.min(...times) : undefined };
}

/** The witness-by-witness lines of a v2 receipt's verification (terminal; untrusted strings escaped). */
export function witnessLines(result: VerificationResult, file: string, proof: string): string[] {
  const e = escapeControlChars;
  const lines: string[] = [];
  const head =
    result.status === "verified"
      ? "VERIFIED"
      : result.status === "not-final"
        ? "VERIFIED, NOT YET FINAL"
        : result.status === "pending"
          ? "PENDING (NOT VERIFIED)"
          : `NOT VERIFIED (${result.status})`;
  lines.push(`${head}  ${e(file)}`);
  lines.push(`  ${result.code ? `${result.code}: ` : ""}${e(result.message)}`);
  const p = result.policy;
  if (result.status !== "pending")
    lines.push(
      `  policy ${p.policy}: ${p.verified} of ${p.witnesses} time witness(es) verified, ${p.required} required`,
    );
  for (const a of result.anchors)
    lines.push(
      `  ${verdictWord(a.ok, a.status).padEnd(11)} chain ${a.anchor.chainId}: block ${a.anchor.blockNumber} at ${formatTime(a.anchor.timestamp)}, tx ${a.anchor.txHash}${a.ok ? `, ${a.confirmations} confirmation(s)${a.final === false ? " (block not final yet)" : ""}, via ${a.endpoints.join(", ")}` : ` — ${a.code}: ${e(a.message)}`}`,
    );
  for (const t of result.timestamps)
    lines.push(
      `  ${verdictWord(t.ok, t.status).padEnd(11)} TSA ${e(t.info?.tsa ?? t.timestamp.tsa)}: ${t.ok ? `genTime ${t.info!.genTime}${t.info!.trustNote ? ` (${e(t.info!.trustNote)})` : ""}` : `${t.code}: ${e(t.message)}`}`,
    );
  for (const a of result.attestations) {
    const what =
      a.role === "calendar"
        ? `calendar acknowledgement, received at ${new Date((a.attestation as { message: { receivedAt: number } }).message.receivedAt).toISOString()} (the calendar's own clock, not a witness)`
        : `submitter statement "${e((a.attestation as { message: { statement: string } }).message.statement)}"`;
    lines.push(`  ${(a.ok ? "SIGNED" : "FORGED").padEnd(11)} ${e(a.message)} — ${what}`);
  }
  if (result.ok) {
    const { clocks, spreadSeconds } = clocksOf(result);
    lines.push(
      `  clocks: ${clocks.map((c) => `${c.witness} ${c.iso}`).join("; ")}${spreadSeconds !== undefined ? `; spread ${spreadSeconds} s` : ""}`,
    );
  }
  const notChecked = [...result.anchors.flatMap((a) => a.unchecked), ...result.timestamps.flatMap((t) => t.unchecked)];
  for (const u of [...new Set(notChecked)]) lines.push(`  NOT CHECKED: ${e(u)}`);
  lines.push(`  receipt: ${e(proof)}`);
  return lines;
}
