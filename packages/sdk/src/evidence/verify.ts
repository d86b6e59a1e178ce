import { Verifier, type VerificationResult, type WitnessPolicy } from "../core/engine";
import { ProofmarkError } from "../core/errors";
import type { Receipt, ReceiptAnchor } from "../core/receipt";
import { KNOWN_REGISTRY_CODES } from "../core/registry-codes";
import { findNetwork, loadConfig } from "../chain/config";
import { jsonRpcReader } from "../chain/jsonrpc";
import { embeddedChainName, embeddedNode, LOCAL_CHAIN_ID } from "../chain/local-node";
import { timestampChecker } from "../tsa";

/** Options of a verification session in Node: where the chains are, whom to trust. */
export interface EvidenceVerifierOptions {
  /** RPC endpoints to use (all are queried and must agree); default: from config, or the local chain. */
  rpc?: string[];
  /** The data folder (config and local chain). */
  dataDir: string;
  /** Confirmations required (default: the network's `minConfirmations`, else 1). */
  minConfirmations?: number;
  /** Registry addresses to accept although their code is not a known registry (added to config `trustRegistries`). */
  trustRegistries?: string[];
  /** Deadline of each RPC call, ms (default 10 s). */
  rpcTimeoutMs?: number;
  /** How many time witnesses (anchors + RFC 3161 tokens) must verify (default "all"). */
  policy?: WitnessPolicy;
  /** Trusted TSA root certificates (PEM files); default PROOFMARK_TSA_TRUST, plus config.json `tsaTrust`. */
  tsaTrust?: string[];
}

export interface VerifyOptions extends EvidenceVerifierOptions {
  receipt: Receipt;
  /** The file's digest as computed now (omit to check only the receipt and the chain). */
  file?: { path?: string; sha256: string; size: number };
}

/**
 * A verification session over the chains a data folder knows (config networks, the local chain,
 * or `rpc`): the one engine (core/engine.ts) with the JSON-RPC adapter. Reads are shared between
 * the receipts verified in one session, so a folder stamped in one batch costs one anchor read.
 *
 * @example
 * const verifier = evidenceVerifier({ dataDir });
 * for (const r of receipts) console.log((await verifier.verify(r.receipt, r.file)).status);
 */
export function evidenceVerifier(opts: EvidenceVerifierOptions): Verifier {
  const config = loadConfig(opts.dataDir);
  const trust = [...(opts.trustRegistries ?? [])];
  let minConfirmations = opts.minConfirmations;
  for (const n of Object.values(config.networks ?? {})) {
    for (const t of n.trustRegistries ?? []) trust.push(t.toLowerCase());
  }
  const local = new Map<number, Promise<string>>();
  const readers = async (anchor: ReceiptAnchor) => {
    const http = { timeoutMs: opts.rpcTimeoutMs };
    if (opts.rpc && opts.rpc.length > 0) return opts.rpc.map((u) => jsonRpcReader(u, http));
    const network = findNetwork(config, { chainId: anchor.chainId });
    if (network) {
      minConfirmations ??= network.minConfirmations;
      return network.rpc.map((u) => jsonRpcReader(u, http));
    }
    if (anchor.chainId === LOCAL_CHAIN_ID) {
      if (!local.has(anchor.chainId))
        local.set(
          anchor.chainId,
          embeddedNode(opts.dataDir, "local")!
            .start()
            .then((n) => n.rpcUrl),
        );
      return [jsonRpcReader(await local.get(anchor.chainId)!, http)];
    }
    const embedded = embeddedChainName(anchor.chainId);
    if (embedded) {
      // A second embedded chain stands for another party's chain: verification reads it when it
      // runs, and never starts it (a witness that is down is reported as such).
      if (!local.has(anchor.chainId))
        local.set(
          anchor.chainId,
          embeddedNode(opts.dataDir, embedded)!
            .status()
            .then((n) => {
              if (!n)
                throw new ProofmarkError(
                  "RPC_UNREACHABLE",
                  `the embedded chain ${embedded} (chain ${anchor.chainId}) of ${opts.dataDir} is not running, so this witness could not be checked`,
                  { chainId: anchor.chainId, chain: embedded },
                );
              return n.rpcUrl;
            }),
        );
      return [jsonRpcReader(await local.get(anchor.chainId)!, http)];
    }
    throw new ProofmarkError(
      "NETWORK_UNKNOWN",
      `the receipt was anchored on chain ${anchor.chainId}, and no RPC endpoint is configured for it; give an RPC endpoint of chain ${anchor.chainId}`,
      { chainId: anchor.chainId },
    );
  };
  return new Verifier({
    readers,
    knownRegistries: KNOWN_REGISTRY_CODES,
    policy: opts.policy,
    checkTimestamp: timestampChecker({ dataDir: opts.dataDir, files: opts.tsaTrust, configured: config.tsaTrust }),
    trustRegistries: trust.map((t) => t.toLowerCase()),
    get minConfirmations() {
      return minConfirmations ?? 1;
    },
  });
}

/**
 * Verifies a receipt (and the file's digest) against the chain the receipt names. Never throws for
 * a failed check: the result says which step failed (`status`, `code`, `message`, each anchor's
 * steps); throws only for unusable options.
 *
 * @example
 * const result = await verifyEvidence({ receipt, file: { path, ...(await hashFile(path)) }, dataDir });
 * if (result.status !== "verified") console.error(result.code, result.message);
 */
export function verifyEvidence(opts: VerifyOptions): Promise<VerificationResult> {
  return evidenceVerifier(opts).verify(opts.receipt, opts.file);
}
