import { expect } from "chai";
import { hintFor } from "../../cli/src/hints";
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

  it("SDK messages name no CLI flag or command (the CLI adds those as hints: cli/src/hints.ts)", function () {
    const root = path.join(__dirname, "..", "..", "packages", "sdk", "src");
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { withFileTypes: true })
        .flatMap((d) =>
          d.isDirectory()
            ? files(path.join(dir, d.name))
            : d.name.endsWith(".ts") && !d.name.endsWith(".generated.ts")
              ? [path.join(dir, d.name)]
              : [],
        );
    const offending: string[] = [];
    for (const file of files(root)) {
      const text = fs.readFileSync(file, "utf8");
      // every error raised: the text from `ProofmarkError(` (or a failing step) to the end of its message argument
      for (const m of text.matchAll(
        /(?:ProofmarkError|fail)\(\s*"[A-Z_]+",\s*(`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*")/g,
      )) {
        if (/`proofmark |proofmark [a-z]+ --|(^|[\s(])--[a-z][a-z-]+/.test(m[1]))
          offending.push(`${path.relative(root, file)}: ${m[1].slice(0, 120)}`);
      }
    }
    expect(offending).to.deep.equal([]);
  });

  it("the CLI turns code and details into the command or flag to use", function () {
    expect(hintFor("NETWORK_UNKNOWN", { chainId: 1 })).to.equal(
      "pass --rpc URL (an endpoint of chain 1), or add the network to config.json",
    );
    expect(hintFor("REGISTRY_UNKNOWN", { registry: "0xab" })).to.equal(
      "if you know this registry, pin it: --trust-registry 0xab",
    );
    expect(hintFor("TX_FAILED", { queued: true })).to.equal(
      "the queued files are anchored by: proofmark stamp --resume",
    );
    expect(hintFor("STORE_CORRUPT", {})).to.match(/^proofmark store repair/);
    expect(hintFor("DIGEST_MISMATCH", {})).to.equal(undefined);
  });
});
