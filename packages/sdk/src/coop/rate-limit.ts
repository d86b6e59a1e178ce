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

/**
 * What each key (member) used in the last `windowMs`: bytes of photos a day, or turns at the next
 * lot id that expired unsent in ten minutes. Pure: the caller passes the clock.
 */
export class RollingWindow {
  private readonly used = new Map<string, { at: number; amount: number }[]>();

  constructor(
    readonly windowMs: number,
    private readonly maxKeys = 100_000,
  ) {}

  private live(key: string, nowMs: number): { at: number; amount: number }[] {
    const list = (this.used.get(key) ?? []).filter((u) => u.at > nowMs - this.windowMs);
    if (list.length === 0) this.used.delete(key);
    else this.used.set(key, list);
    return list;
  }

  /** The amount `key` used within the window ending at `nowMs`. */
  total(key: string, nowMs: number): number {
    return this.live(key, nowMs).reduce((s, u) => s + u.amount, 0);
  }

  /**
   * Seconds (rounded up, ≥ 1) until `key` may use `amount` more without going over `cap`, or 0 when
   * it may now; Infinity when `amount` alone is over `cap`. Records nothing.
   */
  wait(key: string, amount: number, cap: number, nowMs: number): number {
    if (amount > cap) return Infinity;
    const list = this.live(key, nowMs);
    let over = list.reduce((s, u) => s + u.amount, 0) + amount - cap;
    if (over <= 0) return 0;
    for (const u of list) {
      over -= u.amount;
      if (over <= 0) return Math.max(1, Math.ceil((u.at + this.windowMs - nowMs) / 1000));
    }
    return Math.max(1, Math.ceil(this.windowMs / 1000));
  }

  /** Records that `key` used `amount` at `nowMs` (a negative amount gives back what a failure did not use). */
  add(key: string, amount: number, nowMs: number): void {
    if (!this.used.has(key) && this.used.size >= this.maxKeys)
      this.used.delete(this.used.keys().next().value as string);
    this.used.set(key, [...this.live(key, nowMs), { at: nowMs, amount }]);
  }
}
