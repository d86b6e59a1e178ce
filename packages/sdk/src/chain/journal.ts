import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";

/**
 * The local chain's journal: `<dataDir>/chain/journal.ndjson`, one JSON line per block, appended
 * and fsynced. The first line is the header (the folder's chain identity); every other line is a
 * mined block with its timestamp, hash and raw signed transactions, in order. Replaying the lines
 * into a fresh Anvil started with the same arguments reproduces the same blocks (same hashes).
 * Appending costs O(new blocks), whatever the history; a torn last line (a crash mid-append) is
 * ignored and overwritten by the next append.
 */
export interface JournalHeader {
  format: "proofmark-chain-journal";
  version: 1;
  /** Random token created with the folder's chain: the folder's identity. */
  identity: string;
  chainId: number;
  /** Genesis block: its timestamp (a start argument) and its hash (the chain's identity on the wire). */
  genesis: { timestamp: number; hash: string };
}

/** One mined block. */
export interface JournalBlock {
  n: number;
  t: number;
  h: string;
  /** Base fee per gas (hex): replayed as set, since Anvil does not always derive it from the parent (evm_revert). */
  b?: string;
  /** Raw signed transactions in block order (omitted for an empty block). */
  x?: string[];
}

export const JOURNAL_FORMAT = "proofmark-chain-journal";

/** A genesis timestamp for a new chain: now, minus a random few hours, so that two chains created
 * in the same second still differ (the genesis hash is their identity). */
export function newGenesisTimestamp(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000) - (randomBytes(2).readUInt16BE(0) % 14_400);
}

export function newIdentity(): string {
  return randomBytes(16).toString("hex");
}

function corrupt(file: string, message: string, details: Record<string, unknown> = {}): ProofmarkError {
  return new ProofmarkError(
    "CHAIN_STATE_CORRUPT",
    `${file} is damaged: ${message}; restore it from a backup (the chain's blocks cannot be rebuilt without it)`,
    { file, ...details },
  );
}

/** Parses the header line, or throws CHAIN_STATE_CORRUPT naming the file. */
function parseHeader(file: string, line: string): JournalHeader {
  let h: JournalHeader;
  try {
    h = JSON.parse(line) as JournalHeader;
  } catch {
    throw corrupt(file, "its first line is not a journal header");
  }
  if (
    h.format !== JOURNAL_FORMAT ||
    h.version !== 1 ||
    typeof h.identity !== "string" ||
    typeof h.genesis?.hash !== "string" ||
    !Number.isSafeInteger(h.genesis?.timestamp)
  ) {
    throw corrupt(file, "its first line is not a version 1 journal header");
  }
  return h;
}

function parseBlock(file: string, line: string, lineNo: number): JournalBlock {
  let b: JournalBlock;
  try {
    b = JSON.parse(line) as JournalBlock;
  } catch {
    throw corrupt(file, `line ${lineNo} is not valid JSON`, { line: lineNo });
  }
  if (
    !Number.isSafeInteger(b.n) ||
    !Number.isSafeInteger(b.t) ||
    typeof b.h !== "string" ||
    (b.x !== undefined && !Array.isArray(b.x))
  ) {
    throw corrupt(file, `line ${lineNo} is not a block record`, { line: lineNo });
  }
  return b;
}

/** The start of a block line as {@link ChainJournal.append} writes it (JSON.stringify keeps the key order). */
const LINE_HEAD = /^\{"n":(\d{1,15}),"t":(\d{1,15}),"h":"(0x[0-9a-f]{64})"[,}]/;

export class ChainJournal {
  constructor(readonly file: string) {}

  exists(): boolean {
    return fs.existsSync(this.file);
  }

  /** Creates the journal with its header (fails if one exists). */
  create(header: JournalHeader): void {
    const fd = fs.openSync(this.file, "wx", 0o644);
    try {
      fs.writeSync(fd, `${JSON.stringify(header)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fsyncDir(this.file);
  }

  /** The header, or undefined when there is no journal (or only a torn first line: a crash at creation). */
  header(): JournalHeader | undefined {
    let fd: number;
    try {
      fd = fs.openSync(this.file, "r");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
    try {
      const buf = Buffer.alloc(4096);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      const text = buf.subarray(0, n).toString("utf8");
      const nl = text.indexOf("\n");
      if (nl < 0) {
        if (n === 0 || n < buf.length) return undefined; // torn at creation: nothing was ever written after it
        throw corrupt(this.file, "its header line is too long");
      }
      return parseHeader(this.file, text.slice(0, nl));
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * The last complete block line and the byte length of the valid journal (a torn tail excluded),
   * reading only the end of the file: O(1) in the history.
   */
  tail(): { last?: JournalBlock; validLength: number } {
    const fd = fs.openSync(this.file, "r");
    try {
      const size = fs.fstatSync(fd).size;
      for (let window = 64 * 1024; ; window *= 4) {
        const start = Math.max(0, size - window);
        const buf = Buffer.alloc(size - start);
        fs.readSync(fd, buf, 0, buf.length, start);
        const end = buf.lastIndexOf(0x0a);
        if (end < 0) {
          if (start === 0) return { validLength: 0 };
          continue;
        }
        const prev = buf.lastIndexOf(0x0a, end - 1);
        if (prev < 0 && start > 0) continue;
        const line = buf.subarray(prev + 1, end).toString("utf8");
        const validLength = start + end + 1;
        if (prev < 0) return { validLength }; // only the header
        const last = parseBlock(this.file, line, -1);
        return { last, validLength };
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Every block, in order, with the byte offset where each line ends. Throws on a damaged line (a
   * torn last line is skipped). Blocks numbered below `fullFrom` are read without their
   * transactions (number, time and hash only, from the start of the line): a restart from a
   * snapshot needs only the hashes of the blocks it does not replay, and parsing every
   * transaction of a long history cost more than the rest of the restart.
   */
  readAll(fullFrom = 0): { header: JournalHeader; blocks: JournalBlock[]; ends: number[] } {
    const data = fs.readFileSync(this.file);
    const blocks: JournalBlock[] = [];
    const ends: number[] = [];
    let header: JournalHeader | undefined;
    let pos = 0;
    let lineNo = 0;
    while (pos < data.length) {
      const nl = data.indexOf(0x0a, pos);
      if (nl < 0) break; // torn last line
      lineNo++;
      if (!header) header = parseHeader(this.file, data.subarray(pos, nl).toString("utf8"));
      else {
        const start = blocks.length === 0 ? 1 : blocks[blocks.length - 1].n + 1;
        const head =
          start < fullFrom ? LINE_HEAD.exec(data.subarray(pos, Math.min(nl, pos + 160)).toString("latin1")) : null;
        const b = head
          ? { n: Number(head[1]), t: Number(head[2]), h: head[3] }
          : parseBlock(this.file, data.subarray(pos, nl).toString("utf8"), lineNo);
        const expected = blocks.length === 0 ? 1 : blocks[blocks.length - 1].n + 1;
        if (b.n !== expected)
          throw corrupt(this.file, `line ${lineNo} holds block ${b.n} where block ${expected} was expected`, {
            line: lineNo,
          });
        blocks.push(b);
        ends.push(nl + 1);
      }
      pos = nl + 1;
    }
    if (!header) throw corrupt(this.file, "it has no header");
    return { header, blocks, ends };
  }

  /** Appends blocks after the first `validLength` bytes (dropping a torn tail) and fsyncs. */
  append(blocks: JournalBlock[], validLength: number): void {
    if (blocks.length === 0) return;
    const fd = fs.openSync(this.file, "r+");
    try {
      if (fs.fstatSync(fd).size !== validLength) fs.ftruncateSync(fd, validLength);
      const text = blocks.map((b) => `${JSON.stringify(b)}\n`).join("");
      fs.writeSync(fd, text, validLength);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Cuts the journal after `length` bytes (blocks undone by a revert) and fsyncs. */
  truncate(length: number): void {
    const fd = fs.openSync(this.file, "r+");
    try {
      fs.ftruncateSync(fd, length);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

function fsyncDir(file: string): void {
  try {
    const fd = fs.openSync(path.dirname(file), "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  } catch {
    // some file systems cannot fsync a folder
  }
}
