import { HDNodeWallet, Mnemonic } from "ethers";
import { LOCAL_MNEMONIC } from "../../packages/sdk/src";

/**
 * ganache (an ethereumjs EVM, independent of Anvil's and Hardhat's revm) on 127.0.0.1 with a free
 * port, the dev mnemonic, instant mining, and at most the Shanghai fork.
 */
export async function startGanache(chainId = 1337): Promise<{ url: string; chainId: number; close(): Promise<void> }> {
  const ganache = require("ganache") as typeof import("ganache");
  const server = ganache.server({
    chain: { chainId, hardfork: "shanghai" },
    wallet: { mnemonic: LOCAL_MNEMONIC, totalAccounts: 4 },
    logging: { quiet: true },
  });
  await new Promise<void>((resolve, reject) => server.listen(0, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, chainId, close: () => server.close() };
}

/** The private key of dev account 0 of the public dev mnemonic (test chains only). */
export const DEV_KEY_0 = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(LOCAL_MNEMONIC), "m/44'/60'/0'/0/0").privateKey;
