import { execFileSync, execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A real RFC 3161 time-stamp authority on this machine: a CA and a TSA certificate made with
 * `openssl` (ECDSA P-256, TSA certificate with `extendedKeyUsage = critical,timeStamping`), and
 * `openssl ts -reply` behind a small node:http handler on 127.0.0.1. `proofmark calendar serve
 * --tsa local` runs one with its CA in `<dataDir>/tsa/` (kept across restarts); the tests run one
 * per test. Like the embedded chain, it proves nothing to anyone else: its CA is made here.
 */
export interface LocalTsa {
  url: string;
  dir: string;
  /** PEM of the CA that issued the TSA certificate (the trust anchor a verifier configures). */
  caPem: string;
  caFile: string;
  /** Requests answered so far. */
  served: number;
  close(): Promise<void>;
}

function openssl(args: string[], cwd: string): void {
  execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
}

/** Makes a CA and a TSA certificate in `dir`. `eku` lets a test make a TSA certificate without the critical timeStamping usage. */
export function makeTsaCertificates(dir: string, opts: { name?: string; eku?: string } = {}): void {
  const name = opts.name ?? "Proofmark Test";
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, "ca.ext"),
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n",
  );
  fs.writeFileSync(
    path.join(dir, "tsa.ext"),
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=${opts.eku ?? "critical,timeStamping"}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n`,
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
      `/CN=${name} Root CA/O=Proofmark tests`,
      "-days",
      "3650",
      "-out",
      "ca.crt",
      "-extensions",
      "v3_ca",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ],
    dir,
  );
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "tsa.key"], dir);
  openssl(["req", "-new", "-key", "tsa.key", "-subj", `/CN=${name} TSA/O=Proofmark tests`, "-out", "tsa.csr"], dir);
  openssl(
    [
      "x509",
      "-req",
      "-in",
      "tsa.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "3650",
      "-extfile",
      "tsa.ext",
      "-out",
      "tsa.crt",
    ],
    dir,
  );
  fs.writeFileSync(
    path.join(dir, "tsa.cnf"),
    [
      "[ tsa ]",
      "default_tsa = tsa_config",
      "[ tsa_config ]",
      `dir = ${dir}`,
      "serial = $dir/tsaserial",
      "crypto_device = builtin",
      "signer_cert = $dir/tsa.crt",
      "certs = $dir/tsa.crt",
      "signer_key = $dir/tsa.key",
      "signer_digest = sha256",
      "default_policy = 1.2.3.4.1",
      "other_policies = 1.2.3.4.5",
      "digests = sha256, sha384, sha512",
      "accuracy = secs:1",
      "ordering = yes",
      "tsa_name = yes",
      "ess_cert_id_chain = no",
      "ess_cert_id_alg = sha256",
      "",
    ].join("\n"),
  );
  fs.writeFileSync(path.join(dir, "tsaserial"), "01\n");
}

/** Starts a TSA (certificates made in `dir` on first start). `mode` "garbage" (tests) answers bytes that are no TimeStampResp. */
export async function startLocalTsa(
  opts: { name?: string; eku?: string; dir?: string; mode?: "ok" | "garbage"; port?: number } = {},
): Promise<LocalTsa> {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-tsa-"));
  if (!fs.existsSync(path.join(dir, "tsa.cnf"))) makeTsaCertificates(dir, opts);
  let counter = 0;
  const tsa: LocalTsa = {
    url: "",
    dir,
    caPem: fs.readFileSync(path.join(dir, "ca.crt"), "utf8"),
    caFile: path.join(dir, "ca.crt"),
    served: 0,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.method !== "POST" || req.headers["content-type"] !== "application/timestamp-query") {
        res.writeHead(415).end();
        return;
      }
      const n = ++counter;
      const query = path.join(dir, `q${n}.tsq`);
      const reply = path.join(dir, `r${n}.tsr`);
      fs.writeFileSync(query, Buffer.concat(chunks));
      execFile(
        "openssl",
        ["ts", "-reply", "-config", path.join(dir, "tsa.cnf"), "-queryfile", query, "-out", reply],
        (err) => {
          if (err) {
            res.writeHead(500).end(String(err));
            return;
          }
          let body = fs.readFileSync(reply);
          fs.rmSync(query, { force: true });
          fs.rmSync(reply, { force: true });
          if (opts.mode === "garbage") body = Buffer.from("this is not DER");
          tsa.served++;
          res
            .writeHead(200, { "content-type": "application/timestamp-reply", "content-length": body.length })
            .end(body);
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  tsa.url = `http://127.0.0.1:${(server.address() as { port: number }).port}/tsr`;
  return tsa;
}

/** Where `calendar serve --tsa local` keeps its TSA: `<dataDir>/tsa/` (its CA certificate: `ca.crt`). */
export function localTsaDir(dataDir: string): string {
  return path.join(dataDir, "tsa");
}
