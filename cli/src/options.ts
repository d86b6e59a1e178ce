import { InvalidArgumentError, type Command } from "commander";
import { openChain, resolveDataDir, type ChainContext } from "@proofmark/sdk";
import { makeOutput, type Output } from "./output";

/** Options every command accepts (declared once on the program). */
export interface GlobalOptions {
  dataDir?: string;
  network?: string;
  rpc?: string[];
  as?: string;
  json?: boolean;
}

/** Declares the global options on the root program. */
export function addGlobalOptions(program: Command): Command {
  return program
    .option("--data-dir <dir>", "data folder (default: $PROOFMARK_HOME or ./.proofmark)")
    .option("--network <name>", "network from <data-dir>/config.json (default: the embedded local chain)")
    .option("--rpc <url>", "JSON-RPC endpoint; repeat to cross-check several", collect, [])
    .option("--as <account>", "signer: a local dev account name (see `proofmark accounts`)")
    .option("--json", "print one JSON document instead of text");
}

function collect(value: string, previous: string[]): string[] {
  if (!/^https?:\/\/\S+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an http(s) URL`);
  return [...previous, value];
}

/** What a command needs from the global options. */
export interface CommandEnv {
  opts: GlobalOptions;
  dataDir: string;
  out: Output;
  /** Opens the chain named by the options (starts the local chain if needed). */
  chain(extra?: { chainId?: number; history?: boolean }): Promise<ChainContext>;
}

/** The environment of a command, from the options of `cmd` and its parents. */
export function commandEnv(cmd: Command): CommandEnv {
  const opts = cmd.optsWithGlobals<GlobalOptions>();
  const dataDir = resolveDataDir(opts.dataDir);
  return {
    opts,
    dataDir,
    out: makeOutput(Boolean(opts.json)),
    chain: (extra) => openChain({ dataDir, network: opts.network, rpc: opts.rpc, as: opts.as, ...extra }),
  };
}

/** Parses a TCP port option (0 = any free port). */
export function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n > 65535)
    throw new InvalidArgumentError(`"${value}" is not a port (a whole number from 0 to 65535)`);
  return n;
}

/** Parses a positive integer option. */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a whole number ≥ 0`);
  return n;
}
