import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import vectors from "./vectors/evidence.json";

describe("EvidenceRegistry", function () {
  async function deployEvidenceRegistryFixture() {
    const [alice, bob] = await ethers.getSigners();
    const registry = await ethers.deployContract("EvidenceRegistry");
    return { registry, alice, bob };
  }

  const root = ethers.id("a root");

  describe("version", function () {
    it("is 1.0.0", async function () {
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      expect(await registry.version()).to.equal("1.0.0");
    });
  });

  describe("anchor", function () {
    it("records submitter, block time and block number, and emits EvidenceAnchored", async function () {
      const { registry, alice } = await loadFixture(deployEvidenceRegistryFixture);
      await time.setNextBlockTimestamp(2_000_000_000);
      const tx = await registry.connect(alice).anchor(root, 42);
      const receipt = await tx.wait();
      await expect(tx).to.emit(registry, "EvidenceAnchored").withArgs(root, alice.address, 42);
      const anchor = await registry.anchorOf(root);
      expect(anchor.submitter).to.equal(alice.address);
      expect(anchor.anchoredAt).to.equal(2_000_000_000);
      expect(anchor.blockNumber).to.equal(receipt!.blockNumber);
    });

    it("is permissionless: any account may anchor", async function () {
      const { registry, bob } = await loadFixture(deployEvidenceRegistryFixture);
      await expect(registry.connect(bob).anchor(root, 1))
        .to.emit(registry, "EvidenceAnchored")
        .withArgs(root, bob.address, 1);
    });

    it("keeps the anchor in a single storage slot", async function () {
      const { registry, alice } = await loadFixture(deployEvidenceRegistryFixture);
      await registry.connect(alice).anchor(root, 1);
      // mapping at slot 0: the value lives at keccak256(root ‖ 0); the next slot stays empty.
      const slot = BigInt(
        ethers.keccak256(ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [root, 0])),
      );
      const word = await ethers.provider.getStorage(await registry.getAddress(), slot);
      const next = await ethers.provider.getStorage(await registry.getAddress(), slot + 1n);
      expect(BigInt(word) & ((1n << 160n) - 1n)).to.equal(BigInt(alice.address));
      expect(next).to.equal(ethers.ZeroHash);
    });

    describe("when the root was already anchored", function () {
      it("reverts with EvidenceAlreadyAnchored carrying the original time, whoever resubmits", async function () {
        const { registry, alice, bob } = await loadFixture(deployEvidenceRegistryFixture);
        await time.setNextBlockTimestamp(2_000_000_100);
        await registry.connect(alice).anchor(root, 3);
        await expect(registry.connect(bob).anchor(root, 3))
          .to.be.revertedWithCustomError(registry, "EvidenceAlreadyAnchored")
          .withArgs(root, 2_000_000_100);
        expect((await registry.anchorOf(root)).submitter).to.equal(alice.address);
      });
    });

    it("reverts with EvidenceRootZero for the zero root", async function () {
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      await expect(registry.anchor(ethers.ZeroHash, 1))
        .to.be.revertedWithCustomError(registry, "EvidenceRootZero")
        .withArgs();
    });

    it("reverts with EvidenceLeafCountZero for a zero leaf count", async function () {
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      await expect(registry.anchor(root, 0))
        .to.be.revertedWithCustomError(registry, "EvidenceLeafCountZero")
        .withArgs(root);
    });

    it("costs at most 47,000 gas for one root, however many items it covers", async function () {
      // Instrumented, unoptimised bytecode under `hardhat coverage` costs more: measure real builds only.
      if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) this.skip();
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      for (const [i, count] of [1, 1_000, 1_000_000].entries()) {
        const receipt = await (await registry.anchor(ethers.id(`root ${i}`), count)).wait();
        expect(receipt!.gasUsed).to.be.lessThanOrEqual(47_000n);
      }
    });
  });

  describe("anchorOf", function () {
    it("returns an all-zero anchor for a root never anchored", async function () {
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      const anchor = await registry.anchorOf(root);
      expect(anchor.submitter).to.equal(ethers.ZeroAddress);
      expect(anchor.anchoredAt).to.equal(0);
      expect(anchor.blockNumber).to.equal(0);
    });
  });

  describe("verify (shared vectors)", function () {
    async function anchoredVectorsFixture() {
      const { registry, alice } = await deployEvidenceRegistryFixture();
      const times: bigint[] = [];
      for (const tree of vectors.trees) {
        await registry.connect(alice).anchor(tree.root, tree.leaves.length);
        times.push((await registry.anchorOf(tree.root)).anchoredAt);
      }
      return { registry, times };
    }

    it("returns the anchoring time for every leaf of every vector tree", async function () {
      const { registry, times } = await loadFixture(anchoredVectorsFixture);
      for (const [t, tree] of vectors.trees.entries()) {
        for (const [i, leaf] of tree.leaves.entries()) {
          expect(await registry.verify(leaf, tree.proofs[i], tree.root)).to.equal(times[t]);
        }
      }
    });

    it("returns 0 when the proof does not lead from the leaf to the root", async function () {
      const { registry } = await loadFixture(anchoredVectorsFixture);
      const tree = vectors.trees[4];
      expect(await registry.verify(tree.leaves[0], tree.proofs[1], tree.root)).to.equal(0);
      const flipped = tree.leaves[2].slice(0, -1) + (tree.leaves[2].endsWith("0") ? "1" : "0");
      expect(await registry.verify(flipped, tree.proofs[2], tree.root)).to.equal(0);
    });

    it("returns 0 when the root is not anchored, even with a valid proof", async function () {
      const { registry } = await loadFixture(deployEvidenceRegistryFixture);
      const tree = vectors.trees[2];
      expect(await registry.verify(tree.leaves[0], tree.proofs[0], tree.root)).to.equal(0);
    });

    it("checks the path it is given: the double-hashed leaf format, not this function, keeps internal nodes out", async function () {
      const { registry, times } = await loadFixture(anchoredVectorsFixture);
      const tree = vectors.trees[3]; // 4 leaves: node(0,1) with sibling node(2,3) folds to the root
      const node01 = tree.proofs[2][1];
      const node23 = tree.proofs[0][1];
      expect(await registry.verify(node01, [node23], tree.root)).to.equal(times[3]);
    });
  });
});
