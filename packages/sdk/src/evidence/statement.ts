import type { Signer, TypedDataDomain, Wallet } from "ethers";
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
  const signature = (
    key
      ? key.sign(calendarAcknowledgementDigest(calendarDomain(), message)).serialized
      : await signer.signTypedData(calendarDomain() as TypedDataDomain, CALENDAR_ACKNOWLEDGEMENT_TYPES, message)
  ) as Hex;
  return { message, signer: (await signer.getAddress()).toLowerCase() as Hex, signature, tree };
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
