import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import { verifyTimestampToken } from "../core/rfc3161";
import { requestTimestamp } from "../tsa";

/**
 * The WACZ signing spec's anonymous mode (webrecorder/specs wacz-auth 0.1.0): `signedData` holds
 * the SHA-256 of `datapackage.json` as `sha256:<hex>`, an ECDSA signature of that string's UTF-8
 * bytes with SHA-256, in the raw r‖s form WebCrypto produces (base64), and the public key as a
 * base64 DER SubjectPublicKeyInfo.
 *
 * The curve is P-384: ReplayWeb.page (wabac.js `verifyWACZSignature`) imports anonymous public keys
 * as P-384 and cannot check any other curve; verification here accepts P-256 and P-384.
 */

/** Version of the WACZ signing spec followed. */
export const WACZ_SIGNING_VERSION = "0.1.0";

export interface SignedData {
  hash: string;
  created: string;
  software: string;
  version: string;
  signature: string;
  publicKey: string;
}

export interface CaptureKey {
  privateKey: crypto.KeyObject;
  /** base64 DER SubjectPublicKeyInfo, as in `signedData.publicKey`. */
  publicKey: string;
  /** Where the key came from (a path or the variable's name), never the key. */
  source: string;
}

/**
 * The capturer's signing key: the PEM file named by `PROOFMARK_CAPTURE_KEY` (PKCS#8 or SEC1, an EC
 * key on P-256 or P-384; `PROOFMARK_CAPTURE_KEY_PASSWORD` if it is encrypted), else the capture key
 * kept in the data folder (`<dataDir>/keys/capture-key.pem`, created on first use, mode 0600). Never
 * printed or logged.
 */
export function loadCaptureKey(dataDir: string, env: NodeJS.ProcessEnv = process.env): CaptureKey {
  const named = env.PROOFMARK_CAPTURE_KEY;
  const file = named ?? path.join(dataDir, "keys", "capture-key.pem");
  if (!named && !fs.existsSync(file)) {
    const { privateKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600, flag: "wx" });
  }
  let pem: string;
  try {
    pem = fs.readFileSync(file, "utf8");
  } catch {
    throw new ProofmarkError(
      "KEY_UNAVAILABLE",
      `cannot read the capture key ${file}${named ? " (PROOFMARK_CAPTURE_KEY)" : ""}`,
      { path: file },
    );
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey({
      key: pem,
      format: "pem",
      ...(env.PROOFMARK_CAPTURE_KEY_PASSWORD !== undefined ? { passphrase: env.PROOFMARK_CAPTURE_KEY_PASSWORD } : {}),
    });
  } catch {
    throw new ProofmarkError(
      "KEY_UNAVAILABLE",
      `the capture key ${file} is not a readable PEM private key (wrong PROOFMARK_CAPTURE_KEY_PASSWORD?)`,
      { path: file },
    );
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  if (privateKey.asymmetricKeyType !== "ec" || (curve !== "secp384r1" && curve !== "prime256v1")) {
    throw new ProofmarkError("KEY_UNAVAILABLE", `the capture key ${file} must be an EC key on P-384 or P-256`, {
      path: file,
    });
  }
  const publicKey = crypto.createPublicKey(privateKey).export({ type: "spki", format: "der" }).toString("base64");
  return { privateKey, publicKey, source: named ? "PROOFMARK_CAPTURE_KEY" : file };
}

/** Signs the `sha256:<hex>` hash of datapackage.json (anonymous mode). */
export function signDatapackageHash(
  hash: string,
  key: CaptureKey,
  software: string,
  created = new Date().toISOString(),
): SignedData {
  const signature = crypto
    .sign("sha256", Buffer.from(hash, "utf8"), { key: key.privateKey, dsaEncoding: "ieee-p1363" })
    .toString("base64");
  return { hash, created, software, version: WACZ_SIGNING_VERSION, signature, publicKey: key.publicKey };
}

/** SHA-256 fingerprint (hex) of a base64 DER public key, to name the signer in reports. */
export function publicKeyFingerprint(publicKey: string): string {
  return crypto.createHash("sha256").update(Buffer.from(publicKey, "base64")).digest("hex");
}

/** Checks an anonymous `signedData`: its fields, and the signature of `hash` with `publicKey`. */
export function verifySignedData(signed: unknown): { ok: boolean; reason?: string; curve?: string } {
  if (typeof signed !== "object" || signed === null) return { ok: false, reason: "signedData is missing" };
  const s = signed as Record<string, unknown>;
  for (const field of ["hash", "created", "signature", "publicKey"]) {
    if (typeof s[field] !== "string") return { ok: false, reason: `signedData.${field} is missing` };
  }
  const allowed = new Set(["hash", "created", "software", "version", "signature", "publicKey"]);
  const extra = Object.keys(s).find((k) => !allowed.has(k));
  if (extra) return { ok: false, reason: `signedData has a field the anonymous mode does not allow: ${extra}` };
  let key: crypto.KeyObject;
  try {
    key = crypto.createPublicKey({ key: Buffer.from(s.publicKey as string, "base64"), format: "der", type: "spki" });
  } catch {
    return { ok: false, reason: "signedData.publicKey is not a DER public key" };
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== "ec" || (curve !== "secp384r1" && curve !== "prime256v1"))
    return { ok: false, reason: "signedData.publicKey is not an ECDSA P-256 or P-384 key" };
  const ok = crypto.verify(
    "sha256",
    Buffer.from(s.hash as string, "utf8"),
    { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(s.signature as string, "base64"),
  );
  return ok ? { ok, curve } : { ok, curve, reason: "the signature does not verify with the included public key" };
}

/**
 * An RFC 3161 time-stamp of a WACZ signature, as the WACZ signing spec's `timeSignature`: a TSA's
 * token (DER TimeStampToken, base64) whose message imprint is SHA-256 of the `signature` string's
 * ASCII bytes — so `openssl ts -verify -data signature.txt -in token.tsr -token_in -CAfile ca.pem`
 * checks it. The spec's anonymous `signedData` may hold no other field, so the tokens travel beside
 * it in datapackage-digest.json as `timeSignatures` (one per TSA asked); the anchored digest of that
 * file covers them.
 */
export interface TimeSignature {
  /** The TSA's URL (informative: trust comes from the token's certificate chain). */
  tsa: string;
  /** genTime as read from the token (informative: verification re-reads it). */
  genTime: string;
  /** The DER TimeStampToken, base64. */
  timeSignature: string;
}

/** The data a time signature stamps: the signature string's ASCII bytes. */
export function timeSignatureData(signedData: Pick<SignedData, "signature">): Uint8Array {
  return new Uint8Array(Buffer.from(signedData.signature, "ascii"));
}

/**
 * Asks each TSA for a time signature of `signedData.signature`. TSAs that fail are reported in
 * `errors`; when every TSA fails, throws the first failure (TSA_FAILED, TIMESTAMP_MALFORMED…).
 */
export async function timeSignSignature(
  signedData: Pick<SignedData, "signature">,
  tsaUrls: string[],
): Promise<{ timeSignatures: TimeSignature[]; errors: Array<{ tsa: string; message: string }> }> {
  const data = { data: timeSignatureData(signedData) };
  const settled = await Promise.allSettled(tsaUrls.map((url) => requestTimestamp(url, data)));
  const timeSignatures: TimeSignature[] = [];
  const errors: Array<{ tsa: string; message: string }> = [];
  settled.forEach((s, i) => {
    if (s.status === "fulfilled")
      timeSignatures.push({ tsa: tsaUrls[i], genTime: s.value.genTime, timeSignature: s.value.token });
    else errors.push({ tsa: tsaUrls[i], message: (s.reason as Error).message });
  });
  if (tsaUrls.length > 0 && timeSignatures.length === 0) throw (settled[0] as PromiseRejectedResult).reason;
  return { timeSignatures, errors };
}

/** One time signature as verified offline. */
export interface TimeSignatureCheck {
  tsa: string;
  ok: boolean;
  /** The TSA's time, from the verified token. */
  genTime?: string;
  /** The TSA certificate's subject and chain. */
  signer?: string;
  chain?: string[];
  /** Seconds from signedData.created to the TSA's time. */
  offsetSeconds?: number;
  code?: ErrorCode;
  message?: string;
  notChecked?: string[];
}

/** The WACZ signing spec's bound between `created` and the TSA's time. */
export const TIME_SIGNATURE_MAX_SKEW_SECONDS = 600;

/**
 * Verifies time signatures offline against the trusted TSA roots (DER): each token's CMS
 * signature, its imprint over the signature string, the TSA certificate's chain at genTime, and
 * that `created` lies within 10 minutes of the TSA's time (WACZ signing spec, validation step 7).
 */
export async function verifyTimeSignatures(
  signedData: Pick<SignedData, "signature" | "created">,
  timeSignatures: unknown,
  trusted: Uint8Array[],
): Promise<TimeSignatureCheck[]> {
  if (timeSignatures === undefined) return [];
  if (!Array.isArray(timeSignatures))
    return [{ tsa: "?", ok: false, code: "TIMESTAMP_MALFORMED", message: "timeSignatures is not a list" }];
  const out: TimeSignatureCheck[] = [];
  for (const t of timeSignatures as Array<Partial<TimeSignature>>) {
    const tsa = typeof t?.tsa === "string" ? t.tsa : "?";
    try {
      if (typeof t?.timeSignature !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(t.timeSignature))
        throw new ProofmarkError("TIMESTAMP_MALFORMED", "the time signature is not base64");
      const info = await verifyTimestampToken(new Uint8Array(Buffer.from(t.timeSignature, "base64")), {
        root: { data: timeSignatureData(signedData) },
        trusted,
      });
      const offsetSeconds = (Date.parse(info.genTime) - Date.parse(signedData.created)) / 1000;
      const check: TimeSignatureCheck = {
        tsa,
        ok: true,
        genTime: info.genTime,
        signer: info.tsa,
        chain: info.chain,
        offsetSeconds,
        notChecked: info.notChecked,
      };
      if (!(Math.abs(offsetSeconds) <= TIME_SIGNATURE_MAX_SKEW_SECONDS))
        Object.assign(check, {
          ok: false,
          code: "TIMESTAMP_INVALID",
          message: `signedData.created (${signedData.created}) is ${offsetSeconds} s from the TSA's time ${info.genTime}: more than the 10 minutes the WACZ signing spec allows`,
        });
      out.push(check);
    } catch (e) {
      out.push({
        tsa,
        ok: false,
        code: isProofmarkError(e) ? e.code : "TIMESTAMP_INVALID",
        message: (e as Error).message,
      });
    }
  }
  return out;
}
