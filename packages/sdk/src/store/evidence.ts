import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { ProofmarkError } from "../core/errors";
import { fromHex, toHex, type Hex } from "../core/hex";
import type { Receipt, ReceiptEncryption } from "../core/receipt";
import { ENCRYPTION_ALG, decryptStream, encryptStream } from "./encrypt";
import type { ContentStore } from "./types";

/** What {@link keepInStore} returns: the CID for `subject.cid`, and for `--encrypt` the receipt's `encryption`. */
export interface KeptFile {
  cid: string;
  /** Bytes stored (ciphertext size when encrypted). */
  storedSize: number;
  encryption?: ReceiptEncryption;
}

/**
 * Keeps a file in a content store for `stamp --store [--encrypt]`. With `encrypt`, only
 * AES-256-GCM ciphertext reaches the store and the fresh key is returned for the receipt.
 *
 * @example
 * const kept = await keepInStore(store, "design.png", { encrypt: true });
 * receipt.subject.cid = kept.cid; receipt.encryption = kept.encryption;
 */
export async function keepInStore(
  store: ContentStore,
  filePath: string,
  options: { encrypt?: boolean; onBytes?: (n: number) => void } = {},
): Promise<KeptFile> {
  if (!fs.existsSync(filePath))
    throw new ProofmarkError("FILE_NOT_FOUND", `${filePath} does not exist`, { path: filePath });
  const name = path.basename(filePath);
  const plain = fs.createReadStream(filePath, { highWaterMark: 1 << 20 });
  if (!options.encrypt) {
    const r = await store.add(plain, { name, onBytes: options.onBytes });
    return { cid: r.cid, storedSize: r.size };
  }
  let read = 0;
  const counted = (async function* () {
    for await (const c of plain as AsyncIterable<Buffer>) {
      read += c.length;
      options.onBytes?.(read);
      yield c;
    }
  })();
  const { key, ciphertext } = encryptStream(counted);
  const r = await store.add(ciphertext, { name: `${name}.pmenc`, encrypted: true });
  return { cid: r.cid, storedSize: r.size, encryption: { alg: ENCRYPTION_ALG, key: toHex(key) as Hex } };
}

/**
 * The plaintext of a receipt's file, read from a store by `subject.cid` (decrypted with the
 * receipt's key when `encryption` is present), for `verify --from-store`. The stream checks
 * the SHA-256 and size against the receipt at its end and throws DIGEST_MISMATCH otherwise.
 *
 * @example
 * await pipeline(fetchFromStore(store, receipt), fs.createWriteStream(receipt.subject.name));
 */
export async function* fetchFromStore(
  store: ContentStore,
  receipt: Pick<Receipt, "subject" | "encryption">,
  options: { /** Set false when the caller compares the digest itself (verify). */ check?: boolean } = {},
): AsyncGenerator<Uint8Array> {
  const cid = receipt.subject.cid;
  if (!cid) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `the receipt for ${receipt.subject.name} names no content CID (subject.cid); its file was not kept in a store when it was stamped, so verify it against the file itself`,
      { name: receipt.subject.name },
    );
  }
  let source: AsyncIterable<Uint8Array> = store.get(cid);
  if (receipt.encryption) {
    if (receipt.encryption.alg !== ENCRYPTION_ALG) {
      throw new ProofmarkError(
        "DECRYPT_FAILED",
        `the receipt's encryption.alg is "${receipt.encryption.alg}"; this Proofmark decrypts ${ENCRYPTION_ALG}`,
        { alg: receipt.encryption.alg },
      );
    }
    source = decryptStream(source, fromHex(receipt.encryption.key, "encryption.key"));
  }
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.length;
    yield chunk;
  }
  const sha256 = hash.digest("hex");
  if (options.check !== false && (sha256 !== receipt.subject.sha256 || size !== receipt.subject.size)) {
    throw new ProofmarkError(
      "DIGEST_MISMATCH",
      `the content stored under ${cid} is not the receipt's file: SHA-256 ${sha256} (${size} bytes), the receipt covers ${receipt.subject.sha256} (${receipt.subject.size} bytes)`,
      { cid, expected: receipt.subject.sha256, actual: sha256 },
    );
  }
}
