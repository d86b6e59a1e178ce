/**
 * Lazy loaders for ESM-only packages whose package.json has no `require` entry (Node's
 * require(esm) cannot resolve them): loaded once with a real dynamic import().
 */
let car: Promise<typeof import("@ipld/car")> | undefined;
let dagPb: Promise<typeof import("@ipld/dag-pb")> | undefined;

export function loadCar(): Promise<typeof import("@ipld/car")> {
  return (car ??= import("@ipld/car"));
}

export function loadDagPb(): Promise<typeof import("@ipld/dag-pb")> {
  return (dagPb ??= import("@ipld/dag-pb"));
}
