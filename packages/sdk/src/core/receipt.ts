import { canonicalMetaJson, computeLeaf, type EvidenceMeta } from "./commitment";
import { ProofmarkError } from "./errors";
import { isHexOfLength, type Hex } from "./hex";
import { JsonSyntaxError, parseJsonStrict } from "./json";
import { maxProofLength, processProof } from "./merkle";
import { parseAttestation, type Attestation } from "./statement";

/**
 * The evidence receipt, `proofmark-receipt`: everything needed to verify one file with the file
 * itself plus one read of each witness. Version 1: anchors only. Version 2 (docs/receipt.md) adds
 * independent witnesses — `timestamps[]` (RFC 3161 tokens over the root), `attestations[]` (the
 * calendar's acknowledgement, the submitter's own statement), `calendars[]` (where to complete it)
 * — and a pending form (no proof, no anchor yet; at least one calendar acknowledgement). Parsing is
 * strict: an unknown format or version, a malformed value, or a field that does not belong is an
 * error (RECEIPT_INVALID). `parseReceipt` returns complete receipts only (a pending one is
 * RECEIPT_PENDING); `parseAnyReceipt` also returns pending ones.
 */

export const RECEIPT_FORMAT = "proofmark-receipt";
/** The version a receipt without witnesses beyond anchors is written in (read forever). */
export const RECEIPT_VERSION = 1;
/** The version of receipts with timestamps, attestations, several calendars, or a pending form. */
export const RECEIPT_VERSION_WITNESSES = 2;

export interface ReceiptSubject {
  /** File name (base name) at stamping time. */
  name: string;
  /** Size in bytes (absent only in a v2 receipt of a bare digest: `stamp --sha256`). */
  size?: number;
  /** SHA-256 of the file, 64 lower-case hex digits. */
  sha256: string;
  /** Content identifier of the file (or of its ciphertext) in a content store, when kept. */
  cid?: string;
}

export interface ReceiptCommitment {
  salt: Hex;
  meta: EvidenceMeta;
  leaf: Hex;
}

export interface ReceiptProof {
  root: Hex;
  path: Hex[];
  leafCount: number;
}

export interface ReceiptAnchor {
  chainId: number;
  registry: Hex;
  txHash: Hex;
  blockNumber: number;
  blockHash: Hex;
  /** Block timestamp, seconds since the Unix epoch (UTC). */
  timestamp: number;
  submitter: Hex;
}

/** The one encryption scheme receipts name: chunked AES-256-GCM (see store/encrypt.ts). */
export const RECEIPT_ENCRYPTION_ALGS = ["aes-256-gcm-stream-v1"] as const;

/** Encryption of a file kept encrypted in a content store: the ciphertext is at subject.cid. */
export interface ReceiptEncryption {
  alg: string;
  /** The 32-byte AES key. Only the receipt holds it. */
  key: Hex;
}

/** An RFC 3161 token over SHA-256 of the proof's root (v2). */
export interface ReceiptTimestamp {
  /** Where the token came from (informative: trust comes from the certificate chain). */
  tsa: string;
  /** The DER TimeStampToken (CMS ContentInfo, with the TSA's certificates), base64. */
  token: string;
  /** genTime as the token states it (informative: verification re-reads it from the token). */
  genTime: string;
}

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  version: typeof RECEIPT_VERSION | typeof RECEIPT_VERSION_WITNESSES;
  subject: ReceiptSubject;
  commitment: ReceiptCommitment;
  proof: ReceiptProof;
  anchors: ReceiptAnchor[];
  /** v2: RFC 3161 tokens over the root. */
  timestamps?: ReceiptTimestamp[];
  /** v2: calendar acknowledgements and the submitter's statement over the leaf. */
  attestations?: Attestation[];
  /** v2: the calendars the leaf was submitted to (base URLs), where `upgrade` asks for the proof. */
  calendars?: string[];
  encryption?: ReceiptEncryption;
}

/** A v2 receipt still waiting for its calendar(s): acknowledged, not anchored yet. */
export interface PendingReceipt extends Omit<Receipt, "proof" | "version"> {
  version: typeof RECEIPT_VERSION_WITNESSES;
  pending: true;
  attestations: Attestation[];
  calendars: string[];
}

/** True for a pending receipt (from {@link parseAnyReceipt}). */
export function isPendingReceipt(r: Receipt | PendingReceipt): r is PendingReceipt {
  return (r as PendingReceipt).pending === true;
}

/** The largest receipt read (bytes): a v1 receipt of a tree of 2^53 leaves is under 5 KB; more is not a receipt. */
export const RECEIPT_MAX_BYTES = 1 << 20;
/** The most anchors one receipt may name (each costs RPC reads; each (chainId, registry) at most once). */
export const RECEIPT_MAX_ANCHORS = 32;
/** The most RFC 3161 tokens, attestations and calendars one v2 receipt may carry (each). */
export const RECEIPT_MAX_WITNESSES = 32;

type Json = Record<string, unknown>;

/** Meta keys no receipt may carry: `__proto__` is a prototype, not a key, to JavaScript's `obj[key] =`, so it would not be committed as shown. */
const FORBIDDEN_META_KEYS = new Set(["__proto__"]);
/** C0 and C1 control characters, DEL, and the Unicode bidi controls (they reorder what a terminal or page shows). */
export const CONTROL_CHARS_RE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function invalid(message: string, details: Record<string, unknown> = {}): never {
  throw new ProofmarkError("RECEIPT_INVALID", `receipt is invalid: ${message}`, details);
}

function object(value: unknown, where: string, required: string[], optional: string[] = []): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) invalid(`${where} must be an object`);
  const obj = value as Json;
  for (const key of required) if (!(key in obj)) invalid(`${where}.${key} is missing`);
  for (const key of Object.keys(obj)) {
    if (!required.includes(key) && !optional.includes(key)) invalid(`${where}.${key} is not a field of ${where}`);
  }
  return obj;
}

function hex(value: unknown, bytes: number, where: string): Hex {
  if (!isHexOfLength(value, bytes)) invalid(`${where} must be 0x followed by ${bytes * 2} lower-case hex digits`);
  return value;
}

function uint(value: unknown, where: string, min = 0): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min)
    invalid(`${where} must be an integer ≥ ${min}`);
  return value;
}

/**
 * Parses and checks a receipt (JSON text or an already parsed value). Also checks internal
 * consistency: the leaf matches salt, metadata and digest, and the path folds to the root.
 *
 * @example
 * const receipt = parseReceipt(fs.readFileSync("design.png.proof.json", "utf8"));
 */
export function parseReceipt(input: string | unknown): Receipt {
  const r = parseAnyReceipt(input);
  if (isPendingReceipt(r))
    throw new ProofmarkError(
      "RECEIPT_PENDING",
      "the receipt is pending: a calendar acknowledged its leaf, but it is not anchored yet; complete it from its calendar first",
      { calendars: r.calendars },
    );
  return r;
}

/**
 * Parses a receipt like {@link parseReceipt}, and also returns a v2 receipt that is still pending
 * (no proof and no anchor yet, one or more calendar acknowledgements of its leaf).
 */
export function parseAnyReceipt(input: string | unknown): Receipt | PendingReceipt {
  let value = input;
  if (typeof input === "string") {
    // (a UTF-16 code unit is at most 3 UTF-8 bytes: count bytes only for texts that could exceed the bound)
    if (
      input.length > RECEIPT_MAX_BYTES ||
      (input.length * 3 > RECEIPT_MAX_BYTES && utf8Length(input) > RECEIPT_MAX_BYTES)
    ) {
      throw new ProofmarkError(
        "RECEIPT_TOO_LARGE",
        `receipt is larger than ${RECEIPT_MAX_BYTES} bytes; a receipt is a few kilobytes — this is not a receipt`,
        { limit: RECEIPT_MAX_BYTES },
      );
    }
    try {
      value = parseJsonStrict(input);
    } catch (e) {
      if (!(e instanceof JsonSyntaxError)) throw e;
      invalid(`not JSON as a receipt must be (${e.message})`);
    }
  }
  const head = object(value, "receipt", [], Object.keys((value ?? {}) as Json));
  if (head.format !== RECEIPT_FORMAT) invalid(`format is ${JSON.stringify(head.format)}, expected "${RECEIPT_FORMAT}"`);
  if (head.version !== RECEIPT_VERSION && head.version !== RECEIPT_VERSION_WITNESSES)
    invalid(
      `version ${JSON.stringify(head.version)} is not supported (this Proofmark reads versions ${RECEIPT_VERSION} and ${RECEIPT_VERSION_WITNESSES})`,
    );
  const v2 = head.version === RECEIPT_VERSION_WITNESSES;
  const pending = v2 && !("proof" in head);
  const top = object(
    value,
    "receipt",
    ["format", "version", "subject", "commitment", ...(pending ? [] : ["proof"]), "anchors"],
    ["encryption", ...(v2 ? ["timestamps", "attestations", "calendars"] : [])],
  );

  const s = object(
    top.subject,
    "subject",
    ["name", "sha256", ...(v2 ? [] : ["size"])],
    ["cid", ...(v2 ? ["size"] : [])],
  );
  if (typeof s.name !== "string" || s.name.length === 0 || s.name.length > 1024)
    invalid("subject.name must be a non-empty string");
  if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256))
    invalid("subject.sha256 must be 64 lower-case hex digits");
  if (
    s.cid !== undefined &&
    (typeof s.cid !== "string" || !/^[a-z2-7]{20,}$|^b[a-z2-7]+$|^Qm[1-9A-HJ-NP-Za-km-z]{44}$/.test(s.cid))
  )
    invalid("subject.cid must be a CID string");
  const subject: ReceiptSubject = { name: s.name, sha256: s.sha256 };
  if (s.size !== undefined) subject.size = uint(s.size, "subject.size");
  if (s.cid !== undefined) subject.cid = s.cid as string;

  const c = object(top.commitment, "commitment", ["salt", "meta", "leaf"]);
  const meta = object(c.meta, "commitment.meta", [], Object.keys((c.meta ?? {}) as Json));
  for (const [k, v] of Object.entries(meta)) {
    if (FORBIDDEN_META_KEYS.has(k)) invalid(`commitment.meta has the key ${JSON.stringify(k)}, which receipts forbid`);
    if (k.length === 0 || k.length > 256 || CONTROL_CHARS_RE.test(k))
      invalid(`commitment.meta key ${JSON.stringify(k)} must be 1–256 characters without control characters`);
    if (typeof v !== "string") invalid(`commitment.meta.${k} must be a string`);
  }
  const plainMeta: EvidenceMeta = {};
  for (const [k, v] of Object.entries(meta)) plainMeta[k] = v as string;
  const commitment: ReceiptCommitment = {
    salt: hex(c.salt, 32, "commitment.salt"),
    meta: plainMeta,
    leaf: hex(c.leaf, 32, "commitment.leaf"),
  };

  let proof: ReceiptProof | undefined;
  if (!pending) {
    const p = object(top.proof, "proof", ["root", "path", "leafCount"]);
    if (!Array.isArray(p.path)) invalid("proof.path must be an array");
    proof = {
      root: hex(p.root, 32, "proof.root"),
      path: (p.path as unknown[]).map((h, i) => hex(h, 32, `proof.path[${i}]`)),
      leafCount: uint(p.leafCount, "proof.leafCount", 1),
    };
    if (proof.path.length > maxProofLength(proof.leafCount))
      invalid(
        `proof.path has ${proof.path.length} elements; a tree of ${proof.leafCount} leaves has at most ${maxProofLength(proof.leafCount)}`,
      );
  }

  if (!Array.isArray(top.anchors)) invalid("anchors must be an array");
  if (pending && top.anchors.length > 0) invalid("anchors must be empty in a pending receipt (it has no proof)");
  if (!pending && !v2 && top.anchors.length === 0) invalid("anchors must be a non-empty array");
  if (top.anchors.length > RECEIPT_MAX_ANCHORS)
    invalid(`anchors has ${top.anchors.length} entries; at most ${RECEIPT_MAX_ANCHORS}`);
  const anchors = (top.anchors as unknown[]).map((a, i): ReceiptAnchor => {
    const w = `anchors[${i}]`;
    const o = object(a, w, ["chainId", "registry", "txHash", "blockNumber", "blockHash", "timestamp", "submitter"]);
    return {
      chainId: uint(o.chainId, `${w}.chainId`, 1),
      registry: hex(o.registry, 20, `${w}.registry`),
      txHash: hex(o.txHash, 32, `${w}.txHash`),
      blockNumber: uint(o.blockNumber, `${w}.blockNumber`),
      blockHash: hex(o.blockHash, 32, `${w}.blockHash`),
      timestamp: uint(o.timestamp, `${w}.timestamp`),
      submitter: hex(o.submitter, 20, `${w}.submitter`),
    };
  });

  const seen = new Set<string>();
  anchors.forEach((a, i) => {
    // v2: a chain is one witness, named once (two registries on one chain are one clock, not two)
    const key = v2 ? `${a.chainId}` : `${a.chainId}/${a.registry}`;
    if (seen.has(key))
      invalid(
        v2
          ? `anchors[${i}] names chain ${a.chainId} again; in a v2 receipt each chain is one witness, named once`
          : `anchors[${i}] names chain ${a.chainId} and registry ${a.registry} again; each registry is named once`,
      );
    seen.add(key);
  });

  const receipt = {
    format: RECEIPT_FORMAT,
    version: head.version,
    subject,
    commitment,
    ...(proof ? { proof } : {}),
    anchors,
  } as Receipt;
  if (v2) parseWitnesses(top, receipt, pending);
  if (!pending && v2 && anchors.length === 0 && (receipt.timestamps ?? []).length === 0)
    invalid("a complete receipt needs at least one anchor or RFC 3161 token");
  if (top.encryption !== undefined) {
    const e = object(top.encryption, "encryption", ["alg", "key"]);
    if (typeof e.alg !== "string" || !(RECEIPT_ENCRYPTION_ALGS as readonly string[]).includes(e.alg))
      invalid(`encryption.alg must be one of ${RECEIPT_ENCRYPTION_ALGS.join(", ")}`);
    if (top.subject && (top.subject as Json).cid === undefined)
      invalid("encryption needs subject.cid (the stored ciphertext)");
    receipt.encryption = { alg: e.alg, key: hex(e.key, 32, "encryption.key") };
  }

  const leaf = computeLeaf({ sha256: subject.sha256, salt: commitment.salt, meta: commitment.meta });
  if (leaf !== commitment.leaf)
    invalid("commitment.leaf does not match subject.sha256, salt and meta", {
      reason: "leaf",
      expected: leaf,
      actual: commitment.leaf,
    });
  if (pending) {
    const p = receipt as unknown as PendingReceipt;
    p.pending = true;
    if (p.attestations.every((a) => a.type !== "calendar"))
      invalid("a pending receipt needs at least one calendar acknowledgement in attestations");
    if (p.calendars.length === 0) invalid("a pending receipt needs calendars (where to complete it)");
    return p;
  }
  const folded = processProof(commitment.leaf, proof!.path);
  if (folded.root !== proof!.root) invalid("proof.path does not lead from the leaf to proof.root", { reason: "path" });
  parsed.set(receipt, { key: offlineKey(receipt), leaf, root: folded.root, nodes: folded.steps });
  return receipt;
}

/** v2's witness lists: timestamps, attestations, calendars — each entry strict, none twice. */
function parseWitnesses(top: Json, receipt: Receipt, pending: boolean): void {
  const list = (key: string): unknown[] => {
    const v = top[key] ?? [];
    if (!Array.isArray(v)) invalid(`${key} must be an array`);
    if (v.length > RECEIPT_MAX_WITNESSES) invalid(`${key} has ${v.length} entries; at most ${RECEIPT_MAX_WITNESSES}`);
    return v;
  };
  const once = <T>(items: T[], key: (x: T) => string, what: string): T[] => {
    const seen = new Set<string>();
    items.forEach((x, i) => {
      const k = key(x);
      if (seen.has(k)) invalid(`${what}[${i}] repeats an earlier entry; each witness is named once`);
      seen.add(k);
    });
    return items;
  };
  const timestamps = list("timestamps").map((t, i): ReceiptTimestamp => {
    const w = `timestamps[${i}]`;
    const o = object(t, w, ["tsa", "token", "genTime"]);
    if (typeof o.tsa !== "string" || o.tsa.length === 0 || o.tsa.length > 1024 || CONTROL_CHARS_RE.test(o.tsa))
      invalid(`${w}.tsa must be a URL without control characters`);
    if (typeof o.token !== "string" || o.token.length > 64 * 1024 || !/^[A-Za-z0-9+/]+={0,2}$/.test(o.token))
      invalid(`${w}.token must be base64 (a DER TimeStampToken of at most 48 KiB)`);
    if (typeof o.genTime !== "string" || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(o.genTime))
      invalid(`${w}.genTime must be an ISO 8601 UTC time`);
    return { tsa: o.tsa, token: o.token, genTime: o.genTime };
  });
  if (pending && timestamps.length > 0) invalid("timestamps must be empty in a pending receipt (there is no root yet)");
  const attestations = list("attestations").map((a, i): Attestation => {
    try {
      return parseAttestation(a);
    } catch (e) {
      return invalid(`attestations[${i}]: ${(e as Error).message}`);
    }
  });
  attestations.forEach((a, i) => {
    const leaf = a.type === "calendar" ? a.leaf : a.message.leaf;
    if (leaf !== receipt.commitment.leaf)
      invalid(`attestations[${i}] (${a.type}) is about leaf ${leaf}, not this receipt's leaf`, {
        reason: "attestation-leaf",
      });
  });
  const calendars = list("calendars").map((c, i) => {
    if (typeof c !== "string" || !/^https?:\/\/[^\s]{1,1000}$/.test(c) || CONTROL_CHARS_RE.test(c))
      invalid(`calendars[${i}] must be an http(s) URL`);
    return c;
  });
  receipt.timestamps = once(timestamps, (t) => t.token, "timestamps");
  receipt.attestations = once(attestations, (a) => a.signature, "attestations");
  receipt.calendars = once(calendars, (c) => c, "calendars");
}

/**
 * What the parser computed for each receipt it returned (leaf and path nodes), so that verifying it
 * does not hash the same leaf and path twice. Keyed by the object and checked against every input
 * value, so a receipt changed after parsing is computed afresh.
 */
const parsed = new WeakMap<Receipt, { key: string; leaf: Hex; root: Hex; nodes: Hex[] }>();

function offlineKey(r: Receipt): string {
  return [
    r.subject.sha256,
    r.commitment.salt,
    canonicalMetaJson(r.commitment.meta),
    r.commitment.leaf,
    r.proof.root,
    ...r.proof.path,
  ].join("|");
}

/** The parser's leaf and path nodes for `receipt`, when it parsed exactly this receipt as it is now. */
export function checkedByParser(receipt: Receipt): { leaf: Hex; root: Hex; nodes: Hex[] } | undefined {
  const p = parsed.get(receipt);
  return p && p.key === offlineKey(receipt) ? p : undefined;
}

/** Bytes of `text` in UTF-8, without encoding it. */
function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c < 0xdc00 ? (i++, 4) : 3;
  }
  return n;
}

/**
 * The receipt's fields that the commitment does NOT cover: anyone holding the receipt can change
 * them without breaking it, so they are shown as claims, never as evidence. (`subject.sha256`
 * is covered through the leaf; `commitment.meta` too; the anchors are checked against the chain.)
 */
export function uncoveredFields(receipt: Receipt): Array<{ field: string; value: string }> {
  const out = [{ field: "subject.name", value: receipt.subject.name }];
  if (receipt.subject.size !== undefined) out.push({ field: "subject.size", value: String(receipt.subject.size) });
  if (receipt.subject.cid !== undefined) out.push({ field: "subject.cid", value: receipt.subject.cid });
  return out;
}

/** The receipt as JSON text, fields in their documented order, 2-space indent, final newline. */
export function serializeReceipt(receipt: Receipt | PendingReceipt): string {
  const v2 = receipt.version === RECEIPT_VERSION_WITNESSES;
  const proof = (receipt as Receipt).proof;
  const ordered = {
    format: RECEIPT_FORMAT,
    version: receipt.version,
    subject: {
      name: receipt.subject.name,
      ...(receipt.subject.size !== undefined ? { size: receipt.subject.size } : {}),
      sha256: receipt.subject.sha256,
      ...(receipt.subject.cid !== undefined ? { cid: receipt.subject.cid } : {}),
    },
    commitment: { salt: receipt.commitment.salt, meta: receipt.commitment.meta, leaf: receipt.commitment.leaf },
    ...(proof ? { proof: { root: proof.root, path: proof.path, leafCount: proof.leafCount } } : {}),
    anchors: receipt.anchors.map((a) => ({
      chainId: a.chainId,
      registry: a.registry,
      txHash: a.txHash,
      blockNumber: a.blockNumber,
      blockHash: a.blockHash,
      timestamp: a.timestamp,
      submitter: a.submitter,
    })),
    ...(v2
      ? {
          timestamps: (receipt.timestamps ?? []).map((t) => ({ tsa: t.tsa, token: t.token, genTime: t.genTime })),
          attestations: receipt.attestations ?? [],
          calendars: receipt.calendars ?? [],
        }
      : {}),
    ...(receipt.encryption !== undefined
      ? { encryption: { alg: receipt.encryption.alg, key: receipt.encryption.key } }
      : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
