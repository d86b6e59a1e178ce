#!/usr/bin/env node
"use strict";
let cli;
try {
  cli = require("../dist/index.js");
} catch (e) {
  if (e && e.code === "MODULE_NOT_FOUND" && /dist[\\/]index\.js/.test(e.message)) {
    console.error("proofmark: the CLI is not built yet; run `npm run build` at the repository root");
    process.exit(1);
  }
  throw e;
}
cli.main(process.argv).then((code) => {
  process.exitCode = code;
  // Every command has said its last word: exit even if a handle (a socket, a timer) is left open.
  if (cli.exitWhenFlushed) cli.exitWhenFlushed(code);
});
