import { TypedDataEncoder, verifyTypedData, type TypedDataDomain, type TypedDataField } from "ethers";
import type { MemberSigner } from "./prepare-request";

/**
 * The signed photo upload: a harvest's certificate photo goes to the relay's content store
 * (`POST /api/coop/photo`) only with the member's EIP-712 `PhotoUpload` signature over the photo's
 * SHA-256, its size, the product and the signing time, in the same domain as prepare requests
 * (prepare-request.ts: `ProofmarkCoopRelay` v1, the chain and the forwarder). The relay checks the
 * signature, the time, that it is new, that the member may record a harvest of that product and
 * has bytes left in its daily allowance — all from the headers, before it reads the body — then
 * that the bytes are the ones signed. One format for the member page (which bundles this file: no
 * I/O, no `node:` imports) and the relay.
 */

/** The EIP-712 type a member signs to upload a photo. */
export const PHOTO_UPLOAD_TYPES: Record<string, TypedDataField[]> = {
  PhotoUpload: [
    { name: "member", type: "address" },
    { name: "product", type: "uint64" },
    { name: "sha256", type: "bytes32" },
    { name: "size", type: "uint64" },
    { name: "signedAt", type: "uint64" },
  ],
};

/** The request headers that carry a photo upload's signed fields (the body is the photo's bytes). */
export const PHOTO_HEADERS = {
  member: "x-proofmark-member",
  product: "x-proofmark-product",
  sha256: "x-proofmark-sha256",
  size: "x-proofmark-size",
  signedAt: "x-proofmark-signed-at",
  signature: "x-proofmark-signature",
} as const;

/** A photo upload's signed fields (`sha256`: 0x + 64 hex digits; `signedAt`: ms since 1970, by the relay's clock). */
export interface SignedPhotoUpload {
  member: string;
  product: number;
  sha256: string;
  size: number;
  signedAt: number;
  signature: string;
}

function message(u: Omit<SignedPhotoUpload, "signature">): Record<string, unknown> {
  return { member: u.member, product: u.product, sha256: u.sha256, size: u.size, signedAt: u.signedAt };
}

/** The EIP-712 digest of a photo upload: the relay remembers it to refuse a replay. */
export function photoUploadDigest(domain: TypedDataDomain, u: Omit<SignedPhotoUpload, "signature">): string {
  return TypedDataEncoder.hash(domain, PHOTO_UPLOAD_TYPES, message(u));
}

/**
 * Signs the upload of a photo whose SHA-256 is `sha256` (0x-hex) and size `size` bytes, for a harvest
 * of `product`, at `signedAt` (ms; default now). The page sends the result as {@link PHOTO_HEADERS}
 * with the bytes as the body.
 *
 * @example
 * const sha256 = "0x" + hex(await crypto.subtle.digest("SHA-256", bytes));
 * const upload = await signPhotoUpload(wallet, domain, { product: 1, sha256, size: bytes.byteLength });
 */
export async function signPhotoUpload(
  signer: MemberSigner,
  domain: TypedDataDomain,
  photo: { product: number; sha256: string; size: number },
  signedAt: number = Date.now(),
): Promise<SignedPhotoUpload> {
  const u = { member: await signer.getAddress(), ...photo, signedAt };
  return { ...u, signature: await signer.signTypedData(domain, PHOTO_UPLOAD_TYPES, message(u)) };
}

/** The upload as request headers. */
export function photoUploadHeaders(u: SignedPhotoUpload): Record<string, string> {
  return {
    [PHOTO_HEADERS.member]: u.member,
    [PHOTO_HEADERS.product]: String(u.product),
    [PHOTO_HEADERS.sha256]: u.sha256,
    [PHOTO_HEADERS.size]: String(u.size),
    [PHOTO_HEADERS.signedAt]: String(u.signedAt),
    [PHOTO_HEADERS.signature]: u.signature,
  };
}

/** The upload read back from request headers (missing numbers as NaN, for the relay to refuse). */
export function photoUploadFromHeaders(get: (name: string) => string | undefined): Partial<SignedPhotoUpload> {
  const num = (v: string | undefined) => (v !== undefined && /^\d{1,16}$/.test(v) ? Number(v) : Number.NaN);
  return {
    member: get(PHOTO_HEADERS.member),
    product: num(get(PHOTO_HEADERS.product)),
    sha256: get(PHOTO_HEADERS.sha256),
    size: num(get(PHOTO_HEADERS.size)),
    signedAt: num(get(PHOTO_HEADERS.signedAt)),
    signature: get(PHOTO_HEADERS.signature),
  };
}

/** The account that signed a photo upload (throws on a malformed signature or field). */
export function recoverPhotoUploadSigner(domain: TypedDataDomain, u: SignedPhotoUpload): string {
  return verifyTypedData(domain, PHOTO_UPLOAD_TYPES, message(u), u.signature);
}
