#!/usr/bin/env node
// `npm start`: the main job on the embedded default (local Anvil chain, local store), as a new user
// would run it. It prints every command it runs, so the output doubles as a tutorial.
"use strict";
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "cli", "bin", "proofmark.js");
const { resolveDataDir } = require(path.join(ROOT, "packages", "sdk", "dist", "chain", "config.js"));
const { productCreateArgs } = require("./gi-season");

// One data folder for everything the demo does (its files, every command, the portal): the CLI's
// own resolution (--data-dir, else PROOFMARK_HOME, else ./.proofmark), passed to each command.
const dataDirArg = process.argv.indexOf("--data-dir");
const DATA = resolveDataDir(dataDirArg > 0 ? process.argv[dataDirArg + 1] : undefined, process.env, ROOT);
const DEMO = path.join(DATA, "demo");
const shown = (p) => {
  const rel = path.relative(ROOT, p);
  return rel.startsWith("..") || path.isAbsolute(rel) ? p : rel || ".";
};

/** Runs one command and prints it with its output, once (the JSON output when `json`). */
function proofmark(args, { json = false, allowFail = false } = {}) {
  const all = [...args, ...(json ? ["--json"] : [])];
  process.stdout.write(`\n$ proofmark ${all.map((a) => (/[\s"'<>]/.test(a) ? JSON.stringify(a) : a)).join(" ")}\n`);
  const env = { ...process.env, PROOFMARK_HOME: DATA };
  const r = spawnSync(process.execPath, [CLI, ...all], { cwd: ROOT, env, encoding: "utf8", maxBuffer: 1 << 26 });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0 && !allowFail) {
    process.stderr.write(`demo: \`proofmark ${args.join(" ")}\` failed (exit ${r.status}); see the message above\n`);
    process.exit(1);
  }
  return { code: r.status, out: json && r.stdout ? JSON.parse(r.stdout) : r.stdout };
}

async function main() {
  console.log(
    `Proofmark demo — local chain and store under ${shown(DATA)}/ (stop the chain with \`proofmark node stop\`, then delete that folder to start over)`,
  );
  proofmark(["node", "start"]);

  console.log("\n== 1. A designer timestamps original works before publishing them");
  fs.mkdirSync(DEMO, { recursive: true });
  const designs = path.join(DEMO, "designs");
  fs.cpSync(path.join(ROOT, "examples", "designs"), designs, { recursive: true, force: false, errorOnExist: false });
  const rel = path.relative(ROOT, designs);
  proofmark(["stamp", rel, "--author", "Li Wei", "--title", "Dangshan pear co-op, design set 2026"]);

  console.log("\n== 2. Anyone verifies them later, with the file, its receipt and the chain");
  const verifiedOk = proofmark(["verify", rel], { allowFail: true }).code === 0;
  const results = fs
    .readdirSync(designs)
    .filter((f) => f.endsWith(".proof.json"))
    .map((f) => {
      const receipt = JSON.parse(fs.readFileSync(path.join(designs, f), "utf8"));
      return {
        ok: verifiedOk,
        file: path.join(designs, f.slice(0, -".proof.json".length)),
        anchors: receipt.anchors,
        code: verifiedOk ? undefined : "see the verify output above",
      };
    });

  console.log("\n== 3. A court gets a verification report; the designer a certificate");
  const logo = path.join(rel, "pear-logo.svg");
  // The local chain makes a block only per transaction and calls a block final 64 blocks later:
  // mine empty blocks so the report can say "final", as it would after waiting on a real chain.
  proofmark(["node", "mine", "64"]);
  const out = shown(DEMO);
  proofmark(["report", logo, "--out", path.join(out, "report-zh.pdf"), "--lang", "zh"], { allowFail: true });
  proofmark(["report", logo, "--out", path.join(out, "report-en.html"), "--lang", "en"], { allowFail: true });
  proofmark(["certificate", `${logo}.proof.json`, "--out", path.join(out, "certificate.pdf")], { allowFail: true });
  proofmark(["verifier", "export", path.join(out, "verifier.html")]);

  const season = giSeason();

  console.log("\n== Summary");
  for (const r of results) {
    const a = r.anchors && r.anchors[0];
    console.log(
      `  ${r.ok ? "verified" : "NOT verified"}  ${shown(r.file)}${a ? `  existed no later than ${new Date(a.timestamp * 1000).toISOString()} (block ${a.blockNumber})` : `  ${r.code}`}`,
    );
  }
  const status = proofmark(["node", "status"], { json: true }).out;
  console.log(
    `  GI season: product ${season.product}, boxes in lot ${season.boxLot} (trace: npx proofmark gi trace ${season.boxLot})`,
  );
  console.log(`  reports: ${shown(DEMO)}/report-zh.pdf, report-en.html, certificate.pdf, verifier.html`);
  console.log(`  local chain: ${status.rpcUrl} (chain ${status.chainId}), data in ${shown(status.dataDir)}`);
  if (results.some((r) => !r.ok)) process.exitCode = 1;
  return serve(season);
}

/** The Dangshan pear season of docs/gi-season.md, once per data folder (kept in <data>/demo/season.json). */
function giSeason() {
  const file = path.join(DEMO, "season.json");
  if (fs.existsSync(file)) {
    console.log(`\n== 4. GI season: already recorded in this data folder (delete ${shown(DATA)}/ to record it again)`);
    return JSON.parse(fs.readFileSync(file, "utf8"));
  }
  console.log("\n== 4. A GI cooperative logs a season: Dangshan pears from the orchard to a Shanghai shop");
  const product = proofmark(productCreateArgs({ maxYield: "100%" }), { json: true }).out.product;
  const P = String(product);
  for (const f of ["farmer1", "farmer2", "farmer3"])
    proofmark(["gi", "role", "grant", P, "producer", f, "--as", "coop"]);
  proofmark(["gi", "role", "grant", P, "inspector", "inspector", "--as", "coop"]);
  proofmark(["gi", "role", "grant", P, "processor", "coop", "--as", "coop"]);
  proofmark(["gi", "role", "grant", P, "logistics", "logistics", "--as", "coop"]);
  proofmark(["gi", "role", "grant", P, "retailer", "retailer", "--as", "coop"]);
  proofmark(["gi", "licence", "grant", P, "farmer1", "--quota", "50000kg", "--season", "2026", "--as", "coop"]);
  proofmark(["gi", "licence", "grant", P, "farmer2", "--quota", "30000kg", "--season", "2026", "--as", "coop"]);
  const harvest = proofmark(
    ["gi", "harvest", P, "--quantity", "1200kg", "--plot", "DS-07", "--date", "2026-09-01", "--as", "farmer1"],
    { json: true },
  ).out.lot;
  proofmark(["gi", "harvest", P, "--quantity", "800kg", "--plot", "DS-12", "--date", "2026-09-01", "--as", "farmer2"], {
    json: true,
  });
  console.log("\n(a farmer past the quota is stopped, nothing recorded:)");
  proofmark(["gi", "harvest", P, "--quantity", "60t", "--plot", "DS-07", "--date", "2026-09-03", "--as", "farmer1"], {
    allowFail: true,
  });
  const H = String(harvest);
  proofmark([
    "gi",
    "event",
    H,
    "--step",
    "inspecting",
    "--disposition",
    "conformant",
    "--location",
    "urn:epc:id:sgln:6901234.00020.0",
    "--time",
    "2026-09-01T15:00:00+08:00",
    "--as",
    "inspector",
  ]);
  const boxLot = proofmark(
    ["gi", "pack", H, "--packages", "240", "--size", "5kg", "--time", "2026-09-02T08:00:00+08:00", "--as", "coop"],
    { json: true },
  ).out.lot;
  const B = String(boxLot);
  proofmark([
    "gi",
    "event",
    B,
    "--step",
    "shipping",
    "--location",
    "urn:epc:id:sgln:6901234.00010.0",
    "--time",
    "2026-09-03T06:20:00+08:00",
    "--as",
    "logistics",
  ]);
  proofmark([
    "gi",
    "event",
    B,
    "--step",
    "receiving",
    "--location",
    "上海市静安区南京西路 1 号",
    "--time",
    "2026-09-03T20:00:00+08:00",
    "--as",
    "retailer",
  ]);
  proofmark([
    "gi",
    "event",
    B,
    "--step",
    "retail_selling",
    "--location",
    "上海市静安区南京西路 1 号",
    "--time",
    "2026-09-05T10:00:00+08:00",
    "--as",
    "retailer",
  ]);
  proofmark(["gi", "trace", B]);
  const state = { product, harvestLot: harvest, boxLot, codes: 0 };
  fs.writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
  return state;
}

/** Starts the portal, issues scan codes for the boxes (once), prints the URLs, serves until Ctrl-C. */
async function serve(season) {
  console.log("\n== 5. A consumer scans a box: the portal");
  const { startPortal } = require(path.join(ROOT, "packages", "portal", "dist", "index.js"));
  const dataDir = DATA;
  let portal;
  try {
    portal = await startPortal({ dataDir, port: Number(process.env.PORT ?? 8080) });
  } catch {
    portal = await startPortal({ dataDir, port: 0 });
  }
  const labels = path.join(DEMO, "labels");
  const manifestOf = () => fs.existsSync(labels) && fs.readdirSync(labels).find((f) => f.endsWith(".codes.json"));
  if (!manifestOf()) {
    proofmark([
      "codes",
      "issue",
      String(season.boxLot),
      "--count",
      "24",
      "--gtin",
      "06901234567892",
      "--out",
      path.relative(ROOT, labels),
      "--resolver",
      portal.url,
      "--as",
      "coop",
    ]);
    season.codes = 24;
    fs.writeFileSync(path.join(DEMO, "season.json"), `${JSON.stringify(season, null, 2)}\n`);
  }
  await portal.sync();
  const manifest = JSON.parse(fs.readFileSync(path.join(labels, manifestOf()), "utf8"));
  const first = manifest.serials[0].uri.replace(/^https?:\/\/[^/]+/, portal.url);
  const forged = first.slice(0, -1) + (first.endsWith("A") ? "B" : "A");
  console.log("\nThe portal is running (Ctrl-C to stop):");
  console.log(`  scan page of a demo box   ${first}`);
  console.log(`  a forged serial           ${forged}`);
  console.log(
    `  verify page               ${portal.url}/verify   (drop a file from ${shown(DEMO)}/designs and its .proof.json)`,
  );
  console.log(`  JSON API                  ${portal.url}/api/health`);
  const stop = async () => {
    await portal.close();
    process.exit(process.exitCode ?? 0);
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  if (process.env.PROOFMARK_DEMO_EXIT === "1") await stop();
}

main().catch((e) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
