import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { ERROR_CODES, isProofmarkError, ProofmarkError } from "../../packages/sdk/src";

describe("SDK core: error codes", function () {
  it("every code is documented once in docs/errors.md, with Why and How to fix", function () {
    const doc = fs.readFileSync(path.join(__dirname, "..", "..", "docs", "errors.md"), "utf8");
    for (const code of ERROR_CODES) {
      const sections = doc.split(/^## /m).filter((s) => s.startsWith(`${code}\n`));
      expect(sections, code).to.have.length(1);
      expect(sections[0], code).to.match(/\*Why\*/);
      expect(sections[0], code).to.match(/\*How to fix\*/);
    }
  });

  it("errors are recognised by code across copies of the SDK, not by instanceof", function () {
    const e = new ProofmarkError("NOT_ANCHORED", "x");
    const foreign = Object.assign(Object.create(null), { code: "NOT_ANCHORED", [Symbol.for("proofmark.error")]: true });
    expect(isProofmarkError(e, "NOT_ANCHORED")).to.equal(true);
    expect(isProofmarkError(e, "DIGEST_MISMATCH")).to.equal(false);
    expect(isProofmarkError(foreign, "NOT_ANCHORED")).to.equal(true);
    expect(isProofmarkError(new Error("x"))).to.equal(false);
    expect(JSON.parse(JSON.stringify(e))).to.deep.equal({ code: "NOT_ANCHORED", message: "x", details: {} });
  });
});
