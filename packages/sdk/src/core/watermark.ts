/**
 * An invisible watermark carrying a short receipt id (pure: float pixels in, pixels or bits out).
 *
 * Payload: 64 bits (the first 8 bytes of the receipt's leaf) + a CRC-16/CCITT of them = 80 bits.
 * The luminance is resampled to a fixed WATERMARK_SIDE × WATERMARK_SIDE grid (so a resized copy reads
 * on the same grid), cut into 8×8 blocks, and in each block the relation of two mid-frequency DCT
 * coefficients, (1,2) and (2,1), carries one payload bit: their difference is pushed to ≥ +strength
 * for a 1 and ≤ −strength for a 0. Every bit is repeated over ⌊4096 / 80⌋ = 51 blocks spread over the
 * image (a repetition code: the reader sums the soft differences and takes the sign — majority
 * decoding). The CRC says whether what was read is a watermark at all: an unmarked image gives random
 * bits, which pass a 16-bit check about once in 65,536 reads.
 *
 * The mark lives in the grid's geometry: a crop or rotation shifts the grid and the mark does not
 * read (measured in the README); a brightness change moves only the DC coefficient and does not touch it.
 */

/** Side of the grid the mark is embedded on and read from. */
export const WATERMARK_SIDE = 512;
/** Payload bits: the 64-bit id and its 16-bit CRC. */
export const WATERMARK_BITS = 80;
/** Default difference pushed between the two coefficients (orthonormal DCT of 0..255 pixels). */
export const WATERMARK_STRENGTH = 22;

const BLOCKS = (WATERMARK_SIDE / 8) ** 2;

/** The 8×8 orthonormal DCT-II basis, row k = frequency k. */
const BASIS: Float64Array[] = Array.from({ length: 8 }, (_, k) =>
  Float64Array.from(
    { length: 8 },
    (_, n) => (k === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * n + 1) * k * Math.PI) / 16),
  ),
);

/** Coefficient (u, v) of an 8×8 block at (bx, by) of a `side`-wide plane. */
function coefficient(plane: Float32Array, side: number, bx: number, by: number, u: number, v: number): number {
  let sum = 0;
  for (let y = 0; y < 8; y++) {
    const row = (by * 8 + y) * side + bx * 8;
    let inner = 0;
    for (let x = 0; x < 8; x++) inner += plane[row + x] * BASIS[u][x];
    sum += inner * BASIS[v][y];
  }
  return sum;
}

/** Adds `amount` × basis function (u, v) to the block. */
function addBasis(plane: Float32Array, side: number, bx: number, by: number, u: number, v: number, amount: number) {
  for (let y = 0; y < 8; y++) {
    const row = (by * 8 + y) * side + bx * 8;
    for (let x = 0; x < 8; x++) plane[row + x] += amount * BASIS[u][x] * BASIS[v][y];
  }
}

/** Which payload bit block k carries: consecutive blocks carry different bits, each bit spread over the whole grid. */
function bitOfBlock(k: number): number {
  return (k * 37) % WATERMARK_BITS;
}

/** CRC-16/CCITT-FALSE of bytes. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const b of bytes) {
    crc ^= b << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The 80 payload bits of an 8-byte id. */
export function watermarkPayload(id: Uint8Array): number[] {
  if (id.length !== 8) throw new RangeError("a watermark id is 8 bytes");
  const crc = crc16(id);
  const bytes = [...id, crc >> 8, crc & 0xff];
  return bytes.flatMap((b) => [7, 6, 5, 4, 3, 2, 1, 0].map((i) => (b >> i) & 1));
}

/**
 * The change to add to a WATERMARK_SIDE² luminance plane so that it carries `id` (the plane is not
 * modified). Blocks already on the right side by more than `strength` are left alone.
 */
export function watermarkDelta(plane: Float32Array, id: Uint8Array, strength = WATERMARK_STRENGTH): Float32Array {
  const side = WATERMARK_SIDE;
  const bits = watermarkPayload(id);
  const delta = new Float32Array(side * side);
  const per = side / 8;
  for (let k = 0; k < BLOCKS; k++) {
    const bx = k % per;
    const by = Math.floor(k / per);
    const d = coefficient(plane, side, bx, by, 1, 2) - coefficient(plane, side, bx, by, 2, 1);
    const want = bits[bitOfBlock(k)] ? strength : -strength;
    const short = bits[bitOfBlock(k)] ? want - d : d - want; // > 0: how far the difference is from where it must be
    if (short <= 0) continue;
    const step = (bits[bitOfBlock(k)] ? 1 : -1) * (short / 2);
    addBasis(delta, side, bx, by, 1, 2, step);
    addBasis(delta, side, bx, by, 2, 1, -step);
  }
  return delta;
}

export interface WatermarkReading {
  /** The 8-byte id, when the CRC holds; undefined: no watermark. */
  id?: Uint8Array;
  /** Mean |soft sum| per bit over the coefficient differences' spread: how clearly the bits read (about 1 or less on unmarked images). */
  confidence: number;
}

/** Reads the payload from a WATERMARK_SIDE² luminance plane. */
export function readWatermark(plane: Float32Array): WatermarkReading {
  const side = WATERMARK_SIDE;
  const per = side / 8;
  const soft = new Float64Array(WATERMARK_BITS);
  let spread = 0;
  for (let k = 0; k < BLOCKS; k++) {
    const d =
      coefficient(plane, side, k % per, Math.floor(k / per), 1, 2) -
      coefficient(plane, side, k % per, Math.floor(k / per), 2, 1);
    soft[bitOfBlock(k)] += d;
    spread += d * d;
  }
  const sigma = Math.sqrt(spread / BLOCKS) * Math.sqrt(BLOCKS / WATERMARK_BITS); // the spread of a sum of that many differences
  const bits: number[] = [...soft].map((s) => (s > 0 ? 1 : 0));
  const confidence = soft.reduce((a, s) => a + Math.abs(s), 0) / WATERMARK_BITS / (sigma || 1);
  const bytes = Uint8Array.from({ length: 10 }, (_, i) =>
    bits.slice(i * 8, i * 8 + 8).reduce((a, b) => (a << 1) | b, 0),
  );
  const id = bytes.subarray(0, 8);
  return crc16(id) === ((bytes[8] << 8) | bytes[9]) ? { id: Uint8Array.from(id), confidence } : { confidence };
}
