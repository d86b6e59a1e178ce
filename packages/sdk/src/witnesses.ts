/** `@proofmark/sdk/witnesses`: independent witnesses — the stamping calendar and RFC 3161 time-stamp authorities. */
export * from "./tsa";
export * from "./calendar";
