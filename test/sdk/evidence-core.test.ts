import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "ethers";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import {
  computeLeaf,
  hashPair,
  LEAF_DOMAIN,
  MerkleTree,
  metaDigest,
  canonicalMetaJson,
  processProof,
  verifyProof,
  sha256Stream,
  sha256Bytes,
  type Hex,
} from "../../packages/sdk/src";
import vectorsJson from "../vectors/evidence.json";

const vectors = vectorsJson as typeof vectorsJson & {
  leaves: Array<(typeof vectorsJson.leaves)[number] & { meta: Record<string, string> }>;
};

const hex32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => ethers.hexlify(b) as Hex);

function flipHexDigit(h: string, at: number): string {
  const i = 2 + (at % (h.length - 2));
  const c = h[i] === "0" ? "1" : "0";
  return h.slice(0, i) + c + h.slice(i + 1);
}

describe("SDK core: evidence commitments and Merkle trees", function () {
  describe("vectors (test/vectors/evidence.json)", function () {
    it("the domain tag is keccak256 of its name", function () {
      expect(LEAF_DOMAIN).to.equal(ethers.id("proofmark.evidence.leaf.v1"));
      expect(vectors.domain).to.equal(LEAF_DOMAIN);
    });

    it("reproduces every digest, meta digest and leaf, also with an independent encoder", function () {
      for (const v of vectors.leaves) {
        expect(sha256Bytes(Buffer.from(v.content, "utf8"))).to.equal(v.sha256);
        expect(metaDigest(v.meta)).to.equal(v.metaDigest);
        expect(metaDigest(v.meta)).to.equal(ethers.keccak256(ethers.toUtf8Bytes(canonicalMetaJson(v.meta))));
        expect(computeLeaf({ sha256: v.sha256, salt: v.salt as Hex, meta: v.meta })).to.equal(v.leaf);
        const inner = ethers.solidityPackedKeccak256(
          ["bytes32", "bytes32", "bytes32", "bytes32"],
          [LEAF_DOMAIN, `0x${v.sha256}`, v.salt, v.metaDigest],
        );
        expect(ethers.keccak256(inner)).to.equal(v.leaf);
      }
    });

    it("reproduces every root and proof, identical to @openzeppelin/merkle-tree's SimpleMerkleTree", function () {
      for (const t of vectors.trees) {
        const tree = MerkleTree.build(t.leaves);
        const oz = SimpleMerkleTree.of(t.leaves, { sortLeaves: false });
        expect(tree.root).to.equal(t.root);
        expect(oz.root).to.equal(t.root);
        t.leaves.forEach((leaf, i) => {
          expect(tree.proof(i)).to.deep.equal(t.proofs[i]);
          expect(oz.getProof(i)).to.deep.equal(t.proofs[i]);
        });
      }
    });
  });

  describe("MerkleTree", function () {
    it("a single leaf is its own root with an empty path", function () {
      const leaf = ethers.id("x") as Hex;
      const tree = MerkleTree.build([leaf]);
      expect(tree.root).to.equal(leaf);
      expect(tree.proof(0)).to.deep.equal([]);
    });

    it("never duplicates an odd last node", function () {
      const leaves = [ethers.id("a"), ethers.id("b"), ethers.id("c")] as Hex[];
      const tree = MerkleTree.build(leaves);
      const [a, b, c] = leaves.map((l) => ethers.getBytes(l));
      // the odd leaf c is carried up once and paired with H(a, b): root = H(H(a, b), c), not H(H(a, b), H(c, c))
      expect(tree.root).to.equal(ethers.hexlify(hashPair(hashPair(a, b), c)));
      expect(tree.proof(2)).to.deep.equal([ethers.hexlify(hashPair(a, b))]);
    });

    it("buildAsync gives build's tree, node for node, while letting the event loop through between slices", async function () {
      for (const n of [1, 2, 3, 257, 5000]) {
        const leaves = Array.from({ length: n }, (_v, i) => ethers.id(`async ${n} ${i}`));
        let turns = 0;
        const ticker = setInterval(() => turns++, 0);
        // sliceMs 0: one slice of 256 nodes between turns of the event loop
        const tree = await MerkleTree.buildAsync(leaves, 0).finally(() => clearInterval(ticker));
        const whole = MerkleTree.build(leaves);
        expect(tree.root).to.equal(whole.root);
        expect(Buffer.from(tree.heapBytes).equals(Buffer.from(whole.heapBytes))).to.equal(true);
        expect(tree.proof(n - 1)).to.deep.equal(whole.proof(n - 1));
        // the same leaves packed in one byte array (as stores keep them): the same tree
        const packed = Buffer.concat(leaves.map((l) => Buffer.from(l.slice(2), "hex")));
        expect(MerkleTree.build(packed).root).to.equal(whole.root);
        const unaligned = Buffer.concat([Buffer.alloc(1), packed]).subarray(1); // copied byte-wise, not by words
        expect(MerkleTree.build(unaligned).root).to.equal(whole.root);
        expect((await MerkleTree.buildAsync(packed, 0)).proof(0)).to.deep.equal(whole.proof(0));
        if (n === 5000) expect(turns, "timers ran while 4,999 nodes were hashed").to.be.greaterThan(0);
      }
      const empty = await MerkleTree.buildAsync([]).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(empty?.message).to.match(/at least one leaf/);
      expect(() => MerkleTree.build(new Uint8Array(33))).to.throw(/32 bytes each/);
    });

    it("rejects an empty tree, a short leaf and an out-of-range index", function () {
      expect(() => MerkleTree.build([])).to.throw(/at least one leaf/);
      expect(() => MerkleTree.build(["0x1234"])).to.throw(/32 bytes/);
      expect(() => MerkleTree.build([ethers.id("a")]).proof(1)).to.throw(/out of range/);
    });

    it("reads hex leaves in any case, the same as bytes, and names the leaf that is not 32 bytes of hex", function () {
      const bytes = Array.from({ length: 5 }, (_v, i) => ethers.getBytes(ethers.id(`leaf ${i}`)));
      const lower = bytes.map((b) => ethers.hexlify(b));
      const upper = lower.map((h) => `0x${h.slice(2).toUpperCase()}`);
      const root = MerkleTree.build(bytes).root;
      expect(MerkleTree.build(lower).root).to.equal(root);
      expect(MerkleTree.build(upper).root).to.equal(root);
      const bad = (leaf: string) => () => MerkleTree.build([...lower.slice(0, 3), leaf, lower[4]]);
      expect(bad(`0x${"zz".repeat(32)}`)).to.throw(/leaf 3 must be 0x-prefixed hex/);
      expect(bad(`0x${"ab".repeat(31)}é`.padEnd(66, "0"))).to.throw(/leaf 3 must be 0x-prefixed hex/);
      expect(bad(`0X${"ab".repeat(32)}`)).to.throw(/leaf 3 must be 0x-prefixed hex/);
      expect(bad(`0x${"ab".repeat(31)}`)).to.throw(/leaf 3 must be 32 bytes, got 31/);
      expect(bad(`0x${"ab".repeat(32)}0`)).to.throw(/leaf 3 must be 0x-prefixed hex/);
    });

    it("property: every leaf of a random tree (1 to 5,000 leaves) verifies, and agrees with OpenZeppelin", function () {
      this.timeout(120_000);
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 5_000 }), fc.integer(), (n, seed) => {
          const leaves = Array.from({ length: n }, (_, i) => ethers.id(`${seed}:${i}`) as Hex);
          const tree = MerkleTree.build(leaves);
          const probe = [0, n - 1, Math.abs(seed) % n];
          for (const i of probe) if (!verifyProof(leaves[i], tree.proof(i), tree.root)) return false;
          if (n <= 300) {
            for (let i = 0; i < n; i++) if (!verifyProof(leaves[i], tree.proof(i), tree.root)) return false;
            if (SimpleMerkleTree.of(leaves, { sortLeaves: false }).root !== tree.root) return false;
          }
          return true;
        }),
        { numRuns: 60 },
      );
    });

    it("property: flipping any digit of the leaf, any proof element or the root fails verification", function () {
      fc.assert(
        fc.property(
          fc.array(hex32, { minLength: 2, maxLength: 64 }),
          fc.nat(),
          fc.nat(),
          fc.constantFrom("leaf", "path", "root"),
          (leaves, which, digit, part) => {
            const tree = MerkleTree.build(leaves);
            const i = which % leaves.length;
            let leaf = leaves[i];
            const path = tree.proof(i);
            let root = tree.root;
            if (part === "leaf") leaf = flipHexDigit(leaf, digit) as Hex;
            else if (part === "root") root = flipHexDigit(root, digit) as Hex;
            else path[digit % path.length] = flipHexDigit(path[digit % path.length], digit >> 8) as Hex;
            return !verifyProof(leaf, path, root);
          },
        ),
        { numRuns: 500 },
      );
    });
  });

  describe("commitments", function () {
    it("property: changing any byte of the digest or the salt, or the metadata, changes the leaf", function () {
      fc.assert(
        fc.property(hex32, hex32, fc.nat(), fc.string(), (digest, salt, digit, note) => {
          const sha256 = digest.slice(2);
          const leaf = computeLeaf({ sha256, salt, meta: {} });
          const flippedDigest = flipHexDigit(digest, digit).slice(2);
          return (
            computeLeaf({ sha256: flippedDigest, salt, meta: {} }) !== leaf &&
            computeLeaf({ sha256, salt: flipHexDigit(salt, digit) as Hex, meta: {} }) !== leaf &&
            computeLeaf({ sha256, salt, meta: { note } }) !== leaf
          );
        }),
        { numRuns: 300 },
      );
    });

    it("a leaf is a hash over 32 bytes, so no internal node (a hash over 64 bytes) has a preimage as a leaf", function () {
      const v = vectors.leaves[1];
      const inner = ethers.solidityPackedKeccak256(
        ["bytes32", "bytes32", "bytes32", "bytes32"],
        [LEAF_DOMAIN, `0x${v.sha256}`, v.salt, v.metaDigest],
      );
      expect(ethers.dataLength(inner)).to.equal(32);
      expect(ethers.keccak256(inner)).to.equal(v.leaf);
      const tree = vectors.trees[1];
      expect(processProof(tree.leaves[0] as Hex, tree.proofs[0] as Hex[]).root).to.equal(tree.root);
    });

    it("metadata is canonical: key order does not matter, values must be strings", function () {
      expect(metaDigest({ a: "1", b: "2" })).to.equal(metaDigest({ b: "2", a: "1" }));
      expect(() => metaDigest({ a: 1 } as unknown as Record<string, string>)).to.throw(/meta.a must be a string/);
    });

    it("rejects malformed digests and salts", function () {
      expect(() => computeLeaf({ sha256: "abc", salt: vectors.leaves[0].salt as Hex, meta: {} })).to.throw(
        /64 lower-case hex/,
      );
      expect(() => computeLeaf({ sha256: vectors.leaves[0].sha256, salt: "0x12" as Hex, meta: {} })).to.throw(/salt/);
    });
  });

  describe("sha256Stream", function () {
    it("equals a one-shot SHA-256 whatever the chunking", async function () {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 5_000 }), fc.integer({ min: 1, max: 700 }), async (data, chunk) => {
          async function* chunks() {
            for (let i = 0; i < data.length; i += chunk) yield data.subarray(i, i + chunk);
          }
          const { sha256, size } = await sha256Stream(chunks());
          return sha256 === sha256Bytes(data) && size === data.length;
        }),
        { numRuns: 100 },
      );
    });
  });
});
