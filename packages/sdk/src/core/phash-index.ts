/**
 * Multi-index hashing of 64-bit perceptual hashes in memory (Norouzi, Punjani & Fleet, "Fast search
 * in Hamming space with multi-index hashing", CVPR 2012), for lookups over millions of fingerprints
 * in a long-running process (a service, a batch of captures). Pure: typed arrays in, ids out.
 *
 * Each hash is split into four 16-bit substrings; each substring position has its own table
 * (counting-sorted ids with an offset per substring value, so a bucket is one contiguous slice).
 * Two hashes within distance D agree to within ⌊D / 4⌋ bits on at least one substring (pigeonhole);
 * more finely, after probing every substring at radii 0..r, every hash within 4r + 3 has been seen.
 * `nearest` probes radius by radius and stops as soon as its k nearest are certain; `within` probes
 * to ⌊D / 4⌋. Each table keeps copies of the hashes beside the ids, so a bucket is checked in one
 * sequential sweep (four copies of the hashes: 48 bytes per hash in all).
 */

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Every 16-bit value at exactly Hamming distance `radius` from `value`, passed to `visit`. */
function atRadius(value: number, radius: number, visit: (v: number) => void): void {
  if (radius === 0) return visit(value);
  const flip = (v: number, from: number, left: number): void => {
    for (let bit = from; bit <= 16 - left; bit++) {
      const next = v ^ (1 << bit);
      if (left === 1) visit(next);
      else flip(next, bit + 1, left - 1);
    }
  };
  flip(value, 0, radius);
}

export interface PhashHit {
  /** Position of the hash in the arrays the index was built from. */
  id: number;
  distance: number;
}

export class PhashMultiIndex {
  private readonly offsets: Uint32Array[] = [];
  /** Per substring position: ids, and copies of their hashes beside them (a bucket is read in one sweep, no random access). */
  private readonly ids: Uint32Array[] = [];
  private readonly his: Uint32Array[] = [];
  private readonly los: Uint32Array[] = [];
  /** Candidates whose full distance was computed by the last search (the work the index did). */
  checked = 0;

  /** Builds the four substring tables over `hi[i] ‖ lo[i]` (the pHash-64's high and low 32 bits). */
  constructor(
    readonly hi: Uint32Array,
    readonly lo: Uint32Array,
  ) {
    const n = hi.length;
    for (let part = 0; part < 4; part++) {
      const word = part < 2 ? hi : lo;
      const shift = part % 2 === 0 ? 16 : 0;
      const offsets = new Uint32Array(65537);
      for (let i = 0; i < n; i++) offsets[((word[i] >>> shift) & 0xffff) + 1]++;
      for (let v = 0; v < 65536; v++) offsets[v + 1] += offsets[v];
      const fill = offsets.slice(0, 65536);
      const ids = new Uint32Array(n);
      const his = new Uint32Array(n);
      const los = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const at = fill[(word[i] >>> shift) & 0xffff]++;
        ids[at] = i;
        his[at] = hi[i];
        los[at] = lo[i];
      }
      this.offsets.push(offsets);
      this.ids.push(ids);
      this.his.push(his);
      this.los.push(los);
    }
  }

  get size(): number {
    return this.hi.length;
  }

  /**
   * Probes every substring at exactly `radius`. A hash near the query in two substrings is met
   * twice: only hits are de-duplicated (they are few), candidates are not marked.
   */
  private probe(qhi: number, qlo: number, radius: number, found: Map<number, number>, maxDistance: number): void {
    const chunks = [(qhi >>> 16) & 0xffff, qhi & 0xffff, (qlo >>> 16) & 0xffff, qlo & 0xffff];
    for (let part = 0; part < 4; part++) {
      const offsets = this.offsets[part];
      const ids = this.ids[part];
      const his = this.his[part];
      const los = this.los[part];
      atRadius(chunks[part], radius, (v) => {
        const end = offsets[v + 1];
        for (let k = offsets[v]; k < end; k++) {
          const d = popcount32((his[k] ^ qhi) >>> 0) + popcount32((los[k] ^ qlo) >>> 0);
          if (d <= maxDistance) found.set(ids[k], d);
        }
        this.checked += end - offsets[v];
      });
    }
  }

  private static sorted(found: Map<number, number>): PhashHit[] {
    return [...found.entries()]
      .map(([id, distance]) => ({ id, distance }))
      .sort((a, b) => a.distance - b.distance || a.id - b.id);
  }

  /** Every hash within `maxDistance` (0..63) of the query, nearest first. */
  within(qhi: number, qlo: number, maxDistance: number): PhashHit[] {
    this.checked = 0;
    const found = new Map<number, number>();
    for (let r = 0; r <= Math.floor(maxDistance / 4); r++) this.probe(qhi, qlo, r, found, maxDistance);
    return PhashMultiIndex.sorted(found);
  }

  /**
   * The `k` nearest hashes within `maxDistance`, nearest first: probes radius 0, 1, … and stops
   * once k hits lie within 4r + 3, the distance up to which radius r has seen everything.
   */
  nearest(qhi: number, qlo: number, k: number, maxDistance: number): PhashHit[] {
    this.checked = 0;
    const found = new Map<number, number>();
    for (let r = 0; r <= Math.floor(maxDistance / 4); r++) {
      this.probe(qhi, qlo, r, found, maxDistance);
      let certain = 0;
      for (const d of found.values()) if (d <= 4 * r + 3) certain++;
      if (certain >= k) break;
    }
    return PhashMultiIndex.sorted(found).slice(0, k);
  }
}

/** The peer of the index: every hash's distance computed, those within `maxDistance` kept, nearest first. */
export function scanPhashes(
  hi: Uint32Array,
  lo: Uint32Array,
  qhi: number,
  qlo: number,
  maxDistance: number,
): PhashHit[] {
  const found: PhashHit[] = [];
  for (let id = 0; id < hi.length; id++) {
    const d = popcount32((hi[id] ^ qhi) >>> 0) + popcount32((lo[id] ^ qlo) >>> 0);
    if (d <= maxDistance) found.push({ id, distance: d });
  }
  return found.sort((a, b) => a.distance - b.distance || a.id - b.id);
}
