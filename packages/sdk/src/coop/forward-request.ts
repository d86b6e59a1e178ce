import { TypedDataEncoder, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";

/**
 * ERC-2771 forward requests as OpenZeppelin's `ERC2771Forwarder` (v5) checks them: the EIP-712
 * domain of the co-op's `ProvenanceForwarder` and the `ForwardRequest` struct a member signs. No
 * I/O and no `node:` imports: the member page bundles this file for the browser.
 */

/** The forwarder's EIP-712 domain name and version (contracts/ProvenanceForwarder.sol). */
export const FORWARDER_DOMAIN_NAME = "ProvenanceForwarder";
export const FORWARDER_DOMAIN_VERSION = "1";

/** The EIP-712 type the forwarder hashes (`FORWARD_REQUEST_TYPEHASH`). */
export const FORWARD_REQUEST_TYPES: Record<string, TypedDataField[]> = {
  ForwardRequest: [
    { name: "from", type: "address" },
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "gas", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint48" },
    { name: "data", type: "bytes" },
  ],
};

/** What a member signs (numbers as decimal strings, so that it travels as JSON). */
export interface ForwardRequest {
  from: string;
  to: string;
  value: string;
  gas: string;
  nonce: string;
  deadline: number;
  data: string;
}

/** A signed request, as the relay receives it and `execute` takes it (the nonce is the forwarder's). */
export interface SignedForwardRequest extends ForwardRequest {
  signature: string;
}

/** The EIP-712 domain of the forwarder at `forwarder` on `chainId`. */
export function forwarderDomain(chainId: number | bigint, forwarder: string): TypedDataDomain {
  return {
    name: FORWARDER_DOMAIN_NAME,
    version: FORWARDER_DOMAIN_VERSION,
    chainId,
    verifyingContract: forwarder,
  };
}

/** The EIP-712 digest of a request (what the signature covers). */
export function forwardRequestDigest(domain: TypedDataDomain, request: ForwardRequest): string {
  return TypedDataEncoder.hash(domain, FORWARD_REQUEST_TYPES, request);
}

/** Signs `request` with `signer` (an ethers Wallet in the browser). */
export async function signForwardRequest(
  signer: {
    signTypedData(d: TypedDataDomain, t: Record<string, TypedDataField[]>, v: Record<string, unknown>): Promise<string>;
  },
  domain: TypedDataDomain,
  request: ForwardRequest,
): Promise<SignedForwardRequest> {
  const signature = await signer.signTypedData(domain, FORWARD_REQUEST_TYPES, { ...request });
  return { ...request, signature };
}

/** The account that signed `signed` (throws on a malformed signature). */
export function recoverForwardRequestSigner(domain: TypedDataDomain, signed: SignedForwardRequest): string {
  const { signature, ...request } = signed;
  return verifyTypedData(domain, FORWARD_REQUEST_TYPES, request, signature);
}

/** The tuple `ERC2771Forwarder.execute` takes. */
export function executeArgs(signed: SignedForwardRequest): unknown[] {
  return [
    {
      from: signed.from,
      to: signed.to,
      value: BigInt(signed.value),
      gas: BigInt(signed.gas),
      deadline: BigInt(signed.deadline),
      data: signed.data,
      signature: signed.signature,
    },
  ];
}
