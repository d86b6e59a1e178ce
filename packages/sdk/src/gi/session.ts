import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { ProofmarkError } from "../core/errors";
import {
  harvestEvent,
  lotClass,
  observationEvent,
  packEvent,
  parseEventTime,
  recallEvent,
  STEP_ROLES,
  transformationEvent,
  type BizStep,
  type Disposition,
} from "../core/epcis";
import { formatQuantity, parseQuantity, unitInfo } from "../core/quantity";
import type { Hex } from "../core/hex";
import { devAccounts } from "../chain/accounts";
import type { ChainContext } from "../chain/context";
import { readDeployments } from "../chain/deployments";
import {
  accountLabel,
  PARTICIPANT_FIELD_MAX,
  PARTICIPANT_KINDS,
  PARTICIPANT_NAME_MAX,
  participantKey,
  provenanceRegistryInterface,
  replayProvenanceLogs,
  ProvenanceRegistryClient,
  type ParticipantInfo,
  type ParticipantInput,
  type EventInput,
  type LotInfo,
  type ProductInfo,
  type TxInfo,
} from "../chain/provenance";
import { EmbeddedStore } from "../store/embedded";
import type { ContentStore } from "../store/types";
import { traceLot, type LotTrace } from "../trace";
import { EventDocuments, prepareEvent, type PreparedEvent } from "./documents";
import { decodeImportText, parseImport, type ImportProblem, type ImportRow } from "./import";
import { IMPORT_LIMIT_BYTES, readFileBounded } from "../util/fs";

/**
 * GI workflows with I/O: each operation builds its EPCIS event document, checks that the chain
 * would accept it, keeps the document in the content store, then sends the transaction and makes
 * the local chain durable. What the CLI's `proofmark gi …` commands call.
 */

/** An account given as a dev-account name ("farmer1") or an address. */
export function resolveAccount(account: string): string {
  if (/^0x[0-9a-fA-F]{40}$/.test(account)) return account;
  const dev = devAccounts().find((a) => a.name === account);
  if (!dev)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${account}" is neither an address (0x + 40 hex digits) nor a local account (${devAccounts()
        .map((a) => a.name)
        .join(", ")})`,
      { account },
    );
  return dev.address;
}

/** Event times before this (2000-01-01T00:00:00Z) are refused: a missing or garbled date, not a GI event. */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);

/** A document given to the SDK: its bytes and the file name it is kept under. */
export interface DocumentInput {
  bytes: Uint8Array;
  name: string;
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

  private constructor(init: {
    chain: ChainContext;
    client: ProvenanceRegistryClient;
    documents: EventDocuments;
    store: ContentStore;
    signerAddress: string;
    ownsStore: boolean;
  }) {
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
   * const { lot } = await gi.harvest({ product: 1, quantity: parseQuantity("1200kg", await gi.unitOf(1)), plot: "DS-07", date: "2026-09-01" });
   */
  static async open(chain: ChainContext, opts: { store?: ContentStore; readOnly?: boolean } = {}): Promise<GiSession> {
    const address = await chain.registryAddress("ProvenanceRegistry");
    const signer = opts.readOnly ? undefined : await chain.signer();
    const client = new ProvenanceRegistryClient(address, signer ?? chain.provider);
    const store = opts.store ?? new EmbeddedStore(chain.dataDir);
    const documents = new EventDocuments({ dataDir: chain.dataDir, chainId: chain.chainId, registry: address, store });
    return new GiSession({
      chain,
      client,
      documents,
      store,
      signerAddress: signer ? await signer.getAddress() : "",
      ownsStore: !opts.store,
    });
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.store.close();
  }

  /** First block worth reading logs from: the registry's deployment block. */
  get fromBlock(): number {
    return readDeployments(this.chain.dataDir, this.chain.chainId).ProvenanceRegistry?.blockNumber ?? 0;
  }

  // ------------------------------------------------------------------ products, roles, licences

  /**
   * Registers a GI product. `maxYieldBps`: the maximum processing yield in basis points (default
   * 10,000 = 100 %; {@link parseYield} reads "25%"); `standard`: the product specification, whose
   * SHA-256 goes on chain and whose bytes go to the store.
   */
  async createProduct(input: {
    name: string;
    nameEn?: string;
    giNumber: string;
    region: string;
    unit: string;
    maxYieldBps?: number;
    admin: string;
    standard?: DocumentInput;
  }): Promise<TxInfo & { product: number; standard: Hex }> {
    if (!input.name.trim())
      throw new ProofmarkError("INVALID_ARGUMENT", "the product name must not be empty", { field: "name" });
    if (!input.giNumber.trim())
      throw new ProofmarkError("INVALID_ARGUMENT", "the GI registration number must not be empty", {
        field: "giNumber",
      });
    unitInfo(input.unit); // a known unit
    const maxYieldBps = input.maxYieldBps ?? 10_000;
    if (!Number.isInteger(maxYieldBps) || maxYieldBps < 1 || maxYieldBps > 10_000) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `a maximum yield of ${maxYieldBps} basis points is not within 1–10,000 (0.01 %–100 %)`,
        { field: "maxYieldBps", value: maxYieldBps },
      );
    }
    let standard = `0x${"0".repeat(64)}` as Hex;
    if (input.standard) {
      standard = `0x${createHash("sha256").update(input.standard.bytes).digest("hex")}` as Hex;
      await this.store.add(input.standard.bytes, { name: input.standard.name });
    }
    const r = await this.client.createProduct({
      admin: resolveAccount(input.admin),
      maxYieldBps,
      standard,
      name: input.name,
      nameEn: input.nameEn ?? "",
      giNumber: input.giNumber,
      region: input.region,
      unit: input.unit,
    });
    await this.chain.persist();
    return { ...r, standard };
  }

  async product(id: number): Promise<ProductInfo> {
    return this.client.product(id);
  }

  /**
   * Registers what the product's admin says about an account: display names, kind, licence
   * number, region (replacing an earlier record). Checked here first (kind, a name, lengths in
   * bytes of UTF-8 within the registry's bounds, no control characters); the registry checks again.
   */
  async setParticipant(
    product: number,
    account: string,
    input: { kind: string; name: string; nameEn?: string; licence?: string; region?: string },
  ): Promise<TxInfo & { participant: ParticipantInput }> {
    const participant = checkParticipant(input);
    await this.client.product(product);
    const r = await this.client.setParticipant(product, resolveAccount(account), participant);
    await this.chain.persist();
    return { ...r, participant };
  }

  /** The participant records of `product`, read from the registry's logs (newest record per account). */
  async participants(product: number): Promise<ParticipantInfo[]> {
    await this.client.product(product);
    const state = await replayProvenanceLogs(this.client.provider, this.client.address, { fromBlock: this.fromBlock });
    return [...state.participants.values()].filter((p) => p.product === product);
  }

  /** The participant record of `account` for `product` (undefined: not registered). */
  async participant(product: number, account: string): Promise<ParticipantInfo | undefined> {
    const address = resolveAccount(account);
    return (await this.participants(product)).find(
      (p) => participantKey(p.product, p.account) === participantKey(product, address),
    );
  }

  async grantRole(
    product: number,
    role: Parameters<ProvenanceRegistryClient["grantRole"]>[1],
    account: string,
  ): Promise<TxInfo> {
    const r = await this.client.grantRole(product, role, resolveAccount(account));
    await this.chain.persist();
    return r;
  }

  async revokeRole(
    product: number,
    role: Parameters<ProvenanceRegistryClient["revokeRole"]>[1],
    account: string,
  ): Promise<TxInfo> {
    const r = await this.client.revokeRole(product, role, resolveAccount(account));
    await this.chain.persist();
    return r;
  }

  /** The base unit of a product's quantities (what callers parse "1200kg" into, with {@link parseQuantity}). */
  async unitOf(product: number): Promise<string> {
    return this.client.unitOf(product);
  }

  /** The base unit of a lot's product; LOT_NOT_FOUND when there is no such lot. */
  async unitOfLot(lot: number): Promise<string> {
    return (await this.lotAndProduct(lot)).product.unit;
  }

  /** Sets a producer's quota (in the product's base unit) for a season. */
  async grantLicence(
    product: number,
    account: string,
    quota: bigint,
    season: number,
  ): Promise<TxInfo & { quota: bigint; unit: string }> {
    const unit = await this.client.unitOf(product);
    const amount = positive(quota, "quota");
    checkSeason(season);
    const r = await this.client.grantLicence(product, resolveAccount(account), season, amount);
    await this.chain.persist();
    return { ...r, quota: amount, unit };
  }

  // ------------------------------------------------------------------ lots

  /** Harvests a lot against the signer's licence for the season (default: the year of `date`). */
  async harvest(input: {
    product: number;
    quantity: bigint;
    plot: string;
    date: string;
    season?: number;
    location?: string;
    time?: string;
  }): Promise<LotResult & { season: number; licence: { quota: bigint; harvested: bigint } }> {
    const product = await this.client.product(input.product);
    const quantity = positive(input.quantity, "quantity");
    if (!input.plot.trim())
      throw new ProofmarkError("INVALID_ARGUMENT", "the plot must not be empty", { field: "plot" });
    const time = input.time ?? input.date;
    checkEventTime(time, undefined, "harvest date");
    const season = input.season ?? new Date(eventMillis(time)).getUTCFullYear();
    checkSeason(season);
    const lot = (await this.client.counts()).lots + 1; // the id the registry will give it
    const prepared = prepareEvent(
      harvestEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot) }),
        quantity,
        unit: product.unit,
        time,
        location: input.location ?? plotLocation(product, input.plot),
        ilmd: {
          "gi:product": product.giNumber,
          "gi:plot": input.plot,
          "gi:producer": this.signerAddress.toLowerCase(),
          "gi:season": season,
        },
      }),
    );
    let cid = "";
    const r = await this.client.harvest(
      product.id,
      season,
      quantity,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    assertPredicted(r.lot, lot);
    const licence = await this.client.licence(product.id, this.signerAddress, season);
    return { ...r, product: product.id, quantity, unit: product.unit, cid, season, licence };
  }

  /**
   * Records one supply-chain event (inspecting, shipping, receiving, retail_selling, …) on a lot.
   * `quantity`: what was observed, in the product's base unit (at most the lot's quantity);
   * `attachment`: a document (certificate, waybill) kept in the store, its CID in the event.
   */
  async event(input: {
    lot: number;
    step: BizStep;
    disposition?: Disposition;
    location: string;
    time?: string;
    attachment?: DocumentInput;
    quantity?: bigint;
    note?: string;
  }): Promise<TxInfo & { lot: number; cid: string; attachment?: string }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    if (input.quantity !== undefined) checkObserved(positive(input.quantity, "quantity"), lot, product.unit);
    if (input.time !== undefined) checkEventTime(input.time, await this.lotStartTime(lot.id), "event time", lot.id);
    const extensions: Record<string, string> = {};
    let attachment: string | undefined;
    if (input.attachment) {
      extensions["gi:attachmentSha256"] = createHash("sha256").update(input.attachment.bytes).digest("hex");
      extensions["gi:attachmentName"] = input.attachment.name;
      attachment = (await this.store.add(input.attachment.bytes, { name: input.attachment.name })).cid;
      extensions["gi:attachment"] = attachment;
    }
    if (input.note) extensions["gi:note"] = input.note;
    const prepared = prepareEvent(
      observationEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }),
        step: input.step,
        disposition: input.disposition,
        time: input.time ?? new Date(),
        location: input.location,
        quantity: input.quantity,
        unit: product.unit,
        extensions,
      }),
    );
    let cid = "";
    const r = await this.client.recordEvent(
      { lot: lot.id, step: prepared.record.step, disposition: prepared.record.disposition, ...recordOf(prepared) },
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    return { ...r, lot: lot.id, cid, attachment };
  }

  /** Splits quantities off a lot into new lots. */
  async split(input: {
    lot: number;
    quantities: bigint[];
    location?: string;
    time?: string;
  }): Promise<TxInfo & { lots: number[]; quantities: bigint[]; unit: string; cid: string }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    if (input.quantities.length === 0)
      throw new ProofmarkError("INVALID_ARGUMENT", "name the quantities of the new lots", { field: "quantities" });
    const quantities = input.quantities.map((q) => positive(q, "quantities"));
    if (input.time !== undefined) checkEventTime(input.time, await this.lotStartTime(lot.id), "event time", lot.id);
    const first = (await this.client.counts()).lots + 1;
    const total = quantities.reduce((s, q) => s + q, 0n);
    const prepared = prepareEvent(
      transformationEvent({
        step: "repackaging",
        unit: product.unit,
        time: input.time ?? new Date(),
        location: input.location ?? productLocation(product),
        inputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }), quantity: total }],
        outputs: quantities.map((q, i) => ({
          lot: lotClass({ giNumber: product.giNumber, lot: String(first + i) }),
          quantity: q,
        })),
      }),
    );
    let cid = "";
    const r = await this.client.split(
      lot.id,
      quantities,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    assertPredicted(r.lots[0], first);
    return { ...r, quantities, unit: product.unit, cid };
  }

  /** Merges the whole remaining quantity of several lots into a new lot. */
  async merge(input: { lots: number[]; location?: string; time?: string }): Promise<LotResult> {
    if (input.lots.length < 2)
      throw new ProofmarkError("INVALID_ARGUMENT", `merging needs at least 2 lots, got ${input.lots.length}`);
    const infos = await Promise.all(input.lots.map((l) => this.lotAndProduct(l)));
    const product = infos[0].product;
    const merged = (await this.client.counts()).lots + 1;
    const total = infos.reduce((s, i) => s + i.lot.remaining, 0n);
    const prepared = prepareEvent(
      transformationEvent({
        step: "repackaging",
        unit: product.unit,
        time: input.time ?? new Date(),
        location: input.location ?? productLocation(product),
        inputs: infos.map((i) => ({
          lot: lotClass({ giNumber: product.giNumber, lot: String(i.lot.id) }),
          quantity: i.lot.remaining,
        })),
        outputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(merged) }), quantity: total }],
      }),
    );
    let cid = "";
    const r = await this.client.merge(
      input.lots,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    assertPredicted(r.lot, merged);
    return { ...r, product: product.id, quantity: total, unit: product.unit, cid };
  }

  /** Processes amounts of input lots into an output lot (output ≤ inputs × the product's maximum yield). */
  async transform(input: {
    lots: number[];
    amounts: bigint[];
    output: bigint;
    location?: string;
    time?: string;
  }): Promise<LotResult> {
    if (input.lots.length === 0) throw new ProofmarkError("INVALID_ARGUMENT", "name the input lots", { field: "lots" });
    if (input.amounts.length !== input.lots.length)
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `${input.lots.length} input lot(s) but ${input.amounts.length} amount(s); give one amount per lot`,
        { field: "amounts" },
      );
    const infos = await Promise.all(input.lots.map((l) => this.lotAndProduct(l)));
    const product = infos[0].product;
    const amounts = input.amounts.map((a) => positive(a, "amounts"));
    const output = positive(input.output, "output");
    const out = (await this.client.counts()).lots + 1;
    const prepared = prepareEvent(
      transformationEvent({
        step: "creating_class_instance",
        unit: product.unit,
        time: input.time ?? new Date(),
        location: input.location ?? productLocation(product),
        inputs: infos.map((i, k) => ({
          lot: lotClass({ giNumber: product.giNumber, lot: String(i.lot.id) }),
          quantity: amounts[k],
        })),
        outputs: [{ lot: lotClass({ giNumber: product.giNumber, lot: String(out) }), quantity: output }],
      }),
    );
    let cid = "";
    const r = await this.client.transform(
      input.lots,
      amounts,
      output,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    assertPredicted(r.lot, out);
    return { ...r, product: product.id, quantity: output, unit: product.unit, cid };
  }

  /** Packs N packages of size S from a lot into a new packed lot. */
  async pack(input: {
    lot: number;
    packages: number;
    size: bigint;
    location?: string;
    time?: string;
  }): Promise<LotResult & { packages: number; size: bigint }> {
    const { lot, product } = await this.lotAndProduct(input.lot);
    if (!Number.isSafeInteger(input.packages) || input.packages < 1 || input.packages > 0xffffffff) {
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `the package count must be a whole number from 1 to 4294967295, got ${input.packages}`,
        { field: "packages" },
      );
    }
    const size = positive(input.size, "size");
    const packed = (await this.client.counts()).lots + 1;
    const prepared = prepareEvent(
      packEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }),
        packedLot: lotClass({ giNumber: product.giNumber, lot: String(packed) }),
        packages: input.packages,
        size,
        unit: product.unit,
        time: input.time ?? new Date(),
        location: input.location ?? productLocation(product),
      }),
    );
    let cid = "";
    const r = await this.client.pack(
      lot.id,
      input.packages,
      size,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
    await this.chain.persist();
    assertPredicted(r.lot, packed);
    return {
      ...r,
      product: product.id,
      quantity: BigInt(input.packages) * size,
      unit: product.unit,
      cid,
      packages: input.packages,
      size,
    };
  }

  /** Recalls a lot (the product's admin or an inspector); its descendants read as recalled in traces. */
  async recall(input: {
    lot: number;
    reason: string;
    location?: string;
    time?: string;
  }): Promise<TxInfo & { lot: number; cid: string }> {
    if (!input.reason.trim())
      throw new ProofmarkError("INVALID_ARGUMENT", "the reason must say why the lot is recalled", { field: "reason" });
    const lot = await this.client.existingLot(input.lot);
    const product = await this.client.product(lot.product);
    const prepared = prepareEvent(
      recallEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }),
        reason: input.reason,
        time: input.time ?? new Date(),
        location: input.location ?? productLocation(product),
      }),
    );
    let cid = "";
    const r = await this.client.recall(
      lot.id,
      input.reason,
      recordOf(prepared),
      async () => ([cid] = await this.documents.save([prepared])),
    );
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
  async importEvents(
    file: string,
    opts: {
      dryRun?: boolean;
      batchSize?: number;
      onProgress?: (phase: string, done: number, total: number) => void;
    } = {},
  ): Promise<ImportResult> {
    const started = Date.now();
    if (!fs.existsSync(file)) throw new ProofmarkError("FILE_NOT_FOUND", `no file ${file}`, { path: file });
    const text = decodeImportText(readFileBounded(file, IMPORT_LIMIT_BYTES, "an import file"));
    if (typeof text !== "string") throw importInvalid(file, [text], 1);
    const { rows, problems } = parseImport(file, text);
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
        if (info.status !== "none" && !products.has(info.product))
          products.set(info.product, await this.client.product(info.product));
      }
      const info = lots.get(row.lot)!;
      const reasons: string[] = [];
      if (info.status === "none") reasons.push(`lot ${row.lot} does not exist`);
      else if (info.status === "recalled") reasons.push(`lot ${row.lot} was recalled and accepts no events`);
      else if (info.status === "consumed")
        reasons.push(`lot ${row.lot} is consumed (all of it went into other lots); record the event on those lots`);
      else {
        const key = `${info.product}/${row.step}`;
        if (!allowed.has(key))
          allowed.set(key, await this.client.mayRecord(info.product, row.step, this.signerAddress));
        if (!allowed.get(key))
          reasons.push(
            `${accountLabel(this.signerAddress)} may not record ${row.step} on product ${info.product} (needs one of the roles: ${stepRoleText(row.step)})`,
          );
        if (row.quantity !== undefined) {
          try {
            checkObserved(
              parseQuantity(row.quantity, products.get(info.product)!.unit),
              info,
              products.get(info.product)!.unit,
            );
          } catch (e) {
            reasons.push((e as Error).message);
          }
        }
        try {
          checkEventTime(row.time, await this.lotStartTime(row.lot), "time", row.lot);
        } catch (e) {
          reasons.push((e as Error).message);
        }
      }
      if (reasons.length > 0) problems.push({ line: row.line, reason: reasons.join("; ") });
    }
    if (problems.length > 0) throw importInvalid(file, problems, total);
    if (opts.dryRun)
      return {
        rows: rows.length,
        recorded: 0,
        dryRun: true,
        transactions: [],
        lots: lots.size,
        seconds: (Date.now() - started) / 1000,
      };

    // Documents and chain records.
    const prepared: PreparedEvent[] = [];
    for (const row of rows) {
      const product = products.get(lots.get(row.lot)!.product)!;
      prepared.push(
        prepareEvent(
          observationEvent({
            lot: lotClass({ giNumber: product.giNumber, lot: String(row.lot) }),
            step: row.step,
            disposition: row.disposition,
            time: row.time,
            location: row.location,
            quantity: row.quantity !== undefined ? parseQuantity(row.quantity, product.unit) : undefined,
            unit: product.unit,
            extensions: row.note !== undefined ? { "gi:note": row.note } : undefined,
          }),
        ),
      );
      if (prepared.length % 1000 === 0) opts.onProgress?.("prepare", prepared.length, rows.length);
    }
    const inputs: EventInput[] = prepared.map((p, i) => ({
      lot: rows[i].lot,
      step: p.record.step,
      disposition: p.record.disposition,
      ...recordOf(p),
    }));
    const batches = await this.planBatches(inputs, opts.batchSize ?? 1000);
    await this.documents.save(prepared);
    opts.onProgress?.("documents", prepared.length, prepared.length);

    // Send every batch (pipelined), then wait for all.
    const sent = [];
    for (const b of batches)
      sent.push({ tx: await this.client.sendRecordEvents(b.inputs, b.gas + b.gas / 5n), events: b.inputs.length });
    const transactions: ImportResult["transactions"] = [];
    let recorded = 0;
    for (const s of sent) {
      transactions.push({ ...(await this.client.waitFor(s.tx, `recording ${s.events} events`)), events: s.events });
      recorded += s.events;
      opts.onProgress?.("record", recorded, inputs.length);
    }
    await this.chain.persist();
    return {
      rows: rows.length,
      recorded,
      dryRun: false,
      transactions,
      lots: lots.size,
      seconds: (Date.now() - started) / 1000,
    };
  }

  /** Cuts events into batches that each fit comfortably in a block; simulates every batch (nothing is sent). */
  private async planBatches(
    inputs: EventInput[],
    batchSize: number,
  ): Promise<Array<{ inputs: EventInput[]; gas: bigint }>> {
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

  private readonly startTimes = new Map<number, number | undefined>();

  /**
   * When a lot began (ms): the event time of the first event recorded on it (a harvest, split,
   * merge, transform or pack records one on the new lot in the same transaction).
   */
  private async lotStartTime(lot: number): Promise<number | undefined> {
    if (this.startTimes.has(lot)) return this.startTimes.get(lot);
    const iface = provenanceRegistryInterface;
    const topic = iface.getEvent("LotEventRecorded")!.topicHash;
    const lotTopic = `0x${BigInt(lot).toString(16).padStart(64, "0")}`;
    const logs = await this.chain.provider.getLogs({
      address: this.client.address,
      topics: [topic, lotTopic],
      fromBlock: this.fromBlock,
      toBlock: "latest",
    });
    const first = logs[0] ? iface.parseLog(logs[0]) : undefined;
    const start = first ? Number(first.args.eventTime) * 1000 : undefined;
    this.startTimes.set(lot, start);
    return start;
  }

  private async lotAndProduct(id: number): Promise<{ lot: LotInfo; product: ProductInfo }> {
    const lot = await this.client.existingLot(id);
    return { lot, product: await this.client.product(lot.product) };
  }
}

function recordOf(p: PreparedEvent): { eventTime: number; location: Hex; document: Hex } {
  return { eventTime: p.record.eventTime, location: p.record.location, document: p.record.document };
}

/** The place of a product-wide step: the GI itself (`urn:proofmark:gi:<GI number>`). */
export function productLocation(product: ProductInfo): string {
  return `urn:proofmark:gi:${encodeURIComponent(product.giNumber)}`;
}

/** The place of a harvest: the plot of the GI (`urn:proofmark:gi:<GI number>:plot:<plot>`). */
export function plotLocation(product: ProductInfo, plot: string): string {
  return `urn:proofmark:gi:${encodeURIComponent(product.giNumber)}:plot:${encodeURIComponent(plot.trim())}`;
}

function eventMillis(time: string): number {
  return parseEventTime(time);
}

/** A quantity given to the SDK: a positive bigint in base units. */
function positive(value: bigint, field: string): bigint {
  if (typeof value !== "bigint" || value <= 0n) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `${field} must be a positive whole number of base units (a bigint), got ${String(value)}`,
      { field, value: String(value) },
    );
  }
  return value;
}

/** An observed quantity cannot exceed the lot it was observed on. */
function checkObserved(quantity: bigint, lot: LotInfo, unit: string): void {
  if (quantity > lot.quantity) {
    throw new ProofmarkError(
      "QUANTITY_EXCEEDED",
      `an observed quantity of ${formatQuantity(quantity, unit)} is more than lot ${lot.id} ever held (${formatQuantity(lot.quantity, unit)})`,
      {
        field: "quantity",
        lot: lot.id,
        quantity: String(quantity),
        lotQuantity: String(lot.quantity),
      },
    );
  }
}

/** Refuses event times before 2000 (a missing or garbled date) and before the lot began. */
function checkEventTime(time: string | Date, lotStart: number | undefined, what: string, lot?: number): void {
  const ms = time instanceof Date ? time.getTime() : eventMillis(time);
  const shown = time instanceof Date ? time.toISOString() : time;
  if (ms < EARLIEST_EVENT_TIME) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `the ${what} ${shown} is before 2000: a missing or garbled date, not an event of this lot`,
      { field: what, value: shown },
    );
  }
  if (lotStart !== undefined && ms < lotStart) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `the ${what} ${shown} is before lot ${lot} began (${new Date(lotStart).toISOString()})`,
      { field: what, value: shown, lot, lotStart: new Date(lotStart).toISOString() },
    );
  }
}

/** A participant record as the registry accepts it, or INVALID_ARGUMENT naming the field. */
export function checkParticipant(input: {
  kind: string;
  name: string;
  nameEn?: string;
  licence?: string;
  region?: string;
}): ParticipantInput {
  if (!(PARTICIPANT_KINDS as readonly string[]).includes(input.kind))
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `participant kind "${input.kind}" is not one of ${PARTICIPANT_KINDS.join(", ")}`,
      { field: "kind", kinds: [...PARTICIPANT_KINDS] },
    );
  const field = (name: string, value: string | undefined, max: number, required = false): string => {
    const text = value ?? "";
    if (required && text.trim() === "")
      throw new ProofmarkError("INVALID_ARGUMENT", `the participant's ${name} is empty`, { field: name });
    const bytes = Buffer.byteLength(text, "utf8");
    if (bytes > max)
      throw new ProofmarkError(
        "INVALID_ARGUMENT",
        `the participant's ${name} is ${bytes} bytes of UTF-8; at most ${max} are allowed`,
        { field: name, length: bytes, maximum: max },
      );
    if (/[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/.test(text))
      throw new ProofmarkError("INVALID_ARGUMENT", `the participant's ${name} contains control characters`, {
        field: name,
      });
    return text;
  };
  return {
    kind: input.kind as ParticipantInput["kind"],
    name: field("name", input.name, PARTICIPANT_NAME_MAX, true),
    nameEn: field("English name", input.nameEn, PARTICIPANT_NAME_MAX),
    licence: field("licence number", input.licence, PARTICIPANT_FIELD_MAX),
    region: field("region", input.region, PARTICIPANT_FIELD_MAX),
  };
}

function checkSeason(season: number): void {
  if (!Number.isSafeInteger(season) || season < 1 || season > 65_535)
    throw new ProofmarkError("INVALID_ARGUMENT", `season must be a year such as 2026, got ${season}`);
}

function assertPredicted(actual: number, predicted: number): void {
  if (actual !== predicted) {
    process.emitWarning(
      `the registry gave lot ${actual}, not ${predicted} as predicted (another writer was faster); the event document names lot ${predicted}`,
    );
  }
}

function stepRoleText(step: BizStep): string {
  return [...STEP_ROLES[step], "admin"].join(", ");
}

function importInvalid(file: string, problems: ImportProblem[], rows: number): ProofmarkError {
  problems.sort((a, b) => a.line - b.line);
  const shown = problems.slice(0, 50).map((p) => `  line ${p.line}: ${p.reason}`);
  if (problems.length > 50) shown.push(`  … and ${problems.length - 50} more`);
  return new ProofmarkError(
    "IMPORT_INVALID",
    `${path.basename(file)}: ${problems.length} of ${rows} row(s) cannot be recorded, so nothing was recorded:\n${shown.join("\n")}`,
    { file, problems },
  );
}

export type { ImportRow, ImportProblem };
