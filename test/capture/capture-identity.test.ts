import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import {
  buildCaptureReportModel,
  captureToWacz,
  DEFAULT_CHROMIUM,
  isProofmarkError,
  loadSigningIdentity,
  parseReceipt,
  pemCertificates,
  readZip,
  renderCaptureReportHtml,
  signDatapackageHashWithIdentity,
  verifyCapture,
  verifyWaczBytes,
  writeZip,
  type IdentitySignedData,
  type SigningIdentity,
} from "../../packages/sdk/src";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";
import { startTestTsa, type TestTsa } from "../helpers/tsa";

function openssl(args: string[], cwd: string): string {
  return execFileSync("openssl", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** A root CA made with openssl in `dir`, able to issue certificates for any validity period (`openssl ca`). */
function makeCa(dir: string, name: string): { dir: string; cert: string } {
  fs.mkdirSync(path.join(dir, "newcerts"), { recursive: true });
  fs.writeFileSync(path.join(dir, "index.txt"), "");
  fs.writeFileSync(path.join(dir, "serial"), "1000\n");
  fs.writeFileSync(
    path.join(dir, "ca.cnf"),
    [
      "[ca]",
      "default_ca = CA_default",
      "[CA_default]",
      `database = ${path.join(dir, "index.txt")}`,
      `new_certs_dir = ${path.join(dir, "newcerts")}`,
      `serial = ${path.join(dir, "serial")}`,
      "default_md = sha256",
      "policy = policy_any",
      "unique_subject = no",
      "email_in_dn = no",
      "[policy_any]",
      "commonName = supplied",
      "",
    ].join("\n"),
  );
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], dir);
  openssl(
    [
      "req",
      "-new",
      "-x509",
      "-key",
      "ca.key",
      "-subj",
      `/CN=${name}`,
      "-days",
      "3650",
      "-out",
      "ca.pem",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  return { dir, cert: path.join(dir, "ca.pem") };
}

/** A domain certificate for `domain` from `ca`, valid from `start` to `end` (openssl's YYYYMMDDHHMMSSZ). */
function issue(
  ca: { dir: string; cert: string },
  out: string,
  domain: string,
  validity: { start: string; end: string },
): { cert: string; key: string; chain: string } {
  fs.mkdirSync(out, { recursive: true });
  const key = path.join(out, "key.pem");
  const csr = path.join(out, "req.csr");
  const cert = path.join(out, "cert.pem");
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key], out);
  openssl(["req", "-new", "-key", key, "-subj", `/CN=${domain}`, "-out", csr], out);
  fs.writeFileSync(
    path.join(out, "leaf.ext"),
    `[leaf]\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nsubjectAltName=DNS:${domain}\n`,
  );
  openssl(
    [
      "ca",
      "-batch",
      "-notext",
      "-config",
      path.join(ca.dir, "ca.cnf"),
      "-cert",
      ca.cert,
      "-keyfile",
      path.join(ca.dir, "ca.key"),
      "-in",
      csr,
      "-out",
      cert,
      "-startdate",
      validity.start,
      "-enddate",
      validity.end,
      "-extfile",
      path.join(out, "leaf.ext"),
      "-extensions",
      "leaf",
    ],
    out,
  );
  // the chain as the spec asks: leaf first, then the issuer
  const chain = path.join(out, "chain.pem");
  fs.writeFileSync(chain, fs.readFileSync(cert, "utf8") + fs.readFileSync(ca.cert, "utf8"));
  return { cert, key, chain };
}

function opensslTime(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}

// The WACZ signing spec's identity mode: a capture signed with a domain certificate's key (CA,
// certificate and TSA made here with openssl), verified offline against the roots the user
// configures; another domain, an expired certificate, an untrusted root and a tampered signature
// each fail with their own code.
describe("proofmark capture --sign-cert: WACZ signing identity mode", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("capture-identity");
  let server: http.Server | undefined;
  let tsa: TestTsa | undefined;
  let root: { dir: string; cert: string };
  let otherRoot: { dir: string; cert: string };
  let good: { cert: string; key: string; chain: string };
  const valid = {
    start: opensslTime(new Date(Date.now() - 86400_000)),
    end: opensslTime(new Date(Date.now() + 30 * 86400_000)),
  };
  const DOMAIN = "archive.proofmark.test";
  let out: string;
  let trust: { certTrust: Uint8Array[]; tsaTrust: Uint8Array[] };

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    server = http.createServer((_req, res) =>
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end("<title>Signed</title><h1>Signed page</h1>"),
    );
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    tsa = await startTestTsa({ name: "Identity TSA" });
    root = makeCa(path.join(ws.dir, "root"), "Proofmark Test Domain Root");
    otherRoot = makeCa(path.join(ws.dir, "other-root"), "Some Other Root");
    good = issue(root, path.join(ws.dir, "good"), DOMAIN, valid);
    trust = { certTrust: pemCertificates(fs.readFileSync(root.cert, "utf8")), tsaTrust: pemCertificates(tsa.caPem) };
    out = path.join(ws.dir, "identity.wacz");
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const r = await captureToWacz({
      urls: [url],
      out,
      dataDir: ws.dataDir,
      version: "test",
      tsa: [tsa.url],
      signWith: { cert: good.chain, key: good.key },
    });
    expect(r.identity?.domain).to.equal(DOMAIN);
  });

  after(async function () {
    server?.close();
    await tsa?.close();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  function digestOf(bytes: Buffer): { path: string; hash: string; signedData: IdentitySignedData } {
    return JSON.parse(readZip(bytes).get("datapackage-digest.json")!.data.toString("utf8"));
  }

  /** The same capture with datapackage-digest.json's signedData replaced. */
  function withSignedData(name: string, signedData: unknown): string {
    const bytes = fs.readFileSync(out);
    const entries = [...readZip(bytes).values()].map((e) =>
      e.name === "datapackage-digest.json"
        ? {
            name: e.name,
            data: Buffer.from(JSON.stringify({ ...digestOf(bytes), signedData }, null, 2)),
            deflate: true,
          }
        : { name: e.name, data: e.data, deflate: e.method === "deflate" },
    );
    const file = path.join(ws.dir, name);
    fs.writeFileSync(file, writeZip(entries));
    return file;
  }

  /** Re-signs the capture's hash with `identity` (a foreign signer: nothing checks the certificate first). */
  async function resigned(name: string, identity: SigningIdentity): Promise<string> {
    const { hash, signedData } = digestOf(fs.readFileSync(out));
    const signed = await signDatapackageHashWithIdentity(hash, identity, signedData.software, [tsa!.url]);
    return withSignedData(name, signed.signedData);
  }

  function identityOf(files: { cert: string; key: string; chain: string }, domain?: string): SigningIdentity {
    const cert = new crypto.X509Certificate(fs.readFileSync(files.cert));
    return {
      privateKey: crypto.createPrivateKey(fs.readFileSync(files.key)),
      domainCert: fs.readFileSync(files.chain, "utf8"),
      domain: domain ?? cert.subjectAltName!.replace(/^DNS:/, ""),
      source: files.cert,
    };
  }

  it("writes the spec's identity signedData, which verifies offline against the configured roots", async function () {
    const bytes = fs.readFileSync(out);
    const { signedData } = digestOf(bytes);
    expect(Object.keys(signedData).sort()).to.deep.equal(
      [
        "created",
        "domain",
        "domainCert",
        "hash",
        "signature",
        "software",
        "timeSignature",
        "timestampCert",
        "version",
      ].sort(),
    );
    expect(signedData.domain).to.equal(DOMAIN);
    // the key never enters the WACZ
    const keyBody = fs.readFileSync(good.key, "utf8").split("\n").slice(1, 3).join("");
    expect(bytes.includes(Buffer.from(keyBody.slice(0, 40)))).to.equal(false);
    const keyDer = crypto.createPrivateKey(fs.readFileSync(good.key)).export({ type: "sec1", format: "der" });
    expect(bytes.includes(keyDer.subarray(7, 39))).to.equal(false);

    const w = verifyWaczBytes(bytes);
    expect(w.ok, w.message).to.equal(true);
    expect(w.signature.mode).to.equal("identity");
    expect(w.signature.domain).to.equal(DOMAIN);

    const v = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt, ...trust });
    expect(v.identity?.ok, v.identity?.message).to.equal(true);
    expect(v.identity!.chain).to.deep.equal([`CN=${DOMAIN}`, "CN=Proofmark Test Domain Root"]);
    expect(v.identity!.steps.map((s) => [s.check, s.ok])).to.deep.equal([
      ["certificate chain", true],
      ["certificates valid at created", true],
      ["time-stamp of the signature", true],
      ["created within 10 minutes of the time-stamp", true],
      ["time-stamp within the certificate's validity", true],
    ]);
    expect(v.identity!.notChecked.join(" ")).to.match(/no CRL, OCSP or Certificate Transparency/);
    // identity held; what stops the verdict now is only the missing receipt (this test does not anchor)
    expect(v.code).to.equal("RECEIPT_NOT_FOUND");
    const html = renderCaptureReportHtml(buildCaptureReportModel(v, { lang: "en" }), []);
    expect(html).to.include("identity mode: domain certificate");
    expect(html).to.include(DOMAIN);
    expect(html).to.include("no CRL, OCSP or Certificate Transparency");

    // the expert's re-check with stock OpenSSL: the signature with the certificate's key, the token
    fs.writeFileSync(path.join(ws.dir, "hash.txt"), signedData.hash);
    fs.writeFileSync(path.join(ws.dir, "sig.der"), Buffer.from(signedData.signature, "base64"));
    fs.writeFileSync(
      path.join(ws.dir, "pub.pem"),
      new crypto.X509Certificate(pemCertificates(signedData.domainCert)[0]).publicKey.export({
        type: "spki",
        format: "pem",
      }),
    );
    expect(openssl(["dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig.der", "hash.txt"], ws.dir)).to.include(
      "Verified OK",
    );
    fs.writeFileSync(path.join(ws.dir, "signature.txt"), signedData.signature);
    fs.writeFileSync(path.join(ws.dir, "token.der"), Buffer.from(signedData.timeSignature, "base64"));
    expect(
      openssl(
        ["ts", "-verify", "-data", "signature.txt", "-in", "token.der", "-token_in", "-CAfile", tsa!.caFile],
        ws.dir,
      ),
    ).to.include("Verification: OK");
  });

  it("refuses without configured roots, and with another root: WACZ_CERT_UNTRUSTED", async function () {
    const none = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt, tsaTrust: trust.tsaTrust });
    expect(none.ok).to.equal(false);
    expect(none.code).to.equal("WACZ_CERT_UNTRUSTED");
    expect(none.file).to.equal("datapackage-digest.json");
    const other = await verifyCapture({
      path: out,
      dataDir: ws.dataDir,
      parseReceipt,
      tsaTrust: trust.tsaTrust,
      certTrust: pemCertificates(fs.readFileSync(otherRoot.cert, "utf8")),
    });
    expect(other.code).to.equal("WACZ_CERT_UNTRUSTED");
    expect(other.message).to.include("does not reach a trusted root");
    // a certificate from an untrusted root, with its own chain, re-signed over the same capture
    const foreign = issue(otherRoot, path.join(ws.dir, "foreign"), DOMAIN, valid);
    const file = await resigned("foreign.wacz", identityOf(foreign));
    expect(verifyWaczBytes(fs.readFileSync(file)).ok).to.equal(true);
    const v = await verifyCapture({ path: file, dataDir: ws.dataDir, parseReceipt, ...trust });
    expect(v.code).to.equal("WACZ_CERT_UNTRUSTED");
    // the TSA root is not enough for the domain certificate, nor the other way round
    const noTsa = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt, certTrust: trust.certTrust });
    expect(noTsa.code).to.equal("TIMESTAMP_UNTRUSTED");
  });

  it("refuses a certificate for another domain: WACZ_CERT_DOMAIN_MISMATCH", async function () {
    const elsewhere = issue(root, path.join(ws.dir, "elsewhere"), "elsewhere.test", valid);
    const file = await resigned("elsewhere.wacz", identityOf(elsewhere, DOMAIN));
    const w = verifyWaczBytes(fs.readFileSync(file));
    expect(w.ok).to.equal(false);
    expect(w.code).to.equal("WACZ_CERT_DOMAIN_MISMATCH");
    const v = await verifyCapture({ path: file, dataDir: ws.dataDir, parseReceipt, ...trust });
    expect(v.code).to.equal("WACZ_CERT_DOMAIN_MISMATCH");
    expect(v.file).to.equal("datapackage-digest.json");
    // the genuine signature with only `domain` changed fails the same way
    const renamed = withSignedData("renamed.wacz", {
      ...digestOf(fs.readFileSync(out)).signedData,
      domain: "shop.test",
    });
    expect(verifyWaczBytes(fs.readFileSync(renamed)).code).to.equal("WACZ_CERT_DOMAIN_MISMATCH");
  });

  it("refuses a certificate whose validity ended before created: WACZ_CERT_NOT_VALID (and will not sign with it)", async function () {
    const expired = issue(root, path.join(ws.dir, "expired"), DOMAIN, {
      start: opensslTime(new Date(Date.now() - 60 * 86400_000)),
      end: opensslTime(new Date(Date.now() - 30 * 86400_000)),
    });
    let refused: unknown;
    try {
      loadSigningIdentity(expired.chain, expired.key);
    } catch (e) {
      refused = e;
    }
    expect(isProofmarkError(refused, "WACZ_CERT_NOT_VALID"), String(refused)).to.equal(true);
    const file = await resigned("expired.wacz", identityOf(expired));
    expect(verifyWaczBytes(fs.readFileSync(file)).ok).to.equal(true);
    const v = await verifyCapture({ path: file, dataDir: ws.dataDir, parseReceipt, ...trust });
    expect(v.code).to.equal("WACZ_CERT_NOT_VALID");
    expect(v.identity!.steps.map((s) => [s.check, s.ok])).to.deep.equal([
      ["certificate chain", true],
      ["certificates valid at created", false],
    ]);
  });

  it("refuses a tampered signature: WACZ_SIGNATURE_INVALID", async function () {
    const { signedData } = digestOf(fs.readFileSync(out));
    const sig = Buffer.from(signedData.signature, "base64");
    sig[sig.length - 5] ^= 0x01;
    const file = withSignedData("tampered.wacz", { ...signedData, signature: sig.toString("base64") });
    const w = verifyWaczBytes(fs.readFileSync(file));
    expect(w.code).to.equal("WACZ_SIGNATURE_INVALID");
    const v = await verifyCapture({ path: file, dataDir: ws.dataDir, parseReceipt, ...trust });
    expect(v.code).to.equal("WACZ_SIGNATURE_INVALID");
    // a field the spec does not list
    const extra = withSignedData("extra.wacz", { ...signedData, publicKey: "AAAA" });
    expect(verifyWaczBytes(fs.readFileSync(extra)).code).to.equal("WACZ_SIGNATURE_INVALID");
  });

  it("verify prints each identity check and what was not checked; capture refuses --sign-cert without --tsa", async function () {
    assertBuilt();
    const r = await runCli(["verify", out, "--cert-trust", root.cert, "--tsa-trust", tsa!.caFile], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
    });
    expect(r.stdout).to.match(/certificate chain\s+ok: CN=archive\.proofmark\.test ← CN=Proofmark Test Domain Root/);
    expect(r.stdout).to.match(/time-stamp within the certificate's validity\s+ok/);
    expect(r.stdout).to.match(/not checked\s+revocation/);
    const untrusted = await runCli(["verify", out, "--tsa-trust", tsa!.caFile], { cwd: ws.dir, dataDir: ws.dataDir });
    expect(untrusted.code).to.not.equal(0);
    expect(untrusted.stdout + untrusted.stderr).to.include("WACZ_CERT_UNTRUSTED");
    expect(untrusted.stdout).to.include("hint: pass --cert-trust ROOT.pem");
    const noTsa = await runCli(
      ["capture", "http://127.0.0.1:9/", "--sign-cert", good.chain, "--sign-key", good.key, "--out", "x.wacz"],
      { cwd: ws.dir, dataDir: ws.dataDir },
    );
    expect(noTsa.code).to.not.equal(0);
    expect(noTsa.stderr).to.include("INVALID_ARGUMENT");
    expect(noTsa.stderr).to.not.include("BEGIN");
  });
});
