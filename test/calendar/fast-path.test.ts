import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Wallet } from "ethers";
import { SqliteCalendarStore, startCalendar, type CalendarService } from "../../packages/sdk/src";
import { installFastPath, type Reply } from "../../packages/sdk/src/calendar/fast-path";

interface Answer {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `parts` to a new connection (waiting `gapMs` between them, so that each arrives as its
 * own packet) and reads answers until `count` arrived or the server closed the connection.
 */
function exchange(
  port: number,
  parts: Array<string | Buffer>,
  count: number,
  gapMs = 0,
): Promise<{ answers: Answer[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setNoDelay(true);
    let data = Buffer.alloc(0);
    const answers: Answer[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers, closed });
    };
    const timer = setTimeout(() => reject(new Error(`only ${answers.length} of ${count} answers`)), 10_000);
    socket.on("data", (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      for (;;) {
        const end = data.indexOf("\r\n\r\n");
        if (end < 0) break;
        const head = data.toString("latin1", 0, end);
        const lines = head.split("\r\n");
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1))
          headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
        const length = Number(headers["content-length"] ?? 0);
        if (data.length < end + 4 + length) break;
        answers.push({
          status: Number(lines[0].split(" ")[1]),
          head,
          headers,
          body: data.toString("utf8", end + 4, end + 4 + length),
        });
        data = data.subarray(end + 4 + length);
      }
      if (answers.length >= count) finish(false);
    });
    socket.on("close", () => finish(true));
    socket.on("error", () => undefined);
    socket.on("connect", async () => {
      for (let i = 0; i < parts.length; i++) {
        if (i > 0 && gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
        if (!socket.destroyed) socket.write(parts[i]);
      }
    });
  });
}

/** The request every client sends: `POST /v1/leaves` with a JSON body and a Content-Length. */
function post(body: string, extra = ""): string {
  return `POST /v1/leaves HTTP/1.1\r\nHost: calendar\r\nContent-Type: application/json\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe("calendar fast path: a strict HTTP/1.1 reader for POST /v1/leaves in front of node:http", function () {
  this.timeout(60_000);
  let server: http.Server;
  let port: number;
  /** Bodies the fast path handled, in order. */
  let handled: string[];
  /** How long the fast path waits before answering a body (by its text; default at once). */
  let delays: Record<string, number>;

  before(async function () {
    server = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const text = JSON.stringify({ method: req.method, url: req.url, body });
        res.writeHead(200, ["x-path", "node", "content-length", String(Buffer.byteLength(text))]);
        res.end(text);
      });
    });
    server.keepAliveTimeout = 30_000;
    server.headersTimeout = 400;
    server.requestTimeout = 1_000;
    installFastPath(server, {
      requestLine: "POST /v1/leaves HTTP/1.1",
      maxBody: 1_000,
      handle: (body: string, reply: Reply) => {
        handled.push(body);
        const answer = () =>
          reply.send(202, ["x-path", "fast", "content-length", String(Buffer.byteLength(body))], body);
        const delay = delays[body];
        if (delay === undefined) answer();
        else setTimeout(answer, delay);
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  beforeEach(function () {
    handled = [];
    delays = {};
  });

  after(async function () {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it("answers pipelined requests in request order, whatever order their answers are ready in", async function () {
    delays = { '"a"': 80, '"b"': 40 };
    const { answers } = await exchange(port, [post('"a"') + post('"b"') + post('"c"')], 3);
    expect(handled).to.deep.equal(['"a"', '"b"', '"c"']);
    expect(answers.map((a) => [a.status, a.headers["x-path"], a.body])).to.deep.equal([
      [202, "fast", '"a"'],
      [202, "fast", '"b"'],
      [202, "fast", '"c"'],
    ]);
    expect(answers[0].head).to.match(/\r\nConnection: keep-alive\r\nKeep-Alive: timeout=30$/);
    // more than the fast path keeps outstanding per connection (128): it stops reading, then goes on
    handled = [];
    const many = Array.from({ length: 300 }, (_, i) => `"${i}"`);
    for (const b of many.slice(0, 10)) delays[b] = 30;
    const r = await exchange(port, [many.map((b) => post(b)).join("")], many.length);
    expect(r.answers.map((a) => a.body)).to.deep.equal(many);
    expect(handled).to.deep.equal(many);
  });

  it("reads two pipelined requests split into two packets at every byte", async function () {
    const bytes = Buffer.from(post('{"k":"é1"}') + post('{"k":"é2"}'));
    for (let at = 1; at < bytes.length; at++) {
      handled = [];
      const { answers } = await exchange(port, [bytes.subarray(0, at), bytes.subarray(at)], 2, 2);
      expect(
        answers.map((a) => [a.status, a.headers["x-path"], a.body]),
        `split at ${at}`,
      ).to.deep.equal([
        [202, "fast", '{"k":"é1"}'],
        [202, "fast", '{"k":"é2"}'],
      ]);
      expect(handled).to.deep.equal(['{"k":"é1"}', '{"k":"é2"}']);
    }
  });

  it("hands a request with both Content-Length and Transfer-Encoding to node:http, which refuses it (no smuggled request)", async function () {
    const smuggled = post('"smuggled"');
    const attack =
      `POST /v1/leaves HTTP/1.1\r\nHost: calendar\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${5 + smuggled.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled}`;
    const { answers, closed } = await exchange(port, [post('"first"') + attack], 3);
    expect(handled).to.deep.equal(['"first"']);
    expect(answers.map((a) => a.status)).to.deep.equal([202, 400]);
    expect(closed).to.equal(true);
  });

  it("hands the connection to node:http at a request boundary, after the fast answers before it", async function () {
    delays = { '"slow"': 60 };
    const get = "GET /v1/health HTTP/1.1\r\nHost: calendar\r\n\r\n";
    const { answers } = await exchange(port, [post('"slow"') + get + post('"after"')], 3);
    expect(handled).to.deep.equal(['"slow"']);
    expect(answers.map((a) => [a.status, a.headers["x-path"]])).to.deep.equal([
      [202, "fast"],
      [200, "node"],
      [200, "node"],
    ]);
    expect(JSON.parse(answers[1].body)).to.deep.equal({ method: "GET", url: "/v1/health", body: "" });
    expect(JSON.parse(answers[2].body)).to.deep.equal({ method: "POST", url: "/v1/leaves", body: '"after"' });
  });

  it("leaves every request that is not the simple one to node:http", async function () {
    const body = '"x"';
    const cl = `Content-Length: ${body.length}\r\n`;
    const cases: Array<[string, string]> = [
      ["HTTP/1.0", `POST /v1/leaves HTTP/1.0\r\nHost: c\r\nContent-Type: application/json\r\n${cl}\r\n${body}`],
      ["another path", `POST /v1/leaves/ HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n${cl}\r\n${body}`],
      [
        "lower-case method",
        `post /v1/leaves HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\n${cl}\r\n${body}`,
      ],
      [
        "chunked",
        `POST /v1/leaves HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n${body}\r\n0\r\n\r\n`,
      ],
      ["Expect", post(body, "Expect: 100-continue\r\n")],
      ["Connection: close", post(body, "Connection: close\r\n")],
      ["Upgrade", post(body, "Connection: keep-alive\r\nUpgrade: websocket\r\n")],
      ["two Content-Lengths", post(body, cl)],
      [
        "a Content-Length list",
        `POST /v1/leaves HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\nContent-Length: 3, 3\r\n\r\n${body}`,
      ],
      [
        "a signed Content-Length",
        `POST /v1/leaves HTTP/1.1\r\nHost: c\r\nContent-Type: application/json\r\nContent-Length: +3\r\n\r\n${body}`,
      ],
      ["obs-fold", post(body, "X-A: 1\r\n 2\r\n")],
      ["space before the colon", post(body, "X-A : 1\r\n")],
      ["bare LF", post(body, "X-A: 1\nX-B: 2\r\n")],
      ["bare CR", post(body, "X-A: 1\rX-B: 2\r\n")],
      ["NUL in a value", post(body, "X-A: 1\u00002\r\n")],
      ["DEL in a value", post(body, "X-A: 1\u007f2\r\n")],
      ["no Host", `POST /v1/leaves HTTP/1.1\r\nContent-Type: application/json\r\n${cl}\r\n${body}`],
      ["two Hosts", post(body, "Host: other\r\n")],
      ["not JSON", `POST /v1/leaves HTTP/1.1\r\nHost: c\r\nContent-Type: text/plain\r\n${cl}\r\n${body}`],
      ["a body over the limit", post("x".repeat(1_001))],
      ["leading empty line", `\r\n${post(body)}`],
    ];
    for (const [name, request] of cases) {
      handled = [];
      const { answers } = await exchange(port, [request], name === "Expect" ? 2 : 1);
      expect(handled, name).to.deep.equal([]);
      const final = answers.filter((a) => a.status !== 100); // node:http's 100 Continue before its answer
      expect(final.length, name).to.be.at.least(1);
      expect(final[0].status === 400 || final[0].headers["x-path"] === "node", name).to.equal(true);
    }
    // header bytes beyond ASCII are field-value obs-text: still the fast path
    const { answers } = await exchange(port, [post(body, "X-Name: caf\u00e9\r\n")], 1);
    expect(handled).to.deep.equal([body]);
    expect(answers[0].headers["x-path"]).to.equal("fast");
  });

  it("leaves an oversized header section to node:http (431 beyond its limit)", async function () {
    const big = post('"big"', `X-Pad: ${"a".repeat(9 * 1024)}\r\n`);
    const r1 = await exchange(port, [big], 1);
    expect(handled).to.deep.equal([]);
    expect(r1.answers[0].headers["x-path"]).to.equal("node");
    const huge = post('"huge"', `X-Pad: ${"a".repeat(20 * 1024)}\r\n`);
    const r2 = await exchange(port, [huge], 1);
    expect(handled).to.deep.equal([]);
    expect(r2.answers[0].status).to.equal(431);
  });

  it("answers 408 and closes a request still incomplete after headersTimeout, even if bytes keep coming", async function () {
    const t0 = Date.now();
    const drip =
      "POST /v1/leaves HTTP/1.1\r\nHost: calendar\r\nX-Drip: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".split("");
    const { answers, closed } = await exchange(port, drip, 1, 20);
    expect(closed || answers.length === 1).to.equal(true);
    expect(answers.map((a) => a.status)).to.deep.equal([408]);
    expect(Date.now() - t0).to.be.below(drip.length * 20);
    expect(handled).to.deep.equal([]);
    // a body that never completes times out alike
    const { answers: a2 } = await exchange(port, [post('"never"').slice(0, -3)], 1);
    expect(a2.map((a) => a.status)).to.deep.equal([408]);
  });
});

describe("calendar fast path: the calendar's answers are node:http's bytes", function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-fast-path-"));
  const services: CalendarService[] = [];
  const stores: SqliteCalendarStore[] = [];

  after(async function () {
    for (const s of services) await s.close();
    for (const s of stores) await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(fastPath: boolean): Promise<number> {
    const store = new SqliteCalendarStore(path.join(dir, `${fastPath}.db`));
    stores.push(store);
    const service = await startCalendar({
      store,
      signer: new Wallet(`0x${"11".repeat(32)}`),
      chains: [],
      intervalMs: 3_600_000,
      maxBatch: 1_000_000,
      maxPending: 2,
      publicUrl: "http://calendar.test",
      fastPath,
    });
    services.push(service);
    return Number(new URL(service.url).port);
  }

  it("202, 400 and 503 (with Retry-After) are the same bytes with and without the fast path", async function () {
    const [fast, plain] = [await start(true), await start(false)];
    const leaf = (n: number) => `0x${n.toString(16).padStart(2, "0").repeat(32)}`;
    const requests = [
      post(JSON.stringify({ leaves: [leaf(1)] })),
      post(JSON.stringify({ leaves: [leaf(2), leaf(3), leaf(2)] })), // 503: 1 + 3 > maxPending 2
      post('{"leaves":'),
      post('{"leaves":[1]}'),
      post(JSON.stringify({ leaves: [leaf(4)] }), "Connection: keep-alive\r\nX-Other: 1\r\n"),
    ];
    // stable parts only: the time and the signature over it differ between two services
    const stable = (a: Answer) =>
      `${a.head.replace(/\r\nDate: [^\r]+/, "\r\nDate: D")}\r\n\r\n${a.body.replace(/"receivedAt":\d+/g, '"receivedAt":0').replace(/"signature":"0x[0-9a-f]+"/g, '"signature":"S"')}`;
    const viaFast = await exchange(fast, [requests.join("")], requests.length);
    const viaNode = await exchange(plain, [requests.join("")], requests.length);
    expect(viaFast.answers.map((a) => a.status)).to.deep.equal([202, 503, 400, 400, 202]);
    expect(viaFast.answers.map(stable)).to.deep.equal(viaNode.answers.map(stable));
    expect(viaFast.answers[1].head).to.include("\r\nretry-after: 3600\r\n");
    // and a route the fast path does not serve is node:http's on the same port
    const health = await exchange(fast, ["GET /v1/health HTTP/1.1\r\nHost: c\r\n\r\n"], 1);
    expect(health.answers[0].status).to.equal(200);
    expect(JSON.parse(health.answers[0].body).pending).to.equal(2);
  });
});
