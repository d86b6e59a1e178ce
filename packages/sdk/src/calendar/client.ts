import type { Provider, Signer } from "ethers";
import type { VerificationResult, Verifier } from "../core/engine";
import { isProofmarkError, ProofmarkError, type ErrorCode } from "../core/errors";
import type { Hex } from "../core/hex";
import { processProof } from "../core/merkle";
import {
  parseAnyReceipt,
  RECEIPT_FORMAT,
  RECEIPT_VERSION_WITNESSES,
  serializeReceipt,
  type PendingReceipt,
  type Receipt,
  type ReceiptAnchor,
  type ReceiptTimestamp,
} from "../core/receipt";
import { parseAttestation, verifyAttestation, type Attestation, type CalendarAttestation } from "../core/statement";
import { loadSigner } from "../chain/accounts";
import { MAX_LEAVES_PER_REQUEST } from "./service";
import { writeFileAtomic } from "../util/fs";

/**
 * The calendar client: submits salted leaves (computed here; the calendar never sees a file or its
 * SHA-256) to one or more calendars, keeps every calendar's signed acknowledgement, and later
 * completes pending receipts from the calendars' proofs — each proof verified before it is kept.
 */

/** Deadline of one request to a calendar. */
export const CALENDAR_TIMEOUT_MS = 15_000;
/**
 * Longest a submission waits in all, per calendar, on busy answers (503 with `Retry-After`, the
 * calendar's overload answer) before it counts that calendar as not having answered.
 */
export const CALENDAR_BUSY_WAIT_MS = 30_000;
/** The largest answer read from a calendar (1,000 acknowledgements are about 600 KB). */
const MAX_ANSWER_BYTES = 4 << 20;

/** What one calendar did with a submission. */
export type CalendarOutcome =
  { calendar: string; ok: true } | { calendar: string; ok: false; code: ErrorCode; message: string };

/** A submission to several calendars: per leaf, every calendar's acknowledgement. */
export interface Submission {
  /** `acknowledgements[i]` are the acknowledgements of `leaves[i]`, one per calendar that answered. */
  acknowledgements: CalendarAttestation[][];
  /** Each calendar's outcome, in the order given. */
  calendars: CalendarOutcome[];
  /** The calendars that acknowledged every leaf. */
  answered: string[];
}

function base(url: string): string {
  return url.replace(/\/+$/, "");
}

async function readAnswer(res: Response, url: string): Promise<unknown> {
  const text = await res.text();
  if (text.length > MAX_ANSWER_BYTES)
    throw new ProofmarkError(
      "CALENDAR_UNREACHABLE",
      `the calendar ${url} answered more than ${MAX_ANSWER_BYTES} bytes`,
      {
        calendar: url,
      },
    );
  try {
    return JSON.parse(text);
  } catch {
    throw new ProofmarkError("CALENDAR_UNREACHABLE", `the calendar ${url} answered HTTP ${res.status} without JSON`, {
      calendar: url,
      status: res.status,
    });
  }
}

async function request(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ status: number; body: unknown; retryAfterMs?: number }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  } catch (e) {
    throw new ProofmarkError(
      "CALENDAR_UNREACHABLE",
      `the calendar ${url} did not answer (${String((e as { cause?: unknown }).cause ?? (e as Error).message)})`,
      { calendar: url },
    );
  }
  // Retry-After as delta-seconds (what the calendar sends); an HTTP date is not waited for
  const retryAfter = /^\s*(\d{1,6})\s*$/.exec(res.headers.get("retry-after") ?? "");
  return {
    status: res.status,
    body: await readAnswer(res, url),
    retryAfterMs: retryAfter ? Number(retryAfter[1]) * 1000 : undefined,
  };
}

function calendarError(url: string, status: number, body: unknown): ProofmarkError {
  const err = (body as { error?: { code?: string; message?: string } })?.error;
  return new ProofmarkError(
    "CALENDAR_UNREACHABLE",
    `the calendar ${url} answered HTTP ${status}${err ? ` ${String(err.code)}: ${String(err.message).slice(0, 300)}` : ""}`,
    { calendar: url, status, calendarCode: err?.code },
  );
}

/**
 * Checks one calendar's acknowledgements of `leaves`: one per leaf, in order, each a valid
 * calendar signature over a root its path leads to. A calendar that answers anything else is
 * treated as not having answered.
 */
function checkAcknowledgements(url: string, leaves: Hex[], body: unknown): CalendarAttestation[] {
  const b = body as { format?: unknown; statements?: unknown };
  if (
    b?.format !== "proofmark-calendar-pending" ||
    !Array.isArray(b.statements) ||
    b.statements.length !== leaves.length
  )
    throw new ProofmarkError(
      "CALENDAR_UNREACHABLE",
      `the calendar ${url} did not answer with one acknowledgement per leaf`,
      { calendar: url },
    );
  const verdicts = new Map<string, boolean>(); // one signature per group commit: check each once
  return b.statements.map((s, i) => {
    let a: Attestation;
    try {
      a = parseAttestation(s);
    } catch (e) {
      throw new ProofmarkError(
        "CALENDAR_UNREACHABLE",
        `the calendar ${url} sent a malformed acknowledgement: ${(e as Error).message}`,
        {
          calendar: url,
        },
      );
    }
    if (a.type !== "calendar" || a.leaf !== leaves[i])
      throw new ProofmarkError(
        "CALENDAR_UNREACHABLE",
        `the calendar ${url} acknowledged another leaf than the one sent`,
        {
          calendar: url,
        },
      );
    if (processProof(a.leaf, a.path).root !== a.message.root)
      throw new ProofmarkError(
        "CALENDAR_UNREACHABLE",
        `the calendar ${url} sent an acknowledgement whose path does not lead to its root`,
        {
          calendar: url,
        },
      );
    const key = `${a.message.root}|${a.signature}`;
    if (!verdicts.has(key))
      verdicts.set(key, verifyAttestation(a, { foldPath: (l, p) => processProof(l, p as Hex[]).root }).valid);
    if (!verdicts.get(key))
      throw new ProofmarkError(
        "CALENDAR_UNREACHABLE",
        `the calendar ${url} sent an acknowledgement whose signature does not verify`,
        {
          calendar: url,
        },
      );
    return a;
  });
}

/**
 * Submits `leaves` to every calendar (at most 1,000 per request), all calendars at once. A calendar
 * counts only when it acknowledged every leaf with a valid signature. A busy calendar (503 with
 * `Retry-After`) is asked again after the time it names, while the waits stay within `busyWaitMs`
 * (default {@link CALENDAR_BUSY_WAIT_MS}). Throws CALENDAR_UNREACHABLE when no calendar acknowledged;
 * otherwise the outcome of each is in the result.
 *
 * @example
 * const { acknowledgements, answered } = await submitToCalendars(["http://127.0.0.1:8090"], [leaf]);
 */
export async function submitToCalendars(
  calendars: string[],
  leaves: Hex[],
  opts: { timeoutMs?: number; busyWaitMs?: number } = {},
): Promise<Submission> {
  if (calendars.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "name at least one calendar URL");
  const timeoutMs = opts.timeoutMs ?? CALENDAR_TIMEOUT_MS;
  const busyWaitMs = opts.busyWaitMs ?? CALENDAR_BUSY_WAIT_MS;
  const perCalendar = await Promise.all(
    calendars.map(async (calendar): Promise<{ outcome: CalendarOutcome; acks?: CalendarAttestation[] }> => {
      const url = base(calendar);
      try {
        const acks: CalendarAttestation[] = [];
        let waited = 0;
        for (let i = 0; i < leaves.length; i += MAX_LEAVES_PER_REQUEST) {
          const chunk = leaves.slice(i, i + MAX_LEAVES_PER_REQUEST);
          const send = () =>
            request(
              `${url}/v1/leaves`,
              {
                method: "POST",
                headers: { "content-type": "application/json" },
                body: JSON.stringify({ leaves: chunk }),
              },
              timeoutMs,
            );
          let { status, body, retryAfterMs } = await send();
          while (status === 503 && retryAfterMs !== undefined && waited + retryAfterMs <= busyWaitMs) {
            await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
            waited += retryAfterMs;
            ({ status, body, retryAfterMs } = await send());
          }
          if (status !== 202) throw calendarError(url, status, body);
          acks.push(...checkAcknowledgements(url, chunk, body));
        }
        return { outcome: { calendar: url, ok: true }, acks };
      } catch (e) {
        if (!isProofmarkError(e)) throw e;
        return { outcome: { calendar: url, ok: false, code: e.code, message: e.message } };
      }
    }),
  );
  const answered = perCalendar.filter((c) => c.acks);
  if (answered.length === 0)
    throw new ProofmarkError(
      "CALENDAR_UNREACHABLE",
      `no calendar acknowledged the leaves: ${perCalendar
        .map((c) => (c.outcome.ok ? "" : c.outcome.message))
        .join("; ")}; nothing was stamped`,
      { calendars: perCalendar.map((c) => c.outcome) },
    );
  return {
    acknowledgements: leaves.map((_, i) => answered.map((c) => c.acks![i])),
    calendars: perCalendar.map((c) => c.outcome),
    answered: answered.map((c) => c.outcome.calendar),
  };
}

/** The pending v2 receipt of one leaf, with every calendar's acknowledgement (and the submitter's statement). */
export function pendingReceipt(input: {
  subject: Receipt["subject"];
  commitment: Receipt["commitment"];
  acknowledgements: CalendarAttestation[];
  calendars: string[];
  statement?: Attestation;
}): PendingReceipt {
  const r = {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION_WITNESSES,
    subject: input.subject,
    commitment: input.commitment,
    anchors: [],
    timestamps: [],
    attestations: [...input.acknowledgements, ...(input.statement ? [input.statement] : [])],
    calendars: input.calendars,
  };
  // through the strict parser: what is written is exactly what will be read
  return parseAnyReceipt(serializeReceipt(r as unknown as PendingReceipt)) as PendingReceipt;
}

/** One salted commitment and the file its pending receipt goes to. */
export interface PendingItem {
  receiptPath: string;
  subject: Receipt["subject"];
  commitment: Receipt["commitment"];
}

/**
 * Submits every item's leaf to the calendars ({@link submitToCalendars}), then writes each item's
 * PENDING receipt atomically at its `receiptPath`, with every calendar's acknowledgement and, when
 * `statementOf` gives one, the submitter's own statement over the leaf. Throws CALENDAR_UNREACHABLE,
 * writing nothing, when no calendar acknowledged.
 *
 * @example
 * const { written } = await submitPendingReceipts([{ receiptPath, subject, commitment }], ["http://127.0.0.1:8090"]);
 */
export async function submitPendingReceipts<T extends PendingItem>(
  items: T[],
  calendars: string[],
  opts: { timeoutMs?: number; statementOf?: (leaf: Hex) => Promise<Attestation | undefined> } = {},
): Promise<{ written: Array<{ item: T; receipt: PendingReceipt }>; calendars: CalendarOutcome[] }> {
  const submission = await submitToCalendars(
    calendars,
    items.map((i) => i.commitment.leaf),
    { timeoutMs: opts.timeoutMs },
  );
  const written: Array<{ item: T; receipt: PendingReceipt }> = [];
  for (const [i, item] of items.entries()) {
    const receipt = pendingReceipt({
      subject: item.subject,
      commitment: item.commitment,
      acknowledgements: submission.acknowledgements[i],
      calendars: submission.answered,
      statement: await opts.statementOf?.(item.commitment.leaf),
    });
    writeFileAtomic(item.receiptPath, serializeReceipt(receipt));
    written.push({ item, receipt });
  }
  return { written, calendars: submission.calendars };
}

/** A calendar's answer about one leaf. */
export type CalendarProofAnswer =
  | {
      status: "complete";
      calendar: string;
      proof: { root: Hex; path: Hex[]; leafCount: number };
      anchors: ReceiptAnchor[];
      timestamps: ReceiptTimestamp[];
      attestations: CalendarAttestation[];
    }
  | { status: "pending"; calendar: string }
  | { status: "failed"; calendar: string; code: ErrorCode; message: string };

/** Asks one calendar for the completed proof of `leaf` (`GET /v1/proofs/0x<leaf>`). Never throws for the calendar's failure. */
export async function fetchCalendarProof(
  calendar: string,
  leaf: Hex,
  opts: { timeoutMs?: number } = {},
): Promise<CalendarProofAnswer> {
  const url = base(calendar);
  try {
    const { status, body } = await request(
      `${url}/v1/proofs/${leaf}`,
      { method: "GET" },
      opts.timeoutMs ?? CALENDAR_TIMEOUT_MS,
    );
    const b = body as Record<string, unknown>;
    if (status === 202 && b?.status === "pending") return { status: "pending", calendar: url };
    if (status !== 200) throw calendarError(url, status, body);
    if (b?.format !== "proofmark-calendar-proof" || b.status !== "complete" || b.leaf !== leaf)
      throw new ProofmarkError(
        "CALENDAR_PROOF_INVALID",
        `the calendar ${url} answered a proof that is not the completed proof of leaf ${leaf}`,
        {
          calendar: url,
        },
      );
    return {
      status: "complete",
      calendar: url,
      proof: b.proof as { root: Hex; path: Hex[]; leafCount: number },
      anchors: (b.anchors ?? []) as ReceiptAnchor[],
      timestamps: (b.timestamps ?? []) as ReceiptTimestamp[],
      attestations: (b.attestations ?? []) as CalendarAttestation[],
    };
  } catch (e) {
    if (!isProofmarkError(e)) throw e;
    return { status: "failed", calendar: url, code: e.code, message: e.message };
  }
}

/**
 * The complete receipt built from a pending one and a calendar's proof, through the strict parser:
 * a proof whose path does not lead from this leaf to its root, or with malformed anchors or tokens,
 * is CALENDAR_PROOF_INVALID.
 */
export function completeReceipt(
  pending: PendingReceipt,
  answer: Extract<CalendarProofAnswer, { status: "complete" }>,
): Receipt {
  const attestations = [...pending.attestations];
  for (const a of answer.attestations) if (!attestations.some((x) => x.signature === a.signature)) attestations.push(a);
  const draft = {
    format: RECEIPT_FORMAT,
    version: RECEIPT_VERSION_WITNESSES,
    subject: pending.subject,
    commitment: pending.commitment,
    proof: answer.proof,
    anchors: answer.anchors,
    timestamps: answer.timestamps,
    attestations,
    calendars: pending.calendars,
    ...(pending.encryption ? { encryption: pending.encryption } : {}),
  };
  try {
    const text = `${JSON.stringify(draft)}`;
    const r = parseAnyReceipt(text);
    if ("pending" in r) throw new Error("still pending");
    return r;
  } catch (e) {
    throw new ProofmarkError(
      "CALENDAR_PROOF_INVALID",
      `the calendar ${answer.calendar} answered a proof that does not hold for this leaf: ${(e as Error).message}`,
      { calendar: answer.calendar },
    );
  }
}

/** What upgrading one pending receipt came to. */
export type UpgradeOutcome =
  | { status: "complete"; receipt: Receipt; result: VerificationResult; calendar: string; refused: RefusedProof[] }
  | {
      status: "pending";
      receipt: PendingReceipt;
      /** Proofs that contradict the receipt or its witnesses: the calendar is wrong or lying. */
      refused: RefusedProof[];
      /** Calendars that did not answer, or whose proof could not be checked now (e.g. a chain down, a TSA not trusted). */
      unchecked: RefusedProof[];
    };

/** A calendar's proof that was refused (or a calendar that did not answer), and why. */
export interface RefusedProof {
  calendar: string;
  code: ErrorCode;
  message: string;
}

/**
 * Completes a pending receipt from its calendars: asks each calendar in turn, builds the complete
 * receipt from the first complete answer, and verifies it with `verifier` (file digest included when
 * given) before returning it. A proof that contradicts the receipt or its witnesses is refused
 * (CALENDAR_PROOF_INVALID); one that cannot be checked now (a chain down, a TSA not trusted) is
 * listed as unchecked; either way the next calendar is asked, and when none completes, the receipt
 * stays pending.
 *
 * @example
 * const out = await upgradeReceipt(pending, { verifier: evidenceVerifier({ dataDir }) });
 * if (out.status === "complete") writeFileAtomic(file, serializeReceipt(out.receipt));
 */
export async function upgradeReceipt(
  pending: PendingReceipt,
  opts: { verifier: Verifier; file?: { sha256: string; size: number }; calendars?: string[]; timeoutMs?: number },
): Promise<UpgradeOutcome> {
  const refused: RefusedProof[] = [];
  const unchecked: RefusedProof[] = [];
  for (const calendar of opts.calendars ?? pending.calendars) {
    const answer = await fetchCalendarProof(calendar, pending.commitment.leaf, opts);
    if (answer.status === "pending") continue;
    if (answer.status === "failed") {
      if (answer.code === "CALENDAR_PROOF_INVALID") refused.push(answer);
      else unchecked.push({ calendar: answer.calendar, code: answer.code, message: answer.message });
      continue;
    }
    let receipt: Receipt;
    try {
      receipt = completeReceipt(pending, answer);
    } catch (e) {
      if (!isProofmarkError(e)) throw e;
      refused.push({ calendar: answer.calendar, code: e.code, message: e.message });
      continue;
    }
    const result = await opts.verifier.verify(receipt, opts.file);
    if (result.ok) return { status: "complete", receipt, result, calendar: answer.calendar, refused };
    if (result.status === "mismatch" || result.status === "not-anchored")
      refused.push({
        calendar: answer.calendar,
        code: "CALENDAR_PROOF_INVALID",
        message: `the calendar's proof does not verify (${result.code}): ${result.message}`,
      });
    else
      unchecked.push({
        calendar: answer.calendar,
        code: result.code ?? "POLICY_NOT_MET",
        message: `the calendar's proof could not be checked now (${result.code}): ${result.message}`,
      });
  }
  return { status: "pending", receipt: pending, refused, unchecked };
}

/**
 * The submitter's own key, for the submitter's statement: the configured key (PROOFMARK_PRIVATE_KEY,
 * or PROOFMARK_KEYSTORE + PROOFMARK_KEYSTORE_PASSWORD), never a development account — a statement
 * signed with a public dev key would say nothing about who stored the file. Never printed.
 */
export async function loadSubmitterSigner(env: NodeJS.ProcessEnv = process.env): Promise<Signer> {
  if (!env.PROOFMARK_PRIVATE_KEY && !env.PROOFMARK_KEYSTORE)
    throw new ProofmarkError(
      "KEY_UNAVAILABLE",
      "signing a submitter statement needs your own key: set PROOFMARK_PRIVATE_KEY, or PROOFMARK_KEYSTORE and PROOFMARK_KEYSTORE_PASSWORD",
      { role: "submitter" },
    );
  return loadSigner({ chainId: 0, provider: null as unknown as Provider, as: "key", env });
}
