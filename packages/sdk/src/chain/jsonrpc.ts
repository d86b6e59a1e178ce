import { ProofmarkError } from "../core/errors";
import type { ChainReader } from "../core/engine";

/**
 * The raw JSON-RPC adapter of the verification engine: `fetch` only, so the same code runs in
 * Node, in the standalone verifier page and on the portal's verify page. Every call has a
 * deadline (an endpoint that accepts the connection and never answers fails with RPC_UNREACHABLE
 * naming it, once the deadline passes) and a bound on the reply's size (read as it streams in).
 */

/** Default deadline of one call, ms. */
export const RPC_DEADLINE_MS = 10_000;
/** Default bound on one reply, bytes (a block with thousands of transaction hashes is well under it). */
export const RPC_MAX_REPLY_BYTES = 8 << 20;

export interface JsonRpcOptions {
  /** Deadline of each call, ms (connection, headers and body). */
  timeoutMs?: number;
  /** Largest reply accepted, bytes. */
  maxReplyBytes?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

let nextId = 1;

/** Reads a response body, refusing more than `max` bytes. */
async function boundedText(response: Response, max: number, url: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > max) throw tooLarge(url, max);
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(url, max);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  return new TextDecoder().decode(all);
}

function tooLarge(url: string, max: number): ProofmarkError {
  return new ProofmarkError(
    "RPC_UNREACHABLE",
    `the RPC endpoint ${url} sent a reply larger than ${max} bytes; refusing it`,
    { url, limit: max },
  );
}

/**
 * One JSON-RPC call with a deadline and a bounded reply. Throws RPC_UNREACHABLE naming the URL
 * (with `details.refused` when the endpoint answered with a JSON-RPC error).
 *
 * @example
 * const chainIdHex = await jsonRpcCall("http://127.0.0.1:8545", "eth_chainId", []);
 */
export async function jsonRpcCall<T = unknown>(
  url: string,
  method: string,
  params: unknown[],
  opts: JsonRpcOptions = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? RPC_DEADLINE_MS;
  const signal = AbortSignal.timeout(timeoutMs);
  let text: string;
  let status: number;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...opts.headers },
      body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
      signal,
    });
    status = response.status;
    text = await boundedText(response, opts.maxReplyBytes ?? RPC_MAX_REPLY_BYTES, url);
  } catch (e) {
    if (e instanceof ProofmarkError) throw e;
    const timedOut = signal.aborted;
    const why = timedOut
      ? `no answer within ${timeoutMs / 1000} s`
      : String((e as Error).cause ?? (e as Error).message);
    throw new ProofmarkError(
      "RPC_UNREACHABLE",
      `the RPC endpoint ${url} did not answer ${method} (${why}); check the URL and that the node is running`,
      { url, method, timedOut },
      { cause: e },
    );
  }
  let body: { result?: T; error?: { message?: string } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch (e) {
    throw new ProofmarkError(
      "RPC_UNREACHABLE",
      `the RPC endpoint ${url} answered HTTP ${status} with no JSON-RPC body; is this an Ethereum JSON-RPC URL?`,
      { url, status },
      { cause: e },
    );
  }
  if (typeof body !== "object" || body === null)
    throw new ProofmarkError("RPC_UNREACHABLE", `the RPC endpoint ${url} answered ${method} with no JSON-RPC object`, {
      url,
      method,
    });
  if (body.error)
    throw new ProofmarkError(
      "RPC_UNREACHABLE",
      `the RPC endpoint ${url} refused ${method}: ${String(body.error.message ?? "no message").slice(0, 200)}`,
      { url, method, refused: true },
    );
  if (!("result" in body))
    throw new ProofmarkError("RPC_UNREACHABLE", `the RPC endpoint ${url} answered ${method} without a result`, {
      url,
      method,
    });
  return body.result as T;
}

/**
 * A {@link ChainReader} over a JSON-RPC URL (the engine's fetch adapter).
 *
 * @example
 * const result = await verifyReceipt(receipt, file, { readers: () => [jsonRpcReader(url)], knownRegistries: KNOWN_REGISTRY_CODES });
 */
export function jsonRpcReader(url: string, opts: JsonRpcOptions = {}): ChainReader {
  return { url, request: (method, params) => jsonRpcCall(url, method, params, opts) };
}
