import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";

/**
 * What the capturing machine looked like: the facts a clean-environment check (清洁性检查, as SF/T
 * 0091-2021 asks before a notarial capture) is made of, each observed rather than assumed.
 */

/** Environment variables that make Chromium (on Linux) or any HTTP client use a proxy. */
export const PROXY_ENV_VARS = [
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "auto_proxy",
] as const;

/** One item of the clean-environment checklist, with the value that was observed. */
export interface CleanCheck {
  item:
    | "fresh-profile"
    | "no-extensions"
    | "empty-cache"
    | "no-proxy"
    | "normal-certificate-checks"
    | "no-injected-page-scripts";
  ok: boolean;
  /** What was observed, in words and values. */
  observed: string;
}

export interface BinaryFingerprint {
  path: string;
  sha256?: string;
  size?: number;
  error?: string;
}

export interface HostObservations {
  os: { platform: string; release: string; arch: string; distribution?: string; hostname: string };
  /** Proxy variables set in the capturing process's environment (names and values). */
  proxyEnv: Record<string, string>;
  /** `/etc/hosts` verbatim. */
  hosts?: string;
  /** `/etc/resolv.conf` verbatim. */
  resolver?: string;
  /** The `hosts:` line of `/etc/nsswitch.conf` (the order names are resolved in). */
  nsswitchHosts?: string;
  /** The capturing host's own network addresses, by interface. */
  addresses: Array<{ interface: string; address: string; family: string; internal: boolean }>;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}

/** Observes the host: OS, proxy variables, hosts file, resolver, own addresses. */
export function observeHost(env: NodeJS.ProcessEnv = process.env): HostObservations {
  const proxyEnv: Record<string, string> = {};
  for (const name of PROXY_ENV_VARS) if (env[name] !== undefined && env[name] !== "") proxyEnv[name] = env[name]!;
  const release = readText("/etc/os-release");
  const distribution = release?.match(/^PRETTY_NAME="?([^"\n]*)"?$/m)?.[1];
  const addresses: HostObservations["addresses"] = [];
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    for (const a of list ?? [])
      addresses.push({ interface: name, address: a.address, family: a.family, internal: a.internal });
  }
  return {
    os: { platform: os.platform(), release: os.release(), arch: os.arch(), distribution, hostname: os.hostname() },
    proxyEnv,
    hosts: readText("/etc/hosts"),
    resolver: readText("/etc/resolv.conf"),
    nsswitchHosts: readText("/etc/nsswitch.conf")
      ?.split("\n")
      .find((l) => /^hosts:/.test(l)),
    addresses,
  };
}

/** SHA-256 of a binary (streamed). */
export async function fingerprintBinary(file: string): Promise<BinaryFingerprint> {
  try {
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of fs.createReadStream(file)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { path: file, sha256: hash.digest("hex"), size };
  } catch (e) {
    return { path: file, error: (e as Error).message };
  }
}

/**
 * The files that make up the browser: the executable given, and, when it is a launcher script (as
 * Debian's /usr/bin/chromium is), the binary it starts.
 */
export function browserBinaries(executablePath: string): string[] {
  const files = [executablePath];
  try {
    const head = fs.readFileSync(executablePath).subarray(0, 2).toString("latin1");
    if (head === "#!") {
      const script = fs.readFileSync(executablePath, "utf8");
      for (const m of script.matchAll(/(\/usr\/lib\/[\w./-]*chromium[\w./-]*\/chromium)\b/g))
        if (!files.includes(m[1]) && fs.existsSync(m[1])) files.push(m[1]);
      if (files.length === 1 && fs.existsSync("/usr/lib/chromium/chromium")) files.push("/usr/lib/chromium/chromium");
    }
  } catch {
    // unreadable: the fingerprint records the error
  }
  return files;
}

/**
 * The address each server was reached from, as this host's kernel chooses it (a UDP socket
 * "connected" to the server's address, which sends nothing, reports the local address the routing
 * table picks): the capture's source address as the capturing host sees it. What the server saw can
 * differ behind NAT or a proxy; that is not observable from here.
 */
export async function sourceAddresses(
  remotes: string[],
): Promise<Array<{ remote: string; source?: string; error?: string }>> {
  const dgram = require("node:dgram") as typeof import("node:dgram");
  const net = require("node:net") as typeof import("node:net");
  return Promise.all(
    [...new Set(remotes)].map(
      (remote) =>
        new Promise<{ remote: string; source?: string; error?: string }>((resolve) => {
          const family = net.isIP(remote);
          if (!family) return resolve({ remote, error: "not an IP address" });
          const socket = dgram.createSocket(family === 6 ? "udp6" : "udp4");
          const done = (r: { remote: string; source?: string; error?: string }) => {
            socket.close();
            resolve(r);
          };
          socket.on("error", (e) => done({ remote, error: e.message }));
          socket.connect(9, remote, () => {
            try {
              done({ remote, source: socket.address().address });
            } catch (e) {
              done({ remote, error: (e as Error).message });
            }
          });
        }),
    ),
  );
}
