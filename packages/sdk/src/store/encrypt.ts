import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ProofmarkError } from "../core/errors";
import { RECEIPT_ENCRYPTION_ALGS } from "../core/receipt";

/**
 * Streaming authenticated encryption for private evidence: AES-256-GCM over fixed-size chunks
 * (the "STREAM" construction), any size, constant memory.
 *
 *   header  = "PMENC1" | u8 log2(chunkSize) | u8 0 | 8-byte random nonce prefix      (16 bytes)
 *   chunk i = AES-256-GCM(key, nonce = prefix | u32be(i), aad = header | u8 final) | 16-byte tag
 *
 * Every chunk is `chunkSize` bytes of plaintext except the last (0…chunkSize bytes, flagged
 * final). Reordering, dropping, or truncating chunks, or changing the header, makes a tag
 * check fail; so does a wrong key. The key is 32 random bytes returned to the caller (it goes
 * into the holder's receipt) and is never written to the store.
 */

/** The `alg` a receipt names for this scheme. */
export const ENCRYPTION_ALG = RECEIPT_ENCRYPTION_ALGS[0];
const MAGIC = Buffer.from("PMENC1", "ascii");
const HEADER_LEN = 16;
const TAG_LEN = 16;
const DEFAULT_LOG2_CHUNK = 16; // 64 KiB
const MIN_LOG2 = 10;
const MAX_LOG2 = 24;

function toBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function checkKey(key: Uint8Array): Buffer {
  if (!(key instanceof Uint8Array) || key.length !== 32) {
    throw new ProofmarkError("INVALID_ARGUMENT", "an AES-256-GCM key is 32 bytes (64 hex digits)", {
      length: (key as Uint8Array | undefined)?.length,
    });
  }
  return toBuffer(key);
}

function nonce(prefix: Buffer, counter: number): Buffer {
  const n = Buffer.allocUnsafe(12);
  prefix.copy(n, 0, 0, 8);
  n.writeUInt32BE(counter, 8);
  return n;
}

function aad(header: Buffer, final: boolean): Buffer {
  const a = Buffer.allocUnsafe(HEADER_LEN + 1);
  header.copy(a, 0);
  a[HEADER_LEN] = final ? 1 : 0;
  return a;
}

/** A fresh 32-byte key from the OS random source. */
export function generateKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Splits/joins an arbitrary chunk stream into pieces of exactly `size` bytes (the last shorter). */
async function* rechunk(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  size: number,
): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const chunk of source) {
    let c = toBuffer(chunk);
    while (c.length > 0) {
      const take = Math.min(size - have, c.length);
      parts.push(c.subarray(0, take));
      have += take;
      c = c.subarray(take);
      if (have === size) {
        yield parts.length === 1 ? parts[0] : Buffer.concat(parts, size);
        parts = [];
        have = 0;
      }
    }
  }
  yield Buffer.concat(parts, have);
}

/**
 * Encrypts a plaintext stream. Returns the key (give it to the holder, never store it) and the
 * ciphertext stream.
 *
 * @example
 * const { key, ciphertext } = encryptStream(fs.createReadStream("design.psd"));
 * const { cid } = await store.add(ciphertext, { encrypted: true });
 */
export function encryptStream(
  plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: { key?: Uint8Array; chunkSize?: number } = {},
): { key: Uint8Array; ciphertext: AsyncIterable<Uint8Array> } {
  const key = options.key ?? generateKey();
  const k = checkKey(key);
  const log2 = options.chunkSize === undefined ? DEFAULT_LOG2_CHUNK : Math.log2(options.chunkSize);
  if (!Number.isInteger(log2) || log2 < MIN_LOG2 || log2 > MAX_LOG2) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `chunkSize must be a power of two between ${2 ** MIN_LOG2} and ${2 ** MAX_LOG2}`,
      { chunkSize: options.chunkSize },
    );
  }
  const chunkSize = 2 ** log2;
  const header = Buffer.alloc(HEADER_LEN);
  MAGIC.copy(header, 0);
  header[6] = log2;
  randomBytes(8).copy(header, 8);
  const prefix = header.subarray(8, 16);
  async function* run(): AsyncGenerator<Uint8Array> {
    yield header;
    let counter = 0;
    let held: Buffer | undefined;
    for await (const piece of rechunk(plaintext, chunkSize)) {
      if (held !== undefined) yield seal(held, false);
      held = piece;
    }
    yield seal(held ?? Buffer.alloc(0), true);
    function seal(data: Buffer, final: boolean): Buffer {
      if (counter > 0xffffffff)
        throw new ProofmarkError("INVALID_ARGUMENT", "the plaintext is too large for one encrypted stream", {});
      const c = createCipheriv("aes-256-gcm", k, nonce(prefix, counter++), { authTagLength: TAG_LEN });
      c.setAAD(aad(header, final));
      const out = Buffer.concat([c.update(data), c.final(), c.getAuthTag()]);
      return out;
    }
  }
  return { key, ciphertext: run() };
}

function decryptFailed(message: string, details: Record<string, unknown> = {}): ProofmarkError {
  return new ProofmarkError("DECRYPT_FAILED", message, details);
}

/**
 * Decrypts and authenticates a ciphertext stream, yielding plaintext chunk by chunk (each
 * chunk only after its tag checked). A wrong key, a changed byte, a missing or reordered chunk
 * or a truncated stream → DECRYPT_FAILED; no unauthenticated byte is ever yielded.
 *
 * @example
 * for await (const chunk of decryptStream(store.get(cid), key)) out.write(chunk);
 */
export async function* decryptStream(
  ciphertext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  key: Uint8Array,
): AsyncGenerator<Uint8Array> {
  const k = checkKey(key);
  let header: Buffer | undefined;
  let prefix: Buffer | undefined;
  let sealedSize = 0;
  let buf: Buffer = Buffer.alloc(0);
  let counter = 0;
  const open = (sealed: Buffer, final: boolean): Buffer => {
    const d = createDecipheriv("aes-256-gcm", k, nonce(prefix!, counter), { authTagLength: TAG_LEN });
    d.setAAD(aad(header!, final));
    d.setAuthTag(sealed.subarray(sealed.length - TAG_LEN));
    try {
      const out = Buffer.concat([d.update(sealed.subarray(0, sealed.length - TAG_LEN)), d.final()]);
      counter++;
      return out;
    } catch {
      throw decryptFailed(
        counter === 0
          ? "cannot decrypt: the key is wrong or the ciphertext was altered (the first chunk failed authentication); check that the key comes from this file's receipt"
          : `cannot decrypt: chunk ${counter} failed authentication — the ciphertext was altered or cut short`,
        { chunk: counter },
      );
    }
  };
  for await (const piece of ciphertext) {
    buf = buf.length === 0 ? toBuffer(piece) : Buffer.concat([buf, toBuffer(piece)]);
    if (header === undefined) {
      if (buf.length < HEADER_LEN) continue;
      header = Buffer.from(buf.subarray(0, HEADER_LEN));
      if (!header.subarray(0, 6).equals(MAGIC) || header[7] !== 0 || header[6] < MIN_LOG2 || header[6] > MAX_LOG2) {
        throw decryptFailed(
          "cannot decrypt: this is not Proofmark ciphertext (bad header); was the file stored unencrypted?",
        );
      }
      prefix = header.subarray(8, 16);
      sealedSize = 2 ** header[6] + TAG_LEN;
      buf = buf.subarray(HEADER_LEN);
    }
    // Keep at least one sealed chunk back: only the end of the stream tells which one is final.
    while (buf.length > sealedSize) {
      yield open(buf.subarray(0, sealedSize), false);
      buf = buf.subarray(sealedSize);
    }
  }
  if (header === undefined)
    throw decryptFailed("cannot decrypt: the ciphertext is shorter than its header (truncated or empty)");
  if (buf.length < TAG_LEN)
    throw decryptFailed("cannot decrypt: the ciphertext is cut short (its last chunk is incomplete)");
  const last = open(buf, true);
  if (last.length > 0) yield last;
}

/** Plaintext size → ciphertext size (for progress and checks). */
export function ciphertextSize(plaintextSize: number, chunkSize = 2 ** DEFAULT_LOG2_CHUNK): number {
  // Full chunks, then one final chunk of 0…chunkSize-1 bytes (empty when the size is a multiple).
  const chunks = Math.floor(plaintextSize / chunkSize) + 1;
  return HEADER_LEN + plaintextSize + chunks * TAG_LEN;
}
