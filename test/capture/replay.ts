import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import type { Browser } from "playwright-core";

/**
 * ReplayWeb.page (npm `replaywebpage`, its prebuilt ui.js and service worker sw.js, which embed
 * wabac.js) served as static files from node_modules, with one WACZ, on 127.0.0.1 — so a test can
 * load a capture the way anyone would, in ReplayWeb.page, and read what the replayed page shows.
 */
export const REPLAYWEBPAGE = path.resolve(__dirname, "..", "..", "node_modules", "replaywebpage");

export async function serveReplay(
  wacz: Buffer,
  pageUrl: string,
): Promise<{ url: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(url.pathname);
    if (url.pathname === "/") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(`<!doctype html><html><head><script src="/ui.js"></script></head><body style="margin:0">
<replay-web-page source="/capture.wacz" url="${pageUrl}" replayBase="/replay/" embed="replayonly" style="display:block;width:1200px;height:800px"></replay-web-page></body></html>`);
    }
    if (url.pathname === "/replay/" || url.pathname === "/replay/index.html") {
      // ReplayWeb.page's own index.html: the frame the component opens before its service worker runs
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end(fs.readFileSync(path.join(REPLAYWEBPAGE, "index.html")));
    }
    if (url.pathname === "/ui.js" || url.pathname === "/replay/ui.js") {
      res.writeHead(200, { "content-type": "application/javascript" });
      return res.end(fs.readFileSync(path.join(REPLAYWEBPAGE, "ui.js")));
    }
    if (url.pathname === "/replay/sw.js" || url.pathname === "/sw.js") {
      res.writeHead(200, { "content-type": "application/javascript", "service-worker-allowed": "/" });
      return res.end(fs.readFileSync(path.join(REPLAYWEBPAGE, "sw.js")));
    }
    if (url.pathname === "/capture.wacz") {
      const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
      const headers = {
        "content-type": "application/wacz",
        "accept-ranges": "bytes",
        "access-control-allow-origin": "*",
      };
      if (range) {
        const start = Number(range[1]);
        const end = range[2] ? Math.min(Number(range[2]), wacz.length - 1) : wacz.length - 1;
        res.writeHead(206, {
          ...headers,
          "content-range": `bytes ${start}-${end}/${wacz.length}`,
          "content-length": String(end - start + 1),
        });
        return res.end(req.method === "HEAD" ? undefined : wacz.subarray(start, end + 1));
      }
      res.writeHead(200, { ...headers, "content-length": String(wacz.length) });
      return res.end(req.method === "HEAD" ? undefined : wacz);
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Loads the WACZ in ReplayWeb.page and returns the text of the replayed page (waits for `expect`). */
export async function replayedText(
  browser: Browser,
  wacz: Buffer,
  pageUrl: string,
  expect: string,
  timeoutMs = 90_000,
): Promise<string> {
  const replay = await serveReplay(wacz, pageUrl);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(replay.url);
    const deadline = Date.now() + timeoutMs;
    let seen = "";
    while (Date.now() < deadline) {
      for (const frame of page.frames()) {
        if (!frame.url().includes("/replay/w/")) continue;
        const text = await frame.evaluate(() => (document.body ? document.body.innerText : "")).catch(() => "");
        if (text) seen = text;
        if (text.includes(expect)) return text;
      }
      await page.waitForTimeout(500);
    }
    throw new Error(
      `the replayed page never showed "${expect}" (frames: ${page
        .frames()
        .map((f) => f.url())
        .join(", ")}; last text: ${seen.slice(0, 200)}; served: ${replay.requests.join(" ")})`,
    );
  } finally {
    await context.close();
    await replay.close();
  }
}
