import { devAccountName } from "@proofmark/sdk";

/**
 * Characters that must never reach a terminal as they are: C0 controls (newline, carriage return,
 * ESC of ANSI/OSC sequences, backspace…), DEL, C1 controls (0x80–0x9f, e.g. CSI), the Unicode
 * line and paragraph separators, and the bidirectional controls that reorder what is shown.
 */
const UNSAFE_FOR_TERMINAL = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/**
 * Text safe to print on a terminal: every control character (see UNSAFE_FOR_TERMINAL) is shown
 * escaped (`\n`, `\r`, `\t`, `\e`, `\x07`, `\u202e`), and a backslash as `\\`, so a file name, a
 * title or an on-chain string can neither move the cursor, rewrite earlier output, start a new
 * line, change colours or reorder the line, nor pass for text it is not. The one terminal escaper:
 * every line, row, progress line and error message goes through it.
 *
 * @example
 * termSafe("a\rVERIFIED") // "a\\rVERIFIED"
 */
export function termSafe(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(UNSAFE_FOR_TERMINAL, (c) => {
    const short = SHORT_ESCAPES[c];
    if (short) return short;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Where a command writes: human lines, or one JSON document with --json. */
export interface Output {
  json: boolean;
  /** A line for humans (suppressed with --json), printed with {@link termSafe}: always exactly one line. */
  line(text?: string): void;
  /** The command's JSON result (printed only with --json). */
  result(value: unknown): void;
  /** Progress on a terminal only (stderr, rewritten in place); silent when piped or with --json. */
  progress(text: string): void;
  /** Ends a progress line. */
  progressDone(): void;
}

export function makeOutput(json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output {
  let progressShown = false;
  return {
    json,
    line(text = "") {
      if (!json) stdout.write(`${termSafe(text)}\n`);
    },
    result(value) {
      if (json) stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
    },
    progress(text) {
      if (json || !stderr.isTTY) return;
      stderr.write(`\r\x1b[2K${termSafe(text)}`);
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
