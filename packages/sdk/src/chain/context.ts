import * as path from "node:path";
import type { JsonRpcProvider, Signer, TransactionRequest, TransactionResponse } from "ethers";
import { ProofmarkError } from "../core/errors";
import { assertDiskRoom, withLockFile } from "../util/fs";
import { loadSigner, devAccounts } from "./accounts";
import { findNetwork, loadConfig } from "./config";
import { assertHasCode, deployRegistry, readDeployments, recordDeployment, type RegistryName } from "./deployments";
import { embeddedChainName, embeddedNode, LOCAL_CHAIN_ID, LocalNode } from "./local-node";
import { fetchChainId, makeProvider } from "./rpc";

/** How to reach a chain: the embedded local chain (default), a named network, or RPC URLs. */
export interface ChainOptions {
  /** The data folder (see `resolveDataDir`). */
  dataDir: string;
  /** A network name from `<dataDir>/config.json`, or "local". */
  network?: string;
  /** Explicit RPC URLs (the first is used for writes; all are cross-checked by verify). */
  rpc?: string[];
  /** The chain id the caller expects (checked against the endpoint). */
  chainId?: number;
  /** Signer name (local dev account) — see `loadSigner`. */
  as?: string;
  /**
   * False for a caller that only writes: on a local chain just restarted from a snapshot it need
   * not wait for the older blocks to load (see {@link LocalNode.start}). Default true.
   */
  history?: boolean;
}

/**
 * Constructor arguments for registries that need them, keyed by registry. Filled by the modules
 * that own each registry (e.g. the provenance client registers the registrar account).
 */
export const REGISTRY_DEPLOY_ARGS: Partial<
  Record<RegistryName, (ctx: ChainContext, deployer: Signer) => Promise<unknown[]>>
> = {
  // The ProvenanceRegistry trusts a forwarder deployed (and recorded) with it, for members' meta-transactions.
  ProvenanceRegistry: async (ctx, deployer) => [
    devAccounts().find((a) => a.name === "admin")!.address,
    devAccounts().find((a) => a.name === "registrar")!.address,
    await ctx.deployForwarder(deployer),
  ],
};

/** A connected chain: provider, signer, registry addresses, and persistence of the local chain. */
export class ChainContext {
  readonly dataDir: string;
  readonly networkName: string;
  readonly chainId: number;
  readonly rpcUrls: string[];
  readonly provider: JsonRpcProvider;
  /** The embedded node when this is the local chain. */
  readonly localNode?: LocalNode;
  private readonly as?: string;

  constructor(init: {
    dataDir: string;
    networkName: string;
    chainId: number;
    rpcUrls: string[];
    provider: JsonRpcProvider;
    localNode?: LocalNode;
    as?: string;
  }) {
    this.dataDir = init.dataDir;
    this.networkName = init.networkName;
    this.chainId = init.chainId;
    this.rpcUrls = init.rpcUrls;
    this.provider = init.provider;
    this.localNode = init.localNode;
    this.as = init.as;
  }

  /** True on the embedded local chain (or any chain with id 31337). */
  get isLocal(): boolean {
    return this.chainId === LOCAL_CHAIN_ID || this.localNode !== undefined;
  }

  /**
   * The signer (named dev account `as`, or the configured key). On the embedded local chain its
   * sends are serialised per account across processes (a lock file in the data folder), so that
   * two commands at once never pick the same nonce.
   */
  async signer(as = this.as): Promise<Signer> {
    const signer = await loadSigner({ chainId: this.chainId, provider: this.provider, as });
    if (!this.localNode) return signer;
    const lock = path.join(this.localNode.dir, `send-${(await signer.getAddress()).toLowerCase()}.lock`);
    const send = signer.sendTransaction.bind(signer);
    const dir = this.localNode.dir;
    signer.sendTransaction = (tx: TransactionRequest): Promise<TransactionResponse> => {
      assertDiskRoom(dir); // room to journal the block, before anything is sent
      return withLockFile(lock, () => send(tx));
    };
    return signer;
  }

  /**
   * Address of a registry on this chain. On the local chain it is deployed on first use; elsewhere
   * it must have been deployed (`proofmark deploy`) and recorded. Its code is always checked.
   */
  async registryAddress(name: RegistryName): Promise<string> {
    const found = await this.recordedRegistry(name);
    if (found) return found;
    if (!this.isLocal) {
      throw new ProofmarkError(
        "REGISTRY_NOT_FOUND",
        `no ${name} is recorded for chain ${this.chainId} (network ${this.networkName}); deploy one first`,
        { chainId: this.chainId, network: this.networkName },
      );
    }
    // First use: one process deploys, the others wait and then find its deployment.
    return withLockFile(deploymentsLock(this.dataDir, this.chainId), async () => {
      const again = await this.recordedRegistry(name);
      if (again) return again;
      return this.deployAndRecord(name, await this.signer("admin"));
    });
  }

  /** Deploys a registry explicitly (any chain) and records it. */
  async deploy(name: RegistryName): Promise<string> {
    return withLockFile(deploymentsLock(this.dataDir, this.chainId), async () =>
      this.deployAndRecord(name, await this.signer()),
    );
  }

  /** The recorded registry when its code is on this chain (elsewhere than the local chain, a recorded address without code is an error). */
  private async recordedRegistry(name: RegistryName): Promise<string | undefined> {
    const recorded = readDeployments(this.dataDir, this.chainId)[name];
    if (!recorded) return undefined;
    if ((await this.provider.getCode(recorded.address)) !== "0x") return recorded.address;
    if (!this.isLocal) await assertHasCode(this.provider, recorded.address, name);
    return undefined;
  }

  /**
   * Deploys an ERC-2771 forwarder and records it as `ProvenanceForwarder` (called, under the
   * deployments lock, while deploying the ProvenanceRegistry that will trust it).
   */
  async deployForwarder(deployer: Signer): Promise<string> {
    const deployment = await deployRegistry("ProvenanceForwarder", deployer);
    await this.persist();
    recordDeployment(this.dataDir, this.chainId, "ProvenanceForwarder", deployment);
    return deployment.address;
  }

  private async deployAndRecord(name: RegistryName, deployer: Signer): Promise<string> {
    const args = (await REGISTRY_DEPLOY_ARGS[name]?.(this, deployer)) ?? [];
    const deployment = await deployRegistry(name, deployer, args);
    // Durable first, recorded second: the deployments file never names a contract the chain could lose.
    await this.persist();
    recordDeployment(this.dataDir, this.chainId, name, deployment);
    return deployment.address;
  }

  /** Makes everything written so far durable (saves the local chain's state; a no-op elsewhere). */
  async persist(): Promise<void> {
    if (this.localNode) await this.localNode.persist();
  }

  /** Releases the provider. */
  close(): void {
    this.provider.destroy();
  }
}

function deploymentsLock(dataDir: string, chainId: number): string {
  return path.join(dataDir, "deployments", `${chainId}.lock`);
}

/**
 * Connects to the chain named by `opts`: `--rpc` URLs, a configured network, or (default) the
 * embedded local chain, which is started when needed. Checks the chain id.
 *
 * @example
 * const chain = await openChain({ dataDir: resolveDataDir() });
 * const registry = await chain.registryAddress("EvidenceRegistry");
 */
export async function openChain(opts: ChainOptions): Promise<ChainContext> {
  const config = loadConfig(opts.dataDir);
  let rpcUrls: string[];
  let networkName: string;
  let localNode: LocalNode | undefined;
  if (opts.rpc && opts.rpc.length > 0) {
    rpcUrls = opts.rpc;
    networkName = opts.network ?? "rpc";
  } else if (opts.network && opts.network !== "local" && !embeddedNode(opts.dataDir, opts.network)) {
    const network = findNetwork(config, { name: opts.network });
    if (!network) {
      throw new ProofmarkError(
        "NETWORK_UNKNOWN",
        `no network "${opts.network}" in ${opts.dataDir}/config.json; add it under "networks" or give its RPC endpoint`,
        { network: opts.network },
      );
    }
    rpcUrls = network.rpc;
    networkName = network.name;
  } else if (opts.chainId !== undefined && embeddedChainName(opts.chainId) === undefined) {
    const network = findNetwork(config, { chainId: opts.chainId });
    if (!network) {
      throw new ProofmarkError(
        "NETWORK_UNKNOWN",
        `no RPC endpoint is configured for chain ${opts.chainId}; give an RPC endpoint or add the network to ${opts.dataDir}/config.json`,
        { chainId: opts.chainId },
      );
    }
    rpcUrls = network.rpc;
    networkName = network.name;
  } else {
    networkName =
      (opts.network && embeddedNode(opts.dataDir, opts.network) ? opts.network : undefined) ??
      (opts.chainId !== undefined ? embeddedChainName(opts.chainId) : undefined) ??
      "local";
    localNode = embeddedNode(opts.dataDir, networkName)!;
    const info = await localNode.start({ history: opts.history });
    rpcUrls = [info.rpcUrl];
  }
  const chainId = await fetchChainId(rpcUrls[0]);
  if (opts.chainId !== undefined && chainId !== opts.chainId) {
    throw new ProofmarkError(
      "CHAIN_MISMATCH",
      `expected chain ${opts.chainId} but ${rpcUrls[0]} serves chain ${chainId}; use an RPC URL of chain ${opts.chainId}`,
      { expected: opts.chainId, actual: chainId, url: rpcUrls[0] },
    );
  }
  const provider = makeProvider(rpcUrls[0], chainId, localNode ? 100 : 2_000);
  return new ChainContext({ dataDir: opts.dataDir, networkName, chainId, rpcUrls, provider, localNode, as: opts.as });
}
