import { sha256 } from "@noble/hashes/sha2";
import { toHex } from "./hex";

/**
 * SHA-256 of a byte stream in constant memory (64 hex digits, lower case, no 0x), isomorphic
 * (@noble/hashes: the same code in Node and in the browser bundle of the verifier). Files on disk
 * are hashed at the edge with node:crypto (`hashFile`, evidence/files.ts), which is faster.
 * `onBytes` is called with the running byte count, for progress.
 *
 * @example
 * const { sha256, size } = await sha256Stream(fs.createReadStream(path));
 */
export async function sha256Stream(
  source: AsyncIterable<Uint8Array>,
  onBytes?: (bytesSoFar: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash = sha256.create();
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(size);
  }
  return { sha256: toHex(hash.digest()).slice(2), size };
}

/** SHA-256 of bytes already in memory (64 hex digits). */
export function sha256Bytes(bytes: Uint8Array): string {
  return toHex(sha256(bytes)).slice(2);
}
