import { ProofmarkError } from "./errors";

/** A 0x-prefixed, lower-case hex string. */
export type Hex = `0x${string}`;

const HEX_RE = /^0x[0-9a-f]*$/;

/** Lower-case hex of `bytes`, 0x-prefixed. */
export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** Bytes of a 0x-prefixed hex string (any case). Throws INVALID_ARGUMENT on malformed input. */
export function fromHex(hex: string, what = "value"): Uint8Array {
  if (typeof hex !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) {
    throw new ProofmarkError("INVALID_ARGUMENT", `${what} must be 0x-prefixed hex with an even number of digits`, { value: String(hex).slice(0, 80) });
  }
  return new Uint8Array(Buffer.from(hex.slice(2), "hex"));
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
