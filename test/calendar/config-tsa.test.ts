import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";
import { DEV_KEY_0 } from "../helpers/ganache";
import { randomLeaf, submit, waitComplete } from "./helpers";
import { killCalendar, startCalendarProcess, type CalendarProcess } from "./process";

/**
 * `calendar serve --chain NAME` takes the TSAs of that network from config.json (`networks.NAME.tsa`)
 * besides `--tsa`: the batch root gets a real token from each (the local openssl TSA here).
 */
describe("calendar: TSAs from the network config", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("calendar-config-tsa");
  let running: CalendarProcess | undefined;

  before(function () {
    assertBuilt();
  });
  after(async function () {
    if (running) await killCalendar(running);
    killLocalChain(ws.dataDir);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("a network's tsa list is used when --chain names it; a bad entry is refused with INVALID_ARGUMENT before anything starts", async function () {
    // the embedded chain, with its registry deployed by a first run, is reached as a configured network
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2"]);
    const registry = running.summary.chains[0].registry;
    await killCalendar(running);
    running = undefined;
    const { rpcUrl } = JSON.parse(fs.readFileSync(path.join(ws.dataDir, "chain", "node.json"), "utf8")) as {
      rpcUrl: string;
    };
    const config = path.join(ws.dataDir, "config.json");
    fs.writeFileSync(config, JSON.stringify({ networks: { lan: { chainId: 31337, rpc: rpcUrl, tsa: ["local"] } } }));
    const env = { PROOFMARK_CALENDAR_KEY: `0x${randomBytes(32).toString("hex")}`, PROOFMARK_PRIVATE_KEY: DEV_KEY_0 };
    running = await startCalendarProcess(ws.dataDir, ["--interval", "0.2", "--chain", "lan"], env);
    const summary = running.summary as unknown as {
      tsa: string[];
      localTsaCa?: string;
      chains: Array<{ name: string; registry: string }>;
    };
    expect(summary.chains.map((c) => [c.name, c.registry])).to.deep.equal([["lan", registry]]);
    expect(summary.tsa).to.have.length(1);
    expect(summary.tsa[0]).to.match(/^http:\/\/127\.0\.0\.1:\d+/);
    expect(summary.localTsaCa).to.be.a("string");
    const leaf = randomLeaf();
    expect((await submit(running.url, [leaf])).status).to.equal(202);
    const proof = await waitComplete(running.url, leaf, 120_000);
    expect(proof.status).to.equal(200);
    expect(proof.body.timestamps.map((t: { tsa: string }) => t.tsa)).to.deep.equal(summary.tsa);
    expect(proof.body.timestamps[0].token).to.be.a("string");
    await killCalendar(running);
    running = undefined;

    fs.writeFileSync(
      config,
      JSON.stringify({ networks: { lan: { chainId: 31337, rpc: rpcUrl, tsa: ["ftp://tsa.example"] } } }),
    );
    const bad = await runCli(["calendar", "serve", "--port", "0", "--chain", "lan"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
      env,
    });
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include("INVALID_ARGUMENT");
    expect(bad.stderr).to.include("networks.lan.tsa");
  });
});
