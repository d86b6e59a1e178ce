export * from "./documents";
export * from "./import";
export * from "./session";
