import * as fs from "node:fs";
import * as path from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import {
  captureSubjectOf,
  collectFiles,
  computeLeaf,
  evidenceVerifier,
  hashFile,
  isPendingReceipt,
  isProofmarkError,
  loadSubmitterSigner,
  parseAnyReceipt,
  submitPendingReceipts,
  ProofmarkError,
  randomSalt,
  RECEIPT_FILE_RE,
  receiptPathFor,
  serializeReceipt,
  signSubmitterStatement,
  upgradeReceipt,
  type EvidenceMeta,
  type PendingItem,
  type PendingReceipt,
  type Receipt,
  type SkippedEntry,
  type WitnessPolicy,
} from "@proofmark/sdk";
import { writeFileAtomic } from "@proofmark/sdk/internal";
import { commandEnv, type CommandEnv } from "../options";
import { readReceiptText } from "../receipts";

/**
 * The calendar client on the command line: `stamp --calendar URL` (pending receipts, at once, with
 * no key and no gas), `upgrade` (completes them, each proof verified before it is written), and the
 * witness options of `verify` / `report` (`--policy`, `--tsa-trust`).
 */

/** Options `stamp` passes on when `--calendar` is given. */
export interface CalendarStampOptions {
  calendar: string[];
  sha256?: string;
  name?: string;
  out?: string;
  sign?: boolean;
  statement?: string;
  meta: EvidenceMeta;
}

export function calendarUrl(value: string, previous: string[]): string[] {
  if (!/^https?:\/\/\S+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not an http(s) URL`);
  return [...previous, value.replace(/\/+$/, "")];
}

export function sha256Hex(value: string): string {
  const v = value.toLowerCase().replace(/^0x/, "");
  if (!/^[0-9a-f]{64}$/.test(v)) throw new InvalidArgumentError(`"${value}" is not a SHA-256 digest (64 hex digits)`);
  return v;
}

/** `--policy all|any|N`. */
export function policyOption(value: string): WitnessPolicy {
  if (value === "all" || value === "any") return value;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new InvalidArgumentError(`"${value}" is not a policy: all, any, or a number of witnesses ≥ 1`);
  return n;
}

/** Declares `--policy`, `--tsa-trust` and `--cert-trust` on a verifying command. */
export function addWitnessOptions(cmd: Command): Command {
  return cmd
    .option(
      "--policy <all|any|N>",
      "how many witnesses (chain anchors + RFC 3161 tokens) must verify (default all)",
      policyOption,
    )
    .option(
      "--tsa-trust <file.pem>",
      "trust this TSA root certificate (PEM) for RFC 3161 tokens; repeatable (default: PROOFMARK_TSA_TRUST, config tsaTrust)",
      (v: string, prev: string[]) => [...prev, v],
      [],
    )
    .option(
      "--cert-trust <file.pem>",
      "trust this root certificate (PEM) for a WACZ signed with a domain certificate (identity mode); repeatable (default: PROOFMARK_CERT_TRUST)",
      (v: string, prev: string[]) => [...prev, v],
      [],
    );
}

interface Item extends PendingItem {
  file?: string;
}

/** `stamp --calendar URL…`: salted leaves computed here, submitted, pending receipts written at once. */
export async function stampThroughCalendars(env: CommandEnv, paths: string[], o: CalendarStampOptions): Promise<void> {
  const skipped: SkippedEntry[] = [];
  const items: Item[] = [];
  const unchanged: string[] = [];
  const meta = o.meta;
  if (o.sha256) {
    if (paths.length > 0)
      throw new ProofmarkError("INVALID_ARGUMENT", "a bare digest is stamped alone: give files or a digest, not both");
    const salt = randomSalt();
    const receiptPath = path.join(o.out ?? ".", `${o.sha256}.proof.json`);
    items.push({
      receiptPath,
      subject: { name: o.name ?? `sha256-${o.sha256.slice(0, 16)}`, sha256: o.sha256 },
      commitment: { salt, meta, leaf: computeLeaf({ sha256: o.sha256, salt, meta }) },
    });
  } else {
    if (paths.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "name the files or folders to stamp");
    for (const file of collectFiles(paths, skipped)) {
      env.out.progress(`hashing ${file}`);
      // a capture (.wacz) commits its signed datapackage-digest.json, as `capture --calendar` does
      const capture = await captureSubjectOf(file);
      const { sha256, size } = capture ?? (await hashFile(file));
      const receiptPath = receiptPathFor(file, o.out);
      if (coversAlready(receiptPath, sha256)) {
        unchanged.push(file);
        continue;
      }
      const salt = randomSalt();
      const committed = capture ? { ...meta, ...capture.meta } : meta;
      items.push({
        file,
        receiptPath,
        subject: { name: capture?.name ?? path.basename(file), size, sha256 },
        commitment: { salt, meta: committed, leaf: computeLeaf({ sha256, salt, meta: committed }) },
      });
    }
    env.out.progressDone();
  }
  const signer = o.sign ? await loadSubmitterSigner() : undefined;
  let submitted: Awaited<ReturnType<typeof submitPendingReceipts<Item>>> | undefined;
  if (items.length > 0) {
    env.out.progress(`submitting ${items.length} leaf/leaves to ${o.calendar.length} calendar(s)`);
    submitted = await submitPendingReceipts(items, o.calendar, {
      statementOf: signer
        ? (leaf) =>
            signSubmitterStatement(signer, { leaf, statement: o.statement ?? "submitted by the holder of this key" })
        : undefined,
    });
    env.out.progressDone();
  }
  const written = (submitted?.written ?? []).map(({ item, receipt }) => ({
    file: item.file,
    receipt: item.receiptPath,
    leaf: item.commitment.leaf,
    calendars: receipt.calendars!.length,
    signedBy: receipt.attestations.find((a) => a.type === "submitter")?.signer,
  }));
  env.out.result({ pending: written, unchanged, calendars: submitted?.calendars ?? [], skipped });
  const rel = (p: string) => path.relative(process.cwd(), p) || p;
  for (const w of written)
    env.out.line(
      `pending   ${w.file ? rel(w.file) : w.leaf}  →  ${rel(w.receipt)}  (acknowledged by ${w.calendars} calendar(s)${w.signedBy ? `, signed by ${w.signedBy} (submitter)` : ""})`,
    );
  for (const u of unchanged) env.out.line(`unchanged ${rel(u)}  (its receipt already covers this content)`);
  for (const c of submitted?.calendars ?? [])
    env.out.line(
      c.ok
        ? `calendar  ${c.calendar}: acknowledged`
        : `calendar  ${c.calendar}: DID NOT ANSWER (${c.code}: ${c.message})`,
    );
  for (const s of skipped) env.out.line(`skipped   ${rel(s.path)}  (${s.reason})`);
  if (written.length > 0) env.out.line();
  if (written.length > 0)
    env.out.line(
      "these receipts are PENDING: nothing anchors them yet. Complete them once the calendar has anchored its batch: proofmark upgrade <files or folder>",
    );
}

/** True when `receiptPath` holds a receipt (pending or complete) of this content. */
function coversAlready(receiptPath: string, sha256: string): boolean {
  if (!fs.existsSync(receiptPath)) return false;
  try {
    return parseAnyReceipt(readReceiptText(receiptPath)).subject.sha256 === sha256;
  } catch {
    return false;
  }
}

/** The receipts named by `paths`: receipts themselves, `<file>.proof.json` of files, every receipt in folders. */
export function receiptsIn(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const full = path.join(dir, e.name);
      if (e.isDirectory() && ![".git", ".proofmark", "node_modules"].includes(e.name)) walk(full);
      else if (e.isFile() && RECEIPT_FILE_RE.test(e.name)) out.push(full);
    }
  };
  for (const p of paths) {
    let st: fs.Stats;
    try {
      st = fs.statSync(p);
    } catch {
      throw new ProofmarkError("FILE_NOT_FOUND", `${p}: no such file or folder`, { path: p });
    }
    if (st.isDirectory()) walk(p);
    else if (RECEIPT_FILE_RE.test(p)) out.push(p);
    else out.push(`${p}.proof.json`);
  }
  return out;
}

interface UpgradeCliOptions {
  calendar: string[];
  policy?: WitnessPolicy;
  tsaTrust: string[];
}

/** `proofmark upgrade FILES|DIR`. */
export function register(program: Command): void {
  addWitnessOptions(
    program
      .command("upgrade")
      .description(
        "complete pending receipts from their calendar(s): each completed proof is verified (chains, TSA tokens, signatures) before the receipt is rewritten",
      ),
  )
    .argument("<paths...>", "receipts, files (their <file>.proof.json) or folders")
    .option("--calendar <url>", "ask this calendar instead of the ones in the receipt; repeatable", calendarUrl, [])
    .action(async (paths: string[], o: UpgradeCliOptions, cmd: Command) => {
      const env = commandEnv(cmd);
      const receipts = receiptsIn(paths);
      const verifier = evidenceVerifier({
        rpc: env.opts.rpc,
        dataDir: env.dataDir,
        policy: o.policy,
        tsaTrust: o.tsaTrust,
      });
      const rows: Array<{ receipt: string; status: string; code?: string; message: string; calendar?: string }> = [];
      for (const file of receipts) {
        let r: Receipt | PendingReceipt;
        try {
          r = parseAnyReceipt(readReceiptText(file));
        } catch (e) {
          if (!isProofmarkError(e)) throw e;
          rows.push({ receipt: file, status: "failed", code: e.code, message: e.message });
          continue;
        }
        if (!isPendingReceipt(r)) {
          rows.push({ receipt: file, status: "complete", message: "already complete" });
          continue;
        }
        env.out.progress(`asking the calendar(s) about ${file}`);
        const target = file.replace(RECEIPT_FILE_RE, "");
        let digest: { sha256: string; size: number } | undefined;
        try {
          // a capture's receipt covers its signed datapackage-digest.json, not the WACZ's bytes
          if (fs.existsSync(target) && fs.statSync(target).isFile())
            digest = (await captureSubjectOf(target)) ?? (await hashFile(target));
        } catch (e) {
          env.out.progressDone();
          if (!isProofmarkError(e)) throw e;
          rows.push({ receipt: file, status: "failed", code: e.code, message: e.message });
          continue;
        }
        const out = await upgradeReceipt(r, {
          verifier,
          file: digest,
          calendars: o.calendar.length ? o.calendar : undefined,
        });
        env.out.progressDone();
        if (out.status === "complete") {
          // the pending receipt is replaced only by a complete one that verified, atomically
          writeFileAtomic(file, serializeReceipt(out.receipt));
          rows.push({ receipt: file, status: "upgraded", message: out.result.message, calendar: out.calendar });
        } else {
          const refused = out.refused[0];
          const down = out.unchecked[0];
          rows.push({
            receipt: file,
            status: refused ? "refused" : "pending",
            code: refused?.code ?? down?.code ?? "RECEIPT_PENDING",
            message: refused
              ? `${refused.calendar}: ${refused.message}; the pending receipt is kept unchanged`
              : down
                ? `not completed (${down.calendar}: ${down.message}); still pending`
                : "the calendar has not anchored this leaf yet; still pending",
          });
        }
      }
      env.out.result(rows);
      const rel = (p: string) => path.relative(process.cwd(), p) || p;
      for (const row of rows)
        env.out.line(`${row.status.padEnd(9)} ${rel(row.receipt)}  ${row.code ? `${row.code}: ` : ""}${row.message}`);
      const bad = rows.filter((r) => r.status !== "upgraded" && r.status !== "complete");
      if (bad.length > 0)
        throw new ProofmarkError(
          (bad.find((b) => b.status === "refused")?.code ?? bad[0].code ?? "RECEIPT_PENDING") as never,
          `${bad.length} of ${rows.length} receipt(s) not completed (see above)`,
          { failed: bad.length },
        );
    });
}
