import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as vm from "node:vm";
import { Interface } from "ethers";
import fc from "fast-check";
import {
  computeLeaf,
  metaDigest,
  parseReceipt,
  processProof,
  serializeReceipt,
  toHex,
  type Hex,
} from "../../packages/sdk/src";
import { anchorOfCalldata, deriveLeaf, deriveMerkleSteps, verifierBundleJs } from "../../packages/sdk/src/report";
import { verifierHtml } from "../../packages/sdk/src/report/verifier";

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "vectors", "evidence.json"), "utf8"));

/** The browser bundle, evaluated in a fresh V8 context with only what a browser has (no require, no Buffer, no process). */
function loadBundle(): any {
  const context = vm.createContext({
    TextEncoder,
    TextDecoder,
    Uint8Array,
    Uint32Array,
    ArrayBuffer,
    DataView,
    Blob,
    AbortSignal,
    crypto: globalThis.crypto,
    btoa,
    atob,
    console,
  });
  vm.runInContext(`${verifierBundleJs()}\nglobalThis.ProofmarkVerifier = ProofmarkVerifier;`, context);
  return (context as any).ProofmarkVerifier;
}

describe("verifier bundle: the browser runs the SDK's own code, built from its source", function () {
  const browser = loadBundle();

  it("has no node: import, no require and no Buffer (core is isomorphic)", function () {
    const js = verifierBundleJs();
    expect(js).to.not.match(/require\(|node:|\bBuffer\.|process\.env/);
  });

  it("streaming SHA-256 of a Blob matches node:crypto for any length", async function () {
    expect((await browser.hashBlob(new Blob([]))).sha256).to.equal(
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 700 }), async (data) => {
        return (await browser.hashBlob(new Blob([data]))).sha256 === createHash("sha256").update(data).digest("hex");
      }),
      { numRuns: 100 },
    );
    const big = randomBytes(9 * 1024 * 1024 + 17); // three 4 MiB slices
    const h = await browser.hashBlob(new Blob([big]));
    expect(h).to.deep.equal({ sha256: createHash("sha256").update(big).digest("hex"), size: big.length });
  });

  it("leaves agree with test/vectors/evidence.json and with computeLeaf", function () {
    for (const v of vectors.leaves) {
      expect(browser.computeLeaf({ sha256: v.sha256, salt: v.salt, meta: v.meta }), v.name).to.equal(v.leaf);
      expect(metaDigest(v.meta)).to.equal(v.metaDigest);
    }
    const meta = { title: "设计授权合同草稿", author: "张三", note: 'a"b\\c\n' };
    const sha = createHash("sha256").update("x").digest("hex");
    const salt = toHex(randomBytes(32)) as Hex;
    expect(browser.computeLeaf({ sha256: sha, salt, meta })).to.equal(computeLeaf({ sha256: sha, salt, meta }));
    expect(deriveLeaf({ sha256: sha, salt, meta }).leaf).to.equal(computeLeaf({ sha256: sha, salt, meta }));
  });

  it("Merkle folding agrees with the vectors' trees and processProof", function () {
    for (const t of vectors.trees) {
      t.leaves.forEach((leaf: Hex, i: number) => {
        const folded = browser.processProof(leaf, t.proofs[i]);
        expect(folded.root).to.equal(t.root);
        expect(folded.steps).to.deep.equal(processProof(leaf, t.proofs[i]).steps);
        expect(deriveMerkleSteps(leaf, t.proofs[i]).map((s) => s.output)).to.deep.equal(folded.steps);
      });
    }
  });

  it("registry calldata equals the ABI encoding of anchorOf", function () {
    const abi = new Interface(["function anchorOf(bytes32 root)"]);
    const t = vectors.trees[vectors.trees.length - 1];
    expect(browser.anchorOfCalldata(t.root)).to.equal(abi.encodeFunctionData("anchorOf", [t.root]));
    expect(anchorOfCalldata(t.root)).to.equal(abi.encodeFunctionData("anchorOf", [t.root]));
  });

  it("the strict receipt parser is the same: an extra field, a duplicate key or __proto__ meta fails in the browser too", function () {
    const v = vectors.leaves[0];
    const receipt = {
      format: "proofmark-receipt",
      version: 1,
      subject: { name: v.name, size: 1, sha256: v.sha256 },
      commitment: { salt: v.salt, meta: v.meta, leaf: v.leaf },
      proof: { root: v.leaf, path: [], leafCount: 1 },
      anchors: [
        {
          chainId: 31337,
          registry: `0x${"11".repeat(20)}`,
          txHash: `0x${"22".repeat(32)}`,
          blockNumber: 1,
          blockHash: `0x${"33".repeat(32)}`,
          timestamp: 1,
          submitter: `0x${"44".repeat(20)}`,
        },
      ],
    };
    const text = serializeReceipt(parseReceipt(JSON.stringify(receipt)));
    expect(serializeReceipt(browser.parseReceipt(text))).to.equal(text);
    const bad = [
      text.replace('"format"', '"extra": 1, "format"'),
      text.replace('"version": 1', '"version": 1, "version": 1'),
      text.replace('"leaf": ', '"__proto__": {}, "leaf": '),
      JSON.stringify({ ...receipt, anchors: [receipt.anchors[0], receipt.anchors[0]] }),
    ];
    for (const b of bad) {
      let sdk: string | undefined;
      let page: string | undefined;
      try {
        parseReceipt(b);
      } catch (e) {
        sdk = (e as { code: string }).code;
      }
      try {
        browser.parseReceipt(b);
      } catch (e) {
        page = (e as { code: string }).code;
      }
      expect(sdk, b.slice(0, 80)).to.equal("RECEIPT_INVALID");
      expect(page, b.slice(0, 80)).to.equal(sdk);
    }
  });

  it("the exported page inlines the bundle, allowed by its hash; its CSP allows no resource but JSON-RPC connections", function () {
    const html = verifierHtml();
    const script = /<script>([\s\S]*)<\/script>/.exec(html)![1];
    expect(script).to.include(verifierBundleJs());
    const hash = createHash("sha256").update(script, "utf8").digest("base64");
    expect(html).to.include(
      `Content-Security-Policy" content="default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; connect-src http: https:`,
    );
    expect(html).to.not.match(/unsafe-inline'; style-src 'unsafe-inline'; connect|script-src 'unsafe/);
    expect(html).to.not.match(/<script[^>]+src=|<link /);
  });
});
