import { expect } from "chai";
import { PhashMultiIndex, scanPhashes } from "@proofmark/sdk";

describe("PhashMultiIndex: in-memory multi-index hashing of pHash-64s", function () {
  this.timeout(120_000);
  let seed = 99;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  const flip = (hi: number, lo: number, bits: number): [number, number] => {
    for (let k = 0; k < bits; k++) {
      const bit = rnd() % 64;
      if (bit < 32) hi = (hi ^ (1 << bit)) >>> 0;
      else lo = (lo ^ (1 << (bit - 32))) >>> 0;
    }
    return [hi, lo];
  };
  // 20,000 random hashes plus 2,000 near copies of ten of them (clustered, like real pHashes)
  const n = 22_000;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  for (let i = 0; i < 20_000; i++) [hi[i], lo[i]] = [rnd(), rnd()];
  for (let i = 20_000; i < n; i++) [hi[i], lo[i]] = flip(hi[i % 10], lo[i % 10], rnd() % 22);
  const index = new PhashMultiIndex(hi, lo);

  it("within(D) returns exactly what a scan returns, for every distance up to 20, and checks far fewer candidates", function () {
    for (let q = 0; q < 40; q++) {
      const [qhi, qlo] = flip(hi[q % 12], lo[q % 12], q % 9);
      for (const d of [0, 3, 4, 7, 10, 15, 18, 20]) {
        expect(JSON.stringify(index.within(qhi, qlo, d)), `query ${q} distance ${d}`).to.equal(
          JSON.stringify(scanPhashes(hi, lo, qhi, qlo, d)),
        );
        if (d <= 10) expect(index.checked).to.be.below(n / 4);
      }
    }
  });

  it("nearest(k) gives the k nearest a scan gives (same distances), stopping early when they are certain", function () {
    for (let q = 0; q < 40; q++) {
      const [qhi, qlo] = flip(hi[q % 12], lo[q % 12], q % 7);
      const scan = scanPhashes(hi, lo, qhi, qlo, 20).slice(0, 5);
      const near = index.nearest(qhi, qlo, 5, 20);
      expect(near.map((h) => h.distance)).to.deep.equal(scan.map((h) => h.distance));
      for (const h of near) expect(scan.some((s) => s.distance === h.distance)).to.equal(true);
    }
    // a query equal to a stored hash with a tight cluster around it stops at radius 0 or 1
    index.nearest(hi[20_000], lo[20_000], 1, 20);
    expect(index.checked).to.be.below(n / 10);
  });

  it("an empty index finds nothing", function () {
    const empty = new PhashMultiIndex(new Uint32Array(0), new Uint32Array(0));
    expect(empty.within(1, 2, 20)).to.deep.equal([]);
    expect(empty.nearest(1, 2, 3, 20)).to.deep.equal([]);
  });
});
