import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";
import {
  harvestEvent, lotClass, observationEvent, packEvent, parseEventTime, recallEvent, STEP_ROLES, transformationEvent,
  type BizStep, type Disposition,
} from "../core/epcis";
import { parseQuantity } from "../core/quantity";
import type { Hex } from "../core/hex";
import { devAccounts } from "../chain/accounts";
import type { ChainContext } from "../chain/context";
import { readDeployments } from "../chain/deployments";
import { accountLabel, ProvenanceRegistryClient, type EventInput, type LotInfo, type ProductInfo, type TxInfo } from "../chain/provenance";
import { EmbeddedStore } from "../store/embedded";
import type { ContentStore } from "../store/types";
import { traceLot, type LotTrace } from "../trace";
import { EventDocuments, prepareEvent, type PreparedEvent } from "./documents";
import { parseImport, type ImportProblem, type ImportRow } from "./import";
import { READ_LIMIT_BYTES, readFileBounded } from "../util/fs";

/** Largest CSV/EPCIS import file read (a season of 10⁵ events is about 20 MB). */
const IMPORT_LIMIT_BYTES = 64 << 20;

/**
 * GI workflows with I/O: each operation builds its EPCIS event document, checks that the chain
 * would accept it, keeps the document in the content store, then sends the transaction and makes
 * the local chain durable. What the CLI's `proofmark gi …` commands call.
 */

/** An account given as a dev-account name ("farmer1") or an address. */
export function resolveAccount(account: string): string {
  if (/^0x[0-9a-fA-F]{40}$/.test(account)) return account;
  const dev = devAccounts().find((a) => a.name === account);
  if (!dev) throw new ProofmarkError("INVALID_ARGUMENT", `"${account}" is neither an address (0x + 40 hex digits) nor a local account (${devAccounts().map((a) => a.name).join(", ")})`, { account });
  return dev.address;
}

/** A maximum yield as written ("100%", "25 %", "2500bps", "0.25") in basis points. */
export function parseYield(text: string): number {
  const t = text.trim();
  let bps: number;
  let m;
  if ((m = /^([0-9]+(?:\.[0-9]{1,2})?)\s*%$/.exec(t))) bps = Math.round(Number(m[1]) * 100);
  else if ((m = /^([0-9]+)\s*bps$/.exec(t))) bps = Number(m[1]);
  else if ((m = /^(0(?:\.[0-9]{1,4})?|1(?:\.0+)?)$/.exec(t))) bps = Math.round(Number(m[1]) * 10_000);
  else throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is not a yield; write a percentage such as 100% or 25%`, { value: text });
  if (bps < 1 || bps > 10_000) throw new ProofmarkError("INVALID_ARGUMENT", `a maximum yield of ${text} is not within 0.01%–100%`, { value: text });
  return bps;
}

/** Result of a lot-creating operation. */
export interface LotResult extends TxInfo {
  lot: number;
  product: number;
  quantity: bigint;
  unit: string;
  /** CID of the event document in the content store. */
  cid: string;
}

/** Result of {@link GiSession.importEvents}. */
export interface ImportResult {
  rows: number;
  recorded: number;
  dryRun: boolean;
  transactions: Array<TxInfo & { events: number }>;
  lots: number;
  seconds: number;
}

/** An open GI session: a chain, the signer's registry client, the content store, the documents. */
export class GiSession {
  readonly chain: ChainContext;
  readonly client: ProvenanceRegistryClient;
  readonly documents: EventDocuments;
  readonly store: ContentStore;
  readonly signerAddress: string;
  private readonly ownsStore: boolean;

  private constructor(init: { chain: ChainContext; client: ProvenanceRegistryClient; documents: EventDocuments; store: ContentStore; signerAddress: string; ownsStore: boolean }) {
    this.chain = init.chain;
    this.client = init.client;
    this.documents = init.documents;
    this.store = init.store;
    this.signerAddress = init.signerAddress;
    this.ownsStore = init.ownsStore;
  }

  /**
   * Opens a session on `chain` (the registry is deployed on the local chain on first use).
   *
   * @example
   * const gi = await GiSession.open(await openChain({ dataDir, as: "farmer1" }));
   * const { lot } = await gi.harvest({ product: 1, quantity: "1200kg", plot: "DS-07", date: "2026-09-01" });
   */
  static async open(chain: ChainContext, opts: { store?: ContentStore; readOnly?: boolean } = {}): Promise<GiSession> {
    const address = await chain.registryAddress("ProvenanceRegistry");
    const signer = opts.readOnly ? undefined : await chain.signer();
    const client = new ProvenanceRegistryClient(address, signer ?? chain.provider);
    const store = opts.store ?? new EmbeddedStore(chain.dataDir);
    const documents = new EventDocuments({ dataDir: chain.dataDir, chainId: chain.chainId, registry: address, store });
    return new GiSession({ chain, client, documents, store, signerAddress: signer ? await signer.getAddress() : "", ownsStore: !opts.store });
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.store.close();
  }

  /** First block worth reading logs from: the registry's deployment block. */
  get fromBlock(): number {
    return readDeployments(this.chain.dataDir, this.chain.chainId).ProvenanceRegistry?.blockNumber ?? 0;
  }

  // ------------------------------------------------------------------ products, roles, licences

  async createProduct(input: { name: string; nameEn?: string; giNumber: string; region: string; unit: string; maxYield?: string; admin: string; standardFile?: string }): Promise<TxInfo & { product: number; standard: Hex }> {
    if (!input.name.trim()) throw new ProofmarkError("INVALID_ARGUMENT", "--name must not be empty");
    if (!input.giNumber.trim()) throw new ProofmarkError("INVALID_ARGUMENT", "--gi-number must not be empty");
    parseQuantity("1", input.unit); // a known unit
    const maxYieldBps = parseYield(input.maxYield ?? "100%");
    let standard = `0x${"0".repeat(64)}` as Hex;
    if (input.standardFile) {
      const { createHash } = await import("node:crypto");
      if (!fs.existsSync(input.standardFile)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${input.standardFile}`, { path: input.standardFile });
      const bytes = readFileBounded(input.standardFile, READ_LIMIT_BYTES, "a standard document");
      standard = `0x${createHash("sha256").update(bytes).digest("hex")}` as Hex;
      await this.store.add(bytes, { name: path.basename(input.standardFile) });
    }
    const r = await this.client.createProduct({
      admin: resolveAccount(input.admin), maxYieldBps, standard, name: input.name, nameEn: input.nameEn ?? "", giNumber: input.giNumber, region: input.region, unit: input.unit,
    });
    await this.chain.persist();
    return { ...r, standard };
  }

  async product(id: number): Promise<ProductInfo> {
    return this.client.product(id);
  }

  async grantRole(product: number, role: Parameters<ProvenanceRegistryClient["grantRole"]>[1], account: string): Promise<TxInfo> {
    const r = await this.client.grantRole(product, role, resolveAccount(account));
    await this.chain.persist();
    return r;
  }

  async revokeRole(product: number, role: Parameters<ProvenanceRegistryClient["revokeRole"]>[1], account: string): Promise<TxInfo> {
    const r = await this.client.revokeRole(product, role, resolveAccount(account));
    await this.chain.persist();
    return r;
  }

  async grantLicence(product: number, account: string, quota: string, season: number): Promise<TxInfo & { quota: bigint; unit: string }> {
    const unit = await this.client.unitOf(product);
    const amount = parseQuantity(quota, unit);
    checkSeason(season);
    const r = await this.client.grantLicence(product, resolveAccount(account), season, amount);
    await this.chain.persist();
    return { ...r, quota: amount, unit };
  }

  // ------------------------------------------------------------------ lots

  /** Harvests a lot against the signer's licence for the season (default: the year of `date`). */
  async harvest(input: { product: number; quantity: string; plot: string; date: string; season?: number; location?: string; time?: string }): Promise<LotResult & { season: number; licence: { quota: bigint; harvested: bigint } }> {
    const product = await this.client.product(input.product);
    const quantity = parseQuantity(input.quantity, product.unit);
    if (!input.plot.trim()) throw new ProofmarkError("INVALID_ARGUMENT", "--plot must not be empty");
    const time = input.time ?? input.date;
    const season = input.season ?? new Date(eventMillis(time)).getUTCFullYear();
    checkSeason(season);
    const lot = (await this.client.counts()).lots + 1; // the id the registry will give it
    const prepared = prepareEvent(harvestEvent({
      lot: lotClass({ giNumber: product.giNumber, lot: String(lot) }), quantity, unit: product.unit, time, location: input.location ?? plotLocation(product, input.plot),
      ilmd: { "gi:product": product.giNumber, "gi:plot": input.plot, "gi:producer": this.signerAddress.toLowerCase(), "gi:season": season },
    }));
    let cid = "";
    const r = await this.client.harvest(product.id, season, quantity, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    assertPredicted(r.lot, lot);
    const licence = await this.client.licence(product.id, this.signerAddress, season);
    return { ...r, product: product.id, quantity, unit: product.unit, cid, season, licence };
  }

  /** Records one supply-chain event (inspecting, shipping, receiving, retail_selling, …) on a lot. */
  async event(input: { lot: number; step: BizStep; disposition?: Disposition; location: string; time?: string; docFile?: string; quantity?: string; note?: string }): Promise<TxInfo & { lot: number; cid: string; attachment?: string }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    const extensions: Record<string, string> = {};
    let attachment: string | undefined;
    if (input.docFile) {
      if (!fs.existsSync(input.docFile)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${input.docFile}`, { path: input.docFile });
      const { createHash } = await import("node:crypto");
      const bytes = readFileBounded(input.docFile, READ_LIMIT_BYTES, "an attached document");
      extensions["gi:attachmentSha256"] = createHash("sha256").update(bytes).digest("hex");
      extensions["gi:attachmentName"] = path.basename(input.docFile);
      attachment = (await this.store.add(bytes, { name: path.basename(input.docFile) })).cid;
      extensions["gi:attachment"] = attachment;
    }
    if (input.note) extensions["gi:note"] = input.note;
    const prepared = prepareEvent(observationEvent({
      lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }), step: input.step, disposition: input.disposition, time: input.time ?? new Date(),
      location: input.location, quantity: input.quantity ? parseQuantity(input.quantity, product.unit) : undefined, unit: product.unit, extensions,
    }));
    let cid = "";
    const r = await this.client.recordEvent({ lot: lot.id, step: prepared.record.step, disposition: prepared.record.disposition, ...recordOf(prepared) },
      async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    return { ...r, lot: lot.id, cid, attachment };
  }

  /** Splits quantities off a lot into new lots. */
  async split(input: { lot: number; quantities: string[]; location?: string; time?: string }): Promise<TxInfo & { lots: number[]; quantities: bigint[]; unit: string; cid: string }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    if (input.quantities.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "name the quantities of the new lots (--into 400kg --into 800kg)");
    const quantities = input.quantities.map((q) => parseQuantity(q, product.unit));
    const first = (await this.client.counts()).lots + 1;
    const total = quantities.reduce((s, q) => s + q, 0n);
    const prepared = prepareEvent(transformationEvent({
      step: "repackaging", unit: product.unit, time: input.time ?? new Date(), location: input.location ?? productLocation(product),
      inputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }), quantity: total }],
      outputs: quantities.map((q, i) => ({ lot: lotClass({ giNumber: product.giNumber, lot: String(first + i) }), quantity: q })),
    }));
    let cid = "";
    const r = await this.client.split(lot.id, quantities, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    assertPredicted(r.lots[0], first);
    return { ...r, quantities, unit: product.unit, cid };
  }

  /** Merges the whole remaining quantity of several lots into a new lot. */
  async merge(input: { lots: number[]; location?: string; time?: string }): Promise<LotResult> {
    if (input.lots.length < 2) throw new ProofmarkError("INVALID_ARGUMENT", `merging needs at least 2 lots, got ${input.lots.length}`);
    const infos = await Promise.all(input.lots.map((l) => this.lotAndProduct(l)));
    const product = infos[0].product;
    const merged = (await this.client.counts()).lots + 1;
    const total = infos.reduce((s, i) => s + i.lot.remaining, 0n);
    const prepared = prepareEvent(transformationEvent({
      step: "repackaging", unit: product.unit, time: input.time ?? new Date(), location: input.location ?? productLocation(product),
      inputs: infos.map((i) => ({ lot: lotClass({ giNumber: product.giNumber, lot: String(i.lot.id) }), quantity: i.lot.remaining })),
      outputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(merged) }), quantity: total }],
    }));
    let cid = "";
    const r = await this.client.merge(input.lots, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    assertPredicted(r.lot, merged);
    return { ...r, product: product.id, quantity: total, unit: product.unit, cid };
  }

  /** Processes amounts of input lots into an output lot (output ≤ inputs × the product's maximum yield). */
  async transform(input: { lots: number[]; amounts: string[]; output: string; location?: string; time?: string }): Promise<LotResult> {
    if (input.lots.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "name the input lots");
    if (input.amounts.length !== input.lots.length) throw new ProofmarkError("INVALID_ARGUMENT", `${input.lots.length} input lot(s) but ${input.amounts.length} amount(s); give one --amount per lot`);
    const infos = await Promise.all(input.lots.map((l) => this.lotAndProduct(l)));
    const product = infos[0].product;
    const amounts = input.amounts.map((a) => parseQuantity(a, product.unit));
    const output = parseQuantity(input.output, product.unit);
    const out = (await this.client.counts()).lots + 1;
    const prepared = prepareEvent(transformationEvent({
      step: "creating_class_instance", unit: product.unit, time: input.time ?? new Date(), location: input.location ?? productLocation(product),
      inputs: infos.map((i, k) => ({ lot: lotClass({ giNumber: product.giNumber, lot: String(i.lot.id) }), quantity: amounts[k] })),
      outputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(out) }), quantity: output }],
    }));
    let cid = "";
    const r = await this.client.transform(input.lots, amounts, output, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    assertPredicted(r.lot, out);
    return { ...r, product: product.id, quantity: output, unit: product.unit, cid };
  }

  /** Packs N packages of size S from a lot into a new packed lot. */
  async pack(input: { lot: number; packages: number; size: string; location?: string; time?: string }): Promise<LotResult & { packages: number; size: bigint }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    if (!Number.isSafeInteger(input.packages) || input.packages < 1 || input.packages > 0xffffffff) {
      throw new ProofmarkError("INVALID_ARGUMENT", `--packages must be a whole number from 1 to 4294967295, got ${input.packages}`);
    }
    const size = parseQuantity(input.size, product.unit);
    const packed = (await this.client.counts()).lots + 1;
    const prepared = prepareEvent(packEvent({
      lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }), packedLot: lotClass({ giNumber: product.giNumber, lot: String(packed) }),
      packages: input.packages, size, unit: product.unit, time: input.time ?? new Date(), location: input.location ?? productLocation(product),
    }));
    let cid = "";
    const r = await this.client.pack(lot.id, input.packages, size, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    assertPredicted(r.lot, packed);
    return { ...r, product: product.id, quantity: BigInt(input.packages) * size, unit: product.unit, cid, packages: input.packages, size };
  }

  /** Recalls a lot (the product's admin or an inspector); its descendants read as recalled in traces. */
  async recall(input: { lot: number; reason: string; location?: string; time?: string }): Promise<TxInfo & { lot: number; cid: string }> {
    if (!input.reason.trim()) throw new ProofmarkError("INVALID_ARGUMENT", "--reason must say why the lot is recalled");
    const lot = await this.client.existingLot(input.lot);
    const product = await this.client.product(lot.product);
    const prepared = prepareEvent(recallEvent({
      lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }), reason: input.reason, time: input.time ?? new Date(), location: input.location ?? productLocation(product),
    }));
    let cid = "";
    const r = await this.client.recall(lot.id, input.reason, recordOf(prepared), async () => ([cid] = await this.documents.save([prepared])));
    await this.chain.persist();
    return { ...r, lot: lot.id, cid };
  }

  /** The trace of a lot, with documents from this data folder's store. */
  async trace(lot: number): Promise<LotTrace> {
    return traceLot({ client: this.client, lot, documents: this.documents, fromBlock: this.fromBlock });
  }

  // ------------------------------------------------------------------ import

  /**
   * Imports events from a CSV or JSON Lines file. Every row is checked first — format, lot exists
   * and is active, the signer's role for the step, quantities in the product's unit — and every
   * bad row is reported with its line (IMPORT_INVALID); nothing is recorded unless all rows are
   * valid. Then all documents are kept in one store batch and the events are recorded with
   * `recordEvents` in batches of `batchSize`, each batch simulated before any is sent.
   */
  async importEvents(file: string, opts: { dryRun?: boolean; batchSize?: number; onProgress?: (phase: string, done: number, total: number) => void } = {}): Promise<ImportResult> {
    const started = Date.now();
    if (!fs.existsSync(file)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${file}`, { path: file });
    const { rows, problems } = parseImport(file, readFileBounded(file, IMPORT_LIMIT_BYTES, "an import file").toString("utf8"));
    if (rows.length === 0 && problems.length === 0) problems.push({ line: 1, reason: "the file has no rows" });
    const total = rows.length + problems.length;

    // Checks against the chain, once per lot and per (product, step).
    const lots = new Map<number, LotInfo>();
    const products = new Map<number, ProductInfo>();
    const allowed = new Map<string, boolean>();
    for (const row of rows) {
      if (!lots.has(row.lot)) {
        const info = await this.client.lot(row.lot);
        lots.set(row.lot, info);
        if (info.status !== "none" && !products.has(info.product)) products.set(info.product, await this.client.product(info.product));
      }
      const info = lots.get(row.lot)!;
      const reasons: string[] = [];
      if (info.status === "none") reasons.push(`lot ${row.lot} does not exist`);
      else if (info.status === "recalled") reasons.push(`lot ${row.lot} was recalled and accepts no events`);
      else if (info.status === "consumed") reasons.push(`lot ${row.lot} is consumed (all of it went into other lots); record the event on those lots`);
      else {
        const key = `${info.product}/${row.step}`;
        if (!allowed.has(key)) allowed.set(key, await this.client.mayRecord(info.product, row.step, this.signerAddress));
        if (!allowed.get(key)) reasons.push(`${accountLabel(this.signerAddress)} may not record ${row.step} on product ${info.product} (needs one of the roles: ${stepRoleText(row.step)})`);
        if (row.quantity !== undefined) {
          try {
            parseQuantity(row.quantity, products.get(info.product)!.unit);
          } catch (e) {
            reasons.push((e as Error).message);
          }
        }
      }
      if (reasons.length > 0) problems.push({ line: row.line, reason: reasons.join("; ") });
    }
    if (problems.length > 0) throw importInvalid(file, problems, total);
    if (opts.dryRun) return { rows: rows.length, recorded: 0, dryRun: true, transactions: [], lots: lots.size, seconds: (Date.now() - started) / 1000 };

    // Documents and chain records.
    const prepared: PreparedEvent[] = [];
    for (const row of rows) {
      const product = products.get(lots.get(row.lot)!.product)!;
      prepared.push(prepareEvent(observationEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(row.lot) }), step: row.step, disposition: row.disposition, time: row.time, location: row.location,
        quantity: row.quantity !== undefined ? parseQuantity(row.quantity, product.unit) : undefined, unit: product.unit,
        extensions: row.note !== undefined ? { "gi:note": row.note } : undefined,
      })));
      if (prepared.length % 1000 === 0) opts.onProgress?.("prepare", prepared.length, rows.length);
    }
    const inputs: EventInput[] = prepared.map((p, i) => ({ lot: rows[i].lot, step: p.record.step, disposition: p.record.disposition, ...recordOf(p) }));
    const batches = await this.planBatches(inputs, opts.batchSize ?? 1000);
    await this.documents.save(prepared);
    opts.onProgress?.("documents", prepared.length, prepared.length);

    // Send every batch (pipelined), then wait for all.
    const sent = [];
    for (const b of batches) sent.push({ tx: await this.client.sendRecordEvents(b.inputs, b.gas + b.gas / 5n), events: b.inputs.length });
    const transactions: ImportResult["transactions"] = [];
    let recorded = 0;
    for (const s of sent) {
      transactions.push({ ...(await this.client.waitFor(s.tx, `recording ${s.events} events`)), events: s.events });
      recorded += s.events;
      opts.onProgress?.("record", recorded, inputs.length);
    }
    await this.chain.persist();
    return { rows: rows.length, recorded, dryRun: false, transactions, lots: lots.size, seconds: (Date.now() - started) / 1000 };
  }

  /** Cuts events into batches that each fit comfortably in a block; simulates every batch (nothing is sent). */
  private async planBatches(inputs: EventInput[], batchSize: number): Promise<Array<{ inputs: EventInput[]; gas: bigint }>> {
    const block = await this.chain.provider.getBlock("latest");
    const cap = ((block?.gasLimit ?? 30_000_000n) * 8n) / 10n;
    const out: Array<{ inputs: EventInput[]; gas: bigint }> = [];
    const plan = async (slice: EventInput[]): Promise<void> => {
      const gas = await this.client.estimateRecordEvents(slice);
      if (gas > cap && slice.length > 1) {
        const half = Math.ceil(slice.length / 2);
        await plan(slice.slice(0, half));
        await plan(slice.slice(half));
      } else out.push({ inputs: slice, gas });
    };
    for (let i = 0; i < inputs.length; i += batchSize) await plan(inputs.slice(i, i + batchSize));
    return out;
  }

  private async lotAndProduct(id: number): Promise<{ lot: LotInfo; product: ProductInfo }> {
    const lot = await this.client.existingLot(id);
    return { lot, product: await this.client.product(lot.product) };
  }
}

function recordOf(p: PreparedEvent): { eventTime: number; location: Hex; document: Hex } {
  return { eventTime: p.record.eventTime, location: p.record.location, document: p.record.document };
}

function productLocation(product: ProductInfo): string {
  return `urn:proofmark:gi:${encodeURIComponent(product.giNumber)}`;
}

function plotLocation(product: ProductInfo, plot: string): string {
  return `urn:proofmark:gi:${encodeURIComponent(product.giNumber)}:plot:${encodeURIComponent(plot.trim())}`;
}

function eventMillis(time: string): number {
  return parseEventTime(time);
}

function checkSeason(season: number): void {
  if (!Number.isSafeInteger(season) || season < 1 || season > 65_535) throw new ProofmarkError("INVALID_ARGUMENT", `season must be a year such as 2026, got ${season}`);
}

function assertPredicted(actual: number, predicted: number): void {
  if (actual !== predicted) {
    process.emitWarning(`the registry gave lot ${actual}, not ${predicted} as predicted (another writer was faster); the event document names lot ${predicted}`);
  }
}

function stepRoleText(step: BizStep): string {
  return [...STEP_ROLES[step], "admin"].join(", ");
}

function importInvalid(file: string, problems: ImportProblem[], rows: number): ProofmarkError {
  problems.sort((a, b) => a.line - b.line);
  const shown = problems.slice(0, 50).map((p) => `  line ${p.line}: ${p.reason}`);
  if (problems.length > 50) shown.push(`  … and ${problems.length - 50} more`);
  return new ProofmarkError("IMPORT_INVALID",
    `${path.basename(file)}: ${problems.length} of ${rows} row(s) cannot be recorded, so nothing was recorded:\n${shown.join("\n")}`,
    { file, problems });
}

export type { ImportRow, ImportProblem };
