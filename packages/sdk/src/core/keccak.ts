import { keccak_256 } from "@noble/hashes/sha3";

/**
 * keccak-256 for the hot paths (Merkle nodes, leaves, the provenance hash chain). Inputs up to
 * 4 KiB go through an unrolled keccak-f[1600] on a reused 50-word state — about 3× faster than a
 * generic hasher here, and allocation-free for Merkle pairs. Longer inputs use @noble/hashes.
 * The vectors in test/vectors/evidence.json and the tests compare it with ethers' keccak256.
 */
// The unrolled permutation of the `keccak` package (MIT), pure JS, no native code.

const { p1600 } = require("keccak/lib/keccak-state-unroll.js") as { p1600(s: number[]): void };

const RATE = 136;
const state: number[] = new Array(50).fill(0);

function absorbBlock(data: Uint8Array, offset: number, length: number, wordOffset: number): void {
  // XOR `length` bytes (a multiple of 4) into the state's 32-bit little-endian words
  for (let i = 0; i < length; i += 4) {
    const p = offset + i;
    state[wordOffset + (i >> 2)] ^= data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24);
  }
}

function squeeze32(out: Uint8Array, outOffset: number): void {
  for (let w = 0; w < 8; w++) {
    const v = state[w];
    const p = outOffset + 4 * w;
    out[p] = v & 0xff;
    out[p + 1] = (v >>> 8) & 0xff;
    out[p + 2] = (v >>> 16) & 0xff;
    out[p + 3] = (v >>> 24) & 0xff;
  }
}

/**
 * keccak-256 of `a ‖ b` (two 32-byte values) into `out` at `outOffset`, without allocating.
 */
export function keccak256Pair(a: Uint8Array, b: Uint8Array, out: Uint8Array, outOffset: number): void {
  state.fill(0);
  absorbBlock(a, 0, 32, 0);
  absorbBlock(b, 0, 32, 8);
  state[16] ^= 0x01; // pad10*1: first pad byte after 64 bytes of message
  state[33] ^= 0x80000000; // last byte of the 136-byte block
  p1600(state);
  squeeze32(out, outOffset);
}

/** True on little-endian hosts, where 32-bit words of a byte buffer are the state's lanes as they are. */
export const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * keccak-256 of the two 32-byte values at word offsets `a` and `b` of `words` (a Uint32Array view
 * of a byte buffer, little-endian hosts only), written at word offset `out`: Merkle nodes hashed
 * in place, eight word loads per value instead of 32 byte loads.
 */
export function keccak256PairWords(words: Uint32Array, a: number, b: number, out: number): void {
  for (let i = 0; i < 8; i++) {
    state[i] = words[a + i] | 0;
    state[8 + i] = words[b + i] | 0;
  }
  for (let i = 16; i < 50; i++) state[i] = 0;
  state[16] = 0x01; // pad10*1: first pad byte after 64 bytes of message
  state[33] = 0x80000000 | 0; // last byte of the 136-byte block
  p1600(state);
  for (let i = 0; i < 8; i++) words[out + i] = state[i];
}

/** Inputs up to this length go through the unrolled permutation; longer ones through @noble/hashes. */
const UNROLLED_MAX = 4096;

/** keccak-256 of `data` (the EVM's `keccak256`). */
export function keccak256(data: Uint8Array): Uint8Array {
  if (data.length > UNROLLED_MAX) return keccak_256(data);
  state.fill(0);
  // whole 136-byte blocks (an ABI-encoded event digest is 224 bytes: two blocks)
  let offset = 0;
  for (; data.length - offset >= RATE; offset += RATE) {
    absorbBlock(data, offset, RATE, 0);
    p1600(state);
  }
  const rest = data.length - offset;
  const whole = rest & ~3;
  absorbBlock(data, offset, whole, 0);
  // the tail (0–3 bytes), then the 0x01 pad byte, byte by byte
  for (let i = whole; i < rest; i++) state[i >> 2] ^= data[offset + i] << (8 * (i & 3));
  state[rest >> 2] ^= 0x01 << (8 * (rest & 3));
  state[33] ^= 0x80000000;
  p1600(state);
  const out = new Uint8Array(32);
  squeeze32(out, 0);
  return out;
}

/** keccak-256 of the UTF-8 bytes of `text`. */
export function keccak256Utf8(text: string): Uint8Array {
  return keccak256(new TextEncoder().encode(text));
}
