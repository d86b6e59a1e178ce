import * as fs from "node:fs";
import * as path from "node:path";
import type { EvidenceMeta } from "../core/commitment";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import type { ReceiptEncryption } from "../core/receipt";
import { removeStaleTemps, withLockFile, writeFileAtomic } from "../util/fs";

/** How long a stamp waits for another stamp of the same data folder to finish. */
const STAMP_WAIT_MS = 30 * 60_000;

/** One file of a stamp batch, with everything its receipt needs except the anchor. */
export interface QueuedItem {
  file: string;
  receiptPath: string;
  name: string;
  size: number;
  sha256: string;
  salt: Hex;
  meta: EvidenceMeta;
  leaf: Hex;
  cid?: string;
  encryption?: ReceiptEncryption;
}

/** A batch of files under one root, written to disk before its transaction is sent. */
export interface StampBatch {
  format: "proofmark-stamp-batch";
  version: 1;
  createdAt: string;
  chainId: number;
  registry: string;
  root: Hex;
  leafCount: number;
  /** Set as soon as the transaction is sent. */
  txHash?: Hex;
  /** The last failure, kept so `stamp --resume` can say what happened. */
  lastError?: string;
  items: QueuedItem[];
}

/**
 * The on-disk queue of stamp batches (`<dataDir>/queue/<root>.json`, mode 0600: it holds salts
 * and keys). A batch leaves the queue only after its receipts are written.
 */
export class StampQueue {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "queue");
  }

  private file(root: string): string {
    return path.join(this.dir, `${root}.json`);
  }

  /**
   * Runs `fn` while no other stamp (in any process) works on this queue; waits for the one that
   * does (BUSY after 30 minutes). Temporary files left by a killed stamp are removed first.
   */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    // The lock lives beside the queue folder, not in it: the folder holds batches only.
    return withLockFile(
      path.join(path.dirname(this.dir), "stamp.lock"),
      async () => {
        removeStaleTemps(this.dir);
        return fn();
      },
      {
        timeoutMs: STAMP_WAIT_MS,
        busyError: (pid) =>
          new ProofmarkError(
            "BUSY",
            `another stamp (process ${pid}) has been working in ${path.dirname(this.dir)} for over 30 minutes; wait for it to finish, or stop it and resume its queue`,
            { pid, queued: true },
          ),
      },
    );
  }

  /** Writes (or rewrites) a batch atomically. */
  save(batch: StampBatch): void {
    writeFileAtomic(this.file(batch.root), `${JSON.stringify(batch, null, 2)}\n`);
  }

  /** All queued batches, oldest first. A torn or foreign file is an error that names it. */
  list(): StampBatch[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir).filter((n) => /^0x[0-9a-f]{64}\.json$/.test(n));
    } catch {
      return [];
    }
    const batches = names.map((n) => {
      const file = path.join(this.dir, n);
      try {
        const batch = JSON.parse(fs.readFileSync(file, "utf8")) as StampBatch;
        if (batch.format !== "proofmark-stamp-batch" || batch.version !== 1 || !Array.isArray(batch.items))
          throw new Error("not a stamp batch");
        return batch;
      } catch (e) {
        throw new ProofmarkError(
          "QUEUE_CORRUPT",
          `the queued batch ${file} cannot be read (${(e as Error).message}); move it aside and run again — its files can be stamped anew`,
          { file },
        );
      }
    });
    return batches.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  /** Removes a batch whose receipts are written. */
  remove(root: string): void {
    fs.rmSync(this.file(root), { force: true });
  }
}
