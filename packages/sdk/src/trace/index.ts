import type { EpcisEvent } from "../core/epcis";
import type { Hex } from "../core/hex";
import { formatQuantity } from "../core/quantity";
import { devAccountName } from "../chain/accounts";
import {
  licenceKey,
  participantKey,
  replayProvenanceLogs,
  type ChainEvent,
  type IndexedLot,
  type LotOrigin,
  type LotStatus,
  type ProvenanceRegistryClient,
  type ProvenanceState,
} from "../chain/provenance";
import type { DocumentSource, GiEventDocument } from "../gi/documents";
import {
  assessLot,
  checkEventDocument,
  lotTree,
  type DocumentCheck,
  type Finding,
  type StoredLotFacts,
  type TraceChecks,
  type TraceStatus,
} from "./assess";

import type { ParticipantView } from "./participant";

export * from "./assess";
export * from "./participant";

/**
 * The trace of a GI lot: its ancestors back to the harvests and their licences, its descendants,
 * every event with its document, and the checks that make the trace trustworthy:
 * - each event document's salted commitment equals the `document` of its chain log (and the
 *   step, disposition, time and location agree),
 * - each lot's hash-chain head recomputed from the logs equals the one word in storage,
 * - the mass balance of the whole tree holds (no lot gave more than it had; harvests within quota;
 *   transforms within the product's yield), and storage agrees with the logs.
 */

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
  /** The actor's participant record for the lot's product (absent: unregistered). */
  participant?: ParticipantView;
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
  check: DocumentCheck;
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
  /** The actor's participant record for the lot's product (absent: unregistered). */
  participant?: ParticipantView;
  season?: number;
  /** For harvests: the producer's licence for that season. */
  licence?: { quota: TraceQuantity; harvested: TraceQuantity };
  recall?: { reason: string; actor: string; txHash: Hex };
  /** Hash-chain head in storage (absent when it could not be read) and recomputed from logs. */
  head: { stored?: Hex; fromLogs: Hex; match: boolean };
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
  /** The same reasons with what each is about (pages translate by kind). */
  findings: Finding[];
  /** What could not be checked (why a trace is "unverifiable"). */
  unchecked: string[];
  product?: {
    id: number;
    name: string;
    nameEn: string;
    giNumber: string;
    region: string;
    unit: string;
    maxYieldBps: number;
  };
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
  checks: TraceChecks;
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
  const state =
    opts.state ?? (await replayProvenanceLogs(client.provider, client.address, { fromBlock: opts.fromBlock }));
  const block = state.toBlock;
  const base: LotTrace = {
    lot: id,
    status: "unknown",
    reasons: [],
    findings: [],
    unchecked: [],
    ancestors: [],
    descendants: [],
    events: [],
    checks: {
      headsMatch: true,
      documentsVerified: 0,
      documentsMissing: 0,
      documentsMismatched: 0,
      storageMatchesLogs: true,
    },
    registry: client.address,
    blockNumber: block,
  };
  const { self: lot, ancestors, descendants } = lotTree(state, id);
  if (!lot) {
    const stored = Number.isSafeInteger(id) && id > 0 ? await client.lot(id, block) : undefined;
    if (stored && stored.status !== "none") {
      base.status = "broken";
      const text = `lot ${id} exists in storage but no log created it: the logs read are incomplete or the registry is not what it claims`;
      base.reasons.push(text);
      base.findings.push({ kind: "storage-mismatch", lot: id, text });
      base.checks.storageMatchesLogs = false;
    } else base.reasons.push(`lot ${id} does not exist on registry ${client.address}`);
    return base;
  }
  const product = state.products.get(lot.product)!;
  const unit = product.unit;
  const qty = (amount: bigint): TraceQuantity => ({
    amount: amount.toString(),
    unit,
    text: formatQuantity(amount, unit),
  });
  const tree = [lot, ...ancestors, ...descendants];

  // Storage at the block the logs were read to (a word that cannot be read leaves its lot unverified).
  const stored = new Map<number, StoredLotFacts | undefined>();
  await Promise.all(
    tree.map(async (l) => {
      try {
        const [head, storedLot] = await Promise.all([client.head(l.id, block), client.lot(l.id, block)]);
        stored.set(l.id, {
          head,
          status: storedLot.status,
          quantity: storedLot.quantity,
          remaining: storedLot.remaining,
        });
      } catch {
        stored.set(l.id, undefined);
      }
    }),
  );

  // Event documents, compared with their chain records.
  const chainEvents: ChainEvent[] = tree.flatMap((l) => state.events.get(l.id) ?? []);
  const loaded = new Map<string, { cid: string; doc: GiEventDocument } | "unreadable" | undefined>();
  for (const ev of chainEvents) {
    if (!loaded.has(ev.document) && opts.documents) {
      try {
        loaded.set(ev.document, await opts.documents.load(ev.document));
      } catch {
        loaded.set(ev.document, "unreadable"); // unreadable or corrupt: a mismatch
      }
    }
  }
  const checked = new Map<ChainEvent, { check: DocumentCheck; epcis?: EpcisEvent; cid?: string }>();
  for (const ev of chainEvents) {
    const found = loaded.get(ev.document);
    if (found === "unreadable") checked.set(ev, { check: "document-mismatch" });
    else checked.set(ev, { ...checkEventDocument(ev, found?.doc), cid: found?.cid });
  }
  const a = assessLot({ lot: id, state, stored, documentCheck: (ev) => checked.get(ev)?.check ?? "document-missing" });

  const participantOf = (productId: number, account: string): ParticipantView | undefined => {
    const p = state.participants?.get(participantKey(productId, account));
    return p && { kind: p.kind, name: p.name, nameEn: p.nameEn, licence: p.licence, region: p.region };
  };
  const productOfLot = (lotId: number) => state.lots.get(lotId)?.product ?? lot.product;
  const events: TraceEvent[] = chainEvents
    .map((ev) => {
      const c = checked.get(ev)!;
      return {
        lot: ev.lot,
        step: ev.step,
        disposition: ev.disposition,
        time: new Date(ev.eventTime * 1000).toISOString(),
        eventTime: ev.eventTime,
        actor: ev.actor,
        actorName: devAccountName(ev.actor),
        participant: participantOf(productOfLot(ev.lot), ev.actor),
        locationDigest: ev.location,
        blockNumber: ev.blockNumber,
        txHash: ev.txHash,
        document: ev.document,
        verified: c.check === "verified",
        check: c.check,
        cid: c.cid,
        epcis: c.epcis,
        location: c.epcis ? (c.epcis.bizLocation?.id ?? c.epcis.readPoint?.id) : undefined,
      };
    })
    .sort((x, y) => x.eventTime - y.eventTime || x.blockNumber - y.blockNumber || x.lot - y.lot);

  const traceLotOf = (l: IndexedLot): TraceLot => {
    const licence =
      l.origin === "harvest" && l.season !== undefined
        ? state.licences.get(licenceKey(l.product, l.actor, l.season))
        : undefined;
    return {
      lot: l.id,
      status: l.status,
      origin: l.origin,
      quantity: qty(l.quantity),
      remaining: qty(l.remaining),
      packages: l.packages,
      parents: l.parents,
      children: l.children.map((c) => c.lot),
      actor: l.actor,
      actorName: devAccountName(l.actor),
      participant: participantOf(l.product, l.actor),
      season: l.season,
      licence: licence ? { quota: qty(licence.quota), harvested: qty(licence.harvested) } : undefined,
      recall: l.recall ? { reason: l.recall.reason, actor: l.recall.actor, txHash: l.recall.txHash } : undefined,
      head: a.heads.get(l.id)!,
      events: state.events.get(l.id)?.length ?? 0,
    };
  };
  const mb = a.massBalance!;
  return {
    ...base,
    status: a.status,
    reasons: a.reasons,
    findings: a.findings,
    unchecked: a.unchecked,
    checks: a.checks,
    product: {
      id: product.id,
      name: product.name,
      nameEn: product.nameEn,
      giNumber: product.giNumber,
      region: product.region,
      unit,
      maxYieldBps: product.maxYieldBps,
    },
    quantity: qty(lot.quantity),
    remaining: qty(lot.remaining),
    packages: lot.packages,
    origin: lot.origin,
    lotStatus: lot.status,
    self: traceLotOf(lot),
    ancestors: ancestors.map(traceLotOf),
    descendants: descendants.map(traceLotOf),
    events,
    massBalance: { ok: mb.ok, harvested: qty(mb.harvested), lots: mb.lots, problems: mb.problems },
  };
}
