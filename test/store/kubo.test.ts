import { expect } from "chai";
import { EmbeddedStore, KuboStore } from "../../packages/sdk/src/store";
import { collect, randomData, tempDir } from "./helpers";
import * as fs from "node:fs";

/**
 * Runs against a real Kubo node: PROOFMARK_TEST_KUBO_API=http://127.0.0.1:5001 npx hardhat test test/store/kubo.test.ts
 * (no Kubo binary can be installed on the project's own machines, so these are skipped there).
 */
const api = process.env.PROOFMARK_TEST_KUBO_API;

describe("store: Kubo RPC store", function () {
  this.timeout(120_000);
  let kubo: KuboStore;
  before(function () {
    if (!api) {
      console.log(
        "      (skipped: set PROOFMARK_TEST_KUBO_API=http://127.0.0.1:5001 to run these against a real Kubo node)",
      );
      this.skip();
    }
    kubo = new KuboStore(api!);
  });

  it("adds with the same CID as the embedded store, cats and reads back verified", async function () {
    const dir = tempDir("kubo");
    const embedded = new EmbeddedStore(dir);
    try {
      const data = randomData(3 * 262_144 + 11);
      const local = await embedded.add(data);
      const remote = await kubo.add(data);
      expect(remote.cid).to.equal(local.cid);
      expect((await collect(kubo.cat(remote.cid))).equals(data)).to.equal(true);
      expect((await collect(kubo.get(remote.cid))).equals(data)).to.equal(true);
    } finally {
      await embedded.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("pins a CID imported from an embedded-store CAR", async function () {
    const dir = tempDir("kubo-pin");
    const embedded = new EmbeddedStore(dir);
    try {
      const { cid } = await embedded.add(randomData(500_000));
      expect(await kubo.importCar(embedded.exportCar(cid))).to.include(cid);
      expect(await kubo.pin(cid)).to.equal(cid);
      expect((await kubo.list()).map((e) => e.cid)).to.include(cid);
    } finally {
      await embedded.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("store: Kubo RPC store without a node", function () {
  it("reports an unreachable node as STORE_FAILED naming the URL", async function () {
    const dead = new KuboStore("http://127.0.0.1:9", { timeoutMs: 5_000 });
    try {
      await dead.id();
      expect.fail("expected an error");
    } catch (e) {
      expect((e as { code: string }).code).to.equal("STORE_FAILED");
      expect((e as Error).message).to.include("127.0.0.1:9");
    }
  });

  it("rejects a malformed --ipfs-api URL as INVALID_ARGUMENT", function () {
    expect(() => new KuboStore("not a url")).to.throw(/IPFS API must be the URL of a Kubo RPC API/);
  });
});
