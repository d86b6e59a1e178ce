// Helpers shared by the ProvenanceRegistry tests: the step/role table as the SDK names it, the
// hash-chain arithmetic. (Rebuilding state from logs is the SDK's replayProvenanceLogs, tested against storage.)
import { ethers } from "hardhat";
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
