import { Contract, Interface, type ContractRunner, type TransactionReceipt } from "ethers";
import { isProofmarkError, ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import type { ReceiptAnchor } from "../core/receipt";
import { EvidenceRegistryArtifact } from "./artifacts.generated";
import { minedReceipt } from "./rpc";

/** The first anchoring of a root, as stored on chain (anchoredAt 0 = never anchored). */
export interface OnChainAnchor {
  submitter: Hex;
  anchoredAt: number;
  blockNumber: number;
}

export const evidenceRegistryInterface = new Interface(EvidenceRegistryArtifact.abi);

/**
 * Typed client of an EvidenceRegistry. Takes any ethers `ContractRunner`: a provider for reads,
 * a signer for writes.
 *
 * @example
 * const registry = new EvidenceRegistryClient(address, signer);
 * const anchor = await registry.anchor(tree.root, tree.leafCount);
 */
export class EvidenceRegistryClient {
  readonly address: string;
  private readonly contract: Contract;

  constructor(address: string, runner: ContractRunner) {
    this.address = address;
    this.contract = new Contract(address, evidenceRegistryInterface, runner);
  }

  /** The registry's `version()`. */
  async version(): Promise<string> {
    return String(await this.contract.version());
  }

  /** The first anchoring of `root` (zeros when never anchored). */
  async anchorOf(root: Hex, blockTag?: number | "latest"): Promise<OnChainAnchor> {
    const a = await this.contract.anchorOf(root, { blockTag: blockTag ?? "latest" });
    return {
      submitter: String(a.submitter).toLowerCase() as Hex,
      anchoredAt: Number(a.anchoredAt),
      blockNumber: Number(a.blockNumber),
    };
  }

  /** The on-chain proof check: the root's anchoring time, or 0. */
  async verify(leaf: Hex, path: Hex[], root: Hex): Promise<number> {
    return Number(await this.contract.verify(leaf, path, root));
  }

  /**
   * Sends `anchor(root, leafCount)`. `onSent` receives the transaction hash as soon as it is known
   * (before mining), so that a queue can record it. Resolves once mined, with the anchor fields of
   * the receipt format. Reverts are turned into TX_FAILED with the decoded custom error.
   */
  async anchor(root: Hex, leafCount: number, onSent?: (txHash: Hex) => void | Promise<void>): Promise<ReceiptAnchor> {
    let tx;
    try {
      tx = await this.contract.anchor(root, leafCount);
    } catch (e) {
      throw describeTxError(e, "anchoring the root");
    }
    await onSent?.(tx.hash as Hex);
    let receipt: TransactionReceipt | null;
    try {
      receipt = await minedReceipt(tx);
    } catch (e) {
      throw describeTxError(e, "anchoring the root");
    }
    if (!receipt || receipt.status !== 1)
      throw new ProofmarkError("TX_FAILED", `the anchoring transaction ${tx.hash} failed`, { txHash: tx.hash });
    return this.anchorFromReceipt(receipt, root);
  }

  /** The anchor fields from a mined transaction receipt that anchored `root`. */
  async anchorFromReceipt(receipt: TransactionReceipt, root: Hex): Promise<ReceiptAnchor> {
    const log = receipt.logs.find(
      (l) => l.address.toLowerCase() === this.address.toLowerCase() && l.topics[1]?.toLowerCase() === root,
    );
    if (!log)
      throw new ProofmarkError("ANCHOR_MISMATCH", `transaction ${receipt.hash} did not anchor ${root}`, {
        txHash: receipt.hash,
        root,
      });
    const block = await receipt.getBlock();
    const parsed = evidenceRegistryInterface.parseLog(log)!;
    return {
      chainId: Number((await receipt.provider.getNetwork()).chainId),
      registry: this.address.toLowerCase() as Hex,
      txHash: receipt.hash as Hex,
      blockNumber: receipt.blockNumber,
      blockHash: receipt.blockHash as Hex,
      timestamp: block.timestamp,
      submitter: String(parsed.args.submitter).toLowerCase() as Hex,
    };
  }

  /**
   * Finds the transaction that anchored `root` (from the registry's logs) and returns its anchor
   * fields, or undefined when the root is not anchored. Used to recover a batch whose process died
   * after sending.
   */
  async findAnchor(root: Hex): Promise<ReceiptAnchor | undefined> {
    const onChain = await this.anchorOf(root);
    if (onChain.anchoredAt === 0) return undefined;
    const runner = this.contract.runner;
    const provider = runner?.provider;
    if (!provider) throw new ProofmarkError("INVALID_ARGUMENT", "findAnchor needs a runner with a provider");
    const logs = await provider.getLogs({
      address: this.address,
      topics: [evidenceRegistryInterface.getEvent("EvidenceAnchored")!.topicHash, root],
      fromBlock: onChain.blockNumber,
      toBlock: onChain.blockNumber,
    });
    if (logs.length === 0)
      throw new ProofmarkError(
        "ANCHOR_MISMATCH",
        `root ${root} is anchored at block ${onChain.blockNumber} but its log was not found`,
        { root },
      );
    const receipt = await provider.getTransactionReceipt(logs[0].transactionHash);
    return this.anchorFromReceipt(receipt!, root);
  }
}

/** Turns an ethers error from a write into a ProofmarkError that says why. */
export function describeTxError(e: unknown, what: string): ProofmarkError {
  // Already coded before anything was sent (DISK_FULL, BUSY from the send lock…): keep its code.
  if (isProofmarkError(e)) return e;
  const err = e as {
    code?: string;
    shortMessage?: string;
    message?: string;
    data?: string;
    revert?: { name: string; args: unknown[] };
  };
  if (err.code === "CALL_EXCEPTION") {
    let reason = err.revert ? `${err.revert.name}(${err.revert.args.map(String).join(", ")})` : undefined;
    if (!reason && err.data) {
      try {
        const decoded = evidenceRegistryInterface.parseError(err.data);
        if (decoded) reason = `${decoded.name}(${decoded.args.map(String).join(", ")})`;
      } catch {
        // unknown error data
      }
    }
    return new ProofmarkError(
      "TX_FAILED",
      `${what} reverted: ${reason ?? err.shortMessage ?? "no reason given"}`,
      { reason },
      { cause: e },
    );
  }
  if (err.code === "INSUFFICIENT_FUNDS") {
    return new ProofmarkError(
      "TX_FAILED",
      `${what} failed: the signing account has not enough funds for gas`,
      {},
      { cause: e },
    );
  }
  if (err.code === "NETWORK_ERROR" || err.code === "TIMEOUT" || /ECONNREFUSED|fetch failed/.test(String(err.message))) {
    return new ProofmarkError(
      "RPC_UNREACHABLE",
      `${what} failed: the RPC endpoint stopped answering (${err.shortMessage ?? err.message}); nothing was lost: what was queued stays queued for a retry`,
      { queued: true },
      { cause: e },
    );
  }
  return new ProofmarkError("TX_FAILED", `${what} failed: ${err.shortMessage ?? err.message}`, {}, { cause: e });
}
