import type { Command } from "commander";
import { readDeployments, type RegistryName } from "@proofmark/sdk";
import { commandEnv } from "../options";

/** `proofmark deploy`: deploy the registries to the chosen network and record them. */
export function register(program: Command): void {
  program
    .command("deploy")
    .description("deploy the registries to the chosen network and record the addresses per chain id")
    .option("--only <name>", "EvidenceRegistry or ProvenanceRegistry")
    .action(async (o: { only?: RegistryName }, cmd: Command) => {
      const env = commandEnv(cmd);
      const chain = await env.chain();
      try {
        const names: RegistryName[] = o.only ? [o.only] : ["EvidenceRegistry", "ProvenanceRegistry"];
        const deployed: Record<string, string> = {};
        for (const name of names)
          deployed[name] = chain.isLocal ? await chain.registryAddress(name) : await chain.deploy(name);
        // The ERC-2771 forwarder members' requests go through, deployed and recorded with the ProvenanceRegistry.
        const forwarder = names.includes("ProvenanceRegistry")
          ? readDeployments(chain.dataDir, chain.chainId).ProvenanceForwarder
          : undefined;
        if (forwarder) deployed.ProvenanceForwarder = forwarder.address;
        env.out.result({ chainId: chain.chainId, ...deployed });
        for (const [name, address] of Object.entries(deployed))
          env.out.line(`  ${name.padEnd(20)} ${address}  (chain ${chain.chainId})`);
      } finally {
        chain.close();
      }
    });
}
