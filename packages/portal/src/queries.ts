import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type Database from "better-sqlite3";
import * as sdk from "@proofmark/sdk";
import {
  BIZ_STEPS,
  DISPOSITIONS,
  LOT_ORIGINS as ORIGINS,
  type DocumentCheck,
  type Finding,
  type LotAssessment,
  type ParticipantView,
  type TraceStatus,
} from "@proofmark/sdk";
import { BoundedCache } from "./cache";
import { LotIndex } from "./lot-index";

/** Name of a business step code (CBV 2.0), from the SDK's table. */
export function stepName(code: number): string {
  return BIZ_STEPS[code] ?? `step-${code}`;
}

/** Name of a disposition code. */
export function dispositionName(code: number): string {
  return DISPOSITIONS[code] ?? `disposition-${code}`;
}

/**
 * An account as shown: on the local chain (`devNames`) its dev-account name when it is one, else
 * the address. Elsewhere always the address: Anvil's well-known dev keys are used by anyone on
 * public chains, and "farmer1" must not appear as a producer there.
 */
export function accountLabel(address: string, devNames: boolean): string {
  return (devNames && sdk.devAccountName(address)) || address;
}

export interface ProductView {
  id: number;
  name: string;
  nameEn: string;
  giNumber: string;
  region: string;
  unit: string;
  admin: string;
  txHash: string;
  blockNumber: number;
  time: number;
}

export interface EventView {
  lot: number;
  step: string;
  disposition: string;
  eventTime: number;
  actor: string;
  actorLabel: string;
  /** The actor's participant record for the product (undefined: unregistered). Untrusted text. */
  participant?: ParticipantView;
  location: string;
  document: string;
  blockNumber: number;
  txHash: string;
  time: number;
  logIndex: number;
  /** How the event document compared with its chain record (the SDK's check). */
  check: DocumentCheck;
  /** CID of the event document in the content store, when found. */
  cid?: string;
  /** The EPCIS event of a verified document (plot, certificate, …); never of a mismatched one. */
  details?: Record<string, unknown>;
}

export interface LotView {
  lot: number;
  product: number;
  origin: string;
  quantity: string;
  packages: number;
  actor: string;
  actorLabel: string;
  /** The actor's participant record for the product (undefined: unregistered). Untrusted text. */
  participant?: ParticipantView;
  season: number | null;
  parents: number[];
  blockNumber: number;
  txHash: string;
  time: number;
  recall?: { reason: string; actor: string; blockNumber: number; txHash: string; time: number };
}

export interface TraceView {
  lot: LotView;
  product?: ProductView;
  /** The SDK's assessment of the lot ({@link sdk.assessLot}), the words `gi trace` uses. */
  status: TraceStatus;
  /** Why, with what each reason is about (pages translate by kind). */
  findings: Finding[];
  /** What could not be checked. */
  unchecked: string[];
  checks: LotAssessment["checks"];
  /** Recall that applies (own or an ancestor's). */
  recall?: { lot: number; reason: string; actor: string; blockNumber: number; txHash: string; time: number };
  ancestors: LotView[];
  /** Events of the lot and its ancestors, oldest first. */
  events: EventView[];
  /** The harvest lot(s) at the root of the tree. */
  harvests: LotView[];
  codes: Array<{
    count: number;
    issuedTotal: number;
    commitment: string;
    txHash: string;
    blockNumber: number;
    time: number;
  }>;
}

type Row = Record<string, unknown>;

function lotView(r: Row, recall: Row | undefined, devNames: boolean): LotView {
  return {
    lot: Number(r.id),
    product: Number(r.product),
    origin: ORIGINS[Number(r.origin)] ?? String(r.origin),
    quantity: String(r.quantity),
    packages: Number(r.packages),
    actor: String(r.actor),
    actorLabel: accountLabel(String(r.actor), devNames),
    season: r.season === null ? null : Number(r.season),
    parents: JSON.parse(String(r.parents)) as number[],
    blockNumber: Number(r.block),
    txHash: String(r.tx),
    time: Number(r.time),
    recall: recall
      ? {
          reason: String(recall.reason),
          actor: String(recall.actor),
          blockNumber: Number(recall.block),
          txHash: String(recall.tx),
          time: Number(recall.time),
        }
      : undefined,
  };
}

/** Read-only queries of the index, with prepared statements (pages run many of them). */
export class PortalQueries {
  private readonly s;

  /** `devNames`: label the local chain's dev accounts by name (chain id 31337 only). */
  private readonly lots: LotIndex;

  constructor(
    private readonly db: Database.Database,
    private readonly devNames = false,
  ) {
    this.lots = new LotIndex(db);
    this.s = {
      lot: db.prepare("SELECT * FROM lots WHERE id = ?"),
      recall: db.prepare("SELECT * FROM recalls WHERE lot = ?"),
      product: db.prepare("SELECT * FROM products WHERE id = ?"),
      events: db.prepare("SELECT * FROM events WHERE lot = ? ORDER BY block, log_index"),
      codes: db.prepare("SELECT * FROM code_issues WHERE lot = ? ORDER BY block, log_index"),
      serial: db.prepare("SELECT * FROM serials WHERE serial = ?"),
      anchor: db.prepare("SELECT * FROM anchors WHERE root = ?"),
      document: db.prepare("SELECT json FROM documents WHERE document = ?"),
    };
  }

  product(id: number): ProductView | undefined {
    const r = this.s.product.get(id) as Row | undefined;
    if (!r) return undefined;
    return {
      id: Number(r.id),
      name: String(r.name),
      nameEn: String(r.name_en),
      giNumber: String(r.gi_number),
      region: String(r.region),
      unit: String(r.unit),
      admin: String(r.admin),
      txHash: String(r.tx),
      blockNumber: Number(r.block),
      time: Number(r.time),
    };
  }

  lot(id: number): LotView | undefined {
    const r = this.s.lot.get(id) as Row | undefined;
    if (!r) return undefined;
    const view = lotView(r, this.s.recall.get(id) as Row | undefined, this.devNames);
    view.participant = this.lots.participant(view.product, view.actor);
    return view;
  }

  /** Traces per lot, for one index version (`version` is bumped by every sync that wrote something). */
  private readonly traces = new BoundedCache<number, TraceView | null>(5_000);

  /**
   * {@link traceUncached}, remembered until the index changes, so that pages under load do not
   * rebuild the same trace. A negative `version` reads without remembering.
   */
  trace(id: number, version = -1): TraceView | undefined {
    if (version < 0) return this.traceUncached(id);
    return this.traces.getOrSet(id, () => this.traceUncached(id) ?? null, version) ?? undefined;
  }

  /**
   * The lot, its ancestors back to the harvests, every event, and the SDK's assessment of it (the
   * same function `gi trace` runs, on the reducer's output kept in the index).
   */
  traceUncached(id: number): TraceView | undefined {
    const lot = this.lot(id);
    if (!lot) return undefined;
    const indexed = this.lots.assess(id);
    if (!indexed) return undefined;
    const a = indexed.assessment;
    const ancestors = a.ancestors.map((l) => this.lot(l.id)).filter((l): l is LotView => l !== undefined);
    const all = [lot, ...ancestors];
    const events: EventView[] = [];
    for (const l of all) {
      for (const e of this.s.events.all(l.lot) as Row[]) {
        const check = String(e.doc_check) as DocumentCheck;
        const doc =
          check === "verified" ? (this.s.document.get(String(e.document)) as { json: string } | undefined) : undefined;
        events.push({
          lot: l.lot,
          step: stepName(Number(e.step)),
          disposition: dispositionName(Number(e.disposition)),
          eventTime: Number(e.event_time),
          actor: String(e.actor),
          actorLabel: accountLabel(String(e.actor), this.devNames),
          participant: this.lots.participant(l.product, String(e.actor)),
          location: String(e.location),
          document: String(e.document),
          blockNumber: Number(e.block),
          txHash: String(e.tx),
          time: Number(e.time),
          logIndex: Number(e.log_index),
          check,
          cid: e.cid === null ? undefined : String(e.cid),
          details: doc ? (JSON.parse(doc.json) as Record<string, unknown>) : undefined,
        });
      }
    }
    events.sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex);
    const recalled = all.filter((l) => l.recall).sort((x, y) => x.recall!.time - y.recall!.time)[0];
    const codes = (this.s.codes.all(id) as Row[]).map((c) => ({
      count: Number(c.count),
      issuedTotal: Number(c.issued_total),
      commitment: String(c.commitment),
      txHash: String(c.tx),
      blockNumber: Number(c.block),
      time: Number(c.time),
    }));
    return {
      lot,
      product: this.product(lot.product),
      status: a.status,
      findings: a.findings,
      unchecked: a.unchecked,
      checks: a.checks,
      recall: recalled ? { lot: recalled.lot, ...recalled.recall! } : undefined,
      ancestors,
      events,
      harvests: all.filter((l) => l.origin === "harvest"),
      codes,
    };
  }

  serial(serial: string): { serial: string; gtin: string; lot: number; leaf: string; commitment: string } | undefined {
    const r = this.s.serial.get(serial) as Row | undefined;
    return r
      ? {
          serial: String(r.serial),
          gtin: String(r.gtin),
          lot: Number(r.lot),
          leaf: String(r.leaf),
          commitment: String(r.commitment),
        }
      : undefined;
  }

  anchor(
    root: string,
  ):
    | { root: string; submitter: string; leafCount: number; blockNumber: number; txHash: string; anchoredAt: number }
    | undefined {
    const r = this.s.anchor.get(root) as Row | undefined;
    return r
      ? {
          root: String(r.root),
          submitter: String(r.submitter),
          leafCount: Number(r.leaf_count),
          blockNumber: Number(r.block),
          txHash: String(r.tx),
          anchoredAt: Number(r.time),
        }
      : undefined;
  }
}

/** Limits of {@link ScanCounter}: how many counts one client may add to one serial, per period. */
export interface ScanBudget {
  /** Counted scans per client and serial within `periodMs` (default: no limit beyond the window). */
  perClient?: number;
  /** The budget's period, ms (default: the window). */
  periodMs?: number;
}

/** What is known of one client for one serial: its last counted scan and its budget use. */
interface ClientScans {
  last: number;
  /** Counted scans since `since` (the start of its budget period). */
  scans: number;
  since: number;
}

/**
 * Counts scans per serial: a client (the portal passes its network address, never the user agent,
 * which a client chooses freely) is counted at most once per `windowMs` for a serial, and at most
 * `budget.perClient` times per `budget.periodMs`, so one machine cannot make a genuine code read as
 * copied. Returns the counts after this scan.
 *
 * This process is the only writer. Counts are kept in memory and written behind: the counted
 * scans of the last {@link ScanCounter.FLUSH_MS} ms go to SQLite in one transaction (a
 * transaction per scan would cap first scans at a few thousand a second). A crash loses at most
 * that much counting; {@link flush} writes everything now (the portal calls it on close and
 * before the API reads counts).
 */
export class ScanCounter {
  static readonly FLUSH_MS = 50;
  /** Delay before a failed write is tried again (SQLite busy, disk full). */
  static readonly RETRY_MS = 1_000;
  private static readonly FLUSH_COUNT = 250;
  private readonly get;
  private readonly upsertClient;
  private readonly bump;
  private readonly scans;
  private readonly writeAll;
  private readonly prune;
  private prunedAt = 0;
  private readonly perClient: number;
  private readonly periodMs: number;

  /** Per serial and client (both include unwritten scans), and totals per serial. */
  private readonly seen = new Map<string, ClientScans>();
  private readonly totals = new Map<string, { count: number; firstSeen: number }>();
  /** Counted scans not yet written. */
  private pending: Array<{ serial: string; key: string; at: number; scans: number; since: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly windowMs: number,
    private readonly onError: (e: unknown) => void = () => undefined,
    budget: ScanBudget = {},
  ) {
    this.perClient = budget.perClient ?? Number.POSITIVE_INFINITY;
    this.periodMs = budget.periodMs ?? windowMs;
    this.get = db.prepare("SELECT counted_at, scans, since FROM scan_clients WHERE serial = ? AND client = ?");
    this.upsertClient =
      db.prepare(`INSERT INTO scan_clients (serial, client, counted_at, scans, since) VALUES (?, ?, ?, ?, ?)
      ON CONFLICT(serial, client) DO UPDATE SET counted_at = excluded.counted_at, scans = excluded.scans, since = excluded.since`);
    this.bump = db.prepare(
      "INSERT INTO scans (serial, first_seen, last_seen, count) VALUES (?, ?, ?, ?) ON CONFLICT(serial) DO UPDATE SET last_seen = excluded.last_seen, count = count + excluded.count",
    );
    this.scans = db.prepare("SELECT first_seen, last_seen, count FROM scans WHERE serial = ?");
    // A client's hash is kept only while it matters: once its window and budget period have passed it would be counted anyway.
    this.prune = db.prepare("DELETE FROM scan_clients WHERE counted_at < ? AND since < ?");
    this.writeAll = db.transaction((rows: ScanCounter["pending"]) => {
      // One row per client; one update per serial however many of its scans are in the batch.
      const bySerial = new Map<string, { first: number; last: number; count: number }>();
      for (const r of rows) {
        this.upsertClient.run(r.serial, r.key, r.at, r.scans, r.since);
        const b = bySerial.get(r.serial);
        if (b) {
          b.last = r.at;
          b.count++;
        } else bySerial.set(r.serial, { first: r.at, last: r.at, count: 1 });
      }
      for (const [serial, b] of bySerial) this.bump.run(serial, b.first, b.last, b.count);
    });
  }

  /** The client as stored: a hash of its address (no personal data in the index). */
  private static clientKey(client: string): string {
    return crypto.createHash("sha256").update(client).digest("base64url").slice(0, 22);
  }

  /** Records a scan of `serial` by `client` at `now` (ms). A repeat within the window touches no table and hashes nothing. */
  record(serial: string, client: string, now = Date.now()): { count: number; firstSeen: number; counted: boolean } {
    const seenKey = `${serial}|${client}`;
    let known = this.seen.get(seenKey);
    let key: string | undefined;
    if (known === undefined) {
      // Not in memory, so not pending either (memory is flushed before it is cleared): SQLite knows.
      key = ScanCounter.clientKey(client);
      const r = this.get.get(serial, key) as { counted_at: number; scans: number; since: number } | undefined;
      known = r
        ? { last: r.counted_at, scans: r.scans, since: r.since }
        : { last: Number.NEGATIVE_INFINITY, scans: 0, since: now };
    }
    if (now - known.since >= this.periodMs) known = { ...known, scans: 0, since: now };
    const counted = now - known.last >= this.windowMs && known.scans < this.perClient;
    if (this.seen.size >= 50_000 || this.totals.size >= 100_000) this.flush(true);
    const total = this.totalOf(serial, now);
    if (counted) {
      key ??= ScanCounter.clientKey(client);
      known = { last: now, scans: known.scans + 1, since: known.since };
      this.pending.push({ serial, key, at: now, scans: known.scans, since: known.since });
      if (total.count === 0) total.firstSeen = now;
      total.count++;
      if (this.pending.length >= ScanCounter.FLUSH_COUNT) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), ScanCounter.FLUSH_MS).unref();
    }
    this.seen.set(seenKey, known);
    return { count: total.count, firstSeen: total.firstSeen, counted };
  }

  private totalOf(serial: string, now: number): { count: number; firstSeen: number } {
    let total = this.totals.get(serial);
    if (!total) {
      const r = this.scans.get(serial) as { first_seen: number; count: number } | undefined;
      total = { count: r?.count ?? 0, firstSeen: r?.first_seen ?? now };
      this.totals.set(serial, total);
    }
    return total;
  }

  /** The counts of `serial` as stored, after writing the pending ones (what the API reports). */
  read(serial: string): { count: number; firstSeen: number; lastSeen: number } | undefined {
    this.flush();
    const r = this.scans.get(serial) as { first_seen: number; last_seen: number; count: number } | undefined;
    return r ? { count: Number(r.count), firstSeen: Number(r.first_seen), lastSeen: Number(r.last_seen) } : undefined;
  }

  /** Writes the counted scans not yet written, in one transaction; `forget` also empties the memory. */
  flush(forget = false): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length > 0 && this.db.open) {
      const rows = this.pending;
      this.pending = [];
      try {
        this.writeAll(rows);
      } catch (e) {
        // Keep them for the next flush (SQLite busy, disk full…), try again later, and say so.
        this.pending = rows.concat(this.pending);
        this.timer = setTimeout(() => this.flush(), ScanCounter.RETRY_MS).unref();
        this.onError(e);
        return;
      }
      // Apart from the write: the rows are committed, a failed prune must not keep them pending (counted twice).
      const now = rows[rows.length - 1].at;
      if (now - this.prunedAt >= 60_000) {
        try {
          this.prune.run(now - this.windowMs, now - this.periodMs);
          this.prunedAt = now;
        } catch (e) {
          this.onError(e); // pruned at the next flush
        }
      }
    }
    if (forget && this.pending.length === 0) {
      this.seen.clear();
      this.totals.clear();
    }
  }
}

/**
 * A codes manifest to load: a file of the data folder's `codes/` (`*.codes.json`, written by
 * `proofmark codes issue`), or one another portal instance shared through PostgreSQL.
 */
export interface ManifestSource {
  /** Where it is from (the file's path, or `shared:<sha256>`): its key in the `manifests` table. */
  name: string;
  /** Changes whenever the text may have (a file's mtime; shared manifests never change: 0). */
  version: number;
  read(): string;
}

/** The codes manifests of a folder (none when it does not exist). */
export function manifestFiles(dir: string): ManifestSource[] {
  if (!fs.existsSync(dir)) return [];
  const files: ManifestSource[] = [];
  for (const name of fs.readdirSync(dir)) {
    if (!name.endsWith(".codes.json")) continue;
    const file = path.join(dir, name);
    let version: number;
    try {
      version = Math.floor(fs.statSync(file).mtimeMs);
    } catch {
      continue; // removed meanwhile
    }
    files.push({ name: file, version, read: () => fs.readFileSync(file, "utf8") });
  }
  return files;
}

/**
 * Loads codes manifests. A manifest's serials are accepted only when its recomputed root equals a
 * `CodesIssued` commitment the chain recorded for that lot; others stay pending (retried after
 * each sync).
 */
export function importManifests(
  db: Database.Database,
  sources: ManifestSource[],
  chainId: number,
  registry: string | undefined,
): { accepted: number; pending: number } {
  let accepted = 0;
  let pending = 0;
  if (!registry) return { accepted, pending };
  const known = db.prepare("SELECT mtime, status FROM manifests WHERE file = ?");
  const issued = db.prepare("SELECT 1 FROM code_issues WHERE lot = ? AND commitment = ?");
  const upsert = db.prepare(
    "INSERT INTO manifests (file, commitment, mtime, status) VALUES (?, ?, ?, ?) ON CONFLICT(file) DO UPDATE SET commitment = excluded.commitment, mtime = excluded.mtime, status = excluded.status",
  );
  const insertSerial = db.prepare(
    "INSERT OR IGNORE INTO serials (serial, gtin, lot, leaf, commitment) VALUES (?, ?, ?, ?, ?)",
  );
  for (const source of sources) {
    const { name, version } = source;
    const prev = known.get(name) as { mtime: number; status: string } | undefined;
    if (prev && prev.mtime === version && prev.status !== "pending") continue;
    let manifest: sdk.CodesManifest;
    try {
      manifest = sdk.parseCodesManifest(source.read());
    } catch {
      upsert.run(name, "", version, "invalid");
      continue;
    }
    if (manifest.chainId !== chainId || manifest.registry !== registry.toLowerCase()) {
      upsert.run(name, manifest.commitment, version, "other-chain");
      continue;
    }
    if (!issued.get(manifest.lot, manifest.commitment)) {
      upsert.run(name, manifest.commitment, version, "pending");
      pending++;
      continue;
    }
    const { leaves } = sdk.serialSetCommitment(manifest.gtin, String(manifest.lot), manifest.serials);
    db.transaction(() => {
      manifest.serials.forEach((s, i) =>
        insertSerial.run(s.serial, manifest.gtin, manifest.lot, leaves[i], manifest.commitment),
      );
      upsert.run(name, manifest.commitment, version, "accepted");
    })();
    accepted++;
  }
  return { accepted, pending };
}
