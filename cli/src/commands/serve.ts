import * as net from "node:net";
import type { Command } from "commander";
import { ProofmarkError, escapeControlChars } from "@proofmark/sdk";
import { commandEnv, port, positiveInt } from "../options";

interface ServeCliOptions {
  port?: number;
  host?: string;
  scanWarnAfter?: number;
  trustProxy?: boolean;
  database?: string;
}

/** `proofmark serve`: the portal (scan pages, verify page, JSON API, indexer) until interrupted. */
export function register(program: Command): void {
  program
    .command("serve")
    .description(
      "run the portal: consumer scan pages, the in-browser verify page and the JSON API, indexing the chain into SQLite",
    )
    .option("--port <n>", "port to listen on (default 8080)", port)
    .option("--host <host>", "address to listen on (default 127.0.0.1; 0.0.0.0 for a LAN)")
    .option("--scan-warn-after <n>", "warn when a code was scanned more than n times (default 5)", positiveInt)
    .option(
      "--trust-proxy",
      "behind a reverse proxy: count scans by the address it appends to X-Forwarded-For (the right-most entry)",
    )
    .option(
      "--database <url>",
      "postgres://… : keep the index and scan counts in PostgreSQL, shared by every portal instance on it; one instance indexes (elected by a database lock), the others serve and take over when it stops (default: SQLite in the data folder)",
    )
    .action(async (o: ServeCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const host = o.host ?? "127.0.0.1";
      const where = o.port ?? 8080;
      // The address is tried before the chain and the database are opened, so a bad one costs nothing.
      await probeListen(host, where);
      // Loaded here so that other commands do not load SQLite.
      const { startPortal } = await import("@proofmark/portal");
      let portal;
      try {
        portal = await startPortal({
          dataDir: env.dataDir,
          port: where,
          host,
          network: env.opts.network,
          rpc: env.opts.rpc,
          scanWarnAfter: o.scanWarnAfter,
          trustProxy: o.trustProxy,
          database: o.database,
          log: (m) => process.stderr.write(`portal: ${escapeControlChars(m)}\n`),
        });
      } catch (e) {
        throw listenError(e, host, where) ?? e;
      }
      env.out.result({
        url: portal.url,
        verify: `${portal.url}/verify`,
        api: `${portal.url}/api/health`,
        chainId: portal.chain.chainId,
      });
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

/** A clear, coded error for an address that cannot be listened on, or undefined for other errors. */
export function listenError(e: unknown, host: string, port: number): ProofmarkError | undefined {
  const code = (e as NodeJS.ErrnoException)?.code;
  const details = { host, port, cause: code };
  if (code === "EADDRINUSE")
    return new ProofmarkError(
      "INVALID_ARGUMENT",
      `port ${port} on ${host} is in use; choose another with --port`,
      details,
    );
  if (code === "EACCES")
    return new ProofmarkError(
      "INVALID_ARGUMENT",
      `port ${port} on ${host} needs privileges this user does not have; choose a port above 1023 with --port`,
      details,
    );
  if (code === "EADDRNOTAVAIL")
    return new ProofmarkError(
      "INVALID_ARGUMENT",
      `${host} is not an address of this machine; use --host 127.0.0.1, 0.0.0.0 or one of its own addresses`,
      details,
    );
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_FAIL")
    return new ProofmarkError("INVALID_ARGUMENT", `--host ${host} is not a known host name or address`, details);
  if (code === "ERR_SOCKET_BAD_PORT")
    return new ProofmarkError("INVALID_ARGUMENT", `${port} is not a port (0 to 65535)`, details);
  return undefined;
}

/** Listens on host:port for a moment and lets go; throws the coded error of {@link listenError}. */
export async function probeListen(host: string, port: number): Promise<void> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
  } catch (e) {
    throw listenError(e, host, port) ?? e;
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
