/**
 * @proofmark/sdk — everything a program needs to stamp, verify and trace evidence with Proofmark.
 * Each area is also its own entry point: `@proofmark/sdk/core` (pure formats and checks, no I/O,
 * runs in browsers), `/chain`, `/evidence`, `/store`, `/gi`, `/report`, `/witnesses`, `/capture`,
 * `/fingerprint`, `/coop`. The public surface is pinned by test/sdk/public-surface.test.ts.
 */
export * from "./core";
export * from "./chain";
export * from "./evidence";
export * from "./store";
export * from "./gi-all";
export * from "./report";
export * from "./witnesses";
export * from "./capture";
export * from "./fingerprint";
export * from "./coop";
