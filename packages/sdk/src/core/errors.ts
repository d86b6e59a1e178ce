/**
 * Typed errors with stable codes. Every code is documented once, in docs/errors.md
 * (why it happens, how to fix it). Recognise an error by its code, not by `instanceof`
 * (several copies of the SDK may be loaded): `isProofmarkError(e, "NOT_ANCHORED")`.
 */

/** All error codes the SDK and CLI raise. */
export const ERROR_CODES = [
  "INVALID_ARGUMENT",
  "FILE_NOT_FOUND",
  "NO_FILES",
  "RECEIPT_INVALID",
  "RECEIPT_NOT_FOUND",
  "RECEIPT_TOO_LARGE",
  "DIGEST_MISMATCH",
  "PROOF_INVALID",
  "NOT_ANCHORED",
  "ANCHOR_MISMATCH",
  "NOT_CONFIRMED",
  "CHAIN_MISMATCH",
  "REGISTRY_NOT_FOUND",
  "REGISTRY_UNKNOWN",
  "RPC_DISAGREEMENT",
  "HISTORY_UNAVAILABLE",
  "RPC_UNREACHABLE",
  "TX_FAILED",
  "KEY_UNAVAILABLE",
  "NODE_FAILED",
  "NETWORK_UNKNOWN",
  "QUEUE_CORRUPT",
  "BUSY",
  "CID_MISMATCH",
  "BLOCK_MISSING",
  "DECRYPT_FAILED",
  "STORE_FAILED",
  "STORE_CORRUPT",
  "DISK_FULL",
  "DATA_CORRUPT",
  "FILE_CHANGED",
  "INPUT_TOO_LARGE",
  "EPCIS_INVALID",
  "FONT_MISSING",
  "PRODUCT_NOT_FOUND",
  "LOT_NOT_FOUND",
  "LOT_NOT_ACTIVE",
  "LOT_RECALLED",
  "ROLE_MISSING",
  "LICENCE_MISSING",
  "QUOTA_EXCEEDED",
  "QUANTITY_EXCEEDED",
  "YIELD_EXCEEDED",
  "IMPORT_INVALID",
  "TRACE_BROKEN",
  "TRACE_UNVERIFIABLE",
  "TIMESTAMP_MALFORMED",
  "TIMESTAMP_MISMATCH",
  "TIMESTAMP_UNTRUSTED",
  "TIMESTAMP_INVALID",
  "TSA_FAILED",
  "STATEMENT_INVALID",
  "STATEMENT_SIGNER_MISMATCH",
  "CALENDAR_REQUEST_INVALID",
  "CALENDAR_LEAF_UNKNOWN",
  "CALENDAR_BUSY",
  "CALENDAR_STORE_FAILED",
  "RECEIPT_PENDING",
  "CALENDAR_UNREACHABLE",
  "CALENDAR_PROOF_INVALID",
  "POLICY_NOT_MET",
  "RESOLVER_MISSING",
  "CODE_MALFORMED",
  "CHAIN_FOREIGN",
  "CHAIN_STATE_CORRUPT",
  "CAPTURE_FAILED",
  "WACZ_INVALID",
  "WACZ_FILE_MISMATCH",
  "WARC_DIGEST_MISMATCH",
  "WACZ_SIGNATURE_INVALID",
  "WACZ_CERT_DOMAIN_MISMATCH",
  "WACZ_CERT_NOT_VALID",
  "WACZ_CERT_UNTRUSTED",
  "IMAGE_UNREADABLE",
  "FINGERPRINT_INVALID",
  "NO_MATCH",
  "FINGERPRINT_INDEX_NEWER",
  "WATERMARK_FAILED",
  "LOCAL_FEATURES_FAILED",
  "RELAY_UNAVAILABLE",
  "RELAY_REQUEST_INVALID",
  "RELAY_SIGNATURE_INVALID",
  "RELAY_REQUEST_EXPIRED",
  "RELAY_NONCE_USED",
  "RELAY_REQUEST_UNKNOWN",
  "RELAY_REQUEST_STALE",
  "RELAY_RATE_LIMITED",
  "RELAY_CANNOT_PAY",
  "RELAY_SIGNATURE_MISSING",
  "RELAY_SIGNATURE_STALE",
  "RELAY_SIGNATURE_REPLAYED",
  "RELAY_PHOTO_QUOTA",
  "RELAY_TURNS_UNSENT",
  "PARTICIPANT_NOT_FOUND",
  "PORTAL_STORE_FAILED",
  "PORTAL_INDEX_CONFLICT",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const BRAND = Symbol.for("proofmark.error");

/**
 * The one error class of Proofmark. `code` is stable; `message` says what happened and what
 * to do; `details` carries the values involved (never secrets).
 *
 * @example
 * throw new ProofmarkError("CHAIN_MISMATCH", "receipt names chain 1 but the RPC serves 31337",
 *   { expected: 1, actual: 31337 });
 */
export class ProofmarkError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ProofmarkError";
    this.code = code;
    this.details = details;
  }

  toJSON(): { code: ErrorCode; message: string; details: Record<string, unknown> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

/**
 * True when `e` is a Proofmark error (optionally with the given code), whichever copy of the
 * SDK created it.
 *
 * @example
 * try { await verifyReceipt(...) } catch (e) { if (isProofmarkError(e, "NOT_ANCHORED")) ... }
 */
export function isProofmarkError(e: unknown, code?: ErrorCode): e is ProofmarkError {
  return (
    typeof e === "object" &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ProofmarkError).code === code)
  );
}
