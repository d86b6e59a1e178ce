/**
 * Thresholds and their measured error rates, from one run of `scripts/corpus/robustness.ts` on the
 * wallpaper corpus (see the README, "Photo fingerprints"). Update them together, from a run, never by hand.
 */

/** Default match distance (pHash-64 bits): at or below it, a hit matches by hash alone. */
export const MATCH_DISTANCE = 10;

/** Candidates up to this distance are confirmed or rejected by ORB + RANSAC. */
export const CANDIDATE_DISTANCE = 16;

/** What the corpus run measured for the default thresholds. */
export const MEASURED = {
  corpus: "pending",
  originals: 0,
  /** Share of (edited copy, unrelated original) pairs at or below MATCH_DISTANCE. */
  falseMatchRate: Number.NaN,
  /** Share of edited copies whose own original was at or below MATCH_DISTANCE (all edits together). */
  recall: Number.NaN,
  /** pHash-64 distance → share of unrelated pairs at or below it. */
  falseMatchRateByDistance: {} as Record<number, number>,
};
