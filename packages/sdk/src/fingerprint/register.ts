import * as path from "node:path";
import { isProofmarkError } from "../core/errors";
import { formatFingerprint } from "../core/fingerprint";
import type { Receipt } from "../core/receipt";
import { fingerprintOriginal, isFingerprintable } from "./image";
import { openFingerprintStore } from "./postgres-index";
import { encodeOrbFeatures } from "./orb";

/**
 * Stamping with fingerprints: `fingerprintForStamp` gives `stampFiles` the text that goes into
 * `commitment.meta.fingerprint` (so the anchored leaf covers it) and keeps the image's ORB features;
 * `registerOriginals` puts the stamped originals into the data folder's index once their receipts exist.
 */
export class StampFingerprints {
  private readonly features = new Map<string, Uint8Array>();
  /** Image files that could not be decoded: stamped by their SHA-256 only. */
  readonly unreadable: Array<{ file: string; message: string }> = [];
  /** Image files with too little texture to fingerprint (flat, smooth gradient, even fine pattern): fingerprinted and indexed, but their edited copies are not reliably found. */
  readonly tooLittleTexture: string[] = [];

  /** The fingerprint text of an image file; undefined when the file is not an image type `stamp` fingerprints, or does not decode (then listed in `unreadable`). */
  async fingerprintForStamp(file: string): Promise<string | undefined> {
    if (!isFingerprintable(file)) return undefined;
    let image;
    try {
      image = await fingerprintOriginal(file);
    } catch (e) {
      if (!isProofmarkError(e, "IMAGE_UNREADABLE")) throw e;
      this.unreadable.push({ file, message: e.message });
      return undefined;
    }
    if (image.features) this.features.set(path.resolve(file), encodeOrbFeatures(image.features));
    if (image.tooLittleTexture) this.tooLittleTexture.push(file);
    return formatFingerprint(image.fingerprint);
  }

  /**
   * Indexes stamped files whose receipts commit a fingerprint (in `<dataDir>/fingerprints.sqlite`, or
   * PostgreSQL when `database` is a `postgres://…` URL). Idempotent (by leaf). Returns the
   * number newly indexed.
   */
  async registerOriginals(
    dataDir: string,
    stamped: Array<{ file: string; receiptPath: string; receipt: Receipt }>,
    database?: string,
  ): Promise<number> {
    const rows = stamped
      .filter((s) => s.receipt.commitment.meta.fingerprint !== undefined)
      .map(({ file, receiptPath, receipt }) => ({
        leaf: receipt.commitment.leaf,
        name: receipt.subject.name ?? path.basename(file),
        file: path.resolve(file),
        receiptPath: path.resolve(receiptPath),
        sha256: receipt.subject.sha256,
        fingerprint: receipt.commitment.meta.fingerprint,
        chainId: receipt.anchors[0].chainId,
        blockNumber: receipt.anchors[0].blockNumber,
        txHash: receipt.anchors[0].txHash,
        anchoredAt: receipt.anchors[0].timestamp,
        features: this.features.get(path.resolve(file)),
      }));
    if (rows.length === 0) return 0;
    const index = await openFingerprintStore(dataDir, database);
    try {
      return await index.add(rows);
    } finally {
      await index.close();
    }
  }
}
