/**
 * The content store vocabulary, shared by the embedded store, the Kubo store, the CLI and the
 * portal. Content is addressed by CID strings (CIDv1, base32) and always read back verified.
 */

/** What can be added: bytes, or a stream of byte chunks (e.g. `fs.createReadStream(path)`). */
export type ContentSource = Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

/** Options of {@link ContentStore.add}. */
export interface AddOptions {
  /** File name, kept for `ls` (never part of the CID). */
  name?: string;
  /** True when the bytes are Proofmark ciphertext (recorded for `ls`; the key is never stored). */
  encrypted?: boolean;
  /** Called with the number of plaintext bytes read so far. */
  onBytes?: (bytes: number) => void;
}

/** One root kept by the store (something added or imported, protected from gc). */
export interface StoreEntry {
  /** CIDv1 of the content, base32 (`bafy…` for multi-block files, `bafk…` for one raw block). */
  cid: string;
  /** Size of the content in bytes (for imported CARs: the UnixFS file size when known). */
  size: number;
  name?: string;
  encrypted?: boolean;
  /** When it was added, ISO 8601 UTC. */
  addedAt: string;
}

/** Result of {@link ContentStore.add}. */
export interface AddResult {
  cid: string;
  size: number;
}

/** Result of {@link ContentStore.gc}. */
export interface GcResult {
  /** Blocks removed because no root reaches them any more. */
  removedBlocks: number;
  /** Bytes of block data freed on disk. */
  freedBytes: number;
  /** Blocks kept. */
  keptBlocks: number;
}

/**
 * A content-addressed store. Every read is verified against the CID; a missing block is a
 * BLOCK_MISSING error and a corrupted one a CID_MISMATCH error, both naming the block.
 *
 * @example
 * const store = openEmbeddedStore(".proofmark");
 * const { cid } = await store.add(fs.createReadStream("design.png"), { name: "design.png" });
 * for await (const chunk of store.get(cid)) process.stdout.write(chunk);
 */
export interface ContentStore {
  /** Adds a file's bytes; returns the CID any IPFS node (`ipfs add --cid-version 1`) gives. */
  add(content: ContentSource, options?: AddOptions): Promise<AddResult>;
  /** Adds several files as one atomic, durable batch (one fsync); results in input order. */
  addAll(files: Array<{ content: ContentSource } & AddOptions>): Promise<AddResult[]>;
  /** The file's bytes, each block verified before it is yielded. */
  get(cid: string): AsyncIterable<Uint8Array>;
  /** True when the whole DAG under `cid` is present (blocks are not re-hashed). */
  has(cid: string): Promise<boolean>;
  /** Roots kept by the store. */
  list(): Promise<StoreEntry[]>;
  /** Stops keeping a root; its blocks go at the next gc unless another root uses them. */
  remove(cid: string): Promise<boolean>;
  /** Deletes blocks that no root reaches. */
  gc(): Promise<GcResult>;
  /** The DAG under `cid` as a CARv1 stream (root = cid), blocks verified. */
  exportCar(cid: string): AsyncIterable<Uint8Array>;
  /** Imports a CAR: verifies every block, keeps its roots; returns the root CIDs. */
  importCar(car: AsyncIterable<Uint8Array>): Promise<string[]>;
  /** Releases file handles. */
  close(): Promise<void>;
}
