import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { escapeControlChars } from "../../packages/sdk/src";
import { assertBuilt, killLocalChain, makeWorkspace, runCli } from "../cli/helpers";

/** Bytes that let a printed string move the cursor, rewrite a line, recolour or reorder it. */
const TERMINAL_CONTROL =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/;

describe("faults: names and untrusted strings are printed escaped on a terminal", function () {
  describe("escapeControlChars", function () {
    it("escapes newlines, carriage returns, ANSI and OSC escapes, C1 controls and bidi controls", function () {
      expect(escapeControlChars("a\nb\rc\td")).to.equal("a\\nb\\rc\\td");
      expect(escapeControlChars("\u001b[2K\u001b]0;title\u0007")).to.equal("\\e[2K\\e]0;title\\x07");
      expect(escapeControlChars("\u009b31m")).to.equal("\\x9b31m");
      expect(escapeControlChars("invoice\u202eFDP.exe")).to.equal("invoice\\u202eFDP.exe");
      expect(escapeControlChars("\u2066x\u2069\u200f\u2028")).to.equal("\\u2066x\\u2069\\u200f\\u2028");
      expect(escapeControlChars("back\\slash")).to.equal("back\\\\slash"); // an escape can never be faked
      expect(escapeControlChars("Café 咖啡 ✓")).to.equal("Café 咖啡 ✓");
    });

    it("leaves nothing a terminal would act on, for any string (property)", function () {
      for (let i = 0; i < 2000; i++) {
        const s = Array.from({ length: 12 }, () => String.fromCharCode(Math.floor(Math.random() * 0x2100))).join("");
        expect(TERMINAL_CONTROL.test(escapeControlChars(s)), JSON.stringify(s)).to.equal(false);
      }
    });
  });

  describe("verify DIR with a hostile file name", function () {
    this.timeout(300_000);
    const ws = makeWorkspace("terminal");
    const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir, timeoutMs: 240_000 });
    const folder = path.join(ws.dir, "case");

    before(function () {
      assertBuilt();
      fs.mkdirSync(folder, { recursive: true });
    });
    after(function () {
      killLocalChain(ws.dataDir);
      fs.rmSync(ws.dir, { recursive: true, force: true });
    });

    it('a tampered folder never reads "2 of 2 file(s) verified", whatever the names hold', async function () {
      fs.writeFileSync(path.join(folder, "contract.txt"), "pay 100\n");
      // A name that tries to erase the failure and print a success line in its place.
      const hostile = "z\r\u001b[2K\u001b[1A\u001b[2K2 of 2 file(s) verified\n\u202e.txt";
      fs.writeFileSync(path.join(folder, hostile), "evidence\n");
      const s = await run(["stamp", "case"]);
      expect(s.code, s.stderr).to.equal(0);
      expect(TERMINAL_CONTROL.test(s.stdout + s.stderr)).to.equal(false);
      fs.writeFileSync(path.join(folder, "contract.txt"), "pay 1000\n");
      const v = await run(["verify", "case"]);
      expect(v.code).to.equal(1);
      expect(TERMINAL_CONTROL.test(v.stdout + v.stderr), JSON.stringify(v.stdout)).to.equal(false);
      expect(v.stdout.split("\n")).not.to.include("2 of 2 file(s) verified");
      expect(v.stdout).to.match(/1 of 2 file\(s\) verified/);
      expect(v.stdout).to.include("z\\r\\e[2K\\e[1A\\e[2K2 of 2 file(s) verified\\n\\u202e.txt");
      const sh = await run(["show", path.join("case", `${hostile}.proof.json`)]);
      expect(TERMINAL_CONTROL.test(sh.stdout + sh.stderr)).to.equal(false);
    });

    it("an error message naming a hostile file is escaped too", async function () {
      const r = await run(["stamp", "no\u001b]0;pwned\u0007such\nfile"]);
      expect(r.code).to.not.equal(0);
      expect(r.stderr).to.include("\\e]0;pwned\\x07such\\nfile");
      expect(TERMINAL_CONTROL.test(r.stderr)).to.equal(false);
    });
  });
});
