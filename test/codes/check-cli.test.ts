import { expect } from "chai";
import * as fs from "node:fs";
import { assertBuilt, makeWorkspace, runCli } from "../cli/helpers";

describe("proofmark codes check / codes issue without a resolver", function () {
  this.timeout(60_000);
  const ws = makeWorkspace("codes-check");
  before(() => assertBuilt());
  after(() => fs.rmSync(ws.dir, { recursive: true, force: true }));

  it("says a canonical code is well-formed and gives its parts (--json)", async function () {
    const r = await runCli(
      ["codes", "check", "https://id.example.org/01/09501101530003/10/L%281/21/8K2M4Q9TXV3C6H1R", "--json"],
      { cwd: ws.dir, dataDir: ws.dataDir },
    );
    expect(r.code, r.stderr).to.equal(0);
    expect(JSON.parse(r.stdout)).to.deep.include({
      ok: true,
      canonical: true,
      gtin: "09501101530003",
      lot: "L(1",
      serial: "8K2M4Q9TXV3C6H1R",
    });
  });

  it("accepts a lower-case escape and says it is not canonical", async function () {
    const r = await runCli(["codes", "check", "https://id.example.org/01/09501101530003/10/A%2fB/21/X"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
    });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/not canonical/);
    expect(r.stdout).to.contain("https://id.example.org/01/09501101530003/10/A%2FB/21/X");
  });

  it("exits non-zero with CODE_MALFORMED and the reason for a wrong check digit", async function () {
    const r = await runCli(["codes", "check", "https://id.example.org/01/09501101530004/10/1/21/X"], {
      cwd: ws.dir,
      dataDir: ws.dataDir,
    });
    expect(r.code).not.to.equal(0);
    expect(r.stderr).to.match(/check digit/);
    expect(r.stderr).to.contain("CODE_MALFORMED");
  });
});
