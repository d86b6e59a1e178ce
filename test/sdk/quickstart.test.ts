import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { quickstart } from "../../examples/sdk/quickstart";
import { killLocalChain } from "../cli/helpers";

// The README's "SDK in 20 lines" is examples/sdk/quickstart.ts: run it, so it never rots.
describe("SDK: the README's 20-line quickstart runs as written", function () {
  this.timeout(180_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-quickstart-"));
  const dataDir = path.join(dir, ".proofmark");
  after(() => {
    killLocalChain(dataDir);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("stamps and verifies two files, records a harvest and traces it as genuine", async function () {
    const files = ["logo.svg", "poster.txt"].map((n, i) => {
      fs.writeFileSync(path.join(dir, n), `design ${i}\n`);
      return path.join(dir, n);
    });
    const r = await quickstart(dataDir, files);
    // a fresh local chain marks a block final only 64 blocks later: anchored and checked, not yet final
    expect(r.verdicts).to.deep.equal(["not-final", "not-final"]);
    expect(r.lot).to.equal(1);
    expect(r.status).to.equal("genuine");
  });
});
