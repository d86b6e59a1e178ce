import * as fs from "node:fs";
import * as path from "node:path";
import { randomSalt } from "../core/commitment";
import { ProofmarkError, isProofmarkError } from "../core/errors";
import { chainRecord, epcisDocument, type ChainRecord, type EpcisDocument, type EpcisEvent } from "../core/epcis";
import type { Hex } from "../core/hex";
import type { ContentStore } from "../store/types";

/**
 * Event documents of GI lots: each EPCIS 2.0 event is kept in the content store as a small JSON
 * file together with the salt of its on-chain commitment, and found again by that commitment
 * (the `document` field of the chain's `LotEventRecorded` log) through an append-only index
 * `<dataDir>/gi/<chainId>-<registry>.documents.jsonl`.
 */

/** Format tag of a stored event document. */
export const GI_DOCUMENT_FORMAT = "proofmark-gi-event-v1";

/** What the store keeps for one event. */
export interface GiEventDocument {
  format: typeof GI_DOCUMENT_FORMAT;
  /** Salt of the on-chain commitment (without it nobody can link the chain record to the event). */
  salt: Hex;
  /** The event, as an EPCIS 2.0 document holding exactly one event. */
  epcis: EpcisDocument;
}

/** An event made ready for the chain: its record and the bytes to keep. */
export interface PreparedEvent {
  event: EpcisEvent;
  salt: Hex;
  record: ChainRecord;
  bytes: Uint8Array;
}

/** Builds the document of `event` with a fresh salt, and the chain record that commits to it. Pure except for the salt. */
export function prepareEvent(event: EpcisEvent, salt: Hex = randomSalt()): PreparedEvent {
  const record = chainRecord(event, salt);
  const doc: GiEventDocument = { format: GI_DOCUMENT_FORMAT, salt, epcis: epcisDocument([event]) };
  return { event, salt, record, bytes: new TextEncoder().encode(`${JSON.stringify(doc)}\n`) };
}

/** Parses a stored event document strictly. Throws EPCIS_INVALID. */
export function parseEventDocument(bytes: Uint8Array): GiEventDocument {
  let doc: GiEventDocument;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch {
    throw new ProofmarkError("EPCIS_INVALID", "the stored event document is not UTF-8 JSON", {});
  }
  if (doc?.format !== GI_DOCUMENT_FORMAT)
    throw new ProofmarkError("EPCIS_INVALID", `the stored event document is not ${GI_DOCUMENT_FORMAT}`, {
      format: (doc as { format?: unknown })?.format,
    });
  if (!/^0x[0-9a-f]{64}$/.test(String(doc.salt)))
    throw new ProofmarkError("EPCIS_INVALID", "the stored event document has no valid salt", {});
  const events = doc.epcis?.epcisBody?.eventList;
  if (!Array.isArray(events) || events.length !== 1)
    throw new ProofmarkError("EPCIS_INVALID", "the stored event document must hold exactly one EPCIS event", {});
  return doc;
}

/** Where stored event documents are found by their on-chain commitment. */
export interface DocumentSource {
  /** The event document committed to by `document`, or undefined when it is not kept here. */
  load(document: Hex): Promise<{ cid: string; doc: GiEventDocument } | undefined>;
}

/**
 * Event documents of one registry, kept in a content store and indexed by commitment.
 *
 * @example
 * const docs = new EventDocuments({ dataDir, chainId: 31337, registry, store: new EmbeddedStore(dataDir) });
 * const prepared = prepareEvent(observationEvent({...}));
 * await docs.save([prepared]);            // before sending the transaction
 * await docs.load(prepared.record.document) // → { cid, doc }
 */
export class EventDocuments implements DocumentSource {
  readonly indexFile: string;
  private readonly store: ContentStore;
  private index?: Map<string, string>;
  /** Size of the index file when it was read (a longer file is read again on a miss). */
  private indexSize = -1;

  constructor(opts: { dataDir: string; chainId: number; registry: string; store: ContentStore }) {
    this.indexFile = path.join(opts.dataDir, "gi", `${opts.chainId}-${opts.registry.toLowerCase()}.documents.jsonl`);
    this.store = opts.store;
  }

  /** Keeps the documents (one atomic store batch) and indexes them; returns their CIDs in order. */
  async save(prepared: PreparedEvent[]): Promise<string[]> {
    if (prepared.length === 0) return [];
    const results = await this.store.addAll(
      prepared.map((p) => ({ content: p.bytes, name: `gi-event-${p.record.document.slice(2, 18)}.json` })),
    );
    const lines = prepared
      .map((p, i) => JSON.stringify({ document: p.record.document, cid: results[i].cid }))
      .join("\n");
    fs.mkdirSync(path.dirname(this.indexFile), { recursive: true });
    const fd = fs.openSync(this.indexFile, "a");
    try {
      fs.writeSync(fd, `${lines}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    const index = this.readIndex();
    prepared.forEach((p, i) => index.set(p.record.document, results[i].cid));
    return results.map((r) => r.cid);
  }

  /** The CID of the document committed to by `document`, if indexed here. */
  cidOf(document: Hex): string | undefined {
    const key = document.toLowerCase();
    const hit = this.readIndex().get(key);
    if (hit !== undefined) return hit;
    // Another process (a CLI command while the portal runs) may have appended since.
    const size = fs.existsSync(this.indexFile) ? fs.statSync(this.indexFile).size : -1;
    if (size === this.indexSize) return undefined;
    this.index = undefined;
    return this.readIndex().get(key);
  }

  async load(document: Hex): Promise<{ cid: string; doc: GiEventDocument } | undefined> {
    const cid = this.cidOf(document);
    if (!cid) return undefined;
    const chunks: Uint8Array[] = [];
    try {
      for await (const chunk of this.store.get(cid)) chunks.push(chunk);
    } catch (e) {
      if (isProofmarkError(e, "BLOCK_MISSING") || isProofmarkError(e, "FILE_NOT_FOUND")) return undefined;
      throw e;
    }
    return { cid, doc: parseEventDocument(Buffer.concat(chunks)) };
  }

  private readIndex(): Map<string, string> {
    if (this.index) return this.index;
    const index = new Map<string, string>();
    this.indexSize = -1;
    if (fs.existsSync(this.indexFile)) {
      const text = fs.readFileSync(this.indexFile, "utf8");
      this.indexSize = Buffer.byteLength(text);
      for (const line of text.split("\n")) {
        if (!line.trim()) continue;
        try {
          const { document, cid } = JSON.parse(line) as { document: string; cid: string };
          if (typeof document === "string" && typeof cid === "string") index.set(document.toLowerCase(), cid);
        } catch {
          // a line torn by a crash: the documents it named were not yet on chain
        }
      }
    }
    this.index = index;
    return index;
  }
}
