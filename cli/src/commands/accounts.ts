import type { Command } from "commander";
import { devAccounts } from "@proofmark/sdk";
import { commandEnv } from "../options";

/** `proofmark accounts`: the named development accounts of the local chain (addresses only). */
export function register(program: Command): void {
  program
    .command("accounts")
    .description("list the local chain's named dev accounts (use with --as NAME)")
    .action(async (_o, cmd: Command) => {
      const { out } = commandEnv(cmd);
      const accounts = devAccounts();
      out.result(accounts.map(({ name, address }) => ({ name, address })));
      for (const a of accounts) out.line(`  ${a.name.padEnd(10)} ${a.address}`);
    });
}
