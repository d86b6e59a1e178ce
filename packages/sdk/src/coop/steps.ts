import { ProofmarkError } from "../core/errors";
import { harvestEvent, lotClass, observationEvent, packEvent } from "../core/epcis";
import { PRODUCT_ROLES, STEP_ROLES, type BizStep, type ProductRole } from "../core/epcis";
import { parseQuantity } from "../core/quantity";
import { PARTICIPANT_KINDS, provenanceRegistryInterface, type ProductInfo } from "../chain/provenance-logs";
import { accountLabel, roleMissingError } from "../chain/provenance-revert";
import type { ProvenanceRegistryClient } from "../chain/provenance";
import { prepareEvent, type PreparedEvent } from "../gi/documents";
import { checkParticipant, plotLocation, productLocation } from "../gi/session";

/**
 * The GI steps a co-op member records from a phone, turned into the registry call and the EPCIS
 * event document the CLI would produce for the same step (the same encoders, places and ILMD).
 */

/** Steps the member page offers. */
export const MEMBER_STEPS = ["harvest", "inspecting", "packing", "shipping", "receiving", "participant"] as const;
export type MemberStep = (typeof MEMBER_STEPS)[number];

/** Whether `step` creates a lot (its event document names the lot id the registry will give). */
export function createsLot(step: unknown): boolean {
  return step === "harvest" || step === "packing";
}

/** The business step and the roles (besides admin) each member step needs (registering participants: admin only). */
export function memberStepRoles(step: MemberStep): readonly ProductRole[] {
  if (step === "participant") return [];
  return STEP_ROLES[(step === "harvest" ? "commissioning" : step) as BizStep];
}

/** How the CLI words a member step in a refusal ("the harvest", "packing lot 3"). */
function memberStepWhat(step: MemberStep, target: { product?: number; lot?: number; account?: string }): string {
  if (step === "harvest") return "the harvest";
  if (step === "participant")
    return `registering ${accountLabel(target.account ?? "")} as a participant of product ${target.product}`;
  if (step === "packing") return `packing lot ${target.lot}`;
  return `recording ${step} on lot ${target.lot}`;
}

/**
 * Refuses (ROLE_MISSING, worded as the CLI words the registry's refusal) when `member` holds no role
 * on the form's product that allows its step — read from the registry before anything is prepared
 * (the co-op relay checks it before a harvest or packing takes the turn at the next lot id). A form
 * whose product or lot is missing or unknown passes: preparing it refuses it with its own code.
 */
export async function checkMemberMayRecord(
  client: ProvenanceRegistryClient,
  member: string,
  form: MemberForm,
): Promise<void> {
  const step = form?.step;
  if (!(MEMBER_STEPS as readonly string[]).includes(step))
    throw invalid("step", `not a step a member records: ${String(step).slice(0, 40)}`);
  const positive = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 1;
  let product: number | undefined;
  let lot: number | undefined;
  if (step === "harvest" || step === "participant") product = positive(form.product) ? form.product : undefined;
  else if (positive(form.lot)) {
    const info = await client.lot(form.lot);
    if (info.status !== "none") [product, lot] = [info.product, form.lot];
  }
  if (product === undefined) return;
  const allowed =
    step === "participant"
      ? await client.hasRole(product, "admin", member)
      : await client.mayRecord(product, step === "harvest" ? "commissioning" : step, member);
  if (allowed) return;
  await client.product(product); // an unknown product is refused as such (PRODUCT_NOT_FOUND), not as a role
  const needs = memberStepRoles(step);
  throw roleMissingError(
    memberStepWhat(step, { product, lot, account: String(form.account ?? "").trim() }),
    product,
    member,
    PRODUCT_ROLES.filter((r) => r === "admin" || needs.includes(r)),
  );
}

/** A filled member form (strings as typed; quantities as "1200kg" or base units). */
export interface MemberForm {
  step: MemberStep;
  /** harvest: the product. */
  product?: number;
  /** harvest: the quantity; inspecting/shipping/receiving: an observed quantity (optional). */
  quantity?: string;
  /** harvest: the plot. */
  plot?: string;
  /** harvest: the date (YYYY-MM-DD); other steps: the event time (default: now). */
  date?: string;
  /** inspecting, packing, shipping, receiving: the lot. */
  lot?: number;
  /** packing: the number of packages and each package's size ("5kg"). */
  packages?: number;
  size?: string;
  /** shipping/receiving/inspecting: where (GLN, geo:, URI or a plain address). */
  location?: string;
  note?: string;
  /** harvest: the plot's certificate photo, already kept in the content store. */
  certificate?: { cid: string; sha256: string; name: string };
  /** participant: the account registered and what the admin says about it. */
  account?: string;
  kind?: string;
  name?: string;
  nameEn?: string;
  licence?: string;
  region?: string;
}

/** A step ready to be signed: the registry call, its event document and how the CLI names it. */
export interface PreparedStep {
  step: MemberStep;
  /** How the CLI words the operation in a refusal ("the harvest", "packing lot 3"). */
  what: string;
  ctx: { product?: number; lot?: number };
  method: string;
  calldata: string;
  /** The event document (none for a participant record). */
  prepared?: PreparedEvent;
  /** The lot id the registry will give a new lot (harvest, packing). */
  newLot?: number;
  product: ProductInfo;
  lot?: number;
  /** The quantity recorded, in the product's base unit. */
  quantity?: bigint;
}

/** Builds the call and the event document of `form` for `member` (reads the registry; sends nothing). */
export async function prepareMemberStep(
  client: ProvenanceRegistryClient,
  member: string,
  form: MemberForm,
  now: Date = new Date(),
): Promise<PreparedStep> {
  const encode = (method: string, args: unknown[]) => provenanceRegistryInterface.encodeFunctionData(method, args);
  if (form.step === "harvest") {
    if (!form.product) throw invalid("product", "choose the product");
    const product = await client.product(form.product);
    const plot = (form.plot ?? "").trim();
    if (!plot) throw invalid("plot", "the plot must not be empty");
    const quantity = quantityOf(form.quantity, product.unit, "quantity");
    const date = form.date || now.toISOString().slice(0, 10);
    const season = Number(date.slice(0, 4));
    if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || season < 2000)
      throw invalid("date", `a harvest date such as 2026-09-01, got ${date}`);
    const lot = (await client.counts()).lots + 1;
    const ilmd: Record<string, string | number> = {
      "gi:product": product.giNumber,
      "gi:plot": plot,
      "gi:producer": member.toLowerCase(),
      "gi:season": season,
    };
    if (form.certificate) {
      ilmd["gi:attachment"] = form.certificate.cid;
      ilmd["gi:attachmentSha256"] = form.certificate.sha256;
      ilmd["gi:attachmentName"] = form.certificate.name;
    }
    const prepared = prepareEvent(
      harvestEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot) }),
        quantity,
        unit: product.unit,
        time: date,
        location: plotLocation(product, plot),
        ilmd,
      }),
    );
    return {
      step: "harvest",
      what: memberStepWhat("harvest", {}),
      ctx: { product: product.id },
      method: "harvest",
      calldata: encode("harvest", [product.id, season, quantity, recordOf(prepared)]),
      prepared,
      newLot: lot,
      product,
      quantity,
    };
  }
  if (form.step === "participant") {
    if (!form.product) throw invalid("product", "choose the product");
    const product = await client.product(form.product);
    const account = (form.account ?? "").trim();
    if (!/^0x[0-9a-fA-F]{40}$/.test(account))
      throw invalid("account", `not an account address: ${account.slice(0, 60)}`);
    const p = checkParticipant({
      kind: form.kind ?? "",
      name: form.name ?? "",
      nameEn: form.nameEn,
      licence: form.licence,
      region: form.region,
    });
    return {
      step: "participant",
      what: memberStepWhat("participant", { product: product.id, account }),
      ctx: { product: product.id },
      method: "setParticipant",
      calldata: encode("setParticipant", [
        product.id,
        account,
        {
          kind: PARTICIPANT_KINDS.indexOf(p.kind),
          name: p.name,
          nameEn: p.nameEn,
          licence: p.licence,
          region: p.region,
        },
      ]),
      product,
    };
  }
  if (!form.lot || !Number.isSafeInteger(form.lot) || form.lot < 1) throw invalid("lot", "choose the lot");
  const lot = await client.existingLot(form.lot);
  const product = await client.product(lot.product);
  const time = form.date ? form.date : now;
  if (form.step === "packing") {
    const packages = Number(form.packages);
    if (!Number.isSafeInteger(packages) || packages < 1 || packages > 0xffffffff)
      throw invalid("packages", `the package count must be a whole number from 1 to 4294967295, got ${form.packages}`);
    const size = quantityOf(form.size, product.unit, "size");
    const packed = (await client.counts()).lots + 1;
    const prepared = prepareEvent(
      packEvent({
        lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }),
        packedLot: lotClass({ giNumber: product.giNumber, lot: String(packed) }),
        packages,
        size,
        unit: product.unit,
        time,
        location: form.location?.trim() || productLocation(product),
      }),
    );
    return {
      step: "packing",
      what: memberStepWhat("packing", { lot: lot.id }),
      ctx: { lot: lot.id },
      method: "pack",
      calldata: encode("pack", [lot.id, packages, size, recordOf(prepared)]),
      prepared,
      newLot: packed,
      product,
      lot: lot.id,
      quantity: BigInt(packages) * size,
    };
  }
  const quantity = form.quantity?.trim() ? quantityOf(form.quantity, product.unit, "quantity") : undefined;
  const extensions: Record<string, string> = {};
  if (form.note?.trim()) extensions["gi:note"] = form.note.trim();
  const prepared = prepareEvent(
    observationEvent({
      lot: lotClass({ giNumber: product.giNumber, lot: String(lot.id) }),
      step: form.step,
      time,
      location: form.location?.trim() || productLocation(product),
      quantity,
      unit: product.unit,
      extensions,
    }),
  );
  const input = {
    lot: lot.id,
    step: prepared.record.step,
    disposition: prepared.record.disposition,
    ...recordOf(prepared),
  };
  return {
    step: form.step,
    what: memberStepWhat(form.step, { lot: lot.id }),
    ctx: { lot: lot.id },
    method: "recordEvent",
    calldata: encode("recordEvent", [input]),
    prepared,
    product,
    lot: lot.id,
    quantity,
  };
}

function recordOf(p: PreparedEvent): { eventTime: number; location: string; document: string } {
  return { eventTime: p.record.eventTime, location: p.record.location, document: p.record.document };
}

function quantityOf(text: string | undefined, unit: string, field: string): bigint {
  if (!text?.trim()) throw invalid(field, `the ${field} is missing`);
  const t = text.trim();
  const q = parseQuantity(/^\d+$/.test(t) ? `${t}${unit}` : t, unit);
  if (q <= 0n) throw invalid(field, `the ${field} must be more than zero`);
  return q;
}

function invalid(field: string, message: string): ProofmarkError {
  return new ProofmarkError("INVALID_ARGUMENT", message, { field });
}
