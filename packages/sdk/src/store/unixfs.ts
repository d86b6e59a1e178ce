import { createHash } from "node:crypto";
import { create as createDigest } from "multiformats/hashes/digest";
import { UnixFS } from "ipfs-unixfs";
import { loadDagPb } from "./esm";
import { ProofmarkError } from "../core/errors";
import { CID, DAG_PB_CODE, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, RAW_CODE, SHA2_256 } from "./blocks";
import type { ContentSource } from "./types";

/** Where {@link addUnixfsFile} puts blocks: the embedded store's write transaction, or any blockstore-like `put`. */
export interface BlockSink {
  put(cid: CID, bytes: Uint8Array): unknown;
}

/** Chunk size and link limit of a balanced UnixFS DAG with CIDv1 raw leaves. */
export interface UnixfsLayout {
  chunkSize: number;
  maxLinks: number;
}

/** Kubo's `ipfs add --cid-version 1` defaults: 256 KiB chunks, at most 174 links per node. */
export const KUBO_LAYOUT: UnixfsLayout = Object.freeze({ chunkSize: KUBO_CHUNK_SIZE, maxLinks: KUBO_MAX_LINKS });

/** A node of the DAG under construction: its CID, Tsize (block + everything below) and file bytes. */
interface DagNode {
  cid: CID;
  tsize: number;
  fileSize: number;
}

function sha256Cid(code: number, bytes: Uint8Array): CID {
  return CID.createV1(code, createDigest(SHA2_256, createHash("sha256").update(bytes).digest()));
}

/**
 * Builds the UnixFS file DAG that `ipfs-unixfs-importer` builds with {@link kuboImporterOptions}
 * (CIDv1, sha2-256, raw leaves, fixed-size chunks, balanced layout, a one-chunk file is its own
 * raw block), block for block, and puts every block into `sink`. It is the importer's algorithm
 * without its per-chunk async generators: input pieces are cut into chunks without copying
 * (a chunk that straddles two pieces is copied once), each chunk is hashed with node:crypto, and
 * parents are built from batches of `maxLinks` children exactly as the importer's `balanced`
 * layout and file reducer do — links `{ Name: "", Tsize, Hash }`, Tsize = child block length +
 * its children's Tsize, UnixFS `{ type: "file", blockSizes }`, dag-pb encoded. Leaf parents are
 * built while reading; the levels above at the end (there are few: 174² chunks are 7.4 GiB).
 * Like the importer, it assumes the producer does not reuse a buffer after yielding it.
 * `test/store/fastpath.test.ts` checks it against the importer, block for block.
 *
 * @example
 * const { cid, size } = await addUnixfsFile(fs.createReadStream(file, { highWaterMark: 1 << 20 }), tx);
 */
export async function addUnixfsFile(
  content: ContentSource,
  sink: BlockSink,
  layout: UnixfsLayout = KUBO_LAYOUT,
  onBytes?: (bytes: number) => void,
): Promise<{ cid: CID; size: number }> {
  const { chunkSize, maxLinks } = layout;
  if (!(Number.isSafeInteger(chunkSize) && chunkSize > 0 && Number.isSafeInteger(maxLinks) && maxLinks >= 2)) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `a UnixFS layout needs a positive chunk size and at least 2 links per node (got ${chunkSize}, ${maxLinks})`,
      { chunkSize, maxLinks },
    );
  }
  const dagPb = await loadDagPb();
  let size = 0;
  let chunks = 0;
  let leaves: DagNode[] = [];
  const parents: DagNode[] = [];

  const put = async (cid: CID, bytes: Uint8Array): Promise<void> => {
    const r = sink.put(cid, bytes);
    if (r instanceof Promise) await r;
  };

  // The importer's file reducer for a batch of more than one chunk, or for any batch above the leaves.
  const parentOf = async (children: DagNode[]): Promise<DagNode> => {
    const unixfs = new UnixFS({ type: "file" });
    const links = [];
    let tsize = 0;
    let fileSize = 0;
    for (const c of children) {
      if (c.fileSize <= 0) continue; // the importer drops empty children (never happens with fixed-size chunks)
      unixfs.addBlockSize(BigInt(c.fileSize));
      links.push({ Name: "", Tsize: c.tsize, Hash: c.cid });
      tsize += c.tsize;
      fileSize += c.fileSize;
    }
    const block = dagPb.encode(dagPb.prepare({ Data: unixfs.marshal(), Links: links }));
    const cid = sha256Cid(DAG_PB_CODE, block);
    await put(cid, block);
    return { cid, tsize: block.length + tsize, fileSize };
  };

  const leaf = async (chunk: Uint8Array): Promise<void> => {
    const cid = sha256Cid(RAW_CODE, chunk);
    await put(cid, chunk);
    chunks++;
    leaves.push({ cid, tsize: chunk.length, fileSize: chunk.length });
    if (leaves.length === maxLinks) {
      parents.push(await parentOf(leaves));
      leaves = [];
    }
  };

  // Cut the input into chunks of exactly chunkSize (the last one shorter).
  let held: Uint8Array[] = [];
  let heldLen = 0;
  const take = async (piece: Uint8Array): Promise<void> => {
    if (!(piece instanceof Uint8Array)) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        "content must yield Uint8Array chunks (open files with fs.createReadStream without an encoding)",
        {},
      );
    }
    size += piece.length;
    onBytes?.(size);
    let at = 0;
    if (heldLen > 0) {
      const n = Math.min(chunkSize - heldLen, piece.length);
      held.push(piece.subarray(0, n));
      heldLen += n;
      at = n;
      if (heldLen < chunkSize) return;
      const whole = Buffer.concat(held, chunkSize);
      held = [];
      heldLen = 0;
      await leaf(whole);
    }
    for (; piece.length - at >= chunkSize; at += chunkSize) await leaf(piece.subarray(at, at + chunkSize));
    if (at < piece.length) {
      held.push(piece.subarray(at));
      heldLen += piece.length - at;
    }
  };

  if (content instanceof Uint8Array) {
    await take(content);
  } else if (content != null && typeof (content as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") {
    for await (const piece of content as AsyncIterable<Uint8Array>) await take(piece);
  } else if (content != null && typeof (content as Iterable<Uint8Array>)[Symbol.iterator] === "function") {
    for (const piece of content as Iterable<Uint8Array>) await take(piece);
  } else {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      "content must be bytes or an (async) iterable of Uint8Array chunks, such as fs.createReadStream(file)",
      {},
    );
  }
  // The importer's chunker emits the remainder, or one empty chunk for an empty file.
  if (heldLen > 0 || chunks === 0)
    await leaf(heldLen === 0 ? new Uint8Array(0) : held.length === 1 ? held[0] : Buffer.concat(held, heldLen));

  // reduceSingleLeafToSelf: a one-chunk file is its raw leaf.
  if (chunks === 1) return { cid: leaves[0].cid, size };
  if (leaves.length > 0) parents.push(await parentOf(leaves));
  // The importer's balanced layout: batches of maxLinks, level by level, until one root is left.
  let level = parents;
  while (level.length > 1) {
    const up: DagNode[] = [];
    for (let i = 0; i < level.length; i += maxLinks) up.push(await parentOf(level.slice(i, i + maxLinks)));
    level = up;
  }
  return { cid: level[0].cid, size };
}
