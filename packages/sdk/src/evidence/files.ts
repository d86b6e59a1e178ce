import * as fs from "node:fs";
import * as path from "node:path";
import { sha256Stream } from "../core/digest";
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

/**
 * Expands files and folders (recursively) into a sorted list of regular files, leaving out
 * receipts and `.git`, `.proofmark`, `node_modules`. Throws FILE_NOT_FOUND or NO_FILES.
 */
export function collectFiles(inputs: string[]): string[] {
  const out = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name)) walk(full);
      } else if (entry.isFile() && !RECEIPT_FILE_RE.test(entry.name)) {
        out.add(full);
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
      if (RECEIPT_FILE_RE.test(input)) throw new ProofmarkError("INVALID_ARGUMENT", `${input} is a receipt; receipts are not stamped (verify it with \`proofmark verify\`)`, { path: input });
      out.add(input);
    } else throw new ProofmarkError("FILE_NOT_FOUND", `${input} is not a regular file or folder`, { path: input });
  }
  if (out.size === 0) throw new ProofmarkError("NO_FILES", `no files to stamp in ${inputs.join(", ")} (receipts and hidden data folders are left out)`, { inputs });
  return [...out];
}

/**
 * Streams a file through SHA-256 (1 MiB reads, constant memory).
 *
 * @example
 * const { sha256, size } = await hashFile("design.png");
 */
export async function hashFile(file: string, onBytes?: (bytes: number) => void): Promise<{ sha256: string; size: number }> {
  let stream: fs.ReadStream;
  try {
    await fs.promises.access(file, fs.constants.R_OK);
    stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  } catch {
    throw new ProofmarkError("FILE_NOT_FOUND", `${file}: no such file, or it cannot be read`, { path: file });
  }
  return sha256Stream(stream, onBytes);
}
