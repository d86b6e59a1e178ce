// Portal benchmark: 200 concurrent clients (autocannon) on the scan page and the trace API,
// served from the SQLite index by a portal in its own process; and indexer catch-up speed over
// 10,000 provenance events. A benchmark, not a test: it reports, it does not fail.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { Contract, Interface, keccak256, toUtf8Bytes } from "ethers";
import { decodeProvenanceLog, openChain, readDeployments, registryArtifact } from "../../packages/sdk/src";
import { Indexer, openDb } from "../../packages/portal/src";
import { seedWorld, stopChain, tempDataDir } from "../../test/portal/fixture";
import type { BenchRow } from "./types";

const CONNECTIONS = 200;
/**
 * Servers run on CPU 0 and the load generator (this process) on CPU 1 when the machine has 2+ CPUs
 * and taskset exists, so that the two do not steal each other's core; the bare node:http peer is
 * measured the same way. BENCH_PORTAL_PIN=0 turns it off.
 */
const PIN =
  process.env.BENCH_PORTAL_PIN !== "0" &&
  os.cpus().length >= 2 &&
  spawnSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" }).status === 0;
function serverCommand(args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", "0", process.execPath, ...args]] : [process.execPath, args];
}
const DURATION_S = Number(process.env.BENCH_PORTAL_SECONDS ?? 10);
const EVENTS = 10_000;

function startPortalProcess(dataDir: string): Promise<{ url: string; child: ChildProcess }> {
  const code = `require(${JSON.stringify(path.join(__dirname, "..", "..", "packages", "portal"))}).startPortal({ dataDir: ${JSON.stringify(dataDir)}, port: 0, trustProxy: true })
    .then((p) => { process.stdout.write(p.url + "\\n"); process.on("SIGTERM", () => p.close().then(() => process.exit(0))); })
    .catch((e) => { console.error(e); process.exit(1); });`;
  const [cmd, args] = serverCommand(["-e", code]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    child.once("exit", (c) => reject(new Error(`portal exited with ${c}`)));
    child.stdout!.once("data", (d: Buffer) => resolve({ url: d.toString().trim(), child }));
  });
}

/** A bare node:http server answering a page of the same size: the ceiling of this machine under the same load. */
function startBaselineProcess(bytes: number): Promise<{ url: string; child: ChildProcess }> {
  const code = `const body = "x".repeat(${bytes}); const s = require("node:http").createServer((q, r) => { r.writeHead(200, { "content-type": "text/html" }); r.end(body); }).listen(0, "127.0.0.1", () => process.stdout.write("http://127.0.0.1:" + s.address().port + "/\\n"));`;
  const [cmd, args] = serverCommand(["-e", code]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) =>
    child.stdout!.once("data", (d: Buffer) => resolve({ url: d.toString().trim(), child })),
  );
}

/** CPU time (user, system) of a process so far, in µs, from /proc (undefined elsewhere). */
function cpuOf(pid: number | undefined): { user: number; sys: number } | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    const tick = 1e6 / 100; // USER_HZ
    return { user: Number(fields[11]) * tick, sys: Number(fields[12]) * tick };
  } catch {
    return undefined;
  }
}

interface Load {
  result: autocannon.Result;
  /** Server CPU per request, µs (a steadier measure than latency on a shared machine). */
  cpu?: { user: number; sys: number };
}

async function load(url: string, server: ChildProcess, requests?: autocannon.Request[]): Promise<Load> {
  // Warm up, then measure.
  await autocannon({ url, connections: 20, duration: 2, requests });
  const before = cpuOf(server.pid);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: DURATION_S,
    headers: { "accept-language": "zh-CN" },
    requests,
  });
  const after = cpuOf(server.pid);
  const n = result.requests.total;
  const cpu =
    before && after && n > 0
      ? { user: Math.round((after.user - before.user) / n), sys: Math.round((after.sys - before.sys) / n) }
      : undefined;
  return { result, cpu };
}

function cpuText(cpu: Load["cpu"]): string {
  return cpu ? `${cpu.user} µs user + ${cpu.sys} µs system` : "n/a";
}

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dataDir = tempDataDir("bench-portal");
  const world = await seedWorld(dataDir);
  const { url, child } = await startPortalProcess(dataDir);
  try {
    await new Promise((r) => setTimeout(r, 1_500)); // first index + manifests
    const scanUrl = `${url}${new URL(world.good.manifest.serials[0].uri).pathname}`;
    const scanCheck = await fetch(scanUrl).then((r) => r.text());
    if (!scanCheck.includes('id="genuine"'))
      throw new Error("the scan page under test does not show a genuine package");
    const baseline = await startBaselineProcess(Buffer.byteLength(scanCheck));
    let base: Load;
    try {
      base = await load(baseline.url, baseline.child);
    } finally {
      baseline.child.kill("SIGTERM");
    }
    const peer = "bare node:http, same body size and load";
    for (const [name, target] of [
      ["scan page", scanUrl],
      ["trace API", `${url}/api/lots/${world.goodLot}/trace`],
    ] as const) {
      const { result: r, cpu } = await load(target, child);
      const errors = r.errors + r.non2xx;
      rows.push({
        section: "portal",
        name: `${name}: p99 latency, ${CONNECTIONS} clients`,
        value: r.latency.p99,
        unit: "ms",
        peer: { name: peer, value: base.result.latency.p99 },
        target: "< 50",
        pass: r.latency.p99 < 50 && errors === 0,
        note: `p50 ${r.latency.p50} ms (bare ${base.result.latency.p50} ms), ${errors} errors${PIN ? "; server on CPU 0, load generator on CPU 1" : ""}`,
      });
      rows.push({
        section: "portal",
        name: `${name}: throughput, ${CONNECTIONS} clients`,
        value: Math.round(r.requests.average),
        unit: "req/s",
        peer: { name: peer, value: Math.round(base.result.requests.average) },
        note: `server CPU per request: ${cpuText(cpu)} (bare: ${cpuText(base.cpu)})`,
      });
    }
    // Worst case: every request is a first scan (a new client address each time, as a trusted proxy
    // reports it; round the lot's serials), so every one is counted (written behind to SQLite) and
    // its page rendered anew.
    const paths = world.good.manifest.serials.map((s) => new URL(s.uri).pathname);
    let n = 0;
    const firstScans: autocannon.Request[] = [
      {
        setupRequest: (req) => {
          n++;
          return {
            ...req,
            path: paths[n % paths.length],
            headers: {
              "accept-language": "zh-CN",
              "x-forwarded-for": `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
            },
          };
        },
      },
    ];
    const { result: r, cpu } = await load(url, child, firstScans);
    const errors = r.errors + r.non2xx;
    rows.push({
      section: "portal",
      name: `scan page, every request a first scan (worst case): p99, ${CONNECTIONS} clients`,
      value: r.latency.p99,
      unit: "ms",
      note: `p50 ${r.latency.p50} ms, ${Math.round(r.requests.average).toLocaleString("en")} req/s, ${errors} errors; server CPU per request: ${cpuText(cpu)}`,
    });
  } finally {
    child.kill("SIGTERM");
  }

  // Indexer catch-up: 10,000 events recorded in batches, then indexed from scratch.
  const chain = await openChain({ dataDir, as: "logistics" });
  try {
    const iface = new Interface(registryArtifact("ProvenanceRegistry").abi as never);
    const address = readDeployments(dataDir, chain.chainId).ProvenanceRegistry!.address;
    const registry = new Contract(address, iface, await chain.signer());
    const batch = 250;
    for (let i = 0; i < EVENTS; i += batch) {
      const inputs = Array.from({ length: batch }, (_v, k) => ({
        lot: world.goodLot,
        step: 9,
        disposition: 4,
        eventTime: 1_788_000_000 + i + k,
        location: keccak256(toUtf8Bytes(`truck ${k}`)),
        document: keccak256(toUtf8Bytes(`event ${i + k}`)),
      }));
      await (await registry.recordEvents(inputs, { gasLimit: 25_000_000 })).wait();
    }
    const db = openDb(path.join(tempDataDir("bench-index"), "index.sqlite"));
    const indexer = new Indexer({
      db,
      provider: chain.provider,
      provenanceRegistry: address,
      evidenceRegistry: readDeployments(dataDir, chain.chainId).EvidenceRegistry!.address,
    });
    const t0 = performance.now();
    const result = await indexer.sync();
    const seconds = (performance.now() - t0) / 1000;
    const events = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    // The same logs decoded by ethers' Interface.parseLog (what the reducer did before) and by the
    // SDK's decoder, in this run: the decoding share of the catch-up.
    const logs = await chain.provider.getLogs({ address, fromBlock: 0, toBlock: result.indexedTo });
    const iface2 = new Interface(registryArtifact("ProvenanceRegistry").abi as never);
    let t = performance.now();
    for (const l of logs) iface2.parseLog(l);
    const ethersRate = logs.length / ((performance.now() - t) / 1000);
    t = performance.now();
    for (const l of logs) decodeProvenanceLog(l);
    const oursRate = logs.length / ((performance.now() - t) / 1000);
    rows.push({
      section: "portal",
      name: `indexer catch-up, ${result.logs.toLocaleString("en")} logs (${events.toLocaleString("en")} events)`,
      value: Math.round(result.logs / seconds),
      unit: "events/s",
      target: "≥ 20000",
      pass: result.logs / seconds >= 20_000,
      note: `${seconds.toFixed(2)} s from an empty index; final eth_getLogs range ${indexer.range} blocks`,
    });
    rows.push({
      section: "portal",
      name: `log decoding, ${logs.length.toLocaleString("en")} registry logs`,
      value: Math.round(oursRate),
      unit: "logs/s",
      peer: { name: "ethers Interface.parseLog (the reducer's decoder before)", value: Math.round(ethersRate) },
    });
    db.close();
  } finally {
    chain.close();
    await stopChain(dataDir);
  }
  return rows;
}

if (require.main === module) {
  run().then(
    (rows) => console.table(rows),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
