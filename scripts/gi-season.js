// The Dangshan pear season of docs/gi-season.md, defined once: the product as the registry and the
// SDK take it, and the CLI commands that register it. The demo prints and runs these commands, the
// provenance bench measures them and test/cli/gi.test.ts asserts each of them.
"use strict";

/** The GI product: 砀山酥梨, administered by the cooperative `coop`. */
const DANGSHAN_PEAR = Object.freeze({
  name: "砀山酥梨",
  nameEn: "Dangshan Su Pear",
  giNumber: "AGI00001",
  region: "安徽省砀山县",
  unit: "g",
  admin: "coop",
});

/**
 * `proofmark gi product create …` for the season's product, as the registrar (with `--max-yield`
 * when given, e.g. "100%").
 * @param {{ maxYield?: string }} [opts]
 * @returns {string[]}
 */
function productCreateArgs(opts = {}) {
  const p = DANGSHAN_PEAR;
  return [
    "gi",
    "product",
    "create",
    "--name",
    p.name,
    "--name-en",
    p.nameEn,
    "--gi-number",
    p.giNumber,
    "--region",
    p.region,
    "--unit",
    p.unit,
    ...(opts.maxYield ? ["--max-yield", opts.maxYield] : []),
    "--admin",
    p.admin,
    "--as",
    "registrar",
  ];
}

module.exports = { DANGSHAN_PEAR, productCreateArgs };
