import * as fs from "node:fs";
import { HDNodeWallet, Mnemonic, Wallet, type Provider, type Signer } from "ethers";
import { ProofmarkError } from "../core/errors";
import { embeddedChainName, LOCAL_MNEMONIC } from "./local-node";

/**
 * Named development accounts of the local chain (derived from Anvil's default mnemonic, so they
 * hold test ether there). They exist only for chain id 31337: on any other chain a key comes from
 * `PROOFMARK_PRIVATE_KEY` or an encrypted keystore (`PROOFMARK_KEYSTORE` + `PROOFMARK_KEYSTORE_PASSWORD`).
 */
export const DEV_ACCOUNT_NAMES = [
  "admin",
  "registrar",
  "coop",
  "farmer1",
  "farmer2",
  "farmer3",
  "inspector",
  "logistics",
  "retailer",
  "designer",
] as const;
export type DevAccountName = (typeof DEV_ACCOUNT_NAMES)[number];

/** The default signer name on the local chain. */
export const DEFAULT_DEV_ACCOUNT: DevAccountName = "admin";

/** Name and address of each development account (no keys). */
export function devAccounts(): Array<{ name: DevAccountName; index: number; address: string }> {
  // Derivation costs ~10 ms an account; the list never changes, so derive it once.
  if (!cachedDevAccounts) {
    const mnemonic = Mnemonic.fromPhrase(LOCAL_MNEMONIC);
    cachedDevAccounts = DEV_ACCOUNT_NAMES.map((name, index) => ({
      name,
      index,
      address: HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${index}`).address,
    }));
  }
  return cachedDevAccounts.map((a) => ({ ...a }));
}
let cachedDevAccounts: Array<{ name: DevAccountName; index: number; address: string }> | undefined;

/** The name of a development account, if `address` is one. */
export function devAccountName(address: string): DevAccountName | undefined {
  return devAccounts().find((a) => a.address.toLowerCase() === address.toLowerCase())?.name;
}

/**
 * The signer to use: a named development account on the local chain, or the key from the
 * environment / keystore elsewhere. A key is never printed or logged.
 */
export async function loadSigner(opts: {
  chainId: number;
  provider: Provider;
  as?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<Signer> {
  const env = opts.env ?? process.env;
  if (embeddedChainName(opts.chainId) !== undefined && !env.PROOFMARK_PRIVATE_KEY && !env.PROOFMARK_KEYSTORE) {
    const name = (opts.as ?? DEFAULT_DEV_ACCOUNT) as DevAccountName;
    const index = DEV_ACCOUNT_NAMES.indexOf(name);
    if (index < 0) {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        `unknown account "${opts.as}"; the local accounts are ${DEV_ACCOUNT_NAMES.join(", ")} `,
        { as: opts.as },
      );
    }
    return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(LOCAL_MNEMONIC), `m/44'/60'/0'/0/${index}`).connect(
      opts.provider,
    );
  }
  if (opts.as && opts.as !== "key") {
    throw new ProofmarkError(
      "KEY_UNAVAILABLE",
      `named accounts such as "${opts.as}" exist only on the local chain (31337); on chain ${opts.chainId} the key comes from PROOFMARK_PRIVATE_KEY or PROOFMARK_KEYSTORE`,
      { chainId: opts.chainId },
    );
  }
  if (env.PROOFMARK_PRIVATE_KEY) {
    try {
      return new Wallet(env.PROOFMARK_PRIVATE_KEY.trim(), opts.provider);
    } catch {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        "PROOFMARK_PRIVATE_KEY is not a valid private key (expected 0x followed by 64 hex digits)",
      );
    }
  }
  if (env.PROOFMARK_KEYSTORE) {
    if (env.PROOFMARK_KEYSTORE_PASSWORD === undefined) {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        "PROOFMARK_KEYSTORE is set but PROOFMARK_KEYSTORE_PASSWORD is not; set the password in the environment",
      );
    }
    let json: string;
    try {
      json = fs.readFileSync(env.PROOFMARK_KEYSTORE, "utf8");
    } catch {
      throw new ProofmarkError("KEY_UNAVAILABLE", `cannot read the keystore file ${env.PROOFMARK_KEYSTORE}`, {
        path: env.PROOFMARK_KEYSTORE,
      });
    }
    try {
      return (await Wallet.fromEncryptedJson(json, env.PROOFMARK_KEYSTORE_PASSWORD)).connect(opts.provider);
    } catch {
      throw new ProofmarkError(
        "KEY_UNAVAILABLE",
        `cannot decrypt the keystore ${env.PROOFMARK_KEYSTORE}: wrong password or not an encrypted JSON keystore`,
        { path: env.PROOFMARK_KEYSTORE },
      );
    }
  }
  throw new ProofmarkError(
    "KEY_UNAVAILABLE",
    `no key for chain ${opts.chainId}: set PROOFMARK_PRIVATE_KEY, or PROOFMARK_KEYSTORE and PROOFMARK_KEYSTORE_PASSWORD`,
    { chainId: opts.chainId },
  );
}
