import * as path from "node:path";
import { ContractFactory, type Provider, type Signer } from "ethers";
import { isProofmarkError, ProofmarkError } from "../core/errors";
import { readJsonIfExists, writeFileAtomic } from "../util/fs";
import * as artifacts from "./artifacts.generated";
import { minedReceipt } from "./rpc";

/** Registries Proofmark deploys. */
export type RegistryName = "EvidenceRegistry" | "ProvenanceRegistry";

/** Contracts Proofmark deploys: the registries and the ERC-2771 forwarder the ProvenanceRegistry trusts. */
export type ContractName = RegistryName | "ProvenanceForwarder";

/** One recorded deployment. */
export interface Deployment {
  address: string;
  txHash: string;
  blockNumber: number;
  deployer: string;
  version: string;
}

/** `<dataDir>/deployments/<chainId>.json`. */
export type Deployments = Partial<Record<ContractName, Deployment>>;

function deploymentsFile(dataDir: string, chainId: number): string {
  return path.join(dataDir, "deployments", `${chainId}.json`);
}

/** The recorded deployments for `chainId` in `dataDir`. */
export function readDeployments(dataDir: string, chainId: number): Deployments {
  const file = deploymentsFile(dataDir, chainId);
  let all: Deployments | undefined;
  try {
    all = readJsonIfExists<Deployments>(file);
  } catch (e) {
    throw new ProofmarkError(
      "CHAIN_STATE_CORRUPT",
      `${file} is damaged (${(e as Error).message}); restore it from a backup, or move it away to deploy new registries (receipts keep naming the old addresses)`,
      { file },
      { cause: e },
    );
  }
  if (all !== undefined && (typeof all !== "object" || all === null || Array.isArray(all))) {
    throw new ProofmarkError("CHAIN_STATE_CORRUPT", `${file} is not a deployments record; restore it from a backup`, {
      file,
    });
  }
  return all ?? {};
}

/** Records a deployment (atomically). */
export function recordDeployment(dataDir: string, chainId: number, name: ContractName, deployment: Deployment): void {
  const all = readDeployments(dataDir, chainId);
  all[name] = deployment;
  writeFileAtomic(deploymentsFile(dataDir, chainId), `${JSON.stringify(all, null, 2)}\n`);
}

/** ABI and bytecode of a registry (or of the forwarder). */
export function registryArtifact(name: ContractName): { abi: readonly unknown[]; bytecode: string } {
  const artifact = (artifacts as Record<string, { abi: readonly unknown[]; bytecode: string } | undefined>)[
    `${name}Artifact`
  ];
  if (!artifact) throw new ProofmarkError("NODE_FAILED", `the SDK was built without ${name}; run npm run build`);
  return artifact;
}

/** Deploys a registry (or the forwarder) with `signer` and waits for it. */
export async function deployRegistry(name: ContractName, signer: Signer, args: unknown[] = []): Promise<Deployment> {
  const { abi, bytecode } = registryArtifact(name);
  const factory = new ContractFactory(abi as never, bytecode, signer);
  let contract;
  let receipt;
  try {
    contract = await factory.deploy(...args);
    receipt = await minedReceipt(contract.deploymentTransaction()!);
  } catch (e) {
    if (isProofmarkError(e)) throw e;
    const err = e as { shortMessage?: string; message?: string; code?: string };
    // ethers' message carries the whole signed transaction (kilobytes of hex): keep its short form.
    throw new ProofmarkError(
      "TX_FAILED",
      `deploying ${name} failed: ${err.shortMessage ?? String(err.message).split("\n")[0].slice(0, 200)}`,
      { registry: name, reason: err.code },
      { cause: e },
    );
  }
  const tx = contract.deploymentTransaction();
  if (!receipt || receipt.status !== 1)
    throw new ProofmarkError("TX_FAILED", `deploying ${name} failed`, { txHash: tx?.hash });
  const address = await contract.getAddress();
  // The forwarder has no version(): its EIP-712 domain version is "1" (eip712Domain()).
  const version =
    name === "ProvenanceForwarder"
      ? "1"
      : String(await (contract as unknown as { version(): Promise<string> }).version());
  return {
    address,
    txHash: receipt.hash,
    blockNumber: receipt.blockNumber,
    deployer: await signer.getAddress(),
    version,
  };
}

/** Throws REGISTRY_NOT_FOUND unless `address` holds contract code. */
export async function assertHasCode(provider: Provider, address: string, what: string): Promise<void> {
  const code = await provider.getCode(address);
  if (code === "0x") {
    throw new ProofmarkError(
      "REGISTRY_NOT_FOUND",
      `there is no contract at ${address} (${what}) on this chain; check the address and the network, or deploy the registries there first`,
      { address },
    );
  }
}
