import type { Signer, SigningKey, TypedDataDomain, Wallet } from "ethers";
import { randomSalt } from "../core/commitment";
import { ProofmarkError } from "../core/errors";
import type { Hex } from "../core/hex";
import { MerkleTree } from "../core/merkle";
import {
  CALENDAR_ACKNOWLEDGEMENT_TYPES,
  calendarAcknowledgementDigest,
  calendarDomain,
  SUBMITTER_STATEMENT_TYPES,
  submitterDomain,
  type CalendarAcknowledgementMessage,
  type CalendarAttestation,
  type SubmitterAttestation,
} from "../core/statement";

/**
 * The submitter signs an EIP-712 statement over a leaf with their own key (see core/statement for
 * the roles). `chainId` binds the statement to one chain when given.
 *
 * @example
 * const attestation = await signSubmitterStatement(wallet, { leaf, statement: "I, Li Wei, made this design" });
 */
export async function signSubmitterStatement(
  signer: Signer,
  input: { leaf: Hex; statement: string; time?: number; nonce?: Hex; chainId?: number },
): Promise<SubmitterAttestation> {
  const domain = submitterDomain(input.chainId);
  const message = {
    leaf: input.leaf,
    statement: input.statement,
    time: input.time ?? Math.floor(Date.now() / 1000),
    nonce: input.nonce ?? randomSalt(),
  };
  const signature = (await signer.signTypedData(domain as TypedDataDomain, SUBMITTER_STATEMENT_TYPES, message)) as Hex;
  return {
    type: "submitter",
    scheme: "eip712",
    domain,
    message,
    signer: (await signer.getAddress()).toLowerCase() as Hex,
    signature,
  };
}

/** A signed acknowledgement of a group of leaves: one signature, one attestation per leaf. */
export interface SignedAcknowledgement {
  message: CalendarAcknowledgementMessage;
  signer: Hex;
  signature: Hex;
  /** The Merkle tree over the group's leaves (in the given order). */
  tree: MerkleTree;
}

/**
 * The calendar signs one acknowledgement over the Merkle root of `leaves` (all made durable at
 * `receivedAt`); {@link calendarAttestationFor} then gives each leaf its own attestation.
 */
export async function signCalendarAcknowledgement(
  signer: Signer,
  input: { leaves: readonly Hex[]; receivedAt: number; calendar: string },
): Promise<SignedAcknowledgement> {
  if (input.leaves.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "nothing to acknowledge");
  const tree = MerkleTree.build(input.leaves);
  const message: CalendarAcknowledgementMessage = {
    root: tree.root,
    receivedAt: input.receivedAt,
    calendar: input.calendar,
  };
  // A local key signs the EIP-712 digest directly (the same signature signTypedData gives, without
  // its name resolution and re-encoding: this runs once per group commit on the request path).
  const key = (signer as Partial<Wallet>).signingKey;
  const signature = key
    ? signDigest(key, calendarAcknowledgementDigest(calendarDomain(), message))
    : ((await signer.signTypedData(
        calendarDomain() as TypedDataDomain,
        CALENDAR_ACKNOWLEDGEMENT_TYPES,
        message,
      )) as Hex);
  return { message, signer: (await signer.getAddress()).toLowerCase() as Hex, signature, tree };
}

/** libsecp256k1's signing function, from the `secp256k1` package's native binding. */
type NativeSign = (digest: Uint8Array, privateKey: Uint8Array) => { signature: Uint8Array; recid: number };
let nativeSign: NativeSign | null | undefined;
const privateKeys = new WeakMap<SigningKey, Uint8Array>();

/**
 * A 65-byte Ethereum signature (r ‖ s ‖ v, v = 27 or 28) of a 32-byte digest: the one ethers'
 * `SigningKey.sign` gives (RFC 6979 deterministic nonce, low s), through libsecp256k1 when the
 * `secp256k1` package's native binding loads — about 60 µs instead of 1.5–2 ms of JavaScript
 * (it runs once per group commit on the calendar's acknowledgement path) — else through ethers.
 * `test/calendar/calendar.test.ts` compares the two.
 */
export function signDigest(key: SigningKey, digest: Hex): Hex {
  if (nativeSign === undefined) {
    try {
      const secp256k1 = require("secp256k1/bindings") as { ecdsaSign: NativeSign };
      nativeSign = (d, k) => secp256k1.ecdsaSign(d, k);
    } catch {
      nativeSign = null; // no prebuilt binding for this platform: ethers' JavaScript signer
    }
  }
  if (!nativeSign) return key.sign(digest).serialized as Hex;
  let privateKey = privateKeys.get(key);
  if (!privateKey) privateKeys.set(key, (privateKey = Buffer.from(key.privateKey.slice(2), "hex")));
  const { signature, recid } = nativeSign(Buffer.from(digest.slice(2), "hex"), privateKey);
  return `0x${Buffer.from(signature.buffer, signature.byteOffset, 64).toString("hex")}${recid ? "1c" : "1b"}`;
}

/** The attestation of leaf `index` of a signed acknowledgement. */
export function calendarAttestationFor(
  ack: Omit<SignedAcknowledgement, "tree">,
  tree: MerkleTree,
  index: number,
): CalendarAttestation {
  return {
    type: "calendar",
    scheme: "eip712",
    domain: calendarDomain(),
    message: { ...ack.message },
    leaf: tree.leaf(index),
    path: tree.proof(index),
    signer: ack.signer,
    signature: ack.signature,
  };
}
