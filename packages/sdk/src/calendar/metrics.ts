/**
 * The calendar's own measurements, served at `GET /v1/metrics` in the Prometheus text exposition
 * format (version 0.0.4): cumulative histograms of how long the service itself takes, so that an
 * operator — or the bench, which runs its load generator on the same machine — can tell the
 * service's share of a client's latency from the network's and the client's.
 *
 * The histograms count from the start of the process; a window is the difference of two readings
 * (what Prometheus' `rate()` and `histogram_quantile()` do), see {@link histogramQuantile}.
 */

/** Upper bounds of the latency buckets, in seconds (finer around the 1–20 ms that matter for acknowledgements). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

/** A cumulative latency histogram with fixed buckets (one counter per bucket, like a Prometheus client's). */
export class LatencyHistogram {
  /** Observations per bucket (not cumulative); the last one is +Inf. */
  private readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  /** Records one duration, in milliseconds. */
  observeMs(ms: number): void {
    const seconds = ms / 1000;
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  /** The histogram in the text exposition format (`# HELP`, `# TYPE`, `_bucket{le=…}`, `_sum`, `_count`). */
  exposition(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    let cumulative = 0;
    for (let i = 0; i <= LATENCY_BUCKETS.length; i++) {
      cumulative += this.counts[i];
      const le = i < LATENCY_BUCKETS.length ? String(LATENCY_BUCKETS[i]) : "+Inf";
      out += `${this.name}_bucket{le="${le}"} ${cumulative}\n`;
    }
    return `${out}${this.name}_sum ${this.sum}\n${this.name}_count ${this.count}\n`;
  }
}

/** A monotonic counter in the text exposition format. */
export class Counter {
  private value = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(n = 1): void {
    this.value += n;
  }

  exposition(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${this.name} ${this.value}\n`;
  }
}

/** One histogram read from an exposition: cumulative counts per upper bound (seconds, +Inf last). */
export interface HistogramReading {
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

/**
 * Reads the histogram `name` from a text exposition (as served at `/v1/metrics`), or undefined when
 * it is absent. Only what {@link LatencyHistogram} writes is understood (no labels but `le`).
 */
export function readHistogram(exposition: string, name: string): HistogramReading | undefined {
  const buckets: Array<{ le: number; count: number }> = [];
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of exposition.split("\n")) {
    if (line.startsWith(`${name}_bucket{le="`)) {
      const m = /^[^{]+\{le="([^"]+)"\} (\S+)$/.exec(line);
      if (!m) continue;
      buckets.push({ le: m[1] === "+Inf" ? Infinity : Number(m[1]), count: Number(m[2]) });
    } else if (line.startsWith(`${name}_sum `)) sum = Number(line.slice(name.length + 5));
    else if (line.startsWith(`${name}_count `)) count = Number(line.slice(name.length + 7));
  }
  if (buckets.length === 0 || sum === undefined || count === undefined) return undefined;
  return { buckets, sum, count };
}

/** What was observed between two readings of the same histogram (`later` minus `earlier`). */
export function histogramDelta(later: HistogramReading, earlier: HistogramReading): HistogramReading {
  return {
    buckets: later.buckets.map((b, i) => ({ le: b.le, count: b.count - (earlier.buckets[i]?.count ?? 0) })),
    sum: later.sum - earlier.sum,
    count: later.count - earlier.count,
  };
}

/**
 * The q-quantile (0 < q < 1) of a histogram reading, in seconds, as Prometheus' `histogram_quantile`
 * estimates it: linear interpolation inside the bucket that holds it (the first bucket starts at 0);
 * a quantile in the +Inf bucket is the largest finite bound (the histogram cannot say more). NaN
 * when nothing was observed.
 */
export function histogramQuantile(q: number, h: HistogramReading): number {
  const total = h.buckets[h.buckets.length - 1]?.count ?? 0;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of h.buckets) {
    if (b.count >= rank) {
      if (b.le === Infinity) return lower;
      const inBucket = b.count - below;
      return inBucket > 0 ? lower + (b.le - lower) * ((rank - below) / inBucket) : b.le;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
