import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { ProofmarkError } from "../core/errors";
import { CID, IDENTITY, blockKey, verifyBlock } from "./blocks";
import { diskFullError, withLockFile } from "../util/fs";

/**
 * Block storage of the embedded store: append-only pack files plus an append-only index log.
 *
 *   <dir>/packs/<id>.pack   "PMPACK02", then entries: u32 len | u8 type | body
 *                             BLOCK: u8 cid length | cid | block bytes (checked by the CID)
 *                             MARK:  JSON of the roots a commit added/removed | 16-byte SHA-256 prefix
 *                           (packs written before this format hold bare block bytes, no header)
 *   <dir>/index.log         "PMSTORE1", then records: u32 len | u8 type | payload | 16-byte SHA-256 prefix
 *   <dir>/LOCK              pid of the process writing (one writer at a time, across processes)
 *
 * A write (add, import, remove, gc) holds LOCK, appends blocks and then one MARK to the current
 * pack, fsyncs it, then appends one COMMIT record to the index and fsyncs that. A block or root
 * becomes visible only through a committed index record, so a process killed mid-add leaves
 * nothing visible. The packs carry everything the index says (CIDs, roots), so the index can be
 * rebuilt from them (`proofmark store repair`).
 *
 * The index is never trusted blindly before a write: a damaged record (bad checksum with data
 * after it) or a pack holding a MARK the index does not cover is STORE_CORRUPT, and nothing is
 * written or truncated until the index is repaired. Only a tail that provably holds no commit
 * (a torn index record whose MARK never reached the pack; pack bytes after the last MARK) is
 * dropped by the next writer.
 * gc writes the live blocks into a new pack and a new index (one snapshot record), renames
 * the index into place atomically, then deletes the old packs.
 */

const MAGIC = Buffer.from("PMSTORE1", "ascii");
const PACK_MAGIC = Buffer.from("PMPACK02", "ascii");
const ENTRY_BLOCK = 1;
const ENTRY_MARK = 2;
const REC_COMMIT = 1;
const REC_UNPIN = 2;
const CHECK_LEN = 16;
/** Start a new pack once the current one is this large. */
const PACK_ROLL_BYTES = 2 ** 31;
/** Blocks are gathered into vectored writes of about this size. */
const WRITE_BUFFER = 8 << 20;
/** At most this many bytes handed to the writer and not yet written (backpressure). */
const MAX_INFLIGHT = 64 << 20;
/** Start a background fdatasync after this many unsynced bytes, so the final fsync is short. */
const SYNC_EVERY = 64 << 20;
const LOCK_WAIT_MS = 30_000;

export interface BlockLoc {
  pack: number;
  offset: number;
  length: number;
}

export interface RootMeta {
  size: number;
  name?: string;
  encrypted?: boolean;
  addedAt: string;
}

interface PendingBlock extends BlockLoc {
  cid: Uint8Array;
}

function storeFailed(message: string, details: Record<string, unknown>, cause?: unknown): ProofmarkError {
  return new ProofmarkError("STORE_FAILED", message, details, cause === undefined ? undefined : { cause });
}

function storeCorrupt(file: string, offset: number, reason: string): ProofmarkError {
  return new ProofmarkError(
    "STORE_CORRUPT",
    `the content store is damaged: ${file} at offset ${offset} (${reason}); nothing was written. Repairing the store rebuilds the index from the pack files`,
    { file, offset, reason },
  );
}

/** What a MARK entry records: the roots a commit added and removed (`reset`: the full set, after gc). */
interface MarkBody {
  add: Array<[string, RootMeta]>;
  remove: string[];
  reset?: boolean;
}

function markEntry(mark: MarkBody): Buffer {
  const json = Buffer.from(JSON.stringify(mark), "utf8");
  const out = Buffer.allocUnsafe(4 + 1 + json.length + CHECK_LEN);
  out.writeUInt32LE(1 + json.length + CHECK_LEN, 0);
  out.writeUInt8(ENTRY_MARK, 4);
  json.copy(out, 5);
  checksum(out.subarray(4, 5 + json.length)).copy(out, 5 + json.length);
  return out;
}

function checksum(body: Buffer): Buffer {
  return createHash("sha256").update(body).digest().subarray(0, CHECK_LEN);
}

function writeU48(buf: Buffer, value: number, at: number): number {
  buf.writeUIntLE(value, at, 6);
  return at + 6;
}

/** Encoding of one COMMIT record's payload. */
function encodeCommit(pack: number, packEnd: number, blocks: PendingBlock[], roots: Array<[string, RootMeta]>): Buffer {
  const rootJson = roots.map(
    ([cid, meta]) => [CID.parse(cid).bytes, Buffer.from(JSON.stringify(meta), "utf8")] as const,
  );
  let size = 4 + 6 + 4 + 4;
  for (const b of blocks) size += 1 + b.cid.length + 6 + 4;
  for (const [c, j] of rootJson) size += 1 + c.length + 4 + j.length;
  const buf = Buffer.allocUnsafe(size);
  let at = buf.writeUInt32LE(pack, 0);
  at = writeU48(buf, packEnd, at);
  at = buf.writeUInt32LE(blocks.length, at);
  for (const b of blocks) {
    at = buf.writeUInt8(b.cid.length, at);
    at += Buffer.from(b.cid.buffer, b.cid.byteOffset, b.cid.byteLength).copy(buf, at);
    at = writeU48(buf, b.offset, at);
    at = buf.writeUInt32LE(b.length, at);
  }
  at = buf.writeUInt32LE(rootJson.length, at);
  for (const [c, j] of rootJson) {
    at = buf.writeUInt8(c.length, at);
    at += Buffer.from(c).copy(buf, at);
    at = buf.writeUInt32LE(j.length, at);
    at += j.copy(buf, at);
  }
  return buf;
}

function frame(type: number, payload: Buffer): Buffer {
  const body = Buffer.allocUnsafe(1 + payload.length);
  body.writeUInt8(type, 0);
  payload.copy(body, 1);
  const out = Buffer.allocUnsafe(4 + body.length + CHECK_LEN);
  out.writeUInt32LE(body.length, 0);
  body.copy(out, 4);
  checksum(body).copy(out, 4 + body.length);
  return out;
}

/** 2 for a pack that starts with PMPACK02, 1 for an older pack (bare block bytes), 0 when absent or empty. */
async function packVersion(file: string): Promise<number> {
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(file, "r");
  } catch {
    return 0;
  }
  try {
    const head = Buffer.alloc(PACK_MAGIC.length);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead === 0) return 0;
    return bytesRead === head.length && head.equals(PACK_MAGIC) ? 2 : 1;
  } finally {
    await fh.close();
  }
}

/** What one pass over a pack found (see {@link scanPack}). */
export interface PackScan {
  version: number;
  /** MARK entries found. */
  marks: number;
  firstMark?: number;
  /** Offset just after the last MARK. */
  lastMarkEnd?: number;
  /** Offset after the last readable entry. */
  end: number;
  /** Where reading stopped early, and why (a torn or damaged tail); undefined when it read to the end. */
  stopped?: { offset: number; reason: string };
}

/**
 * Reads the entries of a PMPACK02 pack from `from` (0: the start). With `onBlock`/`onMark`,
 * hands each block (checked against its CID when `verify`) and each MARK to the caller.
 */
async function scanPack(
  file: string,
  from: number,
  opts: {
    verify: boolean;
    stopAtMark?: boolean;
    onBlock?: (cid: CID, offset: number, length: number) => void;
    onMark?: (mark: MarkBody, offset: number) => void;
    onBadBlock?: (offset: number, reason: string) => void;
  },
): Promise<PackScan> {
  const version = await packVersion(file);
  const result: PackScan = { version, marks: 0, end: from };
  if (version !== 2) return result;
  const fh = await fsp.open(file, "r");
  try {
    const size = (await fh.stat()).size;
    let at = Math.max(from, PACK_MAGIC.length);
    result.end = at;
    const head = Buffer.allocUnsafe(4 + 1 + 1 + 255);
    while (at < size) {
      const { bytesRead } = await fh.read(head, 0, Math.min(head.length, size - at), at);
      if (bytesRead < 5) {
        result.stopped = { offset: at, reason: "entry header cut short" };
        break;
      }
      const len = head.readUInt32LE(0);
      const type = head.readUInt8(4);
      if (len < 2 || at + 4 + len > size || (type !== ENTRY_BLOCK && type !== ENTRY_MARK)) {
        result.stopped = { offset: at, reason: at + 4 + len > size ? "entry cut short" : "not an entry" };
        break;
      }
      if (type === ENTRY_BLOCK) {
        const cl = head.readUInt8(5);
        let cid: CID;
        try {
          cid = CID.decode(new Uint8Array(head.subarray(6, 6 + cl)));
        } catch {
          result.stopped = { offset: at, reason: "block entry with an unreadable CID" };
          break;
        }
        const offset = at + 6 + cl;
        const length = len - 2 - cl;
        if (length < 0) {
          result.stopped = { offset: at, reason: "block entry shorter than its CID" };
          break;
        }
        let good = true;
        if (opts.verify) {
          const bytes = Buffer.allocUnsafe(length);
          await fh.read(bytes, 0, length, offset);
          try {
            verifyBlock(cid, bytes, file);
          } catch (e) {
            good = false;
            opts.onBadBlock?.(at, (e as Error).message);
          }
        }
        if (good) opts.onBlock?.(cid, offset, length);
      } else {
        const body = Buffer.allocUnsafe(len);
        await fh.read(body, 0, len, at + 4);
        const jsonEnd = len - CHECK_LEN;
        if (jsonEnd < 1 || !checksum(body.subarray(0, jsonEnd)).equals(body.subarray(jsonEnd))) {
          result.stopped = { offset: at, reason: "commit mark checksum mismatch" };
          break;
        }
        result.marks++;
        result.firstMark ??= at;
        result.lastMarkEnd = at + 4 + len;
        if (opts.stopAtMark) {
          result.end = at + 4 + len;
          break;
        }
        let mark: MarkBody;
        try {
          mark = JSON.parse(body.subarray(1, jsonEnd).toString("utf8")) as MarkBody;
        } catch {
          result.stopped = { offset: at, reason: "commit mark is not JSON" };
          break;
        }
        opts.onMark?.(mark, at);
      }
      at += 4 + len;
      result.end = at;
    }
    return result;
  } finally {
    await fh.close();
  }
}

/** What `repair` found and rebuilt. */
export interface RepairResult {
  /** The damage in the old index, if it had any. */
  damage?: { file: string; offset: number; reason: string };
  /** Where the old index was kept. */
  keptAs?: string;
  blocks: number;
  roots: number;
  packs: number;
  /** Packs written before the PMPACK02 format: their blocks come from the old index's intact records only. */
  olderPacks: number;
  /** Entries that could not be read (damaged blocks are left out; a cut pack is read up to the cut). */
  problems: Array<{ file: string; offset: number; reason: string }>;
}

/** A write transaction: blocks put here become visible only when {@link PackStore.write} commits. */
export class PackTxn {
  readonly pending = new Map<string, PendingBlock>();
  readonly roots = new Map<string, RootMeta>();
  readonly unpinned = new Set<string>();
  /** Blocks gathered for the next vectored write (referenced, not copied). */
  private batch: Uint8Array[] = [];
  private batchLen = 0;
  private batchStart: number;
  next: number;
  private chain: Promise<unknown> = Promise.resolve();
  private syncing: Promise<unknown> = Promise.resolve();
  private unsynced = 0;
  private inflight = 0;
  private failed: unknown;
  /** False while gc copies blocks that are (still) committed in the old packs. */
  dedupe = true;

  constructor(
    private readonly store: PackStore,
    readonly pack: number,
    readonly fh: fsp.FileHandle,
    readonly start: number,
  ) {
    this.batchStart = start;
    this.next = start;
    if (start === 0) this.append(PACK_MAGIC);
  }

  private append(bytes: Uint8Array): void {
    this.batch.push(bytes);
    this.batchLen += bytes.length;
    this.next += bytes.length;
  }

  /** Appends the MARK that lets the index be rebuilt from this pack (written just before the commit). */
  mark(body: MarkBody): void {
    this.append(markEntry(body));
  }

  /** True when the block is committed already or was put in this transaction. */
  hasBlock(cid: CID): boolean {
    const key = blockKey(cid);
    return this.pending.has(key) || this.store.hasBlock(cid);
  }

  /**
   * Interface-blockstore `put` used by the UnixFS importer. Deduplicates. The bytes are written
   * as they are (vectored writes, no copy); like the importer itself, this assumes the producer
   * does not reuse a buffer after yielding it. Returns a promise only to apply backpressure.
   */
  put(cid: CID, bytes: Uint8Array): CID | Promise<CID> {
    if (this.failed !== undefined) throw this.failed;
    if (cid.multihash.code === IDENTITY) return cid;
    const key = blockKey(cid);
    if (this.pending.has(key) || (this.dedupe && this.store.hasBlock(cid))) return cid;
    const v1 = cid.version === 0 ? cid.toV1() : cid;
    const header = Buffer.allocUnsafe(4 + 1 + 1 + v1.bytes.length);
    header.writeUInt32LE(2 + v1.bytes.length + bytes.length, 0);
    header.writeUInt8(ENTRY_BLOCK, 4);
    header.writeUInt8(v1.bytes.length, 5);
    Buffer.from(v1.bytes.buffer, v1.bytes.byteOffset, v1.bytes.byteLength).copy(header, 6);
    this.append(header);
    this.pending.set(key, { cid: v1.bytes, pack: this.pack, offset: this.next, length: bytes.length });
    this.append(bytes);
    if (this.batchLen >= WRITE_BUFFER || this.batch.length >= 512) this.flush();
    return this.inflight > MAX_INFLIGHT ? this.chain.then(() => cid) : cid;
  }

  /** Keeps `cid` as a root (protected from gc, listed by `ls`). */
  addRoot(cid: string, meta: RootMeta): void {
    this.unpinned.delete(cid);
    this.roots.set(cid, meta);
  }

  /** Stops keeping `cid` as a root. */
  removeRoot(cid: string): void {
    this.roots.delete(cid);
    this.unpinned.add(cid);
  }

  /** Hands the gathered blocks to the writer (one writev at the right offset). */
  flush(): void {
    if (this.batchLen === 0) return;
    const buffers = this.batch;
    const position = this.batchStart;
    const length = this.batchLen;
    this.batch = [];
    this.batchStart += length;
    this.batchLen = 0;
    this.inflight += length;
    this.chain = this.chain
      .then(async () => {
        let { bytesWritten } = await this.fh.writev(buffers, position);
        if (bytesWritten !== length) {
          // Short vectored write (rare): finish it piece by piece.
          const all = Buffer.concat(buffers, length);
          while (bytesWritten < length)
            bytesWritten += (await this.fh.write(all, bytesWritten, length - bytesWritten, position + bytesWritten))
              .bytesWritten;
        }
        this.inflight -= length;
      })
      .catch((e) => {
        this.failed = isProofmarkErrorLike(e)
          ? e
          : (diskFullError(e, this.store.dir) ??
            storeFailed(`writing to the store failed: ${(e as Error).message}`, { pack: this.pack }, e));
        throw this.failed;
      });
    // The failure is kept in `failed` and surfaces at the next settle(); a write abandoned with its
    // transaction (the file closed under it) must not become an unhandled rejection meanwhile.
    this.chain.catch(() => undefined);
    this.unsynced += length;
    if (this.unsynced >= SYNC_EVERY) {
      this.unsynced = 0;
      const written = this.chain;
      this.syncing = Promise.all([this.syncing, written]).then(() => this.fh.datasync());
      this.syncing.catch(() => undefined);
    }
  }

  /** Everything written and durable (fdatasync). */
  async settle(): Promise<void> {
    this.flush();
    await this.chain;
    await this.syncing;
    if (this.next > this.start) await this.fh.datasync();
  }
}

function isProofmarkErrorLike(e: unknown): boolean {
  return e instanceof ProofmarkError;
}

/** How long pack handles stay open after the last read. */
const READER_IDLE_MS = 1_000;

/** Append-only block storage with an index log. See the file comment for the layout. */
export class PackStore {
  readonly dir: string;
  private readonly packDir: string;
  private readonly indexPath: string;
  private readonly lockPath: string;
  private readonly index = new Map<string, BlockLoc>();
  private readonly rootMap = new Map<string, RootMeta>();
  private readonly packEnds = new Map<number, number>();
  private indexPos = 0;
  private indexIno = -1;
  private readonly readers = new Map<number, Promise<fsp.FileHandle>>();
  /** Reads in flight, and whether one started since the idle timer last looked. */
  private reading = 0;
  private readSinceTick = false;
  private idleTimer: NodeJS.Timeout | undefined;
  private opened = false;

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    this.packDir = path.join(this.dir, "packs");
    this.indexPath = path.join(this.dir, "index.log");
    this.lockPath = path.join(this.dir, "LOCK");
  }

  /**
   * Creates the folder and index on first use, and loads the index. STORE_CORRUPT when the
   * index is damaged or misses a commit that a pack holds (nothing is written then).
   */
  async open(): Promise<void> {
    if (this.opened) return;
    await fsp.mkdir(this.packDir, { recursive: true });
    if (!fs.existsSync(this.indexPath)) {
      const tmp = `${this.indexPath}.${process.pid}.tmp`;
      await fsp.writeFile(tmp, MAGIC);
      await fsp.rename(tmp, this.indexPath).catch(async () => fsp.rm(tmp, { force: true }));
    }
    await this.refresh();
    await this.checkPacksCovered();
    this.opened = true;
  }

  /** Reads index records appended since the last look (by this or another process). */
  async refresh(): Promise<void> {
    let st: fs.Stats;
    try {
      st = await fsp.stat(this.indexPath);
    } catch (e) {
      throw storeFailed(
        `the store index ${this.indexPath} cannot be read (${(e as Error).message}); is this a Proofmark data folder?`,
        { path: this.indexPath },
        e,
      );
    }
    if (st.ino !== this.indexIno || st.size < this.indexPos) {
      this.index.clear();
      this.rootMap.clear();
      this.packEnds.clear();
      await this.closeReaders();
      this.indexPos = 0;
      this.indexIno = st.ino;
    }
    if (st.size === this.indexPos) return;
    const fh = await fsp.open(this.indexPath, "r");
    try {
      const length = st.size - this.indexPos;
      const data = Buffer.allocUnsafe(length);
      const { bytesRead } = await fh.read(data, 0, length, this.indexPos);
      const { consumed, damage } = this.apply(data.subarray(0, bytesRead), this.indexPos === 0, this.indexPos);
      this.indexPos += consumed;
      if (damage) throw storeCorrupt(this.indexPath, damage.offset, damage.reason);
    } finally {
      await fh.close();
    }
  }

  /**
   * Applies complete, intact records from `data` (which starts at file offset `base`); returns the
   * bytes consumed, and the damage found: a record that fails its checksum (or has an impossible
   * length) while more bytes follow it. A bad record at the very end is a torn append, not damage.
   */
  private apply(
    data: Buffer,
    fromStart: boolean,
    base: number,
  ): { consumed: number; damage?: { offset: number; reason: string } } {
    let at = 0;
    if (fromStart) {
      if (data.length < MAGIC.length || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
        return { consumed: 0, damage: { offset: 0, reason: "not a Proofmark store index: bad magic" } };
      }
      at = MAGIC.length;
    }
    while (at + 4 <= data.length) {
      const len = data.readUInt32LE(at);
      const end = at + 4 + len + CHECK_LEN;
      if (len < 1) return { consumed: at, damage: { offset: base + at, reason: "record of length 0" } };
      if (end > data.length) break; // torn tail (or a bad length: the packs tell, see checkPacksCovered)
      const body = data.subarray(at + 4, at + 4 + len);
      if (!checksum(body).equals(data.subarray(at + 4 + len, end))) {
        if (end === data.length) break; // the last record, torn by a crash
        return { consumed: at, damage: { offset: base + at, reason: "record checksum mismatch" } };
      }
      try {
        this.applyRecord(body);
      } catch (e) {
        return { consumed: at, damage: { offset: base + at, reason: `unreadable record: ${(e as Error).message}` } };
      }
      at = end;
    }
    return { consumed: at };
  }

  /**
   * Each pack's bytes beyond what the index committed must hold no MARK: a MARK there means the
   * index lost a commit (a damaged or cut index), and any write would then destroy data. One
   * exception is the shape a crash leaves between the pack's fsync and the index append: a single
   * MARK ending the newest pack. A writer (`roll`, under the lock) rolls that commit forward into
   * the index; a reader leaves it invisible until then.
   */
  private async checkPacksCovered(roll = false): Promise<void> {
    const packs = await this.packFiles();
    for (const p of packs) {
      const end = this.packEnds.get(p.id) ?? 0;
      if (p.size <= end) continue;
      const scan = await scanPack(p.file, end, { verify: false });
      if (scan.version === 1) {
        if (!this.packEnds.has(p.id))
          throw storeCorrupt(this.indexPath, this.indexPos, `${p.file} is an older pack the index does not know`);
        continue; // an older pack: its tail cannot be read without the index
      }
      if (scan.marks === 0) continue;
      const crashWindow =
        p === packs[packs.length - 1] && scan.marks === 1 && !scan.stopped && scan.lastMarkEnd === p.size;
      if (!crashWindow)
        throw storeCorrupt(
          this.indexPath,
          this.indexPos,
          `${p.file} holds a commit at offset ${scan.firstMark} that the index does not list`,
        );
      if (roll) await this.rollForward(p.id, p.file, end);
    }
  }

  /** Under the lock: appends to the index the one commit a crash left only in the pack (see above). */
  private async rollForward(pack: number, file: string, from: number): Promise<void> {
    const blocks: PendingBlock[] = [];
    let mark: MarkBody | undefined;
    let bad: { offset: number; reason: string } | undefined;
    const scan = await scanPack(file, from, {
      verify: true,
      onBlock: (cid, offset, length) =>
        blocks.push({ cid: (cid.version === 0 ? cid.toV1() : cid).bytes, pack, offset, length }),
      onBadBlock: (offset, reason) => (bad ??= { offset, reason }),
      onMark: (m) => (mark = m),
    });
    if (bad || scan.stopped || !mark)
      throw storeCorrupt(
        file,
        (bad ?? scan.stopped)?.offset ?? from,
        `an unlisted commit that cannot be rolled forward: ${(bad ?? scan.stopped)?.reason ?? "no commit mark"}`,
      );
    const m = mark;
    const records: Buffer[] = [];
    if (m.remove.length > 0) {
      const cids = m.remove.map((c) => CID.parse(c).bytes);
      const payload = Buffer.allocUnsafe(4 + cids.reduce((n, c) => n + 1 + c.length, 0));
      let at = payload.writeUInt32LE(cids.length, 0);
      for (const c of cids) {
        at = payload.writeUInt8(c.length, at);
        at += Buffer.from(c).copy(payload, at);
      }
      records.push(frame(REC_UNPIN, payload));
    }
    records.push(frame(REC_COMMIT, encodeCommit(pack, scan.end, blocks, m.add)));
    const st = await fsp.stat(this.indexPath);
    if (st.size > this.indexPos) await fsp.truncate(this.indexPath, this.indexPos); // a torn record of that same commit
    await this.appendIndex(Buffer.concat(records), () => {
      if (m.reset) this.rootMap.clear();
      for (const c of m.remove) this.rootMap.delete(c);
      for (const b of blocks)
        this.index.set(Buffer.from(b.cid).toString("base64url"), { pack, offset: b.offset, length: b.length });
      for (const [c, meta] of m.add) this.rootMap.set(c, meta);
      this.packEnds.set(pack, Math.max(this.packEnds.get(pack) ?? 0, scan.end));
    });
  }

  private async packFiles(): Promise<Array<{ id: number; file: string; size: number }>> {
    const out: Array<{ id: number; file: string; size: number }> = [];
    let names: string[];
    try {
      names = await fsp.readdir(this.packDir);
    } catch {
      return out;
    }
    for (const name of names) {
      const m = /^(\d{6})\.pack$/.exec(name);
      if (!m) continue;
      const file = path.join(this.packDir, name);
      out.push({ id: Number(m[1]), file, size: (await fsp.stat(file)).size });
    }
    return out.sort((x, y) => x.id - y.id);
  }

  private applyRecord(body: Buffer): void {
    const type = body.readUInt8(0);
    let at = 1;
    if (type === REC_COMMIT) {
      const pack = body.readUInt32LE(at);
      at += 4;
      const packEnd = body.readUIntLE(at, 6);
      at += 6;
      const n = body.readUInt32LE(at);
      at += 4;
      for (let i = 0; i < n; i++) {
        const cl = body.readUInt8(at);
        at += 1;
        const cid = body.subarray(at, at + cl);
        at += cl;
        const offset = body.readUIntLE(at, 6);
        at += 6;
        const length = body.readUInt32LE(at);
        at += 4;
        this.index.set(cid.toString("base64url"), { pack, offset, length });
      }
      const r = body.readUInt32LE(at);
      at += 4;
      for (let i = 0; i < r; i++) {
        const cl = body.readUInt8(at);
        at += 1;
        const cid = CID.decode(new Uint8Array(body.subarray(at, at + cl))).toString();
        at += cl;
        const jl = body.readUInt32LE(at);
        at += 4;
        this.rootMap.set(cid, JSON.parse(body.subarray(at, at + jl).toString("utf8")) as RootMeta);
        at += jl;
      }
      this.packEnds.set(pack, Math.max(this.packEnds.get(pack) ?? 0, packEnd));
    } else if (type === REC_UNPIN) {
      const n = body.readUInt32LE(at);
      at += 4;
      for (let i = 0; i < n; i++) {
        const cl = body.readUInt8(at);
        at += 1;
        this.rootMap.delete(CID.decode(new Uint8Array(body.subarray(at, at + cl))).toString());
        at += cl;
      }
    }
  }

  hasBlock(cid: CID): boolean {
    return cid.multihash.code === IDENTITY || this.index.has(blockKey(cid));
  }

  /** Locations of every committed block, keyed by {@link blockKey}. */
  blockKeys(): IterableIterator<string> {
    return this.index.keys();
  }

  roots(): Map<string, RootMeta> {
    return new Map(this.rootMap);
  }

  /** Total bytes of committed block data (live or not). */
  storedBytes(): number {
    let n = 0;
    for (const loc of this.index.values()) n += loc.length;
    return n;
  }

  /** Bytes of the pack files that committed records cover (block data, headers and commit marks). */
  committedBytes(): number {
    let n = 0;
    for (const end of this.packEnds.values()) n += end;
    return n;
  }

  private packPath(id: number): string {
    return path.join(this.packDir, `${String(id).padStart(6, "0")}.pack`);
  }

  private reader(pack: number): Promise<fsp.FileHandle> {
    this.readSinceTick = true;
    let h = this.readers.get(pack);
    if (!h) {
      h = fsp.open(this.packPath(pack), "r");
      h.catch(() => this.readers.delete(pack));
      this.readers.set(pack, h);
      this.armIdleTimer();
    }
    return h;
  }

  /**
   * Open pack handles are closed once reads stop for READER_IDLE_MS, so a store its program never
   * closes (a GiSession left open, say) does not hold file descriptors until the garbage collector
   * closes them, which Node.js warns about and will refuse.
   */
  private armIdleTimer(): void {
    if (this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = undefined;
      if (this.readers.size === 0) return;
      if (this.reading > 0 || this.readSinceTick) {
        this.readSinceTick = false;
        this.armIdleTimer();
      } else {
        void this.closeReaders();
      }
    }, READER_IDLE_MS);
    this.idleTimer.unref();
  }

  private async closeReaders(): Promise<void> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const all = [...this.readers.values()];
    this.readers.clear();
    await Promise.all(all.map((h) => h.then((f) => f.close()).catch(() => undefined)));
  }

  /**
   * The bytes of one block, checked against its CID. BLOCK_MISSING when the store does not
   * hold it (or its pack lost data), CID_MISMATCH when the bytes on disk are not the block's.
   */
  async readBlock(cid: CID): Promise<Uint8Array> {
    if (cid.multihash.code === IDENTITY) return cid.multihash.digest;
    const key = blockKey(cid);
    let loc = this.index.get(key);
    if (!loc) {
      await this.refresh();
      loc = this.index.get(key);
    }
    if (!loc) {
      throw new ProofmarkError(
        "BLOCK_MISSING",
        `block ${cid} is not in the store at ${this.dir}; add the file again, import a CAR that contains it, or fetch it from an IPFS node`,
        { cid: cid.toString(), store: this.dir },
      );
    }
    let fh: fsp.FileHandle;
    try {
      fh = await this.reader(loc.pack);
    } catch {
      await this.refresh();
      loc = this.index.get(key);
      try {
        if (!loc) throw new Error("gone");
        fh = await this.reader(loc.pack);
      } catch {
        throw new ProofmarkError(
          "BLOCK_MISSING",
          `block ${cid} is indexed but its pack file is missing from ${this.packDir}; restore the store from a backup or re-add the file`,
          { cid: cid.toString(), store: this.dir },
        );
      }
    }
    const buf = Buffer.allocUnsafe(loc.length);
    this.reading++;
    this.readSinceTick = true;
    let bytesRead: number;
    try {
      ({ bytesRead } = await fh.read(buf, 0, loc.length, loc.offset));
    } finally {
      this.reading--;
    }
    if (bytesRead !== loc.length) {
      throw new ProofmarkError(
        "BLOCK_MISSING",
        `block ${cid} is cut short on disk (${bytesRead} of ${loc.length} bytes in pack ${loc.pack}); restore the store from a backup or re-add the file`,
        { cid: cid.toString(), pack: loc.pack, store: this.dir },
      );
    }
    return verifyBlock(cid, buf, `the store at ${this.dir}`);
  }

  /** Where a block lives (for tests and tools), or undefined. */
  locate(cid: CID): (BlockLoc & { file: string }) | undefined {
    const loc = this.index.get(blockKey(cid));
    return loc && { ...loc, file: this.packPath(loc.pack) };
  }

  // ---- writing -------------------------------------------------------------------------------

  private withLock<T>(fn: () => Promise<T>): Promise<T> {
    return withLockFile(this.lockPath, fn, {
      timeoutMs: LOCK_WAIT_MS,
      pollMs: 25,
      busyError: (pid) =>
        storeFailed(
          `the store at ${this.dir} is locked by process ${pid}, which is still running; wait for it to finish or stop it`,
          { pid, path: this.lockPath },
        ),
      lockError: (e) => storeFailed(`cannot lock the store at ${this.dir}: ${e.message}`, { path: this.lockPath }, e),
    });
  }

  /**
   * Under the lock, before a write: re-checks the index against the packs (STORE_CORRUPT, nothing
   * touched, if they disagree), then drops what provably holds no commit: a torn index tail, and
   * pack bytes after the last committed MARK (blocks of a writer that died before committing).
   */
  private async repair(): Promise<void> {
    await this.checkPacksCovered(true);
    const st = await fsp.stat(this.indexPath);
    if (st.size > this.indexPos) await fsp.truncate(this.indexPath, this.indexPos);
    for (const name of await fsp.readdir(this.packDir)) {
      if (name.endsWith(".tmp")) await fsp.rm(path.join(this.packDir, name), { force: true });
    }
    for (const { id, file, size } of await this.packFiles()) {
      const end = this.packEnds.get(id);
      if (end === undefined) {
        // A pack no commit names and that holds no MARK (checked above): a first write that died.
        await fsp.rm(file, { force: true });
      } else if (size > end && (await packVersion(file)) === 2) {
        await fsp.truncate(file, end);
      }
    }
  }

  /**
   * Runs `fn` as one atomic write: blocks it puts and roots it adds or removes become visible
   * together, after both the pack and the index record are on disk.
   */
  async write<T>(fn: (tx: PackTxn) => Promise<T>): Promise<T> {
    await this.open();
    return this.withLock(async () => {
      await this.refresh();
      await this.repair();
      let pack = Math.max(0, ...this.packEnds.keys());
      let start = this.packEnds.get(pack) ?? 0;
      // Older packs (no PMPACK02 header) are never appended to: new blocks go into a new pack.
      if (pack === 0 || start >= PACK_ROLL_BYTES || (await packVersion(this.packPath(pack))) !== 2) {
        pack += 1;
        start = 0;
      }
      const fh = await fsp.open(this.packPath(pack), fs.existsSync(this.packPath(pack)) ? "r+" : "w+");
      const tx = new PackTxn(this, pack, fh, start);
      let committed = false;
      try {
        const result = await fn(tx);
        const changed = tx.pending.size > 0 || tx.roots.size > 0 || tx.unpinned.size > 0;
        if (changed) tx.mark({ add: [...tx.roots], remove: [...tx.unpinned] });
        await tx.settle();
        if (changed) {
          const records: Buffer[] = [];
          if (tx.unpinned.size > 0) {
            const cids = [...tx.unpinned].map((c) => CID.parse(c).bytes);
            const payload = Buffer.allocUnsafe(4 + cids.reduce((n, c) => n + 1 + c.length, 0));
            let at = payload.writeUInt32LE(cids.length, 0);
            for (const c of cids) {
              at = payload.writeUInt8(c.length, at);
              at += Buffer.from(c).copy(payload, at);
            }
            records.push(frame(REC_UNPIN, payload));
          }
          // Always a COMMIT, even for an unpin alone: it moves the pack end past the MARK.
          records.push(frame(REC_COMMIT, encodeCommit(pack, tx.next, [...tx.pending.values()], [...tx.roots])));
          await this.appendIndex(Buffer.concat(records), () => {
            // We hold the lock, so nobody appended since our refresh: apply from memory
            // instead of parsing back what we just wrote.
            for (const cid of tx.unpinned) this.rootMap.delete(cid);
            for (const [key, b] of tx.pending)
              this.index.set(key, { pack: b.pack, offset: b.offset, length: b.length });
            for (const [cid, meta] of tx.roots) this.rootMap.set(cid, meta);
            this.packEnds.set(pack, Math.max(this.packEnds.get(pack) ?? 0, tx.next));
          });
        }
        committed = true;
        return result;
      } catch (e) {
        throw diskFullError(e, this.dir) ?? e;
      } finally {
        await fh.close().catch(() => undefined);
        if (!committed) {
          // Our own transaction failed (a full disk, an error in `fn`): drop exactly what it
          // appended, which no commit references (we hold the lock), so the store stays as it was.
          await fsp.truncate(this.indexPath, this.indexPos).catch(() => undefined);
          if (start === 0) await fsp.rm(this.packPath(pack), { force: true }).catch(() => undefined);
          else await fsp.truncate(this.packPath(pack), start).catch(() => undefined);
        }
      }
    });
  }

  private async appendIndex(data: Buffer, applied: () => void): Promise<void> {
    const fh = await fsp.open(this.indexPath, "r+");
    try {
      await fh.write(data, 0, data.length, this.indexPos);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    applied();
    this.indexPos += data.length;
  }

  /**
   * Garbage collection under the lock: `live` (computed under the lock, so no add can slip in
   * between) names the blocks to keep; they are copied, verified, into a fresh pack and a new
   * index replaces the old one atomically.
   */
  async compact(
    live: (store: PackStore) => Promise<Set<string>>,
  ): Promise<{ removedBlocks: number; freedBytes: number; keptBlocks: number }> {
    await this.open();
    return this.withLock(async () => {
      await this.refresh();
      await this.repair();
      const keep = await live(this);
      let removedBlocks = 0;
      let freedBytes = 0;
      for (const [key, loc] of this.index) {
        if (!keep.has(key)) {
          removedBlocks++;
          freedBytes += loc.length;
        }
      }
      if (removedBlocks === 0) return { removedBlocks, freedBytes, keptBlocks: this.index.size };
      const oldPacks = [...this.packEnds.keys()];
      const pack = Math.max(0, ...oldPacks) + 1;
      const fh = await fsp.open(this.packPath(pack), "w+");
      const tx = new PackTxn(this, pack, fh, 0);
      let done = false;
      try {
        const entries = [...this.index]
          .filter(([key]) => keep.has(key))
          .sort((a, b) => a[1].pack - b[1].pack || a[1].offset - b[1].offset);
        tx.dedupe = false;
        for (const [key] of entries) {
          const cid = CID.decode(new Uint8Array(Buffer.from(key, "base64url")));
          await tx.put(cid, await this.readBlock(cid));
        }
        tx.mark({ add: [...this.rootMap], remove: [], reset: true });
        await tx.settle();
        const snapshot = Buffer.concat([
          MAGIC,
          frame(REC_COMMIT, encodeCommit(pack, tx.next, [...tx.pending.values()], [...this.rootMap])),
        ]);
        await this.replaceIndex(snapshot, "gc");
        done = true;
      } finally {
        await fh.close().catch(() => undefined);
        if (!done) await fsp.rm(this.packPath(pack), { force: true });
      }
      await this.closeReaders();
      await this.refresh();
      for (const id of oldPacks) await fsp.rm(this.packPath(id), { force: true });
      return { removedBlocks, freedBytes, keptBlocks: this.index.size };
    });
  }

  /**
   * Rebuilds the index from the pack files (under the lock): every block of a PMPACK02 pack that
   * matches its CID, and the roots its commit marks record. Blocks of older packs come from the
   * old index's intact records. The old index is kept beside the new one; no pack is modified.
   */
  async rebuildIndex(): Promise<RepairResult> {
    await fsp.mkdir(this.packDir, { recursive: true });
    return this.withLock(async () => {
      this.index.clear();
      this.rootMap.clear();
      this.packEnds.clear();
      await this.closeReaders();
      const result: RepairResult = { blocks: 0, roots: 0, packs: 0, olderPacks: 0, problems: [] };
      let old: Buffer | undefined;
      try {
        old = await fsp.readFile(this.indexPath);
      } catch {
        old = undefined;
      }
      if (old) {
        const { damage } = this.apply(old, true, 0);
        if (damage) result.damage = { file: this.indexPath, ...damage };
      }
      const packs = await this.packFiles();
      const older = new Set<number>();
      for (const p of packs) if ((await packVersion(p.file)) === 1) older.add(p.id);
      for (const [key, loc] of this.index) if (!older.has(loc.pack)) this.index.delete(key);
      for (const id of [...this.packEnds.keys()]) if (!older.has(id)) this.packEnds.delete(id);
      let bump = 0;
      for (const p of packs) {
        if (older.has(p.id)) {
          result.olderPacks++;
          continue;
        }
        const scan = await scanPack(p.file, 0, {
          verify: true,
          onBlock: (cid, offset, length) => this.index.set(blockKey(cid), { pack: p.id, offset, length }),
          onBadBlock: (offset, reason) => result.problems.push({ file: p.file, offset, reason }),
          onMark: (mark) => {
            if (mark.reset) this.rootMap.clear();
            for (const c of mark.remove) this.rootMap.delete(c);
            for (const [c, meta] of mark.add) this.rootMap.set(c, meta);
          },
        });
        if (scan.version === 0) continue;
        result.packs++;
        if (scan.stopped) {
          // Keep every byte: the pack is read up to the damage, and new blocks go into a new pack.
          result.problems.push({ file: p.file, ...scan.stopped });
          this.packEnds.set(p.id, p.size);
          bump = Math.max(bump, p.id + 1);
        } else {
          this.packEnds.set(p.id, scan.end);
        }
      }
      const byPack = new Map<number, PendingBlock[]>();
      for (const [key, loc] of this.index) {
        const list = byPack.get(loc.pack) ?? [];
        list.push({ cid: new Uint8Array(Buffer.from(key, "base64url")), ...loc });
        byPack.set(loc.pack, list);
      }
      const records: Buffer[] = [MAGIC];
      for (const [id, end] of [...this.packEnds].sort((x, y) => x[0] - y[0])) {
        records.push(frame(REC_COMMIT, encodeCommit(id, end, byPack.get(id) ?? [], [])));
      }
      const last = Math.max(0, ...this.packEnds.keys());
      if (bump > last) records.push(frame(REC_COMMIT, encodeCommit(bump, 0, [], [])));
      if (this.rootMap.size > 0) {
        const id = Math.max(last, bump);
        records.push(
          frame(REC_COMMIT, encodeCommit(id, id === last ? (this.packEnds.get(last) ?? 0) : 0, [], [...this.rootMap])),
        );
      }
      result.blocks = this.index.size;
      result.roots = this.rootMap.size;
      if (old) {
        result.keptAs = `${this.indexPath}.${new Date().toISOString().replace(/[:.]/g, "-")}.old`;
        await fsp.writeFile(result.keptAs, old);
      }
      await this.replaceIndex(Buffer.concat(records), "repair");
      this.indexIno = -1;
      this.opened = false;
      await this.open();
      return result;
    });
  }

  /**
   * Replaces the index with `data` durably: a temporary file beside it (`index.log.<why>.tmp`),
   * fdatasync, rename over the index, fsync of the folder.
   */
  private async replaceIndex(data: Buffer, why: "gc" | "repair"): Promise<void> {
    const tmp = `${this.indexPath}.${why}.tmp`;
    const ih = await fsp.open(tmp, "w");
    try {
      await ih.write(data, 0, data.length, 0);
      await ih.datasync();
    } finally {
      await ih.close();
    }
    await fsp.rename(tmp, this.indexPath);
    const dh = await fsp.open(this.dir, "r");
    await dh.sync().catch(() => undefined);
    await dh.close();
  }

  async close(): Promise<void> {
    await this.closeReaders();
  }
}
