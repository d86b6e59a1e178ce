import { createHash } from "node:crypto";
import { CID } from "multiformats/cid";
import { fixedSize } from "ipfs-unixfs-importer/chunker";
import { balanced } from "ipfs-unixfs-importer/layout";
import type { ImporterOptions } from "ipfs-unixfs-importer";
import { ProofmarkError } from "../core/errors";
import { loadDagPb } from "./esm";

/**
 * Block-level helpers shared by the stores: the importer settings that reproduce Kubo's
 * `ipfs add --cid-version 1`, CID parsing, and the check of a block's bytes against its CID.
 */

/** Multicodec of raw leaves. */
export const RAW_CODE = 0x55;
/** Multicodec of UnixFS internal nodes. */
export const DAG_PB_CODE = 0x70;
/** Multihash codes we can verify. */
export const SHA2_256 = 0x12;
export const SHA2_512 = 0x13;
export const IDENTITY = 0x00;

/** Kubo `Import.UnixFSChunker` default: `size-262144`. */
export const KUBO_CHUNK_SIZE = 262_144;
/** Kubo `Import.UnixFSFileMaxLinks` default (boxo `helpers.DefaultLinksPerBlock`). */
export const KUBO_MAX_LINKS = 174;

/**
 * Importer options equal to Kubo's `ipfs add --cid-version 1` defaults: CIDv1, sha2-256,
 * raw leaves (Kubo turns them on with CIDv1), fixed 256 KiB chunks, balanced DAG with at most
 * 174 links per node, a one-chunk file is its own raw block. Every value is given explicitly so
 * that a change of the importer's defaults cannot change our CIDs.
 */
export function kuboImporterOptions(): ImporterOptions {
  return {
    cidVersion: 1,
    rawLeaves: true,
    leafType: "raw",
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: KUBO_CHUNK_SIZE }),
    layout: balanced({ maxChildrenPerNode: KUBO_MAX_LINKS }),
    fieldOrder: "links-first",
    wrapWithDirectory: false,
  };
}

/**
 * Parses a CID string (base32 `b…`, base58 `Qm…`/`z…`, base36 `k…`) into a CID. Throws
 * INVALID_ARGUMENT with the offending text otherwise.
 */
export function parseCid(text: string): CID {
  if (typeof text !== "string" || text.length === 0 || text.length > 200) {
    throw new ProofmarkError("INVALID_ARGUMENT", "a CID must be a non-empty string such as bafkrei…", {
      value: String(text).slice(0, 80),
    });
  }
  try {
    const s = text.trim();
    if (s.startsWith("z")) {
      // base58btc CIDv1 (Kubo's older output): multiformats parses it with the base58 decoder

      const { base58btc } = require("multiformats/bases/base58") as typeof import("multiformats/bases/base58");
      return CID.parse(s, base58btc);
    }
    if (s.startsWith("k")) {
      const { base36 } = require("multiformats/bases/base36") as typeof import("multiformats/bases/base36");
      return CID.parse(s, base36);
    }
    return CID.parse(s);
  } catch (e) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text.slice(0, 80)}" is not a CID; give one such as bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku`,
      { value: text.slice(0, 80) },
      { cause: e },
    );
  }
}

/** Hashes `bytes` with the multihash function `code`, or returns undefined if unsupported. */
function digestOf(code: number, bytes: Uint8Array): Uint8Array | undefined {
  switch (code) {
    case SHA2_256:
      return createHash("sha256").update(bytes).digest();
    case SHA2_512:
      return createHash("sha512").update(bytes).digest();
    case IDENTITY:
      return bytes;
    default:
      return undefined;
  }
}

/** True when this store can check blocks addressed with `cid` (sha2-256, sha2-512 or identity). */
export function canVerify(cid: CID): boolean {
  return cid.multihash.code === SHA2_256 || cid.multihash.code === SHA2_512 || cid.multihash.code === IDENTITY;
}

/**
 * Checks `bytes` against the multihash inside `cid`. Throws CID_MISMATCH naming the CID when the
 * bytes were changed (disk corruption, tampering); returns the bytes otherwise.
 */
export function verifyBlock(cid: CID, bytes: Uint8Array, where = "the store"): Uint8Array {
  const digest = digestOf(cid.multihash.code, bytes);
  if (digest === undefined) {
    throw new ProofmarkError(
      "CID_MISMATCH",
      `block ${cid} uses multihash 0x${cid.multihash.code.toString(16)}, which Proofmark cannot verify; only sha2-256, sha2-512 and identity CIDs are accepted`,
      { cid: cid.toString() },
    );
  }
  const expected = cid.multihash.digest;
  if (
    !Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).equals(
      Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength),
    )
  ) {
    throw new ProofmarkError(
      "CID_MISMATCH",
      `block ${cid} in ${where} does not match its CID: the bytes were altered or corrupted on disk (${bytes.length} bytes read). Restore the store from a backup or re-add the original file`,
      { cid: cid.toString(), size: bytes.length },
    );
  }
  return bytes;
}

/** CIDs linked from a block (dag-pb links); raw and identity blocks have none. */
export async function linksOf(cid: CID, bytes: Uint8Array): Promise<CID[]> {
  if (cid.code === DAG_PB_CODE) return (await loadDagPb()).decode(bytes).Links.map((l) => l.Hash as unknown as CID);
  if (cid.code === RAW_CODE) return [];
  throw new ProofmarkError(
    "STORE_FAILED",
    `block ${cid} uses codec 0x${cid.code.toString(16)}; the store walks only UnixFS (dag-pb) and raw blocks`,
    { cid: cid.toString() },
  );
}

/** Largest CID accepted (bytes): an identity CID carries its data inline and could otherwise be any size. */
export const MAX_CID_BYTES = 128;
/** Largest block accepted from a CAR (the importer writes blocks of at most 1 MiB). */
export const MAX_BLOCK_BYTES = 4 << 20;
/** Deepest DAG accepted and read: a balanced 174-link UnixFS tree needs 6 levels for 2^60 bytes. */
export const MAX_DAG_DEPTH = 64;

/** INPUT_TOO_LARGE unless `cid` (found in `where`) is at most MAX_CID_BYTES long. */
export function checkCidSize(cid: CID, where: string): void {
  if (cid.bytes.length > MAX_CID_BYTES) {
    throw new ProofmarkError(
      "INPUT_TOO_LARGE",
      `${where} holds a CID of ${cid.bytes.length} bytes (an identity CID with data inline?); the store accepts CIDs up to ${MAX_CID_BYTES} bytes`,
      { size: cid.bytes.length, limit: MAX_CID_BYTES },
    );
  }
}

/** The key a block is stored under: its CIDv1 bytes as base64url (a CIDv0 and its CIDv1 share a key). */
export function blockKey(cid: CID): string {
  return Buffer.from(cid.version === 0 ? cid.toV1().bytes : cid.bytes).toString("base64url");
}

export { CID };
