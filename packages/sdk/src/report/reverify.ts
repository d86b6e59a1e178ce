import { canonicalMetaJson, LEAF_DOMAIN, metaDigest, type EvidenceMeta } from "../core/commitment";
import { fromHex, toHex, type Hex } from "../core/hex";
export { ANCHOR_OF_SELECTOR, ANCHOR_OF_SIGNATURE, anchorOfCalldata, decodeAnchorOfAnswer } from "../core/verification";
import { keccak256 } from "../core/keccak";

/**
 * The values an expert needs to repeat a verification with other tools: byte strings to hash,
 * the raw `eth_call` calldata of `anchorOf(bytes32)` and the answer to expect. Pure.
 */

/** The ABI-encoded answer of `anchorOf` for an anchor: three 32-byte words (submitter, anchoredAt, blockNumber). */
export function anchorOfAnswerWords(anchor: {
  submitter: string;
  anchoredAt: number;
  blockNumber: number;
}): [string, string, string] {
  const word = (hex: string) => hex.toLowerCase().replace(/^0x/, "").padStart(64, "0");
  return [word(anchor.submitter), word(anchor.anchoredAt.toString(16)), word(anchor.blockNumber.toString(16))];
}

/** Every intermediate value of the leaf computation, for a report to print. */
export interface LeafDerivation {
  metaJson: string;
  metaDigest: Hex;
  domain: Hex;
  /** LEAF_DOMAIN ‖ sha256 ‖ salt ‖ metaDigest (128 bytes). */
  preimage: Hex;
  /** keccak256(preimage). */
  inner: Hex;
  /** keccak256(inner). */
  leaf: Hex;
}

/** The leaf computation step by step (same result as `computeLeaf`). */
export function deriveLeaf(input: { sha256: string; salt: Hex; meta: EvidenceMeta }): LeafDerivation {
  const md = metaDigest(input.meta);
  const preimage = `0x${LEAF_DOMAIN.slice(2)}${input.sha256}${input.salt.slice(2)}${md.slice(2)}` as Hex;
  const inner = toHex(keccak256(fromHex(preimage)));
  return {
    metaJson: canonicalMetaJson(input.meta),
    metaDigest: md,
    domain: LEAF_DOMAIN,
    preimage,
    inner,
    leaf: toHex(keccak256(fromHex(inner))),
  };
}

/** One Merkle step: the 64-byte input (smaller node first) and its keccak-256. */
export interface MerkleStepDerivation {
  node: Hex;
  sibling: Hex;
  input: Hex;
  output: Hex;
}

/** Each step of folding `path` onto `leaf` (sorted pairs), with the exact bytes hashed. */
export function deriveMerkleSteps(leaf: Hex, path: readonly Hex[]): MerkleStepDerivation[] {
  const steps: MerkleStepDerivation[] = [];
  let node = leaf.toLowerCase() as Hex;
  for (const s of path) {
    const sibling = s.toLowerCase() as Hex;
    const [a, b] = node <= sibling ? [node, sibling] : [sibling, node];
    const input = `0x${a.slice(2)}${b.slice(2)}` as Hex;
    const output = toHex(keccak256(fromHex(input)));
    steps.push({ node, sibling, input, output });
    node = output;
  }
  return steps;
}
