import { ZeroHash } from "ethers";
import { ProofmarkError, type ErrorCode } from "../core/errors";
import { PRODUCT_ROLES, type ProductRole } from "../core/epcis";
import { UNITS, unitInfo } from "../core/quantity";
import { devAccountName } from "./accounts";
import { describeTxError } from "./evidence";
import { provenanceRegistryInterface, LOT_STATUSES, type LotInfo } from "./provenance-logs";

/**
 * Why a ProvenanceRegistry call was refused, in words: custom errors decoded into ProofmarkErrors
 * whose message names the numbers involved, in the product's unit.
 */

/** What {@link explainProvenanceRevert} may read to name units, quotas and counts. */
export interface RegistryReader {
  lot(id: number): Promise<LotInfo>;
  unitOf(product: number): Promise<string>;
  licence(product: number, producer: string, season: number): Promise<{ quota: bigint; harvested: bigint }>;
  counts(): Promise<{ products: number; lots: number }>;
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
 * The refusal of `what` because `account` holds none of `roles` on `product`, worded as the CLI
 * words the registry's `ProvenanceRoleMissing` (the co-op relay refuses with it before preparing).
 */
export function roleMissingError(
  what: string,
  product: number,
  account: string,
  roles: readonly ProductRole[],
  opts: { details?: Record<string, unknown>; cause?: unknown } = {},
): ProofmarkError {
  return new ProofmarkError(
    "ROLE_MISSING",
    `${what} was refused: ${accountLabel(account)} holds none of the roles ${roles.join(" / ")} of product ${product}; ` +
      `the product's admin can grant one; nothing was changed`,
    { ...opts.details, product, account, roles: [...roles] },
    opts.cause === undefined ? undefined : { cause: opts.cause },
  );
}

/**
 * Turns a failed registry call into a ProofmarkError naming the numbers involved, in the product's
 * unit (reads the chain through `reader` for the unit and the quota when it can; never fails itself).
 *
 * @example
 * catch (e) { throw await explainProvenanceRevert(e, "splitting lot 7", { lot: 7 }, client); }
 */
export async function explainProvenanceRevert(
  e: unknown,
  what: string,
  ctx: { product?: number; lot?: number },
  reader: RegistryReader,
): Promise<ProofmarkError> {
  const revert = decodeRevert(e);
  if (!revert) return describeTxError(e, what);
  const unitFor = async (product?: number, lot?: number): Promise<string | undefined> => {
    try {
      const p = product ?? (lot !== undefined ? (await reader.lot(lot)).product : undefined);
      return p ? await reader.unitOf(p) : undefined;
    } catch {
      return undefined;
    }
  };
  const a = revert.args;
  // All quantities of one message in one unit (the largest in which each is whole): "1,500 kg … 1,200 kg".
  let group: bigint[] = [];
  const q = (amount: unknown, unit?: string) =>
    unit ? formatTogether(BigInt(amount as bigint), group, unit) : String(amount);
  const fail = (code: ErrorCode, message: string, details: Record<string, unknown>) =>
    new ProofmarkError(
      code,
      `${what} was refused: ${message}; nothing was changed`,
      { reason: revert.name, ...details },
      { cause: e },
    );
  switch (revert.name) {
    case "ProvenanceQuotaExceeded": {
      const [product, producer, season, requested, available] = a as [bigint, string, bigint, bigint, bigint];
      const unit = await unitFor(Number(product));
      let quota: bigint | undefined;
      try {
        quota = (await reader.licence(Number(product), producer, Number(season))).quota;
      } catch {
        /* best effort */
      }
      group = [requested, available, ...(quota !== undefined ? [quota] : [])];
      return fail(
        "QUOTA_EXCEEDED",
        `${accountLabel(producer)} asked to harvest ${q(requested, unit)} but only ${q(available, unit)} of the ${season} quota` +
          `${quota !== undefined ? ` of ${q(quota, unit)}` : ""} is left for product ${product}`,
        {
          product: Number(product),
          producer,
          season: Number(season),
          requested: String(requested),
          available: String(available),
          quota: quota?.toString(),
        },
      );
    }
    case "ProvenanceQuotaBelowHarvested": {
      const [product, producer, season, quota, harvested] = a as [bigint, string, bigint, bigint, bigint];
      const unit = await unitFor(Number(product));
      group = [quota, harvested];
      return fail(
        "QUOTA_EXCEEDED",
        `${accountLabel(producer)} already harvested ${q(harvested, unit)} in ${season}, more than the new quota of ${q(quota, unit)}`,
        {
          product: Number(product),
          producer,
          season: Number(season),
          quota: String(quota),
          harvested: String(harvested),
        },
      );
    }
    case "ProvenanceInsufficientQuantity": {
      const [lot, requested, remaining] = a as [bigint, bigint, bigint];
      const unit = await unitFor(undefined, Number(lot));
      group = [remaining, requested];
      return fail(
        "QUANTITY_EXCEEDED",
        `lot ${lot} has ${q(remaining, unit)} left, less than the ${q(requested, unit)} requested`,
        { lot: Number(lot), requested: String(requested), remaining: String(remaining) },
      );
    }
    case "ProvenanceYieldExceeded": {
      const [output, input, bps] = a as [bigint, bigint, bigint];
      const unit = await unitFor(ctx.product, ctx.lot);
      const max = (BigInt(input) * BigInt(bps)) / 10_000n;
      group = [output, input, max];
      return fail(
        "YIELD_EXCEEDED",
        `an output of ${q(output, unit)} from ${q(input, unit)} of input exceeds the product's maximum yield of ${Number(bps) / 100} % (at most ${q(max, unit)})`,
        { output: String(output), input: String(input), maxYieldBps: Number(bps) },
      );
    }
    case "ProvenanceRoleMissing": {
      const [product, account, roles] = a as [bigint, string, bigint];
      return roleMissingError(what, Number(product), account, roleNames(Number(roles)), {
        details: { reason: revert.name },
        cause: e,
      });
    }
    case "AccessControlUnauthorizedAccount": {
      const [account, role] = a as [string, string];
      const id = BigInt(role);
      const tag = BigInt("0x" + Buffer.from("proofmark.product.role").toString("hex").padEnd(64, "0"));
      const isProduct = (id & ~0xffffffffffn) === tag;
      const label = isProduct
        ? `${PRODUCT_ROLES[Number(id & 0xffn)]} of product ${(id >> 8n) & 0xffffffffn}`
        : role === ZeroHash
          ? "the registry admin"
          : "registrar";
      const needs = isProduct ? `admin of product ${(id >> 8n) & 0xffffffffn}` : label;
      return fail("ROLE_MISSING", `${accountLabel(account)} lacks the role ${needs}`, { account, role, needs: label });
    }
    case "ProvenanceLotUnknown": {
      const [lot] = a as [bigint];
      let lots: number | undefined;
      try {
        lots = (await reader.counts()).lots;
      } catch {
        /* best effort */
      }
      return fail(
        "LOT_NOT_FOUND",
        `lot ${lot} does not exist${lots !== undefined ? ` (lots are numbered 1 to ${lots})` : ""}`,
        { lot: Number(lot), lots },
      );
    }
    case "ProvenanceLotNotActive": {
      const [lot, status] = a as [bigint, bigint];
      if (Number(status) === 3)
        return fail("LOT_RECALLED", `lot ${lot} was recalled and accepts no event or operation`, {
          lot: Number(lot),
          status: "recalled",
        });
      return fail(
        "LOT_NOT_ACTIVE",
        `lot ${lot} is ${LOT_STATUSES[Number(status)]}: all of its quantity went into other lots`,
        { lot: Number(lot), status: LOT_STATUSES[Number(status)] },
      );
    }
    case "ProvenanceLotAlreadyRecalled":
      return fail("LOT_RECALLED", `lot ${a[0]} was already recalled`, { lot: Number(a[0]) });
    case "ProvenanceProductUnknown": {
      let products: number | undefined;
      try {
        products = (await reader.counts()).products;
      } catch {
        /* best effort */
      }
      return fail(
        "PRODUCT_NOT_FOUND",
        `product ${a[0]} does not exist${products !== undefined ? ` (products are numbered 1 to ${products})` : ""}`,
        { product: Number(a[0]), products },
      );
    }
    case "ProvenanceLicenceMissing": {
      const [product, producer, season] = a as [bigint, string, bigint];
      return fail(
        "LICENCE_MISSING",
        `${accountLabel(producer)} has no licence for product ${product} in season ${season}; ` +
          `the product's admin must grant a licence with a quota for that season first`,
        { product: Number(product), producer, season: Number(season) },
      );
    }
    case "ProvenanceLotPacked":
      return fail(
        "LOT_NOT_ACTIVE",
        `lot ${a[0]} is a packed lot; packed lots cannot be split, merged, transformed or packed again`,
        { lot: Number(a[0]) },
      );
    case "ProvenanceProductMismatch":
      return fail(
        "INVALID_ARGUMENT",
        `lot ${a[0]} is of product ${a[2]}, not product ${a[1]}; only lots of one product can be merged or transformed together`,
        { lot: Number(a[0]) },
      );
    case "ProvenanceQuantityZero":
      return fail("INVALID_ARGUMENT", "a quantity, package count or package size is zero", {});
    case "ProvenanceInvalidYield":
      return fail("INVALID_ARGUMENT", `a maximum yield of ${Number(a[0]) / 100} % is not within 0.01 %–100 %`, {});
    case "ProvenanceTooFewItems":
      return fail("INVALID_ARGUMENT", `${a[0]} lot(s) given, at least ${a[1]} needed`, {});
    case "ProvenanceParticipantKindUnknown":
      return fail("INVALID_ARGUMENT", `participant kind code ${a[0]} is not one the registry knows`, {});
    case "ProvenanceParticipantNameEmpty":
      return fail("INVALID_ARGUMENT", "a participant needs a display name", {});
    case "ProvenanceParticipantFieldTooLong":
      return fail(
        "INVALID_ARGUMENT",
        `the participant's ${["name", "English name", "licence number", "region"][Number(a[0])] ?? "field"} is ${a[1]} bytes long; at most ${a[2]} bytes are allowed`,
        { field: Number(a[0]), length: Number(a[1]), maximum: Number(a[2]) },
      );
    case "ProvenanceCodesExceeded":
      return fail("QUANTITY_EXCEEDED", `lot ${a[0]} has only ${a[2]} packages without a code, not ${a[1]}`, {
        lot: Number(a[0]),
      });
    default:
      return fail("TX_FAILED", `${revert.name}(${a.map(String).join(", ")})`, {});
  }
}

/** The decoded custom error of a failed call, if any. */
export function decodeRevert(e: unknown): { name: string; args: unknown[] } | undefined {
  const err = e as {
    code?: string;
    revert?: { name: string; args: unknown[] };
    data?: string;
    info?: { error?: { data?: string } };
  };
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
  const units = Object.values(UNITS)
    .filter((u) => u.dimension === base.dimension && u.factor >= base.factor)
    .sort((x, y) => (x.factor > y.factor ? -1 : 1));
  const unit = units.find((u) => [amount, ...all].every((v) => (v * base.factor) % u.factor === 0n)) ?? base;
  return `${((amount * base.factor) / unit.factor).toLocaleString("en-US")} ${unit.symbol}`;
}
