import { expect } from "chai";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { hexlify, randomBytes } from "ethers";
import {
  EvidenceRegistryClient,
  loadSigner,
  makeProvider,
  minedReceipt,
  openChain,
  type ChainContext,
  type Hex,
} from "../../packages/sdk/src";
import { stopChain, tempDataDir } from "../portal/fixture";

/**
 * An RPC endpoint whose receipt index lags behind its blocks (a load-balanced provider, or a busy
 * node): it answers `null` to the first `lag` receipt requests for each transaction, then the truth
 * from the real node behind it. Everything else is passed through.
 */
async function laggingReceipts(upstream: string, lag: number): Promise<{ url: string; close(): void }> {
  const asked = new Map<string, number>();
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", async () => {
      const msg = JSON.parse(body) as { id: number; method: string; params: string[] };
      if (msg.method === "eth_getTransactionReceipt") {
        const n = (asked.get(msg.params[0]) ?? 0) + 1;
        asked.set(msg.params[0], n);
        if (n <= lag) {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ jsonrpc: "2.0", id: msg.id, result: null }));
          return;
        }
      }
      const answer = await fetch(upstream, { method: "POST", headers: { "content-type": "application/json" }, body });
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(await answer.text());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

describe("chain: waiting for a transaction to be mined", function () {
  this.timeout(120_000);
  let dataDir: string;
  let chain: ChainContext;
  let proxy: { url: string; close(): void };
  let registry: EvidenceRegistryClient;

  before(async function () {
    dataDir = tempDataDir("mined-receipt");
    chain = await openChain({ dataDir });
    // The embedded chain mines each transaction at once and no other block follows it.
    proxy = await laggingReceipts(chain.rpcUrls[0], 2);
    const provider = makeProvider(proxy.url, chain.chainId);
    const signer = await loadSigner({ chainId: chain.chainId, provider, as: "coop" });
    registry = new EvidenceRegistryClient(await chain.registryAddress("EvidenceRegistry"), signer);
  });

  after(async () => {
    proxy?.close();
    chain?.close();
    if (dataDir) await stopChain(dataDir);
  });

  it("an anchor returns once mined even when the endpoint's first receipt answers are null (ethers' tx.wait() never returns here)", async function () {
    const root = hexlify(randomBytes(32)) as Hex;
    const anchored = await Promise.race([
      registry.anchor(root, 1),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still waiting after 20 s")), 20_000)),
    ]);
    expect(anchored.blockNumber).to.be.greaterThan(0);
    expect(await registry.findAnchor(root)).to.deep.include({ blockNumber: anchored.blockNumber });
  });

  it("minedReceipt gives a reverted transaction's receipt with status 0 (the caller reports it)", async function () {
    const provider = makeProvider(proxy.url, chain.chainId);
    const signer = await loadSigner({ chainId: chain.chainId, provider, as: "coop" });
    // A call into the registry with an unknown selector reverts; gasLimit set so it is sent anyway.
    const tx = await signer.sendTransaction({
      to: await chain.registryAddress("EvidenceRegistry"),
      data: "0xdeadbeef",
      gasLimit: 100_000,
    });
    const receipt = await minedReceipt({ hash: tx.hash, provider });
    expect(receipt.status).to.equal(0);
  });
});
