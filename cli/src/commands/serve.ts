import type { Command } from "commander";
import { ProofmarkError } from "@proofmark/sdk";
import { commandEnv, positiveInt } from "../options";

interface ServeCliOptions {
  port?: number;
  host?: string;
  scanWarnAfter?: number;
  trustProxy?: boolean;
}

/** `proofmark serve`: the portal (scan pages, verify page, JSON API, indexer) until interrupted. */
export function register(program: Command): void {
  program
    .command("serve")
    .description("run the portal: consumer scan pages, the in-browser verify page and the JSON API, indexing the chain into SQLite")
    .option("--port <n>", "port to listen on (default 8080)", positiveInt)
    .option("--host <host>", "address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    .option("--scan-warn-after <n>", "warn when a code was scanned more than n times (default 5)", positiveInt)
    .option("--trust-proxy", "behind a reverse proxy: count scans by the address it appends to X-Forwarded-For (the right-most entry)")
    .action(async (o: ServeCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      // Loaded here so that other commands do not load SQLite.
      const { startPortal } = await import("@proofmark/portal");
      let portal;
      try {
        portal = await startPortal({
          dataDir: env.dataDir, port: o.port ?? 8080, host: o.host, network: env.opts.network, rpc: env.opts.rpc,
          scanWarnAfter: o.scanWarnAfter, trustProxy: o.trustProxy, log: (m) => process.stderr.write(`portal: ${m}\n`),
        });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "EADDRINUSE") {
          throw new ProofmarkError("INVALID_ARGUMENT", `port ${o.port ?? 8080} is in use; choose another with --port`, { port: o.port ?? 8080 });
        }
        throw e;
      }
      env.out.result({ url: portal.url, verify: `${portal.url}/verify`, api: `${portal.url}/api/health`, chainId: portal.chain.chainId });
      env.out.line(`portal on ${portal.url}  (verify page ${portal.url}/verify, API ${portal.url}/api/health)`);
      env.out.line("press Ctrl-C to stop");
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      });
      await portal.close();
    });
}
