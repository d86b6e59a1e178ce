import { expect } from "chai";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "./helpers";

describe("CLI: private evidence in the content store (end to end, issue 3's done-when)", function () {
  this.timeout(180_000);
  const ws = makeWorkspace("store");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir });
  const design = Buffer.concat([Buffer.from("PSD private design "), Buffer.alloc(700_000, 3), Buffer.from(" end")]);

  before(function () {
    assertBuilt();
    fs.writeFileSync(path.join(ws.dir, "design.psd"), design);
    fs.writeFileSync(path.join(ws.dir, "hello.txt"), "hello world");
  });

  after(function () {
    killLocalChain(ws.dataDir);
  });

  it("stamps with --store --encrypt: the receipt gets the CID and the key, the store only ciphertext", async function () {
    const r = await run(["stamp", "design.psd", "--store", "--encrypt", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const receipt = JSON.parse(fs.readFileSync(path.join(ws.dir, "design.psd.proof.json"), "utf8"));
    expect(receipt.subject.cid).to.match(/^bafy|^bafk/);
    expect(receipt.encryption.alg).to.equal("aes-256-gcm-stream-v1");
    expect(receipt.encryption.key).to.match(/^0x[0-9a-f]{64}$/);
    // the plaintext is nowhere in the store's files
    const storeDir = path.join(ws.dataDir, "store");
    const needle = Buffer.from("PSD private design");
    const walk = (d: string): string[] =>
      fs
        .readdirSync(d, { withFileTypes: true })
        .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    for (const f of walk(storeDir)) expect(fs.readFileSync(f).includes(needle), f).to.equal(false);
  });

  it("after the local file is deleted, verifies from the store and gets the file back with the receipt alone", async function () {
    fs.rmSync(path.join(ws.dir, "design.psd"));
    const v = await run(["verify", "--proof", "design.psd.proof.json", "--from-store"]);
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    expect(v.stdout).to.match(/VERIFIED/);
    const g = await run(["store", "get", "--receipt", "design.psd.proof.json", "-o", "restored.psd"]);
    expect(g.code, g.stderr).to.equal(0);
    expect(fs.readFileSync(path.join(ws.dir, "restored.psd")).equals(design)).to.equal(true);
  });

  it("a receipt with another key cannot decrypt it: DECRYPT_FAILED, nothing written", async function () {
    const receipt = JSON.parse(fs.readFileSync(path.join(ws.dir, "design.psd.proof.json"), "utf8"));
    receipt.encryption.key = `0x${"42".repeat(32)}`;
    fs.writeFileSync(path.join(ws.dir, "wrongkey.proof.json"), JSON.stringify(receipt));
    const g = await run(["store", "get", "--receipt", "wrongkey.proof.json", "-o", "bad.psd"]);
    expect(g.code).to.equal(1);
    expect(g.stderr).to.match(/DECRYPT_FAILED/);
    expect(fs.existsSync(path.join(ws.dir, "bad.psd"))).to.equal(false);
  });

  it("a public file's CID is the one any IPFS node gives (Kubo's published CIDv1 of \"hello world\")", async function () {
    const r = await run(["stamp", "hello.txt", "--store", "--json"]);
    expect(r.code, r.stderr).to.equal(0);
    const receipt = JSON.parse(fs.readFileSync(path.join(ws.dir, "hello.txt.proof.json"), "utf8"));
    // kubo test/cli/cid_profiles_test.go: `ipfs add --cid-version 1` of "hello world"
    expect(receipt.subject.cid).to.equal("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e");
  });

  it("store add / ls / export / rm / gc / import / get: the whole lifecycle of a CID, and clear errors", async function () {
    fs.writeFileSync(path.join(ws.dir, "photo.jpg"), randomBytes(600_000));
    const add = await run(["--json", "store", "add", "photo.jpg"]);
    expect(add.code, add.stderr).to.equal(0);
    const cid = JSON.parse(add.stdout).added[0].cid as string;
    const ls = JSON.parse((await run(["--json", "store", "ls"])).stdout);
    expect(ls.entries.map((e: { cid: string }) => e.cid)).to.include(cid);
    const exp = await run(["--json", "store", "export", cid, "--car", "photo.car"]);
    expect(exp.code, exp.stderr).to.equal(0);
    expect(fs.statSync(path.join(ws.dir, "photo.car")).size).to.be.greaterThan(600_000);
    expect((await run(["store", "rm", cid])).stdout).to.include(`removed ${cid}`);
    const gc = JSON.parse((await run(["--json", "store", "gc"])).stdout);
    expect(gc.removedBlocks).to.be.greaterThan(0);
    expect((await run(["store", "get", cid, "-o", "gone.jpg"])).code, "a collected CID is gone").to.not.equal(0);
    const imp = JSON.parse((await run(["--json", "store", "import", "photo.car"])).stdout);
    expect(imp.roots).to.deep.equal([cid]);
    const get = await run(["store", "get", cid, "-o", "back.jpg"]);
    expect(get.code, get.stderr).to.equal(0);
    expect(
      fs.readFileSync(path.join(ws.dir, "back.jpg")).equals(fs.readFileSync(path.join(ws.dir, "photo.jpg"))),
    ).to.equal(true);
    const missing = await run(["store", "import", "nope.car"]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.include("nope.car does not exist");
  });
});
