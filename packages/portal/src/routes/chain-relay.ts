import type * as http from "node:http";
import { ANCHOR_OF_SELECTOR, isProofmarkError, providerReader } from "@proofmark/sdk";
import { HttpError, json } from "../respond";
import type { PortalContext } from "./context";

/** Requests under this prefix are relayed to the portal's chain node: `/api/chain/<method>?params=<JSON>`. */
export const CHAIN_RELAY_PREFIX = "/api/chain/";

const HEX32 = /^0x[0-9a-f]{64}$/;
const ADDRESS = /^0x[0-9a-f]{40}$/;

/** The relay's allow-list: each method, and only with the parameters the verification engine sends. */
export function relayAllows(method: string, p: unknown[]): boolean {
  const obj = (v: unknown) =>
    typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  switch (method) {
    case "eth_chainId":
    case "eth_blockNumber":
      return p.length === 0;
    case "eth_getCode":
      return p.length === 2 && ADDRESS.test(String(p[0])) && p[1] === "latest";
    case "eth_call": {
      const c = obj(p[0]);
      return (
        p.length === 2 &&
        p[1] === "latest" &&
        !!c &&
        Object.keys(c).length === 2 &&
        ADDRESS.test(String(c.to)) &&
        new RegExp(`^${ANCHOR_OF_SELECTOR}[0-9a-f]{64}$`).test(String(c.data))
      );
    }
    case "eth_getBlockByNumber":
      return p.length === 2 && p[1] === false && (p[0] === "finalized" || /^0x[0-9a-f]{1,14}$/.test(String(p[0])));
    case "eth_getLogs": {
      const f = obj(p[0]);
      return (
        p.length === 1 &&
        !!f &&
        HEX32.test(String(f.blockHash)) &&
        ADDRESS.test(String(f.address)) &&
        Array.isArray(f.topics) &&
        f.topics.length <= 4 &&
        f.topics.every((t) => HEX32.test(String(t))) &&
        Object.keys(f).length === 3
      );
    }
    case "eth_getTransactionReceipt":
      return p.length === 1 && HEX32.test(String(p[0]));
    default:
      return false;
  }
}

/**
 * GET /api/chain/<method>?params=<JSON>: the verify page's engine reads the portal's chain through
 * this relay (the engine checks; the relay only fetches). Read-only methods, and only the shapes
 * the engine sends: anchorOf calls, one-block log queries, block headers without bodies.
 */
export function chainRelay(
  ctx: PortalContext,
): (res: http.ServerResponse, method: string, rawUrl: string) => Promise<void> {
  const reader = providerReader(ctx.opts.provider, "the portal's node", 8_000);
  return async (res, method, rawUrl) => {
    const q = rawUrl.indexOf("?");
    const raw = q < 0 ? "[]" : (new URLSearchParams(rawUrl.slice(q + 1)).get("params") ?? "[]");
    if (raw.length > 2_000) throw new HttpError(414, "params too long");
    let params: unknown[];
    try {
      params = JSON.parse(raw);
    } catch {
      throw new HttpError(400, "params must be a JSON array");
    }
    if (!Array.isArray(params) || !relayAllows(method, params))
      throw new HttpError(400, `${method} with these params is not relayed`);
    try {
      json(res, 200, { result: await reader.request(method, params) });
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      json(res, e.details.refused ? 200 : 502, { error: { message: e.message } });
    }
  };
}
