import { expect } from "chai";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { assertBuilt, killLocalChain, makeWorkspace, runCli, type CliResult } from "../cli/helpers";

/**
 * Runs the CLI's `main` in a process without the bin script's process.exit (fixtures/main-without-exit.js):
 * the process ends by itself only when the command closed every handle it opened.
 */
function runMainWithoutExit(args: string[], opts: { cwd: string; dataDir: string }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(__dirname, "fixtures", "main-without-exit.js"), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, PROOFMARK_HOME: opts.dataDir, PROOFMARK_LINGER_MS: "5000" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`proofmark ${args.join(" ")} (main without exit) never ended\n${stdout}\n${stderr}`));
    }, 120_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

/** A TCP server holding a port, as another program would. */
async function occupyPort(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((s) => s.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { port: (server.address() as net.AddressInfo).port, close: () => new Promise((r) => server.close(() => r())) };
}

describe("faults: every command exits after its last word, with a coded error", function () {
  this.timeout(180_000);
  const ws = makeWorkspace("exit");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 60_000 });
  let busy: { port: number; close(): Promise<void> };

  before(async function () {
    assertBuilt();
    busy = await occupyPort();
  });
  after(async function () {
    await busy.close();
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  for (const command of [["serve"], ["store", "serve"]]) {
    it(`${command.join(" ")} --port P with P in use: says so and exits (no hang), without starting anything`, async function () {
      const t0 = Date.now();
      const r = await run([...command, "--port", String(busy.port)]);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.include(`port ${busy.port} on 127.0.0.1 is in use`);
      expect(r.stderr).to.include("[INVALID_ARGUMENT]");
      expect(r.stderr).not.to.include("unexpected error");
      expect(Date.now() - t0).to.be.lessThan(50_000);
      expect(fs.existsSync(`${ws.dataDir}/chain/node.json`), "no chain was started for nothing").to.equal(false);
    });
  }

  it('a port out of range and a host that does not resolve are usage errors, not "unexpected error"', async function () {
    const big = await run(["serve", "--port", "70000"]);
    expect(big.code).to.equal(2);
    expect(big.stderr).to.include("is not a port");
    const host = await run(["serve", "--port", "0", "--host", "no-such-host.invalid"]);
    expect(host.code, host.stderr).to.equal(2);
    expect(host.stderr).to.match(/not a known host name|not an address of this machine/);
    expect(host.stderr).not.to.include("unexpected error");
    const storeHost = await run(["store", "serve", "--port", "0", "--host", "no-such-host.invalid"]);
    expect(storeHost.code, storeHost.stderr).to.equal(2);
    expect(storeHost.stderr).not.to.include("unexpected error");
  });

  it("commands other than serve close every handle they open: with main run in-process and no process.exit, the process ends by itself", async function () {
    const dir = path.join(ws.dir, "handles");
    const dataDir = path.join(dir, ".proofmark");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "a.txt"), "closes what it opens\n");
    const hang = net.createServer(() => undefined); // accepts and never answers
    await new Promise<void>((r) => hang.listen(0, "127.0.0.1", () => r()));
    const hangUrl = `http://127.0.0.1:${(hang.address() as net.AddressInfo).port}`;
    try {
      const cases: Array<{ args: string[]; code: number }> = [
        { args: ["stamp", "a.txt", "--store"], code: 0 },
        { args: ["verify", "a.txt"], code: 0 },
        { args: ["show", "a.txt.proof.json"], code: 0 },
        { args: ["store", "add", "a.txt"], code: 0 },
        { args: ["store", "ls"], code: 0 },
        { args: ["node", "status"], code: 0 },
        { args: ["accounts"], code: 0 },
        { args: ["node", "mine", "2"], code: 0 },
        { args: ["verify", "a.txt", "--rpc", hangUrl, "--rpc-timeout", "2"], code: 1 },
        { args: ["verify", "missing.txt"], code: 1 },
      ];
      for (const c of cases) {
        const t0 = Date.now();
        const r = await runMainWithoutExit(c.args, { cwd: dir, dataDir });
        expect(r.stderr, c.args.join(" ")).not.to.include("LINGERING");
        expect(r.code, `${c.args.join(" ")}: ${r.stderr}`).to.equal(c.code);
        expect(Date.now() - t0, c.args.join(" ")).to.be.lessThan(100_000);
      }
    } finally {
      hang.close();
      killLocalChain(dataDir);
    }
  });
});
