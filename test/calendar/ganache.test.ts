import { expect } from "chai";
import { Wallet, ZeroAddress } from "ethers";
import {
  deployRegistry,
  EvidenceRegistryClient,
  fetchChainId,
  makeProvider,
  MerkleTree,
  registryArtifact,
} from "../../packages/sdk/src";
import { DEV_KEY_0, startGanache } from "../helpers/ganache";

/**
 * The registries are compiled for Shanghai (hardhat.config.ts) so that EVMs without Cancun — public
 * L2s, consortium chains, ganache's ethereumjs — run them. Deployed, written and read on ganache.
 */
describe("registries on a second EVM implementation (ganache, ethereumjs, Shanghai)", function () {
  this.timeout(120_000);
  let ganache: Awaited<ReturnType<typeof startGanache>>;

  before(async function () {
    ganache = await startGanache(5151);
  });
  after(async function () {
    await ganache?.close();
  });

  it("the bytecode holds no Cancun opcodes (MCOPY, TLOAD, TSTORE, BLOBHASH, BLOBBASEFEE)", function () {
    for (const name of ["EvidenceRegistry", "ProvenanceRegistry"] as const) {
      const code = Buffer.from(registryArtifact(name).bytecode.slice(2), "hex");
      const found: string[] = [];
      for (let i = 0; i < code.length; i++) {
        const op = code[i];
        if (op >= 0x60 && op <= 0x7f) {
          i += op - 0x5f;
          continue;
        } // PUSH1..PUSH32 data
        if (op === 0xfe) break; // INVALID: metadata follows
        if ([0x5e, 0x5c, 0x5d, 0x49, 0x4a].includes(op)) found.push(`0x${op.toString(16)}@${i}`);
      }
      expect(found, name).to.deep.equal([]);
    }
  });

  it("EvidenceRegistry deploys, anchors once, refuses a second anchoring, and checks a proof on chain", async function () {
    expect(await fetchChainId(ganache.url)).to.equal(5151);
    const provider = makeProvider(ganache.url, 5151, 100);
    try {
      const signer = new Wallet(DEV_KEY_0, provider);
      const deployment = await deployRegistry("EvidenceRegistry", signer);
      const registry = new EvidenceRegistryClient(deployment.address, signer);
      const tree = MerkleTree.build(["0x" + "11".repeat(32), "0x" + "22".repeat(32), "0x" + "33".repeat(32)]);
      const anchor = await registry.anchor(tree.root, tree.leafCount);
      expect(anchor.chainId).to.equal(5151);
      const block = await provider.getBlock(anchor.blockNumber);
      expect(anchor.timestamp).to.equal(block!.timestamp);
      expect(await registry.verify(tree.leaf(1), tree.proof(1), tree.root)).to.equal(anchor.timestamp);
      expect(await registry.verify(tree.leaf(1), tree.proof(0), tree.root)).to.equal(0);
      expect((await registry.findAnchor(tree.root))!.txHash).to.equal(anchor.txHash);
      let refused: unknown;
      try {
        await registry.anchor(tree.root, tree.leafCount);
      } catch (e) {
        refused = e;
      }
      expect((refused as { code?: string })?.code).to.equal("TX_FAILED");
      // ganache reports the revert without its data through eth_estimateGas, so the custom error's
      // name is decoded on Anvil only; the refusal itself is the same on both
      expect((refused as Error).message).to.match(/EvidenceAlreadyAnchored|reverted/);
      expect((await registry.anchorOf(tree.root)).blockNumber).to.equal(anchor.blockNumber);
    } finally {
      provider.destroy();
    }
  });

  it("ProvenanceRegistry deploys and answers on ganache", async function () {
    const provider = makeProvider(ganache.url, 5151, 100);
    try {
      const signer = new Wallet(DEV_KEY_0, provider);
      const admin = await signer.getAddress();
      const deployment = await deployRegistry("ProvenanceRegistry", signer, [admin, admin, ZeroAddress]);
      expect(deployment.version).to.match(/^\d+\.\d+\.\d+/);
      expect(await provider.getCode(deployment.address)).to.not.equal("0x");
    } finally {
      provider.destroy();
    }
  });
});
