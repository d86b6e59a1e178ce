import type { Hex } from "./hex";
import { BUILT_REGISTRY_CODES } from "./registry-codes.generated";
import type { KnownRegistryCode } from "./verification";

/**
 * Runtime code hashes of released registries, kept here so that receipts anchored with an earlier
 * release keep verifying after the contracts change. Add a release's hashes (from
 * registry-codes.generated.ts) when it ships; never remove one.
 */
const RELEASED: KnownRegistryCode[] = [
  {
    codeHash: "0x04299f116d1e42e58373eb41126619ab22e127d1e240b4880bd3303384c490dd",
    contract: "EvidenceRegistry",
    version: "1.0.0",
  },
  {
    codeHash: "0xa32d3d594c7ab02eb3456d33d4d894d1948a9b056ad49abb4db27c6be1869daa",
    contract: "ProvenanceRegistry",
    version: "1.0.0",
  },
  // 1.0.0 compiled for Shanghai (public L2s, consortium chains, ganache)
  {
    codeHash: "0x63b3d6234786f8e2ebb1d7238d3aaa333143d8b0665df9f3bd18e97ad9be3469",
    contract: "EvidenceRegistry",
    version: "1.0.0",
  },
  {
    codeHash: "0x4b9a89e7061558d3429f4dfed7108557c78ee4f241586102af8d23f44548a770",
    contract: "ProvenanceRegistry",
    version: "1.0.0",
  },
];

/** Every registry code this SDK knows: the released ones and the ones of this build (generated at build time from the Hardhat artifacts). */
export const KNOWN_REGISTRY_CODES: readonly KnownRegistryCode[] = [
  ...RELEASED,
  ...BUILT_REGISTRY_CODES.map((c) => ({
    codeHash: c.codeHash as Hex,
    contract: c.contract,
    version: c.version,
  })).filter((c) => !RELEASED.some((r) => r.codeHash === c.codeHash)),
];
