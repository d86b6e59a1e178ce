import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import autocannon from "autocannon";
import { seedWorld, tempDataDir } from "../test/portal/fixture";
(async () => {
  spawnSync("taskset", ["-cp", "1", String(process.pid)]);
  const dataDir = tempDataDir("prof");
  const world = await seedWorld(dataDir);
  fs.writeFileSync("/tmp/prof/world.json", JSON.stringify({ dataDir, path: new URL(world.good.manifest.serials[0].uri).pathname, lot: world.goodLot }));
  console.log(dataDir);
  process.exit(0);
})();
