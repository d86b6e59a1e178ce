/**
 * A token bucket per key (per member): `capacity` requests at once, refilled at `perSecond`.
 * Pure: the caller passes the clock.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    readonly perSecond: number,
    private readonly maxKeys = 100_000,
  ) {}

  /** Takes one token for `key` at `nowMs`: 0 when allowed, else the seconds to wait (rounded up, ≥ 1). */
  take(key: string, nowMs: number): number {
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.maxKeys) this.buckets.delete(this.buckets.keys().next().value as string);
      b = { tokens: this.capacity, at: nowMs };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.capacity, b.tokens + ((nowMs - b.at) / 1000) * this.perSecond);
    b.at = nowMs;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
  }
}
