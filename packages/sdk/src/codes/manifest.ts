import { ProofmarkError } from "../core/errors";
import { buildDigitalLink, isSerial, normalizeGtin, serialSetCommitment } from "../core/gs1";
import { isHexOfLength, type Hex } from "../core/hex";

/**
 * The manifest of the scan codes issued for a lot (`proofmark-codes`, version 1): the serials
 * with their salts, and the on-chain anchor of their set commitment. Whoever holds it (the
 * co-op, the portal) can show that each serial is under the root the lot's `issueCodes`
 * transaction recorded — and that a serial not in it was never issued.
 */
export const CODES_FORMAT = "proofmark-codes";
export const CODES_VERSION = 1;

export interface CodesManifest {
  format: typeof CODES_FORMAT;
  version: typeof CODES_VERSION;
  chainId: number;
  /** ProvenanceRegistry address (lower case). */
  registry: Hex;
  lot: number;
  /** 14-digit GTIN. */
  gtin: string;
  resolver: string;
  /** Merkle root of the serial leaves (the `serialSetCommitment` of `CodesIssued`). */
  commitment: Hex;
  txHash: Hex;
  blockNumber: number;
  /** Block time of the issue, seconds since the epoch. */
  timestamp: number;
  serials: Array<{ serial: string; salt: Hex; uri: string }>;
}

function invalid(message: string): never {
  throw new ProofmarkError("INVALID_ARGUMENT", `codes manifest is invalid: ${message}`);
}

/**
 * Parses a codes manifest strictly and recomputes its commitment from the serials (a manifest
 * whose serials do not give its commitment is rejected).
 */
export function parseCodesManifest(input: string | unknown): CodesManifest {
  let v = input;
  if (typeof input === "string") {
    try {
      v = JSON.parse(input);
    } catch (e) {
      invalid(`not JSON (${(e as Error).message})`);
    }
  }
  const m = v as Record<string, unknown>;
  if (typeof m !== "object" || m === null) invalid("not an object");
  if (m.format !== CODES_FORMAT || m.version !== CODES_VERSION)
    invalid(`format must be "${CODES_FORMAT}" version ${CODES_VERSION}`);
  const allowed = [
    "format",
    "version",
    "chainId",
    "registry",
    "lot",
    "gtin",
    "resolver",
    "commitment",
    "txHash",
    "blockNumber",
    "timestamp",
    "serials",
  ];
  for (const k of Object.keys(m)) if (!allowed.includes(k)) invalid(`${k} is not a field of a codes manifest`);
  for (const k of ["chainId", "lot", "blockNumber", "timestamp"])
    if (!Number.isSafeInteger(m[k]) || (m[k] as number) < 0) invalid(`${k} must be an integer ≥ 0`);
  if (!isHexOfLength(m.registry, 20)) invalid("registry must be a lower-case address");
  if (!isHexOfLength(m.commitment, 32) || !isHexOfLength(m.txHash, 32))
    invalid("commitment and txHash must be 32-byte hex");
  if (typeof m.gtin !== "string" || normalizeGtin(m.gtin) !== m.gtin) invalid("gtin must be a valid 14-digit GTIN");
  if (typeof m.resolver !== "string") invalid("resolver must be a URL");
  if (!Array.isArray(m.serials) || m.serials.length === 0) invalid("serials must be a non-empty array");
  const lot = String(m.lot);
  const serials = (m.serials as unknown[]).map((s, i) => {
    const e = s as Record<string, unknown>;
    if (
      typeof e !== "object" ||
      e === null ||
      !isSerial(e.serial) ||
      !isHexOfLength(e.salt, 32) ||
      typeof e.uri !== "string"
    )
      invalid(`serials[${i}] must be { serial, salt, uri }`);
    if (
      buildDigitalLink({ resolver: m.resolver as string, gtin: m.gtin as string, lot, serial: e.serial as string }) !==
      e.uri
    )
      invalid(`serials[${i}].uri does not match its serial`);
    return { serial: e.serial as string, salt: e.salt as Hex, uri: e.uri as string };
  });
  if (new Set(serials.map((s) => s.serial)).size !== serials.length) invalid("serials repeat");
  const { root } = serialSetCommitment(m.gtin as string, lot, serials);
  if (root !== m.commitment) invalid(`its serials give the commitment ${root}, not ${String(m.commitment)}`);
  return m as unknown as CodesManifest;
}

/** CSV manifest text (RFC 4180, one row per serial, no salts: the printer needs none). */
export function codesCsv(manifest: CodesManifest, productName = ""): string {
  const q = (s: string | number) => (/[",\n\r]/.test(String(s)) ? `"${String(s).replace(/"/g, '""')}"` : String(s));
  const rows = [["index", "serial", "uri", "gtin", "lot", "product", "commitment", "txHash"].join(",")];
  manifest.serials.forEach((s, i) =>
    rows.push(
      [i + 1, s.serial, s.uri, manifest.gtin, manifest.lot, productName, manifest.commitment, manifest.txHash]
        .map(q)
        .join(","),
    ),
  );
  return `${rows.join("\r\n")}\r\n`;
}
