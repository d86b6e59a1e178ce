import { computeLeaf } from "./commitment";
import type { ErrorCode } from "./errors";
import { fromHex, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";
import { processProof } from "./merkle";
import { checkedByParser, type Receipt, type ReceiptAnchor } from "./receipt";

/**
 * The verification vocabulary and its pure steps, defined once. Every consumer (CLI `verify`,
 * `report`, `certificate`, the standalone verifier page, the portal's verify page) runs these same
 * functions (see core/engine.ts); the browser gets them as a bundle built from this source.
 *
 * A step takes plain data (what the receipt says, what the file hashed to, what a chain answered)
 * and returns `{ step, ok, detail }`; when it does not hold it also names an error `code` and a
 * `message`. No step does I/O.
 */

/**
 * The six verdicts, for a whole receipt and for each witness. "pending": a calendar acknowledged the
 * leaf but nothing anchors it yet — never a pass.
 */
export type VerdictStatus = "verified" | "mismatch" | "not-anchored" | "not-final" | "unverifiable" | "pending";
export const VERDICT_STATUSES: readonly VerdictStatus[] = [
  "verified",
  "mismatch",
  "not-anchored",
  "not-final",
  "unverifiable",
  "pending",
];

export type StepName =
  | "receipt"
  | "digest"
  | "leaf"
  | "path"
  | "chain-id"
  | "registry-code"
  | "anchor"
  | "block"
  | "log"
  | "tx"
  | "finality"
  | "timestamp"
  | "attestation";

export interface Step {
  step: StepName;
  ok: boolean;
  detail: Record<string, unknown>;
  /** When not ok: why, as an error code and a sentence. */
  code?: ErrorCode;
  message?: string;
  /** Set when the step could not be checked at all (e.g. the node no longer has the history): the step passed nothing. */
  unchecked?: string;
}

/** The verdict an error code stands for. The only place codes map to verdicts. */
export function statusOfCode(code: ErrorCode | undefined): VerdictStatus {
  switch (code) {
    case undefined:
      return "verified";
    case "RECEIPT_INVALID":
    case "RECEIPT_TOO_LARGE":
    case "DIGEST_MISMATCH":
    case "PROOF_INVALID":
    case "ANCHOR_MISMATCH":
    case "RPC_DISAGREEMENT": // the chain's answers contradict each other: never a pass, and not "unknown" either
    case "TIMESTAMP_MALFORMED":
    case "TIMESTAMP_MISMATCH":
    case "TIMESTAMP_INVALID":
    case "STATEMENT_INVALID":
    case "STATEMENT_SIGNER_MISMATCH":
    case "CALENDAR_PROOF_INVALID":
      return "mismatch";
    case "RECEIPT_PENDING":
      return "pending";
    case "NOT_ANCHORED":
    case "REGISTRY_NOT_FOUND":
      return "not-anchored";
    case "NOT_CONFIRMED":
      return "not-final";
    default:
      return "unverifiable";
  }
}

function pass(step: StepName, detail: Record<string, unknown>): Step {
  return { step, ok: true, detail };
}

function fail(step: StepName, code: ErrorCode, message: string, detail: Record<string, unknown>): Step {
  return { step, ok: false, code, message, detail };
}

// ---- offline steps ---------------------------------------------------------------------------

/** The file's SHA-256 and size against the receipt's subject. */
export function checkDigest(receipt: Receipt, file: { sha256: string; size: number }): Step {
  const detail = {
    expected: receipt.subject.sha256,
    actual: file.sha256,
    expectedSize: receipt.subject.size,
    actualSize: file.size,
  };
  if (
    file.sha256 === receipt.subject.sha256 &&
    (receipt.subject.size === undefined || file.size === receipt.subject.size)
  )
    return pass("digest", detail);
  return fail(
    "digest",
    "DIGEST_MISMATCH",
    `the file does not match the receipt: its SHA-256 is ${file.sha256} (${file.size} bytes), the receipt covers ${receipt.subject.sha256} (${receipt.subject.size ?? "?"} bytes) — the file was changed after stamping, or this receipt belongs to another file`,
    detail,
  );
}

/** A pending receipt has no path: digest and leaf only. */
function checkPendingOffline(receipt: Receipt, file?: { sha256: string; size: number }): Step[] {
  const steps: Step[] = [];
  if (file) {
    steps.push(checkDigest(receipt, file));
    if (!steps[0].ok) return steps;
  }
  steps.push(checkLeaf(receipt, file?.sha256 ?? receipt.subject.sha256));
  return steps;
}

/** The leaf recomputed from the (file's) digest, the salt and the metadata, against the receipt's leaf. */
export function checkLeaf(receipt: Receipt, sha256: string): Step {
  const checked = sha256 === receipt.subject.sha256 ? checkedByParser(receipt) : undefined;
  const leaf = checked
    ? checked.leaf
    : computeLeaf({ sha256, salt: receipt.commitment.salt, meta: receipt.commitment.meta });
  const detail = {
    salt: receipt.commitment.salt,
    meta: receipt.commitment.meta,
    leaf,
    expected: receipt.commitment.leaf,
  };
  if (leaf === receipt.commitment.leaf) return pass("leaf", detail);
  return fail(
    "leaf",
    "PROOF_INVALID",
    "the leaf computed from the digest, salt and metadata differs from the receipt's leaf — the receipt was altered",
    detail,
  );
}

/** The Merkle path folded onto the leaf, against the receipt's root. */
export function checkPath(receipt: Receipt, leaf: Hex): Step {
  const checked = leaf === receipt.commitment.leaf ? checkedByParser(receipt) : undefined;
  const folded = checked ? { root: checked.root, steps: checked.nodes } : processProof(leaf, receipt.proof.path);
  const detail = { path: receipt.proof.path, nodes: folded.steps, computed: folded.root, expected: receipt.proof.root };
  if (folded.root === receipt.proof.root) return pass("path", detail);
  return fail(
    "path",
    "PROOF_INVALID",
    "the receipt's Merkle path does not lead from the file's leaf to its root — the receipt was altered",
    detail,
  );
}

/** digest (when a file is given), leaf and path: everything checked without a chain. */
export function checkOffline(receipt: Receipt, file?: { sha256: string; size: number }): Step[] {
  if (!receipt.proof) return checkPendingOffline(receipt, file);
  const steps: Step[] = [];
  if (file) {
    steps.push(checkDigest(receipt, file));
    if (!steps[0].ok) return steps;
  }
  const leaf = checkLeaf(receipt, file?.sha256 ?? receipt.subject.sha256);
  steps.push(leaf);
  if (!leaf.ok) return steps;
  steps.push(checkPath(receipt, receipt.commitment.leaf));
  return steps;
}

// ---- chain facts: the registry's ABI, decoded here and nowhere else --------------------------

export const ANCHOR_OF_SIGNATURE = "anchorOf(bytes32)";
/** `anchorOf(bytes32)` selector: the first 4 bytes of keccak256 of its signature. */
export const ANCHOR_OF_SELECTOR: Hex = toHex(keccak256Utf8(ANCHOR_OF_SIGNATURE).subarray(0, 4));
/** topic0 of `EvidenceAnchored(bytes32 indexed root, address indexed submitter, uint256 leafCount)`. */
export const EVIDENCE_ANCHORED_TOPIC: Hex = toHex(keccak256Utf8("EvidenceAnchored(bytes32,address,uint256)"));

/** Calldata of `anchorOf(root)`. */
export function anchorOfCalldata(root: Hex): Hex {
  if (!isHexOfLength(root, 32)) throw new RangeError("root must be 32 bytes of lower-case hex");
  return `0x${ANCHOR_OF_SELECTOR.slice(2)}${root.slice(2)}` as Hex;
}

/** What `anchorOf` answered: the first anchoring of the root (anchoredAt 0 = never). */
export interface AnchorAnswer {
  submitter: Hex;
  anchoredAt: number;
  blockNumber: number;
}

/** Decodes the answer of `anchorOf` (three 32-byte words); null when it is not one. */
export function decodeAnchorOfAnswer(data: unknown): AnchorAnswer | null {
  if (typeof data !== "string" || !/^0x[0-9a-fA-F]{192}$/.test(data)) return null;
  const w = (i: number) => data.slice(2 + 64 * i, 2 + 64 * (i + 1)).toLowerCase();
  if (!/^0{24}/.test(w(0)) || BigInt(`0x${w(1)}`) >= 2n ** 40n || BigInt(`0x${w(2)}`) >= 2n ** 56n) return null;
  return {
    submitter: `0x${w(0).slice(24)}` as Hex,
    anchoredAt: Number(BigInt(`0x${w(1)}`)),
    blockNumber: Number(BigInt(`0x${w(2)}`)),
  };
}

/** A block header as the engine reads it (from `eth_getBlockByNumber(n, false)`). */
export interface BlockHeader {
  number: number;
  hash: Hex;
  timestamp: number;
  /** The block's transaction hashes; undefined when the node did not return the body. */
  transactions?: Hex[];
}

/** Decodes a JSON-RPC block object; null when it is not one. */
export function decodeBlock(raw: unknown): BlockHeader | null {
  if (typeof raw !== "object" || raw === null) return null;
  const b = raw as Record<string, unknown>;
  const q = (v: unknown) => (typeof v === "string" && /^0x[0-9a-fA-F]{1,16}$/.test(v) ? Number(BigInt(v)) : NaN);
  const number = q(b.number);
  const timestamp = q(b.timestamp);
  const hash = typeof b.hash === "string" ? b.hash.toLowerCase() : "";
  if (!Number.isSafeInteger(number) || !Number.isSafeInteger(timestamp) || !isHexOfLength(hash, 32)) return null;
  let transactions: Hex[] | undefined;
  if (Array.isArray(b.transactions)) {
    transactions = b.transactions.map(
      (t) => String(typeof t === "object" && t !== null ? (t as { hash?: string }).hash : t).toLowerCase() as Hex,
    );
  }
  return { number, hash: hash as Hex, timestamp, transactions };
}

/** Decodes a JSON-RPC quantity ("0x1a") into a safe integer; NaN when it is not one. */
export function decodeQuantity(raw: unknown): number {
  if (typeof raw !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(raw)) return NaN;
  const n = Number(BigInt(raw));
  return Number.isSafeInteger(n) ? n : NaN;
}

/** An `EvidenceAnchored` log as the engine reads it. */
export interface AnchorLog {
  address: Hex;
  root: Hex;
  submitter: Hex;
  leafCount: bigint;
  blockHash: Hex;
  blockNumber: number;
  txHash: Hex;
}

/** Decodes JSON-RPC log objects into the `EvidenceAnchored` logs among them. */
export function decodeAnchorLogs(raw: unknown): AnchorLog[] | null {
  if (!Array.isArray(raw)) return null;
  const out: AnchorLog[] = [];
  for (const l of raw) {
    if (typeof l !== "object" || l === null) return null;
    const o = l as Record<string, unknown>;
    const topics = Array.isArray(o.topics) ? o.topics.map((t) => String(t).toLowerCase()) : [];
    if (topics[0] !== EVIDENCE_ANCHORED_TOPIC || topics.length !== 3) continue;
    const data = String(o.data ?? "");
    if (!/^0x[0-9a-fA-F]{64}$/.test(data)) continue;
    out.push({
      address: String(o.address).toLowerCase() as Hex,
      root: topics[1] as Hex,
      submitter: `0x${topics[2].slice(26)}` as Hex,
      leafCount: BigInt(data),
      blockHash: String(o.blockHash).toLowerCase() as Hex,
      blockNumber: decodeQuantity(o.blockNumber),
      txHash: String(o.transactionHash).toLowerCase() as Hex,
    });
  }
  return out;
}

/** Code hashes already computed (a session verifying many receipts reads one registry's code once; hashing 1.5 KB per receipt showed in profiles). */
const codeHashes = new Map<string, Hex>();

/** keccak-256 of a contract's runtime code (as `eth_getCode` returns it). */
export function codeHashOf(code: string): Hex {
  let h = codeHashes.get(code);
  if (!h) {
    h = toHex(keccak256(fromHex(code, "code")));
    if (codeHashes.size >= 64) codeHashes.clear();
    codeHashes.set(code, h);
  }
  return h;
}

// ---- chain steps -----------------------------------------------------------------------------

/** The endpoint serves the receipt's chain. */
export function checkChainId(anchor: ReceiptAnchor, chainId: number, url: string): Step {
  const detail = { url, expected: anchor.chainId, actual: chainId };
  if (chainId === anchor.chainId) return pass("chain-id", detail);
  return fail(
    "chain-id",
    "CHAIN_MISMATCH",
    `the receipt was anchored on chain ${anchor.chainId} but ${url} serves chain ${chainId}; use an RPC endpoint of chain ${anchor.chainId}`,
    detail,
  );
}

/** A registry code hash the SDK knows: which contract and version it is. */
export interface KnownRegistryCode {
  codeHash: Hex;
  contract: string;
  version: string;
}

/**
 * The registry's runtime code is a known EvidenceRegistry, or the user pinned this address.
 * A registry is recognised by its code, never by its address or by what it says about itself.
 */
export function checkRegistryCode(
  anchor: ReceiptAnchor,
  code: string,
  known: readonly KnownRegistryCode[],
  trusted: readonly string[],
): Step {
  if (code === "0x" || code === "") {
    return fail(
      "registry-code",
      "REGISTRY_NOT_FOUND",
      `there is no contract at ${anchor.registry} on chain ${anchor.chainId}: the registry named in the receipt does not exist there`,
      { registry: anchor.registry },
    );
  }
  const codeHash = codeHashOf(code);
  const match = known.find((k) => k.codeHash === codeHash && k.contract === "EvidenceRegistry");
  const pinned = trusted.some((t) => t.toLowerCase() === anchor.registry);
  const detail = {
    registry: anchor.registry,
    codeHash,
    known: match ? `${match.contract} ${match.version}` : undefined,
    trustedByUser: !match && pinned,
  };
  if (match || pinned) return pass("registry-code", detail);
  return fail(
    "registry-code",
    "REGISTRY_UNKNOWN",
    `the contract at ${anchor.registry} on chain ${anchor.chainId} is not an EvidenceRegistry this Proofmark knows (runtime code hash ${codeHash}); anyone can deploy a contract that answers like a registry, so its answers prove nothing. If you know this registry, pin it explicitly as trusted (and the result will say so)`,
    detail,
  );
}

/** The registry's `anchorOf(root)` answer against the receipt's anchor and its leaf count. */
export function checkAnchorAnswer(receipt: Receipt, anchor: ReceiptAnchor, answer: AnchorAnswer): Step {
  const detail = {
    root: receipt.proof.root,
    onChain: answer,
    receipt: { submitter: anchor.submitter, timestamp: anchor.timestamp, blockNumber: anchor.blockNumber },
  };
  if (answer.anchoredAt === 0) {
    return fail(
      "anchor",
      "NOT_ANCHORED",
      `root ${receipt.proof.root} is not anchored in registry ${anchor.registry} on chain ${anchor.chainId}; the receipt's anchor is not on this chain — it may be from a chain that was reset, or forged`,
      detail,
    );
  }
  if (
    answer.submitter !== anchor.submitter ||
    answer.anchoredAt !== anchor.timestamp ||
    answer.blockNumber !== anchor.blockNumber
  ) {
    return fail(
      "anchor",
      "ANCHOR_MISMATCH",
      `the chain records root ${receipt.proof.root} as anchored in block ${answer.blockNumber} at ${answer.anchoredAt} by ${answer.submitter}, but the receipt says block ${anchor.blockNumber} at ${anchor.timestamp} by ${anchor.submitter}; the receipt's anchor was altered or the chain was reorganised`,
      detail,
    );
  }
  return pass("anchor", detail);
}

/** The anchoring block's header (from the chain) against the registry's answer and the receipt. */
export function checkBlock(anchor: ReceiptAnchor, answer: AnchorAnswer, block: BlockHeader | null): Step {
  const detail = {
    number: anchor.blockNumber,
    hash: block?.hash,
    timestamp: block?.timestamp,
    receipt: { blockHash: anchor.blockHash, timestamp: anchor.timestamp },
    registry: { anchoredAt: answer.anchoredAt },
  };
  if (!block)
    return fail(
      "block",
      "HISTORY_UNAVAILABLE",
      `the node did not return block ${anchor.blockNumber}; the anchoring time cannot be taken from the chain`,
      detail,
    );
  if (
    block.number !== anchor.blockNumber ||
    block.hash !== anchor.blockHash ||
    block.timestamp !== anchor.timestamp ||
    block.timestamp !== answer.anchoredAt
  ) {
    return fail(
      "block",
      "ANCHOR_MISMATCH",
      `block ${block.number} has hash ${block.hash} and time ${block.timestamp}, but the receipt says hash ${anchor.blockHash} at ${anchor.timestamp} and the registry says ${answer.anchoredAt}; the time is taken from the block header, so this anchor is not confirmed`,
      detail,
    );
  }
  return pass("block", detail);
}

/**
 * The registry's `EvidenceAnchored` log for this root is in the anchoring block, from the anchor's
 * submitter, with the receipt's leaf count and transaction. `logs` are the registry's logs of that
 * block (or of the named transaction's receipt).
 */
export function checkLog(receipt: Receipt, anchor: ReceiptAnchor, logs: AnchorLog[]): Step {
  const mine = logs.filter(
    (l) => l.address === anchor.registry && l.root === receipt.proof.root && l.blockHash === anchor.blockHash,
  );
  const detail = {
    registry: anchor.registry,
    root: receipt.proof.root,
    blockHash: anchor.blockHash,
    logs: mine.map((l) => ({ txHash: l.txHash, submitter: l.submitter, leafCount: l.leafCount.toString() })),
  };
  if (mine.length !== 1) {
    return fail(
      "log",
      "ANCHOR_MISMATCH",
      `block ${anchor.blockNumber} holds ${mine.length} EvidenceAnchored log(s) of registry ${anchor.registry} for root ${receipt.proof.root}, not one: the registry's answer is not backed by an anchoring in that block`,
      detail,
    );
  }
  const log = mine[0];
  if (log.submitter !== anchor.submitter)
    return fail(
      "log",
      "ANCHOR_MISMATCH",
      `the anchoring log names submitter ${log.submitter}, the receipt ${anchor.submitter}`,
      detail,
    );
  if (log.leafCount !== BigInt(receipt.proof.leafCount)) {
    return fail(
      "log",
      "ANCHOR_MISMATCH",
      `the root was anchored with leafCount ${log.leafCount}, but the receipt says ${receipt.proof.leafCount}; the receipt was altered`,
      detail,
    );
  }
  if (log.txHash !== anchor.txHash) {
    return fail(
      "log",
      "ANCHOR_MISMATCH",
      `transaction ${anchor.txHash} named in the receipt did not anchor root ${receipt.proof.root} in registry ${anchor.registry}: transaction ${log.txHash} did; the receipt was altered`,
      detail,
    );
  }
  return pass("log", detail);
}

/** The receipt's transaction is one of the block's transactions (when the node returned the body). */
export function checkTxInBlock(anchor: ReceiptAnchor, block: BlockHeader): Step {
  const detail = { txHash: anchor.txHash, block: anchor.blockNumber, transactions: block.transactions?.length };
  if (!block.transactions)
    return { step: "tx", ok: true, detail, unchecked: "transaction not checked (history not available)" };
  if (block.transactions.includes(anchor.txHash)) return pass("tx", detail);
  return fail(
    "tx",
    "ANCHOR_MISMATCH",
    `transaction ${anchor.txHash} named in the receipt is not in block ${anchor.blockNumber}; the receipt was altered`,
    detail,
  );
}

/** Confirmations and finality. `finalized` is undefined when the endpoint does not report it. */
export function checkFinality(
  anchor: ReceiptAnchor,
  latest: number,
  finalized: number | undefined,
  minConfirmations: number,
): Step & { confirmations: number; final?: boolean } {
  const confirmations = Math.max(0, latest - anchor.blockNumber + 1);
  const final = finalized === undefined ? undefined : anchor.blockNumber <= finalized;
  const detail = { latest, finalized, confirmations, final, minConfirmations };
  if (confirmations < minConfirmations) {
    return {
      ...fail(
        "finality",
        "NOT_CONFIRMED",
        `the anchor has ${confirmations} confirmation(s), fewer than the ${minConfirmations} required; wait and verify again`,
        detail,
      ),
      confirmations,
      final,
    };
  }
  return { ...pass("finality", detail), confirmations, final };
}
