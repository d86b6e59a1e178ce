import type Database from "better-sqlite3";
import {
  assessLot,
  chainEvent,
  LOT_ORIGINS,
  licenceKey,
  lotTree,
  type ChainEvent,
  type DocumentCheck,
  type Hex,
  type IndexedLicence,
  type IndexedLot,
  type IndexedProduct,
  type LotAssessment,
  type LotStatus,
  type ParticipantView,
  type ProvenanceState,
  type StoredLotFacts,
} from "@proofmark/sdk";

/**
 * The SDK's log reducer output ({@link applyProvenanceLogs}), kept in SQLite: what the indexer writes
 * after applying each block's logs, and what the pages read back to run the SDK's one lot assessment
 * ({@link assessLot}). Rows carry the block that produced them, so a reorganisation is undone with
 * `DELETE … WHERE block > n`; the current state of a lot is its newest `lot_states` row.
 *
 * Tables: `lots` (what created a lot: never changes), `lot_states` (status, remaining, issued codes,
 * hash-chain head after each block that changed them), `lot_parents` (with the amount taken),
 * `licences` (per block that changed them), `events` (with how the event document compared with
 * its chain record), `recalls`, `code_issues`, `lot_checks` (the lot's storage words read from the
 * chain at a block), `documents` (the EPCIS event of each checked document).
 */

type Row = Record<string, unknown>;

/** A lot's tree as the assessment needs it, and the assessment. */
export interface IndexedTrace {
  state: Pick<ProvenanceState, "lots" | "products" | "licences" | "events">;
  assessment: LotAssessment;
  /** Event checks and CIDs by `${block}:${logIndex}`. */
  documents: Map<string, { check: DocumentCheck; cid: string | null }>;
}

/** Key of one event (its log's place in the chain). */
export function eventKey(e: { blockNumber: number; logIndex: number }): string {
  return `${e.blockNumber}:${e.logIndex}`;
}

export class LotIndex {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      lot: db.prepare("SELECT * FROM lots WHERE id = ?"),
      state: db.prepare("SELECT * FROM lot_states WHERE lot = ? ORDER BY block DESC LIMIT 1"),
      check: db.prepare("SELECT * FROM lot_checks WHERE lot = ? ORDER BY block DESC LIMIT 1"),
      recall: db.prepare("SELECT * FROM recalls WHERE lot = ?"),
      children: db.prepare("SELECT lot, amount FROM lot_parents WHERE parent = ? ORDER BY lot"),
      product: db.prepare("SELECT * FROM products WHERE id = ?"),
      licence: db.prepare(
        "SELECT * FROM licences WHERE product = ? AND producer = ? AND season = ? ORDER BY block DESC LIMIT 1",
      ),
      events: db.prepare("SELECT * FROM events WHERE lot = ? ORDER BY block, log_index"),
      insertLot:
        db.prepare(`INSERT OR REPLACE INTO lots (id, product, origin, actor, season, quantity, packages, parents, amounts, block, tx, time)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertParent: db.prepare("INSERT OR REPLACE INTO lot_parents (lot, parent, amount, block) VALUES (?, ?, ?, ?)"),
      insertState: db.prepare(
        "INSERT OR REPLACE INTO lot_states (lot, block, status, remaining, issued_codes, head) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      insertCheck: db.prepare(
        "INSERT OR REPLACE INTO lot_checks (lot, block, head, status, quantity, remaining) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      insertLicence: db.prepare(
        "INSERT OR REPLACE INTO licences (product, producer, season, block, quota, harvested) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      insertProduct:
        db.prepare(`INSERT OR REPLACE INTO products (id, admin, registrar, name, name_en, gi_number, region, unit, max_yield_bps, standard, block, tx, time)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertEvent:
        db.prepare(`INSERT OR REPLACE INTO events (block, log_index, lot, actor, step, disposition, event_time, location, document, tx, time, doc_check, cid)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      insertRecall: db.prepare(
        "INSERT OR REPLACE INTO recalls (lot, actor, reason, block, tx, time) VALUES (?, ?, ?, ?, ?, ?)",
      ),
      insertCodes:
        db.prepare(`INSERT OR REPLACE INTO code_issues (block, log_index, lot, actor, count, issued_total, commitment, tx, time)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      participant: db.prepare(
        "SELECT * FROM participants WHERE product = ? AND account = ? ORDER BY block DESC LIMIT 1",
      ),
      insertParticipant: db.prepare(
        `INSERT OR REPLACE INTO participants (product, account, block, kind, name, name_en, licence, region, tx)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertDocument: db.prepare("INSERT OR REPLACE INTO documents (document, cid, json) VALUES (?, ?, ?)"),
      setDocCheck: db.prepare("UPDATE events SET doc_check = ?, cid = ? WHERE block = ? AND log_index = ?"),
      missingDocs: db.prepare(
        "SELECT * FROM events WHERE doc_check = 'document-missing' ORDER BY block, log_index LIMIT ?",
      ),
    };
  }

  // ------------------------------------------------------------------ reading the reducer's state back

  /** A lot as the reducer left it at the newest indexed block (children from `lot_parents`). */
  lot(id: number): IndexedLot | undefined {
    const r = this.s.lot.get(id) as Row | undefined;
    if (!r) return undefined;
    const st = this.s.state.get(id) as Row | undefined;
    const recall = this.s.recall.get(id) as Row | undefined;
    const quantity = BigInt(String(r.quantity));
    return {
      id,
      product: Number(r.product),
      origin: LOT_ORIGINS[Number(r.origin)],
      quantity,
      packages: Number(r.packages),
      status: (st ? String(st.status) : "active") as LotStatus,
      remaining: st ? BigInt(String(st.remaining)) : quantity,
      issuedCodes: st ? Number(st.issued_codes) : 0,
      head: (st ? String(st.head) : `0x${"0".repeat(64)}`) as Hex,
      parents: JSON.parse(String(r.parents)) as number[],
      amounts: (JSON.parse(String(r.amounts)) as string[]).map((a) => BigInt(a)),
      children: (this.s.children.all(id) as Row[]).map((c) => ({
        lot: Number(c.lot),
        amount: BigInt(String(c.amount)),
      })),
      actor: String(r.actor),
      season: r.season === null ? undefined : Number(r.season),
      createdAt: { blockNumber: Number(r.block), txHash: String(r.tx) as Hex },
      recall: recall
        ? {
            actor: String(recall.actor),
            reason: String(recall.reason),
            blockNumber: Number(recall.block),
            txHash: String(recall.tx) as Hex,
          }
        : undefined,
    };
  }

  /** The block of a lot's newest state row (its last change). */
  private lastChange(id: number): number {
    const st = this.s.state.get(id) as Row | undefined;
    return st ? Number(st.block) : Number((this.s.lot.get(id) as Row).block);
  }

  licence(key: string): IndexedLicence | undefined {
    const [product, producer, season] = key.split("/");
    const r = this.s.licence.get(Number(product), producer, Number(season)) as Row | undefined;
    return r
      ? {
          product: Number(product),
          producer: String(r.producer),
          season: Number(season),
          quota: BigInt(String(r.quota)),
          harvested: BigInt(String(r.harvested)),
        }
      : undefined;
  }

  product(id: number): IndexedProduct | undefined {
    const r = this.s.product.get(id) as Row | undefined;
    if (!r) return undefined;
    return {
      id,
      maxYieldBps: Number(r.max_yield_bps),
      standard: String(r.standard) as Hex,
      name: String(r.name),
      nameEn: String(r.name_en),
      giNumber: String(r.gi_number),
      region: String(r.region),
      unit: String(r.unit),
      admin: String(r.admin),
      registrar: String(r.registrar),
    };
  }

  /** The newest participant record of `account` for `product` (undefined: unregistered). */
  participant(product: number, account: string): ParticipantView | undefined {
    const r = this.s.participant.get(product, account.toLowerCase()) as Row | undefined;
    return r
      ? {
          kind: String(r.kind) as ParticipantView["kind"],
          name: String(r.name),
          nameEn: String(r.name_en),
          licence: String(r.licence),
          region: String(r.region),
        }
      : undefined;
  }

  /** A lot's events with how each document compared with its chain record. */
  events(id: number): Array<ChainEvent & { check: DocumentCheck; cid: string | null; time: number }> {
    return (this.s.events.all(id) as Row[]).map((e) => ({
      ...eventOfRow({ ...e, lot: id }),
      check: String(e.doc_check) as DocumentCheck,
      cid: e.cid === null ? null : String(e.cid),
      time: Number(e.time),
    }));
  }

  /**
   * The storage words of a lot read from the chain, when they were read at or after the lot's
   * last change (else the lot's current state was never compared with storage: undefined).
   */
  stored(id: number): StoredLotFacts | undefined {
    const c = this.s.check.get(id) as Row | undefined;
    if (!c || Number(c.block) < this.lastChange(id)) return undefined;
    return {
      head: String(c.head) as Hex,
      status: String(c.status) as LotStatus,
      quantity: BigInt(String(c.quantity)),
      remaining: BigInt(String(c.remaining)),
    };
  }

  /**
   * Reads a lot's tree (ancestors up to the harvests, descendants) from the index and runs the
   * SDK's assessment on it. Undefined when the lot is not indexed.
   */
  assess(id: number): IndexedTrace | undefined {
    const lots = new Map<number, IndexedLot>();
    const load = (n: number) => {
      if (lots.has(n)) return lots.get(n);
      const l = this.lot(n);
      if (l) lots.set(n, l);
      return l;
    };
    const self = load(id);
    if (!self) return undefined;
    // Walk both ways, loading as we go (lotTree then walks the loaded map).
    const queue = [...self.parents, ...self.children.map((c) => c.lot)];
    const up = new Set(self.parents);
    const seen = new Set<number>([id]);
    while (queue.length > 0 && seen.size < 100_000) {
      const n = queue.shift()!;
      if (seen.has(n)) continue;
      seen.add(n);
      const l = load(n);
      if (!l) continue;
      if (up.has(n))
        for (const p of l.parents) {
          up.add(p);
          queue.push(p);
        }
      else queue.push(...l.children.map((c) => c.lot));
    }
    const state: IndexedTrace["state"] = { lots, products: new Map(), licences: new Map(), events: new Map() };
    const tree = lotTree(state, id);
    const documents = new Map<string, { check: DocumentCheck; cid: string | null }>();
    const stored = new Map<number, StoredLotFacts | undefined>();
    for (const l of [tree.self!, ...tree.ancestors, ...tree.descendants]) {
      if (!state.products.has(l.product)) {
        const p = this.product(l.product);
        if (p) state.products.set(l.product, p);
      }
      if (l.origin === "harvest" && l.season !== undefined) {
        const key = licenceKey(l.product, l.actor, l.season);
        const licence = this.licence(key);
        if (licence) state.licences.set(key, licence);
      }
      const events = this.events(l.id);
      for (const e of events) documents.set(eventKey(e), { check: e.check, cid: e.cid });
      state.events.set(l.id, events);
      stored.set(l.id, this.stored(l.id));
    }
    const assessment = assessLot({
      lot: id,
      state,
      stored,
      documentCheck: (e) => documents.get(eventKey(e))?.check ?? "document-missing",
    });
    return { state, assessment, documents };
  }

  // ------------------------------------------------------------------ writing (indexer, in its transaction)

  /** Writes what the reducer produced for one block (a partial state: only what that block's logs touched). */
  writeBlock(
    state: ProvenanceState,
    block: number,
    time: number,
    docs: Map<string, { check: DocumentCheck; cid: string | null }>,
    created: Set<number>,
  ): void {
    for (const [id, p] of state.products) {
      this.s.insertProduct.run(
        id,
        p.admin.toLowerCase(),
        p.registrar.toLowerCase(),
        p.name,
        p.nameEn,
        p.giNumber,
        p.region,
        p.unit,
        p.maxYieldBps,
        p.standard,
        p.createdAt?.blockNumber ?? block,
        p.createdAt?.txHash ?? "",
        time,
      );
    }
    for (const p of state.participants.values())
      this.s.insertParticipant.run(
        p.product,
        p.account.toLowerCase(),
        block,
        p.kind,
        p.name,
        p.nameEn,
        p.licence,
        p.region,
        p.setAt?.txHash ?? "",
      );
    for (const l of state.licences.values())
      this.s.insertLicence.run(
        l.product,
        l.producer.toLowerCase(),
        l.season,
        block,
        String(l.quota),
        String(l.harvested),
      );
    for (const [id, l] of state.lots) {
      if (created.has(id)) {
        this.s.insertLot.run(
          id,
          l.product,
          LOT_ORIGINS.indexOf(l.origin),
          l.actor.toLowerCase(),
          l.season ?? null,
          String(l.quantity),
          l.packages,
          JSON.stringify(l.parents),
          JSON.stringify(l.amounts.map(String)),
          block,
          l.createdAt.txHash,
          time,
        );
        l.parents.forEach((p, i) => this.s.insertParent.run(id, p, String(l.amounts[i]), block));
      }
      this.s.insertState.run(id, block, l.status, String(l.remaining), l.issuedCodes, l.head);
      if (l.recall && l.recall.blockNumber === block)
        this.s.insertRecall.run(id, l.recall.actor.toLowerCase(), l.recall.reason, block, l.recall.txHash, time);
    }
    const missing = { check: "document-missing", cid: null };
    for (const events of state.events.values()) {
      for (const e of events) {
        const d = (docs.size > 0 ? docs.get(eventKey(e)) : undefined) ?? missing;
        this.s.insertEvent.run(
          e.blockNumber,
          e.logIndex,
          e.lot,
          e.actor.toLowerCase(),
          e.stepCode,
          e.dispositionCode,
          e.eventTime,
          e.location,
          e.document,
          e.txHash,
          time,
          d.check,
          d.cid,
        );
      }
    }
    for (const codes of state.codes.values()) {
      for (const c of codes)
        this.s.insertCodes.run(
          c.blockNumber,
          c.logIndex,
          c.lot,
          c.actor.toLowerCase(),
          c.count,
          c.issuedTotal,
          c.commitment,
          c.txHash,
          time,
        );
    }
  }

  /** Records a lot's storage words as read from the chain at `block`. */
  writeCheck(id: number, block: number, facts: StoredLotFacts): void {
    this.s.insertCheck.run(id, block, facts.head, facts.status, String(facts.quantity), String(facts.remaining));
  }

  /** Keeps a checked event document's EPCIS event (what the scan page shows). */
  writeDocument(document: Hex, cid: string, event: unknown): void {
    this.s.insertDocument.run(document, cid, JSON.stringify(event));
  }

  /** Updates how an event's document compared (a document that reached the store later). */
  setDocumentCheck(e: { blockNumber: number; logIndex: number }, check: DocumentCheck, cid: string | null): void {
    this.s.setDocCheck.run(check, cid, e.blockNumber, e.logIndex);
  }

  /** Events whose document was not found yet (oldest first). */
  eventsMissingDocuments(limit: number): ChainEvent[] {
    return (this.s.missingDocs.all(limit) as Row[]).map(eventOfRow);
  }
}

/** An `events` row of the index as the reducer's event (the one mapping of its columns). */
function eventOfRow(e: Row): ChainEvent {
  return chainEvent({
    lot: Number(e.lot),
    actor: String(e.actor),
    step: Number(e.step),
    disposition: Number(e.disposition),
    eventTime: Number(e.event_time),
    location: String(e.location),
    document: String(e.document),
    blockNumber: Number(e.block),
    txHash: String(e.tx),
    logIndex: Number(e.log_index),
  });
}
