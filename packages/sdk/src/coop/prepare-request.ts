import {
  TypedDataEncoder,
  keccak256,
  toUtf8Bytes,
  verifyTypedData,
  type TypedDataDomain,
  type TypedDataField,
} from "ethers";
import type { MemberForm } from "./steps";

/**
 * The signed prepare request: before the relay prepares a step (and, for a harvest or packing,
 * gives the member the turn at the next lot id), the member signs, with the key on the phone, an
 * EIP-712 `PrepareRequest` naming the member, the digest of the form and when it was signed. The
 * relay checks the signature is the member's, the time is fresh and the signature new, and that the
 * member holds a role allowing the step — only then does it prepare. One format for the member page
 * (which bundles this file: no I/O, no `node:` imports) and the relay.
 */

/** The EIP-712 domain name and version of prepare requests (not the forwarder's: a prepare signature is never a forward request). */
export const PREPARE_DOMAIN_NAME = "ProofmarkCoopRelay";
export const PREPARE_DOMAIN_VERSION = "1";

/** The EIP-712 type a member signs to ask the relay to prepare a step. */
export const PREPARE_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  PrepareRequest: [
    { name: "member", type: "address" },
    { name: "form", type: "bytes32" },
    { name: "signedAt", type: "uint64" },
  ],
};

/** What signs a member's requests: an ethers Wallet in the browser, unlocked from the member's keystore. */
export interface MemberSigner {
  getAddress(): Promise<string>;
  signTypedData(d: TypedDataDomain, t: Record<string, TypedDataField[]>, v: Record<string, unknown>): Promise<string>;
}

/** What the member page posts to `/api/coop/prepare`. */
export interface SignedPrepareRequest {
  member: string;
  form: MemberForm;
  /** When it was signed, in milliseconds since 1970 (the relay's clock, as the page estimates it). */
  signedAt: number;
  signature: string;
}

/**
 * The domain of the relay in front of the forwarder at `forwarder` on `chainId` (the same chain and
 * contract as the forward requests, under its own name).
 */
export function prepareDomain(chainId: number | bigint, forwarder: string): TypedDataDomain {
  return { name: PREPARE_DOMAIN_NAME, version: PREPARE_DOMAIN_VERSION, chainId, verifyingContract: forwarder };
}

/**
 * The form as canonical JSON: object keys sorted by code unit at every level, `undefined` left out,
 * no white space. The page and the relay hash the same text whatever order the keys travelled in.
 */
export function canonicalFormJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalFormJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalFormJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** keccak-256 of the form's canonical JSON (what the signature covers). */
export function formDigest(form: unknown): string {
  return keccak256(toUtf8Bytes(canonicalFormJson(form)));
}

/** The EIP-712 message of a prepare request. */
function message(member: string, form: unknown, signedAt: number): Record<string, unknown> {
  return { member, form: formDigest(form), signedAt };
}

/** The EIP-712 digest of a prepare request: the relay remembers it to refuse a replay. */
export function prepareRequestDigest(domain: TypedDataDomain, r: Omit<SignedPrepareRequest, "signature">): string {
  return TypedDataEncoder.hash(domain, PREPARE_REQUEST_TYPES, message(r.member, r.form, r.signedAt));
}

/**
 * Signs the request to prepare `form` with `signer` (an ethers Wallet in the browser, unlocked from
 * the member's keystore), at `signedAt` (ms; default now).
 *
 * @example
 * const body = await signPrepareRequest(wallet, domain, { step: "harvest", product: 1, quantity: "1200kg", plot: "DS-07" });
 * await fetch("/api/coop/prepare", { method: "POST", body: JSON.stringify(body) });
 */
export async function signPrepareRequest(
  signer: MemberSigner,
  domain: TypedDataDomain,
  form: MemberForm,
  signedAt: number = Date.now(),
): Promise<SignedPrepareRequest> {
  const member = await signer.getAddress();
  const signature = await signer.signTypedData(domain, PREPARE_REQUEST_TYPES, message(member, form, signedAt));
  return { member, form, signedAt, signature };
}

/** The account that signed a prepare request (throws on a malformed signature). */
export function recoverPrepareSigner(domain: TypedDataDomain, r: SignedPrepareRequest): string {
  return verifyTypedData(domain, PREPARE_REQUEST_TYPES, message(r.member, r.form, r.signedAt), r.signature);
}
