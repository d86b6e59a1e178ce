import {
  Contract,
  type ContractRunner,
  type Provider,
  type TransactionReceipt,
  type TransactionResponse,
} from "ethers";
import { ProofmarkError } from "../core/errors";
import { BIZ_STEPS, PRODUCT_ROLES, roleCode, type BizStep, type ProductRole } from "../core/epcis";
import type { Hex } from "../core/hex";
import { accountLabel, explainProvenanceRevert, roleNames } from "./provenance-revert";
import { minedReceipt } from "./rpc";
import type { StoredLotFacts } from "../trace/assess";
import {
  LOT_ORIGINS,
  LOT_STATUSES,
  PARTICIPANT_KINDS,
  provenanceRegistryInterface,
  replayProvenanceLogs,
  type LotInfo,
  type ParticipantKind,
  type ProductInfo,
  type ProvenanceState,
} from "./provenance-logs";

/**
 * Typed client of a ProvenanceRegistry (GI products, roles, licences, mass-balanced lots,
 * hash-chained events). Refusals are explained by ./provenance-revert.ts; the state rebuilt from
 * logs is ./provenance-logs.ts; the hash-chain arithmetic is core/hash-chain.ts.
 */

export * from "./provenance-logs";
export * from "./provenance-revert";

/** Arguments of {@link ProvenanceRegistryClient.createProduct}. */
export type ProductInput = Omit<ProductInfo, "id"> & { admin: string };

/** A participant record (the contract's `Participant`): every text is untrusted when shown. */
export interface ParticipantInput {
  kind: ParticipantKind;
  name: string;
  nameEn: string;
  licence: string;
  region: string;
}

/** When, where and which document: what every lot operation records (the contract's `Record`). */
export interface RecordInput {
  eventTime: number;
  location: Hex;
  document: Hex;
}

/** One event for `recordEvent(s)` (the contract's `EventInput`). */
export interface EventInput extends RecordInput {
  lot: number;
  step: number;
  disposition: number;
}

/** A mined transaction. */
export interface TxInfo {
  txHash: Hex;
  blockNumber: number;
  gasUsed: bigint;
}

const HEAD_OF = provenanceRegistryInterface.getFunction("headOf")!.selector;
const LOT_OF = provenanceRegistryInterface.getFunction("lotOf")!.selector;
const WORDS = /^0x[0-9a-fA-F]*$/;

/**
 * A lot's storage words — `headOf(lot)` and `lotOf(lot)` — as two `eth_call` calldata, and their
 * answers read back as {@link StoredLotFacts}: for an indexer that sends the calls of many lots in
 * one JSON-RPC batch ({@link ProvenanceRegistryClient.head} and `.lot` are one ethers call each).
 *
 * @example
 * const { head, lot } = lotStorageCalls.data(7); // eth_call { to: registry, data: head } …
 * lotStorageCalls.facts(headAnswer, lotAnswer); // { head, status, quantity, remaining }
 */
export const lotStorageCalls = {
  data(id: number): { head: Hex; lot: Hex } {
    if (!Number.isSafeInteger(id) || id < 0)
      throw new ProofmarkError("INVALID_ARGUMENT", `lot ${id} is not a lot id`, { lot: String(id) });
    const word = id.toString(16).padStart(64, "0");
    return { head: `${HEAD_OF}${word}` as Hex, lot: `${LOT_OF}${word}` as Hex };
  },
  /** Throws RPC_UNREACHABLE when an answer is not the ABI encoding of the function's result. */
  facts(head: string, lot: string): StoredLotFacts {
    const words =
      typeof head === "string" && typeof lot === "string" && head.length === 66 && lot.length === 2 + 64 * 7
        ? WORDS.test(head) && WORDS.test(lot)
          ? Array.from({ length: 7 }, (_v, i) => BigInt(`0x${lot.slice(2 + 64 * i, 66 + 64 * i)}`))
          : undefined
        : undefined;
    // Lot: product uint32, status, origin, quantity uint64, remaining uint64, packages uint32, issuedCodes uint32
    const bits = [32, 8, 8, 64, 64, 32, 32];
    if (!words || words.some((w, i) => w >> BigInt(bits[i]) !== 0n))
      throw new ProofmarkError("RPC_UNREACHABLE", "the node's answer to a lot's storage read is not the registry's", {
        head: String(head).slice(0, 80),
        lot: String(lot).slice(0, 80),
      });
    return {
      head: head.toLowerCase() as Hex,
      status: LOT_STATUSES[Number(words[1])],
      quantity: words[3],
      remaining: words[4],
    };
  },
};

/**
 * Typed client of a ProvenanceRegistry. Takes any ethers `ContractRunner`: a provider for reads,
 * a signer for writes. Every write waits for its receipt and returns what it created.
 *
 * @example
 * const registry = new ProvenanceRegistryClient(address, await chain.signer("farmer1"));
 * const { lot } = await registry.harvest(1, 2026, 1_200_000n, record);
 */
export class ProvenanceRegistryClient {
  readonly address: string;
  readonly contract: Contract;
  private readonly units = new Map<number, string>();

  constructor(address: string, runner: ContractRunner) {
    this.address = address;
    this.contract = new Contract(address, provenanceRegistryInterface, runner);
  }

  /** The same registry with another runner (e.g. another signer). */
  connect(runner: ContractRunner): ProvenanceRegistryClient {
    return new ProvenanceRegistryClient(this.address, runner);
  }

  get provider(): Provider {
    const provider = this.contract.runner?.provider;
    if (!provider) throw new ProofmarkError("INVALID_ARGUMENT", "the registry client needs a runner with a provider");
    return provider;
  }

  // ------------------------------------------------------------------ reads

  async version(): Promise<string> {
    return String(await this.contract.version());
  }

  /** How many products and lots exist (ids are 1..count). */
  async counts(blockTag?: number): Promise<{ products: number; lots: number }> {
    const [products, lots] = await this.contract.counts({ blockTag: blockTag ?? "latest" });
    return { products: Number(products), lots: Number(lots) };
  }

  /** A product; PRODUCT_NOT_FOUND when there is none. */
  async product(id: number): Promise<ProductInfo> {
    let p;
    try {
      p = await this.contract.productOf(id);
    } catch (e) {
      throw await this.explain(e, `reading product ${id}`);
    }
    const info: ProductInfo = {
      id,
      maxYieldBps: Number(p.maxYieldBps),
      standard: String(p.standard) as Hex,
      name: String(p.name),
      nameEn: String(p.nameEn),
      giNumber: String(p.giNumber),
      region: String(p.region),
      unit: String(p.unit),
    };
    this.units.set(id, info.unit);
    return info;
  }

  /** A lot; status "none" when it does not exist. */
  async lot(id: number, blockTag?: number): Promise<LotInfo> {
    const l = await this.contract.lotOf(id, { blockTag: blockTag ?? "latest" });
    return {
      id,
      product: Number(l.product),
      status: LOT_STATUSES[Number(l.status)],
      origin: LOT_ORIGINS[Number(l.origin)],
      quantity: BigInt(l.quantity),
      remaining: BigInt(l.remaining),
      packages: Number(l.packages),
      issuedCodes: Number(l.issuedCodes),
    };
  }

  /** A lot that must exist: LOT_NOT_FOUND otherwise. */
  async existingLot(id: number): Promise<LotInfo> {
    const lot = await this.lot(id);
    if (lot.status === "none") {
      const { lots } = await this.counts();
      throw new ProofmarkError(
        "LOT_NOT_FOUND",
        `lot ${id} does not exist on this registry (lots are numbered 1 to ${lots}); check the lot id`,
        { lot: id, lots },
      );
    }
    return lot;
  }

  async parents(id: number): Promise<number[]> {
    return (await this.contract.parentsOf(id)).map(Number);
  }

  /** The lot's hash-chain head as stored (one word). */
  async head(id: number, blockTag?: number): Promise<Hex> {
    return String(await this.contract.headOf(id, { blockTag: blockTag ?? "latest" })) as Hex;
  }

  async licence(product: number, producer: string, season: number): Promise<{ quota: bigint; harvested: bigint }> {
    const l = await this.contract.licenceOf(product, producer, season);
    return { quota: BigInt(l.quota), harvested: BigInt(l.harvested) };
  }

  /** The participant record of `account` for `product` as stored (undefined: none set). */
  async participant(product: number, account: string, blockTag?: number): Promise<ParticipantInput | undefined> {
    const p = await this.contract.participantOf(product, account, { blockTag: blockTag ?? "latest" });
    if (String(p.name) === "") return undefined;
    return {
      kind: PARTICIPANT_KINDS[Number(p.kind)],
      name: String(p.name),
      nameEn: String(p.nameEn),
      licence: String(p.licence),
      region: String(p.region),
    };
  }

  /** The AccessControl role id of a product role. */
  roleId(product: number, role: ProductRole | number): Hex {
    const code = typeof role === "number" ? role : roleCode(role);
    if (!Number.isInteger(code) || code < 0 || code >= PRODUCT_ROLES.length)
      throw new ProofmarkError("INVALID_ARGUMENT", `unknown role code ${code}; use 0–${PRODUCT_ROLES.length - 1}`, {
        role: code,
      });
    return `0x${(BigInt("0x" + Buffer.from("proofmark.product.role").toString("hex").padEnd(64, "0")) | (BigInt(product) << 8n) | BigInt(code)).toString(16).padStart(64, "0")}` as Hex;
  }

  async hasRole(product: number, role: ProductRole, account: string): Promise<boolean> {
    return Boolean(await this.contract.hasRole(this.roleId(product, role), account));
  }

  /** Whether `account` may record `step` on lots of `product` (it holds a fitting role, or is the product's admin). */
  async mayRecord(product: number, step: BizStep, account: string): Promise<boolean> {
    const mask = Number(await this.contract.stepRoles(BIZ_STEPS.indexOf(step))) | 1;
    for (const role of roleNames(mask)) if (await this.hasRole(product, role, account)) return true;
    return false;
  }

  /** The product's base unit (cached). */
  async unitOf(product: number): Promise<string> {
    const cached = this.units.get(product);
    if (cached) return cached;
    return (await this.product(product)).unit;
  }

  // ------------------------------------------------------------------ writes

  /** Registers a product (registrar only). */
  async createProduct(input: ProductInput): Promise<TxInfo & { product: number }> {
    const receipt = await this.send("creating the product", "createProduct", [
      {
        admin: input.admin,
        maxYieldBps: input.maxYieldBps,
        standard: input.standard,
        name: input.name,
        nameEn: input.nameEn,
        giNumber: input.giNumber,
        region: input.region,
        unit: input.unit,
      },
    ]);
    const log = this.findLog(receipt, "ProductCreated");
    return { ...txInfo(receipt), product: Number(log.args.product) };
  }

  /** Grants a product role (the product's admin only). */
  async grantRole(product: number, role: ProductRole, account: string): Promise<TxInfo> {
    await this.product(product);
    return txInfo(
      await this.send(
        `granting ${role} of product ${product} to ${accountLabel(account)}`,
        "grantRole",
        [this.roleId(product, role), account],
        { product },
      ),
    );
  }

  /** Revokes a product role (the product's admin only). */
  async revokeRole(product: number, role: ProductRole, account: string): Promise<TxInfo> {
    await this.product(product);
    return txInfo(
      await this.send(
        `revoking ${role} of product ${product} from ${accountLabel(account)}`,
        "revokeRole",
        [this.roleId(product, role), account],
        { product },
      ),
    );
  }

  /** Sets the participant record of `account` for `product` (the product's admin only). */
  async setParticipant(product: number, account: string, input: ParticipantInput): Promise<TxInfo> {
    return txInfo(
      await this.send(
        `registering ${accountLabel(account)} as a participant of product ${product}`,
        "setParticipant",
        [
          product,
          account,
          {
            kind: PARTICIPANT_KINDS.indexOf(input.kind),
            name: input.name,
            nameEn: input.nameEn,
            licence: input.licence,
            region: input.region,
          },
        ],
        { product },
      ),
    );
  }

  /** Sets a producer's quota for a season (the product's admin only). */
  async grantLicence(product: number, producer: string, season: number, quota: bigint): Promise<TxInfo> {
    return txInfo(
      await this.send(
        `licensing ${accountLabel(producer)} for season ${season}`,
        "grantLicence",
        [product, producer, season, quota],
        { product },
      ),
    );
  }

  /** Harvests a new lot against the signer's licence. `beforeSend` runs once the chain would accept it. */
  async harvest(
    product: number,
    season: number,
    quantity: bigint,
    record: RecordInput,
    beforeSend?: () => Promise<unknown>,
  ): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(
      "the harvest",
      "harvest",
      [product, season, quantity, record],
      { product },
      beforeSend,
    );
    return { ...txInfo(receipt), lot: Number(this.findLog(receipt, "LotHarvested").args.lot) };
  }

  /** Splits quantities off a lot into new lots. */
  async split(
    lot: number,
    quantities: bigint[],
    record: RecordInput,
    beforeSend?: () => Promise<unknown>,
  ): Promise<TxInfo & { lots: number[] }> {
    const receipt = await this.send(`splitting lot ${lot}`, "split", [lot, quantities, record], { lot }, beforeSend);
    return { ...txInfo(receipt), lots: this.derived(receipt) };
  }

  /** Merges whole lots into a new lot. */
  async merge(
    lots: number[],
    record: RecordInput,
    beforeSend?: () => Promise<unknown>,
  ): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(
      `merging lots ${lots.join(", ")}`,
      "merge",
      [lots, record],
      { lot: lots[0] },
      beforeSend,
    );
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Processes input lots into an output lot (output ≤ inputs × max yield). */
  async transform(
    lots: number[],
    amounts: bigint[],
    output: bigint,
    record: RecordInput,
    beforeSend?: () => Promise<unknown>,
  ): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(
      `transforming lots ${lots.join(", ")}`,
      "transform",
      [lots, amounts, output, record],
      { lot: lots[0] },
      beforeSend,
    );
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Packs `packages` × `size` from a lot into a new packed lot. */
  async pack(
    lot: number,
    packages: number,
    size: bigint,
    record: RecordInput,
    beforeSend?: () => Promise<unknown>,
  ): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(`packing lot ${lot}`, "pack", [lot, packages, size, record], { lot }, beforeSend);
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Appends one event to a lot's hash chain. */
  async recordEvent(input: EventInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo> {
    return txInfo(
      await this.send(
        `recording ${BIZ_STEPS[input.step] ?? input.step} on lot ${input.lot}`,
        "recordEvent",
        [input],
        { lot: input.lot },
        beforeSend,
      ),
    );
  }

  /** Appends many events in one transaction (all or nothing). */
  async recordEvents(inputs: EventInput[], beforeSend?: () => Promise<unknown>): Promise<TxInfo> {
    return txInfo(
      await this.send(
        `recording ${inputs.length} events`,
        "recordEvents",
        [inputs],
        { lot: inputs[0]?.lot },
        beforeSend,
      ),
    );
  }

  /** Gas `recordEvents(inputs)` would use now; reverts are decoded (nothing is sent). */
  async estimateRecordEvents(inputs: EventInput[]): Promise<bigint> {
    try {
      return await this.contract.recordEvents.estimateGas(inputs);
    } catch (e) {
      throw await this.explain(e, `recording ${inputs.length} events`, { lot: inputs[0]?.lot });
    }
  }

  /** Sends `recordEvents(inputs)` without waiting (for pipelining many batches); wait with {@link waitFor}. */
  async sendRecordEvents(inputs: EventInput[], gasLimit?: bigint): Promise<TransactionResponse> {
    try {
      return await this.contract.recordEvents(inputs, gasLimit ? { gasLimit } : {});
    } catch (e) {
      throw await this.explain(e, `recording ${inputs.length} events`, { lot: inputs[0]?.lot });
    }
  }

  /** Waits for a sent transaction; TX_FAILED if it reverted. */
  async waitFor(tx: TransactionResponse, what: string): Promise<TxInfo> {
    let receipt: TransactionReceipt | null;
    try {
      receipt = await minedReceipt(tx);
    } catch (e) {
      throw await this.explain(e, what);
    }
    if (!receipt || receipt.status !== 1)
      throw new ProofmarkError("TX_FAILED", `${what}: transaction ${tx.hash} failed`, { txHash: tx.hash });
    return txInfo(receipt);
  }

  /** Recalls a lot (the product's admin or an inspector). */
  async recall(lot: number, reason: string, record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo> {
    return txInfo(await this.send(`recalling lot ${lot}`, "recall", [lot, reason, record], { lot }, beforeSend));
  }

  /**
   * Issues `count` scan codes for a packed lot and anchors the commitment to their serial set;
   * the chain refuses more codes than the lot has packages. Returns the lot's issued total.
   */
  async issueCodes(
    lot: number,
    count: number,
    serialSetCommitment: Hex,
  ): Promise<TxInfo & { issuedTotal: number; timestamp: number }> {
    const receipt = await this.send(
      `issuing ${count} code(s) for lot ${lot}`,
      "issueCodes",
      [lot, count, serialSetCommitment],
      { lot },
    );
    const log = this.findLog(receipt, "CodesIssued");
    const block = await receipt.getBlock();
    return { ...txInfo(receipt), issuedTotal: Number(log!.args.issuedTotal), timestamp: block.timestamp };
  }

  // ------------------------------------------------------------------ logs

  /** Rebuilds the registry's whole state from its logs (see {@link replayProvenanceLogs}). */
  async readState(opts: { fromBlock?: number; toBlock?: number } = {}): Promise<ProvenanceState> {
    return replayProvenanceLogs(this.provider, this.address, opts);
  }

  // ------------------------------------------------------------------ internals

  /**
   * Simulates `method(args)` first (a refusal is decoded and nothing is sent), then runs
   * `beforeSend` (e.g. keeping the event documents), then sends and waits for the receipt.
   */
  private async send(
    what: string,
    method: string,
    args: unknown[],
    ctx: { product?: number; lot?: number } = {},
    beforeSend?: () => Promise<unknown>,
  ): Promise<TransactionReceipt> {
    const fn = this.contract.getFunction(method);
    let tx: TransactionResponse;
    try {
      await fn.staticCall(...args);
    } catch (e) {
      throw await this.explain(e, what, ctx);
    }
    await beforeSend?.();
    try {
      tx = await fn.send(...args);
    } catch (e) {
      throw await this.explain(e, what, ctx);
    }
    let receipt: TransactionReceipt | null;
    try {
      receipt = await minedReceipt(tx);
    } catch (e) {
      throw await this.explain(e, what, ctx);
    }
    if (!receipt || receipt.status !== 1)
      throw new ProofmarkError("TX_FAILED", `${what}: transaction ${tx.hash} failed`, { txHash: tx.hash });
    return receipt;
  }

  private findLog(receipt: TransactionReceipt, name: string) {
    for (const log of receipt.logs) {
      if (log.address.toLowerCase() !== this.address.toLowerCase()) continue;
      const parsed = provenanceRegistryInterface.parseLog(log);
      if (parsed?.name === name) return parsed;
    }
    throw new ProofmarkError("TX_FAILED", `transaction ${receipt.hash} has no ${name} log`, { txHash: receipt.hash });
  }

  private derived(receipt: TransactionReceipt): number[] {
    return receipt.logs
      .filter((l) => l.address.toLowerCase() === this.address.toLowerCase())
      .map((l) => provenanceRegistryInterface.parseLog(l))
      .filter((p) => p?.name === "LotDerived")
      .map((p) => Number(p!.args.lot));
  }

  /** Turns a failed call into a ProofmarkError naming the numbers involved (see {@link explainProvenanceRevert}). */
  async explain(e: unknown, what: string, ctx: { product?: number; lot?: number } = {}): Promise<ProofmarkError> {
    return explainProvenanceRevert(e, what, ctx, this);
  }
}

function txInfo(receipt: TransactionReceipt): TxInfo {
  return { txHash: receipt.hash as Hex, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}
