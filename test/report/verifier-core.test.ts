import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Interface } from "ethers";
import fc from "fast-check";
import { computeLeaf, keccak256, LEAF_DOMAIN, metaDigest, processProof, toHex, type Hex } from "../../packages/sdk/src";
import { anchorOfCalldata, deriveLeaf, deriveMerkleSteps } from "../../packages/sdk/src/report";
import * as browser from "../../packages/sdk/src/report/verifier-browser";
import { verifierHtml } from "../../packages/sdk/src/report/verifier";

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "vectors", "evidence.json"), "utf8"));

function sha256Browser(data: Uint8Array, cuts: number[] = []): string {
  const st = browser.sha256Init();
  let prev = 0;
  for (const c of [...cuts.filter((x) => x > 0 && x < data.length).sort((a, b) => a - b), data.length]) {
    browser.sha256Update(st, data.subarray(prev, c));
    prev = c;
  }
  return browser.sha256Final(st);
}

describe("standalone verifier: the inlined hash code agrees with the SDK", function () {
  it("keccak-256 matches published values and the SDK at every padding boundary", function () {
    expect(browser.bytesToHex(browser.keccak256(new Uint8Array()))).to.equal("0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
    expect(browser.bytesToHex(browser.keccak256(new TextEncoder().encode("abc")))).to.equal("0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
    for (const n of [1, 31, 32, 64, 127, 128, 135, 136, 137, 271, 272, 273, 1000]) {
      const data = randomBytes(n);
      expect(browser.bytesToHex(browser.keccak256(data)), `length ${n}`).to.equal(toHex(keccak256(data)));
    }
    expect(browser.bytesToHex(browser.keccak256(new TextEncoder().encode("proofmark.evidence.leaf.v1")))).to.equal(LEAF_DOMAIN);
    expect(LEAF_DOMAIN).to.equal(vectors.domain);
  });

  it("streaming SHA-256 matches node:crypto for any length and any chunking", function () {
    expect(sha256Browser(new Uint8Array())).to.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    fc.assert(fc.property(fc.uint8Array({ maxLength: 700 }), fc.array(fc.nat(700), { maxLength: 6 }), (data, cuts) => {
      return sha256Browser(data, cuts) === createHash("sha256").update(data).digest("hex");
    }), { numRuns: 300 });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    expect(sha256Browser(big, [1, 65, 1 << 20, 2 << 20])).to.equal(createHash("sha256").update(big).digest("hex"));
  });

  it("leaves agree with test/vectors/evidence.json and with computeLeaf", function () {
    for (const v of vectors.leaves) {
      const got = browser.evidenceLeaf(v.sha256, v.salt, v.meta);
      expect(got.metaDigest, v.name).to.equal(v.metaDigest);
      expect(got.leaf, v.name).to.equal(v.leaf);
      expect(sha256Browser(new TextEncoder().encode(v.content))).to.equal(v.sha256);
    }
    const meta = { title: "设计授权合同草稿", author: "张三", note: "a\"b\\c\n" };
    const sha = createHash("sha256").update("x").digest("hex");
    const salt = toHex(randomBytes(32)) as Hex;
    expect(browser.evidenceLeaf(sha, salt, meta).leaf).to.equal(computeLeaf({ sha256: sha, salt, meta }));
    expect(browser.evidenceLeaf(sha, salt, meta).metaDigest).to.equal(metaDigest(meta));
    expect(deriveLeaf({ sha256: sha, salt, meta }).leaf).to.equal(computeLeaf({ sha256: sha, salt, meta }));
  });

  it("Merkle folding agrees with the vectors' trees and processProof", function () {
    for (const t of vectors.trees) {
      t.leaves.forEach((leaf: Hex, i: number) => {
        const nodes = browser.foldPath(leaf, t.proofs[i]);
        expect(nodes.length ? nodes[nodes.length - 1] : leaf).to.equal(t.root);
        expect(nodes).to.deep.equal(processProof(leaf, t.proofs[i]).steps);
        const steps = deriveMerkleSteps(leaf, t.proofs[i]);
        expect(steps.map((s) => s.output)).to.deep.equal(nodes);
      });
    }
  });

  it("registry calldata equals the ABI encoding of anchorOf and verify", function () {
    const abi = new Interface(["function anchorOf(bytes32 root)", "function verify(bytes32 leaf, bytes32[] proof, bytes32 root)"]);
    const t = vectors.trees[vectors.trees.length - 1];
    const calls = browser.registryCalldata(t.leaves[2], t.proofs[2], t.root);
    expect(calls.anchorOf).to.equal(abi.encodeFunctionData("anchorOf", [t.root]));
    expect(calls.anchorOf).to.equal(anchorOfCalldata(t.root));
    expect(calls.verify).to.equal(abi.encodeFunctionData("verify", [t.leaves[2], t.proofs[2], t.root]));
  });

  it("the exported page inlines that code, with a CSP that allows no resource but JSON-RPC connections", function () {
    const html = verifierHtml();
    expect(html).to.include("function keccak256(");
    expect(html).to.include("function verifyInBrowser(");
    expect(html).to.not.match(/__awaiter|require\(|exports\./);
    expect(html).to.match(/Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src http: https:"/);
    expect(html).to.not.match(/<script[^>]+src=|<link /);
  });
});
