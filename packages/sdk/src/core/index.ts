export * from "./errors";
// hexDigitsInto stays internal (the log reducer's hot path), like the keccak internals.
export { bytesEqual, fromHex, hexInto, isHexOfLength, toHex, type Hex } from "./hex";
export { keccak256, keccak256Utf8 } from "./keccak";
export * from "./merkle";
export * from "./commitment";
export * from "./digest";
export * from "./json";
export * from "./receipt";
export * from "./verification";
export * from "./engine";
export * from "./registry-codes";
export * from "./gs1";
export * from "./quantity";
export * from "./epcis";
export * from "./html";
// chainEventDigestOfLog and advanceChainHead stay internal (the log reducer's hot path).
export { chainEventDigest, chainHeadOf, EMPTY_CHAIN_HEAD, nextChainHead, type ChainEventFields } from "./hash-chain";
export * from "./statement";
export * from "./rfc3161";
export * from "./text";
export * from "./fingerprint";
export * from "./phash-index";
export * from "./i18n";
export * from "./time-format";
export * from "./watermark";
