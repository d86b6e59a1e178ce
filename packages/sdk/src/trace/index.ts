import { chainRecord, type EpcisEvent } from "../core/epcis";
import type { Hex } from "../core/hex";
import { formatQuantity } from "../core/quantity";
import { devAccountName } from "../chain/accounts";
import {
  licenceKey, replayProvenanceLogs, type ChainEvent, type IndexedLot, type LotOrigin, type LotStatus, type ProvenanceRegistryClient, type ProvenanceState,
} from "../chain/provenance";
import type { DocumentSource } from "../gi/documents";

/**
 * The trace of a GI lot: its ancestors back to the harvests and their licences, its descendants,
 * every event with its document, and the checks that make the trace trustworthy:
 * - each event document's salted commitment equals the `document` of its chain log (and the
 *   step, disposition, time and location agree),
 * - each lot's hash-chain head recomputed from the logs equals the one word in storage,
 * - the mass balance of the whole tree holds (no lot gave more than it had; harvests within quota;
 *   transforms within the product's yield), and storage agrees with the logs.
 */

/** genuine: every check passed; recalled: the lot or an ancestor was recalled; broken: a check failed; unknown: no such lot. */
export type TraceStatus = "genuine" | "recalled" | "broken" | "unknown";

/** A quantity in the product's base unit, with its human form. */
export interface TraceQuantity {
  amount: string;
  unit: string;
  text: string;
}

/** One event of the trace. */
export interface TraceEvent {
  lot: number;
  step: string;
  disposition: string;
  /** Event time, ISO 8601 UTC. */
  time: string;
  eventTime: number;
  actor: string;
  actorName?: string;
  /** Location identifier from the document (the chain holds only its digest). */
  location?: string;
  locationDigest: Hex;
  blockNumber: number;
  txHash: Hex;
  /** The salted commitment on chain. */
  document: Hex;
  /** CID of the document in the content store, when kept there. */
  cid?: string;
  /** True when the document was found and its commitment and fields match the chain log. */
  verified: boolean;
  check: "verified" | "document-missing" | "document-mismatch";
  /** The EPCIS event, when the document was found. */
  epcis?: EpcisEvent;
}

/** One lot of the tree. */
export interface TraceLot {
  lot: number;
  status: LotStatus;
  origin: LotOrigin;
  quantity: TraceQuantity;
  remaining: TraceQuantity;
  packages: number;
  parents: number[];
  children: number[];
  actor: string;
  actorName?: string;
  season?: number;
  /** For harvests: the producer's licence for that season. */
  licence?: { quota: TraceQuantity; harvested: TraceQuantity };
  recall?: { reason: string; actor: string; txHash: Hex };
  /** Hash-chain head in storage and recomputed from logs. */
  head: { stored: Hex; fromLogs: Hex; match: boolean };
  events: number;
}

/** Mass balance of the tree. */
export interface MassBalance {
  ok: boolean;
  /** Total of the harvests the lot comes from. */
  harvested: TraceQuantity;
  /** Per lot: quantity = Σ taken by children + remaining. */
  lots: Array<{ lot: number; quantity: string; takenByChildren: string; remaining: string; ok: boolean }>;
  problems: string[];
}

/** A lot's trace. */
export interface LotTrace {
  lot: number;
  status: TraceStatus;
  /** Why the status is what it is, in words. */
  reasons: string[];
  product?: { id: number; name: string; nameEn: string; giNumber: string; region: string; unit: string; maxYieldBps: number };
  quantity?: TraceQuantity;
  remaining?: TraceQuantity;
  packages?: number;
  origin?: LotOrigin;
  lotStatus?: LotStatus;
  ancestors: TraceLot[];
  descendants: TraceLot[];
  self?: TraceLot;
  events: TraceEvent[];
  massBalance?: MassBalance;
  checks: { headsMatch: boolean; documentsVerified: number; documentsMissing: number; documentsMismatched: number; storageMatchesLogs: boolean };
  registry: string;
  /** The block the trace was read at. */
  blockNumber: number;
}

/** Options of {@link traceLot}. */
export interface TraceOptions {
  /** A client of the registry (a provider is enough). */
  client: ProvenanceRegistryClient;
  lot: number;
  /** Where event documents are found (e.g. {@link EventDocuments}); without it every event is "document-missing". */
  documents?: DocumentSource;
  /** State already read from the logs (to trace many lots with one read). */
  state?: ProvenanceState;
  /** First block to read logs from (the registry's deployment block). */
  fromBlock?: number;
}

/**
 * Traces a lot. Never throws for a lot that does not exist (status "unknown").
 *
 * @example
 * const trace = await traceLot({ client: new ProvenanceRegistryClient(address, provider), lot: 7, documents });
 * trace.status // "genuine"
 */
export async function traceLot(opts: TraceOptions): Promise<LotTrace> {
  const { client, lot: id } = opts;
  const state = opts.state ?? (await replayProvenanceLogs(client.provider, client.address, { fromBlock: opts.fromBlock }));
  const block = state.toBlock;
  const base: LotTrace = {
    lot: id, status: "unknown", reasons: [], ancestors: [], descendants: [], events: [],
    checks: { headsMatch: true, documentsVerified: 0, documentsMissing: 0, documentsMismatched: 0, storageMatchesLogs: true },
    registry: client.address, blockNumber: block,
  };
  const lot = state.lots.get(id);
  if (!lot) {
    const stored = Number.isSafeInteger(id) && id > 0 ? await client.lot(id, block) : undefined;
    if (stored && stored.status !== "none") {
      base.status = "broken";
      base.reasons.push(`lot ${id} exists in storage but no log created it: the logs read are incomplete or the registry is not what it claims`);
      base.checks.storageMatchesLogs = false;
    } else base.reasons.push(`lot ${id} does not exist on registry ${client.address}`);
    return base;
  }
  const product = state.products.get(lot.product)!;
  const unit = product.unit;
  const qty = (amount: bigint): TraceQuantity => ({ amount: amount.toString(), unit, text: formatQuantity(amount, unit) });

  // The tree: ancestors (up to the harvests) and descendants.
  const walk = (start: IndexedLot, next: (l: IndexedLot) => number[]): IndexedLot[] => {
    const seen = new Set<number>([start.id]);
    const out: IndexedLot[] = [];
    const queue = [...next(start)];
    while (queue.length > 0) {
      const n = queue.shift()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const l = state.lots.get(n)!;
      out.push(l);
      queue.push(...next(l));
    }
    return out.sort((a, b) => a.id - b.id);
  };
  const ancestors = walk(lot, (l) => l.parents);
  const descendants = walk(lot, (l) => l.children.map((c) => c.lot));
  const tree = [lot, ...ancestors, ...descendants];

  // Storage vs logs: heads, status, remaining quantity.
  const reasons: string[] = [];
  const lots = new Map<number, TraceLot>();
  await Promise.all(tree.map(async (l) => {
    const [stored, storedLot] = await Promise.all([client.head(l.id, block), client.lot(l.id, block)]);
    const match = stored.toLowerCase() === l.head.toLowerCase();
    if (!match) {
      base.checks.headsMatch = false;
      reasons.push(`lot ${l.id}: the hash-chain head in storage (${stored}) is not the one its event logs give (${l.head})`);
    }
    if (storedLot.status !== l.status || storedLot.remaining !== l.remaining || storedLot.quantity !== l.quantity) {
      base.checks.storageMatchesLogs = false;
      reasons.push(`lot ${l.id}: storage says ${storedLot.status}, ${storedLot.remaining} of ${storedLot.quantity} left; the logs say ${l.status}, ${l.remaining} of ${l.quantity}`);
    }
    const licence = l.origin === "harvest" && l.season !== undefined ? state.licences.get(licenceKey(l.product, l.actor, l.season)) : undefined;
    lots.set(l.id, {
      lot: l.id, status: l.status, origin: l.origin, quantity: qty(l.quantity), remaining: qty(l.remaining), packages: l.packages,
      parents: l.parents, children: l.children.map((c) => c.lot), actor: l.actor, actorName: devAccountName(l.actor), season: l.season,
      licence: licence ? { quota: qty(licence.quota), harvested: qty(licence.harvested) } : undefined,
      recall: l.recall ? { reason: l.recall.reason, actor: l.recall.actor, txHash: l.recall.txHash } : undefined,
      head: { stored, fromLogs: l.head, match }, events: state.events.get(l.id)?.length ?? 0,
    });
  }));

  // Events with their documents.
  const chainEvents: ChainEvent[] = tree.flatMap((l) => state.events.get(l.id) ?? []);
  const loaded = new Map<string, Awaited<ReturnType<DocumentSource["load"]>>>();
  const mismatchedDocs = new Set<string>();
  for (const ev of chainEvents) {
    if (!loaded.has(ev.document) && opts.documents) {
      try {
        loaded.set(ev.document, await opts.documents.load(ev.document));
      } catch {
        loaded.set(ev.document, undefined); // unreadable or corrupt: counted as a mismatch below
        mismatchedDocs.add(ev.document);
      }
    }
  }
  const events: TraceEvent[] = chainEvents.map((ev) => {
    const found = loaded.get(ev.document);
    const out: TraceEvent = {
      lot: ev.lot, step: ev.step, disposition: ev.disposition, time: new Date(ev.eventTime * 1000).toISOString(), eventTime: ev.eventTime,
      actor: ev.actor, actorName: devAccountName(ev.actor), locationDigest: ev.location, blockNumber: ev.blockNumber, txHash: ev.txHash,
      document: ev.document, verified: false, check: mismatchedDocs.has(ev.document) ? "document-mismatch" : "document-missing",
    };
    if (found) {
      const event = found.doc.epcis.epcisBody.eventList[0];
      out.cid = found.cid;
      out.epcis = event;
      out.location = event.bizLocation?.id ?? event.readPoint?.id;
      let ok = false;
      try {
        const r = chainRecord(event, found.doc.salt);
        ok = r.document === ev.document && r.step === ev.stepCode && r.disposition === ev.dispositionCode && r.eventTime === ev.eventTime && r.location === ev.location;
      } catch {
        ok = false;
      }
      out.verified = ok;
      out.check = ok ? "verified" : "document-mismatch";
    }
    if (out.check === "verified") base.checks.documentsVerified++;
    else if (out.check === "document-missing") base.checks.documentsMissing++;
    else {
      base.checks.documentsMismatched++;
      reasons.push(`lot ${ev.lot}: the ${ev.step} document of block ${ev.blockNumber} does not match its chain record (commitment ${ev.document})`);
    }
    return out;
  }).sort((a, b) => a.eventTime - b.eventTime || a.blockNumber - b.blockNumber || a.lot - b.lot);

  // Mass balance.
  const problems: string[] = [];
  const balance: MassBalance["lots"] = [];
  for (const l of tree) {
    const taken = l.children.reduce((s, c) => s + c.amount, 0n);
    const ok = taken + l.remaining === l.quantity && l.remaining >= 0n;
    if (!ok) problems.push(`lot ${l.id}: ${formatQuantity(l.quantity, unit)} ≠ ${formatQuantity(taken, unit)} taken by other lots + ${formatQuantity(l.remaining, unit)} left`);
    balance.push({ lot: l.id, quantity: l.quantity.toString(), takenByChildren: taken.toString(), remaining: l.remaining.toString(), ok });
    const input = l.amounts.reduce((s, a) => s + a, 0n);
    if (l.origin === "transform") {
      if (l.quantity * 10_000n > input * BigInt(product.maxYieldBps)) problems.push(`lot ${l.id}: ${formatQuantity(l.quantity, unit)} out of ${formatQuantity(input, unit)} exceeds the ${product.maxYieldBps / 100} % maximum yield`);
    } else if (l.origin !== "harvest" && input !== l.quantity) {
      problems.push(`lot ${l.id}: made of ${formatQuantity(input, unit)} but holds ${formatQuantity(l.quantity, unit)}`);
    }
    if (l.origin === "harvest" && l.season !== undefined) {
      const licence = state.licences.get(licenceKey(l.product, l.actor, l.season));
      if (!licence) problems.push(`lot ${l.id}: harvested without a licence in the logs`);
      else if (licence.harvested > licence.quota) problems.push(`lot ${l.id}: the ${l.season} licence of ${l.actor} is over quota (${formatQuantity(licence.harvested, unit)} > ${formatQuantity(licence.quota, unit)})`);
    }
  }
  const harvested = [lot, ...ancestors].filter((l) => l.origin === "harvest").reduce((s, l) => s + l.quantity, 0n);
  const massBalance: MassBalance = { ok: problems.length === 0, harvested: qty(harvested), lots: balance, problems };
  reasons.push(...problems);

  // Status.
  const recalled = [lot, ...ancestors].filter((l) => l.status === "recalled" || l.recall);
  let status: TraceStatus;
  if (reasons.length > 0) status = "broken";
  else if (recalled.length > 0) {
    status = "recalled";
    for (const r of recalled) reasons.push(r.id === lot.id ? `lot ${r.id} was recalled: ${r.recall?.reason ?? ""}` : `ancestor lot ${r.id} was recalled: ${r.recall?.reason ?? ""}`);
  } else status = "genuine";

  return {
    ...base,
    status, reasons,
    product: { id: product.id, name: product.name, nameEn: product.nameEn, giNumber: product.giNumber, region: product.region, unit, maxYieldBps: product.maxYieldBps },
    quantity: qty(lot.quantity), remaining: qty(lot.remaining), packages: lot.packages, origin: lot.origin, lotStatus: lot.status,
    self: lots.get(lot.id),
    ancestors: ancestors.map((l) => lots.get(l.id)!),
    descendants: descendants.map((l) => lots.get(l.id)!),
    events, massBalance,
  };
}
