// Calendar benchmark: 200 concurrent clients (wrk when installed, else autocannon) submitting salted leaves to
// `proofmark calendar serve` (SQLite, durable: each acknowledgement after fsync, the embedded
// chain), side by side with a bare fsync-journal HTTP prototype (node:http + group-commit
// fs.write + fdatasync, no validation, no signature, no database) in the same run; then the
// anchoring cost (transactions per batch per chain) and the time from submission to a completed
// proof. A benchmark, not a test: it reports, it does not fail.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import autocannon from "autocannon";
import { JsonRpcProvider } from "ethers";
import { MerkleTree, SqliteCalendarStore, evidenceRegistryInterface, type Hex } from "../../packages/sdk/src";
import {
  histogramDelta,
  histogramQuantile,
  readHistogram,
  type HistogramReading,
} from "../../packages/sdk/src/calendar/metrics";
import type { BenchRow } from "./types";

const CONNECTIONS = 200;
const DURATION_S = Number(process.env.BENCH_CALENDAR_SECONDS ?? 10);
const INTERVAL_S = 1;
/** Offered rates of the paced runs (leaves/s, 1 per request): the target's 20,000 and half of it. */
const PACED_RATES = [20_000, 10_000];
const CLI = path.join(__dirname, "..", "..", "cli", "bin", "proofmark.js");
/**
 * Where things run on this 2-core machine (BENCH_CALENDAR_PIN):
 * - "split" (default): each server's event loop alone on CPU 0; its other threads (the calendar's index
 *   worker, V8's garbage-collector helpers, libuv's file-system pool) and its embedded chain on CPU 1
 *   beside the load generator: the server has the machine, less what the client takes;
 * - "core": the whole server, every thread, on CPU 0 and the load generator on CPU 1;
 * - "0": no pinning.
 */
const PIN_MODE =
  process.env.BENCH_CALENDAR_PIN === "0" ? "off" : process.env.BENCH_CALENDAR_PIN === "core" ? "core" : "split";
const PIN =
  PIN_MODE !== "off" &&
  os.cpus().length >= 2 &&
  spawnSync("taskset", ["-cp", "1", String(process.pid)], { stdio: "ignore" }).status === 0;
function serverCommand(args: string[]): [string, string[]] {
  return PIN ? ["taskset", ["-c", "0", process.execPath, ...args]] : [process.execPath, args];
}
/** Processes started by `pid`, and theirs (the calendar's embedded chain). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // gone meanwhile
    }
  }
  const found: number[] = [];
  for (let i = -1; i < found.length; i++) {
    const parent = i < 0 ? pid : found[i];
    for (const [child, p] of parents) if (p === parent) found.push(child);
  }
  return found;
}
/**
 * In "split" mode, moves every thread of the server but its main one, and every process it started,
 * to CPU 1 (threads inherit their creator's CPUs and libuv's pool starts on first use: called before
 * each load run).
 */
function placeThreads(pid: number | undefined): void {
  if (!PIN || PIN_MODE !== "split" || pid === undefined) return;
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (tid !== String(pid)) spawnSync("taskset", ["-cp", "1", tid], { stdio: "ignore" });
  }
  for (const child of descendants(pid)) spawnSync("taskset", ["-acp", "1", String(child)], { stdio: "ignore" });
}
const PLACEMENT = !PIN
  ? ""
  : PIN_MODE === "split"
    ? ", server's event loop alone on CPU 0 (its other threads, its chain and the load generator on CPU 1)"
    : ", server (all threads) on CPU 0, load generator on CPU 1";

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (c) => reject(new Error(`server exited with ${c}`)));
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      if (out.includes("\n")) resolve(out.split("\n")[0]);
    });
  });
}

async function startCalendarProcess(dataDir: string): Promise<{ child: ChildProcess; url: string; registry: string }> {
  const [cmd, args] = serverCommand([
    CLI,
    "calendar",
    "serve",
    "--port",
    "0",
    "--json",
    "--interval",
    String(INTERVAL_S),
    "--max-batch",
    "50000",
  ]);
  const child = spawn(cmd, args, {
    env: { ...process.env, PROOFMARK_HOME: dataDir },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const summary = JSON.parse(await firstLine(child));
  return { child, url: summary.url, registry: summary.chains[0].registry };
}

/** The peer: a bare fsync-journal HTTP server (what the research prototype measured). */
async function startBareProcess(dir: string): Promise<{ child: ChildProcess; url: string }> {
  const code = `
const fs = require("node:fs"); const http = require("node:http");
const fd = fs.openSync(${JSON.stringify(path.join(dir, "journal.log"))}, "a");
let waiting = []; let syncing = false;
function flush() {
  if (syncing || waiting.length === 0) return;
  syncing = true; const group = waiting; waiting = [];
  fs.write(fd, Buffer.from(group.map((g) => g.line).join("")), (e) => fs.fdatasync(fd, () => {
    for (const g of group) { g.res.writeHead(202, { "content-type": "application/json" }); g.res.end('{"ok":true}'); }
    syncing = false; flush();
  }));
}
const s = http.createServer((req, res) => {
  let body = ""; req.on("data", (c) => body += c);
  req.on("end", () => { waiting.push({ line: Date.now() + " " + body + "\\n", res }); setImmediate(flush); });
}).listen(0, "127.0.0.1", () => process.stdout.write("http://127.0.0.1:" + s.address().port + "\\n"));`;
  const [cmd, args] = serverCommand(["-e", code]);
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  return { child, url: await firstLine(child) };
}

/** CPU time (user + system) of a process so far, in µs, from /proc (undefined elsewhere). */
function cpuOf(pid: number | undefined): number | undefined {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) * (1e6 / 100); // USER_HZ
  } catch {
    return undefined;
  }
}

/** What one load run measured (latencies per request). */
interface LoadResult {
  /** Requests answered per second. */
  rate: number;
  answered2xx: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  /** Which load generator ran. */
  client: string;
  /** The load generator's share of one core: near 100 % means the client, not the server, set the pace. */
  clientCpu: number;
}

/**
 * wrk (the C load generator: Debian's `wrk`, see the README's bench section) when installed; it uses a
 * fraction of a core where autocannon, one node process building a random body per request, used a
 * whole one and set the pace itself. BENCH_CALENDAR_CLIENT=autocannon forces the fallback.
 */
const WRK =
  process.env.BENCH_CALENDAR_CLIENT !== "autocannon" &&
  spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined;

/** Runs the load and returns it with the server's CPU µs per acknowledged leaf (all its threads). */
async function measured(
  pid: number | undefined,
  url: string,
  leavesPerRequest: number,
): Promise<{ result: LoadResult; cpuPerLeaf?: number }> {
  placeThreads(pid);
  const before = cpuOf(pid);
  const result = await load(url, leavesPerRequest);
  const after = cpuOf(pid);
  const leaves = result.answered2xx * leavesPerRequest;
  return {
    result,
    cpuPerLeaf: before !== undefined && after !== undefined && leaves > 0 ? (after - before) / leaves : undefined,
  };
}

function load(url: string, leavesPerRequest: number): Promise<LoadResult> {
  return WRK ? loadWrk(url, leavesPerRequest) : loadAutocannon(url, leavesPerRequest);
}

/** wrk, one thread (on CPU 1 when pinned); its CPU time read by the shell that ran it (`times`). */
function loadWrk(url: string, leavesPerRequest: number): Promise<LoadResult> {
  const script = path.join(__dirname, "calendar-leaves.lua");
  const wrk = `wrk -t1 -c${CONNECTIONS} -d${DURATION_S}s --timeout 30s --latency -s '${script}' '${url}' -- ${leavesPerRequest}`;
  const [cmd, args] = PIN ? ["taskset", ["-c", "1", "bash", "-c", `${wrk}; times`]] : ["bash", ["-c", `${wrk}; times`]];
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      const line = out.split("\n").find((l) => l.startsWith("WRKJSON "));
      if (code !== 0 || !line) return reject(new Error(`wrk failed (${code}): ${out.slice(-500)}`));
      const j = JSON.parse(line.slice(8)) as Record<string, number>;
      // `times`: the shell's own line, then its children's user and system time, e.g. "0m1.234s 0m0.567s"
      const seconds = (out.trim().split("\n").pop() ?? "")
        .split(" ")
        .map((t) => /^(\d+)m([\d.]+)s$/.exec(t))
        .reduce((sum, m) => sum + (m ? Number(m[1]) * 60 + Number(m[2]) : 0), 0);
      resolve({
        rate: j.requests / (j.durationUs / 1e6),
        answered2xx: j.requests - j.non2xx,
        non2xx: j.non2xx,
        errors: j.errors,
        p50: j.p50Us / 1000,
        p99: j.p99Us / 1000,
        client: "wrk, one thread",
        clientCpu: seconds / wall,
      });
    });
  });
}

function loadAutocannon(url: string, leavesPerRequest: number): Promise<LoadResult> {
  const client = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  return new Promise<autocannon.Result>((resolve, reject) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: DURATION_S,
        requests: [
          {
            method: "POST",
            headers: { "content-type": "application/json" },
            setupRequest: (r: autocannon.Request) => {
              const leaves = Array.from({ length: leavesPerRequest }, () => `0x${randomBytes(32).toString("hex")}`);
              return { ...r, body: JSON.stringify({ leaves }) };
            },
          },
        ],
      },
      (e, result) => (e ? reject(e) : resolve(result)),
    );
  }).then((r) => {
    const used = process.cpuUsage(client);
    const wall = Number(process.hrtime.bigint() - t0) / 1e3;
    return {
      rate: r.requests.average,
      answered2xx: r["2xx"],
      non2xx: r.non2xx,
      errors: r.errors,
      p50: r.latency.p50,
      p99: r.latency.p99,
      client: "autocannon, one node process",
      clientCpu: (used.user + used.system) / wall,
    };
  });
}

/** What a paced (open-loop) run measured: latencies from each request's scheduled time. */
interface PacedResult {
  offered: number;
  answered2xx: number;
  non2xx: number;
  errors: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
  /** The load generator's share of one core. */
  clientCpu: number;
  /** The calendar's own view of the run (its `/v1/metrics`), when it is the calendar. */
  inside?: { ack: HistogramReading; commit: HistogramReading };
}

/**
 * 200 connections offering `rate` requests/s on a fixed schedule (scripts/bench/paced-load.js, on CPU 1 when
 * pinned), latency counted from each request's scheduled time (wrk2's correction for coordinated omission).
 * This is the latency a client sees while the service handles `rate` leaves/s; the closed-loop run above
 * measures the latency at saturation, where Little's law makes the mean 200 / rate.
 */
function loadPaced(url: string, rate: number, seconds = DURATION_S): Promise<PacedResult> {
  const args = [
    path.join(__dirname, "paced-load.js"),
    url,
    String(rate),
    String(seconds),
    String(CONNECTIONS),
    "1",
    "2",
  ];
  const [cmd, argv] = PIN ? ["taskset", ["-c", "1", process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d));
    child.once("error", reject);
    child.once("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("PACEDJSON "));
      if (code !== 0 || !line) return reject(new Error(`paced load failed (${code}): ${out.slice(-500)}`));
      const j = JSON.parse(line.slice(10)) as Record<string, number>;
      resolve({
        offered: j.offered,
        answered2xx: j.answered2xx,
        non2xx: j.non2xx,
        errors: j.errors,
        p50: j.p50Us / 1000,
        p99: j.p99Us / 1000,
        p999: j.p999Us / 1000,
        max: j.maxUs / 1000,
        clientCpu: j.cpu,
      });
    });
  });
}

/**
 * Waits until the calendar has indexed and batched everything it acknowledged (`GET /v1/health`
 * answers once its leaf index caught up; `pending` counts leaves not yet in a batch), so that a paced
 * run measures the calendar at that load, not the backlog the run before it left (300,000 leaves
 * from the saturation run: seconds of index and batch work).
 */
async function settled(calendarUrl: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    // each ask bounded too: a calendar that stops answering fails the bench instead of hanging it
    const answer = await fetch(`${calendarUrl}/v1/health`, { signal: AbortSignal.timeout(30_000) });
    const health = (await answer.json()) as { pending: number };
    if (health.pending === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error("the calendar did not batch its backlog within 120 s");
}

/** The calendar's acknowledgement and group-commit histograms now (`GET /v1/metrics`). */
async function calendarMetrics(calendarUrl: string): Promise<{ ack: HistogramReading; commit: HistogramReading }> {
  const text = await (await fetch(`${calendarUrl}/v1/metrics`, { signal: AbortSignal.timeout(30_000) })).text();
  const ack = readHistogram(text, "proofmark_calendar_acknowledgement_seconds");
  const commit = readHistogram(text, "proofmark_calendar_store_commit_seconds");
  if (!ack || !commit) throw new Error("the calendar's /v1/metrics lacks its latency histograms");
  return { ack, commit };
}

/**
 * Paced runs at each rate of PACED_RATES, in order; each after `settle` (the calendar's backlog
 * gone). With `calendarUrl`, each result also holds what the calendar measured itself during the run.
 */
async function pacedRuns(
  pid: number | undefined,
  url: string,
  settle: () => Promise<void> = async () => undefined,
  calendarUrl?: string,
): Promise<Map<number, PacedResult>> {
  const results = new Map<number, PacedResult>();
  for (const rate of PACED_RATES) {
    await settle();
    placeThreads(pid);
    const before = calendarUrl ? await calendarMetrics(calendarUrl) : undefined;
    const r = await loadPaced(url, rate);
    if (calendarUrl && before) {
      const after = await calendarMetrics(calendarUrl);
      r.inside = { ack: histogramDelta(after.ack, before.ack), commit: histogramDelta(after.commit, before.commit) };
    }
    results.set(rate, r);
  }
  return results;
}

/** What the calendar measured itself during a paced run, for the row's note. */
function insideNote(r: PacedResult): string {
  if (!r.inside) return "";
  const ms = (q: number, h: HistogramReading) => (histogramQuantile(q, h) * 1000).toFixed(1);
  const { ack, commit } = r.inside;
  return `; inside the calendar (its /v1/metrics over the run, warm-up included; bucket estimates): request read → 202 written p50 ${ms(0.5, ack)}, p99 ${ms(0.99, ack)} ms, group commit (log write, O_DSYNC) p50 ${ms(0.5, commit)}, p99 ${ms(0.99, commit)} ms over ${commit.count.toLocaleString("en")} commits — the rest of a client's latency is the wait to be read, the loopback and the load generator on the same 2 CPUs`;
}

/** The node process behind `child` (taskset execs it, so it is the same pid). */
function serverPid(child: ChildProcess): number | undefined {
  return child.pid;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
    setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
  });
}

/** Seconds of the sustained paced run at 20,000 leaves/s (BENCH_CALENDAR_SUSTAIN_SECONDS; 0, the default, skips it). */
const SUSTAIN_S = Number(process.env.BENCH_CALENDAR_SUSTAIN_SECONDS ?? 0);
/** Leaves ingested by the leaf-index measurement (BENCH_CALENDAR_INDEX_LEAVES). */
const INDEX_LEAVES = Number(process.env.BENCH_CALENDAR_INDEX_LEAVES ?? 2_000_000);

/** CPU time (µs) of this process's thread that runs at a positive nice value: the calendar store's indexer. */
function indexerCpu(): number {
  for (const tid of fs.readdirSync("/proc/self/task")) {
    try {
      const f = fs.readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1].split(" ");
      if (Number(f[16]) > 0) return (Number(f[11]) + Number(f[12])) * (1e6 / 100);
    } catch {
      // gone meanwhile
    }
  }
  return NaN;
}

/** Bytes this process has caused to be written to storage so far (Linux /proc/self/io). */
function writtenBytes(): number {
  try {
    return Number(/write_bytes: (\d+)/.exec(fs.readFileSync("/proc/self/io", "utf8"))![1]);
  } catch {
    return NaN;
  }
}

/**
 * The SQLite store's leaf index on its own: INDEX_LEAVES leaves acknowledged in groups of 40 (a
 * group commit's size at 20,000 leaves/s), 50 groups at a time, each round waiting for the index
 * (as batching does) — the rate the index sustains as it grows, the indexer thread's CPU and the
 * bytes written per leaf (log included); then lookups of stored and of unknown leaves.
 */
async function leafIndexRows(dir: string): Promise<BenchRow[]> {
  const store = new SqliteCalendarStore(path.join(dir, "index-bench.db"));
  const group = 40;
  const signer = `0x${"11".repeat(20)}` as Hex;
  const signature = `0x${"22".repeat(65)}` as Hex;
  const root = MerkleTree.build([`0x${"33".repeat(32)}` as Hex]).root;
  const sample: Hex[] = [];
  try {
    const started = indexerCpu();
    const cpu0 = Number.isNaN(started) ? 0 : started; // its thread may not have set its nice value yet: no CPU used either
    const written0 = writtenBytes();
    const t0 = performance.now();
    for (let done = 0; done < INDEX_LEAVES;) {
      const acks: Array<Promise<number>> = [];
      for (let k = 0; k < 50 && done < INDEX_LEAVES; k++, done += group) {
        const bytes = randomBytes(32 * group);
        const leaves = Array.from(
          { length: group },
          (_, i) => `0x${bytes.toString("hex", i * 32, i * 32 + 32)}` as Hex,
        );
        if (sample.length < 1000 && k === 0) sample.push(leaves[0]);
        acks.push(store.acknowledge({ root, receivedAt: Date.now(), calendar: "bench", signer, signature, leaves }));
      }
      await Promise.all(acks);
      await store.stats(); // the index has everything acknowledged so far
    }
    const seconds = (performance.now() - t0) / 1000;
    const cpuPerLeaf = (indexerCpu() - cpu0) / INDEX_LEAVES;
    const bytesPerLeaf = (writtenBytes() - written0) / INDEX_LEAVES;
    const timed = async (leaves: Hex[]) => {
      const us: number[] = [];
      for (const leaf of leaves) {
        const t = performance.now();
        await store.lookup(leaf);
        us.push((performance.now() - t) * 1000);
      }
      us.sort((a, b) => a - b);
      return { p50: us[Math.floor(us.length / 2)], p99: us[Math.floor(us.length * 0.99)] };
    };
    const known = await timed(sample);
    const unknown = await timed(sample.map(() => `0x${randomBytes(32).toString("hex")}` as Hex));
    const stored = (await store.stats()).leaves;
    return [
      {
        section: "calendar",
        name: `leaf index: leaves/s indexed while it grows to ${INDEX_LEAVES.toLocaleString("en")}`,
        value: Math.round(INDEX_LEAVES / seconds),
        unit: "leaves/s",
        target: "≥ 20000",
        pass: INDEX_LEAVES / seconds >= 20_000,
        note: `the SQLite store alone (no HTTP): groups of ${group}, each round waiting for the index; indexer thread ${cpuPerLeaf.toFixed(1)} µs CPU and ${Math.round(bytesPerLeaf)} bytes written per leaf (acknowledgement log included); ${stored.toLocaleString("en")} leaves stored. Schema 3's single B-tree, same measure on 2026-12-03: 19.1k leaves/s, 16.5 µs, 6,971 bytes, falling as it grew`,
      },
      {
        section: "calendar",
        name: `leaf index: lookup at ${INDEX_LEAVES.toLocaleString("en")} leaves, p50 (p99)`,
        value: Number(known.p50.toFixed(0)),
        unit: "µs",
        note: `a stored leaf p99 ${known.p99.toFixed(0)} µs; an unknown leaf p50 ${unknown.p50.toFixed(0)} µs, p99 ${unknown.p99.toFixed(0)} µs (every live run asked); ${sample.length} of each`,
      },
    ];
  } finally {
    await store.close();
  }
}

export async function run(): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-calendar-"));
  const dataDir = path.join(dir, ".proofmark");
  const rows: BenchRow[] = [];
  const note = `200 clients, ${DURATION_S} s, 1 leaf per request, durable (fsync before the 202)${PLACEMENT}; machine shared with other sessions`;
  const bare = await startBareProcess(dir);
  const { result: bareResult, cpuPerLeaf: bareCpu } = await measured(serverPid(bare.child), bare.url, 1);
  const barePaced = await pacedRuns(serverPid(bare.child), bare.url);
  await stop(bare.child);
  const calendar = await startCalendarProcess(dataDir);
  try {
    const { result, cpuPerLeaf } = await measured(serverPid(calendar.child), `${calendar.url}/v1/leaves`, 1);
    const ok = result.non2xx === 0 && result.errors === 0;
    rows.push({
      section: "calendar",
      name: "submissions/s (leaves, 1 per request)",
      value: Math.round(result.rate),
      unit: "leaves/s",
      peer: { name: "bare fsync-journal HTTP prototype", value: Math.round(bareResult.rate) },
      target: "≥ 20000",
      pass: ok && result.rate >= 20_000,
      note: `${note}; non-2xx ${result.non2xx}, errors ${result.errors}; load generator (${result.client}) used ${Math.round(result.clientCpu * 100)} % of a core (${Math.round(bareResult.clientCpu * 100)} % against the peer); load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}`,
    });
    rows.push({
      section: "calendar",
      name: "p99 acknowledgement latency at saturation (closed loop)",
      value: Number(result.p99.toFixed(1)),
      unit: "ms",
      peer: { name: "bare fsync-journal HTTP prototype", value: Number(bareResult.p99.toFixed(1)) },
      note: `the run above: 200 clients each sending as soon as its answer came; p50 ${result.p50.toFixed(1)} ms (peer ${bareResult.p50.toFixed(1)} ms); Little's law makes the mean 200 / rate (${(200_000 / Math.max(1, result.rate)).toFixed(1)} ms here), so this is the queue at full speed, not the latency at a given load`,
    });
    const paced = await pacedRuns(
      serverPid(calendar.child),
      `${calendar.url}/v1/leaves`,
      () => settled(calendar.url),
      calendar.url,
    );
    if (SUSTAIN_S > 0) {
      // 20,000 leaves/s for minutes: the leaf index grows by millions and must keep up (else 503s)
      await settled(calendar.url);
      placeThreads(serverPid(calendar.child));
      const r = await loadPaced(`${calendar.url}/v1/leaves`, 20_000, SUSTAIN_S);
      rows.push({
        section: "calendar",
        name: `acknowledged leaves/s, 20,000 offered for ${SUSTAIN_S} s (paced)`,
        value: Math.round(r.answered2xx / SUSTAIN_S),
        unit: "leaves/s",
        target: "≥ 20000",
        pass: r.non2xx === 0 && r.errors === 0 && r.answered2xx >= 20_000 * SUSTAIN_S * 0.999,
        note: `${r.answered2xx.toLocaleString("en")} acknowledged, ${r.non2xx.toLocaleString("en")} refused (503 CALENDAR_BUSY: 1,000,000 leaves waiting for a batch, or for the leaf index), errors ${r.errors}; latency p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms (a VM slowdown shows here as a queue)`,
      });
    }
    for (const [rate, r] of paced) {
      const peer = barePaced.get(rate)!;
      const pacedOk = r.non2xx === 0 && r.errors === 0;
      rows.push({
        section: "calendar",
        name: `p99 acknowledgement latency at ${rate.toLocaleString("en")} leaves/s offered (paced)`,
        value: Number(r.p99.toFixed(1)),
        unit: "ms",
        peer: { name: "bare fsync-journal HTTP prototype", value: Number(peer.p99.toFixed(1)) },
        ...(rate >= 20_000 ? { target: "≤ 10", pass: pacedOk && r.p99 <= 10 } : {}),
        note: `200 connections, each sending 1 leaf every ${((CONNECTIONS / rate) * 1000).toFixed(0)} ms on a fixed schedule for ${DURATION_S} s after 2 s of warm-up, started once the calendar had batched the runs before it, latency from the scheduled time (corrected for coordinated omission); p50 ${r.p50.toFixed(1)}, p99.9 ${r.p999.toFixed(1)}, max ${r.max.toFixed(1)} ms (peer ${peer.p50.toFixed(1)} / ${peer.p999.toFixed(1)} / ${peer.max.toFixed(1)}); non-2xx ${r.non2xx}, errors ${r.errors}; load generator used ${Math.round(r.clientCpu * 100)} % of a core${insideNote(r)}`,
      });
    }
    if (cpuPerLeaf !== undefined && bareCpu !== undefined) {
      rows.push({
        section: "calendar",
        name: "server CPU per acknowledged leaf (1 per request)",
        value: Math.round(cpuPerLeaf),
        unit: "µs",
        peer: { name: "bare fsync-journal HTTP prototype", value: Math.round(bareCpu) },
        note: `load-independent cost: one free core would give ≈ ${Math.round(1e6 / cpuPerLeaf).toLocaleString("en")} leaves/s (peer ≈ ${Math.round(1e6 / bareCpu).toLocaleString("en")})`,
      });
    }
    placeThreads(serverPid(calendar.child));
    const many = await load(`${calendar.url}/v1/leaves`, 100);
    // only acknowledged leaves count: offered faster than batches close, the queue fills and the
    // calendar refuses with 503 CALENDAR_BUSY + Retry-After (its documented overload answer)
    const acknowledged = (many.rate * 100 * many.answered2xx) / Math.max(1, many.answered2xx + many.non2xx);
    rows.push({
      section: "calendar",
      name: "acknowledged leaves/s (100 per request)",
      value: Math.round(acknowledged),
      unit: "leaves/s",
      target: "≥ 20000",
      pass: many.errors === 0 && acknowledged >= 20_000,
      note: `p99 ${many.p99.toFixed(1)} ms per request of 100 leaves; ${many.answered2xx} requests acknowledged, ${many.non2xx} answered non-2xx (the calendar's overload answer: 503 CALENDAR_BUSY once 1,000,000 leaves wait for a batch), errors ${many.errors}; ${many.client}`,
    });

    // let every batch complete, then count transactions per batch per chain
    let health: { leaves: number; batches: number; completeBatches: number; pending: number } = {
      leaves: 0,
      batches: 0,
      completeBatches: -1,
      pending: 1,
    };
    for (let i = 0; i < 600; i++) {
      health = await (await fetch(`${calendar.url}/v1/health`)).json();
      if (health.pending === 0 && health.completeBatches === health.batches) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const { rpcUrl } = JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "node.json"), "utf8")) as {
      rpcUrl: string;
    };
    const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    const logs = await provider.getLogs({
      address: calendar.registry,
      fromBlock: 0,
      toBlock: "latest",
      topics: [evidenceRegistryInterface.getEvent("EvidenceAnchored")!.topicHash],
    });
    const txs = new Set(logs.map((l) => l.transactionHash)).size;
    rows.push({
      section: "calendar",
      name: "anchoring transactions per batch per chain",
      value: Number((txs / Math.max(1, health.batches)).toFixed(3)),
      unit: "tx",
      target: "= 1",
      pass: txs === health.batches,
      note: `${health.leaves.toLocaleString("en")} leaves in ${health.batches} batches, ${txs} transactions (one chain); OpenTimestamps' calendar: one HTTP round trip per digest, no batching guarantee`,
    });

    // submission → completed proof (idle service, interval 1 s, Anvil mines each transaction at once)
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const leaf = `0x${randomBytes(32).toString("hex")}`;
      const t0 = Date.now();
      await fetch(`${calendar.url}/v1/leaves`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ leaves: [leaf] }),
      });
      for (;;) {
        if ((await fetch(`${calendar.url}/v1/proofs/${leaf}`)).status === 200) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      times.push(Date.now() - t0);
    }
    const worst = Math.max(...times);
    rows.push({
      section: "calendar",
      name: "submission → completed proof (worst of 5)",
      value: worst,
      unit: "ms",
      target: `≤ ${INTERVAL_S * 1000} + one block`,
      pass: worst <= INTERVAL_S * 1000 + 1_000,
      note: `interval ${INTERVAL_S} s; all: ${times.join(", ")} ms; the embedded chain mines at once, so "one block" is the anchoring round trip`,
    });
    provider.destroy();
    await stop(calendar.child);
    rows.push(...(await leafIndexRows(dir)));
  } finally {
    await stop(calendar.child);
    const info = path.join(dataDir, "chain", "node.json");
    if (fs.existsSync(info)) {
      try {
        process.kill(JSON.parse(fs.readFileSync(info, "utf8")).pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}
