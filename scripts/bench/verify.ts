// Verification benchmarks (issue 11, "verification at the speed of stamping"): `proofmark verify`
// of a folder of N stamped files beside the time `proofmark stamp` took for the same folder, in one
// run; and the portal's chain relay (what its verify page reads) over many receipts.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { startPortal } from "../../packages/portal/src";
import { hashFile, KNOWN_REGISTRY_CODES, parseReceipt, Verifier } from "../../packages/sdk/src";
import { portalReader } from "../../packages/sdk/src/report/verifier-browser";
import type { BenchRow } from "./types";

const REPO = path.resolve(__dirname, "..", "..");

export async function run(): Promise<BenchRow[]> {
  const count = Number(process.env.BENCH_VERIFY_FILES ?? 10_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-verify-"));
  const files = path.join(dir, "files");
  fs.mkdirSync(files);
  for (let i = 0; i < count; i++)
    fs.writeFileSync(
      path.join(files, `f${String(i).padStart(5, "0")}.txt`),
      `file ${i} ${"x".repeat(100 + (i % 900))}\n`,
    );
  const dataDir = path.join(dir, ".proofmark");
  const env = { ...process.env, PROOFMARK_HOME: dataDir };
  const cli = path.join(REPO, "cli", "bin", "proofmark.js");
  const seconds = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
  const rows: BenchRow[] = [];
  // The portal awaits work whose timers do not hold the event loop (unref'd); outside a test runner
  // nothing else does, so hold it while this area runs.
  const hold = setInterval(() => undefined, 1_000);
  execFileSync(process.execPath, [cli, "node", "start"], { cwd: dir, env, stdio: "ignore" });
  try {
    execFileSync(process.execPath, [cli, "deploy", "--only", "EvidenceRegistry"], { cwd: dir, env, stdio: "ignore" });
    let t = process.hrtime.bigint();
    const stamp = spawnSync(process.execPath, [cli, "stamp", "files", "--json"], { cwd: dir, env, maxBuffer: 1 << 28 });
    const stampS = seconds(t);
    if (stamp.status !== 0) throw new Error(`stamp failed: ${stamp.stderr}`);
    t = process.hrtime.bigint();
    const verify = spawnSync(process.execPath, [cli, "verify", "files", "--json"], {
      cwd: dir,
      env,
      maxBuffer: 1 << 28,
    });
    const verifyS = seconds(t);
    if (verify.status !== 0) throw new Error(`verify failed: ${verify.stderr.toString().slice(0, 2000)}`);
    const verified = (JSON.parse(verify.stdout.toString()) as Array<{ ok: boolean }>).filter((r) => r.ok).length;
    rows.push({
      section: "verify",
      name: `proofmark verify of ${count.toLocaleString("en")} stamped files (CLI, local chain, one batch)`,
      value: Math.round(verifyS * 100) / 100,
      unit: "s",
      peer: { name: "proofmark stamp of the same files", value: Math.round(stampS * 100) / 100 },
      target: "≤ 2 × stamp",
      pass: verifyS <= 2 * stampS,
      note: `${(verifyS / stampS).toFixed(2)} × stamp; ${verified} verified`,
    });

    // The portal's verify page: its engine reads the chain through the portal's relay. Verify
    // every receipt through the relay in one session (as one page verifying many receipts would).
    const portal = await startPortal({ dataDir, port: 0, pollMs: 1_000 });
    try {
      const receipts = fs
        .readdirSync(files)
        .filter((f) => f.endsWith(".proof.json"))
        .sort();
      const inputs = await Promise.all(
        receipts.map(async (r) => ({
          receipt: parseReceipt(fs.readFileSync(path.join(files, r), "utf8")),
          file: await hashFile(path.join(files, r.replace(/\.proof\.json$/, ""))),
        })),
      );
      t = process.hrtime.bigint();
      const verifier = new Verifier({
        readers: () => [portalReader(portal.url)],
        knownRegistries: KNOWN_REGISTRY_CODES,
      });
      let ok = 0;
      for (const x of inputs) if ((await verifier.verify(x.receipt, x.file)).ok) ok++;
      const relayS = seconds(t);
      rows.push({
        section: "verify",
        name: `${count.toLocaleString("en")} receipts through the portal's chain relay (the verify page's engine, one session)`,
        value: Math.round(relayS * 100) / 100,
        unit: "s",
        peer: { name: "proofmark stamp of the same files", value: Math.round(stampS * 100) / 100 },
        target: "≤ 2 × stamp",
        pass: relayS <= 2 * stampS,
        note: `${(relayS / stampS).toFixed(2)} × stamp; ${ok} verified (files hashed beforehand, as the page hashes in the browser)`,
      });
    } finally {
      await portal.close();
    }
  } finally {
    spawnSync(process.execPath, [cli, "node", "stop"], { cwd: dir, env, stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
    clearInterval(hold);
  }
  return rows;
}
