/** One measured line of `npm run bench`. */
export interface BenchRow {
  /** Section, e.g. "evidence gas". */
  section: string;
  /** What was measured. */
  name: string;
  /** Our number. */
  value: number;
  unit: string;
  /** The peer measured beside it, in the same run (same unit). */
  peer?: { name: string; value: number };
  /** The target, e.g. "≤ 47000". */
  target?: string;
  /** Whether the target is met (undefined when there is none). */
  pass?: boolean;
  note?: string;
}
