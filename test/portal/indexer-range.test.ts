import { expect } from "chai";
import * as http from "node:http";
import * as path from "node:path";
import { Contract, JsonRpcProvider, ZeroHash } from "ethers";
import { minedReceipt, openChain, registryArtifact, type ChainContext } from "../../packages/sdk/src";
import { Indexer, openDb } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "./fixture";

/**
 * The indexer's adaptive `eth_getLogs` range against a node that refuses wide ranges (as hosted
 * RPC providers do, with error -32005): a real JSON-RPC proxy in front of the embedded chain.
 */
describe("portal indexer: adaptive log range", function () {
  this.timeout(300_000);
  let dataDir: string;
  let chain: ChainContext;
  let proxy: http.Server;
  let refused = 0;
  /** The `eth_getLogs` ranges the proxy passed on (refused ones not included). */
  const ranges: Array<[number, number]> = [];
  const MAX_RANGE = 150;

  before(async () => {
    dataDir = tempDataDir("range");
    chain = await openChain({ dataDir });
    const upstream = chain.rpcUrls[0];
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
        const calls = Array.isArray(body) ? body : [body];
        const tooWide = calls.find(
          (c: { method: string; params: Array<{ fromBlock: string; toBlock: string }> }) =>
            c.method === "eth_getLogs" && Number(c.params[0].toBlock) - Number(c.params[0].fromBlock) + 1 > MAX_RANGE,
        );
        for (const c of calls as Array<{ method: string; params: Array<{ fromBlock: string; toBlock: string }> }>)
          if (c.method === "eth_getLogs" && !tooWide)
            ranges.push([Number(c.params[0].fromBlock), Number(c.params[0].toBlock)]);
        if (tooWide) {
          refused++;
          const error = { code: -32005, message: `query exceeds max block range ${MAX_RANGE}` };
          const reply = calls.map((c: { id: number }) => ({ jsonrpc: "2.0", id: c.id, error }));
          res.end(JSON.stringify(Array.isArray(body) ? reply : reply[0]));
          return;
        }
        void fetch(upstream, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
          .then((r) => r.text())
          .then((t) => res.end(t));
      });
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
  });

  after(async () => {
    proxy?.close();
    chain?.close();
    if (dataDir) await stopChain(dataDir);
  });

  /** The registry, as its registrar and as the co-op (admin of the products these tests create). */
  async function registryAs() {
    const address = await chain.registryAddress("ProvenanceRegistry");
    const iface = registryArtifact("ProvenanceRegistry").abi as never;
    const registrar = new Contract(address, iface, await chain.signer("registrar"));
    const coopSigner = await chain.signer("coop");
    const coop = new Contract(address, iface, coopSigner);
    return { address, registrar, coopSigner, coop };
  }

  /** A product's fields other than its admin and name. */
  const product = { maxYieldBps: 10_000, standard: ZeroHash, nameEn: "", giNumber: "X", region: "r", unit: "g" };

  it("shrinks the range a node refuses, indexes every log once, and keeps within what the node accepted", async () => {
    const { address, registrar, coopSigner, coop } = await registryAs();
    // Three products and their participant records, 400 empty blocks apart.
    for (let i = 0; i < 3; i++) {
      await minedReceipt(
        await registrar.createProduct({ admin: await coopSigner.getAddress(), name: `p${i}`, ...product }),
      );
      await minedReceipt(
        await coop.setParticipant(i + 1, await coopSigner.getAddress(), {
          kind: 2,
          name: `packer ${i}`,
          nameEn: "",
          licence: "",
          region: "",
        }),
      );
      await chain.provider.send("anvil_mine", ["0x190"]);
    }
    const head = await chain.provider.getBlockNumber();
    const port = (proxy.address() as { port: number }).port;
    const provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, chain.chainId, { staticNetwork: true });
    const db = openDb(path.join(tempDataDir("range-index"), "index.sqlite"));
    try {
      const indexer = new Indexer({ db, provider, provenanceRegistry: address, fromBlock: 0 });
      const r = await indexer.sync();
      expect(r.indexedTo).to.equal(head);
      expect(refused, "the first 2,000-block range was refused").to.be.greaterThan(0);
      expect(indexer.range).to.be.at.most(MAX_RANGE);
      const count = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
      expect(count("SELECT COUNT(*) AS n FROM products")).to.equal(3);
      expect(count("SELECT COUNT(*) AS n FROM participants")).to.equal(3);
      expect(
        (db.prepare("SELECT name FROM participants ORDER BY product").all() as Array<{ name: string }>).map(
          (p) => p.name,
        ),
      ).to.deep.equal(["packer 0", "packer 1", "packer 2"]);
      // More sparse history: pages as wide as the node accepts, none refused again.
      const refusedBefore = refused;
      for (let i = 0; i < 4; i++) await chain.provider.send("anvil_mine", ["0x1f4"]);
      await indexer.sync();
      expect(indexer.indexedTo).to.equal(await chain.provider.getBlockNumber());
      expect(refused - refusedBefore, "the range stays within what the node accepted").to.equal(0);
    } finally {
      db.close();
      provider.destroy();
    }
  });

  it("splits a cold catch-up into ranges, and reads a short sparse gap at the head in one request", async () => {
    const { address, registrar, coopSigner, coop } = await registryAs();
    const created = await minedReceipt(
      await registrar.createProduct({ admin: await coopSigner.getAddress(), name: "split", ...product }),
    );
    const id = created.logs.map((l) => registrar.interface.parseLog(l)).find((e) => e?.name === "ProductCreated")!.args
      .product as bigint;
    const setParticipant = async (name: string) =>
      minedReceipt(
        await coop.setParticipant(id, await coopSigner.getAddress(), {
          kind: 2,
          name,
          nameEn: "",
          licence: "",
          region: "",
        }),
      );
    const fromBlock = (await chain.provider.getBlockNumber()) + 1;
    // A sparse history of 80 blocks: one log every 20 blocks.
    for (let i = 0; i < 4; i++) {
      await setParticipant(`cold ${i}`);
      await chain.provider.send("anvil_mine", ["0x13"]);
    }
    const port = (proxy.address() as { port: number }).port;
    const provider = new JsonRpcProvider(`http://127.0.0.1:${port}`, chain.chainId, {
      staticNetwork: true,
      cacheTimeout: -1, // the head right after the blocks are mined (not a cached block number)
    });
    const db = openDb(path.join(tempDataDir("range-split"), "index.sqlite"));
    try {
      const indexer = new Indexer({ db, provider, provenanceRegistry: address, fromBlock });
      ranges.length = 0;
      await indexer.sync();
      // Nothing known of the history's density: read in several ranges (the node answers one while
      // the indexer indexes the one before).
      expect(ranges.length, "the cold catch-up's eth_getLogs requests").to.be.at.least(8);
      // Following the head: 50 blocks holding 2 logs, at the density of the last page read (sparse).
      await setParticipant("head 1");
      await chain.provider.send("anvil_mine", ["0x18"]);
      await setParticipant("head 2");
      await chain.provider.send("anvil_mine", ["0x18"]);
      const head = await chain.provider.getBlockNumber();
      expect(head - indexer.indexedTo).to.equal(50);
      ranges.length = 0;
      await indexer.sync();
      expect(ranges, "one request for the short sparse gap").to.deep.equal([[head - 49, head]]);
      expect(
        (db.prepare("SELECT name FROM participants ORDER BY block").all() as Array<{ name: string }>).map(
          (p) => p.name,
        ),
      ).to.deep.equal(["cold 0", "cold 1", "cold 2", "cold 3", "head 1", "head 2"]);
    } finally {
      db.close();
      provider.destroy();
    }
  });
});
