import type { Command } from "commander";
import { escapeControlChars } from "@proofmark/sdk";
import { commandEnv, port, positiveInt } from "../options";
import { listenError, probeListen } from "./serve";

interface CoopServeOptions {
  port?: number;
  host?: string;
  burst?: number;
  perSecond?: number;
  hold?: number;
  photoMb?: number;
  maxUnsent?: number;
}

/** `proofmark coop serve`: member pages on phones and the relay that pays their gas. */
export function register(program: Command): void {
  const coop = program
    .command("coop")
    .description("a GI co-op's members record from their phones; the co-op pays the gas");
  coop
    .command("serve")
    .description(
      "serve the member pages (key in the browser, offline queue) and the relay that submits members' signed requests with the co-op's key (--as: the relayer; default the local dev account coop)",
    )
    .option("--port <n>", "port to listen on (default 8090)", port)
    .option("--host <host>", "address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    .option("--burst <n>", "requests a member may send at once (default 5)", positiveInt)
    .option("--per-second <n>", "requests per second a member may send after the burst (default 1)", positiveInt)
    .option(
      "--hold <seconds>",
      "how long a prepared harvest or packing keeps the next lot id for its member before others may take it (default 20)",
      positiveInt,
    )
    .option(
      "--photo-mb <n>",
      "megabytes of certificate photos each member may upload in any 24 hours (default 64; 0: no photos)",
      positiveInt,
    )
    .option(
      "--max-unsent <n>",
      "harvests or packings a member may prepare and never send within 10 minutes before its next ones are refused for a while (default 3; 0: no limit)",
      positiveInt,
    )
    .action(async (o: CoopServeOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const host = o.host ?? "127.0.0.1";
      const where = o.port ?? 8090;
      await probeListen(host, where);
      const { startCoop } = await import("@proofmark/portal");
      let server;
      try {
        server = await startCoop({
          dataDir: env.dataDir,
          port: where,
          host,
          network: env.opts.network,
          rpc: env.opts.rpc,
          as: env.opts.as,
          burst: o.burst,
          perSecond: o.perSecond,
          holdSeconds: o.hold,
          photoBytesPerDay: o.photoMb === undefined ? undefined : o.photoMb * 1024 * 1024,
          maxUnsentTurns: o.maxUnsent,
          log: (m) => process.stderr.write(`coop: ${escapeControlChars(m)}\n`),
        });
      } catch (e) {
        throw listenError(e, host, where) ?? e;
      }
      const relayer = await server.relay.relayer.getAddress();
      env.out.result({ url: server.url, relayer, registry: server.relay.registry, chainId: server.chain.chainId });
      env.out.line(`member pages on ${server.url}  (relayer ${relayer} pays the gas; chain ${server.chain.chainId})`);
      env.out.line("press Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await server.close();
    });
}
