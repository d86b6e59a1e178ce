import { canonicalMetaJson, computeLeaf, type EvidenceMeta } from "./commitment";
import { ProofmarkError } from "./errors";
import { isHexOfLength, type Hex } from "./hex";
import { JsonSyntaxError, parseJsonStrict } from "./json";
import { maxProofLength, processProof } from "./merkle";

/**
 * The evidence receipt, `proofmark-receipt` version 1: everything needed to verify one file
 * with the file itself plus one read of the chain. Parsing is strict: an unknown format or
 * version, a malformed value, or a field that does not belong is an error (RECEIPT_INVALID).
 */

export const RECEIPT_FORMAT = "proofmark-receipt";
export const RECEIPT_VERSION = 1;

export interface ReceiptSubject {
  /** File name (base name) at stamping time. */
  name: string;
  /** Size in bytes. */
  size: number;
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

export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  version: typeof RECEIPT_VERSION;
  subject: ReceiptSubject;
  commitment: ReceiptCommitment;
  proof: ReceiptProof;
  anchors: ReceiptAnchor[];
  encryption?: ReceiptEncryption;
}

/** The largest receipt read (bytes): a v1 receipt of a tree of 2^53 leaves is under 5 KB; more is not a receipt. */
export const RECEIPT_MAX_BYTES = 1 << 20;
/** The most anchors one receipt may name (each costs RPC reads; each (chainId, registry) at most once). */
export const RECEIPT_MAX_ANCHORS = 32;

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
  const top = object(
    value,
    "receipt",
    ["format", "version", "subject", "commitment", "proof", "anchors"],
    ["encryption"],
  );
  if (top.format !== RECEIPT_FORMAT) invalid(`format is ${JSON.stringify(top.format)}, expected "${RECEIPT_FORMAT}"`);
  if (top.version !== RECEIPT_VERSION)
    invalid(
      `version ${JSON.stringify(top.version)} is not supported (this Proofmark reads version ${RECEIPT_VERSION})`,
    );

  const s = object(top.subject, "subject", ["name", "size", "sha256"], ["cid"]);
  if (typeof s.name !== "string" || s.name.length === 0 || s.name.length > 1024)
    invalid("subject.name must be a non-empty string");
  if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256))
    invalid("subject.sha256 must be 64 lower-case hex digits");
  if (
    s.cid !== undefined &&
    (typeof s.cid !== "string" || !/^[a-z2-7]{20,}$|^b[a-z2-7]+$|^Qm[1-9A-HJ-NP-Za-km-z]{44}$/.test(s.cid))
  )
    invalid("subject.cid must be a CID string");
  const subject: ReceiptSubject = { name: s.name, size: uint(s.size, "subject.size"), sha256: s.sha256 };
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

  const p = object(top.proof, "proof", ["root", "path", "leafCount"]);
  if (!Array.isArray(p.path)) invalid("proof.path must be an array");
  const proof: ReceiptProof = {
    root: hex(p.root, 32, "proof.root"),
    path: (p.path as unknown[]).map((h, i) => hex(h, 32, `proof.path[${i}]`)),
    leafCount: uint(p.leafCount, "proof.leafCount", 1),
  };
  if (proof.path.length > maxProofLength(proof.leafCount))
    invalid(
      `proof.path has ${proof.path.length} elements; a tree of ${proof.leafCount} leaves has at most ${maxProofLength(proof.leafCount)}`,
    );

  if (!Array.isArray(top.anchors) || top.anchors.length === 0) invalid("anchors must be a non-empty array");
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
    const key = `${a.chainId}/${a.registry}`;
    if (seen.has(key))
      invalid(`anchors[${i}] names chain ${a.chainId} and registry ${a.registry} again; each registry is named once`);
    seen.add(key);
  });

  const receipt: Receipt = { format: RECEIPT_FORMAT, version: RECEIPT_VERSION, subject, commitment, proof, anchors };
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
  const folded = processProof(commitment.leaf, proof.path);
  if (folded.root !== proof.root) invalid("proof.path does not lead from the leaf to proof.root", { reason: "path" });
  parsed.set(receipt, { key: offlineKey(receipt), leaf, root: folded.root, nodes: folded.steps });
  return receipt;
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
  const out = [
    { field: "subject.name", value: receipt.subject.name },
    { field: "subject.size", value: String(receipt.subject.size) },
  ];
  if (receipt.subject.cid !== undefined) out.push({ field: "subject.cid", value: receipt.subject.cid });
  return out;
}

/** The receipt as JSON text, fields in their documented order, 2-space indent, final newline. */
export function serializeReceipt(receipt: Receipt): string {
  const ordered: Receipt = {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION,
    subject: {
      name: receipt.subject.name,
      size: receipt.subject.size,
      sha256: receipt.subject.sha256,
      ...(receipt.subject.cid !== undefined ? { cid: receipt.subject.cid } : {}),
    },
    commitment: { salt: receipt.commitment.salt, meta: receipt.commitment.meta, leaf: receipt.commitment.leaf },
    proof: { root: receipt.proof.root, path: receipt.proof.path, leafCount: receipt.proof.leafCount },
    anchors: receipt.anchors.map((a) => ({
      chainId: a.chainId,
      registry: a.registry,
      txHash: a.txHash,
      blockNumber: a.blockNumber,
      blockHash: a.blockHash,
      timestamp: a.timestamp,
      submitter: a.submitter,
    })),
    ...(receipt.encryption !== undefined
      ? { encryption: { alg: receipt.encryption.alg, key: receipt.encryption.key } }
      : {}),
  };
  return `${JSON.stringify(ordered, null, 2)}\n`;
}
