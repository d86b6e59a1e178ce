import { createHash } from "node:crypto";

/**
 * SHA-256 of a byte stream in constant memory (64 hex digits, lower case, no 0x).
 * `onBytes` is called with the running byte count, for progress.
 *
 * @example
 * const { sha256, size } = await sha256Stream(fs.createReadStream(path));
 */
export async function sha256Stream(
  source: AsyncIterable<Uint8Array>,
  onBytes?: (bytesSoFar: number) => void,
): Promise<{ sha256: string; size: number }> {
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    onBytes?.(size);
  }
  return { sha256: hash.digest("hex"), size };
}

/** SHA-256 of bytes already in memory (64 hex digits). */
export function sha256Bytes(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
