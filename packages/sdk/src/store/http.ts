import * as http from "node:http";
import { isProofmarkError } from "../core/errors";
import { parseCid } from "./blocks";
import type { ContentStore } from "./types";

/**
 * Read-only HTTP access to a content store, gateway style:
 *
 *   GET|HEAD /ipfs/<cid>              the file's bytes, each block verified before it is sent
 *   GET      /ipfs/<cid>?format=car   a CARv1 of the DAG (also with `Accept: application/vnd.ipld.car`)
 *
 * A plain node:http handler that returns false for paths it does not serve, so the portal can
 * mount it beside its own routes. Content is immutable, hence long cache lifetimes. If a block
 * turns out corrupt mid-stream the connection is cut (never wrong bytes with a 200 trailer).
 *
 * @example
 * const handle = createStoreHandler(store);
 * http.createServer((req, res) => { if (!handle(req, res)) { res.statusCode = 404; res.end(); } }).listen(8080);
 */
export function createStoreHandler(
  store: ContentStore,
  options: { prefix?: string } = {},
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const prefix = options.prefix ?? "/ipfs/";
  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith(prefix)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, 405, { error: "METHOD_NOT_ALLOWED", message: "only GET and HEAD are served" }, { allow: "GET, HEAD" });
      return true;
    }
    if (Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined) {
      // GET and HEAD carry no body here: one is never read, however large, and the connection ends.
      send(
        res,
        413,
        { error: "INPUT_TOO_LARGE", message: "a GET or HEAD request to the store carries no body" },
        { connection: "close" },
      );
      return true;
    }
    let cid: string;
    try {
      cid = parseCid(decodeURIComponent(url.pathname.slice(prefix.length)).replace(/\/+$/, ""))
        .toV1()
        .toString();
    } catch (e) {
      send(res, 400, { error: "INVALID_ARGUMENT", message: (e as Error).message });
      return true;
    }
    const wantCar =
      url.searchParams.get("format") === "car" || (req.headers.accept ?? "").includes("application/vnd.ipld.car");
    void serve(store, cid, wantCar, req, res);
    return true;
  };
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

async function serve(
  store: ContentStore,
  cid: string,
  car: boolean,
  req: http.IncomingMessage,
  res: http.ServerResponse,
): Promise<void> {
  const source = car ? store.exportCar(cid) : store.get(cid);
  const it = source[Symbol.asyncIterator]();
  let first: IteratorResult<Uint8Array>;
  try {
    // Read (and verify) the first chunk before committing to a status code.
    first = await it.next();
  } catch (e) {
    const code = isProofmarkError(e) ? e.code : "STORE_FAILED";
    const status =
      code === "BLOCK_MISSING" ? 404 : code === "INVALID_ARGUMENT" ? 400 : code === "CID_MISMATCH" ? 502 : 500;
    send(res, status, { error: code, message: (e as Error).message, cid });
    return;
  }
  res.writeHead(200, {
    "content-type": car ? "application/vnd.ipld.car; version=1" : "application/octet-stream",
    etag: `"${cid}${car ? ".car" : ""}"`,
    "cache-control": "public, max-age=29030400, immutable",
    "x-ipfs-path": `/ipfs/${cid}`,
    "x-content-type-options": "nosniff",
    ...(car ? { "content-disposition": `attachment; filename="${cid}.car"` } : {}),
  });
  if (req.method === "HEAD") {
    res.end();
    await it.return?.();
    return;
  }
  let closed = false;
  res.on("close", () => {
    closed = true;
  });
  try {
    let r = first;
    while (!r.done) {
      if (closed) {
        await it.return?.();
        return;
      }
      if (!res.write(r.value))
        await new Promise<void>((resolve) => {
          res.once("drain", resolve);
          res.once("close", resolve);
        });
      r = await it.next();
    }
    res.end();
  } catch {
    // A block failed verification (or vanished) after the headers went out: cut the connection
    // so the client sees an incomplete response instead of wrong bytes.
    res.destroy();
  }
}

/**
 * `proofmark store serve`: an HTTP server with only the store handler. Resolves when listening.
 */
export async function serveStore(
  store: ContentStore,
  options: { port?: number; host?: string } = {},
): Promise<{ server: http.Server; url: string }> {
  const handle = createStoreHandler(store);
  const server = http.createServer((req, res) => {
    if (!handle(req, res))
      send(res, 404, {
        error: "NOT_FOUND",
        message: "this server answers GET /ipfs/<cid> (add ?format=car for a CAR)",
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : (options.port ?? 8080);
  return { server, url: `http://${options.host ?? "127.0.0.1"}:${port}` };
}
