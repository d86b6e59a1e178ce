/**
 * The portal's one cache type: a map bounded in entries (the oldest entry goes first) that can also
 * refuse keys that are too long, and whose entries can be tied to a version (the index's: an entry
 * made for another version is a miss). Every memo of the portal (request targets, languages, traces,
 * API bodies, serials, formatted times) is one of these, so none can grow without bound.
 *
 * @example
 * const traces = new BoundedCache<number, TraceView>(5_000);
 * traces.get(7, status.version) ?? traces.set(7, build(7), status.version);
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, { value: V; version: number }>();

  /** `maxEntries`: how many entries are kept; `maxKeyLength`: string keys longer than this are never kept. */
  constructor(
    readonly maxEntries: number,
    private readonly maxKeyLength = Infinity,
  ) {}

  /** The value kept for `key` (made for `version`, when one is given), else undefined. */
  get(key: K, version?: number): V | undefined {
    const e = this.entries.get(key);
    if (e === undefined || (version !== undefined && e.version !== version)) return undefined;
    return e.value;
  }

  /** Keeps `value` for `key` (for `version`) and returns it; the oldest entry goes when full. */
  set(key: K, value: V, version = 0): V {
    if (typeof key === "string" && key.length > this.maxKeyLength) return value;
    if (!this.entries.has(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { value, version });
    return value;
  }

  /** The value for `key`, made by `make` on a miss and kept. */
  getOrSet(key: K, make: () => V, version?: number): V {
    const hit = this.get(key, version);
    return hit !== undefined ? hit : this.set(key, make(), version);
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
