import * as http from "node:http";
import * as net from "node:net";
import { ProofmarkError } from "../core/errors";

/**
 * JSON-RPC to the embedded Anvil over one kept-alive connection: the journal's catch-up and the
 * replay at start make thousands of calls in a row, and a new TCP connection per call would cost
 * more than the call. Calls are answered in order (one connection, one request at a time), which
 * the replay relies on (Anvil runs the members of a JSON-RPC batch concurrently, so a batch is
 * used only for reads).
 */
export class AnvilRpc {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  private readonly target: URL;
  private nextId = 1;

  constructor(
    readonly url: string,
    private readonly timeoutMs = 30_000,
  ) {
    this.target = new URL(url);
  }

  async call<T = unknown>(method: string, params: unknown[] = [], timeoutMs = this.timeoutMs): Promise<T> {
    const body = await this.post(
      JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params }),
      method,
      timeoutMs,
    );
    const reply = body as { result?: T; error?: { message: string } };
    if (reply.error)
      throw new ProofmarkError("NODE_FAILED", `the local chain refused ${method}: ${reply.error.message}`, {
        method,
        url: this.url,
      });
    return reply.result as T;
  }

  /** Read-only calls in one request (Anvil may run them in any order; the answers come back by id). */
  async batch<T = unknown>(calls: Array<[string, unknown[]]>, timeoutMs = this.timeoutMs): Promise<T[]> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const body = await this.post(
      JSON.stringify(calls.map(([method, params], i) => ({ jsonrpc: "2.0", id: first + i, method, params }))),
      calls[0][0],
      timeoutMs,
    );
    const replies = body as Array<{ id: number; result?: T; error?: { message: string } }>;
    if (!Array.isArray(replies) || replies.length !== calls.length)
      throw new ProofmarkError(
        "NODE_FAILED",
        `the local chain answered a batch of ${calls.length} calls with ${Array.isArray(replies) ? replies.length : "no"} answers`,
        { url: this.url },
      );
    const out: T[] = new Array(calls.length);
    for (const r of replies) {
      if (r.error)
        throw new ProofmarkError(
          "NODE_FAILED",
          `the local chain refused ${calls[r.id - first]?.[0]}: ${r.error.message}`,
          { url: this.url },
        );
      out[r.id - first] = r.result as T;
    }
    return out;
  }

  /**
   * Calls run strictly in order, sent without waiting for each answer (HTTP/1.1 pipelining on one
   * connection, which Anvil answers in order): the replay's speed is then Anvil's, not the round
   * trips'. Throws on the first refused call, naming it.
   */
  async pipeline(calls: Array<[string, unknown[]]>, timeoutMs = 600_000): Promise<void> {
    if (calls.length === 0) return;
    const socket = net.connect(Number(this.target.port), this.target.hostname);
    socket.setNoDelay(true);
    try {
      await new Promise<void>((resolve, reject) => {
        let pending: Buffer = Buffer.alloc(0);
        let answered = 0;
        const timer = setTimeout(() => fail(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        const fail = (e: Error) => {
          clearTimeout(timer);
          reject(e instanceof ProofmarkError ? e : unreachable(this.url, e));
        };
        socket.on("error", fail);
        socket.on("close", () => answered < calls.length && fail(new Error("the connection closed")));
        socket.on("data", (d: Buffer) => {
          pending = pending.length === 0 ? d : Buffer.concat([pending, d]);
          for (;;) {
            const end = pending.indexOf("\r\n\r\n");
            if (end < 0) return;
            const head = pending.subarray(0, end).toString("latin1");
            const m = /content-length:\s*(\d+)/i.exec(head);
            if (!m) return fail(new Error("an answer without content-length"));
            const total = end + 4 + Number(m[1]);
            if (pending.length < total) return;
            const body = JSON.parse(pending.subarray(end + 4, total).toString("utf8")) as {
              error?: { message: string };
            };
            pending = pending.subarray(total);
            if (body.error) {
              return fail(
                new ProofmarkError(
                  "NODE_FAILED",
                  `the local chain refused ${calls[answered][0]} (call ${answered + 1} of ${calls.length}): ${body.error.message}`,
                  { url: this.url },
                ),
              );
            }
            if (++answered === calls.length) {
              clearTimeout(timer);
              return resolve();
            }
          }
        });
        socket.once("connect", () => {
          let chunk = "";
          for (const [method, params] of calls) {
            const body = JSON.stringify({ jsonrpc: "2.0", id: this.nextId++, method, params });
            chunk += `POST ${this.target.pathname} HTTP/1.1\r\nhost: ${this.target.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
            if (chunk.length > 256 * 1024) {
              socket.write(chunk);
              chunk = "";
            }
          }
          socket.write(chunk);
        });
      });
    } finally {
      socket.destroy();
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private post(payload: string, method: string, timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: this.target.hostname,
          port: this.target.port,
          path: this.target.pathname,
          method: "POST",
          agent: this.agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            try {
              resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
            } catch {
              reject(
                new ProofmarkError(
                  "NODE_FAILED",
                  `the local chain answered ${method} with HTTP ${res.statusCode} and no JSON`,
                  { url: this.url },
                ),
              );
            }
          });
          res.on("error", (e) => reject(unreachable(this.url, e)));
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on("error", (e) => reject(unreachable(this.url, e)));
      req.end(payload);
    });
  }
}

function unreachable(url: string, e: Error): ProofmarkError {
  return new ProofmarkError(
    "RPC_UNREACHABLE",
    `the local chain at ${url} did not answer (${e.message}); check that it is running`,
    { url, hint: "node-status" },
    { cause: e },
  );
}
