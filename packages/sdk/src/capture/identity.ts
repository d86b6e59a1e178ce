import * as crypto from "node:crypto";
import * as fs from "node:fs";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import { pemCertificates, timestampTokenCertificates, verifyTimestampToken } from "../core/rfc3161";
import {
  TIME_SIGNATURE_MAX_SKEW_SECONDS,
  timeSignatureData,
  timeSignSignature,
  WACZ_SIGNING_VERSION,
  type TimeSignature,
} from "./signing";

/**
 * The WACZ signing spec's identity mode (webrecorder/specs wacz-auth 0.1.0, "Domain-Ownership
 * Identity + Signed Timestamp"): `signature` is made with the private key of a domain's certificate
 * (`domainCert`, the PEM chain, leaf first) over the text of `hash` — ECDSA (or RSA PKCS#1 v1.5) with
 * SHA-256, DER-encoded, base64, as webrecorder/authsign does — and `timeSignature` is an RFC 3161
 * token whose imprint is SHA-256 of the `signature` text, with the TSA's chain as `timestampCert`.
 *
 * Verification follows the spec's steps 4–9 offline, everything judged at `created` (the TSA's
 * time-stamp must lie within 10 minutes of it and within the domain certificate's validity). Not
 * checked: revocation (no CRL, OCSP or Certificate Transparency lookup), `crossSignedCert` (reported
 * when present, never used as a trust path), the domain certificate's key usage, extended key usage,
 * name constraints and policies.
 */

/** `signedData` in identity mode (field names as in the spec). */
export interface IdentitySignedData {
  hash: string;
  created: string;
  software: string;
  version: string;
  signature: string;
  domain: string;
  domainCert: string;
  timeSignature: string;
  timestampCert: string;
  crossSignedCert?: string;
}

const IDENTITY_FIELDS = new Set([
  "hash",
  "created",
  "software",
  "version",
  "signature",
  "domain",
  "domainCert",
  "timeSignature",
  "timestampCert",
  "crossSignedCert",
]);

/** True when a `signedData` is in identity mode (it names a domain or a domain certificate). */
export function isIdentitySignedData(s: unknown): boolean {
  return typeof s === "object" && s !== null && ("domainCert" in s || "domain" in s);
}

/** A domain certificate and its private key, ready to sign (the key is never printed or stored). */
export interface SigningIdentity {
  privateKey: crypto.KeyObject;
  /** The certificate chain as PEM, leaf first (what goes into `domainCert`). */
  domainCert: string;
  /** The certificate's first DNS name (else its common name): what goes into `domain`. */
  domain: string;
  /** The certificate file's path (never the key's content). */
  source: string;
}

function toPem(der: Uint8Array): string {
  return new crypto.X509Certificate(der).toString();
}

function certificateDomain(cert: crypto.X509Certificate): string | undefined {
  const dns = (cert.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((n) => n.startsWith("DNS:"))
    .map((n) => n.slice(4));
  if (dns.length) return dns[0];
  return /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
}

/**
 * Reads a domain certificate chain (PEM, leaf first) and its private key (PEM; encrypted keys with
 * `PROOFMARK_SIGN_KEY_PASSWORD`). Throws FILE_NOT_FOUND, INVALID_ARGUMENT (no certificate, no
 * domain name in it), KEY_UNAVAILABLE (unreadable key, or a key that is not the certificate's), or
 * WACZ_CERT_NOT_VALID (the certificate is not valid now, so a signature made now would not hold).
 */
export function loadSigningIdentity(
  certFile: string,
  keyFile: string,
  env: NodeJS.ProcessEnv = process.env,
  now = new Date(),
): SigningIdentity {
  const read = (file: string, what: string): string => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch {
      throw new ProofmarkError("FILE_NOT_FOUND", `cannot read the ${what} ${file}`, { path: file });
    }
  };
  let ders: Uint8Array[];
  try {
    ders = pemCertificates(read(certFile, "signing certificate"));
  } catch (e) {
    if (isProofmarkError(e, "FILE_NOT_FOUND")) throw e;
    throw new ProofmarkError("INVALID_ARGUMENT", `${certFile} holds no PEM certificate`, { path: certFile });
  }
  const leaf = new crypto.X509Certificate(ders[0]);
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey({
      key: read(keyFile, "signing key"),
      format: "pem",
      ...(env.PROOFMARK_SIGN_KEY_PASSWORD !== undefined ? { passphrase: env.PROOFMARK_SIGN_KEY_PASSWORD } : {}),
    });
  } catch (e) {
    if (isProofmarkError(e)) throw e;
    throw new ProofmarkError(
      "KEY_UNAVAILABLE",
      `the signing key ${keyFile} is not a readable PEM private key (wrong PROOFMARK_SIGN_KEY_PASSWORD?)`,
      { path: keyFile },
    );
  }
  const spki = (k: crypto.KeyObject) => k.export({ type: "spki", format: "der" });
  if (!spki(crypto.createPublicKey(privateKey)).equals(spki(leaf.publicKey)))
    throw new ProofmarkError("KEY_UNAVAILABLE", `the signing key ${keyFile} is not the key of ${certFile}`, {
      path: keyFile,
    });
  const domain = certificateDomain(leaf);
  if (!domain)
    throw new ProofmarkError("INVALID_ARGUMENT", `${certFile} names no DNS name or common name`, { path: certFile });
  if (!(Date.parse(leaf.validFrom) <= now.getTime() && now.getTime() <= Date.parse(leaf.validTo)))
    throw new ProofmarkError(
      "WACZ_CERT_NOT_VALID",
      `${certFile} is valid from ${leaf.validFrom} to ${leaf.validTo}, not now (${now.toISOString()})`,
      { path: certFile },
    );
  return { privateKey, domainCert: ders.map(toPem).join(""), domain, source: certFile };
}

/**
 * Signs the `sha256:<hex>` hash of datapackage.json in identity mode and time-stamps the signature.
 * The first TSA that answers gives `timeSignature` / `timestampCert`; further tokens are returned in
 * `timeSignatures` (written beside `signedData`, as in anonymous mode). At least one TSA is required.
 */
export async function signDatapackageHashWithIdentity(
  hash: string,
  identity: SigningIdentity,
  software: string,
  tsaUrls: string[],
  created = new Date().toISOString(),
): Promise<{
  signedData: IdentitySignedData;
  timeSignatures: TimeSignature[];
  errors: Array<{ tsa: string; message: string }>;
}> {
  if (tsaUrls.length === 0)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      "identity signing needs an RFC 3161 time-stamp (the spec's timeSignature): name at least one TSA",
    );
  const signature = crypto.sign("sha256", Buffer.from(hash, "ascii"), identity.privateKey).toString("base64");
  const { timeSignatures, errors } = await timeSignSignature({ signature }, tsaUrls);
  const [first, ...rest] = timeSignatures;
  const token = new Uint8Array(Buffer.from(first.timeSignature, "base64"));
  const certs = timestampTokenCertificates(token);
  if (certs.length === 0)
    throw new ProofmarkError(
      "TIMESTAMP_MALFORMED",
      `the TSA ${first.tsa} returned a token without its certificate, so timestampCert cannot be written`,
    );
  return {
    signedData: {
      hash,
      created,
      software,
      version: WACZ_SIGNING_VERSION,
      signature,
      domain: identity.domain,
      domainCert: identity.domainCert,
      timeSignature: first.timeSignature,
      timestampCert: certs.map(toPem).join(""),
    },
    timeSignatures: rest,
    errors,
  };
}

/** What {@link checkIdentitySignature} found without any trusted root. */
export interface IdentitySignatureCheck {
  ok: boolean;
  code?: ErrorCode;
  reason?: string;
  domain?: string;
  /** The domain certificate's subject, issuer, validity and SHA-256 fingerprint. */
  certificate?: { subject: string; issuer: string; validFrom: string; validTo: string; sha256: string };
  /** base64 DER SubjectPublicKeyInfo of the domain certificate (to fingerprint the signer like anonymous mode). */
  publicKey?: string;
}

/**
 * The checks of an identity-mode `signedData` that need no trust (spec steps 3–5): only the
 * spec's fields, `signature` verifies over `hash` with the first certificate's key, and `domain`
 * matches that certificate (its DNS names, wildcards as in TLS; its common name when it has none).
 */
export function checkIdentitySignature(signed: unknown): IdentitySignatureCheck {
  const s = signed as Record<string, unknown>;
  const bad = (code: ErrorCode, reason: string, extra: Partial<IdentitySignatureCheck> = {}) => ({
    ok: false,
    code,
    reason,
    ...extra,
  });
  for (const field of ["hash", "created", "signature", "domain", "domainCert", "timeSignature", "timestampCert"])
    if (typeof s[field] !== "string") return bad("WACZ_SIGNATURE_INVALID", `signedData.${field} is missing`);
  const extra = Object.keys(s).find((k) => !IDENTITY_FIELDS.has(k));
  if (extra) return bad("WACZ_SIGNATURE_INVALID", `signedData has a field the identity mode does not allow: ${extra}`);
  let leaf: crypto.X509Certificate;
  try {
    leaf = new crypto.X509Certificate(pemCertificates(s.domainCert as string)[0]);
  } catch {
    return bad("WACZ_SIGNATURE_INVALID", "signedData.domainCert holds no readable PEM certificate");
  }
  const found: Partial<IdentitySignatureCheck> = {
    domain: s.domain as string,
    certificate: {
      subject: leaf.subject.replace(/\n/g, ", "),
      issuer: leaf.issuer.replace(/\n/g, ", "),
      validFrom: new Date(leaf.validFrom).toISOString(),
      validTo: new Date(leaf.validTo).toISOString(),
      sha256: leaf.fingerprint256.replace(/:/g, "").toLowerCase(),
    },
    publicKey: leaf.publicKey.export({ type: "spki", format: "der" }).toString("base64"),
  };
  let verified: boolean;
  try {
    verified = crypto.verify(
      "sha256",
      Buffer.from(s.hash as string, "ascii"),
      leaf.publicKey,
      Buffer.from(s.signature as string, "base64"),
    );
  } catch {
    verified = false;
  }
  if (!verified)
    return bad("WACZ_SIGNATURE_INVALID", "the signature does not verify with the domain certificate's key", found);
  if (leaf.checkHost(s.domain as string) === undefined)
    return bad(
      "WACZ_CERT_DOMAIN_MISMATCH",
      `signedData.domain ${JSON.stringify(s.domain)} is not a name of the domain certificate (${found.certificate!.subject}; ${leaf.subjectAltName ?? "no subjectAltName"})`,
      found,
    );
  return { ok: true, ...found };
}

/** The checks of the identity verification, in order (the report translates them). */
export const IDENTITY_CHECKS = [
  "certificate chain",
  "certificates valid at created",
  "time-stamp of the signature",
  "created within 10 minutes of the time-stamp",
  "time-stamp within the certificate's validity",
] as const;
export type IdentityCheckName = (typeof IDENTITY_CHECKS)[number];

/** One named check of the identity verification, as shown by verify and the report. */
export interface IdentityStep {
  check: IdentityCheckName;
  ok: boolean;
  detail?: string;
}

/** The identity verification against trusted roots (spec steps 6–9). */
export interface IdentityTrustCheck {
  ok: boolean;
  code?: ErrorCode;
  message?: string;
  domain?: string;
  /** Subjects from the domain certificate up to the trusted root. */
  chain: string[];
  /** The TSA's time, its signer and chain, and seconds from `created` to it. */
  timeStamp?: { genTime: string; signer: string; chain: string[]; offsetSeconds: number };
  steps: IdentityStep[];
  notChecked: string[];
}

const NOT_CHECKED = [
  "revocation of the domain certificate or its issuers (no CRL, OCSP or Certificate Transparency lookup)",
  "the domain certificate's key usage, extended key usage, name constraints and policies",
  "crossSignedCert (never used as a trust path)",
];

/**
 * Verifies an identity-mode `signedData` against the certificate roots (`certTrust`) and TSA roots
 * (`tsaTrust`) the user configured, offline: the domain certificate's chain (each certificate signed
 * by the next, issuers marked as CAs) reaches a trusted root and every certificate in it is valid at
 * `created` (WACZ_CERT_UNTRUSTED / WACZ_CERT_NOT_VALID); the time-stamp token covers `signature` and
 * its TSA chains to a trusted TSA root (TIMESTAMP_*), `timestampCert` is the token's certificate, the
 * TSA's time is within 10 minutes of `created` (TIMESTAMP_INVALID) and within the domain
 * certificate's validity (WACZ_CERT_NOT_VALID). Run {@link checkIdentitySignature} first. Never throws.
 */
export async function verifyIdentityTrust(
  signed: IdentitySignedData,
  trust: { certTrust: Uint8Array[]; tsaTrust: Uint8Array[] },
): Promise<IdentityTrustCheck> {
  const out: IdentityTrustCheck = { ok: false, domain: signed.domain, chain: [], steps: [], notChecked: NOT_CHECKED };
  const fail = (code: ErrorCode, check: IdentityCheckName, message: string): IdentityTrustCheck => {
    out.steps.push({ check, ok: false, detail: message });
    if (!out.code) Object.assign(out, { code, message });
    return out;
  };
  const created = Date.parse(signed.created);
  let certs: crypto.X509Certificate[];
  try {
    certs = pemCertificates(signed.domainCert).map((d) => new crypto.X509Certificate(d));
  } catch {
    return fail("WACZ_CERT_UNTRUSTED", "certificate chain", "domainCert holds a certificate that cannot be read");
  }
  let trusted: crypto.X509Certificate[];
  try {
    trusted = trust.certTrust.map((d) => new crypto.X509Certificate(d));
  } catch {
    return fail(
      "INVALID_ARGUMENT",
      "certificate chain",
      "a trusted certificate root is not a readable X.509 certificate",
    );
  }
  // the path: the certificates given, each issued and signed by the next, until one is a trusted root
  // or is issued by one
  const path: crypto.X509Certificate[] = [];
  let anchored = false;
  for (let i = 0; i < certs.length && !anchored; i++) {
    const c = certs[i];
    path.push(c);
    if (i > 0 && !(c.ca && certs[i - 1].checkIssued(c) && certs[i - 1].verify(c.publicKey)))
      return fail(
        "WACZ_CERT_UNTRUSTED",
        "certificate chain",
        `domainCert's certificate ${i + 1} (${c.subject.replace(/\n/g, ", ")}) is not a CA that signed the one before it`,
      );
    if (trusted.some((t) => t.raw.equals(c.raw))) anchored = true;
    else {
      const root = trusted.find((t) => t.ca && c.checkIssued(t) && c.verify(t.publicKey));
      if (root) {
        path.push(root);
        anchored = true;
      }
    }
  }
  out.chain = path.map((c) => c.subject.replace(/\n/g, ", "));
  if (trusted.length === 0)
    return fail(
      "WACZ_CERT_UNTRUSTED",
      "certificate chain",
      "no trusted certificate root is configured, so the domain certificate cannot be trusted; configure the root that issued it (PROOFMARK_CERT_TRUST)",
    );
  if (!anchored)
    return fail(
      "WACZ_CERT_UNTRUSTED",
      "certificate chain",
      `the domain certificate's chain (${out.chain.join(" ← ")}) does not reach a trusted root`,
    );
  out.steps.push({ check: "certificate chain", ok: true, detail: out.chain.join(" ← ") });
  const outside = path.find((c) => !(Date.parse(c.validFrom) <= created && created <= Date.parse(c.validTo)));
  if (outside)
    return fail(
      "WACZ_CERT_NOT_VALID",
      "certificates valid at created",
      `${outside.subject.replace(/\n/g, ", ")} is valid from ${new Date(outside.validFrom).toISOString()} to ${new Date(outside.validTo).toISOString()}, not at created (${signed.created})`,
    );
  out.steps.push({ check: "certificates valid at created", ok: true, detail: signed.created });
  const token = new Uint8Array(Buffer.from(signed.timeSignature, "base64"));
  try {
    const info = await verifyTimestampToken(token, {
      root: { data: timeSignatureData(signed) },
      trusted: trust.tsaTrust,
    });
    const first = pemCertificates(signed.timestampCert)[0];
    if (!timestampTokenCertificates(token).some((c) => Buffer.from(c).equals(Buffer.from(first))))
      throw new ProofmarkError(
        "TIMESTAMP_MISMATCH",
        "timestampCert's first certificate is not the token's certificate",
      );
    const offsetSeconds = (Date.parse(info.genTime) - created) / 1000;
    out.timeStamp = { genTime: info.genTime, signer: info.tsa, chain: info.chain, offsetSeconds };
    out.notChecked = [...NOT_CHECKED, ...info.notChecked];
    out.steps.push({ check: "time-stamp of the signature", ok: true, detail: `${info.tsa} at ${info.genTime}` });
  } catch (e) {
    return fail(
      isProofmarkError(e) ? e.code : "TIMESTAMP_INVALID",
      "time-stamp of the signature",
      `the timeSignature does not hold: ${(e as Error).message}`,
    );
  }
  const { genTime, offsetSeconds } = out.timeStamp;
  if (!(Math.abs(offsetSeconds) <= TIME_SIGNATURE_MAX_SKEW_SECONDS))
    return fail(
      "TIMESTAMP_INVALID",
      "created within 10 minutes of the time-stamp",
      `signedData.created (${signed.created}) is ${offsetSeconds} s from the TSA's time ${genTime}: more than the 10 minutes the WACZ signing spec allows`,
    );
  out.steps.push({ check: "created within 10 minutes of the time-stamp", ok: true, detail: `${offsetSeconds} s` });
  const leaf = certs[0];
  const t = Date.parse(genTime);
  if (!(Date.parse(leaf.validFrom) <= t && t <= Date.parse(leaf.validTo)))
    return fail(
      "WACZ_CERT_NOT_VALID",
      "time-stamp within the certificate's validity",
      `the TSA's time ${genTime} is outside the domain certificate's validity (${new Date(leaf.validFrom).toISOString()} to ${new Date(leaf.validTo).toISOString()})`,
    );
  out.steps.push({ check: "time-stamp within the certificate's validity", ok: true, detail: genTime });
  out.ok = true;
  return out;
}

/**
 * The trusted certificate roots (DER) for domain certificates: the PEM files given
 * (`--cert-trust FILE.pem`, repeatable), else `PROOFMARK_CERT_TRUST` (PEM paths separated by `:`).
 * Empty when nothing is configured — identity verification then fails with WACZ_CERT_UNTRUSTED.
 */
export function loadCertTrust(files: string[] = [], env: NodeJS.ProcessEnv = process.env): Uint8Array[] {
  const list = files.length > 0 ? files : (env.PROOFMARK_CERT_TRUST ?? "").split(":").filter(Boolean);
  return list.flatMap((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch {
      throw new ProofmarkError("FILE_NOT_FOUND", `cannot read the certificate trust file ${file}`, { path: file });
    }
    try {
      return pemCertificates(text);
    } catch {
      throw new ProofmarkError("INVALID_ARGUMENT", `${file} holds no PEM certificate`, { path: file });
    }
  });
}
