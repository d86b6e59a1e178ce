/** `@proofmark/sdk/chain`: networks, keys, the local chain and the registries' clients (ethers v6). */
export * from "./accounts";
export * from "./config";
export * from "./context";
export * from "./deployments";
export * from "./evidence";
export * from "./provenance";
export { LOCAL_CHAIN_ID, LOCAL_MNEMONIC, LocalNode, type LocalNodeInfo } from "./local-node";
export * from "./rpc";
export * from "./jsonrpc";
