import * as fs from "node:fs";
import * as path from "node:path";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import type { Receipt } from "../core/receipt";
import type { ChainContext } from "../chain/context";
import { stampFiles, type StampResult } from "../evidence/stamp";
import type { VerificationResult } from "../core/engine";
import { verifyEvidence } from "../evidence/verify";
import { writeFileAtomic } from "../util/fs";
import { captureUrls, type CaptureOptions, type CaptureSession } from "./browser";
import { loadCaptureKey, verifyTimeSignatures, type TimeSignature, type TimeSignatureCheck } from "./signing";
import {
  DATAPACKAGE_DIGEST,
  packageCapture,
  verifyWaczBytes,
  type CaptureRecord,
  type ImageMatcher,
  type WaczVerification,
} from "./wacz";

export * from "./browser";
export * from "./environment";
export * from "./signing";
export * from "./wacz";
export * from "./warc";
export { readZip, writeZip } from "./zip";

/** What `captureToWacz` wrote. */
export interface CaptureResult {
  out: string;
  record: CaptureRecord;
  waczBytes: number;
  rawResponseBytes: number;
  /** SHA-256 of the signed datapackage-digest.json (what gets anchored). */
  digestSha256: string;
  timeSignatures: TimeSignature[];
  tsaErrors: Array<{ tsa: string; message: string }>;
  session: Pick<CaptureSession, "startedAt" | "endedAt">;
}

/**
 * Captures URLs in a fresh Chromium and writes one signed WACZ (not yet anchored: see
 * {@link anchorCaptures}).
 *
 * @example
 * const r = await captureToWacz({ urls: ["https://shop.example/item/1"], out: "item.wacz", dataDir, version: "0.1.0" });
 */
export async function captureToWacz(
  opts: CaptureOptions & {
    out: string;
    dataDir: string;
    version: string;
    imageMatcher?: ImageMatcher;
    /** RFC 3161 TSAs to time-sign the WACZ signature with (`--tsa`). */
    tsa?: string[];
  },
): Promise<CaptureResult> {
  const key = loadCaptureKey(opts.dataDir, opts.env);
  const session = await captureUrls(opts);
  opts.onProgress?.("writing the WACZ");
  if (opts.tsa?.length) opts.onProgress?.("writing the WACZ and asking the TSA(s) for a time signature");
  const packaged = await packageCapture(session, key, {
    version: opts.version,
    imageMatcher: opts.imageMatcher,
    tsa: opts.tsa,
  });
  writeFileAtomic(opts.out, packaged.wacz);
  const digestSha256 = verifyWaczBytes(packaged.wacz).digestFile!.sha256;
  return {
    out: opts.out,
    record: packaged.record,
    waczBytes: packaged.wacz.length,
    rawResponseBytes: packaged.rawResponseBytes,
    digestSha256,
    timeSignatures: packaged.timeSignatures,
    tsaErrors: packaged.tsaErrors,
    session: { startedAt: session.startedAt, endedAt: session.endedAt },
  };
}

/** The digest anchored for a WACZ, and the metadata committed with it (covered by the leaf). */
export async function waczSubject(
  file: string,
): Promise<{ sha256: string; size: number; name: string; meta: Record<string, string> }> {
  const bytes = fs.readFileSync(file);
  const v = verifyWaczBytes(bytes);
  if (!v.digestFile) throw new ProofmarkError(v.code ?? "WACZ_INVALID", `${file}: ${v.message}`, { file: v.file });
  if (!v.ok)
    throw new ProofmarkError(
      v.code ?? "WACZ_INVALID",
      `${file} does not pass its own checks, so it is not anchored: ${v.message}`,
      { file: v.file },
    );
  return {
    sha256: v.digestFile.sha256,
    size: v.digestFile.size,
    name: DATAPACKAGE_DIGEST,
    meta: { wacz: path.basename(file), urls: (v.record?.urls ?? []).join(" "), captured: v.record?.endedAt ?? "" },
  };
}

/**
 * Anchors WACZ files like any evidence, all in one transaction: the subject of each receipt is the
 * WACZ's signed datapackage-digest.json (which fixes, through datapackage.json, every byte of the
 * capture), and the WACZ's name and URLs go into the committed metadata. Receipts go beside each
 * file (`capture.wacz.proof.json`).
 */
export function anchorCaptures(opts: {
  chain: ChainContext;
  files: string[];
  onProgress?: Parameters<typeof stampFiles>[0]["onProgress"];
}): Promise<StampResult> {
  return stampFiles({ chain: opts.chain, inputs: opts.files, subjectOf: waczSubject, onProgress: opts.onProgress });
}

/** The full verification of a capture: the WACZ offline, then its anchor through the evidence verifier. */
export interface CaptureVerification {
  ok: boolean;
  code?: ErrorCode;
  /** The file inside the WACZ (or the receipt) at fault. */
  file?: string;
  message: string;
  path: string;
  wacz: WaczVerification;
  /** The RFC 3161 time signatures of the WACZ signature, checked offline against `tsaTrust`. */
  timeSignatures: TimeSignatureCheck[];
  evidence?: VerificationResult;
  receiptPath: string;
  receiptError?: { code: ErrorCode; message: string };
}

/**
 * Verifies a captured WACZ: every offline check of {@link verifyWaczBytes}, then the receipt
 * (`<file>.proof.json` unless given) with the existing evidence verification — the digest of
 * datapackage-digest.json against the receipt, the proof, and the anchor on the receipt's chain.
 *
 * @example
 * const v = await verifyCapture({ path: "item.wacz", dataDir });
 */
export async function verifyCapture(opts: {
  path: string;
  receiptPath?: string;
  dataDir: string;
  rpc?: string[];
  minConfirmations?: number;
  parseReceipt: (text: string) => Receipt;
  /** Trusted TSA root certificates (DER), for the time signatures: see `loadTsaTrust`. */
  tsaTrust?: Uint8Array[];
}): Promise<CaptureVerification> {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(opts.path);
  } catch {
    throw new ProofmarkError("FILE_NOT_FOUND", `${opts.path}: no such file`, { path: opts.path });
  }
  const wacz = verifyWaczBytes(bytes);
  const receiptPath = opts.receiptPath ?? `${opts.path}.proof.json`;
  const result: CaptureVerification = {
    ok: false,
    message: wacz.message,
    path: opts.path,
    wacz,
    timeSignatures:
      wacz.signature.ok && wacz.signature.signedData
        ? await verifyTimeSignatures(wacz.signature.signedData, wacz.timeSignatures, opts.tsaTrust ?? [])
        : [],
    receiptPath,
    code: wacz.code,
    file: wacz.file,
  };
  let receipt: Receipt | undefined;
  try {
    receipt = opts.parseReceipt(fs.readFileSync(receiptPath, "utf8"));
  } catch (e) {
    const code: ErrorCode = isProofmarkError(e) ? e.code : "RECEIPT_NOT_FOUND";
    result.receiptError = {
      code,
      message: isProofmarkError(e)
        ? e.message
        : `no receipt at ${receiptPath}: the capture was not anchored, or the receipt was moved`,
    };
  }
  if (receipt && wacz.digestFile) {
    result.evidence = await verifyEvidence({
      receipt,
      file: { path: `${opts.path}#${DATAPACKAGE_DIGEST}`, ...wacz.digestFile },
      dataDir: opts.dataDir,
      rpc: opts.rpc,
      minConfirmations: opts.minConfirmations,
    });
  }
  if (!wacz.ok) return result;
  const badTime = result.timeSignatures.find((t) => !t.ok);
  if (badTime)
    return Object.assign(result, {
      code: badTime.code,
      file: DATAPACKAGE_DIGEST,
      message: `the time signature from ${badTime.tsa} does not hold: ${badTime.message}`,
    });
  if (result.receiptError)
    return Object.assign(result, {
      code: result.receiptError.code,
      file: path.basename(receiptPath),
      message: result.receiptError.message,
    });
  if (!result.evidence?.ok) {
    return Object.assign(result, {
      code: result.evidence?.code,
      file: result.evidence?.code === "DIGEST_MISMATCH" ? DATAPACKAGE_DIGEST : path.basename(receiptPath),
      message: result.evidence?.message ?? "not verified",
    });
  }
  return Object.assign(result, {
    ok: true,
    code: undefined,
    file: undefined,
    message: `${wacz.message}${result.timeSignatures.length ? `; time-signed by ${result.timeSignatures.map((t) => `${t.signer} at ${t.genTime}`).join(", ")}` : ""}; ${result.evidence.message}`,
  });
}

/** True when the path names a WACZ (by its extension, as the spec requires). */
export function isWaczPath(p: string): boolean {
  return /\.wacz$/i.test(p);
}
