#!/usr/bin/env node
// `npm start`: the main job on the embedded default (local Anvil chain, local store), as a new user
// would run it. It prints every command it runs, so the output doubles as a tutorial.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "cli", "bin", "proofmark.js");
const DEMO = path.join(ROOT, ".proofmark", "demo");

function proofmark(args, { json = false, allowFail = false } = {}) {
  process.stdout.write(`\n$ proofmark ${args.map((a) => (/[\s"'<>]/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
  const r = spawnSync(process.execPath, [CLI, ...args, ...(json ? ["--json"] : [])], { cwd: ROOT, encoding: "utf8", maxBuffer: 1 << 26 });
  if (!json) process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && !allowFail) {
    process.stderr.write(`demo: \`proofmark ${args.join(" ")}\` failed (exit ${r.status}); see the message above\n`);
    process.exit(1);
  }
  return { code: r.status, out: json && r.stdout ? JSON.parse(r.stdout) : r.stdout };
}

function main() {
  console.log("Proofmark demo — local chain and store under .proofmark/ (delete that folder to start over)");
  proofmark(["node", "start"]);

  console.log("\n== 1. A designer timestamps original works before publishing them");
  fs.mkdirSync(DEMO, { recursive: true });
  const designs = path.join(DEMO, "designs");
  fs.cpSync(path.join(ROOT, "examples", "designs"), designs, { recursive: true, force: false, errorOnExist: false });
  const rel = path.relative(ROOT, designs);
  proofmark(["stamp", rel, "--author", "Li Wei", "--title", "Dangshan pear co-op, design set 2026"]);

  console.log("\n== 2. Anyone verifies them later, with the file, its receipt and the chain");
  proofmark(["verify", rel]);
  const verified = proofmark(["verify", rel], { json: true, allowFail: true }).out;
  const results = Array.isArray(verified) ? verified : [verified];

  console.log("\n== Summary");
  for (const r of results) {
    const a = r.anchors && r.anchors[0];
    console.log(`  ${r.ok ? "verified" : "NOT verified"}  ${path.relative(ROOT, r.file)}${a ? `  existed no later than ${new Date(a.timestamp * 1000).toISOString()} (block ${a.blockNumber})` : `  ${r.code}`}`);
  }
  const status = proofmark(["node", "status"], { json: true }).out;
  console.log(`\nlocal chain: ${status.rpcUrl} (chain ${status.chainId}), data in ${path.relative(ROOT, status.dataDir) || "."}`);
  console.log("try: edit a file under .proofmark/demo/designs and run `npx proofmark verify .proofmark/demo/designs`");
  if (results.some((r) => !r.ok)) process.exitCode = 1;
}

main();
