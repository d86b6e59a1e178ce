import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  buildTimestampRequest,
  isProofmarkError,
  loadTsaTrust,
  parseTimestampResponse,
  pemCertificates,
  readTimestampToken,
  requestTimestamp,
  rootImprint,
  verifyTimestampEntry,
  verifyTimestampToken,
  type Hex,
} from "../../packages/sdk/src";
import { startTestTsa, type TestTsa } from "../helpers/tsa";

const ROOT = "0x6c0e6b3fbdb1b0f0a4c2f6a1d7c1a3e5b9d8f7e6c5b4a3928171615141312110" as Hex;
const OTHER = "0x0000000000000000000000000000000000000000000000000000000000000001" as Hex;

async function expectCode(p: Promise<unknown>, code: string): Promise<Error> {
  try {
    await p;
  } catch (e) {
    expect(isProofmarkError(e), String(e)).to.equal(true);
    expect((e as { code: string }).code, (e as Error).message).to.equal(code);
    return e as Error;
  }
  throw new Error(`expected ${code}, but it succeeded`);
}

describe("RFC 3161 time-stamps against a real openssl TSA", function () {
  this.timeout(60_000);
  let tsa: TestTsa;
  let stranger: TestTsa;
  let trust: Uint8Array[];

  before(async function () {
    tsa = await startTestTsa({ name: "Trusted" });
    stranger = await startTestTsa({ name: "Stranger" });
    trust = pemCertificates(tsa.caPem);
  });
  after(async function () {
    await tsa?.close();
    await stranger?.close();
    for (const t of [tsa, stranger]) if (t) fs.rmSync(t.dir, { recursive: true, force: true });
  });

  it("builds a request whose imprint is SHA-256 of the root's 32 bytes, readable by openssl", function () {
    const { der, nonce } = buildTimestampRequest(ROOT);
    const file = path.join(tsa.dir, "check.tsq");
    fs.writeFileSync(file, der);
    const text = execFileSync("openssl", ["ts", "-query", "-in", file, "-text"], { encoding: "utf8" });
    expect(text).to.match(/Hash Algorithm: sha256/);
    const hex = Buffer.from(rootImprint(ROOT)).toString("hex");
    const dumped = text
      .split("Message data:")[1]
      .split("Policy OID")[0]
      .replace(/^ *[0-9a-f]{4} - /gm, "")
      .replace(/ {2,}.*$/gm, "")
      .replace(/[^0-9a-f]/g, "");
    expect(dumped).to.equal(hex);
    expect(text).to.match(/Certificate required: yes/);
    expect(BigInt(nonce)).to.be.greaterThan(0n);
  });

  it("gets a token over a root and verifies it offline: imprint, signature, ESS, EKU, chain at genTime", async function () {
    const t0 = Date.now();
    const entry = await requestTimestamp(tsa.url, ROOT);
    const info = await verifyTimestampEntry(entry, ROOT, trust);
    expect(info.genTime).to.equal(entry.genTime);
    expect(Math.abs(Date.parse(info.genTime) - t0)).to.be.lessThan(10_000);
    expect(info.tsa).to.contain("CN=Trusted TSA");
    expect(info.chain.join(" | ")).to.contain("Trusted Root CA");
    expect(info.policy).to.equal("1.2.3.4.1");
    expect(info.accuracyMs).to.equal(1000);
    expect(info.validatedAt).to.equal("genTime");
    expect(info.notChecked.join(" ")).to.match(/revocation/);
  });

  it("the same token verifies with openssl ts -verify over the root's bytes (interoperable)", async function () {
    const entry = await requestTimestamp(tsa.url, ROOT);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-tsv-"));
    fs.writeFileSync(path.join(dir, "root.bin"), Buffer.from(ROOT.slice(2), "hex"));
    fs.writeFileSync(path.join(dir, "token.der"), Buffer.from(entry.token, "base64"));
    const out = execFileSync(
      "openssl",
      ["ts", "-verify", "-data", "root.bin", "-in", "token.der", "-token_in", "-CAfile", tsa.caFile],
      { cwd: dir, encoding: "utf8" },
    );
    expect(out).to.match(/Verification: OK/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("a token over another root fails with TIMESTAMP_MISMATCH", async function () {
    const entry = await requestTimestamp(tsa.url, OTHER);
    await expectCode(verifyTimestampEntry(entry, ROOT, trust), "TIMESTAMP_MISMATCH");
  });

  it("a token from a TSA the user does not trust fails with TIMESTAMP_UNTRUSTED", async function () {
    const entry = await requestTimestamp(stranger.url, ROOT);
    await expectCode(verifyTimestampEntry(entry, ROOT, trust), "TIMESTAMP_UNTRUSTED");
    // and with no trust configured at all, never a silent pass
    await expectCode(verifyTimestampEntry(entry, ROOT, []), "TIMESTAMP_UNTRUSTED");
    // trusting the stranger's CA makes it verify
    expect((await verifyTimestampEntry(entry, ROOT, pemCertificates(stranger.caPem))).tsa).to.contain("Stranger TSA");
  });

  it("a tampered token (genTime changed, or signature bit flipped) fails with TIMESTAMP_INVALID", async function () {
    const entry = await requestTimestamp(tsa.url, ROOT);
    const token = Buffer.from(entry.token, "base64");
    const year = token.indexOf(Buffer.from(String(new Date().getUTCFullYear())));
    expect(year).to.be.greaterThan(0);
    const moved = Buffer.from(token);
    moved[year + 3] = moved[year + 3] === 0x30 ? 0x31 : 0x30; // a year earlier or later: backdating
    await expectCode(verifyTimestampToken(moved, { root: ROOT, trusted: trust }), "TIMESTAMP_INVALID");
    // flip a bit of the ECDSA signature's last integer byte (still valid DER)
    const flipped = Buffer.from(token);
    flipped[flipped.length - 1] ^= 0x01;
    await expectCode(verifyTimestampToken(flipped, { root: ROOT, trusted: trust }), "TIMESTAMP_INVALID");
  });

  it("a replayed reply (nonce of another request) fails with TIMESTAMP_INVALID", async function () {
    const entry = await requestTimestamp(tsa.url, ROOT);
    const token = new Uint8Array(Buffer.from(entry.token, "base64"));
    await expectCode(
      verifyTimestampToken(token, { root: ROOT, trusted: trust, nonce: "0x0102030405060708" }),
      "TIMESTAMP_INVALID",
    );
  });

  it("malformed replies fail with TIMESTAMP_MALFORMED, refusals and dead TSAs with TSA_FAILED", async function () {
    const garbage = await startTestTsa({ dir: tsa.dir, mode: "garbage" });
    try {
      await expectCode(requestTimestamp(garbage.url, ROOT), "TIMESTAMP_MALFORMED");
    } finally {
      await garbage.close();
    }
    expect(() => parseTimestampResponse(new Uint8Array([0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])))
      .to.throw()
      .with.property("code", "TSA_FAILED");
    expect(() => readTimestampToken(new Uint8Array([1, 2, 3])))
      .to.throw()
      .with.property("code", "TIMESTAMP_MALFORMED");
    await expectCode(requestTimestamp("http://127.0.0.1:1/tsr", ROOT, { timeoutMs: 2_000 }), "TSA_FAILED");
  });

  it("loads trust from PEM files or PROOFMARK_TSA_TRUST", function () {
    expect(loadTsaTrust([tsa.caFile])).to.have.length(1);
    expect(loadTsaTrust([], { PROOFMARK_TSA_TRUST: `${tsa.caFile}:${stranger.caFile}` })).to.have.length(2);
    expect(loadTsaTrust([], {})).to.have.length(0);
    expect(() => loadTsaTrust(["/nonexistent.pem"]))
      .to.throw()
      .with.property("code", "FILE_NOT_FOUND");
  });
});
