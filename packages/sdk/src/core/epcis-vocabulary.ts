import { ProofmarkError } from "./errors";
import { BIZ_STEPS, DISPOSITIONS } from "./cbv.generated";

/**
 * The CBV 2.0 vocabulary: the business steps and dispositions the registry records (their on-chain
 * codes are defined once, in contracts/interfaces/IProvenanceRegistry.sol, and generated into
 * `cbv.generated.ts` at build time), the product roles, and the full CBV 2.0 term lists that the
 * EPCIS 2.0 JSON-LD context lets a document write as bare words ("shipping" for
 * https://ref.gs1.org/cbv/BizStep-shipping).
 */

export { BIZ_STEPS, DISPOSITIONS };
export type BizStep = (typeof BIZ_STEPS)[number];
export type Disposition = (typeof DISPOSITIONS)[number];

/** Product roles, in on-chain code order. */
export const PRODUCT_ROLES = ["admin", "producer", "inspector", "processor", "logistics", "retailer"] as const;
export type ProductRole = (typeof PRODUCT_ROLES)[number];

/** Which roles (besides a product admin, who may record anything) may record each step. Mirrors the contract's `stepRoles`. */
export const STEP_ROLES: Readonly<Record<BizStep, readonly ProductRole[]>> = Object.freeze({
  commissioning: ["producer"],
  inspecting: ["inspector"],
  sampling: ["inspector"],
  packing: ["processor"],
  unpacking: ["processor", "retailer"],
  repackaging: ["producer", "processor"],
  creating_class_instance: ["processor"],
  storing: ["processor", "logistics", "retailer"],
  holding: ["inspector", "processor", "logistics", "retailer"],
  shipping: ["producer", "processor", "logistics"],
  departing: ["logistics"],
  arriving: ["logistics"],
  receiving: ["processor", "logistics", "retailer"],
  loading: ["logistics"],
  unloading: ["logistics"],
  transporting: ["logistics"],
  retail_selling: ["retailer"],
  destroying: ["inspector", "processor", "retailer"],
  other: ["producer", "inspector", "processor", "logistics", "retailer"],
});

/** The usual disposition after each step, used when none is given. */
export const DEFAULT_DISPOSITION: Readonly<Record<BizStep, Disposition>> = Object.freeze({
  commissioning: "active",
  inspecting: "conformant",
  sampling: "in_progress",
  packing: "container_closed",
  unpacking: "in_progress",
  repackaging: "active",
  creating_class_instance: "active",
  storing: "sellable_not_accessible",
  holding: "sellable_not_accessible",
  shipping: "in_transit",
  departing: "in_transit",
  arriving: "in_transit",
  receiving: "sellable_not_accessible",
  loading: "in_transit",
  unloading: "in_progress",
  transporting: "in_transit",
  retail_selling: "retail_sold",
  destroying: "destroyed",
  other: "active",
});

/** The on-chain code of a business step ("inspecting" → 1). Throws INVALID_ARGUMENT for other words. */
export function stepCode(step: string): number {
  const i = (BIZ_STEPS as readonly string[]).indexOf(step);
  if (i < 0)
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `unknown business step "${step}"; use one of ${BIZ_STEPS.join(", ")}`,
      { step },
    );
  return i;
}

/** The on-chain code of a disposition ("conformant" → 1). Throws INVALID_ARGUMENT for other words. */
export function dispositionCode(disposition: string): number {
  const i = (DISPOSITIONS as readonly string[]).indexOf(disposition);
  if (i < 0) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `unknown disposition "${disposition}"; use one of ${DISPOSITIONS.join(", ")}`,
      { disposition },
    );
  }
  return i;
}

/** The role code ("inspector" → 2). Throws INVALID_ARGUMENT for other words. */
export function roleCode(role: string): number {
  const i = (PRODUCT_ROLES as readonly string[]).indexOf(role);
  if (i < 0)
    throw new ProofmarkError("INVALID_ARGUMENT", `unknown role "${role}"; use one of ${PRODUCT_ROLES.join(", ")}`, {
      role,
    });
  return i;
}

// ------------------------------------------------------------------------------ CBV 2.0 web vocabulary

/** Base of the CBV 2.0 web vocabulary. */
export const CBV_BASE = "https://ref.gs1.org/cbv/";
/** Base of the GS1 web vocabulary (sensor measurement types, exceptions). */
export const GS1_VOC_BASE = "https://gs1.org/voc/";

const words = (s: string): readonly string[] => Object.freeze(s.split(" "));

/**
 * The bare words the EPCIS 2.0 JSON-LD context (https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld)
 * defines for each vocabulary-valued field, with the URI prefix each expands to. Copied from that context.
 */
export const CBV_TERMS = Object.freeze({
  BizStep: {
    prefix: `${CBV_BASE}BizStep-`,
    terms: words(
      "accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting installing killing loading other packing picking receiving removing repackaging repairing replacing reserving retail_selling sampling sensor_reporting shipping staging_outbound stock_taking stocking storing transporting unloading unpacking void_shipping",
    ),
  },
  Disp: {
    prefix: `${CBV_BASE}Disp-`,
    terms: words(
      "active available completeness_verified completeness_inferred conformant container_closed container_open damaged destroyed dispensed disposed encoded expired in_progress in_transit inactive mismatch_instance mismatch_class mismatch_quantity needs_replacement no_pedigree_match non_conformant non_sellable_other partially_dispensed recalled reserved retail_sold returned sellable_accessible sellable_not_accessible stolen unavailable unknown",
    ),
  },
  BTT: {
    prefix: `${CBV_BASE}BTT-`,
    terms: words("bol cert desadv inv pedigree po poc prodorder recadv rma testprd testres upevt"),
  },
  SDT: { prefix: `${CBV_BASE}SDT-`, terms: words("owning_party possessing_party location") },
  ER: { prefix: `${CBV_BASE}ER-`, terms: words("did_not_occur incorrect_data") },
  Comp: {
    prefix: `${CBV_BASE}Comp-`,
    terms: words(
      "x y z axial_distance azimuth height spherical_radius polar_angle elevation_angle easting northing latitude longitude altitude",
    ),
  },
  MeasurementType: {
    prefix: GS1_VOC_BASE,
    terms: words(
      "AbsoluteHumidity AbsorbedDose AbsorbedDoseRate Acceleration Radioactivity Altitude AmountOfSubstance AmountOfSubstancePerUnitVolume Angle AngularAcceleration AngularMomentum AngularVelocity Area Capacitance Conductance Conductivity Count Density Dimensionless DoseEquivalent DoseEquivalentRate DynamicViscosity ElectricCharge ElectricCurrent ElectricCurrentDensity ElectricFieldStrength Energy Exposure Force Frequency Illuminance Inductance Irradiance KinematicViscosity Length LinearMomentum Luminance LuminousFlux LuminousIntensity MagneticFlux MagneticFluxDensity MagneticVectorPotential Mass MassConcentration MassFlowRate MassPerAreaTime MemoryCapacity MolalityOfSolute MolarEnergy MolarMass MolarVolume Power Pressure RadiantFlux RadiantIntensity RelativeHumidity Resistance Resistivity SolidAngle SpecificVolume Speed SurfaceDensity SurfaceTension Temperature Time Torque Voltage Volume VolumeFlowRate VolumeFraction VolumetricFlux Wavenumber",
    ),
  },
  SensorException: { prefix: GS1_VOC_BASE, terms: words("ALARM_CONDITION ERROR_CONDITION") },
});
export type CbvVocabulary = keyof typeof CBV_TERMS;

/**
 * A vocabulary value as its web URI: a bare word the context defines ("shipping") or the CBV 1.x
 * URN ("urn:epcglobal:cbv:bizstep:shipping") becomes "https://ref.gs1.org/cbv/BizStep-shipping";
 * anything else is returned unchanged (trimmed).
 */
export function cbvUri(vocabulary: CbvVocabulary, value: string): string {
  const v = value.trim();
  const { prefix, terms } = CBV_TERMS[vocabulary];
  if (terms.includes(v)) return prefix + v;
  return cbvUrnToUri(v);
}

/** Replaces CBV 1.x URN prefixes (urn:epcglobal:cbv:bizstep: …) by their CBV 2.0 web URI equivalents, wherever they occur. */
export function cbvUrnToUri(text: string): string {
  return text
    .replaceAll("urn:epcglobal:cbv:bizstep:", `${CBV_BASE}BizStep-`)
    .replaceAll("urn:epcglobal:cbv:disp:", `${CBV_BASE}Disp-`)
    .replaceAll("urn:epcglobal:cbv:btt:", `${CBV_BASE}BTT-`)
    .replaceAll("urn:epcglobal:cbv:sdt:", `${CBV_BASE}SDT-`)
    .replaceAll("urn:epcglobal:cbv:er:", `${CBV_BASE}ER-`);
}

/** The bare CBV word of a vocabulary value ("https://ref.gs1.org/cbv/BizStep-shipping" → "shipping"); other values unchanged. */
export function cbvWord(vocabulary: "BizStep" | "Disp", value: string): string {
  const uri = cbvUri(vocabulary, value);
  const { prefix } = CBV_TERMS[vocabulary];
  return uri.startsWith(prefix) ? uri.slice(prefix.length) : value.trim();
}
