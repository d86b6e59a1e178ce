import { getAddress, type EventFragment, type ParamType } from "ethers";
import { fromHex } from "../core/hex";

/**
 * Event logs read straight from their words when they are in the canonical ABI layout (what
 * Solidity's `abi.encode` emits: every integer, address and fixed-bytes word zero-padded, every
 * dynamic part at the offset an encoder puts it, nothing after the last one). ethers' ABI decoder
 * builds its coders and recomputes the event's topic hash (a JavaScript keccak) for every log: about
 * 0.1 ms a log warm and a few ms cold, where these reads take microseconds. Anything else — another
 * layout, a type not listed here — is left to the ABI decoder: the values are always the ones it
 * gives, with its types (bigint for every integer, checksummed addresses, lower-case hex bytes).
 */

const HEX_DATA = /^0x(?:[0-9a-fA-F]{64})*$/;
const checksummed = new Map<string, string>();
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** An address word (its first 24 hex digits zero) at digit `at` of `hex`, checksummed (cached: accounts repeat); undefined otherwise. */
export function wordAddress(hex: string, at: number): string | undefined {
  if (!isZero(hex, at, 24)) return undefined;
  const key = hex.slice(at + 24, at + 64).toLowerCase();
  let a = checksummed.get(key);
  if (a === undefined) {
    a = getAddress(`0x${key}`);
    if (checksummed.size > 10_000) checksummed.clear();
    checksummed.set(key, a);
  }
  return a;
}

function isZero(hex: string, at: number, digits: number): boolean {
  for (let i = at; i < at + digits; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}

/** The unsigned integer of the word at digit `at` when its value fits `bits` (canonical), else undefined. */
function wordUint(hex: string, at: number, bits: number): bigint | undefined {
  const digits = bits / 4;
  if (!isZero(hex, at, 64 - digits)) return undefined;
  return BigInt(`0x${hex.slice(at + 64 - digits, at + 64)}`);
}

/** A word holding a small offset or length (below 2^32), or -1. */
function wordIndex(hex: string, at: number): number {
  if (!isZero(hex, at, 56)) return -1;
  return parseInt(hex.slice(at + 56, at + 64), 16);
}

/** A static value type read from the word at digit `at`; undefined when not canonical or not supported. */
function wordValue(t: ParamType, hex: string, at: number): unknown {
  const type = t.type;
  if (type === "address") return wordAddress(hex, at);
  if (type === "bool") {
    const v = wordUint(hex, at, 8);
    return v === 0n ? false : v === 1n ? true : undefined;
  }
  let m = /^uint(\d+)$/.exec(type);
  if (m) return wordUint(hex, at, Number(m[1]));
  m = /^bytes(\d+)$/.exec(type);
  if (m) {
    const digits = 2 * Number(m[1]);
    return isZero(hex, at + digits, 64 - digits) ? `0x${hex.slice(at, at + digits).toLowerCase()}` : undefined;
  }
  return undefined; // signed integers and anything else: the ABI decoder
}

function isStatic(t: ParamType): boolean {
  if (t.baseType === "tuple") return t.components!.every(isStatic);
  return t.baseType !== "array" && t.type !== "string" && t.type !== "bytes";
}

/**
 * Decodes the tuple `types` whose head starts at byte `base` of `hex` (data with its 0x prefix,
 * every digit checked hex). Returns the values and where the tuple's encoding ends, or undefined.
 */
function readTuple(
  types: readonly ParamType[],
  hex: string,
  base: number,
): { values: unknown[]; end: number } | undefined {
  const size = (hex.length - 2) / 2;
  let head = base;
  let tail = base + 32 * types.length; // every component below is one head word (static tuples are not supported)
  const values: unknown[] = [];
  for (const t of types) {
    if (head + 32 > size) return undefined;
    if (isStatic(t)) {
      if (t.baseType === "tuple") return undefined;
      const v = wordValue(t, hex, 2 + 2 * head);
      if (v === undefined) return undefined;
      values.push(v);
    } else {
      if (wordIndex(hex, 2 + 2 * head) !== tail - base) return undefined;
      const r = readDynamic(t, hex, tail);
      if (!r) return undefined;
      values.push(r.value);
      tail = r.end;
    }
    head += 32;
  }
  return { values, end: tail };
}

/** A dynamic value (string, bytes, T[] of a static word type, tuple) encoded at byte `at`. */
function readDynamic(t: ParamType, hex: string, at: number): { value: unknown; end: number } | undefined {
  const size = (hex.length - 2) / 2;
  if (at + 32 > size) return undefined;
  if (t.type === "string" || t.type === "bytes") {
    const length = wordIndex(hex, 2 + 2 * at);
    const padded = 32 * Math.ceil(length / 32);
    if (length < 0 || at + 32 + padded > size) return undefined;
    const from = 2 + 2 * (at + 32);
    if (!isZero(hex, from + 2 * length, 2 * (padded - length))) return undefined;
    const digits = hex.slice(from, from + 2 * length);
    let value: string;
    if (t.type === "bytes") value = `0x${digits.toLowerCase()}`;
    else {
      try {
        value = utf8.decode(fromHex(`0x${digits}`));
      } catch {
        return undefined;
      }
    }
    return { value, end: at + 32 + padded };
  }
  if (t.baseType === "array") {
    const child = t.arrayChildren!;
    if (t.arrayLength !== -1 || !isStatic(child) || child.baseType === "tuple") return undefined;
    const n = wordIndex(hex, 2 + 2 * at);
    if (n < 0 || at + 32 + 32 * n > size) return undefined;
    const value: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const v = wordValue(child, hex, 2 + 2 * (at + 32 + 32 * i));
      if (v === undefined) return undefined;
      value.push(v);
    }
    return { value, end: at + 32 + 32 * n };
  }
  if (t.baseType === "tuple") {
    const r = readTuple(t.components!, hex, at);
    if (!r) return undefined;
    return { value: named(t.components!, r.values), end: r.end };
  }
  return undefined;
}

function named(types: readonly ParamType[], values: unknown[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  types.forEach((t, i) => (out[t.name] = values[i]));
  return out;
}

/**
 * The arguments (by name; a tuple as an object by its components' names, an array as an array) of
 * a log of `fragment` — already matched by its first topic — when its topics and data are in the
 * canonical layout and its types are the ones read here; undefined otherwise (use the ABI decoder).
 */
export function decodeCanonicalLog(
  fragment: EventFragment,
  log: { topics: readonly string[]; data: string },
): Record<string, unknown> | undefined {
  const indexed = fragment.inputs.filter((p) => p.indexed);
  if (fragment.anonymous || log.topics.length !== 1 + indexed.length || !HEX_DATA.test(log.data)) return undefined;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < indexed.length; i++) {
    const t = indexed[i];
    const topic = log.topics[i + 1];
    if (!isStatic(t) || t.baseType === "tuple" || typeof topic !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(topic))
      return undefined;
    const v = wordValue(t, topic, 2);
    if (v === undefined) return undefined;
    out[t.name] = v;
  }
  const rest = fragment.inputs.filter((p) => !p.indexed);
  const r = readTuple(rest, log.data, 0);
  if (!r || r.end !== (log.data.length - 2) / 2) return undefined;
  rest.forEach((t, i) => (out[t.name] = r.values[i]));
  return out;
}
