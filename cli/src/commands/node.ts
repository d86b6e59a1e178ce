import type { Command } from "commander";
import { LocalNode } from "@proofmark/sdk";
import { commandEnv } from "../options";
import { rows } from "../output";

/** `proofmark node start|stop|status`: the embedded local chain. */
export function register(program: Command): void {
  const node = program.command("node").description("manage the embedded local chain (Anvil, state kept in the data folder)");

  node.command("start").description("start the local chain (no-op when it runs)").action(async (_o, cmd: Command) => {
    const { dataDir, out } = commandEnv(cmd);
    const info = await new LocalNode(dataDir).start();
    out.result({ running: true, ...info });
    out.line("local chain running");
    for (const r of rows([["rpc", info.rpcUrl], ["chain id", info.chainId], ["pid", info.pid], ["data", info.dataDir], ["log", info.logFile]])) out.line(r);
  });

  node.command("stop").description("save the chain state and stop the local chain").action(async (_o, cmd: Command) => {
    const { dataDir, out } = commandEnv(cmd);
    const stopped = await new LocalNode(dataDir).stop();
    out.result({ stopped });
    out.line(stopped ? "local chain stopped; its state is saved" : "the local chain was not running");
  });

  node.command("status").description("show the local chain's RPC URL, chain id, process id and data folder").action(async (_o, cmd: Command) => {
    const { dataDir, out } = commandEnv(cmd);
    const info = await new LocalNode(dataDir).status();
    out.result(info ? { running: true, ...info } : { running: false, dataDir });
    if (!info) {
      out.line(`local chain not running (data folder ${dataDir}); commands start it when needed, or run \`proofmark node start\``);
      return;
    }
    out.line("local chain running");
    for (const r of rows([["rpc", info.rpcUrl], ["chain id", info.chainId], ["pid", info.pid], ["data", info.dataDir], ["started", info.startedAt]])) out.line(r);
  });
}
