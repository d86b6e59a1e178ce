/** What the browser bundle of the verifier re-exports from core, beside the engine (report/verifier-browser.ts). */
export { anchorOfCalldata, checkOffline } from "./verification";
export { processProof } from "./merkle";
