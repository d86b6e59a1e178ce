import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { hashFile, parseReceipt, rpcCall, stampFiles, verifyEvidence, type Receipt } from "../../packages/sdk/src";
import { runCli } from "../cli/helpers";
import { mine, stampedChain, type ReportFixture } from "./helpers";

type Rewrite = (method: string, params: unknown[], result: unknown) => unknown;

/** A JSON-RPC proxy in front of a real Anvil that rewrites the results `rewrite` chooses to (a lying endpoint). */
async function lyingEndpoint(upstream: string, rewrite: Rewrite): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      try {
        const msg = JSON.parse(body);
        const answer = await (
          await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body })
        ).json();
        if (!Array.isArray(msg) && "result" in answer) answer.result = rewrite(msg.method, msg.params, answer.result);
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      } catch (e) {
        res.writeHead(500);
        res.end(String(e));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const flip = (hex: string) => `${hex.slice(0, -1)}${hex.endsWith("0") ? "1" : "0"}`;

describe("several RPC endpoints: every cross-checked fact is asked of each, and one liar fails the verdict", function () {
  this.timeout(300_000);
  let fx: ReportFixture;
  let fresh: Receipt;
  let freshFile: string;

  before(async function () {
    fx = await stampedChain("crosscheck");
    await mine(fx.rpcUrl, 70); // fx.receipt's block is final
    freshFile = path.join(fx.dir, "fresh.txt");
    fs.writeFileSync(freshFile, "stamped last: its block is not final yet\n");
    const s = await stampFiles({ chain: fx.chain, inputs: [freshFile], meta: {} });
    fresh = parseReceipt(fs.readFileSync(s.files[0].receiptPath, "utf8"));
  });
  after(async () => {
    await fx?.stop();
  });

  async function verifyWith(urls: string[], receipt = fx.receipt, file = fx.draft) {
    return verifyEvidence({
      receipt,
      file: { path: file, ...(await hashFile(file)) },
      rpc: urls,
      dataDir: fx.dataDir,
      rpcTimeoutMs: 5_000,
    });
  }

  const liars: Array<[string, Rewrite]> = [
    [
      "the anchoring block's hash",
      (m, p, r) =>
        m === "eth_getBlockByNumber" && p[0] !== "finalized" && r
          ? { ...(r as object), hash: flip((r as { hash: string }).hash) }
          : r,
    ],
    ["the registry's anchorOf answer (eth_call)", (m, _p, r) => (m === "eth_call" ? flip(String(r)) : r)],
    ["the registry's code (eth_getCode)", (m, _p, r) => (m === "eth_getCode" ? `${String(r)}00` : r)],
    ["the anchoring log (eth_getLogs)", (m, _p, r) => (m === "eth_getLogs" ? [] : r)],
  ];
  for (const [what, rewrite] of liars) {
    it(`an endpoint lying about ${what} fails with RPC_DISAGREEMENT naming it, in either order`, async function () {
      const liar = await lyingEndpoint(fx.rpcUrl, rewrite);
      try {
        const honest = await verifyWith([fx.rpcUrl]);
        expect(honest.status, honest.message).to.equal("verified");
        for (const urls of [
          [fx.rpcUrl, liar.url],
          [liar.url, fx.rpcUrl],
        ]) {
          const r = await verifyWith(urls);
          expect(r.status, r.message).to.equal("mismatch");
          expect(r.code, r.message).to.equal("RPC_DISAGREEMENT");
          expect(r.message).to.include(liar.url);
          expect(r.anchors[0].endpoints).to.deep.equal(urls);
        }
        const alone = await verifyWith([liar.url]);
        expect(alone.status, alone.message).to.not.equal("verified");
      } finally {
        await liar.close();
      }
    });
  }

  it("a first endpoint that claims finality does not decide it: a lie about `finalized` is a disagreement", async function () {
    const latest = await rpcCall<{ number: string }>(fx.rpcUrl, "eth_getBlockByNumber", ["latest", false]);
    const liar = await lyingEndpoint(fx.rpcUrl, (m, p, r) =>
      m === "eth_getBlockByNumber" && p[0] === "finalized" ? { ...(r as object), number: latest.number } : r,
    );
    try {
      const honest = await verifyWith([fx.rpcUrl], fresh, freshFile);
      expect(honest.status, honest.message).to.equal("not-final");
      const lied = await verifyWith([liar.url], fresh, freshFile);
      expect(lied.status).to.equal("verified"); // one endpoint alone can lie: that is why several are asked
      const both = await verifyWith([liar.url, fx.rpcUrl], fresh, freshFile);
      expect(both.code, both.message).to.equal("RPC_DISAGREEMENT");
      expect(both.status).to.not.equal("verified");
    } finally {
      await liar.close();
    }
  });

  it("the CLI names the lying endpoint and exits 1", async function () {
    const liar = await lyingEndpoint(fx.rpcUrl, liars[0][1]);
    try {
      // (async: the lying endpoint runs in this process and must keep answering)
      const r = await runCli(["--rpc", fx.rpcUrl, "--rpc", liar.url, "verify", fx.draft, "--proof", fx.receiptPath], {
        cwd: fx.dir,
        dataDir: fx.dataDir,
      });
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stdout).to.include("RPC_DISAGREEMENT");
      expect(r.stdout).to.include(liar.url);
    } finally {
      await liar.close();
    }
  });
});
