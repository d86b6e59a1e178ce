import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

/**
 * A throw-away PostgreSQL cluster for tests: `initdb` in a temporary folder (as the `postgres` user
 * when running as root — initdb refuses root), `pg_ctl start` on a free port with its socket in the
 * same folder, trust authentication on 127.0.0.1 only. `stop()` stops it immediately and removes
 * the folder. Debian's `postgresql` package provides the binaries (`.ci/run` installs it).
 */
export interface TestPostgres {
  url: string;
  port: number;
  dir: string;
  stop(): void;
}

/** The folder of PostgreSQL's server binaries, or undefined when PostgreSQL is not installed. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (fs.existsSync(root)) {
    const versions = fs
      .readdirSync(root)
      .filter((v) => fs.existsSync(path.join(root, v, "bin", "initdb")))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return path.join(root, versions[0], "bin");
  }
  try {
    return path.dirname(execFileSync("sh", ["-c", "command -v initdb"], { encoding: "utf8" }).trim()) || undefined;
  } catch {
    return undefined;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A new cluster for a suite or a test (call it with `this` from a `before` hook or an `it`). When
 * PostgreSQL is not installed the suite or test is skipped, saying why; any other failure to start
 * fails it.
 */
export async function startPostgresOrSkip(ctx: Mocha.Context): Promise<TestPostgres> {
  if (!postgresBinDir()) {
    console.log("      (skipped: PostgreSQL is not installed — apt-get install -y postgresql; .ci/run does it)");
    ctx.skip();
  }
  return startPostgres();
}

/** Starts a cluster. Throws when PostgreSQL is not installed (see {@link startPostgresOrSkip}). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-pg-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    if (asRoot) {
      const line = [path.join(bin, cmd), ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
      execFileSync("su", ["postgres", "-s", "/bin/sh", "-c", line], { stdio: ["ignore", "ignore", "pipe"] });
    } else {
      execFileSync(path.join(bin, cmd), args, { stdio: ["ignore", "ignore", "pipe"] });
    }
  };
  if (asRoot) {
    fs.chmodSync(dir, 0o755);
    execFileSync("chown", ["postgres", dir]);
  }
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`,
    "start",
  ]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } catch {
        // already gone
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
