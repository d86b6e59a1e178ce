import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Database from "better-sqlite3";
import { assertBuilt, CLI, killLocalChain, runCli } from "../cli/helpers";

/** Fills the file system of `dir` until fewer than `leave` bytes are free; returns the filler file. */
function fill(dir: string, leave: number): string {
  const filler = path.join(dir, "filler");
  fs.rmSync(filler, { force: true });
  const { bavail, bsize } = fs.statfsSync(dir);
  fs.writeFileSync(filler, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return filler;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it returns something other than undefined (or throws after `ms`). */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/**
 * The portal's writes on a full disk (a real small tmpfs holding its data folder): scan counts
 * written behind and the indexer's writes fail with a logged DISK_FULL, the pages are still
 * served, and after freeing space every scan is counted once and the new event indexed once.
 */
describe("faults: a full disk under the portal", function () {
  this.timeout(600_000);
  let mount: string | undefined;
  let dir: string;
  let dataDir: string;
  let portal: ChildProcess | undefined;
  let stderr = "";
  const run = (args: string[]) => runCli(args, { cwd: dir, dataDir, timeoutMs: 240_000 });
  const ok = async (args: string[]) => {
    const r = await run(args);
    expect(r.code, `${args.join(" ")}: ${r.stderr}`).to.equal(0);
    return r;
  };

  before(function () {
    assertBuilt();
    mount = fs.mkdtempSync(path.join(os.tmpdir(), "pm-full-portal-"));
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
  after(async function () {
    if (portal && portal.exitCode === null) {
      portal.kill("SIGCONT");
      portal.kill("SIGTERM");
      await new Promise((r) => portal!.once("exit", r));
    }
    if (!mount) return;
    killLocalChain(dataDir);
    spawnSync("umount", ["-l", mount]);
    fs.rmSync(mount, { recursive: true, force: true });
  });

  it("scans on a full disk are served and kept in memory, the indexer logs DISK_FULL and retries; afterwards every scan is counted once and the new event indexed once", async function () {
    // A packed lot with scan codes.
    await ok(["gi", "product", "create", "--name", "梨", "--gi-number", "AGI9", "--region", "砀山", "--unit", "g", "--admin", "coop", "--as", "registrar"]); // prettier-ignore
    await ok(["gi", "role", "grant", "1", "producer", "farmer1", "--as", "coop"]);
    await ok(["gi", "licence", "grant", "1", "farmer1", "--quota", "5000kg", "--season", "2026", "--as", "coop"]);
    await ok(["gi", "harvest", "1", "--quantity", "1200kg", "--plot", "P-1", "--date", "2026-09-01", "--as", "farmer1"]); // prettier-ignore
    await ok(["gi", "pack", "1", "--packages", "10", "--size", "5kg", "--time", "2026-09-02T08:00:00+08:00", "--as", "coop"]); // prettier-ignore
    const issued = JSON.parse(
      (await ok(["codes", "issue", "2", "--count", "2", "--gtin", "06901234567892", "--resolver", "https://id.example.org", "--out", "codes", "--no-png", "--json", "--as", "coop"])).stdout, // prettier-ignore
    );
    const manifestFile = fs.readdirSync(path.join(dir, "codes")).find((n) => n.endsWith(".codes.json"));
    expect(manifestFile, JSON.stringify(issued)).to.be.a("string");
    const serials = (
      JSON.parse(fs.readFileSync(path.join(dir, "codes", manifestFile!), "utf8")) as {
        serials: Array<{ serial: string; uri: string }>;
      }
    ).serials;

    // The portal, its index on the tmpfs; clients told apart by X-Forwarded-For.
    portal = spawn(process.execPath, [CLI, "serve", "--port", "0", "--trust-proxy"], {
      cwd: dir,
      env: { ...process.env, PROOFMARK_HOME: dataDir },
    });
    let stdout = "";
    portal.stdout!.on("data", (d) => (stdout += d));
    portal.stderr!.on("data", (d) => (stderr += d));
    const url = await until("the portal's address", async () => /portal on (http:\/\/\S+)/.exec(stdout)?.[1]);
    const get = async (p: string, client?: string) => {
      const r = await fetch(`${url}${p}`, { headers: client ? { "x-forwarded-for": client } : {} });
      return { status: r.status, text: await r.text() };
    };
    const api = async (p: string) => {
      const r = await get(p);
      if (r.status !== 200) throw new Error(`${p}: ${r.status} ${r.text}`);
      return JSON.parse(r.text);
    };
    const scanCount = async (serial: string): Promise<number> =>
      (await api(`/api/serials/${serial}`)).scans?.count ?? 0;
    const traceEvents = async () => (await api("/api/lots/2/trace")).events.length as number;
    await until("the codes indexed", async () => ((await get(`/api/serials/${serials[0].serial}`)).status === 200 ? true : undefined)); // prettier-ignore
    const eventsBefore = await traceEvents();
    const scanPath = (uri: string) => new URL(uri).pathname;

    // (b) A new event recorded while the portal is paused, then the disk filled: its first poll must write on a full disk.
    portal.kill("SIGSTOP");
    let filler: string | undefined;
    try {
      await ok(["gi", "event", "2", "--step", "inspecting", "--location", "urn:x:lab", "--time", "2026-09-03T09:00:00+08:00", "--as", "coop"]); // prettier-ignore
      // The portal reuses its WAL file after each checkpoint, so a write that fits in it needs no new
      // space: empty the WAL (the portal is stopped between polls) so that its next write must grow a file.
      for (const f of fs.readdirSync(path.join(dataDir, "portal")).filter((n) => n.endsWith(".sqlite"))) {
        const db = new Database(path.join(dataDir, "portal", f));
        try {
          // Stopped inside a read? Let it run a moment and stop it again.
          for (let attempt = 1; ; attempt++) {
            const [r] = db.pragma("wal_checkpoint(TRUNCATE)") as Array<{ busy: number }>;
            if (r.busy === 0) break;
            expect(attempt, `${f}: the WAL could not be emptied`).to.be.below(20);
            portal.kill("SIGCONT");
            await sleep(50);
            portal.kill("SIGSTOP");
          }
        } finally {
          db.close();
        }
      }
      filler = fill(dir, 0);
    } finally {
      portal.kill("SIGCONT");
    }
    await until("the indexer's DISK_FULL", async () => (/indexing failed.*\[DISK_FULL\]/.test(stderr) ? true : undefined)); // prettier-ignore

    // (a) First scans of a code by three clients on the full disk: served, counted in memory.
    for (const client of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
      const page = await get(scanPath(serials[0].uri), client);
      expect(page.status, page.text).to.equal(200);
    }
    await until("the scan counter's DISK_FULL", async () => (/writing scan counts failed.*\[DISK_FULL\]/.test(stderr) ? true : undefined)); // prettier-ignore
    expect(portal.exitCode, stderr).to.equal(null);
    expect((await get("/api/health")).status, "still serving").to.equal(200);
    expect(stderr).not.to.match(/unexpected error|Uncaught|at .*\.js:\d+/);

    // Free the space: the pending scans are written once, the event indexed once.
    fs.rmSync(filler!);
    await until("the event indexed", async () => ((await traceEvents()) > eventsBefore ? true : undefined));
    await until("the indexer resumed", async () => (/indexing resumed/.test(stderr) ? true : undefined));
    await sleep(1_500); // a retry of the scan counts more than due
    expect(await scanCount(serials[0].serial)).to.equal(3);
    expect(await scanCount(serials[1].serial)).to.equal(0);
    expect(await traceEvents()).to.equal(eventsBefore + 1);
    const trace = await api("/api/lots/2/trace");
    const keys = (trace.events as Array<{ tx?: string; logIndex?: number; step?: string }>).map((e) =>
      JSON.stringify(e),
    );
    expect(new Set(keys).size, "no event twice").to.equal(keys.length);
    expect(stderr, "the WAL checkpointer outlives the full disk").not.to.include("WAL checkpointer stopped");

    portal.kill("SIGTERM");
    const code = await new Promise((r) => portal!.once("exit", (c) => r(c)));
    expect(code, stderr).to.equal(0);
    const portalDir = path.join(dataDir, "portal");
    for (const f of fs.readdirSync(portalDir).filter((n) => n.endsWith(".sqlite"))) {
      const db = new Database(path.join(portalDir, f), { readonly: true });
      try {
        expect(db.pragma("integrity_check", { simple: true }), f).to.equal("ok");
        const stored = db.prepare("SELECT count FROM scans WHERE serial = ?").get(serials[0].serial) as
          { count: number } | undefined;
        expect(stored?.count, "the count on disk").to.equal(3);
      } finally {
        db.close();
      }
    }
  });
});
