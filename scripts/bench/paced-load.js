// Paced (open-loop) load for the calendar bench: C keep-alive connections each POST one request every
// C / RATE seconds on a fixed schedule, staggered across the connections, so the offered load is RATE
// requests/s whatever the server does. Latency is counted from each request's *scheduled* time, not from
// when it was written (wrk2's correction for coordinated omission): a request that could not be sent
// because the connection's previous answer was late waits in the count, as a real client's would.
// Plain node (no dependencies), raw sockets, so that one core can offer 20,000+ requests/s.
//
//   node paced-load.js URL RATE SECONDS [CONNECTIONS=200] [LEAVES_PER_REQUEST=1] [WARMUP_SECONDS=2]
//
// Prints one line: PACEDJSON {"offered":…,"sent":…,"answered2xx":…,"non2xx":…,"errors":…,"late":…,
// "p50Us":…,"p90Us":…,"p99Us":…,"p999Us":…,"maxUs":…,"rate":…,"cpu":…} over the measured window
// (after the warm-up). "late" counts requests sent more than 1 ms after their scheduled time.
"use strict";
const net = require("node:net");
const { randomBytes } = require("node:crypto");

const [url, rateArg, secondsArg, connArg = "200", perRequestArg = "1", warmupArg = "2"] = process.argv.slice(2);
const target = new URL(url);
const RATE = Number(rateArg);
const SECONDS = Number(secondsArg);
const CONNECTIONS = Number(connArg);
const PER_REQUEST = Number(perRequestArg);
const WARMUP = Number(warmupArg);
const PERIOD_MS = (CONNECTIONS / RATE) * 1000;

const head = `POST ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n`;
let pool = randomBytes(0);
function body() {
  if (pool.length < 32 * PER_REQUEST) pool = randomBytes(32 * 4096);
  const leaves = [];
  for (let i = 0; i < PER_REQUEST; i++) leaves.push(`"0x${pool.subarray(i * 32, i * 32 + 32).toString("hex")}"`);
  pool = pool.subarray(32 * PER_REQUEST);
  return `{"leaves":[${leaves.join(",")}]}`;
}
function request() {
  const b = body();
  return `${head}Content-Length: ${b.length}\r\n\r\n${b}`;
}

const now = () => performance.now();
const t0 = now() + 200; // connect first
const measureFrom = t0 + WARMUP * 1000;
const end = measureFrom + SECONDS * 1000;
const latenciesUs = [];
/** PACED_TIMELINE=1: the worst latency (ms) per 250 ms of schedule, printed to stderr (for finding stalls). */
const TIMELINE = process.env.PACED_TIMELINE === "1" ? [] : undefined;
let sent = 0;
let ok = 0;
let non2xx = 0;
let errors = 0;
let late = 0;

/** One connection: its schedule is t0 + offset + k·PERIOD_MS; at most one request in flight. */
function connection(index) {
  const c = {
    next: t0 + (index / CONNECTIONS) * PERIOD_MS,
    scheduled: 0,
    busy: false,
    buf: Buffer.alloc(0),
    socket: null,
  };
  const open = () => {
    c.socket = net.connect(Number(target.port || 80), target.hostname);
    c.socket.setNoDelay(true);
    c.socket.on("data", (d) => {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      for (;;) {
        const n = complete(c.buf);
        if (n === 0) return;
        const status = Number(c.buf.toString("latin1", 9, 12));
        c.buf = c.buf.subarray(n);
        answered(c, status);
      }
    });
    c.socket.on("error", () => {});
    c.socket.on("close", () => {
      if (c.busy) {
        c.busy = false;
        if (c.scheduled >= measureFrom && c.scheduled < end) errors++;
      }
      c.buf = Buffer.alloc(0);
      if (now() < end) open();
    });
  };
  open();
  return c;
}

/** Bytes of the first complete response in buf (Content-Length or chunked), 0 when incomplete. */
function complete(buf) {
  const h = buf.indexOf("\r\n\r\n");
  if (h < 0) return 0;
  const headers = buf.toString("latin1", 0, h).toLowerCase();
  const m = /\r\ncontent-length:\s*(\d+)/.exec(headers);
  if (m) return buf.length >= h + 4 + Number(m[1]) ? h + 4 + Number(m[1]) : 0;
  const z = buf.indexOf("\r\n0\r\n\r\n", h);
  return z < 0 ? 0 : z + 7;
}

function answered(c, status) {
  const t = now();
  if (c.scheduled >= measureFrom && c.scheduled < end) {
    latenciesUs.push(Math.round((t - c.scheduled) * 1000));
    if (TIMELINE) {
      const b = Math.floor((c.scheduled - measureFrom) / 250);
      TIMELINE[b] = Math.max(TIMELINE[b] ?? 0, t - c.scheduled);
    }
    if (status >= 200 && status < 300) ok++;
    else non2xx++;
  }
  c.busy = false;
  if (c.next <= t) send(c, t);
}

function send(c, t) {
  if (c.next >= end) return;
  c.scheduled = c.next;
  c.next += PERIOD_MS;
  if (t - c.scheduled > 1) late += c.scheduled >= measureFrom ? 1 : 0;
  c.busy = true;
  if (c.scheduled >= measureFrom) sent++;
  c.socket.write(request());
}

const connections = Array.from({ length: CONNECTIONS }, (_, i) => connection(i));
const cpu0 = process.cpuUsage();
const wall0 = now();
function tick() {
  const t = now();
  for (const c of connections) if (!c.busy && c.next <= t && c.socket && !c.socket.connecting) send(c, t);
  if (t < end + 30_000 && (t < end || connections.some((c) => c.busy))) setTimeout(tick, 0.5);
  else finish();
}
setTimeout(tick, 200);

function finish() {
  const used = process.cpuUsage(cpu0);
  const wall = now() - wall0;
  const unanswered = connections.filter((c) => c.busy && c.scheduled >= measureFrom && c.scheduled < end).length;
  latenciesUs.sort((a, b) => a - b);
  const pct = (p) =>
    latenciesUs.length ? latenciesUs[Math.min(latenciesUs.length - 1, Math.floor((p / 100) * latenciesUs.length))] : 0;
  process.stdout.write(
    `PACEDJSON ${JSON.stringify({
      offered: RATE,
      sent,
      answered2xx: ok,
      non2xx,
      errors: errors + unanswered,
      late,
      p50Us: pct(50),
      p90Us: pct(90),
      p99Us: pct(99),
      p999Us: pct(99.9),
      maxUs: latenciesUs.length ? latenciesUs[latenciesUs.length - 1] : 0,
      rate: (ok + non2xx) / SECONDS,
      cpu: (used.user + used.system) / 1000 / wall,
    })}\n`,
  );
  if (TIMELINE) process.stderr.write(`worst ms per 250 ms: ${TIMELINE.map((v) => Math.round(v)).join(" ")}\n`);
  for (const c of connections) c.socket.destroy();
  process.exit(0);
}
