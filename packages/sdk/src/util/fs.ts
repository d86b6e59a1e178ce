import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";

/**
 * Writes `data` to `file` atomically: a temporary file in the same folder, fsync, rename, fsync of
 * the folder. A reader (or a crash) sees the old content or the new, never a torn file.
 */
export function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: { durable?: boolean; fresh?: boolean } = {},
): void {
  const durable = opts.durable ?? true;
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  if (opts.fresh) {
    // A new file that nothing reads yet, whose content can be rewritten after a crash (the caller
    // keeps the source of truth until it has synced): create it in place, no temporary + rename.
    try {
      fs.writeFileSync(file, data, { flag: "wx", mode: 0o644 });
      return;
    } catch (e) {
      // A cut file is left for the caller to rewrite (it keeps the source of truth).
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw diskFullError(e, file) ?? e;
    }
  }
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fd = fs.openSync(tmp, "w", 0o600);
    try {
      fs.writeFileSync(fd, data);
      if (durable) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw diskFullError(e, file) ?? e;
  }
  if (!durable) return;
  try {
    const dfd = fs.openSync(dir, "r");
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch {
    // Some file systems cannot fsync a folder; the rename is still atomic.
  }
}

/** Name of the temporary file {@link writeFileAtomic} writes beside `file`. */
const TEMP_RE = /^\.(.+)\.(\d+)\.\d+\.tmp$/;

/**
 * Removes temporary files {@link writeFileAtomic} left in `dir` when its process was killed
 * (their writer, named in the file name, is gone). Returns the files removed.
 */
export function removeStaleTemps(dir: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = TEMP_RE.exec(name);
    if (!m) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isProcessAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

/**
 * Makes many files written with `durable: false` durable at once: one `syncfs` per file system
 * (coreutils `sync -f`) instead of an fsync per file (≈3.5 ms each here), falling back to fsync.
 */
export function syncFiles(files: string[]): void {
  const dirs = [...new Set(files.map((f) => path.dirname(f)))];
  if (dirs.length === 0) return;
  if (process.platform === "linux") {
    const r = spawnSync("sync", ["-f", ...dirs.slice(0, 1000)], { stdio: "ignore" });
    if (r.status === 0 && dirs.length <= 1000) return;
  }
  for (const f of files) {
    const fd = fs.openSync(f, "r");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  }
  for (const d of dirs) {
    try {
      const fd = fs.openSync(d, "r");
      fs.fsyncSync(fd);
      fs.closeSync(fd);
    } catch {
      // folder fsync unsupported
    }
  }
}

/** Size limit of files read whole into memory by default (imports, attached documents). */
export const READ_LIMIT_BYTES = 256 << 20;

/** Largest CSV/EPCIS import file read (a season of 10⁵ events is about 20 MB). */
export const IMPORT_LIMIT_BYTES = 64 << 20;

/**
 * The bytes of a regular file read whole, at most `limit` bytes. INPUT_TOO_LARGE, naming the file
 * and the limit, for a larger file, a device (`/dev/zero`) or a FIFO (also behind a symbolic link);
 * FILE_NOT_FOUND when it does not exist. A file that changes size while it is read is FILE_CHANGED.
 *
 * @example
 * const csv = readFileBounded("season.csv", 64 << 20, "an import file").toString("utf8");
 */
export function readFileBounded(file: string, limit = READ_LIMIT_BYTES, what = "the file"): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  } catch {
    throw new ProofmarkError("FILE_NOT_FOUND", `no file ${file}, or it cannot be read`, { path: file });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw new ProofmarkError(
        "INPUT_TOO_LARGE",
        `${file} is not a regular file (a device, FIFO or socket has no end to read to); give ${what} as a file`,
        { path: file },
      );
    if (st.size > limit)
      throw new ProofmarkError(
        "INPUT_TOO_LARGE",
        `${file} is ${st.size} bytes; ${what} may be at most ${limit} bytes — split it`,
        { path: file, size: st.size, limit },
      );
    const buf = Buffer.allocUnsafe(st.size + 1);
    let n = 0;
    while (n < buf.length) {
      const r = fs.readSync(fd, buf, n, buf.length - n, n);
      if (r === 0) break;
      n += r;
    }
    if (n !== st.size)
      throw new ProofmarkError(
        "FILE_CHANGED",
        `${file} changed while it was read (${st.size} bytes before, ${n > st.size ? "more" : n} after); try again once it is no longer being written`,
        { path: file },
      );
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Parsed JSON of `file`, or `undefined` if the file does not exist. DATA_CORRUPT, naming the file, when it is cut short or not JSON. */
export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new ProofmarkError(
      "DATA_CORRUPT",
      `${file} is damaged (${text.length === 0 ? "empty" : `not JSON: ${(e as Error).message}`}), probably cut short by a crash or a full disk; restore it from a backup${path.basename(file) === "node.json" ? ", or delete it: it only records the running local chain and is written again at its next start" : ""}`,
      { file },
    );
  }
}

/**
 * A coded error for a write that failed because the disk is full (ENOSPC, EDQUOT, SQLITE_FULL), naming the file;
 * undefined for any other failure.
 */
export function diskFullError(e: unknown, file?: string): ProofmarkError | undefined {
  const err = e as NodeJS.ErrnoException;
  // SQLITE_FULL: better-sqlite3's error when SQLite cannot grow its file or journal.
  if (err?.code !== "ENOSPC" && err?.code !== "EDQUOT" && err?.code !== "SQLITE_FULL") return undefined;
  const where = file ?? err.path;
  return new ProofmarkError(
    "DISK_FULL",
    `the disk is full${where ? ` (writing ${where})` : ""}; nothing half-written was kept. Free some space and run the command again (files queued for anchoring stay queued and are anchored on the next run)`,
    where ? { file: where, queued: true } : { queued: true },
    { cause: e },
  );
}

/**
 * Throws DISK_FULL when the file system of `dir` has less than `bytes` free: called before a
 * local-chain transaction is sent, since a transaction mined but not journaled (the journal
 * append failing on a full disk) would be reported as failed and then sent again.
 */
export function assertDiskRoom(dir: string, bytes = 1 << 20): void {
  let free: number;
  try {
    const s = fs.statfsSync(dir);
    free = s.bavail * s.bsize;
  } catch {
    return; // cannot tell: the write itself will say
  }
  if (free < bytes)
    throw new ProofmarkError(
      "DISK_FULL",
      `the disk is full (${free} bytes free in ${dir}); nothing was sent to the chain. Free some space and run the command again`,
      { file: dir, free },
    );
}

/** Holders of each lock file in this process, so that callers here take turns before touching the file. */
const lockQueues = new Map<string, Promise<unknown>>();

export interface LockFileOptions {
  /** How long to wait for a live holder, ms (default 60 s). */
  timeoutMs?: number;
  /** How often to look again, ms (default 100). */
  pollMs?: number;
  /** The error to throw when a live process still holds the lock after `timeoutMs`. */
  busyError?: (pid: number) => Error;
  /** The error to throw when the lock file cannot be created at all (read-only folder…). */
  lockError?: (cause: Error) => Error;
}

/**
 * Runs `fn` while holding an exclusive lock file (created with O_EXCL, holding the holder's pid),
 * across processes and within this one (callers here queue first). A lock whose holder is gone is
 * stale and taken over; so is one naming this very process, since callers here take turns: it was
 * left by an earlier process that had the same pid (pids repeat, in containers especially).
 */
export async function withLockFile<T>(lockFile: string, fn: () => Promise<T>, opts: LockFileOptions = {}): Promise<T> {
  const key = path.resolve(lockFile);
  const before = lockQueues.get(key) ?? Promise.resolve();
  let release!: () => void;
  const turn = new Promise<void>((r) => (release = r));
  const mine = before.then(
    () => turn,
    () => turn,
  );
  lockQueues.set(key, mine);
  await before.catch(() => undefined);
  try {
    await acquireLockFile(key, opts);
    try {
      return await fn();
    } finally {
      fs.rmSync(key, { force: true });
    }
  } finally {
    release();
    if (lockQueues.get(key) === mine) lockQueues.delete(key);
  }
}

async function acquireLockFile(lockFile: string, opts: LockFileOptions): Promise<void> {
  fs.mkdirSync(path.dirname(lockFile), { recursive: true });
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    // The lock appears with its pid already in it (written to a private file, then hard-linked
    // into place, which fails if the lock exists): nobody can read an empty lock and take it as
    // stale while its holder is still writing its pid.
    const mine = `${lockFile}.${process.pid}.${Date.now()}.tmp`;
    try {
      fs.writeFileSync(mine, String(process.pid), { flag: "wx" });
      fs.linkSync(mine, lockFile);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw opts.lockError ? opts.lockError(e as Error) : e;
    } finally {
      fs.rmSync(mine, { force: true });
    }
    let owner: number;
    let ino: number;
    try {
      const fd = fs.openSync(lockFile, "r");
      try {
        ino = fs.fstatSync(fd).ino;
        owner = Number.parseInt(fs.readFileSync(fd, "utf8"), 10);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      continue; // released between our link and our read
    }
    if (!(owner > 0) || owner === process.pid || !isProcessAlive(owner)) {
      // The holder died (SIGKILL, power loss): the lock is stale. Take it away under a private
      // name and make sure it is the file we judged (not a fresh lock someone made meanwhile).
      const aside = `${lockFile}.${process.pid}.stale`;
      try {
        fs.renameSync(lockFile, aside);
      } catch {
        continue;
      }
      if (fs.statSync(aside).ino !== ino) {
        try {
          fs.linkSync(aside, lockFile); // a live lock: put it back
        } catch {
          // its holder made way for another meanwhile; nothing left to restore
        }
      }
      fs.rmSync(aside, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw opts.busyError
        ? opts.busyError(owner)
        : new Error(`timed out waiting for the lock ${lockFile} held by process ${owner}`);
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}

/** True when a process with this id exists. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
