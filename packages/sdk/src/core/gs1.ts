import { ProofmarkError } from "./errors";
import { fromHex, isHexOfLength, toHex, type Hex } from "./hex";
import { keccak256, keccak256Utf8 } from "./keccak";
import { MerkleTree } from "./merkle";

/**
 * GS1 identifiers for scan codes: GTIN check digits, GS1 Digital Link URIs
 * (`https://<resolver>/01/<GTIN-14>/10/<lot>/21/<serial>`), unguessable serials, and the
 * commitment (a Merkle root) to the set of serials issued for a lot.
 *
 * Digital Link rules followed (GS1 Digital Link Standard: URI Syntax 1.x, its ABNF grammar):
 * - the GTIN is written with 14 digits (GTIN-8/12/13 left-padded with zeros) and its check digit
 *   must be right;
 * - AI 10 (batch/lot) and AI 21 (serial) values are 1–20 characters of GS1's 82-character set
 *   (CSET 82); in the URI, letters, digits, `-`, `.` and `_` are written as they are and every
 *   other CSET 82 character is percent-encoded with upper-case hex (`/` → `%2F`);
 * - qualifiers appear in the order 10 then 21.
 * Building always writes that canonical form. Parsing follows the standard's grammar, as GS1's own
 * parsers do (gs1-syntax-engine): percent-escapes in either case and literal URI characters are
 * decoded, then the value must be in CSET 82; `parse(build(x))` gives back `x` exactly, and
 * {@link checkDigitalLink} also says whether a code is in canonical form.
 */

/** GS1 AI 10/21 values: 1–20 characters of CSET 82. */
const CSET82_RE = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;
/** Characters written literally in a Digital Link path segment. */
const LITERAL_RE = /[0-9A-Za-z\-._]/;

/**
 * The GS1 check digit (mod 10, weights 3,1,3,… from the right) of the digits `body`
 * (a GTIN without its last digit).
 *
 * @example
 * gtinCheckDigit("950110153000"); // 3  → GTIN-13 9501101530003
 */
export function gtinCheckDigit(body: string): number {
  if (!/^[0-9]{1,17}$/.test(body))
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${body.slice(0, 40)}" must be 1–17 digits to compute a GS1 check digit`,
    );
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const digit = body.charCodeAt(body.length - 1 - i) - 48;
    sum += digit * (i % 2 === 0 ? 3 : 1);
  }
  return (10 - (sum % 10)) % 10;
}

/** True for a GTIN-8, -12, -13 or -14 with a correct check digit. */
export function isValidGtin(gtin: string): boolean {
  if (typeof gtin !== "string" || !/^([0-9]{8}|[0-9]{12,14})$/.test(gtin)) return false;
  return gtinCheckDigit(gtin.slice(0, -1)) === gtin.charCodeAt(gtin.length - 1) - 48;
}

/**
 * The 14-digit form of a GTIN-8/12/13/14 (left-padded with zeros), after checking its length
 * and check digit. Throws INVALID_ARGUMENT naming the expected check digit.
 *
 * @example
 * normalizeGtin("9501101530003"); // "09501101530003"
 */
export function normalizeGtin(gtin: string): string {
  if (typeof gtin !== "string" || !/^([0-9]{8}|[0-9]{12,14})$/.test(gtin)) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `GTIN "${String(gtin).slice(0, 40)}" must have 8, 12, 13 or 14 digits`,
      { gtin },
    );
  }
  const expected = gtinCheckDigit(gtin.slice(0, -1));
  if (expected !== gtin.charCodeAt(gtin.length - 1) - 48) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `GTIN ${gtin} has a wrong check digit: the last digit should be ${expected}`,
      { gtin, expected },
    );
  }
  return gtin.padStart(14, "0");
}

/** Checks a lot or serial value for AI 10 / AI 21 (1–20 characters of CSET 82). */
export function assertAiValue(value: string, what: "lot" | "serial"): void {
  if (typeof value !== "string" || !CSET82_RE.test(value)) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `${what} "${String(value).slice(0, 40)}" must be 1–20 characters of GS1's character set 82 (letters, digits and !"%&'()*+,-./:;<=>?_)`,
      { [what]: value },
    );
  }
}

/** Percent-encodes a CSET 82 value for a Digital Link path segment (canonical form). */
export function encodeAiValue(value: string): string {
  let out = "";
  for (const ch of value)
    out += LITERAL_RE.test(ch) ? ch : `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** Characters a URI path segment may hold literally (RFC 3986 pchar less "%"). */
const PCHAR_RE = /[A-Za-z0-9\-._~!$&'()*+,;=:@]/;

/**
 * Decodes a Digital Link path segment as GS1's Digital Link 1.2 grammar reads it: any
 * percent-escape (upper- or lower-case hex) is decoded, characters a URI path allows literally
 * stand for themselves ("+" is "+"), and the decoded value must be 1–20 characters of CSET 82.
 * Throws INVALID_ARGUMENT for anything else. {@link isCanonicalAiSegment} tells whether the segment
 * was also written in the canonical form {@link encodeAiValue} writes.
 */
export function decodeAiValue(segment: string, what: "lot" | "serial"): string {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "%") {
      const hex = segment.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex))
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          `${what} segment "${segment.slice(0, 60)}" has a malformed percent-escape (use %XX with two hex digits)`,
        );
      const decoded = String.fromCharCode(parseInt(hex, 16));
      if (!CSET82_RE.test(decoded))
        throw new ProofmarkError(
          "INVALID_ARGUMENT",
          `${what} segment "${segment.slice(0, 60)}" percent-encodes "${decoded.replace(/[^\x21-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}", which is not in GS1 character set 82`,
        );
      out += decoded;
      i += 2;
    } else if (PCHAR_RE.test(ch)) {
      out += ch;
    } else {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `${what} segment "${segment.slice(0, 60)}" contains "${ch}", which a URI path must percent-encode`,
      );
    }
  }
  assertAiValue(out, what);
  return out;
}

/** True when a (valid) path segment is written exactly as {@link encodeAiValue} writes its value. */
export function isCanonicalAiSegment(segment: string, what: "lot" | "serial"): boolean {
  return encodeAiValue(decodeAiValue(segment, what)) === segment;
}

/** The parts of a scan code. */
export interface DigitalLink {
  /** Resolver base, scheme + host (+ optional path prefix), no trailing slash. */
  resolver: string;
  /** 14-digit GTIN. */
  gtin: string;
  /** Batch/lot (AI 10). */
  lot: string;
  /** Serial (AI 21). */
  serial: string;
}

function normalizeResolver(resolver: string): string {
  let url: URL;
  try {
    url = new URL(resolver);
  } catch {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `resolver "${String(resolver).slice(0, 80)}" is not a URL; use e.g. https://id.example.org`,
    );
  }
  if (
    (url.protocol !== "https:" && url.protocol !== "http:") ||
    url.search ||
    url.hash ||
    url.username ||
    url.password
  ) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `resolver "${resolver}" must be an http(s) URL without query, fragment or credentials`,
    );
  }
  const base = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, "")}`;
  return base;
}

/**
 * Builds the GS1 Digital Link URI of one package.
 *
 * @example
 * buildDigitalLink({ resolver: "https://id.example.org", gtin: "9501101530003", lot: "L7", serial: "8K2M4Q9TXV3C6H1R" });
 * // "https://id.example.org/01/09501101530003/10/L7/21/8K2M4Q9TXV3C6H1R"
 */
export function buildDigitalLink(link: { resolver: string; gtin: string; lot: string; serial: string }): string {
  const gtin = normalizeGtin(link.gtin);
  assertAiValue(link.lot, "lot");
  assertAiValue(link.serial, "serial");
  return `${normalizeResolver(link.resolver)}${digitalLinkPath({ gtin, lot: link.lot, serial: link.serial })}`;
}

/** The path part `/01/<gtin14>/10/<lot>/21/<serial>` (values already valid). */
export function digitalLinkPath(link: { gtin: string; lot: string; serial: string }): string {
  return `/01/${link.gtin}/10/${encodeAiValue(link.lot)}/21/${encodeAiValue(link.serial)}`;
}

/**
 * Parses the path of a Digital Link (`/01/<gtin14>/10/<lot>/21/<serial>`, optionally with a
 * resolver prefix before it): 14-digit GTIN with a right check digit, lot and serial per the grammar.
 */
export function parseDigitalLinkPath(path: string): { prefix: string; gtin: string; lot: string; serial: string } {
  const m = /^(.*)\/01\/([0-9]{14})\/10\/([^/?#]+)\/21\/([^/?#]+)$/.exec(path);
  if (!m)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${path.slice(0, 120)}" is not a GS1 Digital Link path /01/<14-digit GTIN>/10/<lot>/21/<serial>`,
    );
  const gtin = m[2];
  if (!isValidGtin(gtin))
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `GTIN ${gtin} has a wrong check digit: the last digit should be ${gtinCheckDigit(gtin.slice(0, 13))}`,
      { gtin },
    );
  return { prefix: m[1], gtin, lot: decodeAiValue(m[3], "lot"), serial: decodeAiValue(m[4], "serial") };
}

/**
 * Parses a full GS1 Digital Link URI of a serialised package (see the module comment; no query or fragment).
 *
 * @example
 * parseDigitalLink("https://id.example.org/01/09501101530003/10/L7/21/8K2M4Q9TXV3C6H1R");
 * // { resolver: "https://id.example.org", gtin: "09501101530003", lot: "L7", serial: "8K2M4Q9TXV3C6H1R" }
 */
export function parseDigitalLink(uri: string): DigitalLink {
  const m = /^(https?:\/\/[^/?#]+)(\/[^?#]*)$/.exec(typeof uri === "string" ? uri : "");
  if (!m)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${String(uri).slice(0, 120)}" is not an http(s) GS1 Digital Link URI without query or fragment`,
    );
  const parts = parseDigitalLinkPath(m[2]);
  const resolver = `${m[1]}${parts.prefix}`;
  if (normalizeResolver(resolver) !== resolver)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${uri.slice(0, 120)}" has a non-canonical resolver part "${resolver}"`,
    );
  return { resolver, gtin: parts.gtin, lot: parts.lot, serial: parts.serial };
}

/** What {@link checkDigitalLink} finds about a printed code. */
export interface DigitalLinkCheck {
  /** True when the URI is a well-formed GS1 Digital Link of a serialised package (GTIN + lot + serial). */
  ok: boolean;
  /** True when it is also written in canonical form (what `codes issue` prints). */
  canonical: boolean;
  /** The parts, when well-formed. */
  link?: DigitalLink;
  /** The canonical form of the same code, when well-formed. */
  canonicalUri?: string;
  /** Why it is not well-formed, or why it is not canonical. */
  problems: string[];
}

/**
 * Tells whether a printed scan code is a well-formed GS1 Digital Link of one package
 * (`<resolver>/01/<GTIN-14>/10/<lot>/21/<serial>`, GS1 Digital Link 1.2 grammar, GTIN check digit,
 * AI 10 / AI 21 character set and length), and whether it is in canonical form. Never throws.
 *
 * @example
 * checkDigitalLink("https://id.example.org/01/09501101530003/10/L%281/21/X").ok // true
 */
export function checkDigitalLink(uri: string): DigitalLinkCheck {
  const problems: string[] = [];
  let link: DigitalLink;
  try {
    link = parseDigitalLink(uri);
  } catch (e) {
    return { ok: false, canonical: false, problems: [(e as Error).message] };
  }
  const canonicalUri = buildDigitalLink(link);
  if (canonicalUri !== uri) {
    const m = /\/10\/([^/]+)\/21\/([^/]+)$/.exec(uri)!;
    if (!isCanonicalAiSegment(m[1], "lot"))
      problems.push(`the lot is not written canonically: "${m[1]}" (canonical: "${encodeAiValue(link.lot)}")`);
    if (!isCanonicalAiSegment(m[2], "serial"))
      problems.push(`the serial is not written canonically: "${m[2]}" (canonical: "${encodeAiValue(link.serial)}")`);
    if (problems.length === 0) problems.push(`not in canonical form; canonical: ${canonicalUri}`);
  }
  return { ok: true, canonical: canonicalUri === uri, link, canonicalUri, problems };
}

// ---------------------------------------------------------------- serials

/** Crockford base32 alphabet (no I, L, O, U): unambiguous when read aloud or typed. */
export const SERIAL_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** Serial length: 16 base32 characters = 80 random bits. */
export const SERIAL_LENGTH = 16;
const SERIAL_RE = new RegExp(`^[${SERIAL_ALPHABET}]{${SERIAL_LENGTH}}$`);

/**
 * A fresh serial: 80 bits from the platform CSPRNG as 16 Crockford base32 characters.
 *
 * @example
 * newSerial(); // "8K2M4Q9TXV3C6H1R"
 */
export function newSerial(
  random: (n: number) => Uint8Array = (n) => globalThis.crypto.getRandomValues(new Uint8Array(n)),
): string {
  const bytes = random(10);
  if (bytes.length !== 10) throw new ProofmarkError("INVALID_ARGUMENT", "the random source must return 10 bytes");
  let bits = 0n;
  for (const b of bytes) bits = (bits << 8n) | BigInt(b);
  let out = "";
  for (let i = SERIAL_LENGTH - 1; i >= 0; i--) out += SERIAL_ALPHABET[Number((bits >> BigInt(i * 5)) & 31n)];
  return out;
}

/** True for a serial in the format {@link newSerial} makes. */
export function isSerial(value: unknown): value is string {
  return typeof value === "string" && SERIAL_RE.test(value);
}

/** Domain tag of serial leaves: keccak256("proofmark.serial.leaf.v1"). */
export const SERIAL_LEAF_DOMAIN: Hex = toHex(keccak256Utf8("proofmark.serial.leaf.v1"));

/**
 * The Merkle leaf of one issued serial:
 * `keccak256(keccak256(SERIAL_LEAF_DOMAIN ‖ keccak256(utf8(gtin14 "/" lot "/" serial)) ‖ salt))`,
 * double-hashed like evidence leaves so no internal node passes as a leaf. The salt (32 random
 * bytes per serial, kept in the manifest) means the on-chain root reveals nothing about serials.
 */
export function serialLeaf(input: { gtin: string; lot: string; serial: string; salt: Hex }): Hex {
  if (!isHexOfLength(input.salt, 32))
    throw new ProofmarkError("INVALID_ARGUMENT", "serial salt must be 0x followed by 64 lower-case hex digits");
  const pre = new Uint8Array(96);
  pre.set(fromHex(SERIAL_LEAF_DOMAIN), 0);
  pre.set(keccak256Utf8(`${input.gtin}/${input.lot}/${input.serial}`), 32);
  pre.set(fromHex(input.salt), 64);
  return toHex(keccak256(keccak256(pre)));
}

/** One issued code: serial, its salt and its leaf. */
export interface IssuedSerial {
  serial: string;
  salt: Hex;
  leaf: Hex;
}

/**
 * The commitment to a set of serials: the root of the sorted-pair Merkle tree over their leaves
 * (in issue order). Anchored with the lot's `issueCodes` call so that an invented serial — one
 * not under this root — is detectable.
 */
export function serialSetCommitment(
  gtin: string,
  lot: string,
  serials: ReadonlyArray<{ serial: string; salt: Hex }>,
): { root: Hex; leaves: Hex[] } {
  const gtin14 = normalizeGtin(gtin);
  const leaves = serials.map((s) => serialLeaf({ gtin: gtin14, lot, serial: s.serial, salt: s.salt }));
  return { root: MerkleTree.build(leaves).root, leaves };
}
