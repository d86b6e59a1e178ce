import * as path from "node:path";
import { ProofmarkError } from "../core/errors";
import { readJsonIfExists } from "../util/fs";

/** A named network from `<dataDir>/config.json`. */
export interface NetworkConfig {
  name: string;
  chainId: number;
  rpc: string[];
  /** Minimum confirmations before an anchor counts as verified on this network. */
  minConfirmations?: number;
  /** Registry addresses whose (unknown) code the user trusts on this network; verification says so. */
  trustRegistries?: string[];
  /** RFC 3161 TSAs a calendar anchoring on this network also asks for a token (URLs, or `local`). */
  tsa?: string[];
}

/** `<dataDir>/config.json`. */
export interface ProofmarkConfig {
  networks?: Record<
    string,
    { chainId: number; rpc: string | string[]; minConfirmations?: number; trustRegistries?: string[]; tsa?: string[] }
  >;
  /** Base URL of the GS1 Digital Link resolver (the portal), e.g. "https://id.example.org". */
  resolver?: string;
  /** Kubo RPC API URL, e.g. "http://127.0.0.1:5001". */
  ipfsApi?: string;
  /** Trusted RFC 3161 TSA root certificates: PEM files (paths relative to the data folder). */
  tsaTrust?: string[];
}

/**
 * The data folder: `--data-dir`, else `PROOFMARK_HOME`, else `.proofmark/` in the working directory.
 */
export function resolveDataDir(explicit?: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  return path.resolve(cwd, explicit ?? env.PROOFMARK_HOME ?? ".proofmark");
}

/** Reads `<dataDir>/config.json` ({} when absent). */
export function loadConfig(dataDir: string): ProofmarkConfig {
  try {
    return readJsonIfExists<ProofmarkConfig>(path.join(dataDir, "config.json")) ?? {};
  } catch (e) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `${path.join(dataDir, "config.json")} is not valid JSON: ${(e as Error).message}`,
    );
  }
}

/** The named network `name`, or undefined. */
export function findNetwork(
  config: ProofmarkConfig,
  by: { name?: string; chainId?: number },
): NetworkConfig | undefined {
  for (const [name, n] of Object.entries(config.networks ?? {})) {
    if ((by.name !== undefined && name === by.name) || (by.name === undefined && n.chainId === by.chainId)) {
      return {
        name,
        chainId: n.chainId,
        rpc: Array.isArray(n.rpc) ? n.rpc : [n.rpc],
        minConfirmations: n.minConfirmations,
        trustRegistries: n.trustRegistries,
        ...(n.tsa !== undefined ? { tsa: n.tsa } : {}),
      };
    }
  }
  return undefined;
}
