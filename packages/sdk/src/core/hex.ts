import { ProofmarkError } from "./errors";

/** A 0x-prefixed, lower-case hex string. */
export type Hex = `0x${string}`;

const HEX_RE = /^0x[0-9a-f]*$/;

/** The two hex digits of each byte value. */
const BYTE_HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Lower-case hex of `bytes`, 0x-prefixed. */
export function toHex(bytes: Uint8Array): Hex {
  let out = "0x";
  for (let i = 0; i < bytes.length; i++) out += BYTE_HEX[bytes[i]];
  return out as Hex;
}

/** Bytes of a 0x-prefixed hex string (any case). Throws INVALID_ARGUMENT on malformed input. */
export function fromHex(hex: string, what = "value"): Uint8Array {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new ProofmarkError("INVALID_ARGUMENT", `${what} must be 0x-prefixed hex with an even number of digits`, {
      value: String(hex).slice(0, 80),
    });
  }
  const out = new Uint8Array((hex.length - 2) / 2);
  hexInto(hex, out, 0, out.length);
  return out;
}

/** Value of each ASCII hex digit (any case); -1 for every other character code below 128. */
const HEX_DIGITS = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i++) t[48 + i] = i;
  for (let i = 0; i < 6; i++) t[65 + i] = t[97 + i] = 10 + i;
  return t;
})();

/**
 * Decodes `hex` into `out` at `offset` when it is exactly `length` bytes of 0x-prefixed hex (any
 * case) and returns true; returns false, writing nothing meaningful, otherwise. For hot loops
 * (Merkle leaves): no allocation, no regular expression. Callers fall back to {@link fromHex}
 * for the error message.
 */
export function hexInto(hex: string, out: Uint8Array, offset: number, length: number): boolean {
  if (hex.length !== 2 + 2 * length || hex.charCodeAt(0) !== 48 || hex.charCodeAt(1) !== 120) return false;
  return hexDigitsInto(hex, 2, out, offset, length);
}

/**
 * Decodes the `2 * length` hex digits (any case, no prefix) of `hex` from index `at` into `out` at
 * `offset`; false on a non-hex digit or past the end of `hex`. One word of a log's data, in place.
 */
export function hexDigitsInto(hex: string, at: number, out: Uint8Array, offset: number, length: number): boolean {
  for (let i = 0, p = at; i < length; i++, p += 2) {
    const a = hex.charCodeAt(p);
    const b = hex.charCodeAt(p + 1);
    const hi = a < 128 ? HEX_DIGITS[a] : -1;
    const lo = b < 128 ? HEX_DIGITS[b] : -1;
    if ((hi | lo) < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

/**
 * The value of the `digits` hex digits (any case, no prefix; at most 13, so that it is exact) of
 * `hex` from index `at`, or -1 when one is not a hex digit or is past the end: a small integer
 * read from a log's word without slicing it or going through a bigint.
 */
export function hexDigitsValue(hex: string, at: number, digits: number): number {
  let v = 0;
  for (let p = at; p < at + digits; p++) {
    const c = hex.charCodeAt(p);
    const d = c < 128 ? HEX_DIGITS[c] : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** True for a 0x-prefixed lower-case hex string of exactly `bytes` bytes. */
export function isHexOfLength(value: unknown, bytes: number): value is Hex {
  return typeof value === "string" && value.length === 2 + 2 * bytes && HEX_RE.test(value);
}

/** True when two byte arrays hold the same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
