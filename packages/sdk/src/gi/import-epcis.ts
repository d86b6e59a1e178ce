import * as fs from "node:fs";
import * as path from "node:path";
import { lazyModule } from "../util/lazy";
import { randomSalt } from "../core/commitment";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import { BIZ_STEPS, DISPOSITIONS, cbvWord, type BizStep } from "../core/epcis-vocabulary";
import {
  eventCommitment,
  eventLocation,
  eventTimeSeconds,
  locationDigest,
  type EpcisEvent,
} from "../core/epcis-events";
import { contextPrefixes, documentEvents, epcisEventHash } from "../core/epcis-hash";
import { decodeAiValue } from "../core/gs1";
import type { EventInput, LotInfo, ProductInfo, TxInfo } from "../chain/provenance";
import type { ProvenanceRegistryClient } from "../chain/provenance";
import type { ContentStore } from "../store/types";
import { GI_DOCUMENT_FORMAT, type EventDocuments, type PreparedEvent } from "./documents";
import type { ImportProblem } from "./import";
import { IMPORT_LIMIT_BYTES, readFileBounded } from "../util/fs";

const Ajv = lazyModule<typeof import("ajv")>("ajv");
const AjvFormats = lazyModule<typeof import("ajv-formats")>("ajv-formats");

/**
 * Imports a partner's EPCIS 2.0 JSON-LD document (`proofmark gi import FILE.jsonld`): the
 * document is validated against GS1's EPCIS 2.0 JSON schema first; each event (ObjectEvent,
 * AggregationEvent, TransformationEvent, TransactionEvent, AssociationEvent) is mapped onto the
 * Proofmark lots it names — `urn:proofmark:gi:<GI number>:lot:<id>` classes, or GS1 Digital Links
 * whose AI 10 lot is a Proofmark lot id (`…/01/<GTIN>/10/<id>[/21/<serial>]`) — in any of its EPC
 * and quantity lists or its parentID; every event is checked (lot exists and is active, the GI
 * number matches, the signer may record the step, the step and disposition are in the registry's
 * table, a location and a time are there) and nothing is recorded unless all are valid, like the
 * CSV import. Then the partner's own bytes are kept in the content store, each event's document
 * (the partner's event as written, with the document's `@context`, and where its bytes are) is kept
 * beside them, and every (event, lot) pair is recorded with the commitment of the event's CBV 2.0
 * event hash — the hash the partner computes from the same document.
 */

/** What an EPCIS import did. */
export interface EpcisImportResult {
  /** Events in the document. */
  events: number;
  /** Chain records written (one per event and lot it names). */
  recorded: number;
  dryRun: boolean;
  /** Content id of the partner's document bytes in the store (undefined on a dry run). */
  cid?: string;
  /** The CBV 2.0 event hash of each event, in document order. */
  hashes: string[];
  transactions: Array<TxInfo & { events: number }>;
  lots: number[];
}

/** What an import writes through: a {@link GiSession} is one. */
export interface EpcisImportTarget {
  client: ProvenanceRegistryClient;
  store: ContentStore;
  documents: EventDocuments;
  signerAddress: string;
  /** Saved after the transaction (the embedded chain's snapshot), when there is one. */
  chain?: { persist(): Promise<void> };
}

const SCHEMA_FILE = "EPCIS-JSON-Schema.json";
let validator: (((doc: unknown) => boolean) & { errors?: unknown }) | undefined;

/**
 * The validator of GS1's EPCIS 2.0 JSON schema. The schema file is GS1's, shipped with the SDK's
 * sources under `schemas/` (a copy of test/vectors/epcis-schema/EPCIS-JSON-Schema.json).
 */
function epcisValidator(): ((doc: unknown) => boolean) & {
  errors?: Array<{ instancePath?: string; message?: string }> | null;
} {
  if (!validator) {
    const candidates = [
      path.join(__dirname, "..", "..", "schemas", SCHEMA_FILE),
      path.join(__dirname, "..", "..", "..", "..", "test", "vectors", "epcis-schema", SCHEMA_FILE),
    ];
    const file = candidates.find((f) => fs.existsSync(f));
    if (!file)
      throw new ProofmarkError(
        "FILE_NOT_FOUND",
        `GS1's EPCIS 2.0 JSON schema (${SCHEMA_FILE}) is missing from the SDK`,
        { path: candidates[0] },
      );
    const ajv = new Ajv.default({ allErrors: true, strict: false });
    AjvFormats.default(ajv);
    validator = ajv.compile(JSON.parse(fs.readFileSync(file, "utf8")));
  }
  return validator as ReturnType<typeof epcisValidator>;
}

/** Validates a parsed document against GS1's EPCIS 2.0 JSON schema; returns the problems (empty when valid). */
export function epcisSchemaProblems(doc: unknown): string[] {
  const validate = epcisValidator();
  if (validate(doc)) return [];
  const errors = (validate.errors ?? []) as Array<{ instancePath?: string; message?: string }>;
  return errors.slice(0, 20).map((e) => `${e.instancePath || "/"} ${e.message ?? "is invalid"}`);
}

const LOT_URN = /^urn:proofmark:gi:([^:]+):lot:([1-9][0-9]{0,15})$/;
const LOT_DL = /^https?:\/\/[^/?#]+(?:\/[^?#]*)?\/01\/[0-9]{14}\/10\/([^/?#]+)(?:\/21\/[^/?#]+)?(?:[?#].*)?$/;

/** The Proofmark lots an identifier names: `{ lot, giNumber? }`, or undefined. */
export function lotOfIdentifier(id: string): { lot: number; giNumber?: string } | undefined {
  let m = LOT_URN.exec(id);
  if (m) return { lot: Number(m[2]), giNumber: decodeURIComponent(m[1]) };
  m = LOT_DL.exec(id);
  if (m) {
    try {
      const lot = decodeAiValue(m[1], "lot");
      if (/^[1-9][0-9]{0,15}$/.test(lot)) return { lot: Number(lot) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Every identifier an event names in its EPC lists, quantity lists and parentID. */
function identifiersOf(event: EpcisEvent): string[] {
  const out: string[] = [];
  const push = (v: unknown) => typeof v === "string" && out.push(v);
  for (const k of ["epcList", "childEPCs", "inputEPCList", "outputEPCList"] as const)
    for (const v of (event[k] as unknown[] | undefined) ?? []) push(v);
  for (const k of ["quantityList", "childQuantityList", "inputQuantityList", "outputQuantityList"] as const) {
    for (const q of (event[k] as Array<{ epcClass?: unknown }> | undefined) ?? []) push(q?.epcClass);
  }
  push(event.parentID);
  return out;
}

/**
 * Imports an EPCIS 2.0 JSON-LD file through an open GI session or any {@link EpcisImportTarget} (see the module comment).
 * Throws IMPORT_INVALID listing every problem (by event index) and records nothing when any event fails.
 *
 * @example
 * const gi = await GiSession.open(await openChain({ dataDir, as: "retailer" }));
 * const r = await importEpcisDocument(gi, "partner.jsonld"); // r.hashes, r.recorded, r.cid
 */
export async function importEpcisDocument(
  session: EpcisImportTarget,
  file: string,
  opts: { dryRun?: boolean } = {},
): Promise<EpcisImportResult> {
  if (!fs.existsSync(file)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${file}`, { path: file });
  return importEpcisBytes(
    session,
    readFileBounded(file, IMPORT_LIMIT_BYTES, "an EPCIS document"),
    path.basename(file),
    opts,
  );
}

/**
 * Imports an EPCIS 2.0 JSON-LD document given as bytes (`name` is used in messages and as the
 * stored file's name). What `importEpcisDocument` and the EPCIS capture endpoint both run.
 */
export async function importEpcisBytes(
  session: EpcisImportTarget,
  bytes: Uint8Array,
  name: string,
  opts: { dryRun?: boolean } = {},
): Promise<EpcisImportResult> {
  const file = name;
  const invalid = (problems: ImportProblem[], total: number) =>
    new ProofmarkError(
      "IMPORT_INVALID",
      `${path.basename(file)}: ${problems.length} of ${total} event(s) cannot be recorded, so nothing was recorded:\n${problems
        .slice(0, 50)
        .map((p) => `  event ${p.line}: ${p.reason}`)
        .join("\n")}`,
      { file, problems },
    );
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new ProofmarkError("IMPORT_INVALID", `${path.basename(file)} is not UTF-8 JSON: ${(e as Error).message}`, {
      file,
      problems: [],
    });
  }
  const schemaProblems = epcisSchemaProblems(doc);
  if (schemaProblems.length > 0) {
    throw new ProofmarkError(
      "IMPORT_INVALID",
      `${path.basename(file)} is not a valid EPCIS 2.0 document (GS1's JSON schema):\n${schemaProblems.map((p) => `  ${p}`).join("\n")}`,
      { file, problems: schemaProblems.map((reason) => ({ line: 0, reason })) },
    );
  }
  const events = documentEvents(doc);
  const context = doc["@context"];
  const prefixes = contextPrefixes(context);
  const problems: ImportProblem[] = [];
  const lots = new Map<number, LotInfo>();
  const products = new Map<number, ProductInfo>();
  const allowed = new Map<string, boolean>();
  const plan: Array<{
    event: EpcisEvent;
    hash: string;
    lots: number[];
    step: number;
    disposition: number;
    eventTime: number;
    location: Hex;
  }> = [];

  for (const [i, event] of events.entries()) {
    const n = i + 1;
    const reasons: string[] = [];
    const hash = epcisEventHash(event, { prefixes });
    const step = cbvWord("BizStep", String(event.bizStep ?? "other"));
    const disposition = event.disposition === undefined ? undefined : cbvWord("Disp", String(event.disposition));
    const stepCode = (BIZ_STEPS as readonly string[]).indexOf(step);
    const dispCode = (DISPOSITIONS as readonly string[]).indexOf(disposition ?? "active"); // the chain needs a code; the hash keeps what was written
    if (stepCode < 0) reasons.push(`business step "${step}" is not one the registry records (${BIZ_STEPS.join(", ")})`);
    if (dispCode < 0 && disposition !== undefined)
      reasons.push(`disposition "${disposition}" is not one the registry records`);
    let location: Hex | undefined;
    try {
      location = locationDigest(eventLocation(event));
    } catch (e) {
      reasons.push((e as Error).message);
    }
    const named = identifiersOf(event)
      .map(lotOfIdentifier)
      .filter((x): x is { lot: number; giNumber?: string } => x !== undefined);
    if (named.length === 0)
      reasons.push(
        "it names no Proofmark lot (urn:proofmark:gi:<GI number>:lot:<id>, or a Digital Link whose lot (AI 10) is a lot id)",
      );
    const eventLots = [...new Set(named.map((x) => x.lot))];
    for (const { lot, giNumber } of named) {
      if (!lots.has(lot)) {
        const info = await session.client.lot(lot);
        lots.set(lot, info);
        if (info.status !== "none" && !products.has(info.product))
          products.set(info.product, await session.client.product(info.product));
      }
      const info = lots.get(lot)!;
      if (info.status === "none") reasons.push(`lot ${lot} does not exist`);
      else if (info.status === "recalled") reasons.push(`lot ${lot} was recalled and accepts no events`);
      else if (info.status === "consumed") reasons.push(`lot ${lot} is consumed (all of it went into other lots)`);
      else {
        const product = products.get(info.product)!;
        if (giNumber !== undefined && giNumber !== product.giNumber)
          reasons.push(`lot ${lot} belongs to ${product.giNumber}, not ${giNumber}`);
        if (stepCode >= 0) {
          const key = `${info.product}/${step}`;
          if (!allowed.has(key))
            allowed.set(key, await session.client.mayRecord(info.product, step as BizStep, session.signerAddress));
          if (!allowed.get(key)) reasons.push(`the signer may not record ${step} on product ${info.product}`);
        }
      }
    }
    let eventTime = 0;
    try {
      eventTime = eventTimeSeconds(event);
    } catch (e) {
      reasons.push((e as Error).message);
    }
    if (reasons.length > 0) problems.push({ line: n, reason: [...new Set(reasons)].join("; ") });
    else
      plan.push({
        event,
        hash,
        lots: eventLots,
        step: stepCode,
        disposition: dispCode,
        eventTime,
        location: location!,
      });
  }
  if (events.length === 0) problems.push({ line: 0, reason: "the document holds no events" });
  if (problems.length > 0) throw invalid(problems, events.length);
  const hashes = plan.map((p) => p.hash);
  const lotList = [...lots.keys()].sort((a, b) => a - b);
  if (opts.dryRun) return { events: events.length, recorded: 0, dryRun: true, hashes, transactions: [], lots: lotList };

  // The partner's bytes, then one stored document per event (its event as written, with the context).
  const [{ cid }] = await session.store.addAll([{ content: new Uint8Array(bytes), name: path.basename(file) }]);
  const prepared: PreparedEvent[] = [];
  const inputs: EventInput[] = [];
  for (const [i, p] of plan.entries()) {
    const salt = randomSalt();
    const document = eventCommitment(p.hash, salt);
    const event = { "@context": context, ...p.event } as EpcisEvent;
    const stored = {
      format: GI_DOCUMENT_FORMAT,
      salt,
      epcis: {
        "@context": context,
        type: "EPCISDocument",
        schemaVersion: "2.0",
        creationDate: doc.creationDate,
        epcisBody: { eventList: [event] },
      },
      source: { cid, event: i, hash: p.hash },
    };
    const record = { step: p.step, disposition: p.disposition, eventTime: p.eventTime, location: p.location, document };
    prepared.push({
      event,
      salt,
      record,
      bytes: new TextEncoder().encode(`${JSON.stringify(stored)}\n`),
    } as PreparedEvent);
    for (const lot of p.lots)
      inputs.push({
        lot,
        step: p.step,
        disposition: p.disposition,
        eventTime: p.eventTime,
        location: p.location,
        document,
      });
  }
  const gas = await session.client.estimateRecordEvents(inputs); // simulates the whole batch: nothing is sent if any record would revert
  await session.documents.save(prepared);
  const tx = await session.client.sendRecordEvents(inputs, gas + gas / 5n);
  const mined = await session.client.waitFor(tx, `recording ${inputs.length} imported EPCIS events`);
  await session.chain?.persist();
  return {
    events: events.length,
    recorded: inputs.length,
    dryRun: false,
    cid,
    hashes,
    transactions: [{ ...mined, events: inputs.length }],
    lots: lotList,
  };
}
