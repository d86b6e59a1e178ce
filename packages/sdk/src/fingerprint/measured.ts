/**
 * Thresholds and their measured error rates, from one run of `scripts/corpus/robustness.js` on the
 * wallpaper corpus (see the README, "Photo fingerprints"). Update them together, from a run, never by hand.
 */

/** Default match distance (pHash-64 bits): at or below it, a hit matches by hash alone. */
export const MATCH_DISTANCE = 10;

/** Candidates up to this distance are confirmed or rejected by ORB + RANSAC. */
export const CANDIDATE_DISTANCE = 18;

/** What the corpus run measured for the default thresholds. */
export const MEASURED = {
  corpus:
    "996 images from Debian wallpaper packages (scripts/corpus/build.js: 640×480 tiles of 96 pictures), 40 originals × 18 edits, run 2026-12-02",
  originals: 996,
  /** Share of (edited copy, unrelated original) pairs that `match` matched (hash, or features). */
  falseMatchRate: 0.000207,
  /** Share of edited copies whose own original `match` matched (all edits together). */
  recall: 0.7375,
  /** pHash-64 distance → share of unrelated pairs (whole image against the other's nearest variant) at or below it (`robustness.js --distances`, 991,020 pairs). */
  falseMatchRateByDistance: {
    0: 3e-6,
    1: 3e-6,
    2: 1e-5,
    3: 1e-5,
    4: 2.2e-5,
    5: 2.2e-5,
    6: 4.6e-5,
    7: 4.6e-5,
    8: 9.6e-5,
    9: 9.6e-5,
    10: 0.000181,
    11: 0.000181,
    12: 0.000388,
    13: 0.000388,
    14: 0.00087,
    15: 0.000872,
    16: 0.002574,
    17: 0.002578,
    18: 0.009626,
    19: 0.009645,
    20: 0.037293,
  } as Record<number, number>,
};
