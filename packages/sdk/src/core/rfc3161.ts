import { sha1 } from "@noble/hashes/legacy";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2";
import type * as Asn1js from "asn1js";
import type * as Pkijs from "pkijs";
import { lazyModule } from "../util/lazy";
import { ProofmarkError } from "./errors";
import { bytesEqual, fromHex, toHex, type Hex } from "./hex";

const asn1js = lazyModule<typeof Asn1js>("asn1js");
const pkijs = lazyModule<typeof Pkijs>("pkijs");

/**
 * RFC 3161 time-stamp tokens over Merkle roots: building the request, parsing the reply and
 * verifying a token offline (pkijs + asn1js; no I/O — the HTTP client is in src/tsa/).
 *
 * **What is time-stamped.** The token's message imprint is `SHA-256(root)`, where `root` is the
 * 32 raw bytes of the Merkle root (not its hex). A TSA is asked to time-stamp a hash of some data;
 * the data here is the root, so anyone can check a token with stock tools:
 * `printf '<root hex>' | xxd -r -p > root.bin; openssl ts -verify -data root.bin -in token.tsr -CAfile ca.pem`.
 * (Sending the keccak root itself as a "SHA-256" imprint would label a keccak value as SHA-256.)
 *
 * **Validation-time policy.** Everything is checked *at the token's genTime*: the TSA certificate
 * and its chain must be valid at genTime (PKI.js semantics; OpenSSL instead checks "now" and fails
 * once the TSA certificate has expired). Checked: status granted, CMS SignedData signature over the
 * signed attributes, `messageDigest` = H(TSTInfo), the ESS signing-certificate(-v2) hash equals the
 * signer certificate, the signer certificate has a **critical** extended key usage of exactly
 * id-kp-timeStamping, the chain reaches one of the caller's trusted roots, the imprint algorithm is
 * SHA-256 and the imprint equals SHA-256(root), the nonce (when the caller has the request's).
 * **Not checked:** revocation (no CRL/OCSP is fetched; none is embedded by the TSAs we use), the TSA
 * policy OID (reported, not judged), and whether the TSA's clock was right (genTime is the TSA's
 * claim, bounded by its `accuracy`).
 */

/** OIDs used here. */
export const RFC3161_OID = {
  sha256: "2.16.840.1.101.3.4.2.1",
  tstInfo: "1.2.840.113549.1.9.16.1.4",
  signedData: "1.2.840.113549.1.7.2",
  timeStamping: "1.3.6.1.5.5.7.3.8",
  extKeyUsage: "2.5.29.37",
  signingCertificate: "1.2.840.113549.1.9.16.2.12",
  signingCertificateV2: "1.2.840.113549.1.9.16.2.47",
} as const;

const HASH_BY_OID: Record<string, (b: Uint8Array) => Uint8Array> = {
  "1.3.14.3.2.26": sha1,
  "2.16.840.1.101.3.4.2.1": sha256,
  "2.16.840.1.101.3.4.2.2": sha384,
  "2.16.840.1.101.3.4.2.3": sha512,
};

/**
 * What a token time-stamps: a Merkle root (hex; its 32 bytes are the data), or other data given as
 * bytes (a WACZ signature's text, as the WACZ signing spec's `timeSignature` asks).
 */
export type TimestampSubject = Hex | { data: Uint8Array };

function subjectBytes(subject: TimestampSubject): Uint8Array {
  if (typeof subject !== "string") return subject.data;
  const bytes = fromHex(subject, "root");
  if (bytes.length !== 32) throw new ProofmarkError("INVALID_ARGUMENT", "a root is 32 bytes");
  return bytes;
}

/** The message imprint of a root (SHA-256 of its 32 bytes) or of other data (SHA-256 of the bytes). */
export function rootImprint(root: TimestampSubject): Uint8Array {
  return sha256(subjectBytes(root));
}

/**
 * A DER TimeStampReq for `root` (SHA-256 imprint, certReq true so the TSA includes its
 * certificate, and a 64-bit random nonce that {@link verifyTimestampToken} checks).
 *
 * @example
 * const { der, nonce } = buildTimestampRequest(root);
 */
export function buildTimestampRequest(
  root: TimestampSubject,
  nonce: Uint8Array = randomNonce(),
): { der: Uint8Array; nonce: Hex } {
  const request = new pkijs.TimeStampReq({
    version: 1,
    messageImprint: new pkijs.MessageImprint({
      hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: RFC3161_OID.sha256 }),
      hashedMessage: new asn1js.OctetString({ valueHex: rootImprint(root) }),
    }),
    nonce: new asn1js.Integer({ valueHex: nonce }),
    certReq: true,
  });
  return { der: new Uint8Array(request.toSchema().toBER(false)), nonce: toHex(nonce) };
}

function randomNonce(): Uint8Array {
  const n = globalThis.crypto.getRandomValues(new Uint8Array(8));
  n[0] = (n[0] & 0x7f) | 0x01; // positive and minimal: no leading zero byte, no sign bit
  return n;
}

/**
 * Parses a TimeStampResp (DER, as a TSA answers) and returns the token (DER ContentInfo).
 * Throws TIMESTAMP_MALFORMED when the bytes are not a TimeStampResp, TSA_FAILED when the TSA
 * refused (status other than granted / grantedWithMods).
 */
export function parseTimestampResponse(der: Uint8Array): Uint8Array {
  let resp: Pkijs.TimeStampResp;
  try {
    resp = pkijs.TimeStampResp.fromBER(toArrayBuffer(der));
  } catch (e) {
    throw new ProofmarkError(
      "TIMESTAMP_MALFORMED",
      `the TSA's reply is not an RFC 3161 TimeStampResp: ${(e as Error).message}`,
    );
  }
  const status = resp.status.status;
  if (status !== 0 && status !== 1) {
    const text = resp.status.statusStrings?.map((s) => s.valueBlock.value).join("; ");
    throw new ProofmarkError(
      "TSA_FAILED",
      `the TSA refused the request (PKIStatus ${status}${text ? `: ${text}` : ""})`,
      { status },
    );
  }
  if (!resp.timeStampToken)
    throw new ProofmarkError("TIMESTAMP_MALFORMED", "the TSA granted the request but sent no token");
  return new Uint8Array(resp.timeStampToken.toSchema().toBER(false));
}

/** What a verified token says. */
export interface TimestampTokenInfo {
  /** The TSA's time, ISO 8601 (UTC). */
  genTime: string;
  /** Unix seconds of genTime (rounded down). */
  genTimeSeconds: number;
  /** Accuracy in milliseconds, when the TSA states one. */
  accuracyMs?: number;
  /** The TSA's policy OID (reported, not judged). */
  policy: string;
  serialNumber: Hex;
  nonce?: Hex;
  /** Subject of the signing (TSA) certificate, RFC 4514-like. */
  tsa: string;
  /** Subjects from the TSA certificate up to the trusted root. */
  chain: string[];
  /** The validation-time policy applied. */
  validatedAt: "genTime";
  /** What was not checked (named, never silently passed). */
  notChecked: string[];
}

/**
 * Verifies a token offline against `root` and the trusted root certificates (DER). Throws, with its
 * own code: TIMESTAMP_MALFORMED (not a token), TIMESTAMP_MISMATCH (a token over another root),
 * TIMESTAMP_UNTRUSTED (no chain to a trusted root, or no trusted root configured),
 * TIMESTAMP_INVALID (bad signature, tampered content, ESS or EKU check failed, nonce differs).
 *
 * @example
 * const info = await verifyTimestampToken(token, { root, trusted: pemCertificates(pem) });
 * info.genTime; // "2026-12-02T01:02:03Z"
 */
export async function verifyTimestampToken(
  token: Uint8Array,
  opts: { root: TimestampSubject; trusted: Uint8Array[]; nonce?: Hex },
): Promise<TimestampTokenInfo> {
  const { signed, tstInfo } = decodeToken(token);
  // 1. what was stamped
  const imprint = tstInfo.messageImprint;
  if (imprint.hashAlgorithm.algorithmId !== RFC3161_OID.sha256) {
    throw new ProofmarkError(
      "TIMESTAMP_MISMATCH",
      `the token's imprint uses hash ${imprint.hashAlgorithm.algorithmId}, not SHA-256: it was not made for a Proofmark root`,
    );
  }
  const hashed = new Uint8Array(imprint.hashedMessage.valueBlock.valueHexView);
  if (!bytesEqual(hashed, rootImprint(opts.root))) {
    throw new ProofmarkError(
      "TIMESTAMP_MISMATCH",
      `the token time-stamps another value (imprint ${toHex(hashed)}), not SHA-256 of ${typeof opts.root === "string" ? `root ${opts.root}` : "the data given"}`,
      { root: typeof opts.root === "string" ? opts.root : toHex(opts.root.data), imprint: toHex(hashed) },
    );
  }
  const nonce = tstInfo.nonce ? toHex(new Uint8Array(tstInfo.nonce.valueBlock.valueHexView)) : undefined;
  if (opts.nonce !== undefined && nonce !== opts.nonce) {
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      `the token's nonce ${nonce ?? "(none)"} is not the request's ${opts.nonce}: a replayed or substituted reply`,
    );
  }
  if (opts.trusted.length === 0) {
    throw new ProofmarkError(
      "TIMESTAMP_UNTRUSTED",
      "no trusted TSA root certificate is configured, so the token's signer cannot be trusted; configure the TSA's root certificate (PEM)",
      { reason: "no-trust" },
    );
  }
  const trustedCerts = opts.trusted.map((der, i) => {
    try {
      return pkijs.Certificate.fromBER(toArrayBuffer(der));
    } catch {
      throw new ProofmarkError("INVALID_ARGUMENT", `trusted certificate ${i} is not a DER X.509 certificate`);
    }
  });
  // 2. the CMS signature, message digest, and the chain at genTime
  // Integrity first (signature and message digest, no chain), so that an altered token is reported
  // as altered even when the alteration also moved genTime out of the certificate's validity.
  const data = toArrayBuffer(subjectBytes(opts.root));
  let result: Pkijs.SignedDataVerifyResult;
  try {
    result = (await signed.verify({
      signer: 0,
      data,
      checkChain: false,
      extendedMode: true,
    })) as Pkijs.SignedDataVerifyResult;
  } catch (e) {
    throw new ProofmarkError("TIMESTAMP_INVALID", `the token does not verify: ${(e as Error).message ?? e}`);
  }
  if (!result.signatureVerified || !result.signerCertificate) {
    throw new ProofmarkError("TIMESTAMP_INVALID", "the token's CMS signature does not verify: the token was altered");
  }
  const signer = result.signerCertificate;
  try {
    result = (await signed.verify({
      signer: 0,
      data,
      trustedCerts,
      checkChain: true,
      extendedMode: true,
    })) as Pkijs.SignedDataVerifyResult;
  } catch (e) {
    throw new ProofmarkError(
      "TIMESTAMP_UNTRUSTED",
      `the TSA certificate does not chain to a trusted root at genTime (${(e as Error).message})`,
    );
  }
  // 3. ESS signing certificate binds the signer certificate into the signed attributes
  checkEssBinding(signed, signer);
  // 4. the TSA certificate's purpose
  checkTimestampingEku(signer);
  const genTime = tstInfo.genTime;
  const accuracy = tstInfo.accuracy;
  const accuracyMs = accuracy
    ? (accuracy.seconds ?? 0) * 1000 + (accuracy.millis ?? 0) + Math.ceil((accuracy.micros ?? 0) / 1000)
    : undefined;
  const path = (result.certificatePath ?? []) as Pkijs.Certificate[];
  return {
    genTime: genTime.toISOString(),
    genTimeSeconds: Math.floor(genTime.getTime() / 1000),
    ...(accuracyMs !== undefined ? { accuracyMs } : {}),
    policy: tstInfo.policy,
    serialNumber: toHex(new Uint8Array(tstInfo.serialNumber.valueBlock.valueHexView)),
    ...(nonce ? { nonce } : {}),
    tsa: distinguishedName(signer.subject),
    chain: path.map((c) => distinguishedName(c.subject)),
    validatedAt: "genTime",
    notChecked: [
      "revocation of the TSA certificate (no CRL or OCSP response is fetched or embedded)",
      "the TSA policy OID (reported only)",
      "the accuracy of the TSA's clock (genTime is the TSA's statement)",
    ],
  };
}

/** Reads genTime etc. without verifying (for display of a token that failed verification). */
export function readTimestampToken(token: Uint8Array): { genTime: string; imprint: Hex; serialNumber: Hex } {
  const { tstInfo } = decodeToken(token);
  return {
    genTime: tstInfo.genTime.toISOString(),
    imprint: toHex(new Uint8Array(tstInfo.messageImprint.hashedMessage.valueBlock.valueHexView)),
    serialNumber: toHex(new Uint8Array(tstInfo.serialNumber.valueBlock.valueHexView)),
  };
}

/** The certificates a token carries (DER), the TSA's own first when it is there (as `openssl ts -reply` puts it). */
export function timestampTokenCertificates(token: Uint8Array): Uint8Array[] {
  const { signed } = decodeToken(token);
  return (signed.certificates ?? [])
    .filter((c): c is Pkijs.Certificate => c instanceof pkijs.Certificate)
    .map((c) => new Uint8Array(c.toSchema().toBER(false)));
}

function decodeToken(token: Uint8Array): { signed: Pkijs.SignedData; tstInfo: Pkijs.TSTInfo } {
  try {
    const info = pkijs.ContentInfo.fromBER(toArrayBuffer(token));
    if (info.contentType !== RFC3161_OID.signedData)
      throw new Error(`content type ${info.contentType} is not SignedData`);
    const signed = new pkijs.SignedData({ schema: info.content });
    if (signed.encapContentInfo.eContentType !== RFC3161_OID.tstInfo)
      throw new Error("the signed content is not a TSTInfo");
    const eContent = signed.encapContentInfo.eContent;
    if (!eContent) throw new Error("the TSTInfo is missing");
    const tstInfo = pkijs.TSTInfo.fromBER(eContent.getValue());
    if (signed.signerInfos.length !== 1)
      throw new Error(`a token has exactly one signer, this one has ${signed.signerInfos.length}`);
    return { signed, tstInfo };
  } catch (e) {
    if ((e as ProofmarkError).code) throw e;
    throw new ProofmarkError("TIMESTAMP_MALFORMED", `not an RFC 3161 time-stamp token: ${(e as Error).message}`);
  }
}

function checkEssBinding(signed: Pkijs.SignedData, signer: Pkijs.Certificate): void {
  const attrs = signed.signerInfos[0].signedAttrs?.attributes ?? [];
  const v2 = attrs.find((a) => a.type === RFC3161_OID.signingCertificateV2);
  const v1 = attrs.find((a) => a.type === RFC3161_OID.signingCertificate);
  const attr = v2 ?? v1;
  if (!attr)
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      "the token has no ESS signing-certificate attribute, so nothing binds the TSA certificate to the signature (RFC 3161 §2.4.1)",
    );
  const certDer = new Uint8Array(signer.toSchema().toBER(false));
  try {
    // SigningCertificate(V2) ::= SEQUENCE { certs SEQUENCE OF ESSCertID(v2), policies OPTIONAL }
    const certs = (attr.values[0] as Asn1js.Sequence).valueBlock.value[0] as Asn1js.Sequence;
    const first = certs.valueBlock.value[0] as Asn1js.Sequence;
    const parts = first.valueBlock.value;
    let hashOid = v2 ? RFC3161_OID.sha256 : "1.3.14.3.2.26";
    let hashIndex = 0;
    if (v2 && parts[0] instanceof asn1js.Sequence) {
      hashOid = ((parts[0] as Asn1js.Sequence).valueBlock.value[0] as Asn1js.ObjectIdentifier).valueBlock.toString();
      hashIndex = 1;
    }
    const expected = new Uint8Array((parts[hashIndex] as Asn1js.OctetString).valueBlock.valueHexView);
    const hash = HASH_BY_OID[hashOid];
    if (!hash)
      throw new ProofmarkError("TIMESTAMP_INVALID", `the ESS signing certificate uses an unsupported hash ${hashOid}`);
    if (!bytesEqual(hash(certDer), expected)) {
      throw new ProofmarkError(
        "TIMESTAMP_INVALID",
        "the ESS signing-certificate hash does not match the certificate that signed the token: the certificate was substituted",
      );
    }
  } catch (e) {
    if ((e as ProofmarkError).code) throw e;
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      `the ESS signing-certificate attribute is malformed: ${(e as Error).message}`,
    );
  }
}

function checkTimestampingEku(cert: Pkijs.Certificate): void {
  const ext = cert.extensions?.find((x) => x.extnID === RFC3161_OID.extKeyUsage);
  if (!ext)
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      "the signing certificate has no extended key usage; a TSA certificate must have exactly id-kp-timeStamping (RFC 3161 §2.3)",
    );
  if (!ext.critical)
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      "the signing certificate's extended key usage is not critical (RFC 3161 §2.3 requires it)",
    );
  const purposes = (ext.parsedValue as Pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (purposes.length !== 1 || purposes[0] !== RFC3161_OID.timeStamping) {
    throw new ProofmarkError(
      "TIMESTAMP_INVALID",
      `the signing certificate's extended key usage is ${purposes.join(", ") || "empty"}, not exactly id-kp-timeStamping`,
    );
  }
}

const DN_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
};

function distinguishedName(name: Pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${DN_NAMES[tv.type] ?? tv.type}=${String(tv.value.valueBlock.value)}`)
    .join(", ");
}

/**
 * The DER certificates in a PEM text (any number of `-----BEGIN CERTIFICATE-----` blocks).
 * Throws INVALID_ARGUMENT when there is none.
 */
export function pemCertificates(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (let m = re.exec(pem); m; m = re.exec(pem))
    out.push(new Uint8Array(Buffer.from(m[1].replace(/\s+/g, ""), "base64")));
  if (out.length === 0)
    throw new ProofmarkError("INVALID_ARGUMENT", "no PEM certificate (-----BEGIN CERTIFICATE-----) found");
  return out;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}
