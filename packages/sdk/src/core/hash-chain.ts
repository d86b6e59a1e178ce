import { ProofmarkError } from "./errors";
import { fromHex, toHex, type Hex } from "./hex";
import { keccak256, keccak256Pair } from "./keccak";

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
