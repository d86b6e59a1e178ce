export * from "./chains";
export * from "./reverify";
export * from "./model";
export * from "./html";
export * from "./fonts";
export * from "./pdf";
export * from "./certificate";
export { verifierFunctionsJs, verifierHtml } from "./verifier";
export * from "./match";
