import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { codesDir, openChain, type ChainContext } from "../../packages/sdk/src";
import { PostgresIndexLog, startPortal, type Portal } from "../../packages/portal/src";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";
import { seedWorld, stopChain, tempDataDir, type SeededWorld } from "./fixture";

/**
 * Portal instances on one PostgreSQL index, each with its own data folder: a codes manifest in
 * either instance's `codes/` scans on both (they share manifests through PostgreSQL), and a forged
 * manifest in the database is not believed (its serials do not give a commitment the chain holds).
 */
describe("portal: codes manifests shared through PostgreSQL", function () {
  this.timeout(300_000);
  let pg: TestPostgres | undefined;
  let dataDir: string;
  let otherDir: string;
  let world: SeededWorld;
  let chain: ChainContext;
  const portals: Portal[] = [];

  before(async function () {
    pg = await startPostgresOrSkip(this);
    dataDir = tempDataDir("pgcodes");
    chain = await openChain({ dataDir });
    world = await seedWorld(dataDir);
    // A second office: the same chain and registries, its own (empty) data folder but for one manifest,
    // moved out of the first folder.
    otherDir = tempDataDir("pgcodes-other");
    fs.cpSync(path.join(dataDir, "deployments"), path.join(otherDir, "deployments"), { recursive: true });
    const spareFile = fs
      .readdirSync(codesDir(dataDir))
      .map((n) => path.join(codesDir(dataDir), n))
      .find((f) => f.endsWith(".codes.json") && fs.readFileSync(f, "utf8").includes(world.spare.manifest.commitment))!;
    fs.mkdirSync(codesDir(otherDir), { recursive: true });
    fs.renameSync(spareFile, path.join(codesDir(otherDir), path.basename(spareFile)));
  });

  after(async () => {
    for (const p of portals) await p.close().catch(() => undefined);
    chain?.close();
    if (dataDir) await stopChain(dataDir);
    pg?.stop();
  });

  const known = async (portal: Portal, serial: string) =>
    ((await (await fetch(`${portal.url}/api/serials/${serial}`)).json()) as { known: boolean; lot?: number }).known;

  it("a manifest in one instance's codes folder scans on the other, both ways", async () => {
    const start = (dir: string) =>
      startPortal({ dataDir: dir, rpc: chain.rpcUrls, database: pg!.url, port: 0, pollMs: 100, log: () => undefined });
    const a = await start(dataDir);
    portals.push(a);
    const b = await start(otherDir);
    portals.push(b);
    const good = world.good.manifest.serials[0].serial;
    const spare = world.spare.manifest.serials[0].serial;
    for (let i = 0; !((await known(a, spare)) && (await known(b, good))); i++) {
      expect(i, "both instances learn both manifests").to.be.lessThan(300);
      await Promise.all([a.sync(), b.sync()]);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await known(a, good)).to.equal(true);
    expect(await known(b, spare)).to.equal(true);
    // the scan page on the office without the file names the lot
    const page = await fetch(`${b.url}${new URL(world.good.manifest.serials[1].uri).pathname}`);
    expect(page.status).to.equal(200);
    expect(await page.text()).to.match(new RegExp(`\\b${world.goodLot}\\b`));
  });

  it("a forged manifest in the database is not believed; a new instance still learns the real ones", async () => {
    const pgm = require("pg") as typeof import("pg");
    const client = new pgm.Client({ connectionString: pg!.url });
    await client.connect();
    const logScope = (await client.query("SELECT DISTINCT scope FROM portal_codes_manifests")).rows[0].scope as string;
    await client.end();
    // the good lot's manifest with a serial of the forger's choosing, its commitment left as it was
    const forged = structuredClone(world.good.manifest);
    forged.serials[0] = {
      ...forged.serials[0],
      serial: "FORGED1",
      uri: forged.serials[0].uri.replace(/[^/]+$/, "FORGED1"),
    };
    const log = await PostgresIndexLog.open(pg!.url, logScope);
    await log.shareManifest(JSON.stringify(forged));
    await log.close();
    const third = tempDataDir("pgcodes-third");
    fs.cpSync(path.join(dataDir, "deployments"), path.join(third, "deployments"), { recursive: true });
    const c = await startPortal({ dataDir: third, rpc: chain.rpcUrls, database: pg!.url, port: 0, pollMs: 100 });
    portals.push(c);
    const spare = world.spare.manifest.serials[0].serial;
    for (let i = 0; !(await known(c, spare)); i++) {
      expect(i, "the new instance learns the shared manifests").to.be.lessThan(300);
      await c.sync();
      await new Promise((r) => setTimeout(r, 100));
    }
    await c.sync();
    expect(await known(c, world.good.manifest.serials[1].serial)).to.equal(true);
    expect(await known(c, "FORGED1")).to.equal(false);
    expect(await known(portals[0], "FORGED1")).to.equal(false);
  });
});
