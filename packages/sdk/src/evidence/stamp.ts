import * as fs from "node:fs";
import * as path from "node:path";
import { computeLeaf, randomSalt, type EvidenceMeta } from "../core/commitment";
import { isProofmarkError, ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import { MerkleTree } from "../core/merkle";
import {
  parseReceipt,
  serializeReceipt,
  type Receipt,
  type ReceiptAnchor,
  type ReceiptEncryption,
} from "../core/receipt";
import type { ChainContext } from "../chain/context";
import { EvidenceRegistryClient } from "../chain/evidence";
import { minedReceipt } from "../chain/rpc";
import { removeStaleTemps, syncFiles, writeFileAtomic } from "../util/fs";
import { assertUnchanged, collectFiles, hashFileVersion, receiptPathFor, type SkippedEntry } from "./files";
import { StampQueue, type QueuedItem, type StampBatch } from "./queue";

/** Progress of a stamp, for a progress line on a terminal. */
export type StampProgress =
  | { phase: "hash"; file: string; index: number; count: number; bytes: number; size: number }
  | { phase: "send"; root: Hex; leafCount: number }
  | { phase: "sent"; txHash: Hex }
  | { phase: "receipts"; count: number };

export interface StampOptions {
  chain: ChainContext;
  /** Files and folders to stamp. Empty with `resumeOnly`. */
  inputs: string[];
  meta?: EvidenceMeta;
  /** Write receipts into this folder instead of beside each file. */
  outDir?: string;
  /** Only finish queued batches. */
  resumeOnly?: boolean;
  /** Keeps a file in a content store before anchoring (returns its CID and, if encrypted, the key). */
  keep?: (file: string) => Promise<{ cid: string; encryption?: ReceiptEncryption }>;
  /** A file's perceptual fingerprint (text form), committed as `meta.fingerprint`; undefined for files that have none. */
  fingerprint?: (file: string) => Promise<string | undefined>;
  onProgress?: (p: StampProgress) => void;
  /**
   * What is committed for a file when it is not the file's own bytes (a WACZ commits its signed
   * datapackage-digest.json): its digest, the name for the receipt and metadata added to `meta`;
   * undefined for a file whose own bytes are committed.
   */
  subjectOf?: (
    file: string,
  ) => Promise<{ sha256: string; size: number; name?: string; meta?: EvidenceMeta } | undefined>;
}

/** What a file's stamp came to. */
export interface StampedFile {
  file: string;
  receiptPath: string;
  sha256: string;
  size: number;
  /** "stamped" now, "resumed" from an earlier interrupted run, or "unchanged" (already stamped). */
  status: "stamped" | "resumed" | "unchanged";
  anchor: ReceiptAnchor;
  cid?: string;
}

export interface StampResult {
  files: StampedFile[];
  /** Roots anchored by this call (one per batch). */
  batches: Array<{ root: Hex; leafCount: number; txHash: Hex; resumed: boolean }>;
  /** Batches left in the queue for another chain. */
  pendingElsewhere: Array<{ root: Hex; chainId: number; leafCount: number }>;
  /** Entries of the folders stamped that were not stamped (symbolic links, FIFOs, devices…), and why. */
  skipped: SkippedEntry[];
}

/**
 * Stamps files: hashes them, commits each with a fresh salt, builds one Merkle tree, queues the
 * batch on disk, sends **one** anchoring transaction, waits for it, makes the chain state durable,
 * then writes one receipt per file. Queued batches of earlier interrupted runs are finished first.
 * Files whose existing receipt already covers their current content are left as they are.
 *
 * @example
 * const chain = await openChain({ dataDir });
 * const result = await stampFiles({ chain, inputs: ["designs/"], meta: { author: "Li Wei" } });
 */
export async function stampFiles(opts: StampOptions): Promise<StampResult> {
  const queue = new StampQueue(opts.chain.dataDir);
  // One stamp at a time per data folder: the queue, the receipts and the signer's nonces are
  // shared. A second stamp waits its turn; then it sees the first one's receipts and batches.
  return queue.exclusive(() => stampExclusive(opts, queue));
}

async function stampExclusive(opts: StampOptions, queue: StampQueue): Promise<StampResult> {
  const { chain } = opts;
  const registry = new EvidenceRegistryClient(await chain.registryAddress("EvidenceRegistry"), await chain.signer());
  const result: StampResult = { files: [], batches: [], pendingElsewhere: [], skipped: [] };

  for (const batch of queue.list()) {
    if (batch.chainId !== chain.chainId || batch.registry.toLowerCase() !== registry.address.toLowerCase()) {
      result.pendingElsewhere.push({ root: batch.root, chainId: batch.chainId, leafCount: batch.leafCount });
      continue;
    }
    const anchor = await anchorBatch(batch, registry, queue, chain, opts.onProgress);
    result.batches.push({ root: batch.root, leafCount: batch.leafCount, txHash: anchor.txHash, resumed: true });
    result.files.push(...finishBatch(batch, anchor, queue, "resumed", opts.onProgress));
  }
  if (opts.resumeOnly) return result;

  const files = collectFiles(opts.inputs, result.skipped);
  const baseDir = process.cwd();
  const receiptPaths = receiptPathsFor(files, opts.outDir, baseDir);
  const items: QueuedItem[] = [];
  for (let i = 0; i < files.length; i++) {
    const file = path.resolve(files[i]);
    const size = fs.statSync(file).size;
    // A subject given by the caller (a WACZ's signed digest file) or the file's own digest, with the
    // size/mtime version it was hashed at (checked again after the file is kept in the store).
    const subject = await opts.subjectOf?.(file);
    const digest =
      subject ??
      (await hashFileVersion(file, (bytes) =>
        opts.onProgress?.({ phase: "hash", file: files[i], index: i, count: files.length, bytes, size }),
      ));
    const receiptPath = receiptPaths[i];
    const existing = readExistingReceipt(receiptPath);
    if (existing && existing.subject.sha256 === digest.sha256) {
      result.files.push({
        file,
        receiptPath,
        sha256: digest.sha256,
        size: digest.size,
        status: "unchanged",
        anchor: existing.anchors[0],
        cid: existing.subject.cid,
      });
      continue;
    }
    const fingerprint = await opts.fingerprint?.(file);
    const meta = { ...opts.meta, ...subject?.meta, ...(fingerprint === undefined ? {} : { fingerprint }) };
    const salt = randomSalt();
    const item: QueuedItem = {
      file,
      receiptPath,
      name: subject?.name ?? path.basename(file),
      size: digest.size,
      sha256: digest.sha256,
      salt,
      meta,
      leaf: computeLeaf({ sha256: digest.sha256, salt, meta }),
    };
    if (opts.keep) {
      Object.assign(item, await opts.keep(file));
      if ("version" in digest) assertUnchanged(file, digest.version); // the stored copy must be the hashed content
    }
    items.push(item);
  }
  if (items.length === 0) return result;

  const tree = MerkleTree.build(items.map((it) => it.leaf));
  const batch: StampBatch = {
    format: "proofmark-stamp-batch",
    version: 1,
    createdAt: new Date().toISOString(),
    chainId: chain.chainId,
    registry: registry.address.toLowerCase(),
    root: tree.root,
    leafCount: tree.leafCount,
    items,
  };
  queue.save(batch);
  crashForTest("after-queue");
  const anchor = await anchorBatch(batch, registry, queue, chain, opts.onProgress);
  result.batches.push({ root: batch.root, leafCount: batch.leafCount, txHash: anchor.txHash, resumed: false });
  result.files.push(...finishBatch(batch, anchor, queue, "stamped", opts.onProgress, tree));
  return result;
}

/**
 * The receipt path of each file; INVALID_ARGUMENT, before any work, when two different files would
 * get the same receipt (`--out receipts` with ../a/report.txt and ../b/report.txt).
 */
function receiptPathsFor(files: string[], outDir: string | undefined, baseDir: string): string[] {
  const seen = new Map<string, string>();
  return files.map((f) => {
    const receiptPath = path.resolve(receiptPathFor(f, outDir, baseDir));
    const other = seen.get(receiptPath);
    if (other !== undefined && other !== path.resolve(f)) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `${other} and ${f} would both get the receipt ${receiptPath}${outDir ? ` (files outside the current folder keep only their name under --out)` : ""}; nothing was stamped. Stamp them in separate runs with different receipt folders, or from a folder that contains both`,
        { files: [other, path.resolve(f)], receiptPath },
      );
    }
    seen.set(receiptPath, path.resolve(f));
    return receiptPath;
  });
}

/** Anchors a queued batch exactly once: an already anchored root is recovered, not resent. */
async function anchorBatch(
  batch: StampBatch,
  registry: EvidenceRegistryClient,
  queue: StampQueue,
  chain: ChainContext,
  onProgress?: (p: StampProgress) => void,
): Promise<ReceiptAnchor> {
  const found = await registry.findAnchor(batch.root);
  if (found) {
    await chain.persist();
    return found;
  }
  if (batch.txHash) {
    const tx = await chain.provider.getTransaction(batch.txHash);
    if (tx) {
      const mined = await minedReceipt(tx);
      if (mined && mined.status === 1) {
        await chain.persist();
        return registry.anchorFromReceipt(mined, batch.root);
      }
    }
  }
  onProgress?.({ phase: "send", root: batch.root, leafCount: batch.leafCount });
  try {
    const anchor = await registry.anchor(batch.root, batch.leafCount, (txHash) => {
      batch.txHash = txHash;
      delete batch.lastError;
      queue.save(batch);
      onProgress?.({ phase: "sent", txHash });
      crashForTest("after-send");
    });
    await chain.persist();
    return anchor;
  } catch (e) {
    batch.lastError = (e as Error).message;
    queue.save(batch);
    if (isProofmarkError(e)) {
      throw new ProofmarkError(
        e.code,
        `${e.message}. The ${batch.leafCount} file(s) stay queued and are anchored when the queue is resumed`,
        { ...e.details, root: batch.root, queued: true },
        { cause: e },
      );
    }
    throw e;
  }
}

function finishBatch(
  batch: StampBatch,
  anchor: ReceiptAnchor,
  queue: StampQueue,
  status: "stamped" | "resumed",
  onProgress?: (p: StampProgress) => void,
  builtTree?: MerkleTree,
): StampedFile[] {
  const tree = builtTree ?? MerkleTree.build(batch.items.map((it) => it.leaf));
  const out: StampedFile[] = [];
  batch.items.forEach((item, index) => {
    const receipt: Receipt = {
      format: "proofmark-receipt",
      version: 1,
      subject: { name: item.name, size: item.size, sha256: item.sha256, ...(item.cid ? { cid: item.cid } : {}) },
      commitment: { salt: item.salt, meta: item.meta, leaf: item.leaf },
      proof: { root: batch.root, path: tree.proof(index), leafCount: batch.leafCount },
      anchors: [anchor],
      ...(item.encryption ? { encryption: item.encryption } : {}),
    };
    const text = serializeReceipt(receipt);
    const fresh = keepEarlierReceipt(item.receiptPath, item.sha256, text);
    // the batch stays queued until the receipts are synced, so a torn receipt is rewritten on resume
    writeFileAtomic(item.receiptPath, text, { durable: false, fresh });
    out.push({
      file: item.file,
      receiptPath: item.receiptPath,
      sha256: item.sha256,
      size: item.size,
      status,
      anchor,
      cid: item.cid,
    });
  });
  syncFiles(out.map((f) => f.receiptPath));
  for (const dir of new Set(out.map((f) => path.dirname(f.receiptPath)))) removeStaleTemps(dir);
  onProgress?.({ phase: "receipts", count: out.length });
  queue.remove(batch.root);
  return out;
}

function readExistingReceipt(receiptPath: string): Receipt | undefined {
  if (!fs.existsSync(receiptPath)) return undefined;
  try {
    return parseReceipt(fs.readFileSync(receiptPath, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * A receipt for an earlier version of a file is evidence too: keep it as `x.proof.<n>.json`.
 * A receipt this very batch started to write and a crash or a full disk cut short (its bytes are
 * a beginning of `text`, possibly none) is not an earlier receipt: it is rewritten.
 * Returns true when no receipt is left at `receiptPath` (so the new one can be created in place).
 */
function keepEarlierReceipt(receiptPath: string, newSha256: string, text: string): boolean {
  if (!fs.existsSync(receiptPath)) return true;
  if (readExistingReceipt(receiptPath)?.subject.sha256 === newSha256) return false;
  const st = fs.statSync(receiptPath);
  if (
    st.isFile() &&
    st.size <= Buffer.byteLength(text) &&
    Buffer.from(text).subarray(0, st.size).equals(fs.readFileSync(receiptPath))
  )
    return false;
  const base = receiptPath.replace(/\.json$/, "");
  let n = 1;
  while (fs.existsSync(`${base}.${n}.json`)) n++;
  fs.renameSync(receiptPath, `${base}.${n}.json`);
  return true;
}

/**
 * Fault injection for the crash-safety tests: PROOFMARK_TEST_CRASH=after-queue|after-send kills
 * this process with SIGKILL at that point, as a power cut would.
 */
function crashForTest(point: "after-queue" | "after-send"): void {
  if (process.env.PROOFMARK_TEST_CRASH === point) process.kill(process.pid, "SIGKILL");
}
