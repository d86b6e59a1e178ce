import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { gunzipSync } from "node:zlib";
import { anvilBinary } from "../../packages/sdk/src/internal";
import {
  EvidenceRegistryClient,
  isProofmarkError,
  LocalNode,
  openChain,
  readDeployments,
  rpcCall,
  type ChainContext,
  type Hex,
} from "../../packages/sdk/src";
import { assertBuilt, runCli } from "../cli/helpers";

/** The embedded chain's durability: an fsynced block journal, replayed on start with the same hashes. */
describe("local chain: journal, restart, identity, concurrency", function () {
  this.timeout(300_000);
  const dirs: string[] = [];
  const tmp = (prefix: string) => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), `proofmark-chain-${prefix}-`));
    dirs.push(d);
    return path.join(d, ".proofmark");
  };
  const nodeInfo = (dataDir: string) =>
    JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "node.json"), "utf8")) as {
      pid: number;
      rpcUrl: string;
      genesisHash: string;
      identity: string;
    };
  const killChain = (dataDir: string) => {
    try {
      process.kill(nodeInfo(dataDir).pid, "SIGKILL");
    } catch {
      // not running
    }
  };
  const blockHashes = async (url: string) => {
    const head = Number(BigInt(await rpcCall<string>(url, "eth_blockNumber", [])));
    const out: string[] = [];
    for (let n = 0; n <= head; n++)
      out.push((await rpcCall<{ hash: string }>(url, "eth_getBlockByNumber", [`0x${n.toString(16)}`, false])).hash);
    return out;
  };
  const anchorOnce = async (chain: ChainContext, byte: string) => {
    const registry = new EvidenceRegistryClient(await chain.registryAddress("EvidenceRegistry"), await chain.signer());
    const anchor = await registry.anchor(`0x${byte.repeat(32)}` as Hex, 1);
    await chain.persist();
    return anchor;
  };

  after(function () {
    for (const d of dirs) {
      killChain(path.join(d, ".proofmark"));
      fs.rmSync(d, { recursive: true, force: true });
    }
  });

  it("restarts after SIGKILL with the same blocks (same hashes), having lost no reported write", async function () {
    const dataDir = tmp("restart");
    const chain = await openChain({ dataDir });
    const first = await anchorOnce(chain, "a1");
    await rpcCall(chain.rpcUrls[0], "anvil_mine", ["0x5"]);
    await chain.persist();
    const second = await anchorOnce(chain, "b2");
    const before = await blockHashes(chain.rpcUrls[0]);
    chain.close();
    expect(before.length).to.equal(second.blockNumber + 1);

    killChain(dataDir);
    const again = await openChain({ dataDir });
    try {
      expect(again.rpcUrls[0]).to.not.equal(undefined);
      expect(await blockHashes(again.rpcUrls[0])).to.deep.equal(before);
      const registry = new EvidenceRegistryClient(
        readDeployments(dataDir, 31337).EvidenceRegistry!.address,
        again.provider,
      );
      expect((await registry.anchorOf(`0x${"a1".repeat(32)}` as Hex)).blockNumber).to.equal(first.blockNumber);
      expect((await registry.anchorOf(`0x${"b2".repeat(32)}` as Hex)).blockNumber).to.equal(second.blockNumber);
      // new blocks follow the wall clock again, not the replayed time
      const third = await anchorOnce(again, "c3");
      expect(Math.abs(third.timestamp - Date.now() / 1000)).to.be.below(120);
    } finally {
      again.close();
    }
  });

  it("takes a snapshot in the background once the journal has grown, and restarts from it plus the journal after it, same hashes", async function () {
    const dataDir = tmp("snapshot");
    process.env.PROOFMARK_SNAPSHOT_BYTES = "2000";
    try {
      const chain = await openChain({ dataDir });
      await anchorOnce(chain, "71");
      await anchorOnce(chain, "72");
      const meta = path.join(dataDir, "chain", "snapshot.meta.json");
      for (let i = 0; i < 600 && !fs.existsSync(meta); i++) await new Promise((r) => setTimeout(r, 100));
      const taken = JSON.parse(fs.readFileSync(meta, "utf8")) as { block: number; file: string };
      expect(fs.existsSync(path.join(dataDir, "chain", taken.file))).to.equal(true);
      delete process.env.PROOFMARK_SNAPSHOT_BYTES;
      await anchorOnce(chain, "73");
      const hashes = await blockHashes(chain.rpcUrls[0]);
      expect(hashes.length - 1).to.be.above(taken.block);
      chain.close();
      for (let i = 0; i < 100 && fs.existsSync(path.join(dataDir, "chain", "snapshot.lock")); i++)
        await new Promise((r) => setTimeout(r, 100));
      killChain(dataDir);
      const again = await openChain({ dataDir });
      try {
        expect(await blockHashes(again.rpcUrls[0])).to.deep.equal(hashes);
        // it was started from the snapshot (then replayed only the blocks after it)
        expect(fs.readFileSync(`/proc/${nodeInfo(dataDir).pid}/cmdline`, "utf8").split("\0")).to.include(
          "--load-state",
        );
      } finally {
        again.close();
      }
    } finally {
      delete process.env.PROOFMARK_SNAPSHOT_BYTES;
    }
  });

  it("a snapshot keeps the state and the newest blocks; older blocks load after a restart, and an old receipt still verifies (same hashes, logs, transactions)", async function () {
    assertBuilt();
    const dataDir = tmp("history");
    const dir = path.dirname(dataDir);
    fs.writeFileSync(path.join(dir, "old.txt"), "anchored in an old block\n");
    const stamped = await runCli(["stamp", "old.txt"], { cwd: dir, dataDir, timeoutMs: 120_000 });
    expect(stamped.code, stamped.stderr).to.equal(0);
    const chain = await openChain({ dataDir });
    await rpcCall(chain.rpcUrls[0], "anvil_mine", ["0x14"]);
    await chain.persist();
    await anchorOnce(chain, "d1");
    await rpcCall(chain.rpcUrls[0], "anvil_mine", ["0x14"]);
    await chain.persist();
    const local = new LocalNode(dataDir);
    await local.snapshot();
    const meta = JSON.parse(fs.readFileSync(path.join(dataDir, "chain", "snapshot.meta.json"), "utf8")) as {
      file: string;
      block: number;
      recentFrom: number;
      history: Array<{ file: string; from: number; to: number }>;
    };
    expect(meta.recentFrom).to.be.above(20);
    expect(meta.history[0].from).to.equal(0);
    expect(meta.history[meta.history.length - 1].to).to.equal(meta.recentFrom - 1);
    const state = JSON.parse(fs.readFileSync(path.join(dataDir, "chain", meta.file), "utf8")) as {
      blocks: Array<{ header: { number: string } }>;
    };
    expect(Math.min(...state.blocks.map((b) => Number(BigInt(b.header.number))))).to.equal(meta.recentFrom);
    await anchorOnce(chain, "d2"); // after the snapshot: replayed from the journal
    const hashes = await blockHashes(chain.rpcUrls[0]);
    const oldBlock = Number(
      (
        JSON.parse(fs.readFileSync(path.join(dir, "old.txt.proof.json"), "utf8")) as {
          anchors: Array<{ blockNumber: number }>;
        }
      ).anchors[0].blockNumber,
    );
    expect(oldBlock).to.be.below(meta.recentFrom);
    chain.close();
    killChain(dataDir);

    // A writer does not wait for the older blocks…
    const started = await runCli(["node", "start", "--json"], { cwd: dir, dataDir, timeoutMs: 120_000 });
    expect(started.code, started.stderr).to.equal(0);
    expect(fs.readFileSync(`/proc/${nodeInfo(dataDir).pid}/cmdline`, "utf8").split("\0")).to.include("--load-state");
    // …a reader does: then every block is there with its hash, and the old receipt verifies in full.
    const v = await runCli(["verify", "old.txt", "--json"], { cwd: dir, dataDir, timeoutMs: 300_000 });
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    const result = JSON.parse(v.stdout) as {
      ok: boolean;
      status: string;
      anchors: Array<{ unchecked: string[]; steps: Array<{ step: string; ok: boolean }> }>;
    };
    expect(result.ok).to.equal(true);
    expect(result.status).to.be.oneOf(["verified", "not-final"]);
    expect(
      result.anchors[0].steps.filter((st) => ["block", "log", "tx"].includes(st.step)).map((st) => st.ok),
    ).to.deep.equal([true, true, true]);
    expect(result.anchors[0].unchecked.join(" ")).not.to.include("history not available");
    expect(local.historyLoaded(nodeInfo(dataDir) as never)).to.equal(true);
    expect(await blockHashes(nodeInfo(dataDir).rpcUrl)).to.deep.equal(hashes);

    // A missing chunk makes the snapshot unusable: the whole journal is replayed instead, same hashes.
    killChain(dataDir);
    fs.rmSync(path.join(dataDir, "chain", meta.history[0].file));
    const again = await openChain({ dataDir });
    try {
      expect(fs.readFileSync(`/proc/${nodeInfo(dataDir).pid}/cmdline`, "utf8").split("\0")).not.to.include(
        "--load-state",
      );
      expect(await blockHashes(again.rpcUrls[0])).to.deep.equal(hashes);
    } finally {
      again.close();
    }
  });

  it("adopts a data folder written before the journal (Anvil's state.json): same blocks, then journaled", async function () {
    const dataDir = tmp("legacy");
    fs.mkdirSync(path.join(dataDir, "chain"), { recursive: true });
    // The previous design's chain: default Anvil arguments, state dumped to chain/state.json.
    const child = spawn(
      anvilBinary(),
      [
        "--port",
        "0",
        "--chain-id",
        "31337",
        "--accounts",
        "12",
        "--mnemonic",
        "test test test test test test test test test test test junk",
      ],
      { stdio: ["ignore", "pipe", "ignore"] },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    for (let i = 0; i < 200 && !/Listening on [^\s:]+:\d+/.test(out); i++) await new Promise((r) => setTimeout(r, 50));
    const url = `http://127.0.0.1:${/Listening on [^\s:]+:(\d+)/.exec(out)![1]}`;
    try {
      await rpcCall(url, "eth_sendTransaction", [
        {
          from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
          to: "0x000000000000000000000000000000000000dEaD",
          value: "0x1",
        },
      ]);
      await rpcCall(url, "anvil_mine", ["0x3"]);
      const legacyHashes = await blockHashes(url);
      const dump = await rpcCall<string>(url, "anvil_dumpState", []);
      fs.writeFileSync(path.join(dataDir, "chain", "state.json"), gunzipSync(Buffer.from(dump.slice(2), "hex")));
      child.kill("SIGKILL");
      const info = await new LocalNode(dataDir).start();
      expect((await blockHashes(info.rpcUrl)).slice(0, legacyHashes.length)).to.deep.equal(legacyHashes);
      expect(
        fs
          .readFileSync(path.join(dataDir, "chain", "journal.ndjson"), "utf8")
          .trimEnd()
          .split("\n"),
      ).to.have.length(legacyHashes.length);
      killChain(dataDir);
      const again = await new LocalNode(dataDir).start();
      expect((await blockHashes(again.rpcUrl)).slice(0, legacyHashes.length)).to.deep.equal(legacyHashes);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("appends to the journal (the earlier bytes never change), and a torn last line is ignored and overwritten", async function () {
    const dataDir = tmp("journal");
    const chain = await openChain({ dataDir });
    try {
      await anchorOnce(chain, "d4");
      const journal = path.join(dataDir, "chain", "journal.ndjson");
      const before = fs.readFileSync(journal);
      await anchorOnce(chain, "e5");
      const after = fs.readFileSync(journal);
      expect(after.subarray(0, before.length).equals(before)).to.equal(true);
      expect(after.length - before.length).to.be.below(2_000); // one block: its line only
      const hashes = await blockHashes(chain.rpcUrls[0]);
      chain.close();
      killChain(dataDir);
      fs.appendFileSync(journal, '{"n":99,"t":1,"h":"0xdead'); // a crash in the middle of an append
      const again = await openChain({ dataDir });
      try {
        expect(await blockHashes(again.rpcUrls[0])).to.deep.equal(hashes);
        await anchorOnce(again, "f6");
        const lines = fs.readFileSync(journal, "utf8").trimEnd().split("\n");
        expect(lines.every((l) => JSON.parse(l))).to.equal(true);
        expect(lines.length).to.equal(hashes.length + 1); // header + blocks 1..head, the new block replaces the torn line
      } finally {
        again.close();
      }
    } finally {
      chain.close();
    }
  });

  it("cuts blocks undone by evm_revert from the journal, so a restart gives the chain as it is", async function () {
    const dataDir = tmp("revert");
    const chain = await openChain({ dataDir });
    await anchorOnce(chain, "11");
    const snapshot = await chain.provider.send("evm_snapshot", []);
    await anchorOnce(chain, "22");
    await chain.provider.send("evm_revert", [snapshot]);
    await anchorOnce(chain, "33");
    const hashes = await blockHashes(chain.rpcUrls[0]);
    chain.close();
    killChain(dataDir);
    const again = await openChain({ dataDir });
    try {
      expect(await blockHashes(again.rpcUrls[0])).to.deep.equal(hashes);
    } finally {
      again.close();
    }
  });

  it("a folder deleted while its chain runs gets a chain of its own, and the old chain cannot write into it", async function () {
    const dataDir = tmp("deleted");
    const oldNode = new LocalNode(dataDir);
    const old = await oldNode.start();
    fs.rmSync(dataDir, { recursive: true, force: true });
    const fresh = await new LocalNode(dataDir).start();
    try {
      expect(fresh.pid).to.not.equal(old.pid);
      expect(fresh.genesisHash).to.not.equal(old.genesisHash);
      expect(fresh.identity).to.not.equal(old.identity);
      await rpcCall(old.rpcUrl, "evm_mine", []);
      const err = await oldNode.persist().catch((e) => e);
      expect(isProofmarkError(err, "CHAIN_FOREIGN"), String(err)).to.equal(true);
      expect(
        fs
          .readFileSync(path.join(dataDir, "chain", "journal.ndjson"), "utf8")
          .trimEnd()
          .split("\n"),
      ).to.have.length(1);
      // node.json naming the old chain is not taken for this folder's chain
      fs.writeFileSync(path.join(dataDir, "chain", "node.json"), JSON.stringify({ ...old }));
      expect(await new LocalNode(dataDir).status()).to.equal(null);
    } finally {
      process.kill(old.pid, "SIGKILL");
      process.kill(fresh.pid, "SIGKILL");
    }
  });

  it("folders started at the same moment each get their own chain (ports taken atomically, identity checked)", async function () {
    const dataDirs = [tmp("race1"), tmp("race2"), tmp("race3")];
    const infos = await Promise.all(dataDirs.map((d) => new LocalNode(d).start()));
    expect(new Set(infos.map((i) => i.port)).size).to.equal(3);
    expect(new Set(infos.map((i) => i.genesisHash)).size).to.equal(3);
    for (const [i, d] of dataDirs.entries()) {
      const status = await new LocalNode(d).status();
      expect(status?.pid).to.equal(infos[i].pid);
      expect(process.kill(infos[i].pid, 0)).to.equal(true);
    }
  });

  it("a damaged node.json is recovered from; a damaged deployments file is CHAIN_STATE_CORRUPT naming it", async function () {
    const dataDir = tmp("damaged");
    const chain = await openChain({ dataDir });
    await anchorOnce(chain, "44");
    chain.close();
    const info = path.join(dataDir, "chain", "node.json");
    const firstPid = nodeInfo(dataDir).pid; // orphaned once its record is damaged (it writes nothing into the folder)
    fs.writeFileSync(info, fs.readFileSync(info, "utf8").slice(0, 20));
    const again = await openChain({ dataDir });
    try {
      expect(await again.registryAddress("EvidenceRegistry")).to.equal(
        readDeployments(dataDir, 31337).EvidenceRegistry!.address,
      );
    } finally {
      again.close();
      process.kill(firstPid, "SIGKILL");
    }
    const file = path.join(dataDir, "deployments", "31337.json");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").slice(0, 30));
    const err = (() => {
      try {
        readDeployments(dataDir, 31337);
      } catch (e) {
        return e;
      }
    })();
    expect(isProofmarkError(err, "CHAIN_STATE_CORRUPT")).to.equal(true);
    expect((err as Error).message).to.include(file);
  });

  it("bounds Anvil's log: past 1 MiB it is rotated to anvil.log.1", async function () {
    const dataDir = tmp("log");
    const node = new LocalNode(dataDir);
    await node.start();
    fs.appendFileSync(node.logFile, "x".repeat(1_200_000));
    await node.persist();
    expect(fs.statSync(node.logFile).size).to.be.below(100_000);
    expect(fs.statSync(`${node.logFile}.1`).size).to.be.above(1_200_000);
  });

  describe("through the CLI", function () {
    before(function () {
      assertBuilt();
    });

    it("three `gi product create` at once in a fresh folder: one registry, three products", async function () {
      const dataDir = tmp("first-use");
      const cwd = path.dirname(dataDir);
      const create = (n: number) =>
        runCli(
          [
            "gi",
            "product",
            "create",
            "--name",
            `P${n}`,
            "--gi-number",
            `AGI0000${n}`,
            "--region",
            "R",
            "--unit",
            "g",
            "--admin",
            "coop",
            "--as",
            "registrar",
            "--json",
          ],
          { cwd, dataDir, timeoutMs: 180_000 },
        );
      const results = await Promise.all([1, 2, 3].map(create));
      for (const r of results) expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(results.map((r) => JSON.parse(r.stdout).product).sort()).to.deep.equal([1, 2, 3]);
      const shown = await runCli(["gi", "product", "show", "3", "--json"], { cwd, dataDir });
      expect(shown.code, shown.stderr).to.equal(0);
      expect(fs.readdirSync(path.join(dataDir, "deployments")).filter((f) => f.endsWith(".json"))).to.deep.equal([
        "31337.json",
      ]);
    });

    it("`node mine 2000` mines them all and keeps them across a restart", async function () {
      const dataDir = tmp("mine");
      const cwd = path.dirname(dataDir);
      const r = await runCli(["node", "mine", "2000", "--json"], { cwd, dataDir, timeoutMs: 240_000 });
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout)).to.include({ mined: 2000, blockNumber: 2000 });
      const { rpcUrl } = nodeInfo(dataDir);
      const last = (await rpcCall<{ hash: string }>(rpcUrl, "eth_getBlockByNumber", ["0x7d0", false])).hash;
      killChain(dataDir);
      const s = await runCli(["node", "start", "--json"], { cwd, dataDir, timeoutMs: 240_000 });
      expect(s.code, s.stderr).to.equal(0);
      expect(
        (await rpcCall<{ hash: string }>(JSON.parse(s.stdout).rpcUrl, "eth_getBlockByNumber", ["0x7d0", false])).hash,
      ).to.equal(last);
    });
  });
});
