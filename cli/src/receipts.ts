import * as fs from "node:fs";
import { InvalidArgumentError, type Command } from "commander";
import {
  evidenceVerifier,
  parseReceipt,
  ProofmarkError,
  RECEIPT_MAX_BYTES,
  type Receipt,
  type Verifier,
  type WitnessPolicy,
} from "@proofmark/sdk";
import type { CommandEnv } from "./options";

/**
 * Reads a receipt file's text, at most RECEIPT_MAX_BYTES (+1 to notice more): `--proof /dev/zero`
 * or a 3 GiB file fails at once with RECEIPT_TOO_LARGE instead of filling memory.
 */
export function readReceiptText(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    throw new ProofmarkError(
      "RECEIPT_NOT_FOUND",
      `no receipt at ${file}; stamp the file first, or pass its receipt with --proof`,
      { path: file },
    );
  }
  try {
    const tooLarge = () =>
      new ProofmarkError(
        "RECEIPT_TOO_LARGE",
        `${file} is larger than ${RECEIPT_MAX_BYTES} bytes; a receipt is a few kilobytes — this is not a receipt`,
        { path: file, limit: RECEIPT_MAX_BYTES },
      );
    const stat = fs.fstatSync(fd);
    if (stat.isFile()) {
      if (stat.size > RECEIPT_MAX_BYTES) throw tooLarge();
      const text = fs.readFileSync(fd, "utf8");
      if (text.length > RECEIPT_MAX_BYTES) throw tooLarge(); // grew while read
      return text;
    }
    // a device or pipe: read at most the bound (+1 to notice more)
    const buf = Buffer.allocUnsafe(RECEIPT_MAX_BYTES + 1);
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, size, buf.length - size, null);
      if (n === 0) break;
      size += n;
      if (size > RECEIPT_MAX_BYTES) throw tooLarge();
    }
    return buf.subarray(0, size).toString("utf8");
  } catch (e) {
    if (e instanceof ProofmarkError) throw e;
    throw new ProofmarkError("RECEIPT_NOT_FOUND", `${file} cannot be read as a receipt (${(e as Error).message})`, {
      path: file,
    });
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and strictly parses a receipt file; RECEIPT_NOT_FOUND / RECEIPT_TOO_LARGE / RECEIPT_INVALID name the file. */
export function readReceiptFile(file: string): Receipt {
  return parseReceiptText(file, readReceiptText(file), parseReceipt);
}

/** Parses the text of the receipt file `file` with `parse` (strict or pending-aware); its errors name the file. */
export function parseReceiptText<R>(file: string, text: string, parse: (text: string) => R): R {
  try {
    return parse(text);
  } catch (e) {
    const err = e as ProofmarkError;
    throw new ProofmarkError(
      err.code ?? "RECEIPT_INVALID",
      `${file}: ${err.message}`,
      { ...(err.details ?? {}), path: file },
      { cause: e },
    );
  }
}

/** Options of the commands that verify (verify, report, certificate). */
export interface VerifyCliFlags {
  trustRegistry?: string[];
  rpcTimeout?: number;
}

/** Declares --trust-registry and --rpc-timeout on a verifying command. */
export function addVerifyOptions(cmd: Command): Command {
  return cmd
    .option(
      "--trust-registry <address>",
      "accept this registry although its code is not a registry Proofmark knows (repeatable; the result says so)",
      collectAddress,
      [],
    )
    .option("--rpc-timeout <seconds>", "deadline of each RPC call (default 10)", seconds);
}

function collectAddress(value: string, previous: string[]): string[] {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value))
    throw new InvalidArgumentError(`"${value}" is not an address (0x and 40 hex digits)`);
  return [...previous, value.toLowerCase()];
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 600)
    throw new InvalidArgumentError(`"${value}" is not a number of seconds between 0 and 600`);
  return n;
}

/** The SDK verifier options from the flags. */
export function verifierFlags(o: VerifyCliFlags): { trustRegistries?: string[]; rpcTimeoutMs?: number } {
  return {
    trustRegistries: o.trustRegistry,
    rpcTimeoutMs: o.rpcTimeout !== undefined ? o.rpcTimeout * 1000 : undefined,
  };
}

/**
 * The SDK's evidence verifier as a verifying command's flags configure it (`--rpc`, the data folder,
 * `--min-confirmations`, `--policy`, `--tsa-trust`, `--trust-registry`, `--rpc-timeout`): one session
 * for every receipt the command checks.
 */
export function commandVerifier(
  env: CommandEnv,
  o: VerifyCliFlags & { minConfirmations?: number; policy?: WitnessPolicy; tsaTrust: string[] },
): Verifier {
  return evidenceVerifier({
    rpc: env.opts.rpc,
    dataDir: env.dataDir,
    minConfirmations: o.minConfirmations,
    policy: o.policy,
    tsaTrust: o.tsaTrust,
    ...verifierFlags(o),
  });
}
