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
    "2,026 images from Debian wallpaper packages (scripts/corpus/build.js: 400×300 tiles of 117 pictures), 40 originals × 18 edits, run 2026-12-03 01:15–01:25 UTC",
  originals: 2026,
  /** Share of (edited copy, unrelated original) pairs that `match` matched (hash, features or colour layout; candidates by hash, by local features, or the nearest original with a colour layout). */
  falseMatchRate: 0.00034,
  /** Share of edited copies whose own original `match` matched (all edits together; 7.9 % of copies by colour layout only). */
  recall: 0.9611,
  /** pHash-64 distance → share of unrelated pairs (whole image against the other's nearest variant) at or below it (`robustness.js --distances`, 4,102,650 pairs; the `untrimmed` variant included). */
  falseMatchRateByDistance: {
    0: 4e-6,
    1: 4e-6,
    2: 2.6e-5,
    3: 2.6e-5,
    4: 5.8e-5,
    5: 5.8e-5,
    6: 0.000121,
    7: 0.000121,
    8: 0.000223,
    9: 0.000223,
    10: 0.0004,
    11: 0.0004,
    12: 0.000724,
    13: 0.000725,
    14: 0.001431,
    15: 0.001432,
    16: 0.003559,
    17: 0.00356,
    18: 0.011294,
    19: 0.011305,
    20: 0.040125,
  } as Record<number, number>,
};
