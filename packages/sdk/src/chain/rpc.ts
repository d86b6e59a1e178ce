import { FetchRequest, JsonRpcProvider, Network } from "ethers";
import { ProofmarkError } from "../core/errors";

/**
 * One raw JSON-RPC call with a timeout. Throws RPC_UNREACHABLE when nothing answers.
 *
 * @example
 * const chainIdHex = await rpcCall("http://127.0.0.1:8545", "eth_chainId", []);
 */
export async function rpcCall<T = unknown>(url: string, method: string, params: unknown[], timeoutMs = 5_000): Promise<T> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new ProofmarkError("RPC_UNREACHABLE", `the RPC endpoint ${url} did not answer (${(e as Error).cause ?? (e as Error).message}); check the URL and that the node is running`, { url }, { cause: e });
  }
  let body: { result?: T; error?: { message: string } };
  try {
    body = (await response.json()) as typeof body;
  } catch (e) {
    throw new ProofmarkError("RPC_UNREACHABLE", `the RPC endpoint ${url} answered HTTP ${response.status} with no JSON-RPC body; is this an Ethereum JSON-RPC URL?`, { url, status: response.status }, { cause: e });
  }
  if (body.error) throw new ProofmarkError("RPC_UNREACHABLE", `the RPC endpoint ${url} refused ${method}: ${body.error.message}`, { url, method });
  return body.result as T;
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
  const provider = new JsonRpcProvider(request, Network.from(chainId), { staticNetwork: true, pollingInterval: pollingIntervalMs, batchMaxCount: 1, cacheTimeout: -1 });
  return provider;
}
