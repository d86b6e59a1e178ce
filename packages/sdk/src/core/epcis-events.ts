import { ProofmarkError } from "./errors";
import { fromHex, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";
import { uomOf } from "./quantity";
import { sha256 } from "@noble/hashes/sha2";
import { assertAiValue, encodeAiValue, gtinCheckDigit, normalizeGtin } from "./gs1";
import {
  BIZ_STEPS,
  DISPOSITIONS,
  DEFAULT_DISPOSITION,
  cbvWord,
  type BizStep,
  type Disposition,
} from "./epcis-vocabulary";
import { epcisEventHash, eventHashDigest } from "./epcis-hash";

/**
 * Supply-chain events of GI lots as GS1 EPCIS 2.0 documents (the builders Proofmark writes with),
 * event times, locations as URIs, and the salted commitment of an event's CBV 2.0 hash that goes
 * on chain. Every document built here validates against GS1's EPCIS 2.0 JSON schema (tested).
 */

// ------------------------------------------------------------------------------ event model

/** Namespace of Proofmark's GI lot master data (ILMD) and extension fields. */
export const GI_NAMESPACE = "https://ns.proofmark.dev/gi#";
/** JSON-LD context of Proofmark's EPCIS documents. */
export const EPCIS_CONTEXT = [
  "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
  { gi: GI_NAMESPACE },
] as const;

/** A quantity of a class of objects (a lot): EPCIS `QuantityElement`. */
export interface QuantityElement {
  epcClass: string;
  quantity?: number | string;
  uom?: string;
}

/** An EPCIS 2.0 event (the subset of fields Proofmark writes and hashes, plus extensions). */
export interface EpcisEvent {
  type: "ObjectEvent" | "AggregationEvent" | "TransformationEvent" | "TransactionEvent" | "AssociationEvent";
  eventTime: string;
  eventTimeZoneOffset: string;
  eventID?: string;
  action?: "ADD" | "OBSERVE" | "DELETE";
  epcList?: string[];
  parentID?: string;
  childEPCs?: string[];
  inputEPCList?: string[];
  outputEPCList?: string[];
  quantityList?: QuantityElement[];
  childQuantityList?: QuantityElement[];
  inputQuantityList?: QuantityElement[];
  outputQuantityList?: QuantityElement[];
  transformationID?: string;
  bizStep?: string;
  disposition?: string;
  readPoint?: { id: string; [extension: string]: unknown };
  bizLocation?: { id: string; [extension: string]: unknown };
  bizTransactionList?: { type?: string; bizTransaction: string }[];
  sourceList?: { type: string; source: string }[];
  destinationList?: { type: string; destination: string }[];
  ilmd?: Record<string, unknown>;
  [extension: string]: unknown;
}

/** An EPCIS 2.0 JSON-LD document holding events. */
export interface EpcisDocument {
  "@context": unknown;
  type: "EPCISDocument";
  schemaVersion: "2.0";
  creationDate: string;
  epcisBody: { eventList: EpcisEvent[] };
}

/**
 * The class URI of a lot. With a GTIN, the GS1 Digital Link URI `https://id.gs1.org/01/<GTIN>/10/<lot>`;
 * without one, `urn:proofmark:gi:<giNumber>:lot:<lot>` (lot codes are chosen by the co-op).
 *
 * @example
 * lotClass({ giNumber: "AGI00001", lot: "DS2026-F1-0001" }) // "urn:proofmark:gi:AGI00001:lot:DS2026-F1-0001"
 */
export function lotClass(input: { giNumber: string; lot: string; gtin?: string }): string {
  assertAiValue(input.lot, "lot");
  if (input.gtin !== undefined)
    return `https://id.gs1.org/01/${normalizeGtin(input.gtin)}/10/${encodeAiValue(input.lot)}`;
  return `urn:proofmark:gi:${urnEncode(input.giNumber)}:lot:${urnEncode(input.lot)}`;
}

/** Percent-encodes what RFC 8141 does not allow literally in a URN's specific string (and "%" itself). */
function urnEncode(s: string): string {
  return Array.from(new TextEncoder().encode(s), (b) => {
    const c = String.fromCharCode(b);
    return b < 0x80 && /[A-Za-z0-9\-._~!$&'()*+,;=:@]/.test(c)
      ? c
      : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }).join("");
}

/** Where a plain-text place's stable URI lives: `urn:proofmark:place:<first 32 hex digits of sha-256(NFC text)>`. */
export const PLACE_URN_PREFIX = "urn:proofmark:place:";

/**
 * The URI EPCIS records for a place, and the human text to keep beside it. A GLN (13 digits, check
 * digit right) becomes its GS1 Digital Link `https://id.gs1.org/414/<GLN>`; an SGLN, a Digital Link,
 * a `geo:` URI or any other absolute URI (a registered location id such as
 * `urn:proofmark:gi:AGI00001:plot:DS-07`) is kept as it is; any other text (an address) becomes
 * `urn:proofmark:place:<32 hex digits of the SHA-256 of its NFC form>` — the same text always gives
 * the same URI — and is returned as `name` (written into the event as `readPoint["gi:name"]`).
 *
 * @example
 * locationUri("上海市静安区南京西路 1 号") // { id: "urn:proofmark:place:…", name: "上海市静安区南京西路 1 号" }
 * locationUri("urn:epc:id:sgln:6901234.00010.0") // { id: "urn:epc:id:sgln:6901234.00010.0" }
 */
export function locationUri(location: string): { id: string; name?: string } {
  const text = typeof location === "string" ? location.trim().normalize("NFC") : "";
  if (text === "") throw new ProofmarkError("INVALID_ARGUMENT", "location must be a non-empty GLN, URI or address");
  if (/^[0-9]{13}$/.test(text)) return { id: `https://id.gs1.org/414/${normalizeGln(text)}` };
  if (/^[A-Za-z][A-Za-z0-9+.-]*:[^\s]+$/.test(text) && !/[\u0000-\u0020\u007f-\uffff]/.test(text)) return { id: text };
  const digest = sha256(new TextEncoder().encode(text));
  let hex = "";
  for (let i = 0; i < 16; i++) hex += digest[i].toString(16).padStart(2, "0");
  return { id: `${PLACE_URN_PREFIX}${hex}`, name: text };
}

function normalizeGln(gln: string): string {
  const expected = gtinCheckDigit(gln.slice(0, 12));
  if (String(expected) !== gln[12])
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `GLN ${gln} has a wrong check digit: the last digit should be ${expected}`,
      { gln },
    );
  return gln;
}

/** The human name of an event's place, if the event carries one (`gi:name` in its bizLocation or readPoint). */
export function eventLocationName(event: EpcisEvent): string | undefined {
  const name = event.bizLocation?.["gi:name"] ?? event.readPoint?.["gi:name"];
  return typeof name === "string" ? name : undefined;
}

/** Common arguments of the event builders. */
export interface EventBase {
  /** When it happened: a Date or an ISO 8601 date-time with offset. */
  time: Date | string;
  /** Time zone offset of the place, "+08:00" by default (China). */
  timeZoneOffset?: string;
  /**
   * The place: a GLN, an SGLN / GLN Digital Link / geo: URI or any other URI (a registered
   * location id) is used as it is; a plain address becomes a stable URI ({@link locationUri}) with
   * the address kept as `gi:name` in the readPoint.
   */
  location: string;
  /** Extension fields, keys as "gi:name" (expanded into {@link GI_NAMESPACE}). */
  extensions?: Record<string, string | number>;
}

/**
 * A harvest: an ObjectEvent ADD / `commissioning` / `active` that commissions a lot with its
 * quantity and lot master data (ILMD: product, plot, producer, season, …).
 *
 * @example
 * harvestEvent({ lot: lotClass({ giNumber: "AGI00001", lot: "F1-001" }), quantity: 1_200_000n, unit: "g",
 *   time: "2026-09-01T08:00:00+08:00", location: "geo:34.43,116.35", ilmd: { "gi:plot": "DS-07" } })
 */
export function harvestEvent(
  input: EventBase & { lot: string; quantity: bigint; unit: string; ilmd: Record<string, string | number> },
): EpcisEvent {
  return withBase(input, {
    type: "ObjectEvent",
    action: "ADD",
    quantityList: [quantityElement(input.lot, input.quantity, input.unit)],
    bizStep: "commissioning",
    disposition: "active",
    ilmd: { ...input.ilmd },
  });
}

/**
 * Something observed about a lot (inspecting, shipping, receiving, retail_selling, …): an ObjectEvent OBSERVE.
 *
 * @example
 * observationEvent({ lot, step: "inspecting", disposition: "conformant", time: new Date(), location: "urn:…" })
 */
export function observationEvent(
  input: EventBase & { lot: string; step: BizStep; disposition?: Disposition; quantity?: bigint; unit?: string },
): EpcisEvent {
  const ev: Partial<EpcisEvent> = {
    type: "ObjectEvent",
    action: "OBSERVE",
    quantityList: [
      input.quantity !== undefined && input.unit
        ? quantityElement(input.lot, input.quantity, input.unit)
        : { epcClass: input.lot },
    ],
    bizStep: input.step,
    disposition: input.disposition ?? DEFAULT_DISPOSITION[input.step],
  };
  return withBase(input, ev);
}

/**
 * Packing N packages of size S from a lot: an AggregationEvent ADD / `packing` / `container_closed`
 * whose parent is the packed lot and whose child quantity is what was taken from the source lot.
 */
export function packEvent(
  input: EventBase & { lot: string; packedLot: string; packages: number; size: bigint; unit: string },
): EpcisEvent {
  return withBase(input, {
    type: "AggregationEvent",
    action: "ADD",
    parentID: input.packedLot,
    childQuantityList: [quantityElement(input.lot, BigInt(input.packages) * input.size, input.unit)],
    bizStep: "packing",
    disposition: "container_closed",
    [`gi:packages`]: input.packages,
    [`gi:packageSize`]: input.size.toString(),
  });
}

/**
 * Lots in, lots out: a TransformationEvent. Split and merge use `repackaging`; processing
 * (e.g. drying tea) uses `creating_class_instance`.
 */
export function transformationEvent(
  input: EventBase & {
    step?: "repackaging" | "creating_class_instance";
    inputs: { lot: string; quantity: bigint }[];
    outputs: { lot: string; quantity: bigint }[];
    unit: string;
  },
): EpcisEvent {
  return withBase(input, {
    type: "TransformationEvent",
    inputQuantityList: input.inputs.map((i) => quantityElement(i.lot, i.quantity, input.unit)),
    outputQuantityList: input.outputs.map((o) => quantityElement(o.lot, o.quantity, input.unit)),
    bizStep: input.step ?? "repackaging",
    disposition: "active",
  });
}

/** A recall: ObjectEvent OBSERVE / `holding` / `recalled`, with the reason as `gi:reason`. */
export function recallEvent(input: EventBase & { lot: string; reason: string }): EpcisEvent {
  return withBase(
    { ...input, extensions: { ...input.extensions, "gi:reason": input.reason } },
    {
      type: "ObjectEvent",
      action: "OBSERVE",
      quantityList: [{ epcClass: input.lot }],
      bizStep: "holding",
      disposition: "recalled",
    },
  );
}

/** Wraps events in an EPCIS 2.0 JSON-LD document. */
export function epcisDocument(events: EpcisEvent[], creationDate: Date = new Date()): EpcisDocument {
  return {
    "@context": EPCIS_CONTEXT as unknown as EpcisDocument["@context"],
    type: "EPCISDocument",
    schemaVersion: "2.0",
    creationDate: creationDate.toISOString(),
    epcisBody: { eventList: events },
  };
}

function quantityElement(epcClass: string, quantity: bigint, unit: string): QuantityElement {
  return {
    epcClass,
    quantity: Number(quantity) <= Number.MAX_SAFE_INTEGER ? Number(quantity) : quantity.toString(),
    uom: uomOf(unit),
  };
}

function withBase(base: EventBase, ev: Partial<EpcisEvent>): EpcisEvent {
  const offset = base.timeZoneOffset ?? "+08:00";
  if (!/^[+-](0\d|1[0-4]):[0-5]\d$/.test(offset))
    throw new ProofmarkError("INVALID_ARGUMENT", `time zone offset "${offset}" must look like +08:00`);
  const out: Record<string, unknown> = {
    type: ev.type,
    eventTime: isoWithOffset(base.time, offset),
    eventTimeZoneOffset: offset,
  };
  for (const [k, v] of Object.entries(ev)) if (v !== undefined && k !== "type") out[k] = v;
  const place = locationUri(base.location);
  out.readPoint = place.name === undefined ? { id: place.id } : { id: place.id, "gi:name": place.name };
  for (const [k, v] of Object.entries(base.extensions ?? {})) out[k] = v;
  return out as EpcisEvent;
}

/** `time` as ISO 8601 with milliseconds in the given offset ("2026-09-01T08:00:00.000+08:00"). */
function isoWithOffset(time: Date | string, offset: string): string {
  const ms = time instanceof Date ? time.getTime() : parseEventTime(time);
  if (!Number.isFinite(ms)) throw new ProofmarkError("INVALID_ARGUMENT", `"${String(time)}" is not a date-time`);
  const sign = offset[0] === "-" ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  const local = new Date(ms + minutes * 60_000).toISOString(); // "…Z" in local wall time
  return local.slice(0, 23) + offset;
}

// ------------------------------------------------------------------------------ event time

const TIME_RE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Milliseconds since the epoch of an ISO 8601 date or date-time. Fractions beyond milliseconds are
 * rounded half up (as the CBV 2.0 hash does); a missing offset means UTC. Throws INVALID_ARGUMENT.
 */
export function parseEventTime(text: string): number {
  const m = TIME_RE.exec(String(text).trim());
  if (!m)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text}" is not an ISO 8601 date-time such as 2026-09-01T08:00:00+08:00`,
      { value: text },
    );
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m;
  const fracMs = frac ? Math.round(Number(`0.${frac}`) * 1000 * 1000) / 1000 : 0;
  let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + Math.round(fracMs);
  if (zone !== "Z") {
    const z = zone.replace(":", "");
    const sign = z[0] === "-" ? -1 : 1;
    ms -= sign * (Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5))) * 60_000;
  }
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (Number.isNaN(ms) || check.getUTCDate() !== Number(d) || Number(mo) > 12) {
    throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is not a valid date`, { value: text });
  }
  return ms;
}

/** Seconds since the epoch of an event's time (what the chain stores as `eventTime`). */
export function eventTimeSeconds(event: Pick<EpcisEvent, "eventTime">): number {
  return Math.floor(parseEventTime(event.eventTime) / 1000);
}

// ------------------------------------------------------------------------------ on-chain commitment

/** Domain tag of event-document commitments: keccak256("proofmark.gi.event.v1"). */
export const EVENT_DOMAIN: Hex = toHex(keccak256Utf8("proofmark.gi.event.v1"));

/**
 * The salted on-chain commitment of an event: keccak256(keccak256(EVENT_DOMAIN ‖ sha256 ‖ salt)),
 * where sha256 is the digest inside the CBV 2.0 event hash ID and salt is 32 random bytes kept
 * with the document. Without the salt, nobody can confirm a guessed event against the chain.
 *
 * @example
 * const salt = randomSalt();
 * const document = eventCommitment(epcisEventHash(ev), salt); // goes on chain
 */
export function eventCommitment(eventHash: string, salt: Hex): Hex {
  if (!isHexOfLength(salt, 32))
    throw new ProofmarkError("INVALID_ARGUMENT", "salt must be 0x followed by 64 lower-case hex digits");
  const pre = new Uint8Array(96);
  pre.set(fromHex(EVENT_DOMAIN), 0);
  pre.set(eventHashDigest(eventHash), 32);
  pre.set(fromHex(salt), 64);
  return toHex(keccak256(keccak256(pre)));
}

/** keccak-256 of a location identifier's UTF-8 bytes (the chain's `location`). */
export function locationDigest(location: string): Hex {
  if (typeof location !== "string" || location.trim() === "")
    throw new ProofmarkError("INVALID_ARGUMENT", "location must be a non-empty identifier");
  return toHex(keccak256Utf8(location.trim()));
}

/** Where an event's location is: its bizLocation, else its readPoint. */
export function eventLocation(event: EpcisEvent): string {
  const id = event.bizLocation?.id ?? event.readPoint?.id;
  if (!id) throw new ProofmarkError("EPCIS_INVALID", "the event has neither a readPoint nor a bizLocation", {});
  return id;
}

/** The fields the chain records for an event document (besides the lot and the actor). */
export interface ChainRecord {
  step: number;
  disposition: number;
  eventTime: number;
  location: Hex;
  document: Hex;
}

/**
 * Everything the chain needs for an event: step and disposition codes, time, location digest and
 * the salted commitment. Throws EPCIS_INVALID if its step or disposition is outside the registry's tables.
 */
export function chainRecord(event: EpcisEvent, salt: Hex): ChainRecord {
  const step = cbvWord("BizStep", event.bizStep ?? "other");
  const disposition = cbvWord("Disp", event.disposition ?? "active");
  const si = (BIZ_STEPS as readonly string[]).indexOf(step);
  const di = (DISPOSITIONS as readonly string[]).indexOf(disposition);
  if (si < 0)
    throw new ProofmarkError("EPCIS_INVALID", `business step "${step}" is not one the registry records`, { step });
  if (di < 0)
    throw new ProofmarkError("EPCIS_INVALID", `disposition "${disposition}" is not one the registry records`, {
      disposition,
    });
  return {
    step: si,
    disposition: di,
    eventTime: eventTimeSeconds(event),
    location: locationDigest(eventLocation(event)),
    document: eventCommitment(epcisEventHash(event), salt),
  };
}
