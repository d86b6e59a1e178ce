import * as http from "node:http";
import type { Command } from "commander";
import { GiSession, ProofmarkError } from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";

interface EpcisServeOptions {
  port?: number;
  host?: string;
}

/** `proofmark epcis serve`: the EPCIS 2.0 REST subset (capture, events, event types) until interrupted. */
export function register(program: Command): void {
  const epcis = program.command("epcis").description("GS1 EPCIS 2.0 interfaces for partners (docs/epcis.md)");
  epcis
    .command("serve")
    .description(
      "serve an EPCIS 2.0 REST subset: POST /capture (recorded on chain as the --as account), GET /capture/{id}, GET /events, GET /eventTypes",
    )
    .option("--port <n>", "port to listen on (default 8090)", positiveInt)
    .option("--host <host>", "address to listen on (default 127.0.0.1)")
    .action(async (o: EpcisServeOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const { createEpcisHandler } = await import("@proofmark/portal");
      const chain = await env.chain();
      const session = await GiSession.open(chain);
      const epcisServer = createEpcisHandler({ target: session });
      const server = http.createServer(epcisServer.handler);
      try {
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(o.port ?? 8090, o.host ?? "127.0.0.1", () => resolve());
        });
      } catch (e) {
        await session.close();
        chain.close();
        if ((e as NodeJS.ErrnoException).code === "EADDRINUSE")
          throw new ProofmarkError("INVALID_ARGUMENT", `port ${o.port ?? 8090} is in use; choose another with --port`, {
            port: o.port ?? 8090,
          });
        throw e;
      }
      const { port } = server.address() as { port: number };
      const url = `http://${o.host ?? "127.0.0.1"}:${port}`;
      env.out.result({ url, capture: `${url}/capture`, events: `${url}/events` });
      env.out.line(`EPCIS 2.0 REST subset on ${url}  (POST /capture, GET /events, GET /eventTypes)`);
      env.out.line("press Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        process.once("SIGINT", () => resolve());
        process.once("SIGTERM", () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await epcisServer.idle();
      await session.close();
      chain.close();
    });
}
