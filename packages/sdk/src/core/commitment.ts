import { ProofmarkError } from "./errors";
import { fromHex, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";

/**
 * Evidence commitments (Merkle leaves).
 *
 *   metaDigest = keccak256(utf8(canonicalJson(meta)))
 *   leaf       = keccak256(keccak256(LEAF_DOMAIN ‖ sha256 ‖ salt ‖ metaDigest))   (4 × 32 bytes inside)
 *
 * The outer hash is over 32 bytes and every internal Merkle node is a hash over 64 bytes, so no
 * internal node can pass as a leaf. The 32-byte random salt means that nobody without the receipt
 * can confirm a guess of the file from the chain record.
 */

/** Domain tag of evidence leaves: keccak256("proofmark.evidence.leaf.v1"). */
export const LEAF_DOMAIN: Hex = toHex(keccak256Utf8("proofmark.evidence.leaf.v1"));

/** Metadata committed with a file: short strings such as title, author, note. */
export type EvidenceMeta = Record<string, string>;

/** Canonical JSON of `meta`: keys sorted by code unit, no white space. */
export function canonicalMetaJson(meta: EvidenceMeta): string {
  assertMeta(meta);
  const sorted: EvidenceMeta = {};
  for (const key of Object.keys(meta).sort()) sorted[key] = meta[key];
  return JSON.stringify(sorted);
}

/** keccak-256 of the canonical JSON of `meta`. */
export function metaDigest(meta: EvidenceMeta): Hex {
  return toHex(keccak256Utf8(canonicalMetaJson(meta)));
}

/** 32 random bytes from the platform's CSPRNG, as hex. */
export function randomSalt(): Hex {
  return toHex(globalThis.crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The leaf for a file's SHA-256 digest (64 hex digits, no 0x), salt and metadata.
 *
 * @example
 * const leaf = computeLeaf({ sha256: "e3b0c442...b855", salt: randomSalt(), meta: { title: "Logo" } });
 */
export function computeLeaf(input: { sha256: string; salt: Hex; meta: EvidenceMeta }): Hex {
  if (!/^[0-9a-f]{64}$/.test(input.sha256)) {
    throw new ProofmarkError("INVALID_ARGUMENT", "sha256 must be 64 lower-case hex digits");
  }
  if (!isHexOfLength(input.salt, 32))
    throw new ProofmarkError("INVALID_ARGUMENT", "salt must be 0x followed by 64 lower-case hex digits");
  const preimage = new Uint8Array(128);
  preimage.set(fromHex(LEAF_DOMAIN), 0);
  preimage.set(fromHex(`0x${input.sha256}`), 32);
  preimage.set(fromHex(input.salt), 64);
  preimage.set(fromHex(metaDigest(input.meta)), 96);
  return toHex(keccak256(keccak256(preimage)));
}

function assertMeta(meta: unknown): asserts meta is EvidenceMeta {
  if (typeof meta !== "object" || meta === null || Array.isArray(meta)) {
    throw new ProofmarkError("INVALID_ARGUMENT", "meta must be an object of strings");
  }
  for (const [key, value] of Object.entries(meta)) {
    if (key === "__proto__") throw new ProofmarkError("INVALID_ARGUMENT", "meta cannot have the key __proto__");
    if (typeof value !== "string") throw new ProofmarkError("INVALID_ARGUMENT", `meta.${key} must be a string`);
  }
}
