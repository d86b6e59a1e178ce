import { keccak_256 } from "@noble/hashes/sha3";

/** keccak-256 of `data` (the EVM's `keccak256`). */
export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}

/** keccak-256 of the UTF-8 bytes of `text`. */
export function keccak256Utf8(text: string): Uint8Array {
  return keccak_256(new TextEncoder().encode(text));
}
