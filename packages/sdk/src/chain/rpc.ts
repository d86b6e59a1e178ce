import { FetchRequest, JsonRpcProvider, Network, type Provider, type TransactionReceipt } from "ethers";
import type { ChainReader } from "../core/engine";
import { ProofmarkError } from "../core/errors";
import { jsonRpcCall, RPC_DEADLINE_MS } from "./jsonrpc";

/**
 * One raw JSON-RPC call with a timeout and a bounded reply. Throws RPC_UNREACHABLE when nothing answers.
 *
 * @example
 * const chainIdHex = await rpcCall("http://127.0.0.1:8545", "eth_chainId", []);
 */
export function rpcCall<T = unknown>(url: string, method: string, params: unknown[], timeoutMs = 5_000): Promise<T> {
  return jsonRpcCall<T>(url, method, params, { timeoutMs });
}

/** The chain id an endpoint serves. */
export async function fetchChainId(url: string): Promise<number> {
  return Number(BigInt(await rpcCall<string>(url, "eth_chainId", [])));
}

/**
 * An ethers provider pinned to `chainId` (no network auto-detection, no endless retries).
 * Confirm the chain id with {@link fetchChainId} first.
 */
export function makeProvider(url: string, chainId: number, pollingIntervalMs = 250): JsonRpcProvider {
  const request = new FetchRequest(url);
  request.timeout = 30_000;
  const provider = new JsonRpcProvider(request, Network.from(chainId), {
    staticNetwork: true,
    pollingInterval: pollingIntervalMs,
    batchMaxCount: 1,
    cacheTimeout: -1,
  });
  return provider;
}

/**
 * The receipt of a sent transaction once it is mined, whatever its status (a revert is the caller's
 * to report). Polls the receipt: 25 ms at first, backing off to `maxPollMs`.
 *
 * Not ethers' `tx.wait()`: after a first miss it waits for a *new block*, and its block poller takes
 * the first block number it reads as already seen. On an automining node (Anvil, the embedded chain)
 * the block holding the transaction can be mined between the two, and when nothing else is sent no
 * other block ever comes: the wait never ends (seen under load in tests).
 *
 * @example
 * const receipt = await minedReceipt(await contract.anchor(root, n));
 */
export async function minedReceipt(
  tx: { hash: string; provider: Provider },
  maxPollMs = 1_000,
): Promise<TransactionReceipt> {
  for (let delay = 25; ; delay = Math.min(delay * 2, maxPollMs)) {
    const receipt = await tx.provider.getTransactionReceipt(tx.hash);
    if (receipt) return receipt;
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

/**
 * The verification engine's ethers adapter: a {@link ChainReader} over any ethers JsonRpcProvider
 * (for programs that already hold one, and for the portal's chain reads). Each call has a deadline.
 *
 * @example
 * const result = await verifyReceipt(receipt, file, { readers: () => [providerReader(provider, "my node")], knownRegistries: KNOWN_REGISTRY_CODES });
 */
export function providerReader(provider: JsonRpcProvider, url: string, timeoutMs = RPC_DEADLINE_MS): ChainReader {
  return {
    url,
    async request(method, params) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_r, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ProofmarkError(
                "RPC_UNREACHABLE",
                `the RPC endpoint ${url} did not answer ${method} within ${timeoutMs / 1000} s`,
                { url, method, timedOut: true },
              ),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([provider.send(method, params), deadline]);
      } catch (e) {
        if (e instanceof ProofmarkError) throw e;
        const err = e as { error?: { message?: string }; shortMessage?: string; message?: string; code?: string };
        const refused = err.code === "UNKNOWN_ERROR" || Boolean(err.error);
        throw new ProofmarkError(
          "RPC_UNREACHABLE",
          `the RPC endpoint ${url} ${refused ? "refused" : "failed on"} ${method}: ${err.error?.message ?? err.shortMessage ?? err.message}`,
          { url, method, refused },
          { cause: e },
        );
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
