import * as path from "node:path";
import type { CarBlockIterator } from "@ipld/car";
import { UnixFS } from "ipfs-unixfs";
import { loadCar, loadDagPb } from "./esm";
import { diskFullError } from "../util/fs";
import { ProofmarkError, isProofmarkError } from "../core/errors";
import {
  CID,
  DAG_PB_CODE,
  IDENTITY,
  MAX_BLOCK_BYTES,
  MAX_DAG_DEPTH,
  RAW_CODE,
  blockKey,
  checkCidSize,
  linksOf,
  parseCid,
  verifyBlock,
} from "./blocks";
import { KUBO_LAYOUT, addUnixfsFile } from "./unixfs";
import { PackStore, type PackTxn, type RepairResult, type RootMeta } from "./packstore";
import type { AddOptions, AddResult, ContentSource, ContentStore, GcResult, StoreEntry } from "./types";

/** Sibling blocks read ahead while reading a file. */
const READ_AHEAD = 16;

/** Default data folder of a Proofmark project; the embedded store lives in `<dataDir>/store/`. */
export const DEFAULT_DATA_DIR = ".proofmark";

/** Wraps importer/exporter errors that are not ours into STORE_FAILED, keeping ours intact. */
function wrap(e: unknown, what: string): never {
  if (isProofmarkError(e)) throw e;
  const full = diskFullError(e);
  if (full) throw full;
  const err = e as NodeJS.ErrnoException;
  if (err?.code === "ENOENT")
    throw new ProofmarkError("FILE_NOT_FOUND", `${what}: ${err.message}`, { path: err.path }, { cause: e });
  throw new ProofmarkError("STORE_FAILED", `${what}: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
}

function tooDeep(cid: CID): ProofmarkError {
  return new ProofmarkError(
    "INPUT_TOO_LARGE",
    `the DAG under ${cid} is deeper than ${MAX_DAG_DEPTH} levels; no UnixFS file needs that many (a balanced tree of 174 links per node holds any file in 6), so it is refused`,
    { cid: cid.toString(), limit: MAX_DAG_DEPTH },
  );
}

/**
 * The embedded content store: blocks identical to Kubo's `ipfs add --cid-version 1`, kept in
 * append-only pack files under `<dataDir>/store/`, every read verified, crash-safe writes.
 *
 * @example
 * const store = new EmbeddedStore(".proofmark");
 * const { cid } = await store.add(fs.createReadStream("photo.jpg"), { name: "photo.jpg" });
 * // cid === the CID `ipfs add --cid-version 1 photo.jpg` prints
 */
export class EmbeddedStore implements ContentStore {
  /** The store folder, `<dataDir>/store`. */
  readonly dir: string;
  readonly packs: PackStore;

  constructor(dataDir: string = DEFAULT_DATA_DIR) {
    this.dir = path.join(path.resolve(dataDir), "store");
    this.packs = new PackStore(this.dir);
  }

  async add(content: ContentSource, options: AddOptions = {}): Promise<AddResult> {
    return (await this.addAll([{ content, ...options }]))[0];
  }

  async addAll(files: Array<{ content: ContentSource } & AddOptions>): Promise<AddResult[]> {
    return this.packs.write(async (tx) => {
      const results: AddResult[] = [];
      for (const file of files) {
        let root: CID;
        let size: number;
        try {
          ({ cid: root, size } = await addUnixfsFile(file.content, tx, KUBO_LAYOUT, file.onBytes));
        } catch (e) {
          wrap(e, `adding ${file.name ?? "content"} to the store failed`);
        }
        const cid = root.toString();
        const meta: RootMeta = { size, addedAt: new Date().toISOString() };
        if (file.name !== undefined) meta.name = file.name;
        if (file.encrypted) meta.encrypted = true;
        tx.addRoot(cid, meta);
        results.push({ cid, size });
      }
      return results;
    });
  }

  /** Bytes of a file (or raw block), each block verified before it is yielded. */
  async *get(cidText: string): AsyncGenerator<Uint8Array> {
    const cid = parseCid(cidText);
    await this.packs.open();
    yield* this.fileBytes(cid, await this.packs.readBlock(cid), 0);
  }

  /**
   * Walks a UnixFS file depth first, in order, reading up to READ_AHEAD sibling blocks ahead
   * (reads overlap with hashing). A block is yielded only after it was verified, and an error
   * in a prefetched block surfaces only when the walk reaches it, so the bytes before it are
   * exactly the file's.
   */
  private async *fileBytes(cid: CID, bytes: Uint8Array, depth: number): AsyncGenerator<Uint8Array> {
    if (depth > MAX_DAG_DEPTH) throw tooDeep(cid);
    if (cid.code === RAW_CODE) {
      if (bytes.length > 0) yield bytes;
      return;
    }
    if (cid.code !== DAG_PB_CODE) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `${cid} uses codec 0x${cid.code.toString(16)}; only UnixFS files (dag-pb) and raw blocks can be read as files`,
        { cid: cid.toString() },
      );
    }
    const node = (await loadDagPb()).decode(bytes);
    let unixfs: UnixFS;
    try {
      unixfs = UnixFS.unmarshal(node.Data ?? new Uint8Array());
    } catch (e) {
      throw new ProofmarkError(
        "STORE_FAILED",
        `${cid} is a dag-pb block but not a UnixFS node (${(e as Error).message})`,
        { cid: cid.toString() },
      );
    }
    if (unixfs.type !== "file" && unixfs.type !== "raw") {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `${cid} is a UnixFS ${unixfs.type}, not a file; Proofmark stores single files`,
        { cid: cid.toString() },
      );
    }
    if (unixfs.data && unixfs.data.length > 0) yield unixfs.data;
    const links = node.Links.map((l) => l.Hash as unknown as CID);
    const ahead: Array<Promise<Uint8Array>> = [];
    let next = 0;
    for (let i = 0; i < links.length; i++) {
      while (ahead.length < READ_AHEAD && next < links.length) {
        const p = this.packs.readBlock(links[next++]);
        p.catch(() => undefined); // awaited below, in order
        ahead.push(p);
      }
      yield* this.fileBytes(links[i], await ahead.shift()!, depth + 1);
    }
  }

  /** Bytes of one block, verified. */
  async getBlock(cidText: string | CID): Promise<Uint8Array> {
    await this.packs.open();
    return this.packs.readBlock(typeof cidText === "string" ? parseCid(cidText) : cidText);
  }

  async has(cidText: string): Promise<boolean> {
    const cid = parseCid(cidText);
    await this.packs.open();
    await this.packs.refresh();
    const stack = [cid];
    while (stack.length > 0) {
      const c = stack.pop()!;
      if (!this.packs.hasBlock(c)) return false;
      if (c.code === DAG_PB_CODE && c.multihash.code !== IDENTITY)
        stack.push(...(await linksOf(c, await this.packs.readBlock(c))));
    }
    return true;
  }

  async list(): Promise<StoreEntry[]> {
    await this.packs.open();
    await this.packs.refresh();
    return [...this.packs.roots()]
      .map(([cid, m]) => ({ cid, ...m }))
      .sort((a, b) => a.addedAt.localeCompare(b.addedAt) || a.cid.localeCompare(b.cid));
  }

  async remove(cidText: string): Promise<boolean> {
    const cid = parseCid(cidText).toV1().toString();
    return this.packs.write(async (tx) => {
      if (!this.packs.roots().has(cid)) return false;
      tx.removeRoot(cid);
      return true;
    });
  }

  async gc(): Promise<GcResult> {
    return this.packs.compact(async (packs) => {
      const live = new Set<string>();
      const stack = [...packs.roots().keys()].map((c) => CID.parse(c));
      while (stack.length > 0) {
        const c = stack.pop()!;
        const key = blockKey(c);
        if (live.has(key) || c.multihash.code === IDENTITY) continue;
        live.add(key);
        if (c.code === DAG_PB_CODE && packs.hasBlock(c)) stack.push(...(await linksOf(c, await packs.readBlock(c))));
      }
      return live;
    });
  }

  /** Blocks of the DAG under `root`, depth first (the order `ipfs dag export` writes). */
  private async *walk(root: CID): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
    const stack = [root];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const c = stack.pop()!;
      const key = blockKey(c);
      if (seen.has(key)) continue;
      seen.add(key);
      const bytes = await this.packs.readBlock(c);
      yield { cid: c, bytes };
      const links = await linksOf(c, bytes);
      for (let i = links.length - 1; i >= 0; i--) stack.push(links[i]);
    }
  }

  async *exportCar(cidText: string): AsyncGenerator<Uint8Array> {
    const root = parseCid(cidText);
    await this.packs.open();
    // Fail before the first byte when the root itself is missing or corrupt.
    await this.packs.readBlock(root);
    const { CarWriter } = await loadCar();
    const { writer, out } = CarWriter.create([root]);
    let failure: unknown;
    const pump = (async () => {
      try {
        for await (const block of this.walk(root)) await writer.put(block);
      } catch (e) {
        failure = e;
      } finally {
        await writer.close();
      }
    })();
    for await (const chunk of out) yield chunk;
    await pump;
    if (failure !== undefined) wrap(failure, `exporting ${root} as CAR failed`);
  }

  async importCar(car: AsyncIterable<Uint8Array>): Promise<string[]> {
    let blocks: CarBlockIterator;
    try {
      blocks = await (await loadCar()).CarBlockIterator.fromIterable(car);
    } catch (e) {
      throw new ProofmarkError("INVALID_ARGUMENT", `not a CAR file: ${(e as Error).message}`, {}, { cause: e });
    }
    const roots = await blocks.getRoots();
    for (const r of roots) checkCidSize(r as CID, "the CAR file's header");
    if (roots.length === 0)
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        "the CAR names no root; export it with its root (a CAR exported by Proofmark or by `ipfs dag export` has one)",
        {},
      );
    return this.packs.write(async (tx) => {
      const links = new Map<string, CID[]>();
      const rootBlocks = new Map<string, Uint8Array>();
      const rootKeys = new Set(roots.map((r) => blockKey(r as CID)));
      try {
        for await (const { cid, bytes } of blocks) {
          const c = cid as unknown as CID;
          if (c.code !== RAW_CODE && c.code !== DAG_PB_CODE) {
            throw new ProofmarkError(
              "INVALID_ARGUMENT",
              `block ${c} uses codec 0x${c.code.toString(16)}; the store accepts UnixFS (dag-pb) and raw blocks only`,
              { cid: c.toString() },
            );
          }
          checkCidSize(c, "the CAR file");
          if (bytes.length > MAX_BLOCK_BYTES) {
            throw new ProofmarkError(
              "INPUT_TOO_LARGE",
              `block ${c} in the CAR file is ${bytes.length} bytes; the store accepts blocks up to ${MAX_BLOCK_BYTES} bytes`,
              { cid: c.toString(), size: bytes.length, limit: MAX_BLOCK_BYTES },
            );
          }
          verifyBlock(c, bytes, "the CAR file");
          const key = blockKey(c);
          if (c.code === DAG_PB_CODE) {
            const linked = await linksOf(c, bytes);
            for (const l of linked) checkCidSize(l, `block ${c} of the CAR file`);
            links.set(key, linked);
          }
          if (rootKeys.has(key)) rootBlocks.set(key, bytes);
          await tx.put(c, bytes);
        }
      } catch (e) {
        wrap(e, "importing the CAR failed");
      }
      const out: string[] = [];
      for (const r of roots) {
        const root = (r as CID).toV1();
        await this.checkComplete(root, tx, links);
        const bytes = rootBlocks.get(blockKey(root)) ?? (await this.packs.readBlock(root));
        let size = bytes.length;
        if (root.code === DAG_PB_CODE) {
          const data = (await loadDagPb()).decode(bytes).Data;
          if (data) size = Number(UnixFS.unmarshal(data).fileSize());
        }
        tx.addRoot(root.toString(), { size, addedAt: new Date().toISOString() });
        out.push(root.toString());
      }
      return out;
    });
  }

  /** Throws BLOCK_MISSING unless every block under `root` is committed or in `tx`. */
  private async checkComplete(root: CID, tx: PackTxn, pendingLinks: Map<string, CID[]>): Promise<void> {
    const stack: Array<[CID, number]> = [[root, 0]];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const [c, depth] = stack.pop()!;
      if (depth > MAX_DAG_DEPTH) throw tooDeep(root);
      const key = blockKey(c);
      if (seen.has(key) || c.multihash.code === IDENTITY) continue;
      seen.add(key);
      if (!tx.hasBlock(c)) {
        throw new ProofmarkError(
          "BLOCK_MISSING",
          `the CAR is incomplete: block ${c} under root ${root} is neither in the CAR nor in the store; export the full DAG (ipfs dag export ${root})`,
          { cid: c.toString(), root: root.toString() },
        );
      }
      if (c.code === DAG_PB_CODE)
        for (const l of pendingLinks.get(key) ?? (await linksOf(c, await this.packs.readBlock(c))))
          stack.push([l, depth + 1]);
    }
  }

  /**
   * Rebuilds the store's index from its pack files (after STORE_CORRUPT). The old index is kept
   * beside the new one; no block is removed.
   */
  async repair(): Promise<RepairResult> {
    return this.packs.rebuildIndex();
  }

  async close(): Promise<void> {
    await this.packs.close();
  }
}

/**
 * Opens (creating on first write) the embedded store of a data folder.
 *
 * @example
 * const store = openEmbeddedStore(); // .proofmark/store
 */
export function openEmbeddedStore(dataDir: string = DEFAULT_DATA_DIR): EmbeddedStore {
  return new EmbeddedStore(dataDir);
}
