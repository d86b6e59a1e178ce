const LOT_RE = /^[1-9][0-9]{0,19}$/;

/**
 * Parses a lot id from a path segment (decimal, as the chain's uint64 ids) or returns undefined.
 * Ids past 2^53 round to unsafe numbers and are refused (no chain gets near them).
 */
export function parseLotId(value: string): number | undefined {
  if (!LOT_RE.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
