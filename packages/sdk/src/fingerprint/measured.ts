/**
 * Thresholds and their measured error rates, from one run of `scripts/corpus/robustness.ts` on the
 * wallpaper corpus (see the README, "Photo fingerprints"). Update them together, from a run, never by hand.
 */

/** Default match distance (pHash-64 bits): at or below it, a hit matches by hash alone. */
export const MATCH_DISTANCE = 10;

/** Candidates up to this distance are confirmed or rejected by ORB + RANSAC. */
export const CANDIDATE_DISTANCE = 18;

/** What the corpus run measured for the default thresholds. */
export const MEASURED = {
  corpus: "75 Debian wallpapers (scripts/corpus/build.js --no-tiles), 30 originals × 17 edits, run 2026-12-02",
  originals: 75,
  /** Share of (edited copy, unrelated original) pairs at or below MATCH_DISTANCE. */
  falseMatchRate: 0.000503,
  /** Share of edited copies whose own original was at or below MATCH_DISTANCE (all edits together). */
  recall: 0.7098,
  /** pHash-64 distance → share of unrelated pairs at or below it. */
  falseMatchRateByDistance: {
    0: 0.0,
    1: 0.0,
    2: 0.000026,
    3: 0.000026,
    4: 0.000053,
    5: 0.000053,
    6: 0.000212,
    7: 0.000212,
    8: 0.00045,
    9: 0.00045,
    10: 0.000503,
    11: 0.000503,
    12: 0.00053,
    13: 0.00053,
    14: 0.000662,
    15: 0.000662,
    16: 0.001696,
    17: 0.001696,
    18: 0.005803,
    19: 0.005803,
    20: 0.025808,
  } as Record<number, number>,
};
