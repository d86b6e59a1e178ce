export * from "./errors";
export * from "./hex";
export * from "./keccak";
export * from "./merkle";
export * from "./commitment";
export * from "./digest";
export * from "./receipt";
export * from "./gs1";
