import type { Command } from "commander";
import { LocalNode, ProofmarkError, rpcCall } from "@proofmark/sdk";
import { commandEnv } from "../options";
import { rows } from "../output";

/** `proofmark node start|stop|status`: the embedded local chain. */
export function register(program: Command): void {
  const node = program
    .command("node")
    .description("manage the embedded local chain (Anvil, state kept in the data folder)");

  node
    .command("start")
    .description("start the local chain (no-op when it runs)")
    .action(async (_o, cmd: Command) => {
      const { dataDir, out } = commandEnv(cmd);
      const local = new LocalNode(dataDir);
      // It takes writes now; older blocks of a restart from a snapshot may still be loading.
      const info = await local.start({ history: false });
      const history = local.historyLoaded(info) ? "complete" : "loading in the background";
      out.result({ running: true, ...info, history });
      out.line("local chain running");
      for (const r of rows([
        ["rpc", info.rpcUrl],
        ["chain id", info.chainId],
        ["pid", info.pid],
        ["data", info.dataDir],
        ["log", info.logFile],
        ["history", history],
      ]))
        out.line(r);
    });

  node
    .command("stop")
    .description("save the chain state and stop the local chain")
    .action(async (_o, cmd: Command) => {
      const { dataDir, out } = commandEnv(cmd);
      const stopped = await new LocalNode(dataDir).stop();
      out.result({ stopped });
      out.line(stopped ? "local chain stopped; its state is saved" : "the local chain was not running");
    });

  node
    .command("mine")
    .description(
      "mine empty blocks on the local chain (adds confirmations; the local chain only makes blocks for transactions)",
    )
    .argument("[blocks]", "how many blocks", "1")
    .action(async (blocks: string, _o, cmd: Command) => {
      const { dataDir, out } = commandEnv(cmd);
      const count = Number(blocks);
      if (!Number.isSafeInteger(count) || count < 1 || count > 100_000)
        throw new ProofmarkError("INVALID_ARGUMENT", `"${blocks}" is not a block count from 1 to 100000`);
      const local = new LocalNode(dataDir);
      const info = await local.start();
      // In chunks, each with a deadline scaled to its size: a long run is never cut off by a
      // fixed RPC timeout while the blocks are still being mined.
      for (let left = count; left > 0;) {
        const chunk = Math.min(left, 1_000);
        await rpcCall(info.rpcUrl, "anvil_mine", [`0x${chunk.toString(16)}`], 10_000 + chunk * 20);
        left -= chunk;
      }
      await local.persist();
      const head = Number(BigInt(await rpcCall<string>(info.rpcUrl, "eth_blockNumber", [])));
      out.result({ mined: count, blockNumber: head });
      out.line(`mined ${count} block(s); the local chain is at block ${head}`);
    });

  node
    .command("status")
    .description("show the local chain's RPC URL, chain id, process id and data folder")
    .action(async (_o, cmd: Command) => {
      const { dataDir, out } = commandEnv(cmd);
      const info = await new LocalNode(dataDir).status();
      out.result(info ? { running: true, ...info } : { running: false, dataDir });
      if (!info) {
        out.line(
          `local chain not running (data folder ${dataDir}); commands start it when needed, or run \`proofmark node start\``,
        );
        return;
      }
      out.line("local chain running");
      for (const r of rows([
        ["rpc", info.rpcUrl],
        ["chain id", info.chainId],
        ["pid", info.pid],
        ["data", info.dataDir],
        ["started", info.startedAt],
      ]))
        out.line(r);
    });
}
