import { createHash } from "node:crypto";
import { ProofmarkError } from "./errors";
import { fromHex, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";
import { uomOf } from "./quantity";

/**
 * Supply-chain events of GI lots as GS1 EPCIS 2.0 documents with the CBV 2.0 vocabulary, the
 * CBV 2.0 event hash ("EPCIS event hash ID", `ni:///sha-256;…?ver=CBV2.0`), and the salted
 * commitment of that hash that goes on chain.
 *
 * The on-chain codes of business steps and dispositions are the indices into {@link BIZ_STEPS}
 * and {@link DISPOSITIONS}; `contracts/ProvenanceRegistry.sol` uses the same tables.
 */

// ------------------------------------------------------------------------------ vocabulary

/** CBV 2.0 business steps the registry knows, in on-chain code order (index = code). */
export const BIZ_STEPS = [
  "commissioning", "inspecting", "sampling", "packing", "unpacking", "repackaging", "creating_class_instance",
  "storing", "holding", "shipping", "departing", "arriving", "receiving", "loading", "unloading", "transporting",
  "retail_selling", "destroying", "other",
] as const;
export type BizStep = (typeof BIZ_STEPS)[number];

/** CBV 2.0 dispositions the registry knows, in on-chain code order (index = code). */
export const DISPOSITIONS = [
  "active", "conformant", "non_conformant", "in_progress", "in_transit", "container_closed", "sellable_accessible",
  "sellable_not_accessible", "retail_sold", "recalled", "destroyed", "damaged", "expired",
] as const;
export type Disposition = (typeof DISPOSITIONS)[number];

/** Product roles, in on-chain code order. */
export const PRODUCT_ROLES = ["admin", "producer", "inspector", "processor", "logistics", "retailer"] as const;
export type ProductRole = (typeof PRODUCT_ROLES)[number];

/** Which roles (besides a product admin, who may record anything) may record each step. Mirrors the contract's `stepRoles`. */
export const STEP_ROLES: Readonly<Record<BizStep, readonly ProductRole[]>> = Object.freeze({
  commissioning: ["producer"],
  inspecting: ["inspector"],
  sampling: ["inspector"],
  packing: ["processor"],
  unpacking: ["processor", "retailer"],
  repackaging: ["producer", "processor"],
  creating_class_instance: ["processor"],
  storing: ["processor", "logistics", "retailer"],
  holding: ["inspector", "processor", "logistics", "retailer"],
  shipping: ["producer", "processor", "logistics"],
  departing: ["logistics"],
  arriving: ["logistics"],
  receiving: ["processor", "logistics", "retailer"],
  loading: ["logistics"],
  unloading: ["logistics"],
  transporting: ["logistics"],
  retail_selling: ["retailer"],
  destroying: ["inspector", "processor", "retailer"],
  other: ["producer", "inspector", "processor", "logistics", "retailer"],
});

/** The usual disposition after each step, used when none is given. */
export const DEFAULT_DISPOSITION: Readonly<Record<BizStep, Disposition>> = Object.freeze({
  commissioning: "active", inspecting: "conformant", sampling: "in_progress", packing: "container_closed",
  unpacking: "in_progress", repackaging: "active", creating_class_instance: "active", storing: "sellable_not_accessible",
  holding: "sellable_not_accessible", shipping: "in_transit", departing: "in_transit", arriving: "in_transit",
  receiving: "sellable_not_accessible", loading: "in_transit", unloading: "in_progress", transporting: "in_transit",
  retail_selling: "retail_sold", destroying: "destroyed", other: "active",
});

/** The on-chain code of a business step ("inspecting" → 1). Throws INVALID_ARGUMENT for other words. */
export function stepCode(step: string): number {
  const i = (BIZ_STEPS as readonly string[]).indexOf(step);
  if (i < 0) throw new ProofmarkError("INVALID_ARGUMENT", `unknown business step "${step}"; use one of ${BIZ_STEPS.join(", ")}`, { step });
  return i;
}

/** The on-chain code of a disposition ("conformant" → 1). Throws INVALID_ARGUMENT for other words. */
export function dispositionCode(disposition: string): number {
  const i = (DISPOSITIONS as readonly string[]).indexOf(disposition);
  if (i < 0) {
    throw new ProofmarkError("INVALID_ARGUMENT", `unknown disposition "${disposition}"; use one of ${DISPOSITIONS.join(", ")}`, { disposition });
  }
  return i;
}

/** The role code ("inspector" → 2). Throws INVALID_ARGUMENT for other words. */
export function roleCode(role: string): number {
  const i = (PRODUCT_ROLES as readonly string[]).indexOf(role);
  if (i < 0) throw new ProofmarkError("INVALID_ARGUMENT", `unknown role "${role}"; use one of ${PRODUCT_ROLES.join(", ")}`, { role });
  return i;
}

// ------------------------------------------------------------------------------ event model

/** Namespace of Proofmark's GI lot master data (ILMD) and extension fields. */
export const GI_NAMESPACE = "https://ns.proofmark.dev/gi#";
/** JSON-LD context of Proofmark's EPCIS documents. */
export const EPCIS_CONTEXT = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", { gi: GI_NAMESPACE }] as const;
/** Prefixes expanded by the event hash (besides those in a document's own context). */
const KNOWN_PREFIXES: Record<string, string> = { gi: GI_NAMESPACE, cbvmda: "urn:epcglobal:cbv:mda#", gs1: "https://gs1.org/voc/" };

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
  readPoint?: { id: string };
  bizLocation?: { id: string };
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
  if (!/^[\x21-\x7e]{1,20}$/.test(input.lot) || /[/?#%]/.test(input.lot)) {
    throw new ProofmarkError("INVALID_ARGUMENT", `lot code "${input.lot}" must be 1–20 printable ASCII characters without / ? # %`, { lot: input.lot });
  }
  if (input.gtin !== undefined) {
    if (!/^[0-9]{14}$/.test(input.gtin)) throw new ProofmarkError("INVALID_ARGUMENT", "gtin must be 14 digits", { gtin: input.gtin });
    return `https://id.gs1.org/01/${input.gtin}/10/${encodeURIComponent(input.lot)}`;
  }
  return `urn:proofmark:gi:${encodeURIComponent(input.giNumber)}:lot:${encodeURIComponent(input.lot)}`;
}

/** Common arguments of the event builders. */
export interface EventBase {
  /** When it happened: a Date or an ISO 8601 date-time with offset. */
  time: Date | string;
  /** Time zone offset of the place, "+08:00" by default (China). */
  timeZoneOffset?: string;
  /** Identifier of the place (an SGLN / GLN Digital Link URI, a plot id, a geo URI …). */
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
export function harvestEvent(input: EventBase & { lot: string; quantity: bigint; unit: string; ilmd: Record<string, string | number> }): EpcisEvent {
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
export function observationEvent(input: EventBase & { lot: string; step: BizStep; disposition?: Disposition; quantity?: bigint; unit?: string }): EpcisEvent {
  const ev: Partial<EpcisEvent> = {
    type: "ObjectEvent",
    action: "OBSERVE",
    quantityList: [input.quantity !== undefined && input.unit ? quantityElement(input.lot, input.quantity, input.unit) : { epcClass: input.lot }],
    bizStep: input.step,
    disposition: input.disposition ?? DEFAULT_DISPOSITION[input.step],
  };
  return withBase(input, ev);
}

/**
 * Packing N packages of size S from a lot: an AggregationEvent ADD / `packing` / `container_closed`
 * whose parent is the packed lot and whose child quantity is what was taken from the source lot.
 */
export function packEvent(input: EventBase & { lot: string; packedLot: string; packages: number; size: bigint; unit: string }): EpcisEvent {
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
export function transformationEvent(input: EventBase & {
  step?: "repackaging" | "creating_class_instance";
  inputs: { lot: string; quantity: bigint }[];
  outputs: { lot: string; quantity: bigint }[];
  unit: string;
}): EpcisEvent {
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
  return withBase({ ...input, extensions: { ...input.extensions, "gi:reason": input.reason } }, {
    type: "ObjectEvent", action: "OBSERVE", quantityList: [{ epcClass: input.lot }], bizStep: "holding", disposition: "recalled",
  });
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
  return { epcClass, quantity: Number(quantity) <= Number.MAX_SAFE_INTEGER ? Number(quantity) : quantity.toString(), uom: uomOf(unit) };
}

function withBase(base: EventBase, ev: Partial<EpcisEvent>): EpcisEvent {
  const offset = base.timeZoneOffset ?? "+08:00";
  if (!/^[+-](0\d|1[0-4]):[0-5]\d$/.test(offset)) throw new ProofmarkError("INVALID_ARGUMENT", `time zone offset "${offset}" must look like +08:00`);
  const out: Record<string, unknown> = {
    type: ev.type,
    eventTime: isoWithOffset(base.time, offset),
    eventTimeZoneOffset: offset,
  };
  for (const [k, v] of Object.entries(ev)) if (v !== undefined && k !== "type") out[k] = v;
  out.readPoint = { id: base.location };
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
  if (!m) throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is not an ISO 8601 date-time such as 2026-09-01T08:00:00+08:00`, { value: text });
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

// ------------------------------------------------------------------------------ CBV 2.0 event hash

type Node = [name: string, value: string, children: Node[]];
type Order = [name: string, children: Order | null][];

const QTY: Order = [["quantityElement", [["epcClass", null], ["quantity", null], ["uom", null]]]];
const PROP_ORDER: Order = [
  ["eventTime", null],
  ["eventTimeZoneOffset", null],
  ["epcList", [["epc", null]]],
  ["parentID", null],
  ["inputEPCList", [["epc", null]]],
  ["childEPCs", [["epc", null]]],
  ["quantityList", QTY],
  ["childQuantityList", QTY],
  ["inputQuantityList", QTY],
  ["outputEPCList", [["epc", null]]],
  ["outputQuantityList", QTY],
  ["action", null],
  ["transformationID", null],
  ["bizStep", null],
  ["disposition", null],
  ["persistentDisposition", [["set", null], ["unset", null]]],
  ["readPoint", [["id", null]]],
  ["bizLocation", [["id", null]]],
  ["bizTransactionList", [["bizTransaction", null]]],
  ["sourceList", [["source", null]]],
  ["destinationList", [["destination", null]]],
];
const IGNORED = new Set(["type", "eventID", "recordTime", "errorDeclaration", "@context", "certificationInfo"]);
const LIST_ITEM: Record<string, string> = {
  epcList: "epc", inputEPCList: "epc", outputEPCList: "epc", childEPCs: "epc",
  quantityList: "quantityElement", childQuantityList: "quantityElement", inputQuantityList: "quantityElement", outputQuantityList: "quantityElement",
};
const TYPED_LIST: Record<string, [item: string, vocab: string]> = {
  bizTransactionList: ["bizTransaction", "BTT"], sourceList: ["source", "SDT"], destinationList: ["destination", "SDT"],
};

/** Compare strings by Unicode code point (the order of the reference implementation). */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function expandName(name: string, prefixes: Record<string, string>): string {
  const m = /^([A-Za-z][\w.-]*):([^/].*)$/.exec(name);
  if (m && prefixes[m[1]] !== undefined) return `{${prefixes[m[1]]}}${m[2]}`;
  return name;
}

/** Converts an event's JSON into the generic tree (name, text, children) the algorithm walks. */
function toTree(event: EpcisEvent, prefixes: Record<string, string>): Node[] {
  const nodes: Node[] = [];
  for (const [key, value] of Object.entries(event)) {
    if (IGNORED.has(key) || value === undefined || value === null) continue;
    if (LIST_ITEM[key]) {
      const items = value as unknown[];
      nodes.push([key, "", items.map((it) => (typeof it === "string" ? [LIST_ITEM[key], it, []] : [LIST_ITEM[key], "", objectChildren(it as Record<string, unknown>, prefixes)]) as Node)]);
    } else if (TYPED_LIST[key]) {
      const [item, vocab] = TYPED_LIST[key];
      nodes.push([key, "", (value as Record<string, string>[]).map((it) => {
        const children: Node[] = [[item, String(it[item]), []]];
        if (it.type) children.push(["type", cbvUri(vocab, it.type), []]);
        return ["", "", children] as Node;
      })]);
    } else if (key === "readPoint" || key === "bizLocation") {
      nodes.push([key, "", [["id", String((value as { id: string }).id), []]]]);
    } else if (key === "bizStep") nodes.push([key, cbvUri("BizStep", String(value)), []]);
    else if (key === "disposition") nodes.push([key, cbvUri("Disp", String(value)), []]);
    else if (typeof value === "object") nodes.push([expandName(key, prefixes), "", objectChildren(value as Record<string, unknown>, prefixes)]);
    else nodes.push([expandName(key, prefixes), String(value), []]);
  }
  return nodes;
}

function objectChildren(obj: Record<string, unknown>, prefixes: Record<string, string>): Node[] {
  const out: Node[] = [];
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined || v === null || k.startsWith("@")) continue;
    const name = expandName(k, prefixes);
    if (Array.isArray(v)) for (const item of v) out.push(typeof item === "object" ? [name, "", objectChildren(item as Record<string, unknown>, prefixes)] : [name, String(item), []]);
    else if (typeof v === "object") out.push([name, "", objectChildren(v as Record<string, unknown>, prefixes)]);
    else out.push([name, String(v), []]);
  }
  return out;
}

/** A CBV vocabulary value as its GS1 Web URI: "shipping" / "urn:epcglobal:cbv:bizstep:shipping" → "https://ref.gs1.org/cbv/BizStep-shipping". */
function cbvUri(vocab: string, value: string): string {
  const v = value.trim();
  const urn = /^urn:epcglobal:cbv:(bizstep|disp|btt|sdt|er):(.+)$/.exec(v);
  if (urn) return `https://ref.gs1.org/cbv/${vocab}-${urn[2]}`;
  if (/^[a-z_]+$/.test(v)) return `https://ref.gs1.org/cbv/${vocab}-${v}`;
  return v;
}

function canonicalValue(name: string, text: string): string {
  const t = text.trim();
  if (/time/i.test(name) && !/offset/i.test(name)) {
    try {
      return new Date(parseEventTime(t)).toISOString();
    } catch {
      return t;
    }
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(t)) {
    const n = Number(t);
    if (Number.isFinite(n) && Math.abs(n) < 1e16) return String(n);
  }
  return epcToDigitalLink(t);
}

function renderNode(node: Node, order: Order | null): string {
  const [name, value] = node;
  const childText = order ? renderInOrder(node[2], order) : renderGeneric(node[2]);
  const text = value ? "=" + canonicalValue(name, value) : "";
  return text || childText ? name + text + childText : "";
}

function renderInOrder(children: Node[], order: Order): string {
  let out = "";
  for (const [name, sub] of order) {
    const values = children.filter((c) => c[0] === name).map((c) => renderNode(c, sub)).filter((s) => s !== "");
    out += values.sort(byCodePoint).join("");
  }
  return out;
}

function renderGeneric(children: Node[]): string {
  return children.map((c) => renderNode(c, null)).sort(byCodePoint).join("");
}

/**
 * The CBV 2.0 pre-hash string of an event: its fields in the canonical order, values normalised
 * (times in UTC with milliseconds, EPC URNs as GS1 Digital Link URIs, CBV values as Web URIs,
 * numbers without trailing zeros), list entries sorted, then ILMD and extensions sorted, with
 * `eventID`, `recordTime` and `errorDeclaration` left out.
 */
export function eventPreHash(event: EpcisEvent, prefixes: Record<string, string> = {}): string {
  if (!event || typeof event.type !== "string" || typeof event.eventTime !== "string") {
    throw new ProofmarkError("EPCIS_INVALID", "an EPCIS event needs a type and an eventTime", {});
  }
  const tree = toTree(event, { ...KNOWN_PREFIXES, ...prefixes });
  const ordered = new Set(PROP_ORDER.map(([n]) => n));
  const listOrder: Order = [["", [["bizTransaction", null], ["source", null], ["destination", null], ["type", null]]]];
  let out = `eventType=${event.type}`;
  for (const [name, sub] of PROP_ORDER) {
    const nodes = tree.filter((n) => n[0] === name);
    for (const n of nodes) {
      if (TYPED_LIST[name]) {
        const items = n[2].map((it) => renderInOrder(it[2], listOrder[0][1]!)).filter((s) => s).sort(byCodePoint);
        if (items.length) out += name + items.join("");
      } else out += renderNode(n, sub);
    }
  }
  out += renderGeneric(tree.filter((n) => !ordered.has(n[0])));
  return out;
}

/**
 * The CBV 2.0 event hash ID of an event: `ni:///sha-256;<hex>?ver=CBV2.0`.
 *
 * @example
 * epcisEventHash(harvestEvent({...})) // "ni:///sha-256;3e0f…0182?ver=CBV2.0"
 */
export function epcisEventHash(event: EpcisEvent, prefixes: Record<string, string> = {}): string {
  const pre = eventPreHash(event, prefixes);
  return `ni:///sha-256;${createHash("sha256").update(pre, "utf8").digest("hex")}?ver=CBV2.0`;
}

/** The 32-byte SHA-256 inside an event hash ID. Throws EPCIS_INVALID for anything else. */
export function eventHashDigest(hashId: string): Uint8Array {
  const m = /^ni:\/\/\/sha-256;([0-9a-f]{64})\?ver=CBV2\.0$/.exec(hashId);
  if (!m) throw new ProofmarkError("EPCIS_INVALID", `"${hashId}" is not a CBV 2.0 SHA-256 event hash ID`, { hash: hashId });
  return fromHex(`0x${m[1]}`);
}

// ------------------------------------------------------------------------------ EPC URN → Digital Link

function gs1CheckDigit(digits: string): string {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) sum += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return String((10 - (sum % 10)) % 10);
}

/** Converts EPC URNs (sgtin, lgtin, sscc, sgln, pgln) to canonical GS1 Digital Link URIs; other values are returned unchanged. */
export function epcToDigitalLink(value: string): string {
  let m = /^urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)$/.exec(value);
  if (m && m[1].length + m[2].length === 13) return `https://id.gs1.org/01/${gtin(m[1], m[2])}/21/${m[3]}`;
  m = /^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$/.exec(value);
  if (m && m[1].length + m[2].length === 13) return `https://id.gs1.org/01/${gtin(m[1], m[2])}/10/${m[3]}`;
  m = /^urn:epc:id:sscc:(\d+)\.(\d+)$/.exec(value);
  if (m && m[1].length + m[2].length === 17) {
    const body = m[2][0] + m[1] + m[2].slice(1);
    return `https://id.gs1.org/00/${body}${gs1CheckDigit(body)}`;
  }
  m = /^urn:epc:id:(sgln|pgln):(\d+)\.(\d*)(?:\.(.+))?$/.exec(value);
  if (m && m[2].length + m[3].length === 12) {
    const gln = m[2] + m[3];
    const ai = m[1] === "sgln" ? "414" : "417";
    return `https://id.gs1.org/${ai}/${gln}${gs1CheckDigit(gln)}${m[4] && m[4] !== "0" ? `/254/${m[4]}` : ""}`;
  }
  return value;
}

function gtin(company: string, item: string): string {
  const body = item[0] + company + item.slice(1);
  return body + gs1CheckDigit(body);
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
  if (!isHexOfLength(salt, 32)) throw new ProofmarkError("INVALID_ARGUMENT", "salt must be 0x followed by 64 lower-case hex digits");
  const pre = new Uint8Array(96);
  pre.set(fromHex(EVENT_DOMAIN), 0);
  pre.set(eventHashDigest(eventHash), 32);
  pre.set(fromHex(salt), 64);
  return toHex(keccak256(keccak256(pre)));
}

/** keccak-256 of a location identifier's UTF-8 bytes (the chain's `location`). */
export function locationDigest(location: string): Hex {
  if (typeof location !== "string" || location.trim() === "") throw new ProofmarkError("INVALID_ARGUMENT", "location must be a non-empty identifier");
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
  const step = stripCbv(event.bizStep ?? "other", "BizStep");
  const disposition = stripCbv(event.disposition ?? "active", "Disp");
  const si = (BIZ_STEPS as readonly string[]).indexOf(step);
  const di = (DISPOSITIONS as readonly string[]).indexOf(disposition);
  if (si < 0) throw new ProofmarkError("EPCIS_INVALID", `business step "${step}" is not one the registry records`, { step });
  if (di < 0) throw new ProofmarkError("EPCIS_INVALID", `disposition "${disposition}" is not one the registry records`, { disposition });
  return {
    step: si,
    disposition: di,
    eventTime: eventTimeSeconds(event),
    location: locationDigest(eventLocation(event)),
    document: eventCommitment(epcisEventHash(event), salt),
  };
}

function stripCbv(value: string, vocab: string): string {
  const uri = cbvUri(vocab, value);
  const prefix = `https://ref.gs1.org/cbv/${vocab}-`;
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : value;
}
