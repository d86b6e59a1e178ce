import * as fs from "node:fs";
import * as path from "node:path";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import { type PendingReceipt, type Receipt } from "../core/receipt";
import { computeLeaf, randomSalt } from "../core/commitment";
import { readTimestampToken } from "../core/rfc3161";
import type { Hex } from "../core/hex";
import { submitPendingReceipts, type CalendarOutcome } from "../calendar/client";
import type { ChainContext } from "../chain/context";
import { stampFiles, type StampResult } from "../evidence/stamp";
import type { VerificationResult } from "../core/engine";
import { verifyEvidence } from "../evidence/verify";
import { writeFileAtomic } from "../util/fs";
import { captureUrls, type CaptureOptions, type CaptureSession } from "./browser";
import { loadCaptureKey, verifyTimeSignatures, type TimeSignature, type TimeSignatureCheck } from "./signing";
import { loadSigningIdentity, verifyIdentityTrust, type IdentitySignedData, type IdentityTrustCheck } from "./identity";
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
export * from "./identity";
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
  /** Identity mode: the domain signed as, its certificate's SHA-256, and the TSA's time of `signedData.timeSignature`. */
  identity?: { domain: string; certificateSha256: string; genTime: string };
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
    /**
     * Sign in the spec's identity mode with this domain certificate chain (PEM, leaf first) and its
     * private key (`--sign-cert`, `--sign-key`); needs `tsa`. Checked before the browser starts.
     */
    signWith?: { cert: string; key: string };
  },
): Promise<CaptureResult> {
  if (opts.signWith && !opts.tsa?.length)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      "signing with a domain certificate needs a TSA: the identity mode's timeSignature is an RFC 3161 time-stamp",
    );
  const key = opts.signWith
    ? loadSigningIdentity(opts.signWith.cert, opts.signWith.key, opts.env)
    : loadCaptureKey(opts.dataDir, opts.env);
  const session = await captureUrls(opts);
  opts.onProgress?.("writing the WACZ");
  if (opts.tsa?.length) opts.onProgress?.("writing the WACZ and asking the TSA(s) for a time signature");
  const packaged = await packageCapture(session, key, {
    version: opts.version,
    imageMatcher: opts.imageMatcher,
    tsa: opts.tsa,
  });
  writeFileAtomic(opts.out, packaged.wacz);
  const written = verifyWaczBytes(packaged.wacz);
  const digestSha256 = written.digestFile!.sha256;
  const signed = written.signature.signedData as IdentitySignedData | undefined;
  return {
    out: opts.out,
    record: packaged.record,
    waczBytes: packaged.wacz.length,
    rawResponseBytes: packaged.rawResponseBytes,
    digestSha256,
    timeSignatures: packaged.timeSignatures,
    tsaErrors: packaged.tsaErrors,
    ...(written.signature.mode === "identity" && signed
      ? {
          identity: {
            domain: signed.domain,
            certificateSha256: written.signature.certificate!.sha256,
            genTime: readTimestampToken(new Uint8Array(Buffer.from(signed.timeSignature, "base64"))).genTime,
          },
        }
      : {}),
    session: { startedAt: session.startedAt, endedAt: session.endedAt },
  };
}

/** What is committed for a capture: its signed datapackage-digest.json and the metadata that names it. */
export interface CaptureSubject {
  sha256: string;
  size: number;
  name: string;
  meta: Record<string, string>;
}

/** The digest anchored for a WACZ, and the metadata committed with it (covered by the leaf). */
export async function waczSubject(file: string): Promise<CaptureSubject> {
  const v = verifyWaczBytes(fs.readFileSync(file));
  if (!v.digestFile) throw new ProofmarkError(v.code ?? "WACZ_INVALID", `${file}: ${v.message}`, { file: v.file });
  return checkedSubject(file, { ...v, digestFile: v.digestFile });
}

/**
 * What `stamp` (and `upgrade`) commit for a file: for a `.wacz` that holds a
 * datapackage-digest.json, the same subject as {@link anchorCaptures} (so a capture whose anchoring
 * failed can be anchored later, and `verify capture.wacz` checks that receipt); undefined for any
 * other file — its own bytes are committed. A capture that fails its own checks is not anchored.
 */
export async function captureSubjectOf(file: string): Promise<CaptureSubject | undefined> {
  if (!isWaczPath(file)) return undefined;
  const v = verifyWaczBytes(fs.readFileSync(file));
  return v.digestFile ? checkedSubject(file, { ...v, digestFile: v.digestFile }) : undefined;
}

function checkedSubject(
  file: string,
  v: WaczVerification & { digestFile: { sha256: string; size: number } },
): CaptureSubject {
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

/** What {@link submitCapturesToCalendars} wrote: one pending receipt per WACZ. */
export interface CaptureSubmission {
  receipts: Array<{ file: string; receiptPath: string; leaf: Hex; sha256: string; receipt: PendingReceipt }>;
  /** Each calendar's outcome (a calendar that did not answer is listed, not fatal while another did). */
  calendars: CalendarOutcome[];
}

/**
 * Anchors WACZ files through calendars (\`proofmark calendar serve\`): the same subject and committed
 * metadata as {@link anchorCaptures} (the signed datapackage-digest.json, the WACZ's name and URLs),
 * but the leaves go to the calendars, which anchor them in their next batch — no key, no gas. A
 * PENDING receipt is written beside each file at once (\`capture.wacz.proof.json\`); \`upgrade\`
 * completes it. Throws CALENDAR_UNREACHABLE (nothing written) when no calendar acknowledged.
 *
 * @example
 * const s = await submitCapturesToCalendars({ files: ["item.wacz"], calendars: ["http://127.0.0.1:8090"] });
 */
export async function submitCapturesToCalendars(opts: {
  files: string[];
  calendars: string[];
  timeoutMs?: number;
}): Promise<CaptureSubmission> {
  const items = await Promise.all(
    opts.files.map(async (file) => {
      const s = await waczSubject(file);
      const salt = randomSalt();
      return {
        file,
        subject: { name: s.name, size: s.size, sha256: s.sha256 },
        commitment: { salt, meta: s.meta, leaf: computeLeaf({ sha256: s.sha256, salt, meta: s.meta }) },
      };
    }),
  );
  const submitted = await submitPendingReceipts(
    items.map((item) => ({ ...item, receiptPath: `${item.file}.proof.json` })),
    opts.calendars,
    { timeoutMs: opts.timeoutMs },
  );
  return {
    receipts: submitted.written.map(({ item, receipt }) => ({
      file: item.file,
      receiptPath: item.receiptPath,
      leaf: item.commitment.leaf,
      sha256: item.subject.sha256,
      receipt,
    })),
    calendars: submitted.calendars,
  };
}

/** The digest a WACZ's receipt covers (its signed datapackage-digest.json), for \`upgrade\` and \`verify\`. */
export async function waczDigest(file: string): Promise<{ path: string; sha256: string; size: number }> {
  const s = await waczSubject(file);
  return { path: `${file}#${DATAPACKAGE_DIGEST}`, sha256: s.sha256, size: s.size };
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
  /** Identity mode: the domain certificate's chain and time-stamp, checked against `certTrust` and `tsaTrust`. */
  identity?: IdentityTrustCheck;
  evidence?: VerificationResult;
  /** How the receipt was checked when that needs saying (a pending receipt completed in memory, a calendar down). */
  receiptNote?: string;
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
  /** Reads the receipt; a pending one (captured with a calendar) is accepted when this returns it. */
  parseReceipt: (text: string) => Receipt | PendingReceipt;
  /**
   * Checks the receipt against the digest of datapackage-digest.json (default: the evidence
   * verifier). The CLI passes one that first completes a pending receipt from its calendar in memory.
   * A pending receipt that stays pending never verifies (status "pending", RECEIPT_PENDING).
   */
  verifyReceipt?: (
    receipt: Receipt | PendingReceipt,
    file: { path: string; sha256: string; size: number },
  ) => Promise<{ result: VerificationResult; note?: string }>;
  /** Trusted TSA root certificates (DER), for the time signatures: see `loadTsaTrust`. */
  tsaTrust?: Uint8Array[];
  /** Trusted roots (DER) for an identity-mode signature's domain certificate: see `loadCertTrust`. */
  certTrust?: Uint8Array[];
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
    ...(wacz.signature.ok && wacz.signature.mode === "identity"
      ? {
          identity: await verifyIdentityTrust(wacz.signature.signedData as IdentitySignedData, {
            certTrust: opts.certTrust ?? [],
            tsaTrust: opts.tsaTrust ?? [],
          }),
        }
      : {}),
    receiptPath,
    code: wacz.code,
    file: wacz.file,
  };
  let receipt: Receipt | PendingReceipt | undefined;
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
    const file = { path: `${opts.path}#${DATAPACKAGE_DIGEST}`, ...wacz.digestFile };
    const checked = opts.verifyReceipt
      ? await opts.verifyReceipt(receipt, file)
      : {
          result: await verifyEvidence({
            receipt: receipt as Receipt,
            file,
            dataDir: opts.dataDir,
            rpc: opts.rpc,
            minConfirmations: opts.minConfirmations,
          }),
        };
    result.evidence = checked.result;
    if (checked.note) result.receiptNote = checked.note;
  }
  if (!wacz.ok) return result;
  if (result.identity && !result.identity.ok)
    return Object.assign(result, {
      code: result.identity.code,
      file: DATAPACKAGE_DIGEST,
      message: `the identity signature of ${result.identity.domain} does not hold: ${result.identity.message}`,
    });
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
    message: `${wacz.message}${result.identity?.timeStamp ? ` (chain ${result.identity.chain.join(" ← ")}, time-stamped by ${result.identity.timeStamp.signer} at ${result.identity.timeStamp.genTime})` : ""}${result.timeSignatures.length ? `; time-signed by ${result.timeSignatures.map((t) => `${t.signer} at ${t.genTime}`).join(", ")}` : ""}; ${result.evidence.message}`,
  });
}

/** True when the path names a WACZ (by its extension, as the spec requires). */
export function isWaczPath(p: string): boolean {
  return /\.wacz$/i.test(p);
}
