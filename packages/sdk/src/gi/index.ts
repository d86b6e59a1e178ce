export * from "./documents";
export * from "./import";
export * from "./session";
export * from "./import-epcis";
