import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as zlib from "node:zlib";

/**
 * A local shop for capture tests and the bench (no internet): a product page with images, CSS, a
 * script that changes the DOM after load, a redirect, a missing asset and a cookie; and hostile
 * pages (never finishes loading, never answers, a 50 MB response, pop-ups and navigating away, data: and blob:
 * resources, markup in the title). Served on 127.0.0.1, port 0.
 */

/** A 2×2 PNG (red, green, blue, white), made here so its bytes are known. */
export function tinyPng(seed = 0): Buffer {
  const raw = Buffer.from([0, 255, seed, 0, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255]);
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr.writeUInt8(8, 8);
  ihdr.writeUInt8(2, 9);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", zlib.deflateSync(raw)),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

export const PRODUCT_TEXT = "Hand-painted silk scarf";
export const LATE_TEXT = "Only 3 left in stock";
export const HOSTILE_TITLE = "<script>alert(1)</script><b>Evil & Co</b>";

export interface ShopSite {
  base: string;
  images: Record<string, Buffer>;
  close(): Promise<void>;
}

export async function startShop(): Promise<ShopSite> {
  const images = { "/img/scarf.png": tinyPng(1), "/img/detail.png": tinyPng(2) };
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const html = (body: string, headers: Record<string, string> = {}) => {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...headers });
      res.end(body);
    };
    switch (url.pathname) {
      case "/product":
        return html(
          `<!doctype html><html><head><title>Silk scarf — Shop</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>${PRODUCT_TEXT}</h1><p class="price">¥ 399</p>
<img src="/img/scarf.png" alt="scarf"><img src="/old/detail.png" alt="detail"><img src="/img/missing.png" alt="gone">
<p id="stock">checking stock…</p>
<script src="/app.js"></script></body></html>`,
          { "set-cookie": "session=abc123; Path=/; HttpOnly" },
        );
      case "/style.css":
        res.writeHead(200, { "content-type": "text/css" });
        return res.end("body{font-family:sans-serif;background:#fff8f0}h1{color:#8a2be2}");
      case "/app.js":
        res.writeHead(200, { "content-type": "application/javascript" });
        return res.end(
          `window.addEventListener("load", () => setTimeout(() => { document.getElementById("stock").textContent = ${JSON.stringify(LATE_TEXT)}; }, 200));`,
        );
      case "/old/detail.png":
        res.writeHead(301, { location: "/img/detail.png" });
        return res.end();
      case "/img/scarf.png":
      case "/img/detail.png":
        res.writeHead(200, { "content-type": "image/png" });
        return res.end(images[url.pathname as keyof typeof images]);
      case "/gzip":
        res.writeHead(200, { "content-type": "text/html", "content-encoding": "gzip" });
        return res.end(
          zlib.gzipSync(Buffer.from(`<!doctype html><title>gz</title><p>${PRODUCT_TEXT} (compressed)</p>`)),
        );
      case "/slow":
        // the page itself arrives, but one of its images never finishes: load never fires
        return html(`<!doctype html><title>Slow</title><p>This page never finishes loading</p><img src="/hang.png">`);
      case "/hang.png":
        res.writeHead(200, { "content-type": "image/png" });
        res.write(tinyPng(3).subarray(0, 10));
        hanging.push(res);
        return;
      case "/silent":
        // the server accepts the request and never answers
        hanging.push(res);
        return;
      case "/big":
        return html(
          `<!doctype html><title>Big</title><p>A page with a huge download</p><script src="/big.js"></script>`,
        );
      case "/big.js": {
        const size = 50 * 1024 * 1024;
        res.writeHead(200, { "content-type": "application/javascript", "content-length": String(size) });
        const chunk = Buffer.alloc(1024 * 1024, 0x20);
        let sent = 0;
        const write = () => {
          while (sent < size) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once("drain", write);
          }
          res.end();
        };
        return write();
      }
      case "/popup":
        return html(
          `<!doctype html><title>Pop</title><p>Pop-up page</p><script>window.open("/product", "_blank"); setTimeout(() => { location.href = "/away"; }, 300);</script>`,
        );
      case "/away":
        return html(`<!doctype html><title>Away</title><p>You were sent away</p>`);
      case "/local":
        return html(`<!doctype html><title>Local</title><p>Data and blob resources</p>
<img id="d" src="data:image/png;base64,${tinyPng(4).toString("base64")}">
<img id="b"><script>document.getElementById("b").src = URL.createObjectURL(new Blob([new Uint8Array([137,80,78,71])], { type: "image/png" }));</script>`);
      case "/hostile":
        return html(`<!doctype html><title>${HOSTILE_TITLE.replace(/</g, "&lt;")}</title><p>Markup in the title</p>`);
      default:
        res.writeHead(404, { "content-type": "text/plain" });
        return res.end("not found");
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    images,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
