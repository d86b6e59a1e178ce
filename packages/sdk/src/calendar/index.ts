import * as fs from "node:fs";
import * as path from "node:path";
import { HDNodeWallet, Mnemonic, Wallet, type Signer } from "ethers";
import { ProofmarkError } from "../core/errors";
import { findNetwork, loadConfig } from "../chain/config";
import { openChain } from "../chain/context";
import { EvidenceRegistryClient } from "../chain/evidence";
import { embeddedChainName, LOCAL_MNEMONIC } from "../chain/local-node";
import { PostgresCalendarStore } from "./postgres";
import type { CalendarChain } from "./service";
import { SqliteCalendarStore } from "./sqlite";
import type { CalendarStore } from "./store";

export * from "./store";
export * from "./service";
export * from "./client";
export { SqliteCalendarStore, CALENDAR_SCHEMA_VERSION, type SqliteCalendarStoreOptions } from "./sqlite";
export { PostgresCalendarStore } from "./postgres";

/**
 * Derivation path of the development calendar key: from the local chain's public mnemonic, at an
 * index no dev account uses. It proves nothing to anyone else (the mnemonic is public), exactly like
 * the embedded chain; it exists so that `proofmark calendar serve` runs with no setup.
 */
export const DEV_CALENDAR_KEY_PATH = "m/44'/60'/0'/0/100";

/**
 * The calendar's key: `PROOFMARK_CALENDAR_KEY` (0x + 64 hex), or `PROOFMARK_CALENDAR_KEYSTORE` +
 * `PROOFMARK_CALENDAR_KEYSTORE_PASSWORD` (encrypted JSON keystore); with neither, the development
 * key when every chain is the local chain, and KEY_UNAVAILABLE otherwise. This is the calendar's
 * identity, a different role from the chain key that pays for anchoring (PROOFMARK_PRIVATE_KEY /
 * PROOFMARK_KEYSTORE) and from any submitter's key. Never printed.
 */
export async function loadCalendarSigner(opts: {
  allLocal: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<{ signer: Signer; note?: string }> {
  const env = opts.env ?? process.env;
  if (env.PROOFMARK_CALENDAR_KEY) {
    try {
      return { signer: new Wallet(env.PROOFMARK_CALENDAR_KEY.trim()) };
    } catch {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        "PROOFMARK_CALENDAR_KEY is not a valid private key (expected 0x followed by 64 hex digits)",
      );
    }
  }
  if (env.PROOFMARK_CALENDAR_KEYSTORE) {
    if (env.PROOFMARK_CALENDAR_KEYSTORE_PASSWORD === undefined)
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        "PROOFMARK_CALENDAR_KEYSTORE is set but PROOFMARK_CALENDAR_KEYSTORE_PASSWORD is not",
      );
    let json: string;
    try {
      json = fs.readFileSync(env.PROOFMARK_CALENDAR_KEYSTORE, "utf8");
    } catch {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        `cannot read the calendar keystore ${env.PROOFMARK_CALENDAR_KEYSTORE}`,
      );
    }
    try {
      return { signer: await Wallet.fromEncryptedJson(json, env.PROOFMARK_CALENDAR_KEYSTORE_PASSWORD) };
    } catch {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        `cannot decrypt the calendar keystore ${env.PROOFMARK_CALENDAR_KEYSTORE}: wrong password or not a keystore`,
      );
    }
  }
  if (opts.allLocal) {
    return {
      signer: HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(LOCAL_MNEMONIC), DEV_CALENDAR_KEY_PATH),
      note: "development key from the public dev mnemonic: proves nothing to others (local chains only)",
    };
  }
  throw new ProofmarkError(
    "KEY_UNAVAILABLE",
    "a calendar that anchors on a chain other than the local one needs its own key: set PROOFMARK_CALENDAR_KEY, or PROOFMARK_CALENDAR_KEYSTORE and PROOFMARK_CALENDAR_KEYSTORE_PASSWORD",
  );
}

/**
 * Opens each `--chain`: `local` (the embedded chain of `dataDir`), a network name from
 * `<dataDir>/config.json`, or an RPC URL (its registry recorded by `proofmark deploy --rpc URL`).
 * The EvidenceRegistry client of each gets the chain key as signer. A batch's proofs are complete
 * once its anchor has `confirmations` (default: the network's `minConfirmations`, else 1).
 */
export async function openCalendarChains(
  dataDir: string,
  specs: string[],
  opts: { confirmations?: number } = {},
): Promise<CalendarChain[]> {
  const list = specs.length > 0 ? specs : ["local"];
  const config = loadConfig(dataDir);
  const chains: CalendarChain[] = [];
  try {
    for (const spec of list) {
      const context = /^https?:\/\//.test(spec)
        ? await openChain({ dataDir, rpc: [spec] })
        : await openChain({ dataDir, network: spec });
      const registry = new EvidenceRegistryClient(
        await context.registryAddress("EvidenceRegistry"),
        await context.signer(),
      );
      if (
        chains.some(
          (c) =>
            c.context.chainId === context.chainId &&
            c.registry.address.toLowerCase() === registry.address.toLowerCase(),
        )
      ) {
        context.close();
        throw new ProofmarkError("INVALID_ARGUMENT", `the chain ${spec} names chain ${context.chainId} a second time`);
      }
      // confirmations: --confirmations, else the network's minConfirmations, else 1
      const confirmations =
        opts.confirmations ?? findNetwork(config, { name: context.networkName })?.minConfirmations ?? 1;
      chains.push({ name: spec, context, registry, confirmations });
    }
  } catch (e) {
    for (const c of chains) c.context.close();
    throw e;
  }
  return chains;
}

/**
 * The TSAs a calendar asks for each batch: `--tsa` values first, then those of every `--chain` that
 * is a network of `<dataDir>/config.json` with a `tsa` list, each once. Each is an http(s) URL or
 * `local` (the caller runs the local TSA); anything else in the config is INVALID_ARGUMENT.
 */
export function calendarTsaUrls(dataDir: string, chainSpecs: string[], cli: string[]): string[] {
  const config = loadConfig(dataDir);
  const out = [...cli];
  for (const spec of chainSpecs) {
    if (/^https?:\/\//.test(spec)) continue;
    const tsa = findNetwork(config, { name: spec })?.tsa;
    if (tsa === undefined) continue;
    if (!Array.isArray(tsa))
      throw new ProofmarkError("INVALID_ARGUMENT", `config.json: networks.${spec}.tsa must be a list of TSA URLs`);
    for (const url of tsa) {
      if (typeof url !== "string" || (url !== "local" && !/^https?:\/\/\S+$/.test(url)))
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          `config.json: networks.${spec}.tsa has ${JSON.stringify(url)}, not an http(s) URL (or local)`,
        );
      if (!out.includes(url)) out.push(url);
    }
  }
  return out;
}

/** True when every chain is an embedded local chain (`local`, `local2`). */
export function allLocal(chains: CalendarChain[]): boolean {
  return chains.every((c) => c.context.localNode !== undefined && embeddedChainName(c.context.chainId) !== undefined);
}

/** The store named by `--database`: a `postgres://` URL, else SQLite at `<dataDir>/calendar/calendar.db`. */
export async function openCalendarStore(dataDir: string, database?: string): Promise<CalendarStore> {
  if (database && /^postgres(ql)?:\/\//.test(database)) return PostgresCalendarStore.open(database);
  if (database)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `the calendar's database must be a postgres:// URL (SQLite is the default, in ${path.join(dataDir, "calendar")})`,
    );
  return new SqliteCalendarStore(path.join(dataDir, "calendar", "calendar.db"));
}
