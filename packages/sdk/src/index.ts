/**
 * @proofmark/sdk — everything a program needs to stamp, verify and trace evidence with Proofmark.
 * `core` is pure (formats); `chain`, `evidence`, `store` do I/O.
 */
export * from "./core";
export * from "./codes";
export * from "./chain/accounts";
export * from "./chain/config";
export * from "./chain/context";
export * from "./chain/deployments";
export * from "./chain/evidence";
export * from "./chain/provenance";
export * from "./chain/local-node";
export * from "./chain/rpc";
export * from "./chain/jsonrpc";
export * from "./evidence/files";
export * from "./evidence/queue";
export * from "./evidence/stamp";
export * from "./evidence/verify";
export * from "./evidence/statement";
export * from "./tsa";
export * from "./calendar";
export * from "./report";
export * from "./fingerprint";
export * from "./util/fs";
export * from "./gi";
export * from "./trace";
export * from "./store";
export * from "./capture";
