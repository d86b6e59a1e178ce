import { expect } from "chai";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { isProofmarkError } from "../../packages/sdk/src/core/errors";
import { readFileBounded, readJsonIfExists } from "../../packages/sdk/src/util/fs";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";

function expectCode(fn: () => unknown, code: string, includes?: string): void {
  try {
    fn();
  } catch (e) {
    expect(isProofmarkError(e, code as never), String(e)).to.equal(true);
    if (includes) expect((e as Error).message).to.include(includes);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe("faults: inputs read whole have a bound, and damaged data files are named", function () {
  this.timeout(180_000);
  const ws = makeWorkspace("bounded");
  after(function () {
    killLocalChain(ws.dataDir);
    fs.rmSync(ws.dir, { recursive: true, force: true });
  });

  it("readFileBounded: a symlink to /dev/zero, a FIFO and a file over the limit are INPUT_TOO_LARGE; a file within it is read", function () {
    const zero = path.join(ws.dir, "zero.csv");
    fs.symlinkSync("/dev/zero", zero);
    expectCode(() => readFileBounded(zero, 1 << 20, "an import file"), "INPUT_TOO_LARGE", "not a regular file");
    const fifo = path.join(ws.dir, "fifo.csv");
    execFileSync("mkfifo", [fifo]);
    expectCode(() => readFileBounded(fifo, 1 << 20), "INPUT_TOO_LARGE", "not a regular file");
    const big = path.join(ws.dir, "big.csv");
    fs.writeFileSync(big, Buffer.alloc(2048, 65));
    expectCode(() => readFileBounded(big, 1024, "an import file"), "INPUT_TOO_LARGE", "at most 1024 bytes");
    expect(readFileBounded(big, 4096).length).to.equal(2048);
    expectCode(() => readFileBounded(path.join(ws.dir, "absent.csv")), "FILE_NOT_FOUND");
  });

  it("a truncated JSON data file (node.json, deployments) is DATA_CORRUPT naming the file", function () {
    const file = path.join(ws.dir, "node.json");
    fs.writeFileSync(file, '{"pid": 12');
    expectCode(() => readJsonIfExists(file), "DATA_CORRUPT", file);
    fs.writeFileSync(file, "");
    expectCode(() => readJsonIfExists(file), "DATA_CORRUPT", "empty");
  });

  it("gi import of a CSV symlinked to /dev/zero: INPUT_TOO_LARGE at once, not a read without end", async function () {
    assertBuilt();
    const csv = path.join(ws.dir, "season.csv");
    fs.symlinkSync("/dev/zero", csv);
    const r = await runCli(["gi", "import", "season.csv"], { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 120_000 });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include("[INPUT_TOO_LARGE]");
    expect(r.stderr).to.include("season.csv");
  });
});
