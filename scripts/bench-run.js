// `npm run bench -- evidence store`: Hardhat's `run` task takes no script arguments, so the areas
// named on the command line reach scripts/bench.ts as BENCH_ONLY (which also works on its own).
const { spawnSync } = require("node:child_process");
const path = require("node:path");

const areas = process.argv.slice(2);
const env = { ...process.env };
if (areas.length > 0) env.BENCH_ONLY = areas.join(",");
const hardhat = path.join(__dirname, "..", "node_modules", ".bin", "hardhat");
const run = spawnSync(hardhat, ["run", path.join("scripts", "bench.ts")], { stdio: "inherit", env });
process.exit(run.status ?? 1);
