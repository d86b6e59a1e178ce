import { expect } from "chai";
import * as fs from "node:fs";
import * as net from "node:net";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";

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
});
