/**
 * GS1 EPCIS 2.0 / CBV 2.0 for GI lots, in four files: the vocabulary (`epcis-vocabulary`), the
 * events and documents Proofmark writes (`epcis-events`), the CBV 2.0 event hash (`epcis-hash`) and
 * the GS1 identifiers inside events (`epcis-identifiers`).
 */
export * from "./epcis-vocabulary";
export * from "./epcis-events";
export * from "./epcis-hash";
export * from "./epcis-identifiers";
