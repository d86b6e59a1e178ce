import * as path from "node:path";
import { ContractFactory, type Provider, type Signer } from "ethers";
import { ProofmarkError } from "../core/errors";
import { readJsonIfExists, writeFileAtomic } from "../util/fs";
import * as artifacts from "./artifacts.generated";

/** Registries Proofmark deploys. */
export type RegistryName = "EvidenceRegistry" | "ProvenanceRegistry";

/** One recorded deployment. */
export interface Deployment {
  address: string;
  txHash: string;
  blockNumber: number;
  deployer: string;
  version: string;
}

/** `<dataDir>/deployments/<chainId>.json`. */
export type Deployments = Partial<Record<RegistryName, Deployment>>;

function deploymentsFile(dataDir: string, chainId: number): string {
  return path.join(dataDir, "deployments", `${chainId}.json`);
}

/** The recorded deployments for `chainId` in `dataDir`. */
export function readDeployments(dataDir: string, chainId: number): Deployments {
  return readJsonIfExists<Deployments>(deploymentsFile(dataDir, chainId)) ?? {};
}

/** Records a deployment (atomically). */
export function recordDeployment(dataDir: string, chainId: number, name: RegistryName, deployment: Deployment): void {
  const all = readDeployments(dataDir, chainId);
  all[name] = deployment;
  writeFileAtomic(deploymentsFile(dataDir, chainId), `${JSON.stringify(all, null, 2)}\n`);
}

/** ABI and bytecode of a registry. */
export function registryArtifact(name: RegistryName): { abi: readonly unknown[]; bytecode: string } {
  const artifact = (artifacts as Record<string, { abi: readonly unknown[]; bytecode: string } | undefined>)[`${name}Artifact`];
  if (!artifact) throw new ProofmarkError("NODE_FAILED", `the SDK was built without ${name}; run npm run build`);
  return artifact;
}

/** Deploys a registry with `signer` and waits for it. */
export async function deployRegistry(name: RegistryName, signer: Signer, args: unknown[] = []): Promise<Deployment> {
  const { abi, bytecode } = registryArtifact(name);
  const factory = new ContractFactory(abi as never, bytecode, signer);
  const contract = await factory.deploy(...args);
  const tx = contract.deploymentTransaction();
  const receipt = await tx!.wait();
  if (!receipt || receipt.status !== 1) throw new ProofmarkError("TX_FAILED", `deploying ${name} failed`, { txHash: tx?.hash });
  const address = await contract.getAddress();
  const version = String(await (contract as unknown as { version(): Promise<string> }).version());
  return { address, txHash: receipt.hash, blockNumber: receipt.blockNumber, deployer: await signer.getAddress(), version };
}

/** Throws REGISTRY_NOT_FOUND unless `address` holds contract code. */
export async function assertHasCode(provider: Provider, address: string, what: string): Promise<void> {
  const code = await provider.getCode(address);
  if (code === "0x") {
    throw new ProofmarkError("REGISTRY_NOT_FOUND", `there is no contract at ${address} (${what}) on this chain; check the address and the network, or deploy with \`proofmark deploy\``, { address });
  }
}
