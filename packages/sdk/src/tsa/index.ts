import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import {
  buildTimestampRequest,
  parseTimestampResponse,
  pemCertificates,
  readTimestampToken,
  verifyTimestampToken,
  type TimestampSubject,
  type TimestampTokenInfo,
} from "../core/rfc3161";
import { localTsaDir } from "./local";

/** A token from one TSA, as it travels in a proof's / receipt's `timestamps[]`. */
export interface TimestampEntry {
  /** The TSA's URL (where the token came from; informative — trust comes from the certificate chain). */
  tsa: string;
  /** The DER TimeStampToken (CMS ContentInfo), base64. Includes the TSA certificate. */
  token: string;
  /** genTime as read from the token (informative; verification re-reads it). */
  genTime: string;
}

/** Largest TimeStampResp accepted from a TSA (a token with a certificate chain is a few KB). */
export const MAX_TSA_REPLY_BYTES = 256 * 1024;

/**
 * Asks the TSA at `url` for a token over `root` (HTTP POST `application/timestamp-query`, RFC 3161
 * §3.4), with a deadline and a bound on the reply's size, and checks that the token answers this
 * request (imprint and nonce) before returning it. The signature and chain are checked by
 * {@link verifyTimestampToken} against the trust the *verifier* configures; the stamping side does
 * not need it.
 *
 * @example
 * const entry = await requestTimestamp("http://tsa.example/tsr", root);
 */
export async function requestTimestamp(
  url: string,
  root: TimestampSubject,
  opts: { timeoutMs?: number; maxBytes?: number } = {},
): Promise<TimestampEntry> {
  const { der, nonce } = buildTimestampRequest(root);
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/timestamp-query", accept: "application/timestamp-reply" },
      body: Buffer.from(der),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
    });
  } catch (e) {
    throw new ProofmarkError(
      "TSA_FAILED",
      `the TSA ${url} did not answer (${(e as Error).cause ?? (e as Error).message})`,
      { url },
      { cause: e },
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new ProofmarkError("TSA_FAILED", `the TSA ${url} answered HTTP ${response.status}`, {
      url,
      status: response.status,
    });
  }
  const type = response.headers.get("content-type") ?? "";
  if (!/^application\/timestamp-(reply|response)\b/i.test(type)) {
    await response.body?.cancel();
    throw new ProofmarkError(
      "TIMESTAMP_MALFORMED",
      `the TSA ${url} answered with content type "${type}", not application/timestamp-reply`,
      { url },
    );
  }
  const body = await readBounded(response, opts.maxBytes ?? MAX_TSA_REPLY_BYTES, url);
  const token = parseTimestampResponse(body);
  const read = readTimestampToken(token);
  // the reply must answer *this* request: same imprint (TIMESTAMP_MISMATCH), same nonce
  // (TIMESTAMP_INVALID: a replayed reply). verifyTimestampToken checks both before any trust
  // decision; with no trusted roots it then stops with TIMESTAMP_UNTRUSTED, which is expected here.
  try {
    await verifyTimestampToken(token, { root, nonce, trusted: [] });
  } catch (e) {
    if ((e as ProofmarkError).code !== "TIMESTAMP_UNTRUSTED") throw e;
  }
  return { tsa: url, token: Buffer.from(token).toString("base64"), genTime: read.genTime };
}

async function readBounded(response: Response, maxBytes: number, url: string): Promise<Uint8Array> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new ProofmarkError(
      "TIMESTAMP_MALFORMED",
      `the TSA ${url} sent ${declared} bytes, more than the ${maxBytes} a time-stamp reply may have`,
      { url },
    );
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new ProofmarkError(
        "TIMESTAMP_MALFORMED",
        `the TSA ${url} sent more than the ${maxBytes} bytes a time-stamp reply may have`,
        { url },
      );
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The trusted TSA root certificates (DER): from the PEM files given (`--tsa-trust FILE.pem`,
 * repeatable), else from `PROOFMARK_TSA_TRUST` (one or more PEM file paths separated by the
 * platform's path delimiter, `:` on Linux). Empty when nothing is configured — verification then
 * fails with TIMESTAMP_UNTRUSTED, never passes silently.
 */
export function loadTsaTrust(files: string[] = [], env: NodeJS.ProcessEnv = process.env): Uint8Array[] {
  const list = files.length > 0 ? files : (env.PROOFMARK_TSA_TRUST ?? "").split(path.delimiter).filter(Boolean);
  const out: Uint8Array[] = [];
  for (const file of list) {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      throw new ProofmarkError("FILE_NOT_FOUND", `cannot read the TSA trust file ${file}`, { path: file });
    }
    try {
      out.push(...pemCertificates(text));
    } catch {
      throw new ProofmarkError("INVALID_ARGUMENT", `${file} holds no PEM certificate`, { path: file });
    }
  }
  return out;
}

/**
 * Verifies a `timestamps[]` entry over `root` against the trusted roots.
 *
 * @example
 * const info = await verifyTimestampEntry(entry, root, loadTsaTrust());
 */
export async function verifyTimestampEntry(
  entry: TimestampEntry,
  root: Hex,
  trusted: Uint8Array[],
): Promise<TimestampTokenInfo> {
  if (typeof entry?.token !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(entry.token)) {
    throw new ProofmarkError("TIMESTAMP_MALFORMED", "the timestamp entry's token is not base64");
  }
  return verifyTimestampToken(new Uint8Array(Buffer.from(entry.token, "base64")), { root, trusted });
}

export { makeTsaCertificates, startLocalTsa, localTsaDir, type LocalTsa } from "./local";

/**
 * The engine's RFC 3161 adapter for a data folder: tokens are verified offline against the roots
 * the user configured (`files`, else `PROOFMARK_TSA_TRUST`, plus config.json `tsaTrust`); a token
 * those do not cover, but that chains to this data folder's own local TSA (`<dataDir>/tsa/ca.crt`,
 * made by `calendar serve --tsa local`), verifies with a note saying so — that CA was made on this
 * machine and proves nothing to anyone else, exactly like the embedded chain.
 */
export function timestampChecker(opts: {
  dataDir: string;
  files?: string[];
  configured?: string[];
  env?: NodeJS.ProcessEnv;
}): (t: TimestampEntry, root: Hex) => Promise<TimestampTokenInfo & { trustNote?: string }> {
  const trusted = loadTsaTrust(opts.files ?? [], opts.env);
  if ((opts.files ?? []).length === 0)
    for (const f of opts.configured ?? []) trusted.push(...loadTsaTrust([path.resolve(opts.dataDir, f)], {}));
  const localCa = path.join(localTsaDir(opts.dataDir), "ca.crt");
  return async (t, root) => {
    try {
      return await verifyTimestampEntry(t, root, trusted);
    } catch (e) {
      if ((e as ProofmarkError).code !== "TIMESTAMP_UNTRUSTED" || !fs.existsSync(localCa)) throw e;
      let info: TimestampTokenInfo;
      try {
        info = await verifyTimestampEntry(t, root, loadTsaTrust([localCa], {}));
      } catch {
        throw e;
      }
      return {
        ...info,
        trustNote: `trusted as this data folder's local TSA (${localCa}): its CA was made on this machine and proves nothing to anyone else`,
      };
    }
  };
}
