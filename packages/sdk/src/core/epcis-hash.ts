import { sha256 } from "@noble/hashes/sha2";
import { ProofmarkError } from "./errors";
import { fromHex } from "./hex";
import { epcToDigitalLink } from "./epcis-identifiers";
import { CBV_TERMS, cbvUrnToUri, GS1_VOC_BASE, CBV_BASE, type CbvVocabulary } from "./epcis-vocabulary";
import type { EpcisEvent } from "./epcis-events";

/**
 * The CBV 2.0 event hash ("EPCIS event hash ID", CBV 2.0 §8.9): `ni:///sha-256;<hex>?ver=CBV2.0`
 * over a pre-hash string built from the event's fields in the canonical order, values normalised.
 *
 * It reproduces the reference implementation (RalphTro/epcis-event-hash-generator) on every JSON
 * example it ships (test/vectors/epcis-hash/); where that implementation's README and code
 * disagree, docs/epcis.md says which was followed and why. In short, as the reference computes it:
 * - the event is read as a tree of (name, value, children); list fields become one child per entry
 *   (`epcList` → `epc`, `quantityList` → `quantityElement`, …); names with a namespace prefix of the
 *   document's context are written `{namespace}local`;
 * - `eventType`, then the fields of the canonical order (eventTime, eventTimeZoneOffset,
 *   certificationInfo, parentID, epcList, inputEPCList, childEPCs, the quantity lists, outputEPCList,
 *   action, transformationID, bizStep, disposition, persistentDisposition, readPoint, bizLocation,
 *   sensorElementList), each entry of a list sorted by its string; extensions inside readPoint,
 *   bizLocation and the sensor elements follow their parent's fields;
 * - then everything else — bizTransactionList, sourceList and destinationList (each entry `type`
 *   first), ILMD and event-level extensions — sorted by its string;
 * - values: times in UTC with milliseconds (rounded half up), numbers without trailing zeros,
 *   CBV URNs and bare CBV words as web URIs, EPC URNs and Digital Links as constrained canonical
 *   Digital Links; `eventID`, `recordTime`, `errorDeclaration`, comments and `type` are left out.
 */

/** A node of the event tree: name, text value, children. */
type Node = [name: string, value: string, children: Node[]];
/** A canonical order: names and the order of their children (null: no order inside). */
type Order = [name: string, children: Order | null][];

const QUANTITY: Order = [
  [
    "quantityElement",
    [
      ["epcClass", null],
      ["quantity", null],
      ["uom", null],
    ],
  ],
];
const EPC: Order = [["epc", null]];
const PROP_ORDER: Order = [
  ["eventTime", null],
  ["eventTimeZoneOffset", null],
  ["certificationInfo", null],
  ["parentID", null],
  ["epcList", EPC],
  ["inputEPCList", EPC],
  ["childEPCs", EPC],
  ["quantityList", QUANTITY],
  ["childQuantityList", QUANTITY],
  ["inputQuantityList", QUANTITY],
  ["outputEPCList", EPC],
  ["outputQuantityList", QUANTITY],
  ["action", null],
  ["transformationID", null],
  ["bizStep", null],
  ["disposition", null],
  [
    "persistentDisposition",
    [
      ["set", null],
      ["unset", null],
    ],
  ],
  ["readPoint", [["id", null]]],
  ["bizLocation", [["id", null]]],
  [
    "sensorElementList",
    [
      [
        "sensorElement",
        [
          [
            "sensorMetadata",
            [
              "time",
              "startTime",
              "endTime",
              "deviceID",
              "deviceMetadata",
              "rawData",
              "dataProcessingMethod",
              "bizRules",
            ].map((n) => [n, null]),
          ],
          [
            "sensorReport",
            [
              "type",
              "exception",
              "deviceID",
              "deviceMetadata",
              "rawData",
              "dataProcessingMethod",
              "time",
              "microorganism",
              "chemicalSubstance",
              "value",
              "component",
              "stringValue",
              "booleanValue",
              "hexBinaryValue",
              "uriValue",
              "minValue",
              "maxValue",
              "meanValue",
              "sDev",
              "percRank",
              "percValue",
              "uom",
              "coordinateReferenceSystem",
            ].map((n) => [n, null] as [string, null]),
          ],
        ],
      ],
    ],
  ],
];
/** Fields never hashed. */
const LEFT_OUT = new Set(["recordTime", "eventID", "type", "errorDeclaration"]);
/** Keys dropped while reading (comments). */
const COMMENTS = new Set(["#text", "rdfs:comment", "comment"]);
/** Typed lists whose entries keep `type` with their value. */
const TYPED_LISTS = new Set(["bizTransactionList", "sourceList", "destinationList"]);
const TYPED_ITEMS = new Set(["bizTransaction", "source", "destination"]);
/**
 * Prefixes expanded without being declared: CBV 2.0 §8.9's gs1, cbv and epcis, and Proofmark's own
 * `gi` (GI_NAMESPACE, which every document Proofmark writes declares). A document's own context wins.
 */
const STANDARD_PREFIXES: Record<string, string> = {
  gs1: GS1_VOC_BASE,
  cbv: CBV_BASE,
  epcis: "https://ref.gs1.org/epcis/",
  gi: "https://ns.proofmark.dev/gi#",
};

/** Options of the event hash. */
export interface EventHashOptions {
  /**
   * Namespace prefixes → URIs, as in the JSON-LD context of the event's document
   * (e.g. `{ ex: "https://ns.example.com/epcis/" }`). Extension names are expanded with them.
   */
  prefixes?: Record<string, string>;
  /** Top-level fields to leave out of the hash (compact names as written, e.g. "ex:captureID"). Off by default. */
  ignoreFields?: readonly string[];
}

/** Compare strings by Unicode code point (UTF-16 order differs only between surrogates and U+E000–U+FFFF). */
function byCodePoint(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      x += x < 0xe000 ? 0x2000 : -0x800;
      y += y < 0xe000 ? 0x2000 : -0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

function compareNodes(a: Node, b: Node): number {
  const n = byCodePoint(a[0], b[0]);
  if (n !== 0) return n;
  const v = byCodePoint(a[1], b[1]);
  if (v !== 0) return v;
  for (let i = 0; i < Math.min(a[2].length, b[2].length); i++) {
    const c = compareNodes(a[2][i], b[2][i]);
    if (c !== 0) return c;
  }
  return a[2].length - b[2].length;
}

// ------------------------------------------------------------------------------ reading JSON

/** Which vocabulary a field's bare words come from, by the field's path. */
function vocabularyOf(path: readonly string[]): CbvVocabulary | undefined {
  const key = path[path.length - 1];
  const parent = path[path.length - 2];
  if (path.length === 1 && key === "bizStep") return "BizStep";
  if (path.length === 1 && key === "disposition") return "Disp";
  if (parent === "persistentDisposition" && (key === "set" || key === "unset")) return "Disp";
  if (key === "type" && parent === "bizTransactionList") return "BTT";
  if (key === "type" && (parent === "sourceList" || parent === "destinationList")) return "SDT";
  if (parent === "sensorReport" && key === "type") return "MeasurementType";
  if (parent === "sensorReport" && key === "exception") return "SensorException";
  if (parent === "sensorReport" && key === "component") return "Comp";
  if (parent === "errorDeclaration" && key === "reason") return "ER";
  return undefined;
}

class Reader {
  constructor(private readonly prefixes: Record<string, string>) {}

  name(key: string): string {
    const i = key.indexOf(":");
    if (i > 0 && this.prefixes[key.slice(0, i)] !== undefined)
      return `{${this.prefixes[key.slice(0, i)]}}${key.slice(i + 1)}`;
    return key;
  }

  text(value: string, path: readonly string[]): string {
    const vocabulary = vocabularyOf(path);
    if (vocabulary && CBV_TERMS[vocabulary].terms.includes(value)) return CBV_TERMS[vocabulary].prefix + value;
    const i = value.indexOf(":");
    if (i > 0 && this.prefixes[value.slice(0, i)] !== undefined)
      return this.prefixes[value.slice(0, i)] + value.slice(i + 1);
    return value;
  }

  /** A JSON value as a node named "" (the caller names it). `path` is the list of keys leading to it. */
  node(json: unknown, path: readonly string[], ignore: ReadonlySet<string> = COMMENTS): Node {
    if (Array.isArray(json)) {
      const children = json.map((item) => this.node(item, path));
      if (!json.some((item) => typeof item === "string" && TYPED_ITEMS.has(item))) children.sort(compareNodes);
      return ["", "", children];
    }
    if (json !== null && typeof json === "object") {
      const obj = json as Record<string, unknown>;
      const children: Node[] = [];
      for (const [key, value] of Object.entries(obj)) {
        if (ignore.has(key) || key.startsWith("@")) continue;
        const child = this.node(value, [...path, key]);
        const name = this.name(key);
        if (Array.isArray(value)) for (const item of child[2]) children.push([name, item[1], item[2]]);
        else children.push([name, child[1], child[2]]);
      }
      if (!Object.keys(obj).some((k) => TYPED_ITEMS.has(k))) children.sort(compareNodes);
      else typeFirst(children);
      return ["", typeof obj["#text"] === "string" ? obj["#text"] : "", children];
    }
    if (json === null || json === undefined) return ["", "None", []];
    if (typeof json === "boolean") return ["", json ? "True" : "False", []];
    if (typeof json === "number") return ["", pyNumber(json), []];
    return ["", this.text(String(json), path), []];
  }
}

/** In a bizTransaction / source / destination entry, `type` comes first (CBV 2.0 §8.9). */
function typeFirst(children: Node[]): void {
  const i = children.findIndex((c) => c[0] === "type");
  if (i > 0) children.unshift(...children.splice(i, 1));
}

/** JSON lists (`…List`) as a parent with one child per entry; `childEPCs` likewise; renames per EPCIS XML. */
function restructure(node: Node): Node {
  const children = [...node[2]];
  const lists = new Map<string, Node[]>();
  for (const c of node[2]) {
    if (c[0].endsWith("List")) {
      if (!lists.has(c[0])) lists.set(c[0], []);
      lists.get(c[0])!.push([c[0].slice(0, -4), c[1], c[2]]);
      children.splice(children.indexOf(c), 1);
    }
  }
  for (const [name, entries] of lists) {
    if (TYPED_LISTS.has(name)) children.push([name, "", entries.map((e) => ["", "", e[2].slice(0, 2)] as Node)]);
    else children.push([name, "", entries]);
  }
  const epcs = children.filter((c) => c[0] === "childEPCs");
  if (epcs.length) {
    for (const c of epcs) children.splice(children.indexOf(c), 1);
    children.push(["childEPCs", "", epcs.map((c) => ["epc", c[1], []] as Node)]);
  }
  const out = children.map((c) => (TYPED_LISTS.has(c[0]) ? c : restructure(c)));
  let name = node[0];
  if (name === "inputEPC" || name === "outputEPC") name = "epc";
  if (
    name === "inputQuantity" ||
    name === "outputQuantity" ||
    name === "childQuantity" ||
    (name === "quantity" && out.length > 0)
  )
    name = "quantityElement";
  return [name, node[1], out];
}

// ------------------------------------------------------------------------------ values

/** A number as Python's `str(float)` after dropping ".0": what the reference writes. */
function pyNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return BigInt(n).toString();
  const [mantissa, exp] = n.toExponential().split("e");
  const e = Number(exp);
  if (e >= -5 && e < 16) {
    const digits = mantissa.replace("-", "").replace(".", "");
    const sign = n < 0 ? "-" : "";
    if (e < 0) return `${sign}0.${"0".repeat(-e - 1)}${digits}`;
    const intPart = digits.slice(0, e + 1).padEnd(e + 1, "0");
    const frac = digits.slice(e + 1);
    return `${sign}${intPart}${frac ? "." + frac : ".0"}`;
  }
  return `${mantissa.includes(".") ? mantissa : mantissa + ".0"}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
}

const NUMERIC_RE = /^[+-]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?$/;

/** Numbers without a leading "+", leading or trailing zeros (as a double, like the reference). */
function canonicalNumber(text: string): string {
  const t = text.trim();
  if (!NUMERIC_RE.test(t)) return text;
  const n = Number(t.replaceAll("_", ""));
  if (!Number.isFinite(n)) return text;
  return pyNumber(n);
}

function canonicalValue(text: string): string {
  return epcToDigitalLink(canonicalNumber(cbvUrnToUri(text)));
}

const TIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;

/** An xsd:dateTimeStamp in UTC with milliseconds ("…T02:33:31.116Z"), the 4th decimal rounding half up; other text unchanged. */
export function canonicalTime(text: string): string {
  const m = TIME_RE.exec(text.trim());
  if (!m) return text;
  const [, y, mo, d, h, mi, s = "0", frac = "", zone = "Z"] = m;
  const micros = Number((frac + "000000").slice(0, 6));
  const ms = Math.floor(micros / 1000) + (micros % 1000 >= 500 ? 1 : 0);
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + ms;
  if (Number.isNaN(t)) return text;
  if (zone.toUpperCase() !== "Z") {
    const z = zone.replace(":", "");
    const minutes = Number(z.slice(1, 3)) * 60 + Number(z.slice(3, 5) || "0");
    t -= (z[0] === "-" ? -1 : 1) * minutes * 60_000;
  }
  return new Date(t).toISOString();
}

// ------------------------------------------------------------------------------ pre-hash string

function childText(child: Node, order: Order | null): string {
  const grandChildren = order ? inOrder(child[2], order) : "";
  let text = "";
  if (child[1]) {
    const v = child[1].trim();
    const lower = child[0].toLowerCase();
    text = lower.includes("time") && !lower.includes("offset") ? canonicalTime(v) : canonicalValue(v);
    if (text) text = "=" + text;
  }
  return text || grandChildren ? child[0] + text + grandChildren : "";
}

/** Extensions (`{namespace/}name`) inside a standard field with an extension point, rendered after its fields. */
function takeExtensions(children: Node[]): Node[] {
  if (children.length <= 1) return [];
  if (children.some((c) => c[0].includes("eventTime") || c[0].includes("action"))) return [];
  const ext = children.filter((c) => c[0].includes("{") && c[0].includes("/}"));
  for (const e of ext) children.splice(children.indexOf(e), 1);
  return ext;
}

/** Renders `children` in `order`, removing what it rendered; what is left is rendered later as extensions. */
function inOrder(children: Node[], order: Order): string {
  let out = "";
  const extensions = takeExtensions(children);
  for (const [name, sub] of order) {
    const values: string[] = [];
    for (const child of children.filter((c) => c[0] === name)) {
      const s = childText(child, sub);
      if (s) values.push(s);
      if (child[2].length === 0) children.splice(children.indexOf(child), 1);
    }
    out += values.sort(byCodePoint).join("");
  }
  if (extensions.length) out += generic(extensions);
  return out;
}

/** Renders nodes with no canonical order: name[=value] + children, siblings sorted (typed-list entries keep `type` first). */
function generic(children: Node[]): string {
  const values = children.map((c) => {
    const v = c[1].trim();
    return c[0] + (v ? "=" + canonicalValue(v) : "") + generic(c[2]);
  });
  if (children.length > 1 && !children.some((c) => TYPED_ITEMS.has(c[0]))) values.sort(byCodePoint);
  return values.join("");
}

function eventTree(event: EpcisEvent, options: EventHashOptions): Node {
  if (!event || typeof event !== "object" || typeof event.type !== "string" || typeof event.eventTime !== "string") {
    throw new ProofmarkError("EPCIS_INVALID", "an EPCIS event needs a type and an eventTime", {});
  }
  // An event may carry its document's @context (JSON-LD allows it on any node): its prefixes count too.
  const reader = new Reader({
    ...STANDARD_PREFIXES,
    ...contextPrefixes((event as { "@context"?: unknown })["@context"]),
    ...(options.prefixes ?? {}),
  });
  const ignore = new Set([...COMMENTS, ...(options.ignoreFields ?? [])]);
  const root = reader.node(event, [], ignore);
  return restructure([event.type, "", root[2]]);
}

/**
 * The CBV 2.0 pre-hash string of an event (see the module comment).
 *
 * @example
 * eventPreHash({ type: "ObjectEvent", eventTime: "2026-09-01T08:00:00+08:00", eventTimeZoneOffset: "+08:00", action: "OBSERVE" })
 * // "eventType=ObjectEventeventTime=2026-09-01T00:00:00.000ZeventTimeZoneOffset=+08:00action=OBSERVE"
 */
export function eventPreHash(event: EpcisEvent, options: EventHashOptions = {}): string {
  const tree = eventTree(event, options);
  const ordered = inOrder(tree[2], PROP_ORDER);
  const rest = generic(tree[2].filter((c) => !LEFT_OUT.has(c[0])));
  return `eventType=${tree[0]}${ordered}${rest}`;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/**
 * The CBV 2.0 event hash ID of an event: `ni:///sha-256;<hex>?ver=CBV2.0`.
 *
 * @example
 * epcisEventHash(harvestEvent({...})) // "ni:///sha-256;3e0f…0182?ver=CBV2.0"
 */
export function epcisEventHash(event: EpcisEvent, options: EventHashOptions = {}): string {
  const digest = sha256(new TextEncoder().encode(eventPreHash(event, options)));
  let hex = "";
  for (const b of digest) hex += HEX[b];
  return `ni:///sha-256;${hex}?ver=CBV2.0`;
}

/** The 32-byte SHA-256 inside an event hash ID. Throws EPCIS_INVALID for anything else. */
export function eventHashDigest(hashId: string): Uint8Array {
  const m = /^ni:\/\/\/sha-256;([0-9a-f]{64})\?ver=CBV2\.0$/.exec(hashId);
  if (!m)
    throw new ProofmarkError("EPCIS_INVALID", `"${hashId}" is not a CBV 2.0 SHA-256 event hash ID`, { hash: hashId });
  return fromHex(`0x${m[1]}`);
}

/** Namespace prefixes declared in a JSON-LD `@context` (objects in it; string entries are context URLs). */
export function contextPrefixes(context: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of Array.isArray(context) ? context : [context]) {
    if (entry && typeof entry === "object" && !Array.isArray(entry)) {
      for (const [k, v] of Object.entries(entry as Record<string, unknown>))
        if (typeof v === "string" && !k.startsWith("@")) out[k] = v;
    }
  }
  return out;
}

/** The events of an EPCIS 2.0 JSON(-LD) document or query document, in document order. Throws EPCIS_INVALID. */
export function documentEvents(document: unknown): EpcisEvent[] {
  const body = (document as { epcisBody?: Record<string, unknown> } | null)?.epcisBody;
  if (!body || typeof body !== "object") throw new ProofmarkError("EPCIS_INVALID", "the document has no epcisBody", {});
  const list =
    (body.eventList as unknown[] | undefined) ??
    (body.queryResults as { resultsBody?: { eventList?: unknown[] } } | undefined)?.resultsBody?.eventList ??
    (body.event ? [body.event] : undefined);
  if (!Array.isArray(list))
    throw new ProofmarkError("EPCIS_INVALID", "the document's epcisBody holds no eventList", {});
  return list as EpcisEvent[];
}

/**
 * The CBV 2.0 event hash of every event of an EPCIS document, with the prefixes of its `@context`.
 *
 * @example
 * documentEventHashes(JSON.parse(text)) // ["ni:///sha-256;…?ver=CBV2.0", …]
 */
export function documentEventHashes(document: unknown, options: Omit<EventHashOptions, "prefixes"> = {}): string[] {
  const prefixes = contextPrefixes((document as { "@context"?: unknown })["@context"]);
  return documentEvents(document).map((e) => epcisEventHash(e, { ...options, prefixes }));
}
