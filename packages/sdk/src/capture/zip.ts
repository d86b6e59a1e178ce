import * as zlib from "node:zlib";
import { ProofmarkError } from "../core/errors";

/**
 * The ZIP container of a WACZ: written with STORE (WACZ 1.2 asks that archive files are not
 * compressed again, so a reader can seek into them) or DEFLATE for small JSON files, and read back
 * entry by entry with the CRC-32 of each entry checked. In memory: captures are bounded in size.
 * No ZIP64 (a capture over 4 GiB is refused when written).
 */

export interface ZipEntryInput {
  name: string;
  data: Uint8Array;
  /** DEFLATE instead of STORE (never for archive/ files). */
  deflate?: boolean;
}

export interface ZipEntry {
  name: string;
  data: Buffer;
  /** Where the entry's local header starts in the ZIP. */
  offset: number;
  method: "store" | "deflate";
  /** False when the content does not match the CRC-32 recorded in the ZIP (its bytes were altered). */
  crcOk: boolean;
}

const LOCAL = 0x04034b50;
const CENTRAL = 0x02014b50;
const END = 0x06054b50;
/** 1980-01-01 00:00 in MS-DOS date/time: entries carry no real time (the capture record does). */
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

/**
 * A ZIP file of `entries`, in the given order.
 *
 * @example
 * const zip = writeZip([{ name: "datapackage.json", data: Buffer.from("{}"), deflate: true }]);
 */
export function writeZip(entries: ZipEntryInput[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const names = new Set<string>();
  for (const e of entries) {
    if (names.has(e.name)) throw new ProofmarkError("INVALID_ARGUMENT", `two ZIP entries are named ${e.name}`);
    names.add(e.name);
    const name = Buffer.from(e.name, "utf8");
    const raw = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
    const body = e.deflate ? zlib.deflateRawSync(raw) : raw;
    const crc = zlib.crc32(raw);
    const method = e.deflate ? 8 : 0;
    if (offset + 30 + name.length + body.length > 0xffffffff) {
      throw new ProofmarkError(
        "CAPTURE_FAILED",
        "the capture is larger than 4 GiB, more than a ZIP without ZIP64 can hold",
      );
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(CENTRAL, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(method, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(body.length, 20);
    cd.writeUInt32LE(raw.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, name);
    parts.push(local, name, body);
    offset += local.length + name.length + body.length;
  }
  const cdBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(END, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cdBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBytes, end]);
}

/**
 * The entries of a ZIP file, by name. Throws WACZ_INVALID when the file is not a ZIP this module
 * can read (`details.file` names the entry at fault). An entry whose content fails its CRC-32 is
 * returned with `crcOk: false`: the caller's hash check names it.
 */
export function readZip(zip: Buffer): Map<string, ZipEntry> {
  const bad = (message: string, file?: string): never => {
    throw new ProofmarkError("WACZ_INVALID", message, file ? { file } : {});
  };
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === END) {
      end = i;
      break;
    }
  }
  if (end < 0) bad("not a ZIP file (no end of central directory)");
  const count = zip.readUInt16LE(end + 10);
  let p = zip.readUInt32LE(end + 16);
  const entries = new Map<string, ZipEntry>();
  for (let n = 0; n < count; n++) {
    if (p + 46 > zip.length || zip.readUInt32LE(p) !== CENTRAL) bad("the ZIP's central directory is damaged");
    const method = zip.readUInt16LE(p + 10);
    const crc = zip.readUInt32LE(p + 16);
    const compressed = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const local = zip.readUInt32LE(p + 42);
    const name = zip.subarray(p + 46, p + 46 + nameLen).toString("utf8");
    p += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > zip.length || zip.readUInt32LE(local) !== LOCAL)
      bad(`the ZIP entry ${name} has no local header`, name);
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    if (start + compressed > zip.length) bad(`the ZIP entry ${name} runs past the end of the file`, name);
    const body = zip.subarray(start, start + compressed);
    let data: Buffer;
    if (method === 0) data = body;
    else if (method === 8) {
      try {
        data = zlib.inflateRawSync(body);
      } catch {
        return bad(`the ZIP entry ${name} cannot be decompressed: it was altered`, name);
      }
    } else return bad(`the ZIP entry ${name} uses compression method ${method}; only STORE and DEFLATE are read`, name);
    if (entries.has(name)) bad(`the ZIP holds two entries named ${name}`, name);
    entries.set(name, {
      name,
      data,
      offset: local,
      method: method === 0 ? "store" : "deflate",
      crcOk: data.length === size && zlib.crc32(data) === crc,
    });
  }
  return entries;
}
