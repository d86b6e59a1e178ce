/** `@proofmark/sdk/gi`: GI products, lots and EPCIS events; lot traces and their assessment; scan codes. */
export * from "./gi";
export * from "./trace";
export * from "./codes";
