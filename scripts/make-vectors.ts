// Writes test/vectors/evidence.json: leaves, trees, roots and proofs that the SDK tests, the
// Solidity tests and the browser verifiers all must reproduce. Inputs are fixed (no randomness);
// expected values are computed here with the SDK and cross-checked in the tests against
// independent implementations (ethers' solidityPackedKeccak256, @openzeppelin/merkle-tree).
// Run: npx ts-node scripts/make-vectors.ts
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { computeLeaf, LEAF_DOMAIN, metaDigest, MerkleTree, type Hex } from "../packages/sdk/src/core";

const files = [
  { name: "empty.txt", content: "" },
  { name: "hello.txt", content: "hello world\n" },
  { name: "logo.svg", content: "<svg xmlns='http://www.w3.org/2000/svg'><circle r='4'/></svg>" },
  { name: "砀山酥梨.txt", content: "砀山酥梨 Dangshan Su Pear, harvest 2026" },
  { name: "contract-draft.md", content: "# Contract\nParty A and Party B agree…\n" },
];
const metas = [
  {},
  { title: "Hello" },
  { title: "Logo", author: "Li Wei" },
  { author: "砀山县果业协会", note: "批次 2026-01" },
  { note: "draft v1" },
];

const leaves = files.map((f, i) => {
  const sha256 = createHash("sha256").update(f.content, "utf8").digest("hex");
  const salt = `0x${createHash("sha256").update(`proofmark test salt ${i}`).digest("hex")}` as Hex;
  const meta = metas[i] as Record<string, string>;
  return {
    name: f.name,
    content: f.content,
    size: Buffer.byteLength(f.content),
    sha256,
    salt,
    meta,
    metaDigest: metaDigest(meta),
    leaf: computeLeaf({ sha256, salt, meta }),
  };
});

const trees = [1, 2, 3, 4, 5].map((n) => {
  const subset = leaves.slice(0, n).map((l) => l.leaf);
  const tree = MerkleTree.build(subset);
  return { leaves: subset, root: tree.root, proofs: subset.map((_, i) => tree.proof(i)) };
});

const out = {
  description:
    "Proofmark evidence vectors: leaf = keccak256(keccak256(domain ‖ sha256 ‖ salt ‖ metaDigest)); sorted-pair keccak Merkle trees in OpenZeppelin SimpleMerkleTree layout (sortLeaves: false)",
  domain: LEAF_DOMAIN,
  leaves,
  trees,
};
fs.writeFileSync(path.join(__dirname, "..", "test", "vectors", "evidence.json"), `${JSON.stringify(out, null, 2)}\n`);
console.log(`wrote ${leaves.length} leaves and ${trees.length} trees`);
