import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";

// The SDK's public surface, pinned: every name each entry point of @proofmark/sdk exports at run
// time. A change to it is deliberate: rerun with PROOFMARK_UPDATE_SURFACE=1 and commit the JSON.
const SNAPSHOT = path.join(__dirname, "public-surface.json");
const PACKAGE = path.join(__dirname, "..", "..", "packages", "sdk", "package.json");

function entryPoints(): string[] {
  const exportsMap = JSON.parse(fs.readFileSync(PACKAGE, "utf8")).exports as Record<string, unknown>;
  return Object.keys(exportsMap).filter((k) => k !== "./package.json" && k !== "./internal");
}

function load(entry: string): Record<string, unknown> {
  return require(entry === "." ? "@proofmark/sdk" : `@proofmark/sdk/${entry.slice(2)}`);
}

describe("SDK: the public surface of @proofmark/sdk", function () {
  it("each entry point exports exactly the pinned names", function () {
    const actual: Record<string, string[]> = {};
    for (const entry of entryPoints()) actual[entry] = Object.keys(load(entry)).sort();
    if (process.env.PROOFMARK_UPDATE_SURFACE === "1")
      fs.writeFileSync(SNAPSHOT, `${JSON.stringify(actual, null, 2)}\n`);
    expect(actual).to.deep.equal(JSON.parse(fs.readFileSync(SNAPSHOT, "utf8")));
  });

  it("the root entry point is the union of the area entry points", function () {
    const union = new Set(
      entryPoints()
        .filter((e) => e !== ".")
        .flatMap((e) => Object.keys(load(e))),
    );
    expect(Object.keys(load(".")).sort()).to.deep.equal([...union].sort());
  });

  it("internals are not exported: file helpers, keccak internals, the Anvil binary", function () {
    const root = load(".");
    for (const name of [
      "writeFileAtomic",
      "withLockFile",
      "readFileBounded",
      "keccak256Pair",
      "keccak256PairWords",
      "LITTLE_ENDIAN",
      "anvilBinary",
    ]) {
      expect(root, name).to.not.have.property(name);
    }
    expect(() => require("@proofmark/sdk/dist/util/fs")).to.throw(
      /not defined by "exports"|not exported|ERR_PACKAGE_PATH_NOT_EXPORTED/,
    );
    expect(require("@proofmark/sdk/internal")).to.have.property("writeFileAtomic");
  });

  it("the pure core has no Node.js imports (it runs in browsers)", function () {
    const dir = path.join(__dirname, "..", "..", "packages", "sdk", "src", "core");
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
      expect(fs.readFileSync(path.join(dir, file), "utf8"), file).to.not.match(/from "node:|require\("node:/);
    }
  });
});
