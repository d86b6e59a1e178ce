import { createHash } from "node:crypto";
import { lazyModule } from "../util/lazy";
import { ProofmarkError } from "../core/errors";

const warcio = lazyModule<typeof import("warcio")>("warcio");

/**
 * WARC/1.1 records (ISO 28500:2017) of a capture, written with warcio (webrecorder's reference
 * library: `WARC-Block-Digest` and `WARC-Payload-Digest` as `sha256:<hex>`), and read back by a
 * small independent parser that recomputes both digests of every record.
 */

const DIGEST = { algo: "sha-256", prefix: "sha256:", base32: false } as const;

export interface WarcRecordInput {
  type: "request" | "response" | "resource" | "metadata" | "warcinfo";
  url: string;
  /** ISO 8601 time of the exchange. */
  date: string;
  /** HTTP status line (`GET /x HTTP/1.1`, `HTTP/1.1 200 OK`) for request and response records. */
  statusline?: string;
  /** HTTP headers in order, duplicates kept (Set-Cookie). */
  httpHeaders?: Array<[string, string]>;
  /** The payload (HTTP body, or the resource's bytes). */
  payload: Uint8Array;
  /** Content-Type of a resource or metadata record. */
  contentType?: string;
  /** Extra WARC headers (WARC-IP-Address, WARC-Concurrent-To, WARC-Truncated, …). */
  warcHeaders?: Record<string, string>;
}

/**
 * One serialized WARC/1.1 record with its block and payload digests.
 *
 * @example
 * const bytes = await warcRecord({ type: "response", url, date, statusline: "HTTP/1.1 200 OK", httpHeaders: [["Content-Type", "text/html"]], payload });
 */
export async function warcRecord(input: WarcRecordInput): Promise<{ bytes: Uint8Array; id: string }> {
  const warcHeaders: Record<string, string> = { ...(input.warcHeaders ?? {}) };
  if (input.contentType) warcHeaders["Content-Type"] = input.contentType;
  const payload = input.payload;
  const record = warcio.WARCRecord.create(
    {
      ...(input.url ? { url: input.url } : {}),
      date: input.date,
      type: input.type,
      warcVersion: "WARC/1.1",
      keepHeadersCase: true,
      warcHeaders,
      ...(input.statusline ? { statusline: input.statusline, httpHeaders: input.httpHeaders ?? [] } : {}),
    },
    (function* () {
      if (payload.length > 0) yield payload;
    })(),
  );
  const bytes = await warcio.WARCSerializer.serialize(record, { gzip: false, digest: DIGEST });
  return { bytes, id: record.warcHeaders.headers.get("WARC-Record-ID") ?? "" };
}

/** A `warcinfo` record naming the software that wrote the file. */
export async function warcinfoRecord(
  filename: string,
  info: Record<string, string>,
  date: string,
): Promise<Uint8Array> {
  const fields = Object.entries(info)
    .map(([k, v]) => `${k}: ${v.replace(/[\r\n]+/g, " ")}\r\n`)
    .join("");
  const payload = Buffer.from(fields, "utf8");
  // warcio leaves warcinfo records without a digest: the block digest is set here
  const digest = `sha256:${createHash("sha256").update(payload).digest("hex")}`;
  const { bytes } = await warcRecord({
    type: "warcinfo",
    url: "",
    date,
    payload,
    contentType: "application/warc-fields",
    warcHeaders: { "WARC-Filename": filename, "WARC-Block-Digest": digest },
  });
  return bytes;
}

/** One record as read back from the bytes of a WARC file. */
export interface WarcRecordView {
  /** Byte offset of the record in the WARC file. */
  offset: number;
  /** Length of the whole record (headers, block and the two trailing CRLFs). */
  length: number;
  type: string;
  targetUri?: string;
  id?: string;
  headers: Map<string, string>;
  block: Buffer;
}

/** Reads every record of an uncompressed WARC file. Throws WARC_DIGEST_MISMATCH when it cannot be parsed. */
export function readWarc(warc: Buffer, fileName: string): WarcRecordView[] {
  const out: WarcRecordView[] = [];
  let p = 0;
  while (p < warc.length) {
    const headEnd = warc.indexOf("\r\n\r\n", p, "latin1");
    if (headEnd < 0 || !warc.subarray(p, p + 5).equals(Buffer.from("WARC/"))) {
      throw new ProofmarkError(
        "WARC_DIGEST_MISMATCH",
        `${fileName}: byte ${p} is not the start of a WARC record; the file was altered or truncated`,
        { file: fileName, offset: p },
      );
    }
    const lines = warc.subarray(p, headEnd).toString("utf8").split("\r\n");
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(":");
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const length = Number(headers.get("content-length"));
    const blockStart = headEnd + 4;
    if (
      !Number.isSafeInteger(length) ||
      length < 0 ||
      blockStart + length + 4 > warc.length ||
      warc.subarray(blockStart + length, blockStart + length + 4).toString("latin1") !== "\r\n\r\n"
    ) {
      throw new ProofmarkError(
        "WARC_DIGEST_MISMATCH",
        `${fileName}: the record at byte ${p} has a Content-Length that does not fit the file; the file was altered or truncated`,
        { file: fileName, offset: p },
      );
    }
    out.push({
      offset: p,
      length: blockStart + length + 4 - p,
      type: headers.get("warc-type") ?? "",
      targetUri: headers.get("warc-target-uri"),
      id: headers.get("warc-record-id"),
      headers,
      block: warc.subarray(blockStart, blockStart + length),
    });
    p = blockStart + length + 4;
  }
  return out;
}

/** The result of recomputing a record's digests. */
export interface WarcDigestCheck {
  ok: boolean;
  block: { expected?: string; actual: string };
  payload?: { expected?: string; actual: string };
}

/**
 * Recomputes `WARC-Block-Digest` (SHA-256 of the block) and, for HTTP request and response
 * records, `WARC-Payload-Digest` (SHA-256 of the HTTP body). A record without a block digest fails.
 */
export function checkWarcRecord(r: WarcRecordView): WarcDigestCheck {
  const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  const block = { expected: r.headers.get("warc-block-digest"), actual: sha(r.block) };
  let ok = block.expected === block.actual;
  let payload: WarcDigestCheck["payload"];
  const http = (r.headers.get("content-type") ?? "").startsWith("application/http");
  const expectedPayload = r.headers.get("warc-payload-digest");
  if (http || expectedPayload) {
    const split = r.block.indexOf("\r\n\r\n", 0, "latin1");
    const body = http ? (split < 0 ? Buffer.alloc(0) : r.block.subarray(split + 4)) : r.block;
    payload = { expected: expectedPayload, actual: sha(body) };
    ok = ok && payload.expected === payload.actual;
  }
  return { ok, block, payload };
}

/**
 * The CDXJ index of a WARC file (one line per response/resource record, sorted, as pywb and
 * ReplayWeb.page read it), computed by warcio's indexer.
 */
export async function cdxjIndex(warc: Uint8Array, filename: string): Promise<string> {
  const indexer = new warcio.CDXIndexer({});
  const lines: string[] = [];
  for await (const cdx of indexer.iterRecords(new warcio.WARCParser([warc]), filename))
    lines.push(indexer.serializeCDXJ(cdx).trimEnd());
  return lines
    .sort()
    .map((l) => `${l}\n`)
    .join("");
}
