import { TypedDataEncoder, recoverAddress, Signature, type TypedDataDomain, type TypedDataField } from "ethers";
import { ProofmarkError } from "./errors";
import { hexInto, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";

/**
 * Signed statements (attestations) as EIP-712 typed data. Two roles, two keys, two domains:
 *
 * - **submitter** — the person who stamps signs `SubmitterStatement{leaf, statement, time, nonce}`
 *   with their own key: "the holder of this key submitted this leaf, with this statement, and says
 *   it was time `time`". The time is the submitter's claim, not a witnessed clock. Domain
 *   `{name: "Proofmark Submitter", version: "1"[, chainId]}`.
 * - **calendar** — the stamping service (`proofmark calendar serve`) signs
 *   `CalendarAcknowledgement{root, receivedAt, calendar}` with the *calendar's* key the moment it has
 *   made a group of leaves durable. `root` is the sorted-pair keccak Merkle root (core/merkle) of
 *   the leaves acknowledged together; each leaf carries its `path` to that root. One signature thus
 *   covers every leaf of a group commit and each leaf still verifies on its own. Domain
 *   `{name: "Proofmark Calendar", version: "1"}`.
 *
 * Distinct domain names and primary types mean a signature made in one role can never verify in the
 * other, nor under another chain id or version. Neither key pays gas: the chain key (the anchoring
 * transaction's `submitter`) is a third, separate key.
 */

/** EIP-712 domain name of submitter statements. */
export const SUBMITTER_DOMAIN_NAME = "Proofmark Submitter";
/** EIP-712 domain name of calendar acknowledgements. */
export const CALENDAR_DOMAIN_NAME = "Proofmark Calendar";
/** Version of both typed-data schemas. */
export const STATEMENT_VERSION = "1";

export const SUBMITTER_STATEMENT_TYPES: Record<string, TypedDataField[]> = {
  SubmitterStatement: [
    { name: "leaf", type: "bytes32" },
    { name: "statement", type: "string" },
    { name: "time", type: "uint64" },
    { name: "nonce", type: "bytes32" },
  ],
};

export const CALENDAR_ACKNOWLEDGEMENT_TYPES: Record<string, TypedDataField[]> = {
  CalendarAcknowledgement: [
    { name: "root", type: "bytes32" },
    { name: "receivedAt", type: "uint64" },
    { name: "calendar", type: "string" },
  ],
};

/** The submitter's signed message. */
export interface SubmitterStatementMessage {
  leaf: Hex;
  /** Free text, e.g. "I, Li Wei, created this design" (≤ 1,000 characters). */
  statement: string;
  /** Unix seconds, as the submitter claims it. */
  time: number;
  /** 32 random bytes: two statements are never the same. */
  nonce: Hex;
}

/** The calendar's signed message. */
export interface CalendarAcknowledgementMessage {
  /** Merkle root of the leaves acknowledged together. */
  root: Hex;
  /** Unix milliseconds at which the leaves were durable in the calendar's store. */
  receivedAt: number;
  /** The calendar's identity: its public base URL. */
  calendar: string;
}

export interface StatementDomain {
  name: string;
  version: string;
  chainId?: number;
}

/** A submitter statement as it travels in a receipt's `attestations[]`. */
export interface SubmitterAttestation {
  type: "submitter";
  scheme: "eip712";
  domain: StatementDomain;
  message: SubmitterStatementMessage;
  /** The address the signer claims; verification recovers it from the signature. */
  signer: Hex;
  /** 65-byte r ‖ s ‖ v signature. */
  signature: Hex;
}

/** A calendar acknowledgement of one leaf, as it travels in a receipt's `attestations[]`. */
export interface CalendarAttestation {
  type: "calendar";
  scheme: "eip712";
  domain: StatementDomain;
  message: CalendarAcknowledgementMessage;
  /** The acknowledged leaf and its path to `message.root`. */
  leaf: Hex;
  path: Hex[];
  signer: Hex;
  signature: Hex;
}

export type Attestation = SubmitterAttestation | CalendarAttestation;

/** What verifying one attestation found: its own verdict, never folded into another witness. */
export interface AttestationVerdict {
  type: Attestation["type"];
  valid: boolean;
  /** The recovered signer (lower-case), when the signature could be recovered. */
  signer?: Hex;
  /** "signed by 0x… (submitter)" or why not. */
  summary: string;
  /** Error code when not valid. */
  code?: "STATEMENT_INVALID" | "STATEMENT_SIGNER_MISMATCH";
}

/** Domain of submitter statements (optionally bound to one chain). */
export function submitterDomain(chainId?: number): StatementDomain {
  return chainId === undefined
    ? { name: SUBMITTER_DOMAIN_NAME, version: STATEMENT_VERSION }
    : { name: SUBMITTER_DOMAIN_NAME, version: STATEMENT_VERSION, chainId };
}

/** Domain of calendar acknowledgements. */
export function calendarDomain(): StatementDomain {
  return { name: CALENDAR_DOMAIN_NAME, version: STATEMENT_VERSION };
}

/**
 * The EIP-712 digest a submitter signs.
 *
 * @example
 * const digest = submitterStatementDigest(submitterDomain(), { leaf, statement: "mine", time: 1700000000, nonce });
 */
export function submitterStatementDigest(domain: StatementDomain, message: SubmitterStatementMessage): Hex {
  checkSubmitterMessage(message);
  return TypedDataEncoder.hash(domain as TypedDataDomain, SUBMITTER_STATEMENT_TYPES, message) as Hex;
}

/**
 * The EIP-712 digest a calendar signs for a group of leaves. It runs once per group commit on the
 * calendar's request path, so it encodes the one fixed type itself (raw bytes, the domain separator
 * cached) instead of going through ethers' generic encoder; the tests compare both.
 */
export function calendarAcknowledgementDigest(domain: StatementDomain, message: CalendarAcknowledgementMessage): Hex {
  checkCalendarMessage(message);
  // hashStruct = keccak(typeHash ‖ root ‖ uint256(receivedAt) ‖ keccak(calendar)), 128 bytes
  const struct = new Uint8Array(128);
  struct.set(CALENDAR_TYPE_HASH, 0);
  hexInto(message.root, struct, 32, 32);
  let t = message.receivedAt;
  for (let i = 95; i >= 88 && t > 0; i--) {
    struct[i] = t % 256;
    t = Math.floor(t / 256);
  }
  struct.set(keccak256Utf8(message.calendar), 96);
  // digest = keccak(0x19 0x01 ‖ domainSeparator ‖ hashStruct)
  const digest = new Uint8Array(66);
  digest[0] = 0x19;
  digest[1] = 0x01;
  digest.set(domainSeparator(domain), 2);
  digest.set(keccak256(struct), 34);
  return toHex(keccak256(digest));
}

const CALENDAR_TYPE_HASH = keccak256Utf8("CalendarAcknowledgement(bytes32 root,uint64 receivedAt,string calendar)");
const domainSeparators = new Map<string, Uint8Array>();

/** The EIP-712 domain separator of a statement domain (name, version, optional chainId). */
function domainSeparator(domain: StatementDomain): Uint8Array {
  const key = `${domain.name}\u0000${domain.version}\u0000${domain.chainId ?? ""}`;
  let separator = domainSeparators.get(key);
  if (!separator) {
    separator = fromHexBytes(
      TypedDataEncoder.hashDomain({
        name: domain.name,
        version: domain.version,
        ...(domain.chainId !== undefined ? { chainId: domain.chainId } : {}),
      }),
    );
    if (domainSeparators.size < 16) domainSeparators.set(key, separator);
  }
  return separator;
}

function fromHexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  hexInto(hex, out, 0, 32);
  return out;
}

/**
 * Strictly parses an attestation (a JSON value): known type and scheme, exact fields, hex lengths.
 * Throws STATEMENT_INVALID.
 */
export function parseAttestation(input: unknown): Attestation {
  const a = input as Record<string, unknown>;
  const fail = (why: string): never => {
    throw new ProofmarkError("STATEMENT_INVALID", `attestation is malformed: ${why}`);
  };
  if (typeof a !== "object" || a === null || Array.isArray(a)) fail("not an object");
  if (a.scheme !== "eip712") fail(`unknown scheme ${JSON.stringify(a.scheme)}`);
  const domain = a.domain as Record<string, unknown>;
  if (typeof domain !== "object" || domain === null) fail("domain missing");
  exactKeys(domain, ["name", "version"], ["chainId"], "domain", fail);
  if (typeof domain.name !== "string" || typeof domain.version !== "string")
    fail("domain name/version must be strings");
  if (domain.chainId !== undefined && !(Number.isSafeInteger(domain.chainId) && (domain.chainId as number) > 0))
    fail("domain chainId must be a positive integer");
  if (!isHexOfLength(a.signer, 20)) fail("signer must be a lower-case 20-byte address");
  if (!isHexOfLength(a.signature, 65)) fail("signature must be 65 bytes of lower-case hex");
  const message = a.message as Record<string, unknown>;
  if (typeof message !== "object" || message === null) fail("message missing");
  if (a.type === "submitter") {
    exactKeys(a, ["type", "scheme", "domain", "message", "signer", "signature"], [], "attestation", fail);
    exactKeys(message, ["leaf", "statement", "time", "nonce"], [], "message", fail);
    try {
      checkSubmitterMessage(message as unknown as SubmitterStatementMessage);
    } catch (e) {
      fail((e as Error).message);
    }
  } else if (a.type === "calendar") {
    exactKeys(
      a,
      ["type", "scheme", "domain", "message", "leaf", "path", "signer", "signature"],
      [],
      "attestation",
      fail,
    );
    exactKeys(message, ["root", "receivedAt", "calendar"], [], "message", fail);
    try {
      checkCalendarMessage(message as unknown as CalendarAcknowledgementMessage);
    } catch (e) {
      fail((e as Error).message);
    }
    if (!isHexOfLength(a.leaf, 32)) fail("leaf must be 32 bytes of lower-case hex");
    if (!Array.isArray(a.path) || a.path.length > 64 || !a.path.every((p) => isHexOfLength(p, 32)))
      fail("path must be a list of 32-byte lower-case hex values");
  } else {
    fail(`unknown type ${JSON.stringify(a.type)}`);
  }
  return a as unknown as Attestation;
}

/**
 * Verifies one attestation offline: recomputes the EIP-712 digest, recovers the signer and
 * compares it with the claimed `signer` (and with `expectedSigner` when given — e.g. the
 * calendar's published address). For a calendar attestation, `foldPath` must fold `leaf` along
 * `path` to a root (core/merkle's `processProof`), which must equal the signed root.
 * Never throws for a bad signature: it returns a verdict with a code.
 *
 * @example
 * const v = verifyAttestation(attestation, { foldPath: (leaf, path) => processProof(leaf, path).root });
 * v.summary; // "signed by 0xabc… (submitter)"
 */
export function verifyAttestation(
  attestation: Attestation,
  opts: { expectedSigner?: string; foldPath?: (leaf: Hex, path: readonly Hex[]) => Hex } = {},
): AttestationVerdict {
  const type = attestation.type;
  let digest: Hex;
  try {
    parseAttestation(attestation);
    if (attestation.type === "submitter") {
      if (attestation.domain.name !== SUBMITTER_DOMAIN_NAME)
        return invalid(type, `domain "${attestation.domain.name}" is not a submitter statement's`);
      digest = submitterStatementDigest(attestation.domain, attestation.message);
    } else {
      if (attestation.domain.name !== CALENDAR_DOMAIN_NAME)
        return invalid(type, `domain "${attestation.domain.name}" is not a calendar acknowledgement's`);
      if (!opts.foldPath)
        throw new ProofmarkError("INVALID_ARGUMENT", "verifying a calendar attestation needs foldPath");
      const folded = opts.foldPath(attestation.leaf, attestation.path);
      if (folded !== attestation.message.root)
        return invalid(type, `leaf ${attestation.leaf} is not under the acknowledged root ${attestation.message.root}`);
      digest = calendarAcknowledgementDigest(attestation.domain, attestation.message);
    }
  } catch (e) {
    if ((e as ProofmarkError).code === "INVALID_ARGUMENT") throw e;
    return invalid(type, (e as Error).message);
  }
  let recovered: Hex;
  try {
    recovered = recoverAddress(digest, Signature.from(attestation.signature)).toLowerCase() as Hex;
  } catch (e) {
    return invalid(type, `the signature does not recover: ${(e as Error).message}`);
  }
  const role = type === "submitter" ? "submitter" : "calendar";
  if (recovered !== attestation.signer) {
    return {
      type,
      valid: false,
      signer: recovered,
      code: "STATEMENT_INVALID",
      summary: `the signature recovers ${recovered}, not the claimed ${role} ${attestation.signer}: the statement or its signature was altered`,
    };
  }
  if (opts.expectedSigner && recovered !== opts.expectedSigner.toLowerCase()) {
    return {
      type,
      valid: false,
      signer: recovered,
      code: "STATEMENT_SIGNER_MISMATCH",
      summary: `signed by ${recovered} (${role}), not by the expected ${opts.expectedSigner.toLowerCase()}`,
    };
  }
  return { type, valid: true, signer: recovered, summary: `signed by ${recovered} (${role})` };
}

function invalid(type: Attestation["type"], why: string): AttestationVerdict {
  return { type, valid: false, code: "STATEMENT_INVALID", summary: why };
}

function checkSubmitterMessage(m: SubmitterStatementMessage): void {
  if (!isHexOfLength(m.leaf, 32))
    throw new ProofmarkError("STATEMENT_INVALID", "leaf must be 32 bytes of lower-case hex");
  if (typeof m.statement !== "string" || m.statement.length > 1_000)
    throw new ProofmarkError("STATEMENT_INVALID", "statement must be a string of at most 1,000 characters");
  if (!Number.isSafeInteger(m.time) || m.time < 0)
    throw new ProofmarkError("STATEMENT_INVALID", "time must be whole unix seconds");
  if (!isHexOfLength(m.nonce, 32))
    throw new ProofmarkError("STATEMENT_INVALID", "nonce must be 32 bytes of lower-case hex");
}

function checkCalendarMessage(m: CalendarAcknowledgementMessage): void {
  if (!isHexOfLength(m.root, 32))
    throw new ProofmarkError("STATEMENT_INVALID", "root must be 32 bytes of lower-case hex");
  if (!Number.isSafeInteger(m.receivedAt) || m.receivedAt < 0)
    throw new ProofmarkError("STATEMENT_INVALID", "receivedAt must be whole unix milliseconds");
  if (typeof m.calendar !== "string" || m.calendar.length === 0 || m.calendar.length > 200)
    throw new ProofmarkError("STATEMENT_INVALID", "calendar must be a non-empty string of at most 200 characters");
}

function exactKeys(
  o: Record<string, unknown>,
  required: string[],
  optional: string[],
  what: string,
  fail: (why: string) => never,
): void {
  for (const k of required) if (!(k in o)) fail(`${what} lacks "${k}"`);
  for (const k of Object.keys(o))
    if (!required.includes(k) && !optional.includes(k)) fail(`${what} has an unknown field "${k}"`);
}
