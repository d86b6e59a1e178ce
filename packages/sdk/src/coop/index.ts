/** `@proofmark/sdk/coop`: members record GI steps from a phone; the co-op's relay pays the gas (ERC-2771). */
export * from "./forward-request";
export * from "./rate-limit";
export * from "./steps";
export * from "./relay";
