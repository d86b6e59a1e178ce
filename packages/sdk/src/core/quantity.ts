import { ProofmarkError } from "./errors";

/**
 * Quantities with units, as people write them ("1200kg", "500 g", "1.5t", "240pcs") and as the
 * chain stores them: an integer number of the product's base unit (a GI product declares its base
 * unit, e.g. "g"). Exact: decimal arithmetic on bigints, never floating point.
 */

/** A unit: its dimension, its size in the dimension's smallest unit, and its UN/CEFACT code (EPCIS `uom`). */
export interface UnitInfo {
  readonly symbol: string;
  readonly dimension: "mass" | "volume" | "count";
  /** Size in the smallest unit of the dimension (mg, ml, piece). */
  readonly factor: bigint;
  /** UN/CEFACT Rec. 20 code used by EPCIS `uom`. */
  readonly uom: string;
}

/** Every unit the SDK understands, by symbol. */
export const UNITS: Readonly<Record<string, UnitInfo>> = Object.freeze({
  mg: { symbol: "mg", dimension: "mass", factor: 1n, uom: "MGM" },
  g: { symbol: "g", dimension: "mass", factor: 1_000n, uom: "GRM" },
  kg: { symbol: "kg", dimension: "mass", factor: 1_000_000n, uom: "KGM" },
  t: { symbol: "t", dimension: "mass", factor: 1_000_000_000n, uom: "TNE" },
  ml: { symbol: "ml", dimension: "volume", factor: 1n, uom: "MLT" },
  l: { symbol: "l", dimension: "volume", factor: 1_000n, uom: "LTR" },
  pcs: { symbol: "pcs", dimension: "count", factor: 1n, uom: "H87" },
});

const ALIASES: Record<string, string> = {
  "": "",
  mgs: "mg",
  gram: "g",
  grams: "g",
  kgs: "kg",
  kilogram: "kg",
  kilograms: "kg",
  tonne: "t",
  tonnes: "t",
  公斤: "kg",
  千克: "kg",
  克: "g",
  吨: "t",
  L: "l",
  ML: "ml",
  pc: "pcs",
  piece: "pcs",
  pieces: "pcs",
  个: "pcs",
  MGM: "mg",
  GRM: "g",
  KGM: "kg",
  TNE: "t",
  MLT: "ml",
  LTR: "l",
  H87: "pcs",
};

/** The unit named by `symbol` (also accepts UN/CEFACT codes and a few common aliases). */
export function unitInfo(symbol: string): UnitInfo {
  const key = symbol in UNITS ? symbol : (ALIASES[symbol] ?? ALIASES[symbol.toLowerCase()] ?? symbol.toLowerCase());
  const info = UNITS[key];
  if (!info) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `unknown unit "${symbol}"; use one of ${Object.keys(UNITS).join(", ")}`,
      { unit: symbol },
    );
  }
  return info;
}

const QUANTITY_RE = /^\s*([0-9][0-9_,]*(?:\.[0-9]+)?)\s*([^\s0-9.,_][^\s]*)?\s*$/u;

/**
 * Parses `text` ("1200kg", "1,200 kg", "1.5t", "500g", "240") into an integer number of
 * `baseUnit`. A number without a unit is taken in the base unit. Throws INVALID_ARGUMENT for
 * malformed text, an unknown unit, a unit of another dimension, or a value that is not a whole
 * number of base units (e.g. "0.5mg" in grams), or zero / negative values unless `allowZero`.
 *
 * @example
 * parseQuantity("1200kg", "g") // 1_200_000n
 * parseQuantity("5kg", "kg")    // 5n
 */
export function parseQuantity(text: string, baseUnit: string, options: { allowZero?: boolean } = {}): bigint {
  const base = unitInfo(baseUnit);
  const m = typeof text === "string" ? QUANTITY_RE.exec(text) : null;
  if (!m) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text}" is not a quantity; write a number and a unit, e.g. 1200kg or 500g`,
      { value: String(text) },
    );
  }
  const unit = m[2] === undefined ? base : unitInfo(m[2]);
  if (unit.dimension !== base.dimension) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text}" is a ${unit.dimension} but the product counts in ${base.symbol} (${base.dimension})`,
      {
        value: text,
        unit: unit.symbol,
        baseUnit: base.symbol,
      },
    );
  }
  if (m[1].includes(",") && !/^[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$/.test(m[1])) {
    // "1,5kg" is a decimal comma (1.5 kg) to some and a list (1 and 5 kg) to others: never guess.
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text}" is ambiguous: a comma is only a thousands separator (1,200kg); write a decimal point (1.5kg), or give each quantity on its own`,
      {
        value: text,
        reason: "ambiguous-comma",
      },
    );
  }
  const [whole, frac = ""] = m[1].replace(/[_,]/g, "").split(".");
  const scaled = BigInt(whole + frac) * unit.factor; // value × 10^frac.length in the smallest unit
  const divisor = 10n ** BigInt(frac.length) * base.factor;
  if (scaled % divisor !== 0n) {
    throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is not a whole number of ${base.symbol}`, {
      value: text,
      baseUnit: base.symbol,
    });
  }
  const value = scaled / divisor;
  if (value === 0n && !options.allowZero) {
    throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is zero; a quantity must be positive`, { value: text });
  }
  return value;
}

/**
 * Formats `amount` base units for people, exactly: in the largest unit of the dimension in which
 * it is a whole number, e.g. 1_200_000n g → "1,200 kg", 1_500n g → "1,500 g", 2e9 g → "2,000 t".
 *
 * @example
 * formatQuantity(1_200_000n, "g") // "1,200 kg"
 */
export function formatQuantity(amount: bigint, baseUnit: string): string {
  const base = unitInfo(baseUnit);
  const smallest = amount * base.factor;
  const unit = Object.values(UNITS)
    .filter(
      (u) =>
        u.dimension === base.dimension &&
        u.factor >= base.factor &&
        smallest % u.factor === 0n &&
        (smallest !== 0n || u === base),
    )
    .sort((a, b) => (a.factor > b.factor ? -1 : 1))[0];
  return `${(smallest / unit.factor).toLocaleString("en-US")} ${unit.symbol}`;
}

/** The UN/CEFACT code (EPCIS `uom`) of `unit`, e.g. "kg" → "KGM". */
export function uomOf(unit: string): string {
  return unitInfo(unit).uom;
}

/**
 * A maximum yield as written ("100%", "25 %", "2500bps", "0.25") in basis points (1–10,000).
 *
 * @example
 * parseYield("25%") // 2500
 */
export function parseYield(text: string): number {
  const t = text.trim();
  let bps: number;
  let m;
  if ((m = /^([0-9]+(?:\.[0-9]{1,2})?)\s*%$/.exec(t))) bps = Math.round(Number(m[1]) * 100);
  else if ((m = /^([0-9]+)\s*bps$/.exec(t))) bps = Number(m[1]);
  else if ((m = /^(0(?:\.[0-9]{1,4})?|1(?:\.0+)?)$/.exec(t))) bps = Math.round(Number(m[1]) * 10_000);
  else
    throw new ProofmarkError("INVALID_ARGUMENT", `"${text}" is not a yield; write a percentage such as 100% or 25%`, {
      value: text,
    });
  if (bps < 1 || bps > 10_000)
    throw new ProofmarkError("INVALID_ARGUMENT", `a maximum yield of ${text} is not within 0.01%–100%`, {
      value: text,
    });
  return bps;
}

/**
 * Splits a list of quantities written in one argument ("400kg,800kg") into its items, refusing a
 * list that could be read two ways: "1,5kg" is a decimal comma to some and the list 1, 5 kg to
 * others, so every item of a list must carry its own unit.
 *
 * @example
 * splitQuantityList("400kg,800kg") // ["400kg", "800kg"]
 * splitQuantityList("1,5kg")        // throws INVALID_ARGUMENT (ambiguous)
 */
export function splitQuantityList(text: string): string[] {
  const items = text
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);
  if (items.length > 1 && items.some((v) => /^[0-9._]+$/.test(v))) {
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `"${text}" is ambiguous: a decimal comma (${text.replace(",", ".")}) or a list (${items.join(" and ")})? ` +
        "Write a decimal point (1.5kg), or give each quantity with its unit (1kg,5kg)",
      { value: text, reason: "ambiguous-comma" },
    );
  }
  return items;
}
