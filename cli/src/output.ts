import { devAccountName, escapeControlChars } from "@proofmark/sdk";

/** Where a command writes: human lines, or one JSON document with --json. */
export interface Output {
  json: boolean;
  /** A line for humans (suppressed with --json), printed with `escapeControlChars`: always exactly one line. */
  line(text?: string): void;
  /** The command's JSON result (printed only with --json). */
  result(value: unknown): void;
  /** Progress on a terminal only (stderr, rewritten in place); silent when piped or with --json. */
  progress(text: string): void;
  /** Ends a progress line. */
  progressDone(): void;
}

export function makeOutput(
  json: boolean,
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
): Output {
  let progressShown = false;
  return {
    json,
    line(text = "") {
      if (!json) stdout.write(`${escapeControlChars(text)}\n`);
    },
    result(value) {
      if (json) stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
    },
    progress(text) {
      if (json || !stderr.isTTY) return;
      stderr.write(`\r\x1b[2K${escapeControlChars(text)}`);
      progressShown = true;
    },
    progressDone() {
      if (progressShown) stderr.write("\r\x1b[2K");
      progressShown = false;
    },
  };
}

/** Aligned two-column rows: `label  value`. */
export function rows(pairs: Array<[string, string | number | undefined]>): string[] {
  const width = Math.max(...pairs.map(([k]) => k.length));
  return pairs.filter(([, v]) => v !== undefined && v !== "").map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
}

/** A time in UTC and in the local time zone. */
export function formatTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const local = d.toLocaleString("sv-SE", { timeZoneName: "short" });
  return `${d.toISOString().replace(".000Z", "Z")} (local ${local})`;
}

/** An address with its dev-account name when it is one. */
export function formatAddress(address: string): string {
  const name = devAccountName(address);
  return name ? `${address} (${name})` : address;
}

/** Bytes as B / KiB / MiB / GiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
