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
  if (wasm) {
    // No subarray per call where the inputs are 32 bytes, and the output copied from a view made
    // once: a subarray is a new typed array, about a third of this function's time (the reducer
    // hashes one pair per event). Builtin copies, not byte loops: those run interpreted in a cold
    // process until the JIT has compiled them.
    const m = wasm.bytes;
    m.set(a.length === 32 ? a : a.subarray(0, 32), WASM_INPUT);
    m.set(b.length === 32 ? b : b.subarray(0, 32), WASM_INPUT + 32);
    m.fill(0, WASM_INPUT + 64, WASM_INPUT + RATE);
    m[WASM_INPUT + 64] = 0x01;
    m[WASM_INPUT + RATE - 1] = 0x80;
    wasm.absorb(WASM_INPUT, 1);
    out.set(wasm.digest, outOffset);
    return;
  }
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
  if (wasmWords) {
    // the WebAssembly permutation (about 3× faster); its memory is little-endian like `words` here
    const m = wasmWords;
    const at = WASM_INPUT >> 2;
    for (let i = 0; i < 8; i++) {
      m[at + i] = words[a + i];
      m[at + 8 + i] = words[b + i];
    }
    m[at + 16] = 0x01; // pad10*1, as below
    for (let i = 17; i < 33; i++) m[at + i] = 0;
    m[at + 33] = 0x80000000;
    wasm!.absorb(WASM_INPUT, 1);
    for (let i = 0; i < 8; i++) words[out + i] = m[i];
    return;
  }
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

/**
 * keccak-f[1600] in WebAssembly, built here (no binary blob): 64-bit lanes in locals, where the JS
 * permutation above works on pairs of 32-bit halves — about 3× faster per hash. Used by
 * {@link keccak256Into} and {@link keccak256Pair} (the hash chain's two hashes per event) when the
 * runtime has WebAssembly; the JS permutation otherwise. Memory: the state's first 32 bytes (the
 * digest) at 0, the round constants at 200, the padded input at {@link WASM_INPUT}.
 */
const WASM_INPUT = 1024;
const wasm = buildKeccakWasm();
/** The WebAssembly memory as 32-bit words, for {@link keccak256PairWords} (little-endian hosts only, like its callers). */
const wasmWords = wasm && LITTLE_ENDIAN ? new Uint32Array(wasm.bytes.buffer, 0, 2048) : undefined;

function buildKeccakWasm():
  { absorb(ptr: number, blocks: number): void; bytes: Uint8Array; digest: Uint8Array } | undefined {
  try {
    if (typeof WebAssembly !== "object") return undefined;
    const uleb = (n: number): number[] => {
      const out: number[] = [];
      do {
        let b = n & 0x7f;
        n >>>= 7;
        if (n !== 0) b |= 0x80;
        out.push(b);
      } while (n !== 0);
      return out;
    };
    const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
    const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
    // locals: 0 ptr, 1 blocks (i32 params); a[25] at 2.., b[25] at 27.., c[5] at 52.., d at 57 (i64); round at 58 (i32)
    const A = (i: number) => 2 + i;
    const B = (i: number) => 27 + i;
    const C = (i: number) => 52 + i;
    const D = 57;
    const ROUND = 58;
    const get = (l: number) => [0x20, ...uleb(l)];
    const set = (l: number) => [0x21, ...uleb(l)];
    const tee = (l: number) => [0x22, ...uleb(l)];
    const XOR = 0x85;
    const AND = 0x83;
    const ROTL = 0x89;
    const rotl = (k: number) => (k === 0 ? [] : [0x42, ...sleb(k), ROTL]);
    function sleb(n: number): number[] {
      const out: number[] = [];
      for (;;) {
        const b = n & 0x7f;
        n >>= 7;
        if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
          out.push(b);
          return out;
        }
        out.push(b | 0x80);
      }
    }
    const R = [
      [0, 36, 3, 41, 18],
      [1, 44, 10, 45, 2],
      [62, 6, 43, 15, 61],
      [28, 55, 25, 21, 56],
      [27, 20, 39, 8, 14],
    ]; // R[x][y]
    const code: number[] = [];
    for (let i = 0; i < 25; i++) code.push(0x42, 0x00, ...set(A(i)));
    code.push(0x03, 0x40); // loop: one 136-byte block
    for (let i = 0; i < 17; i++) code.push(...get(A(i)), ...get(0), 0x29, 0x03, ...uleb(8 * i), XOR, ...set(A(i)));
    code.push(0x41, 0x00, ...set(ROUND));
    code.push(0x03, 0x40); // loop: one round
    for (let x = 0; x < 5; x++)
      code.push(
        ...get(A(x)),
        ...get(A(x + 5)),
        XOR,
        ...get(A(x + 10)),
        XOR,
        ...get(A(x + 15)),
        XOR,
        ...get(A(x + 20)),
        XOR,
        ...set(C(x)),
      );
    for (let x = 0; x < 5; x++) {
      code.push(...get(C((x + 4) % 5)), ...get(C((x + 1) % 5)), ...rotl(1), XOR, ...set(D));
      for (let y = 0; y < 5; y++) code.push(...get(A(x + 5 * y)), ...get(D), XOR, ...set(A(x + 5 * y)));
    }
    for (let x = 0; x < 5; x++)
      for (let y = 0; y < 5; y++)
        code.push(...get(A(x + 5 * y)), ...rotl(R[x][y]), ...set(B(y + 5 * ((2 * x + 3 * y) % 5))));
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++)
        code.push(
          ...get(B(x + 5 * y)),
          ...get(B(((x + 1) % 5) + 5 * y)),
          0x42,
          0x7f,
          XOR,
          ...get(B(((x + 2) % 5) + 5 * y)),
          AND,
          XOR,
          ...set(A(x + 5 * y)),
        );
    // iota: a[0] ^= RC[round] (memory 200 + 8 * round)
    code.push(...get(A(0)), ...get(ROUND), 0x41, 0x03, 0x74, 0x29, 0x03, ...uleb(200), XOR, ...set(A(0)));
    code.push(...get(ROUND), 0x41, 0x01, 0x6a, ...tee(ROUND), 0x41, 0x18, 0x47, 0x0d, 0x00, 0x0b);
    code.push(...get(0), 0x41, ...sleb(136), 0x6a, ...set(0));
    code.push(...get(1), 0x41, 0x01, 0x6b, ...tee(1), 0x0d, 0x00, 0x0b);
    for (let i = 0; i < 4; i++) code.push(0x41, 0x00, ...get(A(i)), 0x37, 0x03, ...uleb(8 * i));
    code.push(0x0b);
    const body = [
      ...vec([
        [...uleb(56), 0x7e],
        [0x01, 0x7f],
      ]),
      ...code,
    ];
    const enc = (s: string) => [...uleb(s.length), ...Array.from(s, (ch) => ch.charCodeAt(0))];
    const bytes = new Uint8Array([
      0x00,
      0x61,
      0x73,
      0x6d,
      0x01,
      0x00,
      0x00,
      0x00,
      ...section(1, vec([[0x60, 0x02, 0x7f, 0x7f, 0x00]])),
      ...section(3, vec([[0x00]])),
      ...section(5, vec([[0x00, 0x01]])),
      ...section(
        7,
        vec([
          [...enc("memory"), 0x02, 0x00],
          [...enc("absorb"), 0x00, 0x00],
        ]),
      ),
      ...section(10, vec([[...uleb(body.length), ...body]])),
    ]);
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
    const memory = instance.exports.memory as WebAssembly.Memory;
    const view = new DataView(memory.buffer);
    const RC = [
      "0000000000000001",
      "0000000000008082",
      "800000000000808a",
      "8000000080008000",
      "000000000000808b",
      "0000000080000001",
      "8000000080008081",
      "8000000000008009",
      "000000000000008a",
      "0000000000000088",
      "0000000080008009",
      "000000008000000a",
      "000000008000808b",
      "800000000000008b",
      "8000000000008089",
      "8000000000008003",
      "8000000000008002",
      "8000000000000080",
      "000000000000800a",
      "800000008000000a",
      "8000000080008081",
      "8000000000008080",
      "0000000080000001",
      "8000000080008008",
    ];
    RC.forEach((h, i) => {
      view.setUint32(200 + 8 * i, parseInt(h.slice(8), 16), true);
      view.setUint32(204 + 8 * i, parseInt(h.slice(0, 8), 16), true);
    });
    return {
      absorb: instance.exports.absorb as (ptr: number, blocks: number) => void,
      bytes: new Uint8Array(memory.buffer),
      // the state's first 32 bytes: the hash after an absorb
      digest: new Uint8Array(memory.buffer, 0, 32),
    };
  } catch {
    return undefined;
  }
}

/** keccak-256 of `data` (the EVM's `keccak256`). */
export function keccak256(data: Uint8Array): Uint8Array {
  if (data.length > UNROLLED_MAX) return keccak_256(data);
  const out = new Uint8Array(32);
  keccak256Into(data, out, 0);
  return out;
}

/** keccak-256 of `data` (at most 4 KiB) written into `out` at `outOffset`, without allocating. */
export function keccak256Into(data: Uint8Array, out: Uint8Array, outOffset: number): void {
  if (data.length > UNROLLED_MAX) {
    out.set(keccak_256(data), outOffset);
    return;
  }
  if (wasm) {
    const m = wasm.bytes;
    const blocks = Math.floor(data.length / RATE) + 1;
    m.set(data, WASM_INPUT);
    m.fill(0, WASM_INPUT + data.length, WASM_INPUT + blocks * RATE);
    m[WASM_INPUT + data.length] ^= 0x01; // pad10*1 (one byte 0x81 when the message ends one byte short of a block)
    m[WASM_INPUT + blocks * RATE - 1] ^= 0x80;
    wasm.absorb(WASM_INPUT, blocks);
    out.set(wasm.digest, outOffset);
    return;
  }
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
  squeeze32(out, outOffset);
}

/** keccak-256 of the UTF-8 bytes of `text`. */
export function keccak256Utf8(text: string): Uint8Array {
  return keccak256(new TextEncoder().encode(text));
}
