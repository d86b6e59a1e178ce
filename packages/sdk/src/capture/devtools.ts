import * as fs from "node:fs";
import * as path from "node:path";

/**
 * A second DevTools connection to the capturing browser, in flat-session mode, for what
 * Playwright's CDP sessions cannot reach: the targets a page spawns (out-of-process cross-site
 * iframes, dedicated workers) and the browser's service workers, each attached with
 * `Target.setAutoAttach` (`flatten`, `waitForDebuggerOnStart`) so their Network events are
 * recorded from their first request. The browser is started with `--remote-debugging-port=0`
 * (loopback only) and writes the port to `<profile>/DevToolsActivePort`.
 */

/** What the network recorder needs of a DevTools session. */
export interface DevToolsChannel {
  on(event: string, listener: (params: never) => void): void;
  send(method: string, params?: object): Promise<never>;
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  sessionId?: string;
  result?: unknown;
  error?: { message: string };
}

interface MinimalWebSocket {
  on(event: "open" | "close" | "error" | "message", listener: (data: unknown) => void): void;
  send(data: string): void;
  close(): void;
  terminate(): void;
  readyState: number;
}

/**
 * How long one DevTools command may take before it fails. Chromium answers a command within
 * milliseconds, or never: a command sent to a session whose target goes away (a pop-up closed while
 * its response body was being read) gets no answer, so every command is bounded.
 */
export const DEVTOOLS_COMMAND_TIMEOUT_MS = 30_000;

interface PendingCall {
  method: string;
  sessionId?: string;
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class DevToolsConnection {
  private nextId = 0;
  private readonly calls = new Map<number, PendingCall>();
  private readonly listeners = new Map<string, Array<(params: never) => void>>();
  private closed = false;

  private constructor(private readonly ws: MinimalWebSocket) {
    ws.on("message", (data) => this.onMessage(String(data)));
    ws.on("close", () => {
      this.closed = true;
      this.failCalls(() => true, "the DevTools connection closed");
    });
  }

  /** Connects to the browser whose profile folder is `profile` (waits for DevToolsActivePort). */
  static async open(profile: string, timeoutMs = 10_000): Promise<DevToolsConnection> {
    const file = path.join(profile, "DevToolsActivePort");
    const deadline = Date.now() + timeoutMs;
    let text = "";
    while (!/^\d+\n\//.test(text)) {
      if (Date.now() > deadline) throw new Error(`the browser wrote no ${file} within ${timeoutMs} ms`);
      text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      if (!/^\d+\n\//.test(text)) await new Promise((r) => setTimeout(r, 25));
    }
    const [port, wsPath] = text.split("\n");
    const WebSocket = require("ws") as new (url: string, opts: object) => MinimalWebSocket;
    const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`, {
      perMessageDeflate: false,
      maxPayload: 1024 * 1024 * 1024,
    });
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => resolve());
      ws.on("error", (e) => reject(e as Error));
    });
    return new DevToolsConnection(ws);
  }

  private onMessage(text: string): void {
    const m = JSON.parse(text) as Message;
    if (m.id !== undefined) {
      const call = this.calls.get(m.id);
      if (!call) return;
      this.calls.delete(m.id);
      clearTimeout(call.timer);
      if (m.error) call.reject(new Error(m.error.message));
      else call.resolve(m.result as never);
      return;
    }
    if (m.method === "Target.detachedFromTarget") {
      // the target went away: Chromium will not answer what was sent to its session
      const gone = (m.params as { sessionId?: string } | undefined)?.sessionId;
      if (gone) this.failCalls((c) => c.sessionId === gone, "the target was closed before it answered");
    }
    for (const l of this.listeners.get(`${m.sessionId ?? ""} ${m.method}`) ?? []) l(m.params as never);
  }

  private failCalls(which: (c: PendingCall, id: number) => boolean, why: string): void {
    for (const [id, c] of this.calls) {
      if (!which(c, id)) continue;
      this.calls.delete(id);
      clearTimeout(c.timer);
      c.reject(new Error(`${c.method}: ${why}`));
    }
  }

  send<T = never>(
    method: string,
    params: object = {},
    sessionId?: string,
    timeoutMs = DEVTOOLS_COMMAND_TIMEOUT_MS,
  ): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the DevTools connection is closed"));
    const id = ++this.nextId;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => this.failCalls((_, callId) => callId === id, `no answer within ${timeoutMs} ms`),
        timeoutMs,
      );
      this.calls.set(id, { method, sessionId, resolve: resolve as (v: never) => void, reject, timer });
      this.ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });
  }

  /** Events and commands of one session (`undefined`: the browser itself). */
  channel(sessionId?: string): DevToolsChannel {
    return {
      on: (event, listener) => {
        const key = `${sessionId ?? ""} ${event}`;
        this.listeners.set(key, [...(this.listeners.get(key) ?? []), listener]);
      },
      send: (method, params) => this.send(method, params ?? {}, sessionId),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.failCalls(() => true, "the DevTools connection was closed");
    try {
      this.ws.close();
    } catch {
      this.ws.terminate();
    }
  }
}
