import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import { checkReceiptOffline, type CheckStep, type Receipt, type ReceiptAnchor } from "../core/receipt";
import { findNetwork, loadConfig } from "../chain/config";
import { assertHasCode } from "../chain/deployments";
import { EvidenceRegistryClient, type OnChainAnchor } from "../chain/evidence";
import { LOCAL_CHAIN_ID, LocalNode } from "../chain/local-node";
import { fetchChainId, makeProvider, rpcCall } from "../chain/rpc";

/** What one RPC endpoint said about one anchor. */
export interface EndpointCheck {
  url: string;
  ok: boolean;
  chainId?: number;
  registryVersion?: string;
  onChain?: OnChainAnchor;
  /** The on-chain `verify(leaf, path, root)` answer (anchor time or 0). */
  contractVerify?: number;
  blockHash?: string;
  latestBlock?: number;
  finalizedBlock?: number;
  /** Whether the node still has the receipt's transaction (it was then checked to be the anchoring one). */
  txFound?: boolean;
  error?: { code: ErrorCode; message: string };
}

/** The verdict on one anchor of the receipt. */
export interface AnchorCheck {
  anchor: ReceiptAnchor;
  ok: boolean;
  confirmations?: number;
  /** True when the anchoring block is at or below the chain's finalized block (undefined: unknown). */
  final?: boolean;
  registryVersion?: string;
  endpoints: EndpointCheck[];
  error?: { code: ErrorCode; message: string };
}

/** The whole verification: offline steps, then each anchor against its chain. */
export interface VerificationResult {
  ok: boolean;
  /** Set when not ok: the first reason. */
  code?: ErrorCode;
  message: string;
  receipt: Receipt;
  file?: { path?: string; sha256: string; size: number };
  steps: CheckStep[];
  anchors: AnchorCheck[];
  checkedAt: string;
}

export interface VerifyOptions {
  receipt: Receipt;
  /** The file's digest as computed now (omit to check only the receipt and the chain). */
  file?: { path?: string; sha256: string; size: number };
  /** RPC endpoints to use (all are queried and must agree); default: from config, or the local chain. */
  rpc?: string[];
  /** The data folder (config and local chain). */
  dataDir: string;
  /** Confirmations required (default 1). */
  minConfirmations?: number;
}

/**
 * Verifies a receipt (and the file's digest) against the chain the receipt names. Never throws for
 * a failed check: the result says which check failed (`code`, `message`); throws only for unusable
 * options. Only chain id and registry of the receipt are trusted, and each is checked.
 *
 * @example
 * const result = await verifyEvidence({ receipt, file: await hashFile(path), dataDir });
 * if (!result.ok) console.error(result.code, result.message);
 */
export async function verifyEvidence(opts: VerifyOptions): Promise<VerificationResult> {
  const { receipt } = opts;
  const result: VerificationResult = { ok: false, message: "", receipt, file: opts.file, steps: [], anchors: [], checkedAt: new Date().toISOString() };
  if (opts.file) {
    try {
      result.steps = checkReceiptOffline(receipt, opts.file);
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      result.steps = [{ step: "digest", ok: e.code !== "DIGEST_MISMATCH", detail: e.details }];
      return fail(result, e);
    }
  }
  const minConfirmations = opts.minConfirmations ?? 1;
  for (const anchor of receipt.anchors) {
    result.anchors.push(await checkAnchor(receipt, anchor, opts, minConfirmations));
  }
  const bad = result.anchors.find((a) => !a.ok);
  if (bad) return fail(result, new ProofmarkError(bad.error!.code, bad.error!.message));
  result.ok = true;
  const a = result.anchors[0];
  result.message = `verified: ${opts.file ? "the file matches the receipt and " : ""}its root was anchored on chain ${a.anchor.chainId} in block ${a.anchor.blockNumber} at ${new Date(a.anchor.timestamp * 1000).toISOString()} (${a.confirmations} confirmation${a.confirmations === 1 ? "" : "s"})`;
  return result;
}

function fail(result: VerificationResult, e: ProofmarkError): VerificationResult {
  result.ok = false;
  result.code = e.code;
  result.message = e.message;
  return result;
}

async function endpointsFor(anchor: ReceiptAnchor, opts: VerifyOptions): Promise<string[]> {
  if (opts.rpc && opts.rpc.length > 0) return opts.rpc;
  const network = findNetwork(loadConfig(opts.dataDir), { chainId: anchor.chainId });
  if (network) return network.rpc;
  if (anchor.chainId === LOCAL_CHAIN_ID) return [(await new LocalNode(opts.dataDir).start()).rpcUrl];
  throw new ProofmarkError("NETWORK_UNKNOWN", `the receipt was anchored on chain ${anchor.chainId}, and no RPC endpoint is configured for it; pass --rpc URL of chain ${anchor.chainId}`, { chainId: anchor.chainId });
}

async function checkAnchor(receipt: Receipt, anchor: ReceiptAnchor, opts: VerifyOptions, minConfirmations: number): Promise<AnchorCheck> {
  const check: AnchorCheck = { anchor, ok: false, endpoints: [] };
  let urls: string[];
  try {
    urls = await endpointsFor(anchor, opts);
  } catch (e) {
    if (!isProofmarkError(e)) throw e;
    check.error = { code: e.code, message: e.message };
    return check;
  }
  for (const url of urls) check.endpoints.push(await checkEndpoint(receipt, anchor, url));
  const first = check.endpoints.find((ep) => ep.error) ?? check.endpoints[0];
  if (first.error) {
    check.error = first.error;
    return check;
  }
  const disagree = check.endpoints.find((ep) => ep.onChain!.anchoredAt !== first.onChain!.anchoredAt || ep.blockHash !== first.blockHash);
  if (disagree) {
    check.error = { code: "ANCHOR_MISMATCH", message: `the RPC endpoints disagree: ${first.url} and ${disagree.url} report different anchors for root ${receipt.proof.root}; do not trust either until this is explained` };
    return check;
  }
  check.registryVersion = first.registryVersion;
  const latest = Math.min(...check.endpoints.map((ep) => ep.latestBlock!));
  check.confirmations = latest - anchor.blockNumber + 1;
  const finalized = first.finalizedBlock;
  check.final = finalized === undefined ? undefined : anchor.blockNumber <= finalized;
  if (check.confirmations < minConfirmations) {
    check.error = { code: "NOT_CONFIRMED", message: `the anchor has ${check.confirmations} confirmation(s), fewer than the ${minConfirmations} required; wait and verify again` };
    return check;
  }
  check.ok = true;
  return check;
}

async function checkEndpoint(receipt: Receipt, anchor: ReceiptAnchor, url: string): Promise<EndpointCheck> {
  const ep: EndpointCheck = { url, ok: false };
  try {
    ep.chainId = await fetchChainId(url);
    if (ep.chainId !== anchor.chainId) {
      throw new ProofmarkError("CHAIN_MISMATCH", `the receipt was anchored on chain ${anchor.chainId} but ${url} serves chain ${ep.chainId}; use an RPC endpoint of chain ${anchor.chainId}`, { expected: anchor.chainId, actual: ep.chainId });
    }
    const provider = makeProvider(url, ep.chainId);
    try {
      await assertHasCode(provider, anchor.registry, "the registry named in the receipt");
      const registry = new EvidenceRegistryClient(anchor.registry, provider);
      ep.registryVersion = await registry.version();
      ep.onChain = await registry.anchorOf(receipt.proof.root);
      ep.contractVerify = await registry.verify(receipt.commitment.leaf, receipt.proof.path, receipt.proof.root);
      ep.latestBlock = await provider.getBlockNumber();
      try {
        const finalized = await rpcCall<{ number: string } | null>(url, "eth_getBlockByNumber", ["finalized", false]);
        if (finalized) ep.finalizedBlock = Number(BigInt(finalized.number));
      } catch {
        // the endpoint does not know the "finalized" tag: finality stays unknown
      }
      if (ep.onChain.anchoredAt === 0) {
        throw new ProofmarkError("NOT_ANCHORED", `root ${receipt.proof.root} is not anchored in registry ${anchor.registry} on chain ${anchor.chainId} (per ${url}); the receipt's anchor is not on this chain — it may be from a chain that was reset, or forged`, { root: receipt.proof.root });
      }
      const block = await provider.getBlock(anchor.blockNumber);
      ep.blockHash = block?.hash ?? undefined;
      const same =
        ep.onChain.blockNumber === anchor.blockNumber && ep.onChain.anchoredAt === anchor.timestamp &&
        ep.onChain.submitter === anchor.submitter.toLowerCase() && ep.blockHash === anchor.blockHash;
      if (!same) {
        throw new ProofmarkError("ANCHOR_MISMATCH", `the chain records root ${receipt.proof.root} as anchored in block ${ep.onChain.blockNumber} at ${ep.onChain.anchoredAt} by ${ep.onChain.submitter}, but the receipt says block ${anchor.blockNumber} (hash ${anchor.blockHash}) at ${anchor.timestamp} by ${anchor.submitter}; the receipt's anchor was altered or the chain was reorganised`, { onChain: ep.onChain, receipt: anchor });
      }
      // The receipt's transaction must be the one that anchored the root — when the node still has it
      // (some nodes prune old transactions: a missing receipt is not a contradiction, a different one is).
      const tx = await provider.getTransactionReceipt(anchor.txHash).catch(() => null);
      if (tx) {
        const anchoredHere = tx.blockNumber === anchor.blockNumber && tx.to?.toLowerCase() === anchor.registry.toLowerCase() &&
          tx.logs.some((l) => l.address.toLowerCase() === anchor.registry.toLowerCase() && l.topics[1]?.toLowerCase() === receipt.proof.root);
        if (!anchoredHere) {
          throw new ProofmarkError("ANCHOR_MISMATCH", `transaction ${anchor.txHash} named in the receipt did not anchor root ${receipt.proof.root} in registry ${anchor.registry}; the receipt's anchor was altered`, { txHash: anchor.txHash });
        }
        ep.txFound = true;
      } else ep.txFound = false;
      if (ep.contractVerify !== anchor.timestamp) {
        throw new ProofmarkError("PROOF_INVALID", `the registry's own verify(leaf, path, root) rejects the receipt's proof`, { contractVerify: ep.contractVerify });
      }
      ep.ok = true;
    } finally {
      provider.destroy();
    }
  } catch (e) {
    if (!isProofmarkError(e)) {
      const err = e as { code?: string; shortMessage?: string; message?: string };
      ep.error = { code: "RPC_UNREACHABLE", message: `the RPC endpoint ${url} failed: ${err.shortMessage ?? err.message}` };
    } else ep.error = { code: e.code, message: e.message };
  }
  return ep;
}
