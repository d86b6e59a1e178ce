// The peer we compare gas against: Ethereum Attestation Service, deployed from the artifacts that
// ship in @ethereum-attestation-service/eas-contracts (same EVM, same run).
import { ethers } from "hardhat";
import type { Contract, Log, LogDescription } from "ethers";
import SchemaRegistryArtifact from "@ethereum-attestation-service/eas-contracts/artifacts/contracts/SchemaRegistry.sol/SchemaRegistry.json";
import EASArtifact from "@ethereum-attestation-service/eas-contracts/artifacts/contracts/EAS.sol/EAS.json";

export interface Eas {
  eas: Contract;
  schemaRegistry: Contract;
  /** Registers a schema (revocable, no resolver) and returns its uid. */
  registerSchema(schema: string): Promise<string>;
}

/** Deploys SchemaRegistry and EAS with the first signer. */
export async function deployEas(): Promise<Eas> {
  const [signer] = await ethers.getSigners();
  const schemaRegistry = (await new ethers.ContractFactory(
    SchemaRegistryArtifact.abi,
    SchemaRegistryArtifact.bytecode,
    signer,
  ).deploy()) as Contract;
  await schemaRegistry.waitForDeployment();
  const eas = (await new ethers.ContractFactory(EASArtifact.abi, EASArtifact.bytecode, signer).deploy(
    await schemaRegistry.getAddress(),
  )) as Contract;
  await eas.waitForDeployment();
  return {
    eas,
    schemaRegistry,
    async registerSchema(schema: string) {
      const receipt = await (await schemaRegistry.register(schema, ethers.ZeroAddress, true)).wait();
      const log = receipt!.logs
        .map((l: Log) => schemaRegistry.interface.parseLog(l))
        .find((l: LogDescription | null) => l?.name === "Registered");
      return log!.args.uid as string;
    },
  };
}
