import type { Lang } from "../core/i18n";
import { CHAIN_NAMES } from "./texts/chains";

/**
 * A human name for `chainId` in `lang`, or undefined when unknown.
 *
 * @example
 * chainName(11155111, "en"); // "Sepolia testnet"
 */
export function chainName(chainId: number, lang: Lang, configured?: Record<number, string>): string | undefined {
  return configured?.[chainId] ?? CHAIN_NAMES[chainId]?.[lang];
}

/** True for chains that exist only on one machine (their records are not independent evidence). */
export function isDevelopmentChain(chainId: number): boolean {
  return chainId === 31337 || chainId === 1337;
}
