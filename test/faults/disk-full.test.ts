import { expect } from "chai";
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { assertBuilt, killLocalChain, runCli } from "../cli/helpers";

/** Fills the file system of `dir` until fewer than `leave` bytes are free; returns the filler file. */
function fill(dir: string, leave: number): string {
  const filler = path.join(dir, "filler");
  fs.rmSync(filler, { force: true });
  const { bavail, bsize } = fs.statfsSync(dir);
  const free = bavail * bsize;
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - leave)));
  return filler;
}

/**
 * A full disk during `stamp` and `store add`, on a real (small) tmpfs: a clear DISK_FULL error,
 * and afterwards the queue, the receipts, the store index and the chain are intact, and the next
 * command after freeing space completes the work exactly once.
 */
describe("faults: a full disk", function () {
  this.timeout(600_000);
  let mount: string | undefined;
  let dir: string;
  let dataDir: string;
  const run = (args: string[]) => runCli(args, { cwd: dir, dataDir, timeoutMs: 240_000 });

  before(function () {
    assertBuilt();
    mount = fs.mkdtempSync(path.join(os.tmpdir(), "pm-full-"));
    const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=48m", "tmpfs", mount], { encoding: "utf8" });
    if (r.status !== 0) {
      fs.rmSync(mount, { recursive: true, force: true });
      mount = undefined;
      console.log(`      (skipped: cannot mount a tmpfs here: ${(r.stderr || r.error?.message || "").trim()})`);
      this.skip();
    }
    dir = mount;
    dataDir = path.join(mount, ".proofmark");
  });
  after(function () {
    if (!mount) return;
    killLocalChain(dataDir);
    spawnSync("umount", ["-l", mount]);
    fs.rmSync(mount, { recursive: true, force: true });
  });

  it("store add: DISK_FULL; the store index and packs are as before; after freeing space the add completes once", async function () {
    fs.writeFileSync(path.join(dir, "small.txt"), "kept before the disk filled\n");
    const first = await run(["store", "add", "small.txt", "--json"]);
    expect(first.code, first.stderr).to.equal(0);
    const smallCid = JSON.parse(first.stdout).added[0].cid;
    fs.writeFileSync(path.join(dir, "big.bin"), randomBytes(3 << 20)); // no two chunks alike: no dedupe
    const storeDir = path.join(dataDir, "store");
    const snapshot = () =>
      execFileSync("sh", ["-c", `cd '${storeDir}' && ls -l packs index.log && sha256sum index.log packs/*`], {
        encoding: "utf8",
      });
    const before = snapshot();
    const filler = fill(dir, 512 << 10);
    const full = await run(["store", "add", "big.bin"]);
    expect(full.code).to.equal(1);
    expect(full.stderr).to.include("[DISK_FULL]");
    expect(full.stderr).to.include("the disk is full");
    expect(full.stderr).not.to.include("unexpected error");
    expect(snapshot()).to.equal(before);
    fs.rmSync(filler);
    const again = await run(["store", "add", "big.bin", "--json"]);
    expect(again.code, again.stderr).to.equal(0);
    const ls = await run(["store", "ls", "--json"]);
    expect(JSON.parse(ls.stdout).entries.map((e: { cid: string }) => e.cid)).to.include.members([
      smallCid,
      JSON.parse(again.stdout).added[0].cid,
    ]);
  });

  it("gi import: DISK_FULL before anything is sent; nothing recorded, the journal intact; after freeing space the import records every row once", async function () {
    const ok = async (args: string[]) => {
      const r = await run(args);
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(0);
      return r;
    };
    await ok([
      "gi",
      "product",
      "create",
      "--name",
      "梨",
      "--gi-number",
      "AGI9",
      "--region",
      "砀山",
      "--unit",
      "g",
      "--admin",
      "coop",
      "--as",
      "registrar",
    ]);
    await ok(["gi", "role", "grant", "1", "producer", "farmer1", "--as", "coop"]);
    await ok(["gi", "licence", "grant", "1", "farmer1", "--quota", "5000kg", "--season", "2026", "--as", "coop"]);
    await ok([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "1200kg",
      "--plot",
      "P-1",
      "--date",
      "2026-09-01",
      "--as",
      "farmer1",
    ]);
    const csv = path.join(dir, "events.csv");
    fs.writeFileSync(
      csv,
      [
        "lot,step,disposition,time,location,quantity,note",
        "1,storing,sellable_not_accessible,2026-09-02T09:00:00+08:00,urn:x:store,1200kg,cold store",
        "1,inspecting,,2026-09-03T09:00:00+08:00,urn:x:lab,,sampled",
      ].join("\n"),
    );
    const events = async () => {
      const r = await ok(["gi", "trace", "1", "--json"]);
      return (JSON.parse(r.stdout) as { events: unknown[] }).events.length;
    };
    const before = await events();
    const journal = path.join(dataDir, "chain", "journal.ndjson");
    const journalBefore = fs.readFileSync(journal);
    const filler = fill(dir, 256 << 10);
    let full;
    try {
      full = await run(["gi", "import", csv, "--as", "coop"]);
    } finally {
      fs.rmSync(filler);
    }
    expect(full.code).to.equal(1);
    expect(full.stderr).to.include("[DISK_FULL]");
    expect(full.stderr).not.to.include("unexpected error");
    expect(fs.readFileSync(journal).equals(journalBefore), "the journal is as before").to.equal(true);
    expect(await events()).to.equal(before);
    const again = await run(["gi", "import", csv, "--as", "coop", "--json"]);
    expect(again.code, again.stderr).to.equal(0);
    expect(JSON.parse(again.stdout)).to.include({ rows: 2, recorded: 2 });
    expect(await events()).to.equal(before + 2);
  });

  it("stamp: DISK_FULL; nothing is lost; after freeing space `stamp --resume` and `stamp` complete every file exactly once", async function () {
    const docs = path.join(dir, "docs");
    fs.mkdirSync(docs);
    fs.writeFileSync(path.join(docs, "warm.txt"), "starts the chain\n");
    const warm = await run(["stamp", "docs"]);
    expect(warm.code, warm.stderr).to.equal(0);
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(docs, `f${i}.txt`), `file ${i} ${"x".repeat(200)}\n`);
    // Room for the queued batch but not for all 40 receipts (~2 KB each): the failure comes mid-way.
    const filler = fill(dir, 40 << 10);
    const full = await run(["stamp", "docs"]);
    expect(full.code).to.equal(1);
    expect(full.stderr).to.include("[DISK_FULL]");
    expect(full.stderr).not.to.include("unexpected error");
    fs.rmSync(filler);
    const resume = await run(["stamp", "--resume"]);
    expect(resume.code, resume.stderr).to.equal(0);
    const rest = await run(["stamp", "docs", "--json"]);
    expect(rest.code, rest.stderr).to.equal(0);
    const names = fs.readdirSync(docs);
    expect(
      names.filter((n) => /\.proof\.\d+\.json$/.test(n)),
      "a torn receipt kept as an earlier one",
    ).to.deep.equal([]);
    expect(names.filter((n) => n.endsWith(".tmp"))).to.deep.equal([]);
    expect(names.filter((n) => n.endsWith(".proof.json"))).to.have.length(41);
    expect(fs.readdirSync(path.join(dataDir, "queue")).filter((n) => n.endsWith(".json"))).to.deep.equal([]);
    const v = await run(["verify", "docs"]);
    expect(v.code, v.stdout + v.stderr).to.equal(0);
    expect(v.stdout).to.include("41 of 41 file(s) verified");
  });
});
