import { randomBytes } from "node:crypto";
import type { Hex } from "../../packages/sdk/src";

export interface HttpResult {
  status: number;
  headers: Headers;
  body: any;
}

/** One HTTP request with a JSON answer. */
export async function call(url: string, init: RequestInit = {}): Promise<HttpResult> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/** POST /v1/leaves. */
export function submit(base: string, leaves: unknown, raw?: string, type = "application/json"): Promise<HttpResult> {
  return call(`${base}/v1/leaves`, {
    method: "POST",
    headers: { "content-type": type },
    body: raw ?? JSON.stringify({ leaves }),
  });
}

export function randomLeaf(): Hex {
  return `0x${randomBytes(32).toString("hex")}`;
}

/** Polls GET /v1/proofs/<leaf> until it answers 200 (or the deadline passes). */
export async function waitComplete(base: string, leaf: Hex, timeoutMs = 60_000): Promise<HttpResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await call(`${base}/v1/proofs/${leaf}`);
    if (r.status === 200 || Date.now() > deadline) return r;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
