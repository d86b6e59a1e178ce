import { ProofmarkError } from "./errors";
import { fromHex, hexDigitsInto, hexInto, toHex, type Hex } from "./hex";
import { keccak256, keccak256Into, keccak256Pair } from "./keccak";

/**
 * The per-lot hash chain of the ProvenanceRegistry: every event appended to a lot moves the lot's
 * head to keccak256(abi.encode(head, eventDigest)), starting from 0, so a trace read from logs can
 * be checked against one storage word (`headOf(lot)`). Pure: the same arithmetic as the contract,
 * used by the registry client, the log reducer and the lot assessment.
 */

/** The head of a lot without events. */
export const EMPTY_CHAIN_HEAD: Hex = `0x${"0".repeat(64)}`;

/** The fields of a `LotEventRecorded` log that its digest covers (step and disposition as codes). */
export interface ChainEventFields {
  lot: number | bigint;
  actor: string;
  step: number;
  disposition: number;
  eventTime: number | bigint;
  location: string;
  document: string;
}

/** Writes `value` as a 32-byte big-endian ABI word at `offset`; refuses values wider than `bits`. */
function putUint(out: Uint8Array, offset: number, value: number | bigint, bits: number, what: string): void {
  let v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(bits))
    throw new ProofmarkError("INVALID_ARGUMENT", `${what} ${String(value)} does not fit in uint${bits}`, {
      [what]: String(value),
    });
  for (let i = offset + 31; i >= offset && v > 0n; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
}

function putBytes(out: Uint8Array, offset: number, hex: string, bytes: number, what: string): void {
  const b = fromHex(hex, what);
  if (b.length !== bytes)
    throw new ProofmarkError("INVALID_ARGUMENT", `${what} must be ${bytes} bytes, got ${b.length}`, { [what]: hex });
  out.set(b, offset + 32 - bytes);
}

/**
 * keccak256(abi.encode(lot, actor, step, disposition, eventTime, location, document)): an event's
 * digest in the hash chain (uint64, address, uint8, uint8, uint40, bytes32, bytes32).
 *
 * @example
 * chainEventDigest({ lot: 7, actor, step: 1, disposition: 1, eventTime: 1788000000, location, document })
 */
export function chainEventDigest(e: ChainEventFields): Hex {
  const buf = new Uint8Array(7 * 32);
  putUint(buf, 0, e.lot, 64, "lot");
  putBytes(buf, 32, e.actor, 20, "actor");
  putUint(buf, 64, e.step, 8, "step");
  putUint(buf, 96, e.disposition, 8, "disposition");
  putUint(buf, 128, e.eventTime, 40, "eventTime");
  putBytes(buf, 160, e.location, 32, "location");
  putBytes(buf, 192, e.document, 32, "document");
  return toHex(keccak256(buf));
}

/** The digest's input read from a log's words (reused: the reducer hashes one event at a time). */
const logWords = new Uint8Array(7 * 32);

/**
 * Hex digits that must be zero at the start of each word of the digest's input for it to be the
 * canonical ABI word of its type: uint64 lot, address actor, uint8 step, uint8 disposition, uint40
 * eventTime, bytes32 location, bytes32 document.
 */
const ZERO_DIGITS = [48, 24, 62, 62, 54, 0, 0];

/** Whether the `digits` hex digits of `hex` from `at` are all "0". */
function zeros(hex: string, at: number, digits: number): boolean {
  for (let i = at; i < at + digits; i++) if (hex.charCodeAt(i) !== 48) return false;
  return true;
}

/**
 * {@link chainEventDigest} of a `LotEventRecorded` log read straight from its words — `lotWord`
 * (topics[1]), `actorWord` (topics[2]) and `data` (five words) — into `out` at `offset`: when every
 * word is the canonical ABI word of its type (high bytes zero), abi.encode of the decoded fields is
 * those seven words as they are, so they are hashed without decoding. Returns false, writing
 * nothing, for any other layout (the caller hashes the decoded fields with {@link chainEventDigest}).
 */
export function chainEventDigestOfLog(
  lotWord: string,
  actorWord: string,
  data: string,
  out: Uint8Array,
  offset: number,
): boolean {
  if (data.length !== 2 + 5 * 64 || !data.startsWith("0x")) return false;
  if (!zeros(lotWord, 2, ZERO_DIGITS[0]) || !zeros(actorWord, 2, ZERO_DIGITS[1])) return false;
  for (let w = 0; w < 5; w++) if (!zeros(data, 2 + 64 * w, ZERO_DIGITS[2 + w])) return false;
  if (!hexInto(lotWord, logWords, 0, 32) || !hexInto(actorWord, logWords, 32, 32)) return false;
  if (!hexDigitsInto(data, 2, logWords, 64, 5 * 32)) return false;
  keccak256Into(logWords, out, offset);
  return true;
}

/**
 * Moves a head held as 32 bytes to keccak256(abi.encode(head, eventDigest)) in place (the digest
 * as 32 bytes of `digest` at `offset`): {@link nextChainHead} without hex round trips, for a
 * reducer appending many events to one lot.
 */
export function advanceChainHead(head: Uint8Array, digest: Uint8Array, offset = 0): void {
  keccak256Pair(head, offset === 0 ? digest : digest.subarray(offset, offset + 32), head, 0);
}

/**
 * The next hash-chain head: keccak256(abi.encode(head, eventDigest)).
 *
 * @example
 * nextChainHead(EMPTY_CHAIN_HEAD, chainEventDigest(event))
 */
export function nextChainHead(head: string, eventDigest: string): Hex {
  const out = new Uint8Array(32);
  keccak256Pair(fromHex(head, "head"), fromHex(eventDigest, "eventDigest"), out, 0);
  return toHex(out);
}

/** The head after appending `events` (in chain order) to a chain whose head is `from`. */
export function chainHeadOf(events: readonly ChainEventFields[], from: string = EMPTY_CHAIN_HEAD): Hex {
  let head = from as Hex;
  for (const e of events) head = nextChainHead(head, chainEventDigest(e));
  return head;
}
