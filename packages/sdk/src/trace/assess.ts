import { chainRecord, type EpcisEvent } from "../core/epcis";
import type { Hex } from "../core/hex";
import { formatQuantity } from "../core/quantity";
import {
  licenceKey,
  type ChainEvent,
  type IndexedLot,
  type LotStatus,
  type ProvenanceState,
} from "../chain/provenance-logs";
import type { GiEventDocument } from "../gi/documents";

/**
 * The one assessment of a GI lot: given the registry's state rebuilt from logs (the SDK's reducer,
 * {@link applyProvenanceLogs}), what storage says at the same block, and how each event document
 * compared with its chain record, it says whether the lot is genuine. Pure: `proofmark gi trace`
 * feeds it from the chain and the content store; the portal feeds it from its index (which holds
 * the same reducer's output, the storage words read at the indexed block and the document checks).
 */

/** The verdicts of a lot, in the words `gi trace` and the portal both use. */
export const TRACE_STATUSES = ["genuine", "recalled", "broken", "unverifiable", "unknown"] as const;
/**
 * - genuine: every check made passed (hash-chain heads match storage, every document found matches
 *   its chain record, mass balance holds, storage agrees with the logs);
 * - recalled: nothing failed, but the lot or an ancestor was recalled;
 * - broken: a check failed;
 * - unverifiable: nothing failed, but a check could not be made (a storage word was not read);
 * - unknown: no such lot.
 */
export type TraceStatus = (typeof TRACE_STATUSES)[number];

/** How an event document compared with its chain record. */
export type DocumentCheck = "verified" | "document-missing" | "document-mismatch";

/** What one finding is about (pages translate by kind). */
export type FindingKind =
  "head-mismatch" | "head-unread" | "storage-mismatch" | "document-mismatch" | "mass-balance" | "recalled";

/** One reason for a verdict. */
/** What a trace checked against the chain: hash-chain heads, event documents, storage against logs. */
export interface TraceChecks {
  headsMatch: boolean;
  documentsVerified: number;
  documentsMissing: number;
  documentsMismatched: number;
  storageMatchesLogs: boolean;
}

export interface Finding {
  kind: FindingKind;
  lot: number;
  /** In words (English). */
  text: string;
}

/** What storage says about a lot at the block the logs were read to. */
export interface StoredLotFacts {
  head: Hex;
  status: LotStatus;
  quantity: bigint;
  remaining: bigint;
}

/** Mass balance of the tree. */
export interface MassBalanceCheck {
  ok: boolean;
  /** Total of the harvests the lot comes from, in the product's base unit. */
  harvested: bigint;
  /** Per lot: quantity = Σ taken by children + remaining. */
  lots: Array<{ lot: number; quantity: string; takenByChildren: string; remaining: string; ok: boolean }>;
  problems: string[];
}

/** Input of {@link assessLot}. */
export interface LotAssessmentInput {
  lot: number;
  /** The reducer's output; must hold at least the lot, its ancestors and its descendants. */
  state: Pick<ProvenanceState, "lots" | "products" | "licences" | "events">;
  /** Storage per lot of the tree at `state.toBlock`; a lot absent (or undefined) was not read. */
  stored: ReadonlyMap<number, StoredLotFacts | undefined>;
  /** How each event's document compared with its chain record. */
  documentCheck(event: ChainEvent): DocumentCheck;
}

/** Result of {@link assessLot}. */
export interface LotAssessment {
  lot: number;
  status: TraceStatus;
  /** Every finding, failures first, in words ({@link findings} has them with their kind). */
  reasons: string[];
  findings: Finding[];
  /** The lot, its ancestors (up to the harvests) and descendants, by id; undefined when unknown. */
  self?: IndexedLot;
  ancestors: IndexedLot[];
  descendants: IndexedLot[];
  heads: Map<number, { stored?: Hex; fromLogs: Hex; match: boolean }>;
  checks: TraceChecks;
  /** What could not be checked, in words (why a verdict is "unverifiable"). */
  unchecked: string[];
  massBalance?: MassBalanceCheck;
}

/** The lots a lot comes from (up to the harvests) and the lots made from it, each sorted by id. */
export function lotTree(
  state: Pick<ProvenanceState, "lots">,
  id: number,
): { self?: IndexedLot; ancestors: IndexedLot[]; descendants: IndexedLot[] } {
  const self = state.lots.get(id);
  if (!self) return { ancestors: [], descendants: [] };
  const walk = (next: (l: IndexedLot) => number[]): IndexedLot[] => {
    const seen = new Set<number>([id]);
    const out: IndexedLot[] = [];
    const queue = [...next(self)];
    while (queue.length > 0) {
      const n = queue.shift()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const l = state.lots.get(n);
      if (!l) continue;
      out.push(l);
      queue.push(...next(l));
    }
    return out.sort((a, b) => a.id - b.id);
  };
  return { self, ancestors: walk((l) => l.parents), descendants: walk((l) => l.children.map((c) => c.lot)) };
}

/**
 * Compares a stored event document with the event's chain log: its salted commitment must be the
 * log's `document`, and its step, disposition, time and location must be the log's.
 */
export function checkEventDocument(
  event: ChainEvent,
  doc: GiEventDocument | undefined,
): { check: DocumentCheck; epcis?: EpcisEvent } {
  if (!doc) return { check: "document-missing" };
  const epcis = doc.epcis?.epcisBody?.eventList?.[0];
  if (!epcis) return { check: "document-mismatch" };
  try {
    const r = chainRecord(epcis, doc.salt);
    const ok =
      r.document === event.document.toLowerCase() &&
      r.step === event.stepCode &&
      r.disposition === event.dispositionCode &&
      r.eventTime === event.eventTime &&
      r.location === event.location.toLowerCase();
    return { check: ok ? "verified" : "document-mismatch", epcis };
  } catch {
    return { check: "document-mismatch", epcis };
  }
}

/**
 * Assesses a lot: heads against storage, storage against logs, documents against their chain
 * records, mass balance of the whole tree, recalls of the lot and its ancestors.
 *
 * @example
 * const a = assessLot({ lot: 7, state, stored, documentCheck: (e) => checks.get(e.document) ?? "document-missing" });
 * a.status // "genuine"
 */
export function assessLot(input: LotAssessmentInput): LotAssessment {
  const { state, lot: id } = input;
  const out: LotAssessment = {
    lot: id,
    status: "unknown",
    reasons: [],
    findings: [],
    ancestors: [],
    descendants: [],
    heads: new Map(),
    unchecked: [],
    checks: {
      headsMatch: true,
      documentsVerified: 0,
      documentsMissing: 0,
      documentsMismatched: 0,
      storageMatchesLogs: true,
    },
  };
  const { self, ancestors, descendants } = lotTree(state, id);
  if (!self) {
    out.reasons.push(`lot ${id} does not exist`);
    return out;
  }
  out.self = self;
  out.ancestors = ancestors;
  out.descendants = descendants;
  const tree = [self, ...ancestors, ...descendants];
  const product = state.products.get(self.product);
  const unit = product?.unit ?? "pcs";
  const q = (amount: bigint) => formatQuantity(amount, unit);
  const fail = (kind: FindingKind, lot: number, text: string) => out.findings.push({ kind, lot, text });

  // Storage vs logs: heads, status, quantities.
  for (const l of tree) {
    const stored = input.stored.get(l.id);
    if (!stored) {
      out.heads.set(l.id, { fromLogs: l.head, match: false });
      out.unchecked.push(
        `lot ${l.id}: the hash-chain head in storage was not read, so the events from logs were not checked against it`,
      );
      continue;
    }
    const match = stored.head.toLowerCase() === l.head.toLowerCase();
    out.heads.set(l.id, { stored: stored.head, fromLogs: l.head, match });
    if (!match) {
      out.checks.headsMatch = false;
      fail(
        "head-mismatch",
        l.id,
        `lot ${l.id}: the hash-chain head in storage (${stored.head}) is not the one its event logs give (${l.head})`,
      );
    }
    if (stored.status !== l.status || stored.remaining !== l.remaining || stored.quantity !== l.quantity) {
      out.checks.storageMatchesLogs = false;
      fail(
        "storage-mismatch",
        l.id,
        `lot ${l.id}: storage says ${stored.status}, ${stored.remaining} of ${stored.quantity} left; the logs say ${l.status}, ${l.remaining} of ${l.quantity}`,
      );
    }
  }

  // Documents.
  for (const l of tree) {
    for (const ev of state.events.get(l.id) ?? []) {
      const check = input.documentCheck(ev);
      if (check === "verified") out.checks.documentsVerified++;
      else if (check === "document-missing") out.checks.documentsMissing++;
      else {
        out.checks.documentsMismatched++;
        fail(
          "document-mismatch",
          ev.lot,
          `lot ${ev.lot}: the ${ev.step} document of block ${ev.blockNumber} does not match its chain record (commitment ${ev.document})`,
        );
      }
    }
  }

  // Mass balance.
  const problems: string[] = [];
  const balance: MassBalanceCheck["lots"] = [];
  for (const l of tree) {
    const problem = (text: string) => {
      problems.push(text);
      fail("mass-balance", l.id, text);
    };
    const taken = l.children.reduce((s, c) => s + c.amount, 0n);
    const ok = taken + l.remaining === l.quantity && l.remaining >= 0n;
    if (!ok) problem(`lot ${l.id}: ${q(l.quantity)} ≠ ${q(taken)} taken by other lots + ${q(l.remaining)} left`);
    balance.push({
      lot: l.id,
      quantity: l.quantity.toString(),
      takenByChildren: taken.toString(),
      remaining: l.remaining.toString(),
      ok,
    });
    const input = l.amounts.reduce((s, a) => s + a, 0n);
    if (l.origin === "transform") {
      const bps = product?.maxYieldBps ?? 0;
      if (l.quantity * 10_000n > input * BigInt(bps))
        problem(`lot ${l.id}: ${q(l.quantity)} out of ${q(input)} exceeds the ${bps / 100} % maximum yield`);
    } else if (l.origin !== "harvest" && input !== l.quantity) {
      problem(`lot ${l.id}: made of ${q(input)} but holds ${q(l.quantity)}`);
    }
    if (l.origin === "harvest" && l.season !== undefined) {
      const licence = state.licences.get(licenceKey(l.product, l.actor, l.season));
      if (!licence) problem(`lot ${l.id}: harvested without a licence in the logs`);
      else if (licence.harvested > licence.quota)
        problem(
          `lot ${l.id}: the ${l.season} licence of ${l.actor} is over quota (${q(licence.harvested)} > ${q(licence.quota)})`,
        );
    }
  }
  const harvested = [self, ...ancestors].filter((l) => l.origin === "harvest").reduce((s, l) => s + l.quantity, 0n);
  out.massBalance = { ok: problems.length === 0, harvested, lots: balance, problems };

  // Verdict: a failure outweighs a recall, a recall outweighs what was not checked.
  const recalled = [self, ...ancestors].filter((l) => l.status === "recalled" || l.recall);
  if (out.findings.length > 0) out.status = "broken";
  else if (recalled.length > 0) out.status = "recalled";
  else if (out.unchecked.length > 0) out.status = "unverifiable";
  else out.status = "genuine";
  for (const r of recalled) {
    fail(
      "recalled",
      r.id,
      r.id === self.id
        ? `lot ${r.id} was recalled: ${r.recall?.reason ?? ""}`
        : `ancestor lot ${r.id} was recalled: ${r.recall?.reason ?? ""}`,
    );
  }
  out.reasons = [
    ...out.findings.filter((f) => f.kind !== "recalled" || out.status === "recalled").map((f) => f.text),
    ...(out.status === "unverifiable" ? out.unchecked : []),
  ];
  return out;
}
