// Portal benchmark, side by side in one run: 200 concurrent clients (autocannon) on the scan page
// (and the trace API) of the SQLite portal, of one portal on PostgreSQL and of two portals sharing
// one PostgreSQL (the load split between them); every-request-a-first-scan (each writes a scan
// count) on the three; indexer catch-up over 10,000 provenance events into SQLite and into the
// shared PostgreSQL index, a new instance's start-up replay of the shared index and the same after
// compaction. A real PostgreSQL is started like the tests do (skipped, with a note, when it is not
// installed). A benchmark, not a test: it reports, it does not fail.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as inspector from "node:inspector/promises";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { Contract, Interface, keccak256, toUtf8Bytes } from "ethers";
import { decodeProvenanceLog, openChain, readDeployments, registryArtifact } from "../../packages/sdk/src";
import { Indexer, openDb, PostgresIndexLog } from "../../packages/portal/src";
import { seedWorld, stopChain, tempDataDir } from "../../test/portal/fixture";
import { postgresBinDir, startPostgres, type TestPostgres } from "../../test/helpers/postgres";
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
const DURATION_S = Number(process.env.BENCH_PORTAL_SECONDS ?? 5);
const EVENTS = 10_000;

function startPortalProcess(dataDir: string, database?: string): Promise<{ url: string; child: ChildProcess }> {
  const opts = { dataDir, port: 0, trustProxy: true, database };
  const code = `require(${JSON.stringify(path.join(__dirname, "..", "..", "packages", "portal"))}).startPortal(${JSON.stringify(opts)})
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

/**
 * Warms up, then loads `urls` (one per portal instance, the connections split between them) for
 * {@link DURATION_S}: requests and errors summed, the worst instance's latency percentiles.
 */
async function load(
  urls: string[],
  servers: ChildProcess[],
  requests?: (i: number) => autocannon.Request[] | undefined,
): Promise<Load> {
  await Promise.all(urls.map((url, i) => autocannon({ url, connections: 10, duration: 1, requests: requests?.(i) })));
  const before = servers.map((s) => cpuOf(s.pid));
  const results = await Promise.all(
    urls.map((url, i) =>
      autocannon({
        url,
        connections: CONNECTIONS / urls.length,
        duration: DURATION_S,
        headers: { "accept-language": "zh-CN" },
        requests: requests?.(i),
      }),
    ),
  );
  const after = servers.map((s) => cpuOf(s.pid));
  const result = results.reduce((a, r) => ({
    ...a,
    errors: a.errors + r.errors,
    non2xx: a.non2xx + r.non2xx,
    requests: {
      ...a.requests,
      total: a.requests.total + r.requests.total,
      average: a.requests.average + r.requests.average,
    },
    latency: {
      ...a.latency,
      p50: Math.max(a.latency.p50, r.latency.p50),
      p99: Math.max(a.latency.p99, r.latency.p99),
    },
  }));
  const n = result.requests.total;
  let cpu: Load["cpu"];
  if (n > 0 && before.every(Boolean) && after.every(Boolean)) {
    const sum = (k: "user" | "sys") => after.reduce((t, a, i) => t + a![k] - before[i]![k], 0);
    cpu = { user: Math.round(sum("user") / n), sys: Math.round(sum("sys") / n) };
  }
  return { result, cpu };
}

function cpuText(cpu: Load["cpu"]): string {
  return cpu ? `${cpu.user} µs user + ${cpu.sys} µs system` : "n/a";
}

/** BENCH_PORTAL_ONLY=catchup measures the indexer catch-up alone (no HTTP load: a minute instead of several). */
const CATCHUP_ONLY = process.env.BENCH_PORTAL_ONLY === "catchup";
/** BENCH_PORTAL_ONLY=scan measures the SQLite portal's scan page alone (old and new code compared quickly). */
const SCAN_ONLY = process.env.BENCH_PORTAL_ONLY === "scan";

export async function run(): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const dataDir = tempDataDir("bench-portal");
  const world = await seedWorld(dataDir);
  let pg: TestPostgres | undefined;
  if (CATCHUP_ONLY) {
    try {
      if (postgresBinDir()) pg = await startPostgres();
      return await catchUp(dataDir, world.goodLot, pg);
    } finally {
      pg?.stop();
      await stopChain(dataDir);
    }
  }
  const children: ChildProcess[] = [];
  const start = async (database?: string) => {
    const p = await startPortalProcess(dataDir, database);
    children.push(p.child);
    return p;
  };
  const stop = (c: ChildProcess) =>
    new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once("exit", () => resolve());
      c.kill("SIGTERM");
    });
  try {
    const scanPath = new URL(world.good.manifest.serials[0].uri).pathname;
    const sqlite = await start();
    await waitFor(`${sqlite.url}${scanPath}`);
    const scanCheck = await fetch(`${sqlite.url}${scanPath}`).then((r) => r.text());
    if (!scanCheck.includes('id="genuine"'))
      throw new Error("the scan page under test does not show a genuine package");
    const baseline = await startBaselineProcess(Buffer.byteLength(scanCheck));
    let base: Load;
    try {
      base = await load([baseline.url], [baseline.child]);
    } finally {
      await stop(baseline.child);
    }
    const peer = "bare node:http, same body size and load";
    const pin = PIN ? "; servers on CPU 0, load generator on CPU 1" : "";

    // The three set-ups, measured one after the other on the same chain and data folder.
    const setups: Array<{ name: string; urls: string[]; servers: ChildProcess[] }> = [
      { name: "SQLite portal", urls: [sqlite.url], servers: [sqlite.child] },
    ];
    if (postgresBinDir() && !SCAN_ONLY) {
      pg = await startPostgres();
      const a = await start(pg.url);
      const b = await start(pg.url);
      for (const p of [a, b]) await waitFor(`${p.url}${scanPath}`);
      setups.push({ name: "PostgreSQL, 1 instance", urls: [a.url], servers: [a.child] });
      setups.push({ name: "PostgreSQL, 2 instances", urls: [a.url, b.url], servers: [a.child, b.child] });
    } else {
      rows.push({
        section: "portal",
        name: "PostgreSQL portal rows",
        value: 0,
        unit: "-",
        note: "not measured: PostgreSQL is not installed (apt-get install -y postgresql; .ci/run does it)",
      });
    }
    const paths = world.good.manifest.serials.map((s) => new URL(s.uri).pathname);
    const measured = new Map<string, { page: Load; first: Load }>();
    for (const setup of setups) {
      const page = await load(
        setup.urls.map((u) => `${u}${scanPath}`),
        setup.servers,
      );
      // Worst case: every request is a first scan (a new client address each time, as a trusted
      // proxy reports it; round the lot's serials), so every one writes a scan count — written
      // behind in SQLite, one transaction per scan in PostgreSQL — and its page is rendered anew.
      // Addresses differ per set-up and per instance, so every request is a first scan.
      const tag = measured.size;
      const first = SCAN_ONLY
        ? page
        : await load(setup.urls, setup.servers, (instance) => {
            let n = 0;
            return [
              {
                setupRequest: (req) => {
                  n++;
                  return {
                    ...req,
                    path: paths[n % paths.length],
                    headers: {
                      "accept-language": "zh-CN",
                      "x-forwarded-for": `${10 + tag * 2 + instance}.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
                    },
                  };
                },
              },
            ];
          });
      measured.set(setup.name, { page, first });
    }
    const sqliteRun = measured.get("SQLite portal")!;
    for (const [name, { page, first }] of measured) {
      const r = page.result;
      const errors = r.errors + r.non2xx;
      const vsSqlite = name === "SQLite portal" ? undefined : sqliteRun.page.result;
      rows.push({
        section: "portal",
        name: `scan page, ${name}: p99 latency, ${CONNECTIONS} clients`,
        value: r.latency.p99,
        unit: "ms",
        peer: vsSqlite
          ? { name: "SQLite portal, same run", value: vsSqlite.latency.p99 }
          : { name: peer, value: base.result.latency.p99 },
        target: "< 50",
        pass: r.latency.p99 < 50 && errors === 0,
        note: `p50 ${r.latency.p50} ms, ${errors} errors${pin}${name.includes("2 instances") ? "; the worst instance's percentiles, both instances share CPU 0" : ""}`,
      });
      rows.push({
        section: "portal",
        name: `scan page, ${name}: throughput, ${CONNECTIONS} clients`,
        value: Math.round(r.requests.average),
        unit: "req/s",
        peer: vsSqlite
          ? { name: "SQLite portal, same run", value: Math.round(vsSqlite.requests.average) }
          : { name: peer, value: Math.round(base.result.requests.average) },
        note: `server CPU per request: ${cpuText(page.cpu)} (bare: ${cpuText(base.cpu)})`,
      });
      const f = first.result;
      const ferrors = f.errors + f.non2xx;
      rows.push({
        section: "portal",
        name: `first scans (each writes a scan count), ${name}, ${CONNECTIONS} clients`,
        value: Math.round(f.requests.average),
        unit: "writes/s",
        peer:
          name === "SQLite portal"
            ? undefined
            : {
                name: "SQLite portal (written behind), same run",
                value: Math.round(sqliteRun.first.result.requests.average),
              },
        note: `p99 ${f.latency.p99} ms, p50 ${f.latency.p50} ms, ${ferrors} errors; server CPU per request: ${cpuText(first.cpu)}`,
      });
    }
    {
      const { result: r, cpu } = await load([`${sqlite.url}/api/lots/${world.goodLot}/trace`], [sqlite.child]);
      const errors = r.errors + r.non2xx;
      rows.push({
        section: "portal",
        name: `trace API, SQLite portal: p99 latency, ${CONNECTIONS} clients`,
        value: r.latency.p99,
        unit: "ms",
        peer: { name: peer, value: base.result.latency.p99 },
        target: "< 50",
        pass: r.latency.p99 < 50 && errors === 0,
        note: `p50 ${r.latency.p50} ms, ${Math.round(r.requests.average).toLocaleString("en")} req/s, ${errors} errors; server CPU per request: ${cpuText(cpu)}${pin}`,
      });
    }
    for (const c of children) await stop(c);
    if (!SCAN_ONLY) rows.push(...(await catchUp(dataDir, world.goodLot, pg)));
  } finally {
    for (const c of children) await stop(c);
    pg?.stop();
    await stopChain(dataDir);
  }
  return rows;
}

/** Waits until `url` answers 200 (a portal on PostgreSQL serves once its copy caught up). */
async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(url)
      .then(async (r) => r.status === 200 && (await r.text()).includes('id="genuine"'))
      .catch(() => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not serve the scan page within a minute`);
}

/** The pid of the local chain's node (Anvil) of `dataDir`, from the node's record. */
function chainPid(dataDir: string): number | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "node.json"), "utf8")) as { pid?: number }).pid;
  } catch {
    return undefined;
  }
}

/**
 * Moves `pid` (every thread) and its child processes to CPU 0. The catch-up's node and PostgreSQL
 * serve the indexer the way the portal servers serve the load generator: started by this process,
 * they inherited its CPU 1 pin, so the indexer's core also ran every answer of the node and every
 * commit of PostgreSQL. They go to CPU 0 once the portal servers are stopped.
 */
function moveToCpu0(pid: number | undefined): void {
  if (!PIN || pid === undefined) return;
  const children = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout ?? "";
  for (const p of [String(pid), ...children.split("\n").filter(Boolean)])
    spawnSync("taskset", ["-a", "-cp", "0", p], { stdio: "ignore" });
}

const CATCH_UP_PIN_NOTE = PIN ? "; the node and PostgreSQL on CPU 0, the indexer on CPU 1" : "";

/** The postmaster's pid of a test cluster (the first line of its postmaster.pid). */
function postmasterPid(pg: TestPostgres): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(pg.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]);
  } catch {
    return undefined;
  }
}

/**
 * CPU of a catch-up, steadier than its rate on a shared machine: this process's (the indexer's;
 * PostgreSQL's own is not counted) and the node's, per log.
 */
function catchUpCpu(
  own: NodeJS.CpuUsage,
  node0: { user: number; sys: number } | undefined,
  node1: { user: number; sys: number } | undefined,
  logs: number,
): string {
  const ms = (own.user + own.system) / 1000;
  const node = node0 && node1 ? (node1.user + node1.sys - node0.user - node0.sys) / 1000 : undefined;
  return `indexer CPU ${Math.round(ms)} ms (${((ms * 1000) / logs).toFixed(1)} µs/log)${node === undefined ? "" : `, node CPU ${Math.round(node)} ms`}`;
}

/**
 * Indexer catch-up: 10,000 events recorded in batches, then indexed from scratch into SQLite, then
 * into a PostgreSQL shared index (the elected writer), then a new instance's replay of that shared
 * index, and the same replay after the writer compacted the log into a snapshot.
 */
async function catchUp(dataDir: string, lot: number, pg: TestPostgres | undefined): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  const chain = await openChain({ dataDir, as: "logistics" });
  const dirs: string[] = [];
  try {
    const iface = new Interface(registryArtifact("ProvenanceRegistry").abi as never);
    const deployments = readDeployments(dataDir, chain.chainId);
    const address = deployments.ProvenanceRegistry!.address;
    const registry = new Contract(address, iface, await chain.signer());
    const batch = 250;
    for (let i = 0; i < EVENTS; i += batch) {
      const inputs = Array.from({ length: batch }, (_v, k) => ({
        lot,
        step: 9,
        disposition: 4,
        eventTime: 1_788_000_000 + i + k,
        location: keccak256(toUtf8Bytes(`truck ${k}`)),
        document: keccak256(toUtf8Bytes(`event ${i + k}`)),
      }));
      await (await registry.recordEvents(inputs, { gasLimit: 25_000_000 })).wait();
    }
    const indexerFor = (db: ReturnType<typeof openDb>, log?: PostgresIndexLog) =>
      new Indexer({
        db,
        provider: chain.provider,
        provenanceRegistry: address,
        evidenceRegistry: deployments.EvidenceRegistry!.address,
        log,
      });
    const sqliteFile = () => {
      const dir = tempDataDir("bench-index");
      dirs.push(dir);
      return path.join(dir, "index.sqlite");
    };
    // SQLite: the embedded portal's index.
    const db = openDb(sqliteFile());
    const indexer = indexerFor(db);
    const profile = process.env.BENCH_PORTAL_PROFILE ? new inspector.Session() : undefined;
    if (profile) {
      profile.connect();
      await profile.post("Profiler.enable");
      await profile.post("Profiler.start");
    }
    const nodePid = chainPid(dataDir);
    moveToCpu0(nodePid);
    if (pg) moveToCpu0(postmasterPid(pg));
    let cpu0 = process.cpuUsage();
    let node0 = cpuOf(nodePid);
    let t0 = performance.now();
    const result = await indexer.sync();
    const seconds = (performance.now() - t0) / 1000;
    const sqliteCpu = catchUpCpu(process.cpuUsage(cpu0), node0, cpuOf(nodePid), result.logs);
    if (profile) {
      // BENCH_PORTAL_PROFILE=file.cpuprofile: the SQLite catch-up's CPU profile (open it in Chrome's DevTools).
      const { profile: p } = await profile.post("Profiler.stop");
      fs.writeFileSync(process.env.BENCH_PORTAL_PROFILE!, JSON.stringify(p));
      profile.disconnect();
    }
    const events = (db.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n;
    const sqliteRate = result.logs / seconds;
    // The node alone: the same logs in one eth_getLogs request, fetched and parsed (no indexing) —
    // the ceiling of any catch-up from this node on this machine.
    let nodeSeconds = Infinity;
    for (let i = 0; i < 3; i++) {
      const t1 = performance.now();
      const answer = (await fetch(chain.rpcUrls[0], {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "eth_getLogs",
          params: [
            {
              address: [address, deployments.EvidenceRegistry!.address],
              fromBlock: "0x0",
              toBlock: `0x${result.indexedTo.toString(16)}`,
            },
          ],
        }),
      }).then((r) => r.json())) as { result: unknown[] };
      if (answer.result.length !== result.logs) throw new Error("the node's answer differs from what was indexed");
      nodeSeconds = Math.min(nodeSeconds, (performance.now() - t1) / 1000);
    }
    const nodeRate = result.logs / nodeSeconds;
    rows.push({
      section: "portal",
      name: `indexer catch-up into SQLite, ${result.logs.toLocaleString("en")} logs (${events.toLocaleString("en")} events)`,
      value: Math.round(sqliteRate),
      unit: "events/s",
      peer: {
        name: "the node alone: one eth_getLogs of the same logs, fetched + JSON.parse (best of 3)",
        value: Math.round(nodeRate),
      },
      target: "≥ 20000",
      pass: sqliteRate >= 20_000,
      note: `${seconds.toFixed(2)} s from an empty index; final eth_getLogs range ${indexer.range} blocks; ${sqliteCpu}; ratio to the node alone ${(sqliteRate / nodeRate).toFixed(2)}${CATCH_UP_PIN_NOTE}`,
    });
    // The same logs decoded by ethers' Interface.parseLog (what the reducer did before) and by the
    // SDK's decoder, in this run: the decoding share of the catch-up.
    const logs = await chain.provider.getLogs({ address, fromBlock: 0, toBlock: result.indexedTo });
    let t = performance.now();
    for (const l of logs) iface.parseLog(l);
    const ethersRate = logs.length / ((performance.now() - t) / 1000);
    t = performance.now();
    for (const l of logs) decodeProvenanceLog(l);
    const oursRate = logs.length / ((performance.now() - t) / 1000);
    rows.push({
      section: "portal",
      name: `log decoding, ${logs.length.toLocaleString("en")} registry logs`,
      value: Math.round(oursRate),
      unit: "logs/s",
      peer: { name: "ethers Interface.parseLog (the reducer's decoder before)", value: Math.round(ethersRate) },
    });
    if (!pg) return rows;
    // PostgreSQL: the elected writer of the shared index, from an empty index.
    const scope = `bench:${chain.chainId}:${address.toLowerCase()}`;
    const writerLog = await PostgresIndexLog.open(pg.url, scope);
    const writerDb = openDb(":memory:");
    try {
      const writer = indexerFor(writerDb, writerLog);
      cpu0 = process.cpuUsage();
      node0 = cpuOf(nodePid);
      t0 = performance.now();
      const r = await writer.sync();
      const s = (performance.now() - t0) / 1000;
      const pgCpu = catchUpCpu(process.cpuUsage(cpu0), node0, cpuOf(nodePid), r.logs);
      const rate = r.logs / s;
      const pages = (await writerLog.pagesAfter(0, 1_000_000)).pages.length;
      rows.push({
        section: "portal",
        name: `indexer catch-up into the PostgreSQL shared index, ${r.logs.toLocaleString("en")} logs`,
        value: Math.round(rate),
        unit: "events/s",
        peer: { name: "into SQLite, same run", value: Math.round(sqliteRate) },
        target: "≥ 20000",
        pass: rate >= 20_000 && r.writer === true,
        note: `${s.toFixed(2)} s; ${pages} pages, each one eth_getLogs range committed to PostgreSQL in one transaction; ${pgCpu}${CATCH_UP_PIN_NOTE}`,
      });
      // A new instance starting: replays the log's pages into its own copy.
      const replay = async () => {
        const log = await PostgresIndexLog.open(pg.url, scope);
        const copy = openDb(":memory:");
        try {
          const follower = indexerFor(copy, log);
          const t1 = performance.now();
          const f = await follower.sync();
          const same =
            (copy.prepare("SELECT COUNT(*) AS n FROM events").get() as { n: number }).n === events &&
            f.writer === false;
          return { seconds: (performance.now() - t1) / 1000, same };
        } finally {
          copy.close();
          await log.close();
        }
      };
      const before = await replay();
      await writer.compact();
      const after = await replay();
      rows.push({
        section: "portal",
        name: `new instance start-up: replay of the shared index (${pages} pages)`,
        value: Math.round(before.seconds * 1000),
        unit: "ms",
        peer: { name: "the same from the compacted snapshot", value: Math.round(after.seconds * 1000) },
        note: `${events.toLocaleString("en")} events; the copy ${before.same && after.same ? "matched" : "DID NOT match"} the SQLite index's event count both times`,
      });
    } finally {
      writerDb.close();
      await writerLog.close();
    }
  } finally {
    chain.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
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
