import { expect } from "chai";
import {
  LATENCY_BUCKETS,
  LatencyHistogram,
  histogramDelta,
  histogramQuantile,
  readHistogram,
} from "../../packages/sdk/src/calendar/metrics";

/** The exact q-quantile of sorted values (nearest rank). */
function exact(q: number, sorted: number[]): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

/** The bucket bounds (seconds) around a value: the quantile estimate must fall between them. */
function bucketOf(seconds: number): [number, number] {
  const i = LATENCY_BUCKETS.findIndex((le) => seconds <= le);
  return [i <= 0 ? 0 : LATENCY_BUCKETS[i - 1], i < 0 ? Infinity : LATENCY_BUCKETS[i]];
}

describe("calendar metrics: Prometheus histograms and their quantiles", function () {
  it("writes cumulative buckets, _sum and _count in the text format, and reads them back", function () {
    const h = new LatencyHistogram("t_seconds", "a test");
    for (const ms of [0.05, 0.1, 0.3, 4, 4, 9.99, 10, 10.01, 12_000]) h.observeMs(ms);
    const text = h.exposition();
    expect(text).to.match(/^# HELP t_seconds a test\n# TYPE t_seconds histogram\n/);
    // le is inclusive: 0.1 ms is in le=0.0001, 10 ms in le=0.01, 10.01 ms in le=0.015
    expect(text).to.include('t_seconds_bucket{le="0.0001"} 2\n');
    expect(text).to.include('t_seconds_bucket{le="0.005"} 5\n');
    expect(text).to.include('t_seconds_bucket{le="0.01"} 7\n');
    expect(text).to.include('t_seconds_bucket{le="0.015"} 8\n');
    expect(text).to.include('t_seconds_bucket{le="10"} 8\n');
    expect(text).to.include('t_seconds_bucket{le="+Inf"} 9\n');
    expect(text).to.include("t_seconds_count 9\n");
    const r = readHistogram(text, "t_seconds")!;
    expect(r.count).to.equal(9);
    expect(r.sum).to.be.closeTo(12.03845, 1e-9);
    expect(r.buckets).to.have.length(LATENCY_BUCKETS.length + 1);
    expect(r.buckets.map((b) => b.count)).to.satisfy((c: number[]) => c.every((n, i) => i === 0 || n >= c[i - 1]));
    expect(readHistogram(text, "other_seconds")).to.equal(undefined);
  });

  it("a window is the difference of two readings; its quantiles fall in the bucket of the exact ones", function () {
    const h = new LatencyHistogram("w_seconds", "window");
    for (let i = 0; i < 1000; i++) h.observeMs(200 + i); // before the window: 0.2–1.2 s
    const before = readHistogram(h.exposition(), "w_seconds")!;
    // the window: a log-normal-ish spread of 0.05–60 ms
    const values: number[] = [];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (x * 1103515245 + 12345) % 2 ** 31;
      const ms = 0.05 * Math.exp((x / 2 ** 31) * Math.log(1200));
      values.push(ms / 1000);
      h.observeMs(ms);
    }
    const window = histogramDelta(readHistogram(h.exposition(), "w_seconds")!, before);
    expect(window.count).to.equal(20_000);
    values.sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99, 0.999]) {
      const [lo, hi] = bucketOf(exact(q, values));
      const estimate = histogramQuantile(q, window);
      expect(estimate, `q=${q}`).to.be.within(lo, hi);
    }
  });

  it("follows histogram_quantile at the edges: empty is NaN, the +Inf bucket gives the largest bound, the first bucket starts at 0", function () {
    const empty = new LatencyHistogram("e_seconds", "empty");
    expect(Number.isNaN(histogramQuantile(0.99, readHistogram(empty.exposition(), "e_seconds")!))).to.equal(true);
    const slow = new LatencyHistogram("s_seconds", "slow");
    for (let i = 0; i < 10; i++) slow.observeMs(60_000);
    expect(histogramQuantile(0.5, readHistogram(slow.exposition(), "s_seconds")!)).to.equal(10);
    const fast = new LatencyHistogram("f_seconds", "fast");
    for (let i = 0; i < 4; i++) fast.observeMs(0.01);
    // four observations in [0, 0.1 ms]: the median interpolates to half the first bound
    expect(histogramQuantile(0.5, readHistogram(fast.exposition(), "f_seconds")!)).to.be.closeTo(0.00005, 1e-12);
  });
});
