import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { CHROMIUM_ARGS, DEFAULT_CHROMIUM } from "../../packages/sdk/src";
import { DevToolsConnection } from "../../packages/sdk/src/capture/devtools";

// The capture's own DevTools connection against a real Chromium: a command Chromium never answers
// (a page's promise that never settles; a pop-up closed while its body was read) must fail, not hang
// the capture. CI once hung ten minutes on a hostile page before commands were bounded.
describe("capture: the DevTools connection never waits forever", function () {
  this.timeout(120_000);
  let profile = "";
  let context: BrowserContext | undefined;
  let dt: DevToolsConnection | undefined;

  before(async function () {
    if (!fs.existsSync(DEFAULT_CHROMIUM)) {
      console.log(`    (skipped: ${DEFAULT_CHROMIUM} is missing — apt-get install -y chromium; .ci/run installs it)`);
      this.skip();
    }
    profile = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-devtools-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: DEFAULT_CHROMIUM,
      args: [...CHROMIUM_ARGS, "--remote-debugging-port=0"],
      headless: true,
    });
    dt = await DevToolsConnection.open(profile);
  });

  after(async function () {
    dt?.close();
    await context?.close();
    if (profile) fs.rmSync(profile, { recursive: true, force: true });
  });

  const attachNewPage = async () => {
    const { targetId } = await dt!.send<{ targetId: string }>("Target.createTarget", { url: "about:blank" });
    const { sessionId } = await dt!.send<{ sessionId: string }>("Target.attachToTarget", { targetId, flatten: true });
    return { targetId, sessionId };
  };
  const neverSettles = { expression: "new Promise(() => {})", awaitPromise: true };

  it("a command without an answer fails at its deadline, naming the command", async function () {
    const { sessionId } = await attachNewPage();
    const started = Date.now();
    const err = await dt!.send("Runtime.evaluate", neverSettles, sessionId, 500).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).to.match(/^Runtime\.evaluate: no answer within 500 ms/);
    expect(Date.now() - started).to.be.within(450, 5_000);
  });

  it("closing the target fails what was sent to its session at once, and the connection keeps working", async function () {
    const { targetId, sessionId } = await attachNewPage();
    const waiting = dt!.send("Runtime.evaluate", neverSettles, sessionId).then(
      () => undefined,
      (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await dt!.send("Target.closeTarget", { targetId });
    const err = await waiting;
    expect(err?.message).to.match(/closed before it answered/);
    expect(Date.now() - started).to.be.lessThan(5_000);
    const { product } = await dt!.send<{ product: string }>("Browser.getVersion");
    expect(product).to.match(/Chrom/);
  });

  it("closing the connection fails every call still waiting", async function () {
    const { sessionId } = await attachNewPage();
    const waiting = dt!.send("Runtime.evaluate", neverSettles, sessionId).then(
      () => undefined,
      (e: Error) => e,
    );
    await new Promise((r) => setTimeout(r, 200));
    dt!.close();
    expect((await waiting)?.message).to.match(/connection was closed/);
    await dt!.send("Browser.getVersion").then(
      () => expect.fail("a closed connection sent a command"),
      (e: Error) => expect(e.message).to.match(/closed/),
    );
  });
});
