import { expect } from "chai";
import fc from "fast-check";
import {
  checkOffline,
  computeLeaf,
  isProofmarkError,
  MerkleTree,
  parseReceipt,
  serializeReceipt,
  type Hex,
  type Receipt,
} from "../../packages/sdk/src";
import vectorsJson from "../vectors/evidence.json";

const vectors = vectorsJson as typeof vectorsJson & {
  leaves: Array<(typeof vectorsJson.leaves)[number] & { meta: Record<string, string> }>;
};

function sampleReceipt(index = 2): Receipt {
  const tree = vectors.trees[4];
  const v = vectors.leaves[index];
  return {
    format: "proofmark-receipt",
    version: 1,
    subject: { name: v.name, size: v.size, sha256: v.sha256 },
    commitment: { salt: v.salt as Hex, meta: v.meta, leaf: v.leaf as Hex },
    proof: { root: tree.root as Hex, path: tree.proofs[index] as Hex[], leafCount: 5 },
    anchors: [
      {
        chainId: 31337,
        registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        txHash: `0x${"ab".repeat(32)}`,
        blockNumber: 7,
        blockHash: `0x${"cd".repeat(32)}`,
        timestamp: 1_800_000_000,
        submitter: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      },
    ],
  };
}

function expectInvalid(value: unknown, pattern: RegExp): void {
  try {
    parseReceipt(value);
  } catch (e) {
    expect(isProofmarkError(e, "RECEIPT_INVALID"), String(e)).to.equal(true);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail(`expected RECEIPT_INVALID matching ${pattern}`);
}

describe("SDK core: receipt format proofmark-receipt v1", function () {
  it("round-trips through serialize and parse", function () {
    const r = sampleReceipt();
    expect(parseReceipt(serializeReceipt(r))).to.deep.equal(r);
    expect(serializeReceipt(parseReceipt(serializeReceipt(r)))).to.equal(serializeReceipt(r));
  });

  it("rejects text that is not JSON", function () {
    expectInvalid("{ not json", /not JSON/);
  });

  it("rejects another format and another version", function () {
    expectInvalid({ ...sampleReceipt(), format: "opentimestamps" }, /format is "opentimestamps"/);
    expectInvalid({ ...sampleReceipt(), version: 3 }, /version 3 is not supported/);
  });

  it("rejects unknown fields, missing fields and malformed values, naming them", function () {
    expectInvalid({ ...sampleReceipt(), extra: 1 }, /receipt.extra is not a field/);
    const r = sampleReceipt() as unknown as Record<string, Record<string, unknown>>;
    expectInvalid({ ...r, subject: { ...r.subject, sha256: "ABC" } }, /subject.sha256/);
    expectInvalid({ ...r, subject: { ...r.subject, owner: "x" } }, /subject.owner is not a field/);
    expectInvalid(
      { ...r, commitment: { ...r.commitment, salt: "0x1234" } },
      /commitment.salt must be 0x followed by 64/,
    );
    expectInvalid({ ...r, proof: { root: r.proof.root, path: r.proof.path } }, /proof.leafCount is missing/);
    expectInvalid({ ...r, anchors: [] }, /anchors must be a non-empty array/);
    expectInvalid(
      { ...r, anchors: [{ ...(r.anchors as unknown as object[])[0], registry: "0x12" }] },
      /anchors\[0\].registry/,
    );
    expectInvalid(
      { ...r, commitment: { ...r.commitment, meta: { title: 5 } } },
      /commitment.meta.title must be a string/,
    );
  });

  it("rejects a leaf that does not match digest, salt and meta", function () {
    const r = sampleReceipt();
    expectInvalid(
      { ...r, commitment: { ...r.commitment, meta: { title: "changed" } } },
      /commitment.leaf does not match/,
    );
  });

  it("rejects a path that does not fold to the root, and a path longer than the tree allows", function () {
    const r = sampleReceipt();
    expectInvalid({ ...r, proof: { ...r.proof, path: [...r.proof.path].reverse() } }, /does not lead from the leaf/);
    expectInvalid({ ...r, proof: { ...r.proof, leafCount: 1 } }, /at most 0/);
  });

  it("property: flipping any digit of the salt, leaf, any path element or the root is detected", function () {
    fc.assert(
      fc.property(fc.constantFrom("salt", "leaf", "path", "root"), fc.nat(), fc.nat(), (part, which, digit) => {
        const r = JSON.parse(serializeReceipt(sampleReceipt(which % 5)));
        const flip = (h: string) => {
          const i = 2 + (digit % 64);
          return h.slice(0, i) + (h[i] === "0" ? "1" : "0") + h.slice(i + 1);
        };
        if (part === "salt") r.commitment.salt = flip(r.commitment.salt);
        if (part === "leaf") r.commitment.leaf = flip(r.commitment.leaf);
        if (part === "root") r.proof.root = flip(r.proof.root);
        if (part === "path")
          r.proof.path[digit % r.proof.path.length] = flip(r.proof.path[digit % r.proof.path.length]);
        try {
          parseReceipt(r);
          return false;
        } catch (e) {
          return isProofmarkError(e, "RECEIPT_INVALID");
        }
      }),
      { numRuns: 400 },
    );
  });

  describe("checkOffline", function () {
    it("passes the file the receipt covers and lists each step", function () {
      const r = sampleReceipt();
      const steps = checkOffline(r, { sha256: r.subject.sha256, size: r.subject.size! });
      expect(steps.map((s) => s.step)).to.deep.equal(["digest", "leaf", "path"]);
      expect(steps.every((s) => s.ok)).to.equal(true);
    });

    it("property: a file differing in any digit of its digest fails with DIGEST_MISMATCH", function () {
      fc.assert(
        fc.property(fc.nat(63), (i) => {
          const r = sampleReceipt();
          const d = r.subject.sha256;
          const other = d.slice(0, i) + (d[i] === "0" ? "1" : "0") + d.slice(i + 1);
          const steps = checkOffline(r, { sha256: other, size: r.subject.size! });
          return steps.length === 1 && !steps[0].ok && steps[0].code === "DIGEST_MISMATCH";
        }),
      );
    });

    it("a receipt built for one file does not pass for another file of the same tree", function () {
      const tree = MerkleTree.build(vectors.leaves.map((l) => l.leaf));
      const r = sampleReceipt(0);
      expect(tree.root).to.equal(r.proof.root);
      const other = vectors.leaves[1];
      expect(computeLeaf({ sha256: other.sha256, salt: r.commitment.salt, meta: r.commitment.meta })).to.not.equal(
        r.commitment.leaf,
      );
      const steps = checkOffline(r, { sha256: other.sha256, size: other.size });
      expect(steps[0].ok).to.equal(false);
      expect(steps[0].message).to.match(/does not match the receipt/);
    });
  });
});
