/**
 * `@proofmark/sdk/internal`: helpers the Proofmark CLI and portal share with the SDK (atomic and
 * bounded file I/O, lock files, the Anvil binary). Not part of the public API: no compatibility
 * promise; programs use the public entry points.
 */
export * from "./util/fs";
export { anvilBinary } from "./chain/local-node";
export { decodeCanonicalLog } from "./chain/log-words";
