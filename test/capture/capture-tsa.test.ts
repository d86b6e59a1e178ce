import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import {
  buildCaptureReportModel,
  captureToWacz,
  DEFAULT_CHROMIUM,
  parseReceipt,
  renderCaptureReportHtml,
  verifyCapture,
  pemCertificates,
  readZip,
  verifyTimeSignatures,
  verifyWaczBytes,
  type SignedData,
  type TimeSignature,
} from "../../packages/sdk/src";
import { makeWorkspace } from "../cli/helpers";
import { startTestTsa, type TestTsa } from "../helpers/tsa";

// RFC 3161 time signatures of a capture's WACZ signature, from a real `openssl ts` TSA: written in
// datapackage-digest.json, checked offline against the TSA's root, and refused when untrusted,
// over another signature, or far from the signature's created time.
describe("proofmark capture --tsa: RFC 3161 time signatures", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("capture-tsa");
  let server: http.Server | undefined;
  let tsa: TestTsa | undefined;
  let other: TestTsa | undefined;

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    server = http.createServer((_req, res) =>
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<title>Timed</title><h1>Timed page</h1>"),
    );
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    tsa = await startTestTsa({ name: "Capture TSA" });
    other = await startTestTsa({ name: "Other TSA" });
  });

  after(async function () {
    server?.close();
    await tsa?.close();
    await other?.close();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("writes a timeSignature per TSA over the signature, verified offline against the TSA's root only", async function () {
    const out = path.join(ws.dir, "timed.wacz");
    const url = `http://127.0.0.1:${(server!.address() as AddressInfo).port}/`;
    const r = await captureToWacz({
      urls: [url],
      out,
      dataDir: ws.dataDir,
      version: "test",
      tsa: [tsa!.url, "http://127.0.0.1:9/unreachable"],
    });
    expect(r.timeSignatures.map((t) => t.tsa)).to.deep.equal([tsa!.url]);
    expect(r.tsaErrors.map((t) => t.tsa)).to.deep.equal(["http://127.0.0.1:9/unreachable"]);
    const bytes = fs.readFileSync(out);
    const digest = JSON.parse(readZip(bytes).get("datapackage-digest.json")!.data.toString("utf8")) as {
      signedData: SignedData;
      timeSignatures: TimeSignature[];
    };
    // the spec's anonymous signedData stays as it is; the tokens sit beside it, covered by the anchor
    expect(Object.keys(digest.signedData).sort()).to.deep.equal(
      ["created", "hash", "publicKey", "signature", "software", "version"].sort(),
    );
    expect(digest.timeSignatures).to.have.length(1);
    const v = verifyWaczBytes(bytes);
    expect(v.ok, v.message).to.equal(true);

    const trusted = pemCertificates(tsa!.caPem);
    const [check] = await verifyTimeSignatures(digest.signedData, digest.timeSignatures, trusted);
    expect(check.ok, check.message).to.equal(true);
    expect(check.signer).to.include("Capture TSA");
    expect(Math.abs(Date.parse(check.genTime!) - Date.now())).to.be.below(5 * 60_000);
    expect(Math.abs(check.offsetSeconds!)).to.be.below(60);

    // the expert's re-check with stock OpenSSL, as the README says
    fs.writeFileSync(path.join(ws.dir, "signature.txt"), digest.signedData.signature);
    fs.writeFileSync(path.join(ws.dir, "token.der"), Buffer.from(digest.timeSignatures[0].timeSignature, "base64"));
    const openssl = execFileSync(
      "openssl",
      ["ts", "-verify", "-data", "signature.txt", "-in", "token.der", "-token_in", "-CAfile", tsa!.caFile],
      { cwd: ws.dir, encoding: "utf8" },
    );
    expect(openssl).to.include("Verification: OK");

    // verify and the report: the TSA's time beside the machine clock
    const full = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt, tsaTrust: trusted });
    expect(full.timeSignatures.map((t) => t.ok)).to.deep.equal([true]);
    const html = renderCaptureReportHtml(buildCaptureReportModel(full, { lang: "en" }), []);
    expect(html).to.include("Against a time-stamp authority");
    expect(html).to.include(check.genTime!);
    expect(html).to.include("Machine clock at start");
    const untrustedRun = await verifyCapture({ path: out, dataDir: ws.dataDir, parseReceipt, tsaTrust: [] });
    expect(untrustedRun.ok).to.equal(false);
    expect(untrustedRun.code).to.equal("TIMESTAMP_UNTRUSTED");
    expect(untrustedRun.file).to.equal("datapackage-digest.json");

    // no trust, or another TSA's root: untrusted, never passed
    expect((await verifyTimeSignatures(digest.signedData, digest.timeSignatures, []))[0].code).to.equal(
      "TIMESTAMP_UNTRUSTED",
    );
    expect(
      (await verifyTimeSignatures(digest.signedData, digest.timeSignatures, pemCertificates(other!.caPem)))[0].code,
    ).to.equal("TIMESTAMP_UNTRUSTED");
    // the token does not fit another signature
    const forged = { ...digest.signedData, signature: Buffer.from("another signature").toString("base64") };
    expect((await verifyTimeSignatures(forged, digest.timeSignatures, trusted))[0].code).to.equal("TIMESTAMP_MISMATCH");
    // a created time more than 10 minutes from the TSA's (WACZ signing spec, validation step 7)
    const late = { ...digest.signedData, created: new Date(Date.now() - 3600_000).toISOString() };
    const skew = (await verifyTimeSignatures(late, digest.timeSignatures, trusted))[0];
    expect(skew.ok).to.equal(false);
    expect(skew.code).to.equal("TIMESTAMP_INVALID");
    // one byte of the token changed
    const token = Buffer.from(digest.timeSignatures[0].timeSignature, "base64");
    token[token.length - 10] ^= 0x01;
    const altered = [{ ...digest.timeSignatures[0], timeSignature: token.toString("base64") }];
    expect((await verifyTimeSignatures(digest.signedData, altered, trusted))[0].ok).to.equal(false);
  });
});
