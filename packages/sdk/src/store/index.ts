export * from "./types";
export { CID, KUBO_CHUNK_SIZE, KUBO_MAX_LINKS, kuboImporterOptions, parseCid, verifyBlock } from "./blocks";
export { EmbeddedStore, openEmbeddedStore, DEFAULT_DATA_DIR } from "./embedded";
export type { RepairResult } from "./packstore";
export { KuboStore } from "./kubo";
export { ENCRYPTION_ALG, encryptStream, decryptStream, generateKey, ciphertextSize } from "./encrypt";
export { createStoreHandler, serveStore } from "./http";
export { keepInStore, fetchFromStore, type KeptFile } from "./evidence";
