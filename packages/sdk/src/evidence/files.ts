import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { ProofmarkError } from "../core/errors";

/** Receipt files (`x.proof.json`, and earlier ones kept as `x.proof.<n>.json`) are never stamped. */
export const RECEIPT_FILE_RE = /\.proof(\.\d+)?\.json$/;
const SKIPPED_DIRS = new Set([".git", ".proofmark", "node_modules"]);

/** The receipt path for `file`: beside it, or in `outDir` under the same relative path. */
export function receiptPathFor(file: string, outDir?: string, baseDir = process.cwd()): string {
  if (!outDir) return `${file}.proof.json`;
  const rel = path.relative(baseDir, path.resolve(file));
  const safe = rel.startsWith("..") || path.isAbsolute(rel) ? path.basename(file) : rel;
  return path.join(outDir, `${safe}.proof.json`);
}

/** An entry of a walked folder that is not stamped or verified, and why (see {@link collectFiles}). */
export interface SkippedEntry {
  path: string;
  reason: string;
}

function kindOf(entry: fs.Dirent | fs.Stats): string {
  if (entry.isSymbolicLink()) return "a symbolic link (links are not followed)";
  if (entry.isFIFO()) return "a FIFO (named pipe)";
  if (entry.isSocket()) return "a socket";
  if (entry.isCharacterDevice() || entry.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Expands files and folders (recursively) into a sorted list of regular files, leaving out
 * receipts and `.git`, `.proofmark`, `node_modules`. Entries of a folder that are not regular
 * files (symbolic links, FIFOs, sockets, devices) are not followed or read: they are added to
 * `skipped` (when given) so the caller can say so. Throws FILE_NOT_FOUND or NO_FILES.
 */
export function collectFiles(inputs: string[], skipped?: SkippedEntry[]): string[] {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile()) {
        if (!RECEIPT_FILE_RE.test(entry.name)) out.add(full);
      } else if (!RECEIPT_FILE_RE.test(entry.name)) {
        skipped?.push({ path: full, reason: kindOf(entry) });
      }
    }
  };
  for (const input of inputs) {
    let stat: fs.Stats;
    try {
      stat = fs.statSync(input);
    } catch {
      throw new ProofmarkError("FILE_NOT_FOUND", `${input}: no such file or folder`, { path: input });
    }
    if (stat.isDirectory()) walk(input);
    else if (stat.isFile()) {
      if (RECEIPT_FILE_RE.test(input))
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          `${input} is a receipt; receipts are not stamped, they are verified`,
          { path: input },
        );
      out.add(input);
    } else throw new ProofmarkError("FILE_NOT_FOUND", `${input} is not a regular file or folder`, { path: input });
  }
  if (out.size === 0)
    throw new ProofmarkError(
      "NO_FILES",
      `no files to stamp in ${inputs.join(", ")} (receipts and hidden data folders are left out)`,
      { inputs },
    );
  return [...out];
}

const READ_SIZE = 1 << 20;
const YIELD_EVERY = 64 << 20;
/** Read buffers reused across calls (allocating 1 MiB per small file made GC the bottleneck). */
const freeBuffers: Buffer[] = [];

/** The facts about a file that change when it is written: compared before and after hashing. */
export function fileVersion(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function fileChanged(file: string): ProofmarkError {
  return new ProofmarkError(
    "FILE_CHANGED",
    `${file} changed while it was being read (size or modification time differ before and after); nothing was stamped for it. Stamp it again once it is no longer being written`,
    { path: file },
  );
}

/** Throws FILE_CHANGED unless `file` is still the version `version` (from {@link fileVersion}). */
export function assertUnchanged(file: string, version: string): void {
  let now: string;
  try {
    now = fileVersion(fs.statSync(file));
  } catch {
    throw fileChanged(file);
  }
  if (now !== version) throw fileChanged(file);
}

/**
 * SHA-256 of a file in constant memory (one 1 MiB buffer). Reads are synchronous — measured
 * faster than stream or promise reads here — and the event loop gets a turn every 64 MiB.
 * The file's size and times are compared before and after: a file written meanwhile is
 * FILE_CHANGED (its digest would match neither version). Only regular files are read.
 *
 * @example
 * const { sha256, size } = await hashFile("design.png");
 */
export async function hashFile(
  file: string,
  onBytes?: (bytes: number) => void,
): Promise<{ sha256: string; size: number }> {
  const { sha256, size } = await hashFileVersion(file, onBytes);
  return { sha256, size };
}

/** {@link hashFile}, also returning the file's {@link fileVersion} at hashing time (to check later that it is unchanged). */
export async function hashFileVersion(
  file: string,
  onBytes?: (bytes: number) => void,
): Promise<{ sha256: string; size: number; version: string }> {
  let fd: number;
  try {
    // O_NONBLOCK: a FIFO put in place of the file must not block the open.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    throw new ProofmarkError("FILE_NOT_FOUND", `${file}: no such file, or it cannot be read`, { path: file });
  }
  const buffers: Buffer[] = [];
  try {
    const before = fs.fstatSync(fd);
    if (!before.isFile())
      throw new ProofmarkError(
        "INPUT_TOO_LARGE",
        `${file} is not a regular file (a device, FIFO or socket has no fixed content); copy its content into a file first`,
        { path: file },
      );
    const version = fileVersion(before);
    const hash = createHash("sha256");
    const buffer = freeBuffers.pop() ?? Buffer.allocUnsafe(READ_SIZE);
    buffers.push(buffer);
    let size = 0;
    let sinceYield = 0;
    let n: number;
    while ((n = fs.readSync(fd, buffer, 0, READ_SIZE, null)) > 0) {
      hash.update(buffer.subarray(0, n));
      size += n;
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        onBytes?.(size);
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    onBytes?.(size);
    if (size !== before.size || fileVersion(fs.fstatSync(fd)) !== version) throw fileChanged(file);
    assertUnchanged(file, version); // also catches a file replaced by a rename meanwhile
    return { sha256: hash.digest("hex"), size, version };
  } finally {
    fs.closeSync(fd);
    freeBuffers.push(...buffers);
  }
}
