import type { Texts } from "../../core/i18n";

/** Names of well-known EVM chains, for reports, by chain id. A name from the user's config wins. */
export const CHAIN_NAMES: Record<number, Texts> = {
  1: { en: "Ethereum Mainnet", zh: "以太坊主网" },
  10: { en: "OP Mainnet", zh: "OP 主网" },
  56: { en: "BNB Smart Chain", zh: "BNB 智能链" },
  137: { en: "Polygon PoS", zh: "Polygon PoS" },
  8453: { en: "Base", zh: "Base" },
  17000: { en: "Holesky testnet", zh: "Holesky 测试网" },
  42161: { en: "Arbitrum One", zh: "Arbitrum One" },
  560048: { en: "Hoodi testnet", zh: "Hoodi 测试网" },
  11155111: { en: "Sepolia testnet", zh: "Sepolia 测试网" },
  31337: { en: "Proofmark local chain (Anvil, development only)", zh: "Proofmark 本地链（Anvil，仅供开发）" },
};
