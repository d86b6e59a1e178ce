import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { captureToWacz, DEFAULT_CHROMIUM, readZip, type CaptureRecord } from "../../packages/sdk/src";
import { makeWorkspace } from "../cli/helpers";

// An HTTPS page: the capture keeps the TLS certificate chain the browser was shown (DevTools
// Network.getCertificate), and says in the record when certificate checks were relaxed for it.
describe("proofmark capture: TLS certificate chains of HTTPS pages", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("capture-tls");
  let server: https.Server | undefined;
  let certPem = "";
  let spki = "";

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    const key = path.join(ws.dir, "key.pem");
    const cert = path.join(ws.dir, "cert.pem");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key,
        "-out",
        cert,
        "-days",
        "2",
        "-subj",
        "/CN=shop.test",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
      ],
      { stdio: "ignore" },
    );
    certPem = fs.readFileSync(cert, "utf8");
    const der = crypto.createPublicKey(certPem).export({ type: "spki", format: "der" });
    spki = crypto.createHash("sha256").update(der).digest("base64");
    server = https.createServer({ key: fs.readFileSync(key), cert: certPem }, (_req, res) => {
      res
        .writeHead(200, { "content-type": "text/html; charset=utf-8" })
        .end("<!doctype html><title>TLS shop</title><h1>Silk scarf over TLS</h1>");
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  });

  after(function () {
    server?.close();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("records the server's certificate chain for the origin, and the relaxed certificate check fails the clean checklist", async function () {
    const origin = `https://127.0.0.1:${(server!.address() as AddressInfo).port}`;
    const out = path.join(ws.dir, "tls.wacz");
    const r = await captureToWacz({
      urls: [`${origin}/item`],
      out,
      dataDir: ws.dataDir,
      version: "test",
      trustCertificateSpki: [spki],
    });
    const entries = readZip(fs.readFileSync(out));
    const tls = JSON.parse(entries.get("capture/tls.json")!.data.toString("utf8")) as Array<{
      origin: string;
      chain: string[];
      subjectName: string;
      protocol: string;
    }>;
    const entry = tls.find((t) => t.origin === origin);
    expect(entry, JSON.stringify(tls)).to.not.equal(undefined);
    expect(entry!.subjectName).to.equal("shop.test");
    expect(entry!.protocol).to.match(/^TLS/);
    const pem = (s: string) => s.replace(/-----[A-Z ]+-----|\s/g, "");
    expect(entry!.chain.map(pem)).to.include(pem(certPem));
    expect(r.record.pages[0].title).to.equal("TLS shop");
    const record = JSON.parse(entries.get("capture/record.json")!.data.toString("utf8")) as CaptureRecord;
    const check = record.clean.checks.find((c) => c.item === "normal-certificate-checks")!;
    expect(check.ok).to.equal(false);
    expect(check.observed).to.include(spki);
    expect(record.clean.ok).to.equal(false);
  });
});
