import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { JsonRpcProvider } from "ethers";
import { evidenceRegistryInterface, verifyProof, type Hex } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace } from "../cli/helpers";
import { call, randomLeaf, submit } from "./helpers";
import { killCalendar, startCalendarProcess, type CalendarProcess } from "./process";

/**
 * A batch anchored in a transaction that a reorganisation takes out of the chain (real Anvil:
 * evm_snapshot before the anchoring, evm_revert after it) is anchored again, and its proofs are
 * served as complete only once the anchor that is on the chain has the configured confirmations.
 */
describe("calendar: an anchor reorganised out of the chain is sent again; proofs wait for confirmations", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("calendar-reorg");
  let running: CalendarProcess | undefined;
  let provider: JsonRpcProvider | undefined;

  before(function () {
    assertBuilt();
  });
  after(async function () {
    provider?.destroy();
    if (running) await killCalendar(running);
    killLocalChain(ws.dataDir);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = await fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("reverted anchoring transaction → a new one on the canonical chain; 202 until 3 confirmations, then 200 with the canonical block", async function () {
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2", "--confirmations", "3"]);
    expect(running.summary.chains[0]).to.include({ confirmations: 3 });
    const registry = running.summary.chains[0].registry;
    const { rpcUrl } = JSON.parse(fs.readFileSync(path.join(ws.dataDir, "chain", "node.json"), "utf8")) as {
      rpcUrl: string;
    };
    provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true });
    const anchorsOf = async (root: Hex) =>
      provider!.getLogs({
        address: registry,
        fromBlock: 0,
        toBlock: "latest",
        topics: [evidenceRegistryInterface.getEvent("EvidenceAnchored")!.topicHash, root],
      });
    const snapshot = (await provider.send("evm_snapshot", [])) as string;
    const leaf = randomLeaf();
    expect((await submit(running.url, [leaf])).status).to.equal(202);
    // the batch is closed and its root anchored (one block: 1 confirmation of the 3 required)
    const root = await until("the batch root", async () => (await call(`${running!.url}/v1/proofs/${leaf}`)).body.root);
    const [first] = await until("the first anchoring", async () => {
      const logs = await anchorsOf(root);
      return logs.length > 0 ? logs : undefined;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    const early = await call(`${running.url}/v1/proofs/${leaf}`);
    expect(early.status, "served before 3 confirmations").to.equal(202);

    // the reorganisation: the anchoring block and its transaction leave the chain
    expect(await provider.send("evm_revert", [snapshot])).to.equal(true);
    expect(await provider.getTransactionReceipt(first.transactionHash)).to.equal(null);

    // the calendar notices and anchors the same root again in a new transaction
    const [second] = await until("the second anchoring", async () => {
      const logs = await anchorsOf(root);
      return logs.length > 0 ? logs : undefined;
    });
    // nothing replays a reverted transaction on Anvil: this log exists only because the calendar sent
    // again (the same nonce and data can give the same signed transaction, so the hash may repeat)
    expect(running.stderr()).to.include("no longer on the chain (reorganised); anchoring again");
    expect((await call(`${running.url}/v1/proofs/${leaf}`)).status).to.equal(202);

    // confirmations come with new blocks
    await provider.send("anvil_mine", ["0x3"]);
    const done = await until("the completed proof", async () => {
      const r = await call(`${running!.url}/v1/proofs/${leaf}`);
      return r.status === 200 ? r : undefined;
    });
    const anchor = done.body.anchors[0];
    expect(anchor.txHash).to.equal(second.transactionHash);
    expect(anchor.blockNumber).to.equal(second.blockNumber);
    expect(anchor.blockHash).to.equal((await provider.getBlock(second.blockNumber))!.hash);
    expect(verifyProof(leaf, done.body.proof.path, done.body.proof.root)).to.equal(true);
    expect(await anchorsOf(root)).to.have.length(1);
    expect(running.stderr()).to.include("reorganised");
    await killCalendar(running);
    running = undefined;
  });
});
