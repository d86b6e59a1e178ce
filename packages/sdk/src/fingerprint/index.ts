export * from "./image";
export * from "./orb";
export * from "./index-db";
export * from "./match";
export * from "./measured";
export * from "./register";
export * from "./postgres-index";
export * from "./watermark";
