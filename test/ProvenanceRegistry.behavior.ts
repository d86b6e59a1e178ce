// Helpers shared by the ProvenanceRegistry tests: the step/role table as the SDK names it, the
// hash-chain arithmetic, and an indexer that rebuilds the registry's state from its logs alone.
import { ethers } from "hardhat";
import type { ProvenanceRegistry } from "../typechain-types";
import { BIZ_STEPS, PRODUCT_ROLES, STEP_ROLES } from "../packages/sdk/src/core";

export const ROLES = PRODUCT_ROLES;
export type RoleName = (typeof ROLES)[number];
export const ROLE = Object.fromEntries(ROLES.map((r, i) => [r, i])) as Record<RoleName, number>;

/** Which roles (besides admin) may record each business step, by CBV 2.0 name, in code order — the SDK's table. */
export const STEP_TABLE: [string, RoleName[]][] = BIZ_STEPS.map((step) => [step, [...STEP_ROLES[step]]]);

export const mask = (roles: RoleName[]): number => roles.reduce((m, r) => m | (1 << ROLE[r]), 0);

const coder = ethers.AbiCoder.defaultAbiCoder();

export interface ChainEvent {
  lot: bigint;
  actor: string;
  step: number;
  disposition: number;
  eventTime: bigint;
  location: string;
  document: string;
}

/** keccak256(abi.encode(lot, actor, step, disposition, eventTime, location, document)). */
export function eventDigest(e: ChainEvent): string {
  return ethers.keccak256(
    coder.encode(
      ["uint64", "address", "uint8", "uint8", "uint40", "bytes32", "bytes32"],
      [e.lot, e.actor, e.step, e.disposition, e.eventTime, e.location, e.document],
    ),
  );
}

/** The next hash-chain head: keccak256(abi.encode(head, eventDigest)). */
export function nextHead(head: string, e: ChainEvent): string {
  return ethers.keccak256(coder.encode(["bytes32", "bytes32"], [head, eventDigest(e)]));
}

export interface IndexedLot {
  product: bigint;
  status: number;
  origin: number;
  quantity: bigint;
  remaining: bigint;
  packages: bigint;
  issuedCodes: bigint;
  parents: bigint[];
  head: string;
}

export interface IndexedState {
  products: Map<bigint, { maxYieldBps: bigint; standard: string; name: string; nameEn: string; giNumber: string; region: string; unit: string }>;
  roles: Map<string, Set<string>>; // `${product}/${role}` → accounts
  licences: Map<string, { quota: bigint; harvested: bigint }>; // `${product}/${producer}/${season}`
  lots: Map<bigint, IndexedLot>;
}

const ZERO = ethers.ZeroHash;

/**
 * Rebuilds the registry's state from its logs only (what the portal's indexer does), in log order.
 */
export async function replayLogs(registry: ProvenanceRegistry): Promise<IndexedState> {
  const address = await registry.getAddress();
  const logs = await ethers.provider.getLogs({ address, fromBlock: 0, toBlock: "latest" });
  const state: IndexedState = { products: new Map(), roles: new Map(), licences: new Map(), lots: new Map() };
  const lot = (id: bigint): IndexedLot => {
    const l = state.lots.get(id);
    if (!l) throw new Error(`log names unknown lot ${id}`);
    return l;
  };
  for (const log of logs) {
    const parsed = registry.interface.parseLog(log);
    if (!parsed) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "ProductCreated": {
        const i = a.info;
        state.products.set(a.product, {
          maxYieldBps: i.maxYieldBps, standard: i.standard, name: i.name, nameEn: i.nameEn,
          giNumber: i.giNumber, region: i.region, unit: i.unit,
        });
        break;
      }
      case "ProductRoleGranted": {
        const key = `${a.product}/${a.role}`;
        if (!state.roles.has(key)) state.roles.set(key, new Set());
        state.roles.get(key)!.add(a.account);
        break;
      }
      case "ProductRoleRevoked":
        state.roles.get(`${a.product}/${a.role}`)?.delete(a.account);
        break;
      case "LicenceGranted": {
        const key = `${a.product}/${a.producer}/${a.season}`;
        const prev = state.licences.get(key);
        state.licences.set(key, { quota: a.quota, harvested: prev?.harvested ?? 0n });
        break;
      }
      case "LotHarvested": {
        const key = `${a.product}/${a.producer}/${a.season}`;
        state.licences.get(key)!.harvested += a.quantity;
        state.lots.set(a.lot, {
          product: a.product, status: 1, origin: 0, quantity: a.quantity, remaining: a.quantity,
          packages: 0n, issuedCodes: 0n, parents: [], head: ZERO,
        });
        break;
      }
      case "LotDerived": {
        const parents = [...a.parents] as bigint[];
        const amounts = [...a.amounts] as bigint[];
        parents.forEach((p, i) => {
          const parent = lot(p);
          parent.remaining -= amounts[i];
          if (parent.remaining === 0n) parent.status = 2;
        });
        state.lots.set(a.lot, {
          product: a.product, status: 1, origin: Number(a.origin), quantity: a.quantity, remaining: a.quantity,
          packages: a.packages, issuedCodes: 0n, parents, head: ZERO,
        });
        break;
      }
      case "LotEventRecorded": {
        const l = lot(a.lot);
        l.head = nextHead(l.head, {
          lot: a.lot, actor: a.actor, step: Number(a.step), disposition: Number(a.disposition),
          eventTime: a.eventTime, location: a.location, document: a.document,
        });
        break;
      }
      case "LotRecalled":
        lot(a.lot).status = 3;
        break;
      case "CodesIssued":
        lot(a.lot).issuedCodes = a.issuedTotal;
        break;
      default:
        break; // AccessControl's RoleGranted / RoleRevoked: global roles, not needed here
    }
  }
  return state;
}
