import { STATUS_CODES, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

/**
 * The calendar's fast path for `POST /v1/leaves`: a strict HTTP/1.1 reader for exactly the simple
 * request every client sends (request line `POST <path> HTTP/1.1`, a Host, a JSON Content-Type and
 * a Content-Length body; keep-alive and pipelined requests answered in order), in front of the
 * node:http server on the same listening socket. node:http's own parser and its objects cost about
 * 40 µs of CPU per request here — more than the rest of the calendar's work for a one-leaf request.
 *
 * Anything else — another route or method, HTTP/1.0, chunked bodies, `Expect`, `Upgrade`,
 * `Connection` other than keep-alive, a duplicated Content-Length, Content-Type or Host, obs-fold,
 * a bare CR or LF, any byte that is not a token or field-value character (RFC 9110 §5.1, §5.5), a
 * header section over {@link MAX_HEAD_BYTES} or a body over the route's limit — is handed, at a
 * request boundary and once every fast answer on that connection is written, to node:http's own
 * connection handler with the unread bytes put back (`socket.unshift`). The connection then stays
 * with node:http. So a request the fast path is unsure of is answered exactly as without it.
 *
 * Answers carry the same bytes node:http writes (status line, the caller's headers, `Date`,
 * `Connection: keep-alive`, `Keep-Alive: timeout=N`); a test compares both. A request still
 * incomplete after the server's `headersTimeout` is answered 408 and the connection closed, as
 * node:http does; a connection idle for `keepAliveTimeout` is closed.
 */

/** Largest header section (request line included) the fast path reads; larger goes to node:http. */
export const MAX_HEAD_BYTES = 8 * 1024;
/** Answers a connection may have outstanding before the fast path stops reading from it. */
const MAX_OUTSTANDING = 128;

/** Where one answer goes: node:http's response or a fast-path slot, the same bytes either way. */
export interface Reply {
  /** The whole answer at once: status, headers as a flat name/value list, body. */
  send(status: number, headers: readonly string[], body: string | Buffer): void;
  /** Whether `send` was called. */
  readonly sent: boolean;
  /** Drops the connection (an answer that cannot be completed). */
  destroy(): void;
}

/** A {@link Reply} over node:http's response. */
export function nodeReply(res: ServerResponse): Reply {
  return {
    send(status, headers, body) {
      res.writeHead(status, headers as string[]);
      res.end(body);
    },
    get sent() {
      return res.headersSent;
    },
    destroy() {
      res.destroy();
    },
  };
}

export interface FastPathOptions {
  /** The one request line served, e.g. `POST /v1/leaves HTTP/1.1`. */
  requestLine: string;
  /** Largest body served here; a larger Content-Length goes to node:http (which answers it). */
  maxBody: number;
  /** Called once per complete request with its body (UTF-8) and where to answer. */
  handle: (body: string, reply: Reply) => void;
}

export interface FastPath {
  /** Closes every connection the fast path holds (node:http's own are the server's to close). */
  closeAll(): void;
}

/**
 * Puts the fast path in front of `server`'s connection handler. Call after `http.createServer`
 * and before `listen`. The server's `keepAliveTimeout` and `headersTimeout` apply to it too.
 */
export function installFastPath(server: Server, opts: FastPathOptions): FastPath {
  const nodeConnection = server.listeners("connection")[0] as (socket: Socket) => void;
  server.removeListener("connection", nodeConnection);
  const prefix = Buffer.from(`${opts.requestLine}\r\n`, "latin1");
  const connections = new Set<Connection>();
  const sweeper = setInterval(
    () => {
      const now = Date.now();
      for (const c of connections) c.sweep(now, server.headersTimeout, server.keepAliveTimeout);
    },
    Math.max(10, Math.min(1_000, server.headersTimeout / 4)),
  );
  sweeper.unref();
  server.on("connection", (socket: Socket) => {
    const c = new Connection(socket, prefix, opts, server, () => {
      connections.delete(c);
      nodeConnection.call(server, socket);
    });
    connections.add(c);
    socket.once("close", () => connections.delete(c));
  });
  server.once("close", () => clearInterval(sweeper));
  return {
    closeAll() {
      for (const c of connections) c.socket.destroy();
      connections.clear();
    },
  };
}

const CRLFCRLF = Buffer.from("\r\n\r\n");
/** tchar (RFC 9110 §5.6.2): ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA. */
const TOKEN = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = TOKEN[c + 32] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TOKEN[ch.charCodeAt(0)] = 1;

let dateCache = "";
let dateExpires = 0;
/** The `Date` value node:http writes, computed once a second like node:http does. */
function httpDate(): string {
  const now = Date.now();
  if (now >= dateExpires) {
    dateCache = new Date(now).toUTCString();
    dateExpires = now - (now % 1000) + 1000;
  }
  return dateCache;
}

/** One answer's place in its connection's order. */
class Slot implements Reply {
  data?: Buffer;
  constructor(private readonly conn: Connection) {}
  get sent(): boolean {
    return this.data !== undefined;
  }
  send(status: number, headers: readonly string[], body: string | Buffer): void {
    if (this.data) throw new Error("answered twice");
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "unknown"}\r\n`;
    for (let i = 0; i < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
    head += `Date: ${httpDate()}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(this.conn.server.keepAliveTimeout / 1000)}\r\n\r\n`;
    const headLength = Buffer.byteLength(head, "latin1");
    const bodyLength = typeof body === "string" ? Buffer.byteLength(body) : body.length;
    const out = Buffer.allocUnsafe(headLength + bodyLength);
    out.write(head, 0, "latin1");
    if (typeof body === "string") out.write(body, headLength, "utf8");
    else body.copy(out, headLength);
    this.data = out;
    this.conn.written();
  }
  destroy(): void {
    this.conn.socket.destroy();
  }
}

class Connection {
  /** Bytes read and not yet consumed by a request. */
  private buffer: Buffer | undefined;
  /** When the first byte of the request being read arrived (0: none being read). */
  private started = 0;
  /** When the connection last had nothing to do (for keep-alive). */
  private idleSince = Date.now();
  private readonly slots: Slot[] = [];
  private handingOff = false;
  private ended = false;
  private blocked = false;
  private paused = false;
  private parsing = false;

  constructor(
    readonly socket: Socket,
    private readonly prefix: Buffer,
    private readonly opts: FastPathOptions,
    readonly server: Server,
    private readonly handOff: () => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", this.onData);
    socket.on("end", this.onEnd);
    socket.on("error", this.onError);
    socket.on("drain", this.onDrain);
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.buffer || this.buffer.length === 0) {
      this.buffer = chunk;
      this.started = Date.now();
    } else this.buffer = Buffer.concat([this.buffer, chunk]);
    this.parse();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    // what is left is an incomplete request: nothing to answer
    if (this.slots.length === 0) this.socket.end();
  };

  private readonly onError = (): void => {
    this.socket.destroy();
  };

  private readonly onDrain = (): void => {
    this.blocked = false;
    this.updatePause();
  };

  /** Reads every complete request in the buffer; stops at the first one that is not for the fast path. */
  private parse(): void {
    if (this.parsing) return; // an answer given synchronously resumed reading: the loop below goes on
    this.parsing = true;
    try {
      this.parseAll();
    } finally {
      this.parsing = false;
    }
  }

  private parseAll(): void {
    while (!this.handingOff && this.buffer && this.buffer.length > 0 && this.slots.length < MAX_OUTSTANDING) {
      const buf = this.buffer;
      const end = buf.indexOf(CRLFCRLF);
      if (end < 0 || end + 4 > MAX_HEAD_BYTES) {
        // incomplete head: hand off at once if what arrived already cannot be the simple request
        if (end >= 0 || buf.length > MAX_HEAD_BYTES || !this.plausible(buf)) this.startHandOff();
        return;
      }
      const length = this.head(buf.toString("latin1", 0, end));
      if (length === undefined) return this.startHandOff();
      const bodyStart = end + 4;
      if (buf.length < bodyStart + length) return; // the body is still on its way
      const body = buf.toString("utf8", bodyStart, bodyStart + length);
      const rest = buf.length - bodyStart - length;
      this.buffer = rest > 0 ? buf.subarray(bodyStart + length) : undefined;
      this.started = rest > 0 ? Date.now() : 0;
      const slot = new Slot(this);
      this.slots.push(slot);
      if (this.slots.length >= MAX_OUTSTANDING) this.updatePause();
      this.opts.handle(body, slot);
    }
  }

  /** Whether an incomplete head read so far may still be the simple request (its line, then header bytes only). */
  private plausible(buf: Buffer): boolean {
    const p = this.prefix;
    const n = Math.min(buf.length, p.length);
    if (buf.compare(p, 0, n, 0, n) !== 0) return false;
    for (let i = n; i < buf.length; i++) {
      const c = buf[i];
      if (c === 0x0a) {
        if (buf[i - 1] !== 0x0d) return false;
      } else if (c === 0x0d) {
        if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return false;
      } else if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
    }
    return true;
  }

  /**
   * The Content-Length of a complete header section (without its final CRLF CRLF) when it is the
   * simple request, else undefined.
   */
  private head(head: string): number | undefined {
    const line = this.opts.requestLine;
    if (!head.startsWith(line) || head.charCodeAt(line.length) !== 0x0d) return undefined;
    let length = -1;
    let type: string | undefined;
    let host = false;
    let at = line.length + 2;
    while (at < head.length + 2) {
      let eol = head.indexOf("\r\n", at);
      if (eol < 0) eol = head.length;
      const colon = head.indexOf(":", at);
      if (colon <= at || colon > eol) return undefined;
      for (let i = at; i < colon; i++) if (TOKEN[head.charCodeAt(i)] !== 1) return undefined;
      for (let i = colon + 1; i < eol; i++) {
        const c = head.charCodeAt(i); // latin1: 0x80-0xff are obs-text, allowed in values
        if ((c < 0x20 && c !== 0x09) || c === 0x7f) return undefined;
      }
      const name = head.slice(at, colon).toLowerCase();
      const value = head.slice(colon + 1, eol).replace(/^[ \t]+|[ \t]+$/g, "");
      switch (name) {
        case "content-length":
          if (length >= 0 || !/^[0-9]{1,9}$/.test(value)) return undefined;
          length = Number(value);
          break;
        case "content-type":
          if (type !== undefined) return undefined;
          type = value;
          break;
        case "host":
          if (host) return undefined;
          host = true;
          break;
        case "connection":
          if (value.toLowerCase() !== "keep-alive") return undefined;
          break;
        case "transfer-encoding":
        case "expect":
        case "upgrade":
        case "http2-settings":
          return undefined;
      }
      at = eol + 2;
    }
    if (length < 0 || length > this.opts.maxBody || !host || type === undefined) return undefined;
    if (!/^application\/json\b/i.test(type)) return undefined;
    return length;
  }

  /** A slot was answered: writes the answers that are next in order. */
  written(): void {
    if (this.socket.destroyed) return;
    const slots = this.slots;
    if (slots.length === 0 || !slots[0].data) return;
    let n = 0;
    while (n < slots.length && slots[n].data) n++;
    if (n === 1) {
      if (!this.socket.write(slots[0].data!)) this.blocked = true;
    } else {
      this.socket.cork();
      for (let i = 0; i < n; i++) if (!this.socket.write(slots[i].data!)) this.blocked = true;
      this.socket.uncork();
    }
    slots.splice(0, n);
    this.updatePause(); // may read requests that waited for room
    if (slots.length === 0) {
      this.idleSince = Date.now();
      if (this.handingOff) this.finishHandOff();
      else if (this.ended) this.socket.end();
    }
  }

  private updatePause(): void {
    const pause = this.blocked || this.handingOff || this.slots.length >= MAX_OUTSTANDING;
    if (pause === this.paused) return;
    this.paused = pause;
    if (pause) this.socket.pause();
    else {
      this.socket.resume();
      if (this.buffer) this.parse();
    }
  }

  private startHandOff(): void {
    this.handingOff = true;
    if (this.slots.length === 0) this.finishHandOff();
    else this.updatePause();
  }

  /** node:http takes the connection from here, starting with the bytes the fast path did not consume. */
  private finishHandOff(): void {
    const socket = this.socket;
    socket.removeListener("data", this.onData);
    socket.removeListener("end", this.onEnd);
    socket.removeListener("error", this.onError);
    socket.removeListener("drain", this.onDrain);
    socket.pause();
    if (this.buffer) socket.unshift(this.buffer);
    this.buffer = undefined;
    this.handOff();
    socket.resume();
  }

  /** Timeouts: an incomplete request after `headersTimeout` gets 408; an idle connection closes after `keepAliveTimeout`. */
  sweep(now: number, headersTimeout: number, keepAliveTimeout: number): void {
    if (this.handingOff) return;
    if (this.started > 0 && this.slots.length === 0 && now - this.started > headersTimeout) {
      this.socket.end("HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n");
      this.socket.destroySoon();
      this.started = 0;
      return;
    }
    if (
      this.started === 0 &&
      this.slots.length === 0 &&
      keepAliveTimeout > 0 &&
      now - this.idleSince > keepAliveTimeout
    )
      this.socket.destroy();
  }
}
