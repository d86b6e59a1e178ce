/** `@proofmark/sdk/evidence`: stamp files (one root, one transaction), verify receipts, submitter statements. */
export * from "./files";
export * from "./queue";
export * from "./stamp";
export * from "./verify";
export * from "./statement";
