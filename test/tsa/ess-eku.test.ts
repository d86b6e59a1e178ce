import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { RFC3161_OID, pemCertificates, rootImprint, verifyTimestampToken, type Hex } from "../../packages/sdk/src";
import { makeTsaCertificates } from "../helpers/tsa";

const ROOT = `0x${"ab".repeat(32)}` as Hex;

/**
 * The ESS and extended-key-usage checks, with tokens that `openssl ts -reply` refuses to make (it
 * will not sign with a TSA certificate whose timeStamping usage is not critical). The tokens are
 * signed here with pkijs, with the same openssl-made keys and certificates; a correctly made JS token
 * verifies (the control), so each failure below is the check's, not the signer's.
 */
describe("RFC 3161: ESS signing-certificate and critical timeStamping EKU checks", function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-tsa-js-"));
  const good = path.join(dir, "good");
  const lax = path.join(dir, "lax");

  before(function () {
    makeTsaCertificates(good, { name: "Good" });
    makeTsaCertificates(lax, { name: "Lax", eku: "timeStamping" });
  });
  after(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function signToken(certDir: string, opts: { essCert?: Uint8Array } = {}): Promise<Uint8Array> {
    const certDer = pemCertificates(fs.readFileSync(path.join(certDir, "tsa.crt"), "utf8"))[0];
    const pk8 = execFileSync("openssl", [
      "pkcs8",
      "-topk8",
      "-nocrypt",
      "-in",
      path.join(certDir, "tsa.key"),
      "-outform",
      "DER",
    ]);
    const key = await globalThis.crypto.subtle.importKey("pkcs8", pk8, { name: "ECDSA", namedCurve: "P-256" }, false, [
      "sign",
    ]);
    const cert = pkijs.Certificate.fromBER(certDer.slice().buffer as ArrayBuffer);
    const tst = new pkijs.TSTInfo({
      version: 1,
      policy: "1.2.3.4.1",
      messageImprint: new pkijs.MessageImprint({
        hashAlgorithm: new pkijs.AlgorithmIdentifier({ algorithmId: RFC3161_OID.sha256 }),
        hashedMessage: new asn1js.OctetString({ valueHex: rootImprint(ROOT) }),
      }),
      serialNumber: new asn1js.Integer({ value: 7 }),
      genTime: new Date(),
    });
    const tstDer = tst.toSchema().toBER(false);
    const essHash = createHash("sha256")
      .update(opts.essCert ?? certDer)
      .digest();
    const signed = new pkijs.SignedData({
      version: 3,
      encapContentInfo: new pkijs.EncapsulatedContentInfo({
        eContentType: RFC3161_OID.tstInfo,
        eContent: new asn1js.OctetString({ valueHex: tstDer }),
      }),
      signerInfos: [
        new pkijs.SignerInfo({
          version: 1,
          sid: new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber }),
          signedAttrs: new pkijs.SignedAndUnsignedAttributes({
            type: 0,
            attributes: [
              new pkijs.Attribute({
                type: "1.2.840.113549.1.9.3",
                values: [new asn1js.ObjectIdentifier({ value: RFC3161_OID.tstInfo })],
              }),
              new pkijs.Attribute({
                type: "1.2.840.113549.1.9.4",
                values: [
                  new asn1js.OctetString({ valueHex: createHash("sha256").update(Buffer.from(tstDer)).digest() }),
                ],
              }),
              new pkijs.Attribute({
                type: RFC3161_OID.signingCertificateV2,
                values: [
                  new asn1js.Sequence({
                    value: [
                      new asn1js.Sequence({
                        value: [new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: essHash })] })],
                      }),
                    ],
                  }),
                ],
              }),
            ],
          }),
        }),
      ],
      certificates: [cert],
    });
    await signed.sign(key, 0, "SHA-256");
    const info = new pkijs.ContentInfo({ contentType: RFC3161_OID.signedData, content: signed.toSchema(true) });
    return new Uint8Array(info.toSchema().toBER(false));
  }

  it("control: a token made this way with a proper TSA certificate verifies", async function () {
    const info = await verifyTimestampToken(await signToken(good), {
      root: ROOT,
      trusted: pemCertificates(fs.readFileSync(path.join(good, "ca.crt"), "utf8")),
    });
    expect(info.tsa).to.contain("Good TSA");
  });

  it("a TSA certificate whose timeStamping usage is not critical fails with TIMESTAMP_INVALID", async function () {
    const token = await signToken(lax);
    let error: { code?: string; message?: string } | undefined;
    try {
      await verifyTimestampToken(token, {
        root: ROOT,
        trusted: pemCertificates(fs.readFileSync(path.join(lax, "ca.crt"), "utf8")),
      });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).to.equal("TIMESTAMP_INVALID");
    expect(error?.message).to.match(/not critical/);
  });

  it("an ESS signing-certificate hash of another certificate fails with TIMESTAMP_INVALID", async function () {
    const other = pemCertificates(fs.readFileSync(path.join(good, "ca.crt"), "utf8"))[0];
    const token = await signToken(good, { essCert: other });
    let error: { code?: string; message?: string } | undefined;
    try {
      await verifyTimestampToken(token, {
        root: ROOT,
        trusted: pemCertificates(fs.readFileSync(path.join(good, "ca.crt"), "utf8")),
      });
    } catch (e) {
      error = e as typeof error;
    }
    expect(error?.code).to.equal("TIMESTAMP_INVALID");
    expect(error?.message).to.match(/ESS signing-certificate/);
  });
});
