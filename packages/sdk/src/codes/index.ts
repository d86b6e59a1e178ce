export * from "./manifest";
export * from "./labels";
export * from "./issue";
