import { Interface, type EventFragment, type Log, type Provider } from "ethers";
import { ProofmarkError } from "../core/errors";
import { BIZ_STEPS, DISPOSITIONS, type BizStep, type Disposition } from "../core/epcis";
import { advanceChainHead, chainEventDigest, chainEventDigestOfLog, EMPTY_CHAIN_HEAD } from "../core/hash-chain";
import { fromHex, hexDigitsValue, toHex } from "../core/hex";
import type { Hex } from "../core/hex";
import { ProvenanceRegistryArtifact } from "./artifacts.generated";
import { decodeCanonicalLog, wordAddress } from "./log-words";

/**
 * The ProvenanceRegistry's state rebuilt from its logs alone (what an indexer or an independent
 * auditor does): one reducer, {@link applyProvenanceLogs}, used by `gi trace` (from a fresh state)
 * and by the portal's indexer (incrementally, on the state it persisted).
 */

/** The fields of a log the reducer reads (an ethers `Log`, or a log read straight from JSON-RPC). */
type ReducedLog = Pick<Log, "topics" | "data" | "blockNumber" | "transactionHash" | "index">;

export const provenanceRegistryInterface = new Interface(ProvenanceRegistryArtifact.abi);

/** The registry's events by topic hash (ethers' `parseLog` recomputes every event's topic hash for every log). */
const EVENTS_BY_TOPIC = new Map<string, EventFragment>();
provenanceRegistryInterface.forEachEvent((f) => EVENTS_BY_TOPIC.set(f.topicHash, f));
const LOT_EVENT_TOPIC = provenanceRegistryInterface.getEvent("LotEventRecorded")!.topicHash;
const LOT_HARVESTED_TOPIC = provenanceRegistryInterface.getEvent("LotHarvested")!.topicHash;
const UINT64_MASK = 0xffffffffffffffffn;
const HEX_DATA = /^0x[0-9a-fA-F]*$/;

/** A topic word holding an address, checksummed (cached: actors repeat), or undefined when its high bytes are not zero. */
function topicAddress(word: string): string | undefined {
  return word.length === 66 ? wordAddress(word, 2) : undefined;
}

/**
 * Decodes one ProvenanceRegistry log: its event's name and arguments (by name), or undefined when
 * it is not one of the registry's events or does not decode. `LotEventRecorded`, most of a
 * registry's logs, and `LotHarvested`, one per harvest, are read straight from their fixed layouts
 * (indexed topics, then words), with the ABI decoder's masking of small integers and its types
 * (bigint for every integer); every other event in the canonical ABI layout is read from its words
 * too ({@link decodeCanonicalLog}: tuples as objects by name, arrays as arrays); anything else goes
 * through the ABI decoder.
 */
export function decodeProvenanceLog(
  log: Pick<Log, "topics" | "data">,
): { name: string; args: Record<string, unknown> } | undefined {
  const topic = log.topics[0];
  if (topic === LOT_EVENT_TOPIC && log.topics.length === 3 && log.data.length === 2 + 64 * 5) {
    const actor = topicAddress(log.topics[2]);
    if (actor !== undefined) {
      const d = log.data;
      const word = (i: number) => d.slice(2 + 64 * i, 66 + 64 * i);
      const lot = BigInt(log.topics[1]) & UINT64_MASK;
      const step = Number(BigInt(`0x${word(0)}`) & 0xffn);
      const disposition = Number(BigInt(`0x${word(1)}`) & 0xffn);
      const eventTime = BigInt(`0x${word(2)}`) & 0xffffffffffn;
      const location = `0x${word(3)}`;
      const document = `0x${word(4)}`;
      return { name: "LotEventRecorded", args: { lot, actor, step, disposition, eventTime, location, document } };
    }
  }
  if (topic === LOT_HARVESTED_TOPIC && log.topics.length === 4 && log.data.length === 2 + 64 * 2) {
    const producer = topicAddress(log.topics[3]);
    if (producer !== undefined && HEX_DATA.test(log.data)) {
      const d = log.data;
      const lot = BigInt(log.topics[1]) & UINT64_MASK;
      const product = BigInt(log.topics[2]) & 0xffffffffn;
      const season = BigInt(`0x${d.slice(2, 66)}`) & 0xffffn;
      const quantity = BigInt(`0x${d.slice(66, 130)}`) & UINT64_MASK;
      return { name: "LotHarvested", args: { lot, product, producer, season, quantity } };
    }
  }
  const fragment = topic === undefined ? undefined : EVENTS_BY_TOPIC.get(topic);
  if (!fragment) return undefined;
  const canonical = decodeCanonicalLog(fragment, log);
  if (canonical) return { name: fragment.name, args: canonical };
  try {
    const args = provenanceRegistryInterface.decodeEventLog(fragment, log.data, log.topics);
    args.toArray(true); // ethers defers decoding errors (nested ones too) to the first read: surface them here
    return { name: fragment.name, args: args as unknown as Record<string, unknown> };
  } catch {
    return undefined;
  }
}

/** `LotStatus` of the contract, by code. */
export const LOT_STATUSES = ["none", "active", "consumed", "recalled"] as const;
export type LotStatus = (typeof LOT_STATUSES)[number];
/** `LotOrigin` of the contract, by code. */
export const LOT_ORIGINS = ["harvest", "split", "merge", "transform", "pack"] as const;
export type LotOrigin = (typeof LOT_ORIGINS)[number];

/** Participant kinds of the contract, by code (`Participant.kind`). */
export const PARTICIPANT_KINDS = ["farm", "inspector", "packer", "carrier", "retailer"] as const;
export type ParticipantKind = (typeof PARTICIPANT_KINDS)[number];
/** Longest participant display name (either language), in bytes of UTF-8 (the contract's PARTICIPANT_NAME_MAX). */
export const PARTICIPANT_NAME_MAX = 128;
/** Longest participant licence number or region, in bytes of UTF-8 (the contract's PARTICIPANT_FIELD_MAX). */
export const PARTICIPANT_FIELD_MAX = 64;

/**
 * What a product's admin registered about an account (`ParticipantSet`). Every text is untrusted:
 * escape it wherever it is shown.
 */
export interface ParticipantInfo {
  product: number;
  account: string;
  kind: ParticipantKind;
  name: string;
  nameEn: string;
  licence: string;
  region: string;
  setAt?: { blockNumber: number; txHash: Hex };
}

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

/** The fields of one `LotEventRecorded` log, as the chain (or an index of it) holds them: codes, not names. */
export interface RecordedEventFields {
  lot: number;
  actor: string;
  step: number;
  disposition: number;
  eventTime: number;
  location: string;
  document: string;
  blockNumber: number;
  txHash: string;
  logIndex: number;
}

/**
 * A {@link ChainEvent} from a `LotEventRecorded` log's fields: the step and disposition codes named
 * by the contract's CBV tables. The one decoding of an event, for the log reducer and for indexes.
 *
 * @example
 * chainEvent({ lot: 1, actor, step: 0, disposition: 0, eventTime, location, document, blockNumber, txHash, logIndex });
 */
export function chainEvent(f: RecordedEventFields): ChainEvent {
  return {
    lot: f.lot,
    actor: f.actor,
    stepCode: f.step,
    dispositionCode: f.disposition,
    step: BIZ_STEPS[f.step],
    disposition: DISPOSITIONS[f.disposition],
    eventTime: f.eventTime,
    location: f.location as Hex,
    document: f.document as Hex,
    blockNumber: f.blockNumber,
    txHash: f.txHash as Hex,
    logIndex: f.logIndex,
  };
}

/** One `CodesIssued` log. */
export interface CodeIssue {
  lot: number;
  actor: string;
  count: number;
  issuedTotal: number;
  commitment: Hex;
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

/** A product as rebuilt from logs. */
export type IndexedProduct = ProductInfo & {
  admin: string;
  registrar: string;
  createdAt?: { blockNumber: number; txHash: Hex };
};

/** The registry's state rebuilt from its logs alone. */
export interface ProvenanceState {
  products: Map<number, IndexedProduct>;
  /** `${product}/${role}` → accounts (lower case). */
  roles: Map<string, Set<string>>;
  /** `${product}/${producer lower case}/${season}` → licence. */
  licences: Map<string, IndexedLicence>;
  lots: Map<number, IndexedLot>;
  /** Events per lot, in chain order (those applied to this state object). */
  events: Map<number, ChainEvent[]>;
  /** Codes issued per lot, in chain order (those applied to this state object). */
  codes: Map<number, CodeIssue[]>;
  /** `${product}/${account lower case}` → the participant record set last ({@link participantKey}). */
  participants: Map<string, ParticipantInfo>;
  /** The last block read. */
  toBlock: number;
}

/** Key of {@link ProvenanceState.licences}. */
export function licenceKey(product: number, producer: string, season: number): string {
  return `${product}/${producer.toLowerCase()}/${season}`;
}

/** Key of {@link ProvenanceState.participants}. */
export function participantKey(product: number, account: string): string {
  return `${product}/${account.toLowerCase()}`;
}

/** A state without anything in it, at `toBlock`. */
export function emptyProvenanceState(toBlock = -1): ProvenanceState {
  return {
    products: new Map(),
    roles: new Map(),
    licences: new Map(),
    lots: new Map(),
    events: new Map(),
    codes: new Map(),
    participants: new Map(),
    toBlock,
  };
}

/**
 * Where the reducer finds what an earlier application persisted (an indexer's database): a lot or a
 * licence named by a log but absent from the state object. What it returns is copied into the state
 * and updated there; the caller writes back what the state then holds.
 */
export interface ProvenanceStateLoader {
  lot?(id: number): IndexedLot | undefined;
  licence?(key: string): IndexedLicence | undefined;
}

/** Blocks per `eth_getLogs` request. */
const LOG_RANGE = 5_000;

/**
 * Rebuilds a ProvenanceRegistry's complete state from its logs only: products, roles, licences,
 * lots with parents, children and remaining quantities, recalls, issued codes, and each lot's
 * events with the hash-chain head recomputed. Reads up to `toBlock` (default: the current block),
 * so that it can be compared with storage at that block.
 *
 * @example
 * const state = await replayProvenanceLogs(provider, registryAddress);
 * state.lots.get(7)?.head === await registry.head(7, state.toBlock)
 */
export async function replayProvenanceLogs(
  provider: Provider,
  address: string,
  opts: { fromBlock?: number; toBlock?: number } = {},
): Promise<ProvenanceState> {
  const toBlock = opts.toBlock ?? (await provider.getBlockNumber());
  const logs: Log[] = [];
  for (let from = opts.fromBlock ?? 0; from <= toBlock; from += LOG_RANGE) {
    logs.push(
      ...(await provider.getLogs({ address, fromBlock: from, toBlock: Math.min(toBlock, from + LOG_RANGE - 1) })),
    );
  }
  return applyProvenanceLogs(logs, toBlock);
}

/**
 * Applies ProvenanceRegistry logs (in chain order) to `state` (default: a fresh one) and returns it.
 * With a `loader`, lots and licences created by earlier logs are read from it when a log names
 * them (an indexer applies each new block range to the state it persisted). Pure apart from the loader.
 *
 * @example
 * const state = applyProvenanceLogs(logs, toBlock);
 */
export function applyProvenanceLogs(
  logs: readonly ReducedLog[],
  toBlock: number,
  state: ProvenanceState = emptyProvenanceState(toBlock),
  loader: ProvenanceStateLoader = {},
): ProvenanceState {
  state.toBlock = toBlock;
  const lotOf = (id: number): IndexedLot => {
    let l = state.lots.get(id);
    if (!l) {
      const loaded = loader.lot?.(id);
      if (loaded) {
        l = {
          ...loaded,
          parents: [...loaded.parents],
          amounts: [...loaded.amounts],
          children: [...loaded.children],
          recall: loaded.recall && { ...loaded.recall },
        };
        state.lots.set(id, l);
      }
    }
    if (!l)
      throw new ProofmarkError("TX_FAILED", `a log names lot ${id} before it was created: the logs are incomplete`, {
        lot: id,
      });
    if (!state.events.has(id)) state.events.set(id, []);
    return l;
  };
  const licenceOf = (key: string): IndexedLicence | undefined => {
    let l = state.licences.get(key);
    if (!l) {
      const loaded = loader.licence?.(key);
      if (loaded) state.licences.set(key, (l = { ...loaded }));
    }
    return l;
  };
  const newLot = (
    log: ReducedLog,
    init: Pick<
      IndexedLot,
      "id" | "product" | "origin" | "quantity" | "packages" | "parents" | "amounts" | "actor" | "season"
    >,
  ): void => {
    state.lots.set(init.id, {
      ...init,
      status: "active",
      remaining: init.quantity,
      issuedCodes: 0,
      children: [],
      head: EMPTY_CHAIN_HEAD,
      createdAt: { blockNumber: log.blockNumber, txHash: log.transactionHash as Hex },
    });
    state.events.set(init.id, []);
  };
  // Heads of the lots this call appends events to, as bytes (advanced in place), written back as hex at the end.
  const heads = new Map<IndexedLot, Uint8Array>();
  const digest = new Uint8Array(32);
  try {
    for (const log of logs) applyLog(log);
  } finally {
    for (const [lot, head] of heads) lot.head = toHex(head);
  }
  return state;

  /**
   * A `LotEventRecorded` log in the contract's own layout (every word canonical: what
   * {@link chainEventDigestOfLog} hashes as it is), most of a registry's logs, applied straight
   * from its words: the small integers read from their hex digits, no bigint, no decoded-arguments
   * object. Returns false, changing nothing but the lot's presence in `state`, for any other
   * layout: {@link decodeProvenanceLog} then reads it (masked words, the ABI decoder's way).
   */
  function applyLotEvent(log: ReducedLog): boolean {
    const t = log.topics;
    if (t.length !== 3) return false;
    const actor = topicAddress(t[2]);
    if (actor === undefined) return false;
    // uint64 lot: the topic's last 16 digits (its first 48 are zero when canonical), as Number() of the bigint would round it
    const high = hexDigitsValue(t[1], 50, 8);
    const low = hexDigitsValue(t[1], 58, 8);
    if (high < 0 || low < 0) return false;
    const id = high * 2 ** 32 + low;
    const d = log.data;
    if (!chainEventDigestOfLog(t[1], t[2], d, digest, 0)) return false;
    const lot = lotOf(id);
    const ev = chainEvent({
      lot: id,
      actor,
      step: hexDigitsValue(d, 64, 2),
      disposition: hexDigitsValue(d, 128, 2),
      eventTime: hexDigitsValue(d, 184, 10),
      location: `0x${d.slice(194, 258)}`,
      document: `0x${d.slice(258, 322)}`,
      blockNumber: log.blockNumber,
      txHash: log.transactionHash,
      logIndex: log.index,
    });
    let head = heads.get(lot);
    if (!head) heads.set(lot, (head = fromHex(lot.head, "head")));
    advanceChainHead(head, digest);
    state.events.get(id)!.push(ev);
    return true;
  }

  function applyLog(log: ReducedLog): void {
    if (log.topics[0] === LOT_EVENT_TOPIC && applyLotEvent(log)) return;
    const parsed = decodeProvenanceLog(log);
    if (!parsed) return;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each case reads its event's fields
    const a = parsed.args as any;
    switch (parsed.name) {
      case "ProductCreated": {
        const i = a.info;
        state.products.set(Number(a.product), {
          id: Number(a.product),
          maxYieldBps: Number(i.maxYieldBps),
          standard: String(i.standard) as Hex,
          name: String(i.name),
          nameEn: String(i.nameEn),
          giNumber: String(i.giNumber),
          region: String(i.region),
          unit: String(i.unit),
          admin: String(a.admin),
          registrar: String(a.registrar),
          createdAt: { blockNumber: log.blockNumber, txHash: log.transactionHash as Hex },
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
        const prev = licenceOf(key);
        state.licences.set(key, {
          product: Number(a.product),
          producer: String(a.producer),
          season: Number(a.season),
          quota: BigInt(a.quota),
          harvested: prev?.harvested ?? 0n,
        });
        break;
      }
      case "LotHarvested": {
        const licence = licenceOf(licenceKey(Number(a.product), String(a.producer), Number(a.season)));
        if (licence) licence.harvested += BigInt(a.quantity);
        newLot(log, {
          id: Number(a.lot),
          product: Number(a.product),
          origin: "harvest",
          quantity: BigInt(a.quantity),
          packages: 0,
          parents: [],
          amounts: [],
          actor: String(a.producer),
          season: Number(a.season),
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
          id,
          product: Number(a.product),
          origin: LOT_ORIGINS[Number(a.origin)],
          quantity: BigInt(a.quantity),
          packages: Number(a.packages),
          parents,
          amounts,
          actor: String(a.actor),
          season: undefined,
        });
        break;
      }
      case "LotEventRecorded": {
        // a layout other than the contract's own (applyLotEvent): from the decoded values
        const id = Number(a.lot);
        const lot = lotOf(id);
        const ev = chainEvent({
          lot: id,
          actor: String(a.actor),
          step: Number(a.step),
          disposition: Number(a.disposition),
          eventTime: Number(a.eventTime),
          location: String(a.location),
          document: String(a.document),
          blockNumber: log.blockNumber,
          txHash: log.transactionHash,
          logIndex: log.index,
        });
        let head = heads.get(lot);
        if (!head) heads.set(lot, (head = fromHex(lot.head, "head")));
        // the digest's input is the log's own words when they are canonical (always, from the contract)
        if (!chainEventDigestOfLog(log.topics[1], log.topics[2], log.data, digest, 0))
          digest.set(fromHex(chainEventDigest({ ...ev, step: ev.stepCode, disposition: ev.dispositionCode })));
        advanceChainHead(head, digest);
        state.events.get(id)!.push(ev);
        break;
      }
      case "LotRecalled": {
        const lot = lotOf(Number(a.lot));
        lot.status = "recalled";
        lot.recall = {
          actor: String(a.actor),
          reason: String(a.reason),
          blockNumber: log.blockNumber,
          txHash: log.transactionHash as Hex,
        };
        break;
      }
      case "CodesIssued": {
        const id = Number(a.lot);
        lotOf(id).issuedCodes = Number(a.issuedTotal);
        if (!state.codes.has(id)) state.codes.set(id, []);
        state.codes.get(id)!.push({
          lot: id,
          actor: String(a.actor),
          count: Number(a.count),
          issuedTotal: Number(a.issuedTotal),
          commitment: String(a.serialSetCommitment) as Hex,
          blockNumber: log.blockNumber,
          txHash: log.transactionHash as Hex,
          logIndex: log.index,
        });
        break;
      }
      case "ParticipantSet": {
        const i = a.info;
        const product = Number(a.product);
        const account = String(a.account);
        state.participants.set(participantKey(product, account), {
          product,
          account,
          kind: PARTICIPANT_KINDS[Number(i.kind)],
          name: String(i.name),
          nameEn: String(i.nameEn),
          licence: String(i.licence),
          region: String(i.region),
          setAt: { blockNumber: log.blockNumber, txHash: log.transactionHash as Hex },
        });
        break;
      }
      default:
        break; // AccessControl's own RoleGranted / RoleRevoked: global roles
    }
  }
}
