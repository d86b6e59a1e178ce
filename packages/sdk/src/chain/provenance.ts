import {
  AbiCoder, Contract, Interface, keccak256, ZeroHash,
  type ContractRunner, type Log, type Provider, type TransactionReceipt, type TransactionResponse,
} from "ethers";
import { ProofmarkError, type ErrorCode } from "../core/errors";
import { BIZ_STEPS, DISPOSITIONS, PRODUCT_ROLES, type BizStep, type Disposition, type ProductRole } from "../core/epcis";
import type { Hex } from "../core/hex";
import { UNITS, unitInfo } from "../core/quantity";
import { devAccountName } from "./accounts";
import { ProvenanceRegistryArtifact } from "./artifacts.generated";
import { describeTxError } from "./evidence";

/**
 * Typed client of a ProvenanceRegistry (GI products, roles, licences, mass-balanced lots,
 * hash-chained events), and a log indexer that rebuilds the registry's whole state from its logs.
 * Reverts are decoded into ProofmarkErrors whose message names the numbers involved.
 */

export const provenanceRegistryInterface = new Interface(ProvenanceRegistryArtifact.abi);

/** `LotStatus` of the contract, by code. */
export const LOT_STATUSES = ["none", "active", "consumed", "recalled"] as const;
export type LotStatus = (typeof LOT_STATUSES)[number];
/** `LotOrigin` of the contract, by code. */
export const LOT_ORIGINS = ["harvest", "split", "merge", "transform", "pack"] as const;
export type LotOrigin = (typeof LOT_ORIGINS)[number];

/** A registered GI product. */
export interface ProductInfo {
  id: number;
  maxYieldBps: number;
  standard: Hex;
  name: string;
  nameEn: string;
  giNumber: string;
  region: string;
  unit: string;
}

/** Arguments of {@link ProvenanceRegistryClient.createProduct}. */
export type ProductInput = Omit<ProductInfo, "id"> & { admin: string };

/** A lot as stored on chain. */
export interface LotInfo {
  id: number;
  product: number;
  status: LotStatus;
  origin: LotOrigin;
  quantity: bigint;
  remaining: bigint;
  packages: number;
  issuedCodes: number;
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

const coder = AbiCoder.defaultAbiCoder();

/** keccak256(abi.encode(lot, actor, step, disposition, eventTime, location, document)): an event's digest in the hash chain. */
export function chainEventDigest(e: { lot: number | bigint; actor: string; step: number; disposition: number; eventTime: number | bigint; location: string; document: string }): Hex {
  return keccak256(coder.encode(
    ["uint64", "address", "uint8", "uint8", "uint40", "bytes32", "bytes32"],
    [e.lot, e.actor, e.step, e.disposition, e.eventTime, e.location, e.document],
  )) as Hex;
}

/** The next hash-chain head: keccak256(abi.encode(head, eventDigest)). The head of a lot without events is 0. */
export function nextChainHead(head: string, eventDigest: string): Hex {
  return keccak256(coder.encode(["bytes32", "bytes32"], [head, eventDigest])) as Hex;
}

/** Bit mask of roles (bit i = role i) as role names. */
export function roleNames(mask: number): ProductRole[] {
  return PRODUCT_ROLES.filter((_r, i) => (mask & (1 << i)) !== 0);
}

/** An account for people: "farmer1 (0xabc…)" for dev accounts, else the address. */
export function accountLabel(address: string): string {
  const name = devAccountName(address);
  return name ? `${name} (${address})` : address;
}

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
      id, maxYieldBps: Number(p.maxYieldBps), standard: String(p.standard) as Hex, name: String(p.name), nameEn: String(p.nameEn),
      giNumber: String(p.giNumber), region: String(p.region), unit: String(p.unit),
    };
    this.units.set(id, info.unit);
    return info;
  }

  /** A lot; status "none" when it does not exist. */
  async lot(id: number, blockTag?: number): Promise<LotInfo> {
    const l = await this.contract.lotOf(id, { blockTag: blockTag ?? "latest" });
    return {
      id, product: Number(l.product), status: LOT_STATUSES[Number(l.status)], origin: LOT_ORIGINS[Number(l.origin)],
      quantity: BigInt(l.quantity), remaining: BigInt(l.remaining), packages: Number(l.packages), issuedCodes: Number(l.issuedCodes),
    };
  }

  /** A lot that must exist: LOT_NOT_FOUND otherwise. */
  async existingLot(id: number): Promise<LotInfo> {
    const lot = await this.lot(id);
    if (lot.status === "none") {
      const { lots } = await this.counts();
      throw new ProofmarkError("LOT_NOT_FOUND", `lot ${id} does not exist on this registry (lots are numbered 1 to ${lots}); check the lot id`, { lot: id, lots });
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

  /** The AccessControl role id of a product role. */
  roleId(product: number, role: ProductRole | number): Hex {
    const code = typeof role === "number" ? role : PRODUCT_ROLES.indexOf(role);
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
    const receipt = await this.send("creating the product", "createProduct", [{
      admin: input.admin, maxYieldBps: input.maxYieldBps, standard: input.standard, name: input.name, nameEn: input.nameEn,
      giNumber: input.giNumber, region: input.region, unit: input.unit,
    }]);
    const log = this.findLog(receipt, "ProductCreated");
    return { ...txInfo(receipt), product: Number(log.args.product) };
  }

  /** Grants a product role (the product's admin only). */
  async grantRole(product: number, role: ProductRole, account: string): Promise<TxInfo> {
    await this.product(product);
    return txInfo(await this.send(`granting ${role} of product ${product} to ${accountLabel(account)}`, "grantRole", [this.roleId(product, role), account], { product }));
  }

  /** Revokes a product role (the product's admin only). */
  async revokeRole(product: number, role: ProductRole, account: string): Promise<TxInfo> {
    await this.product(product);
    return txInfo(await this.send(`revoking ${role} of product ${product} from ${accountLabel(account)}`, "revokeRole", [this.roleId(product, role), account], { product }));
  }

  /** Sets a producer's quota for a season (the product's admin only). */
  async grantLicence(product: number, producer: string, season: number, quota: bigint): Promise<TxInfo> {
    return txInfo(await this.send(`licensing ${accountLabel(producer)} for season ${season}`, "grantLicence", [product, producer, season, quota], { product }));
  }

  /** Harvests a new lot against the signer's licence. `beforeSend` runs once the chain would accept it. */
  async harvest(product: number, season: number, quantity: bigint, record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send("the harvest", "harvest", [product, season, quantity, record], { product }, beforeSend);
    return { ...txInfo(receipt), lot: Number(this.findLog(receipt, "LotHarvested").args.lot) };
  }

  /** Splits quantities off a lot into new lots. */
  async split(lot: number, quantities: bigint[], record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo & { lots: number[] }> {
    const receipt = await this.send(`splitting lot ${lot}`, "split", [lot, quantities, record], { lot }, beforeSend);
    return { ...txInfo(receipt), lots: this.derived(receipt) };
  }

  /** Merges whole lots into a new lot. */
  async merge(lots: number[], record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(`merging lots ${lots.join(", ")}`, "merge", [lots, record], { lot: lots[0] }, beforeSend);
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Processes input lots into an output lot (output ≤ inputs × max yield). */
  async transform(lots: number[], amounts: bigint[], output: bigint, record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(`transforming lots ${lots.join(", ")}`, "transform", [lots, amounts, output, record], { lot: lots[0] }, beforeSend);
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Packs `packages` × `size` from a lot into a new packed lot. */
  async pack(lot: number, packages: number, size: bigint, record: RecordInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo & { lot: number }> {
    const receipt = await this.send(`packing lot ${lot}`, "pack", [lot, packages, size, record], { lot }, beforeSend);
    return { ...txInfo(receipt), lot: this.derived(receipt)[0] };
  }

  /** Appends one event to a lot's hash chain. */
  async recordEvent(input: EventInput, beforeSend?: () => Promise<unknown>): Promise<TxInfo> {
    return txInfo(await this.send(`recording ${BIZ_STEPS[input.step] ?? input.step} on lot ${input.lot}`, "recordEvent", [input], { lot: input.lot }, beforeSend));
  }

  /** Appends many events in one transaction (all or nothing). */
  async recordEvents(inputs: EventInput[], beforeSend?: () => Promise<unknown>): Promise<TxInfo> {
    return txInfo(await this.send(`recording ${inputs.length} events`, "recordEvents", [inputs], { lot: inputs[0]?.lot }, beforeSend));
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
      receipt = await tx.wait();
    } catch (e) {
      throw await this.explain(e, what);
    }
    if (!receipt || receipt.status !== 1) throw new ProofmarkError("TX_FAILED", `${what}: transaction ${tx.hash} failed`, { txHash: tx.hash });
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
  async issueCodes(lot: number, count: number, serialSetCommitment: Hex): Promise<TxInfo & { issuedTotal: number; timestamp: number }> {
    const receipt = await this.send(`issuing ${count} code(s) for lot ${lot}`, "issueCodes", [lot, count, serialSetCommitment], { lot });
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
  private async send(what: string, method: string, args: unknown[], ctx: { product?: number; lot?: number } = {}, beforeSend?: () => Promise<unknown>): Promise<TransactionReceipt> {
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
      receipt = await tx.wait();
    } catch (e) {
      throw await this.explain(e, what, ctx);
    }
    if (!receipt || receipt.status !== 1) throw new ProofmarkError("TX_FAILED", `${what}: transaction ${tx.hash} failed`, { txHash: tx.hash });
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

  /**
   * Turns a failed call into a ProofmarkError naming the numbers involved, in the product's unit
   * (reads the chain for the unit and the quota when it can; never fails itself).
   */
  async explain(e: unknown, what: string, ctx: { product?: number; lot?: number } = {}): Promise<ProofmarkError> {
    const revert = decodeRevert(e);
    if (!revert) return describeTxError(e, what);
    const unitFor = async (product?: number, lot?: number): Promise<string | undefined> => {
      try {
        const p = product ?? (lot !== undefined ? (await this.lot(lot)).product : undefined);
        return p ? await this.unitOf(p) : undefined;
      } catch {
        return undefined;
      }
    };
    const a = revert.args;
    // All quantities of one message in one unit (the largest in which each is whole): "1,500 kg … 1,200 kg".
    let group: bigint[] = [];
    const q = (amount: unknown, unit?: string) => (unit ? formatTogether(BigInt(amount as bigint), group, unit) : String(amount));
    const fail = (code: ErrorCode, message: string, details: Record<string, unknown>) =>
      new ProofmarkError(code, `${what} was refused: ${message}; nothing was changed`, { reason: revert.name, ...details }, { cause: e });
    switch (revert.name) {
      case "ProvenanceQuotaExceeded": {
        const [product, producer, season, requested, available] = a as [bigint, string, bigint, bigint, bigint];
        const unit = await unitFor(Number(product));
        let quota: bigint | undefined;
        try {
          quota = (await this.licence(Number(product), producer, Number(season))).quota;
        } catch { /* best effort */ }
        group = [requested, available, ...(quota !== undefined ? [quota] : [])];
        return fail("QUOTA_EXCEEDED",
          `${accountLabel(producer)} asked to harvest ${q(requested, unit)} but only ${q(available, unit)} of the ${season} quota` +
          `${quota !== undefined ? ` of ${q(quota, unit)}` : ""} is left for product ${product}`,
          { product: Number(product), producer, season: Number(season), requested: String(requested), available: String(available), quota: quota?.toString() });
      }
      case "ProvenanceQuotaBelowHarvested": {
        const [product, producer, season, quota, harvested] = a as [bigint, string, bigint, bigint, bigint];
        const unit = await unitFor(Number(product));
        group = [quota, harvested];
        return fail("QUOTA_EXCEEDED", `${accountLabel(producer)} already harvested ${q(harvested, unit)} in ${season}, more than the new quota of ${q(quota, unit)}`,
          { product: Number(product), producer, season: Number(season), quota: String(quota), harvested: String(harvested) });
      }
      case "ProvenanceInsufficientQuantity": {
        const [lot, requested, remaining] = a as [bigint, bigint, bigint];
        const unit = await unitFor(undefined, Number(lot));
        group = [remaining, requested];
        return fail("QUANTITY_EXCEEDED", `lot ${lot} has ${q(remaining, unit)} left, less than the ${q(requested, unit)} requested`,
          { lot: Number(lot), requested: String(requested), remaining: String(remaining) });
      }
      case "ProvenanceYieldExceeded": {
        const [output, input, bps] = a as [bigint, bigint, bigint];
        const unit = await unitFor(ctx.product, ctx.lot);
        const max = (BigInt(input) * BigInt(bps)) / 10_000n;
        group = [output, input, max];
        return fail("YIELD_EXCEEDED", `an output of ${q(output, unit)} from ${q(input, unit)} of input exceeds the product's maximum yield of ${Number(bps) / 100} % (at most ${q(max, unit)})`,
          { output: String(output), input: String(input), maxYieldBps: Number(bps) });
      }
      case "ProvenanceRoleMissing": {
        const [product, account, roles] = a as [bigint, string, bigint];
        const names = roleNames(Number(roles));
        return fail("ROLE_MISSING", `${accountLabel(account)} holds none of the roles ${names.join(" / ")} of product ${product}; ` +
          `the product's admin can grant one (\`proofmark gi role grant ${product} ${names.find((n) => n !== "admin") ?? "admin"} <account>\`)`,
          { product: Number(product), account, roles: names });
      }
      case "AccessControlUnauthorizedAccount": {
        const [account, role] = a as [string, string];
        const id = BigInt(role);
        const tag = BigInt("0x" + Buffer.from("proofmark.product.role").toString("hex").padEnd(64, "0"));
        const isProduct = (id & ~0xffffffffffn) === tag;
        const label = isProduct ? `${PRODUCT_ROLES[Number(id & 0xffn)]} of product ${(id >> 8n) & 0xffffffffn}` : role === ZeroHash ? "the registry admin" : "registrar";
        const needs = isProduct ? `admin of product ${(id >> 8n) & 0xffffffffn}` : label;
        return fail("ROLE_MISSING", `${accountLabel(account)} lacks the role ${needs}`, { account, role, needs: label });
      }
      case "ProvenanceLotUnknown": {
        const [lot] = a as [bigint];
        let lots: number | undefined;
        try {
          lots = (await this.counts()).lots;
        } catch { /* best effort */ }
        return fail("LOT_NOT_FOUND", `lot ${lot} does not exist${lots !== undefined ? ` (lots are numbered 1 to ${lots})` : ""}`, { lot: Number(lot), lots });
      }
      case "ProvenanceLotNotActive": {
        const [lot, status] = a as [bigint, bigint];
        if (Number(status) === 3) return fail("LOT_RECALLED", `lot ${lot} was recalled and accepts no event or operation`, { lot: Number(lot), status: "recalled" });
        return fail("LOT_NOT_ACTIVE", `lot ${lot} is ${LOT_STATUSES[Number(status)]}: all of its quantity went into other lots`, { lot: Number(lot), status: LOT_STATUSES[Number(status)] });
      }
      case "ProvenanceLotAlreadyRecalled":
        return fail("LOT_RECALLED", `lot ${a[0]} was already recalled`, { lot: Number(a[0]) });
      case "ProvenanceProductUnknown": {
        let products: number | undefined;
        try {
          products = (await this.counts()).products;
        } catch { /* best effort */ }
        return fail("PRODUCT_NOT_FOUND", `product ${a[0]} does not exist${products !== undefined ? ` (products are numbered 1 to ${products})` : ""}`, { product: Number(a[0]), products });
      }
      case "ProvenanceLicenceMissing": {
        const [product, producer, season] = a as [bigint, string, bigint];
        return fail("LICENCE_MISSING", `${accountLabel(producer)} has no licence for product ${product} in season ${season}; ` +
          `the product's admin grants one with \`proofmark gi licence grant ${product} <account> --quota … --season ${season}\``,
          { product: Number(product), producer, season: Number(season) });
      }
      case "ProvenanceLotPacked":
        return fail("LOT_NOT_ACTIVE", `lot ${a[0]} is a packed lot; packed lots cannot be split, merged, transformed or packed again`, { lot: Number(a[0]) });
      case "ProvenanceProductMismatch":
        return fail("INVALID_ARGUMENT", `lot ${a[0]} is of product ${a[2]}, not product ${a[1]}; only lots of one product can be merged or transformed together`, { lot: Number(a[0]) });
      case "ProvenanceQuantityZero":
        return fail("INVALID_ARGUMENT", "a quantity, package count or package size is zero", {});
      case "ProvenanceInvalidYield":
        return fail("INVALID_ARGUMENT", `a maximum yield of ${Number(a[0]) / 100} % is not within 0.01 %–100 %`, {});
      case "ProvenanceTooFewItems":
        return fail("INVALID_ARGUMENT", `${a[0]} lot(s) given, at least ${a[1]} needed`, {});
      case "ProvenanceCodesExceeded":
        return fail("QUANTITY_EXCEEDED", `lot ${a[0]} has only ${a[2]} packages without a code, not ${a[1]}`, { lot: Number(a[0]) });
      default:
        return fail("TX_FAILED", `${revert.name}(${a.map(String).join(", ")})`, {});
    }
  }
}

/** The decoded custom error of a failed call, if any. */
export function decodeRevert(e: unknown): { name: string; args: unknown[] } | undefined {
  const err = e as { code?: string; revert?: { name: string; args: unknown[] }; data?: string; info?: { error?: { data?: string } } };
  if (err?.revert) return { name: err.revert.name, args: [...err.revert.args] };
  const data = err?.data ?? err?.info?.error?.data;
  if (typeof data === "string" && data.length >= 10) {
    try {
      const parsed = provenanceRegistryInterface.parseError(data);
      if (parsed) return { name: parsed.name, args: [...parsed.args] };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** `amount` in the largest unit in which every one of `all` is a whole number, e.g. "48,800 kg". */
function formatTogether(amount: bigint, all: bigint[], baseUnit: string): string {
  const base = unitInfo(baseUnit);
  const units = Object.values(UNITS).filter((u) => u.dimension === base.dimension && u.factor >= base.factor).sort((x, y) => (x.factor > y.factor ? -1 : 1));
  const unit = units.find((u) => [amount, ...all].every((v) => (v * base.factor) % u.factor === 0n)) ?? base;
  return `${((amount * base.factor) / unit.factor).toLocaleString("en-US")} ${unit.symbol}`;
}

function txInfo(receipt: TransactionReceipt): TxInfo {
  return { txHash: receipt.hash as Hex, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

// ---------------------------------------------------------------------- log indexer

/** One `LotEventRecorded` log. */
export interface ChainEvent {
  lot: number;
  actor: string;
  step: BizStep;
  disposition: Disposition;
  stepCode: number;
  dispositionCode: number;
  eventTime: number;
  location: Hex;
  document: Hex;
  blockNumber: number;
  txHash: Hex;
  logIndex: number;
}

/** A lot as rebuilt from logs. */
export interface IndexedLot extends LotInfo {
  parents: number[];
  /** Quantity taken from each parent (same order). */
  amounts: bigint[];
  /** Lots made from this one, with the quantity each took. */
  children: { lot: number; amount: bigint }[];
  /** The hash-chain head recomputed from the lot's event logs. */
  head: Hex;
  /** Who made it (the producer for a harvest). */
  actor: string;
  /** The licence season charged (harvests only). */
  season?: number;
  createdAt: { blockNumber: number; txHash: Hex };
  recall?: { actor: string; reason: string; blockNumber: number; txHash: Hex };
}

/** A licence as rebuilt from logs. */
export interface IndexedLicence {
  product: number;
  producer: string;
  season: number;
  quota: bigint;
  harvested: bigint;
}

/** The registry's state rebuilt from its logs alone. */
export interface ProvenanceState {
  products: Map<number, ProductInfo & { admin: string; registrar: string }>;
  /** `${product}/${role}` → accounts (lower case). */
  roles: Map<string, Set<string>>;
  /** `${product}/${producer lower case}/${season}` → licence. */
  licences: Map<string, IndexedLicence>;
  lots: Map<number, IndexedLot>;
  /** Events per lot, in chain order. */
  events: Map<number, ChainEvent[]>;
  /** The last block read. */
  toBlock: number;
}

/** Key of {@link ProvenanceState.licences}. */
export function licenceKey(product: number, producer: string, season: number): string {
  return `${product}/${producer.toLowerCase()}/${season}`;
}

/** Blocks per `eth_getLogs` request. */
const LOG_RANGE = 5_000;

/**
 * Rebuilds a ProvenanceRegistry's complete state from its logs only (what an indexer or an
 * independent auditor does): products, roles, licences, lots with parents, children and remaining
 * quantities, recalls, issued codes, and each lot's events with the hash-chain head recomputed.
 * Reads up to `toBlock` (default: the current block), so that it can be compared with storage at that block.
 *
 * @example
 * const state = await replayProvenanceLogs(provider, registryAddress);
 * state.lots.get(7)?.head === await registry.head(7, state.toBlock)
 */
export async function replayProvenanceLogs(provider: Provider, address: string, opts: { fromBlock?: number; toBlock?: number } = {}): Promise<ProvenanceState> {
  const toBlock = opts.toBlock ?? (await provider.getBlockNumber());
  const logs: Log[] = [];
  for (let from = opts.fromBlock ?? 0; from <= toBlock; from += LOG_RANGE) {
    logs.push(...(await provider.getLogs({ address, fromBlock: from, toBlock: Math.min(toBlock, from + LOG_RANGE - 1) })));
  }
  return applyProvenanceLogs(logs, toBlock);
}

/** Applies ProvenanceRegistry logs (in chain order) to a fresh state. Pure. */
export function applyProvenanceLogs(logs: readonly Log[], toBlock: number): ProvenanceState {
  const state: ProvenanceState = { products: new Map(), roles: new Map(), licences: new Map(), lots: new Map(), events: new Map(), toBlock };
  const lotOf = (id: number): IndexedLot => {
    const l = state.lots.get(id);
    if (!l) throw new ProofmarkError("TX_FAILED", `a log names lot ${id} before it was created: the logs are incomplete`, { lot: id });
    return l;
  };
  const newLot = (log: Log, init: Pick<IndexedLot, "id" | "product" | "origin" | "quantity" | "packages" | "parents" | "amounts" | "actor" | "season">): void => {
    state.lots.set(init.id, {
      ...init, status: "active", remaining: init.quantity, issuedCodes: 0, children: [], head: ZeroHash as Hex,
      createdAt: { blockNumber: log.blockNumber, txHash: log.transactionHash as Hex },
    });
    state.events.set(init.id, []);
  };
  for (const log of logs) {
    let parsed;
    try {
      parsed = provenanceRegistryInterface.parseLog(log);
    } catch {
      continue;
    }
    if (!parsed) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "ProductCreated": {
        const i = a.info;
        state.products.set(Number(a.product), {
          id: Number(a.product), maxYieldBps: Number(i.maxYieldBps), standard: String(i.standard) as Hex, name: String(i.name), nameEn: String(i.nameEn),
          giNumber: String(i.giNumber), region: String(i.region), unit: String(i.unit), admin: String(a.admin), registrar: String(a.registrar),
        });
        break;
      }
      case "ProductRoleGranted": {
        const key = `${a.product}/${a.role}`;
        if (!state.roles.has(key)) state.roles.set(key, new Set());
        state.roles.get(key)!.add(String(a.account).toLowerCase());
        break;
      }
      case "ProductRoleRevoked":
        state.roles.get(`${a.product}/${a.role}`)?.delete(String(a.account).toLowerCase());
        break;
      case "LicenceGranted": {
        const key = licenceKey(Number(a.product), String(a.producer), Number(a.season));
        const prev = state.licences.get(key);
        state.licences.set(key, { product: Number(a.product), producer: String(a.producer), season: Number(a.season), quota: BigInt(a.quota), harvested: prev?.harvested ?? 0n });
        break;
      }
      case "LotHarvested": {
        const key = licenceKey(Number(a.product), String(a.producer), Number(a.season));
        const licence = state.licences.get(key);
        if (licence) licence.harvested += BigInt(a.quantity);
        newLot(log, {
          id: Number(a.lot), product: Number(a.product), origin: "harvest", quantity: BigInt(a.quantity), packages: 0, parents: [], amounts: [],
          actor: String(a.producer), season: Number(a.season),
        });
        break;
      }
      case "LotDerived": {
        const id = Number(a.lot);
        const parents = [...a.parents].map(Number);
        const amounts = [...a.amounts].map((x: bigint) => BigInt(x));
        parents.forEach((p, i) => {
          const parent = lotOf(p);
          parent.remaining -= amounts[i];
          parent.children.push({ lot: id, amount: amounts[i] });
          if (parent.remaining === 0n && parent.status === "active") parent.status = "consumed";
        });
        newLot(log, {
          id, product: Number(a.product), origin: LOT_ORIGINS[Number(a.origin)], quantity: BigInt(a.quantity), packages: Number(a.packages),
          parents, amounts, actor: String(a.actor), season: undefined,
        });
        break;
      }
      case "LotEventRecorded": {
        const id = Number(a.lot);
        const lot = lotOf(id);
        const ev: ChainEvent = {
          lot: id, actor: String(a.actor), stepCode: Number(a.step), dispositionCode: Number(a.disposition),
          step: BIZ_STEPS[Number(a.step)], disposition: DISPOSITIONS[Number(a.disposition)], eventTime: Number(a.eventTime),
          location: String(a.location) as Hex, document: String(a.document) as Hex,
          blockNumber: log.blockNumber, txHash: log.transactionHash as Hex, logIndex: log.index,
        };
        lot.head = nextChainHead(lot.head, chainEventDigest({ ...ev, step: ev.stepCode, disposition: ev.dispositionCode }));
        state.events.get(id)!.push(ev);
        break;
      }
      case "LotRecalled": {
        const lot = lotOf(Number(a.lot));
        lot.status = "recalled";
        lot.recall = { actor: String(a.actor), reason: String(a.reason), blockNumber: log.blockNumber, txHash: log.transactionHash as Hex };
        break;
      }
      case "CodesIssued":
        lotOf(Number(a.lot)).issuedCodes = Number(a.issuedTotal);
        break;
      default:
        break; // AccessControl's own RoleGranted / RoleRevoked: global roles
    }
  }
  return state;
}
