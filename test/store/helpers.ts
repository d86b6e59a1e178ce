import { expect } from "chai";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isProofmarkError } from "../../packages/sdk/src/core/errors";

/**
 * The deterministic byte stream of Kubo's test harness (test/cli/testutils/random_deterministic.go
 * in ipfs/kubo): ChaCha20 keystream, key = SHA-256(seed), zero nonce, counter 0. Kubo's published
 * CIDs for `IPFSAddDeterministic(size, seed)` can therefore be reproduced here byte for byte.
 */
export async function* kuboDeterministic(size: number, seed: string, piece = 1 << 20): AsyncGenerator<Uint8Array> {
  const key = createHash("sha256").update(seed, "utf8").digest();
  // Node's chacha20 IV is the 32-bit little-endian block counter followed by the 96-bit nonce.
  const cipher = createCipheriv("chacha20", key, Buffer.alloc(16));
  const zeros = Buffer.alloc(piece);
  for (let left = size; left > 0; left -= piece) yield cipher.update(zeros.subarray(0, Math.min(piece, left)));
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of source) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export async function sha256Of(source: AsyncIterable<Uint8Array>): Promise<string> {
  const h = createHash("sha256");
  for await (const c of source) h.update(c);
  return h.digest("hex");
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm-${tag}-`));
}

export function randomData(n: number): Buffer {
  return randomBytes(n);
}

/** A blockstore that keeps nothing (hash only), for computing CIDs independently of the store. */
export const nullBlockstore = { put: (cid: unknown) => cid } as never;

/** Awaits `p` and checks it fails with the ProofmarkError `code` (and a message including `includes`). */
export async function expectError(p: Promise<unknown>, code: string, includes?: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(isProofmarkError(e), `expected a ProofmarkError, got ${String(e)}`).to.equal(true);
    expect((e as { code: string }).code).to.equal(code);
    if (includes) expect((e as Error).message).to.include(includes);
    return e as Error;
  }
  return expect.fail(`expected ${code}`);
}
