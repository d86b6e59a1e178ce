// Photo fingerprint benchmarks (issue 15): fingerprint time per image (decode + trim + 8 variants,
// and ORB features) on a generated 1600×1000 JPEG, and `match` lookup latency (multi-index hashing
// in SQLite substring tables) with 10k and 1M synthetic fingerprints indexed, and the in-memory
// multi-index with 1M, each beside a linear scan (the peer: what the index avoids). Runs inside
// `npm run bench`, or alone:
//   npx ts-node --transpile-only scripts/bench/fingerprint.ts
// BENCH_FP_SIZES (default 10000; 10000,1000000 adds 1M, a 45-minute build) sets the SQLite index sizes; BENCH_FP_MEMORY_SIZES the in-memory ones.
// The colour-layout path (flat suspects): the descriptor index's lookup and the full comparison of the
// candidates it returns, at 10k real synthetic layouts and 1M synthetic descriptors, beside the scan it
// replaced (every stored layout compared). BENCH_FP_LAYOUT_SIZES (default 10000,1000000) sets the sizes.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import {
  formatFingerprint,
  layoutDescriptors,
  layoutKey,
  nearestLayoutView,
  nearestPackedDescriptor,
  packLayoutDescriptors,
  parseFingerprint,
  suspectLayoutDescriptor,
  LAYOUT_CANDIDATES,
  LAYOUT_DESCRIPTOR_LENGTH,
  LAYOUT_GRID,
  type ColourLayout,
  PhashMultiIndex,
  scanPhashes,
  type Fingerprint,
  type FingerprintVariantName,
  FINGERPRINT_VARIANTS,
} from "../../packages/sdk/src/core";
import {
  FingerprintIndex,
  LayoutCandidateSearch,
  fingerprintImage,
  orbFeatures,
  loadOpenCv,
  MATCH_DISTANCE,
  CANDIDATE_DISTANCE,
} from "../../packages/sdk/src/fingerprint";
import type { BenchRow } from "./types";

const SECTION = "photo fingerprints";

function photoSvg(seed: number): Buffer {
  let a = seed;
  const r = () => ((a = (a * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;
  const shapes = Array.from(
    { length: 60 },
    () =>
      `<circle cx="${r() * 1600}" cy="${r() * 1000}" r="${10 + r() * 150}" fill="rgb(${(r() * 255) | 0},${(r() * 255) | 0},${(r() * 255) | 0})"/>`,
  );
  return Buffer.from(
    `<svg width="1600" height="1000" xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#cde"/>${shapes.join("")}</svg>`,
  );
}

function randomFingerprint(): Fingerprint {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => (Math.random() * 256) | 0);
  return {
    version: 1,
    variants: FINGERPRINT_VARIANTS.map((name: FingerprintVariantName) => ({
      name,
      phash: bytes(8),
      hash256: bytes(32),
    })),
  };
}

async function timeFingerprint(): Promise<BenchRow[]> {
  const jpegs = await Promise.all(
    [1, 2, 3, 4, 5].map(async (s) => sharp(photoSvg(s)).jpeg({ quality: 85 }).toBuffer()),
  );
  await loadOpenCv();
  await fingerprintImage(jpegs[0]); // warm up
  let t = process.hrtime.bigint();
  const trimmed = [];
  for (const j of jpegs) trimmed.push((await fingerprintImage(j)).trimmed);
  const fpMs = Number(process.hrtime.bigint() - t) / 1e6 / jpegs.length;
  t = process.hrtime.bigint();
  for (const g of trimmed) await orbFeatures(g);
  const orbMs = Number(process.hrtime.bigint() - t) / 1e6 / jpegs.length;
  return [
    {
      section: SECTION,
      name: "fingerprint one 1600×1000 JPEG (decode, trim, 12 variants × pHash-64 + hash-256)",
      value: Math.round(fpMs * 10) / 10,
      unit: "ms",
    },
    {
      section: SECTION,
      name: "ORB features of the same image (stored for RANSAC checks)",
      value: Math.round(orbMs * 10) / 10,
      unit: "ms",
    },
  ];
}

async function timeLookup(size: number): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-fp-"));
  const file = path.join(dir, "fingerprints.sqlite");
  let index = new FingerprintIndex(file);
  try {
    const t0 = Date.now();
    const batch = 100_000; // one transaction per add
    for (let done = 0; done < size;) {
      const n = Math.min(batch, size - done);
      index.add(
        Array.from({ length: n }, (_, k) => ({
          leaf: `0x${(done + k).toString(16).padStart(64, "0")}`,
          name: `p${done + k}.jpg`,
          file: "",
          receiptPath: "",
          sha256: "0".repeat(64),
          fingerprint: formatFingerprint(randomFingerprint()),
          chainId: 31337,
          blockNumber: 1,
          txHash: "0x00",
          anchoredAt: 0,
        })),
      );
      done += n;
    }
    const buildS = (Date.now() - t0) / 1000;
    const bytes = fs.statSync(file).size;
    index.close();
    index = new FingerprintIndex(file); // a fresh process's view: what `proofmark match` opens
    const queries = Array.from({ length: 50 }, () => randomFingerprint());
    const measure = (distance: number) => {
      const lat: number[] = [];
      for (const q of queries) {
        const t = process.hrtime.bigint();
        index.lookup(q, distance);
        lat.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      lat.sort((a, b) => a - b);
      return { median: lat[lat.length >> 1], p95: lat[Math.floor(lat.length * 0.95)] };
    };
    const t1 = process.hrtime.bigint();
    index.lookup(queries[0], MATCH_DISTANCE);
    const firstMs = Number(process.hrtime.bigint() - t1) / 1e6;
    const at10 = measure(MATCH_DISTANCE);
    const at18 = measure(CANDIDATE_DISTANCE);
    // the peer: a linear scan of every stored variant hash (substring position 0 holds each once), same distance test
    const full = queries[1].variants[0].phash;
    const view = new DataView(full.buffer, full.byteOffset);
    const [qhi, qlo] = [view.getUint32(0) >>> 0, view.getUint32(4) >>> 0];
    const pop = (x: number) => {
      x -= (x >>> 1) & 0x55555555;
      x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
      return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    };
    const t = process.hrtime.bigint();
    let within = 0;
    let scanned = 0;
    for (const blob of index.db
      .prepare("SELECT entries FROM bucket WHERE part = 0")
      .pluck()
      .iterate() as Iterable<Buffer>) {
      for (let k = 0; k < blob.length; k += 12) {
        scanned++;
        if (pop((blob.readUInt32LE(k + 4) ^ qhi) >>> 0) + pop((blob.readUInt32LE(k + 8) ^ qlo) >>> 0) <= MATCH_DISTANCE)
          within++;
      }
    }
    const scanMs = Number(process.hrtime.bigint() - t) / 1e6;
    const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
    const rows = size * FINGERPRINT_VARIANTS.length;
    return [
      {
        section: SECTION,
        name: `match lookup (SQLite substring tables), ${label} fingerprints indexed (${rows.toLocaleString("en")} variant hashes), distance ≤ ${MATCH_DISTANCE}, median of 50`,
        value: Math.round(at10.median * 100) / 100,
        unit: "ms",
        peer: { name: "linear scan of every stored hash in the same file", value: Math.round(scanMs * 10) / 10 },
        note: `p95 ${at10.p95.toFixed(2)} ms; first lookup after open ${firstMs.toFixed(1)} ms; scan read ${scanned.toLocaleString("en")} hashes, ${within} within; uniform random hashes`,
      },
      {
        section: SECTION,
        name: `match lookup (SQLite substring tables), ${label} fingerprints, distance ≤ ${CANDIDATE_DISTANCE} (the candidate radius), median of 50`,
        value: Math.round(at18.median * 100) / 100,
        unit: "ms",
        peer: { name: "linear scan of every stored hash in the same file", value: Math.round(scanMs * 10) / 10 },
        note: `p95 ${at18.p95.toFixed(2)} ms`,
      },
      {
        section: SECTION,
        name: `build the SQLite index, ${label} fingerprints (add in transactions of ${batch.toLocaleString("en")})`,
        value: Math.round(buildS * 10) / 10,
        unit: "s",
        note: `${(bytes / 1e6).toFixed(0)} MB on disk; includes generating and parsing the fingerprint texts`,
      },
    ];
  } finally {
    index.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The in-memory multi-index (core/phash-index.ts) over `size` synthetic originals × 12 variants,
 * beside a linear scan of the same typed arrays. Queries are stored hashes with 6 bits flipped
 * (an edited copy), so each has a true neighbour.
 */
function timeMemoryIndex(size: number): BenchRow[] {
  const n = size * FINGERPRINT_VARIANTS.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  let seed = 12345;
  const rnd = () => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return seed >>> 0;
  };
  for (let i = 0; i < n; i++) {
    hi[i] = rnd();
    lo[i] = rnd();
  }
  const t = process.hrtime.bigint();
  const index = new PhashMultiIndex(hi, lo);
  const buildMs = Number(process.hrtime.bigint() - t) / 1e6;
  const queries = Array.from({ length: 50 }, () => {
    const id = rnd() % n;
    let qhi = hi[id];
    let qlo = lo[id];
    for (let k = 0; k < 6; k++) {
      const bit = rnd() % 64;
      if (bit < 32) qhi = (qhi ^ (1 << bit)) >>> 0;
      else qlo = (qlo ^ (1 << (bit - 32))) >>> 0;
    }
    return [qhi, qlo];
  });
  const median = (f: (q: number[]) => void) => {
    const lat = queries.map((q) => {
      const t0 = process.hrtime.bigint();
      f(q);
      return Number(process.hrtime.bigint() - t0) / 1e6;
    });
    lat.sort((a, b) => a - b);
    return { median: lat[lat.length >> 1], p95: lat[Math.floor(lat.length * 0.95)] };
  };
  let agree = 0;
  let checked = 0;
  const within10 = median(([qhi, qlo]) => {
    index.within(qhi, qlo, MATCH_DISTANCE);
    checked += index.checked;
  });
  const within18 = median(([qhi, qlo]) => index.within(qhi, qlo, CANDIDATE_DISTANCE));
  const nearest = median(([qhi, qlo]) => index.nearest(qhi, qlo, 5, CANDIDATE_DISTANCE));
  const scan = median(([qhi, qlo]) => {
    const a = scanPhashes(hi, lo, qhi, qlo, CANDIDATE_DISTANCE);
    const b = index.within(qhi, qlo, CANDIDATE_DISTANCE);
    if (a.length === b.length && a.every((h, i) => h.id === b[i].id)) agree++;
  });
  const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
  const note = `${n.toLocaleString("en")} variant hashes; tables built in ${(buildMs / 1000).toFixed(1)} s; uniform random hashes`;
  return [
    {
      section: SECTION,
      name: `in-memory multi-index, ${label} fingerprints: all within ${MATCH_DISTANCE} bits, median of 50`,
      value: Math.round(within10.median * 100) / 100,
      unit: "ms",
      peer: { name: "linear scan of the same arrays", value: Math.round(scan.median * 10) / 10 },
      note: `${note}; p95 ${within10.p95.toFixed(2)} ms; ${Math.round(checked / queries.length)} candidates checked per query; the index's hits equal the scan's for ${agree}/${queries.length} queries (at ${CANDIDATE_DISTANCE} bits)`,
    },
    {
      section: SECTION,
      name: `in-memory multi-index, ${label} fingerprints: all within ${CANDIDATE_DISTANCE} bits (the candidate radius), median of 50`,
      value: Math.round(within18.median * 100) / 100,
      unit: "ms",
      peer: { name: "linear scan of the same arrays", value: Math.round(scan.median * 10) / 10 },
      note: `p95 ${within18.p95.toFixed(2)} ms`,
    },
    {
      section: SECTION,
      name: `in-memory multi-index, ${label} fingerprints: 5 nearest within ${CANDIDATE_DISTANCE} bits (early exit), median of 50`,
      value: Math.round(nearest.median * 100) / 100,
      unit: "ms",
      peer: { name: "linear scan of the same arrays", value: Math.round(scan.median * 10) / 10 },
      note: `p95 ${nearest.p95.toFixed(2)} ms`,
    },
  ];
}

/** A seeded generator (xorshift32) of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** A random smooth colour layout (a sky, a gradient, a soft pattern): a few low-frequency waves of lightness and colour. */
function randomLayout(rnd: () => number): ColourLayout {
  const waves = (amplitude: number) =>
    Array.from({ length: 3 }, () => ({
      fx: rnd() * 2.5,
      fy: rnd() * 2.5,
      phase: rnd() * 2 * Math.PI,
      amplitude: amplitude * rnd(),
    }));
  const planes = [
    { base: 30 + rnd() * 40, waves: waves(20) },
    { base: -15 + rnd() * 30, waves: waves(12) },
    { base: -15 + rnd() * 30, waves: waves(12) },
  ];
  const n = LAYOUT_GRID;
  const grid = new Uint8Array(n * n * 4);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const [L, a, b] = planes.map(
        (p) =>
          p.base +
          p.waves.reduce((s, w) => s + w.amplitude * Math.cos((2 * Math.PI * (w.fx * x + w.fy * y)) / n + w.phase), 0),
      );
      const light = Math.max(0, Math.min(10000, Math.round(L * 100)));
      const i = 4 * (y * n + x);
      grid[i] = light >> 8;
      grid[i + 1] = light & 0xff;
      grid[i + 2] = Math.max(0, Math.min(255, Math.round(a + 128)));
      grid[i + 3] = Math.max(0, Math.min(255, Math.round(b + 128)));
    }
  }
  return { name: "layout", width: 400 + Math.floor(rnd() * 800), height: 300 + Math.floor(rnd() * 600), grid };
}

/** An edited copy's layout: the stored one with every cell's L*, a*, b* moved by up to ±`by`. */
function noisyLayout(layout: ColourLayout, rnd: () => number, by: number): ColourLayout {
  const grid = layout.grid.slice();
  for (let i = 0; i < grid.length; i += 4) {
    const light = Math.max(0, Math.min(10000, ((grid[i] << 8) | grid[i + 1]) + Math.round((rnd() * 2 - 1) * by * 100)));
    grid[i] = light >> 8;
    grid[i + 1] = light & 0xff;
    for (const c of [2, 3]) grid[i + c] = Math.max(0, Math.min(255, grid[i + c] + Math.round((rnd() * 2 - 1) * by)));
  }
  return { ...layout, grid };
}

function pmfp2(layout: ColourLayout, rnd: () => number): string {
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
  return formatFingerprint({
    version: 2,
    variants: FINGERPRINT_VARIANTS.filter((v) => v !== "untrimmed").map((name) => ({
      name,
      phash: bytes(8),
      hash256: bytes(32),
    })),
    layouts: [layout],
  });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)];

/**
 * The colour-layout stage of `match` (`matchImage` after the hash and local features found nothing,
 * or the suspect is flat): the descriptor index's nearest LAYOUT_CANDIDATES, then the full comparison
 * (`nearestLayoutView`) of each — and, beside it, what the scan it replaced costs per stored layout.
 *
 * 10k: `size` originals with real random smooth layouts, added through `FingerprintIndex.add` (their
 * descriptors and keys computed as `stamp` stores them); the stage runs as `matchImage` runs it, on an
 * edited copy (every cell moved by up to ±2 units) of a stored layout.
 * 1M: computing 1M layouts' descriptors would take ~45 min (2.5 ms each), so the rows are written
 * straight into the descriptor index: 2,000 real layouts' descriptors, each original one of them
 * moved as a whole by a random offset (σ `JITTER` per number: 1M distinct originals, 500 look-alikes
 * around each real layout — a crowded index). The stage is the lookup in that file plus the full
 * comparison of the candidates' real layouts.
 */
const JITTER = 0.05;

async function timeLayoutStage(size: number, rnd: () => number): Promise<BenchRow[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-layout-"));
  const file = path.join(dir, "fingerprints.sqlite");
  const label = size >= 1_000_000 ? `${size / 1_000_000}M` : `${size / 1000}k`;
  let index = new FingerprintIndex(file);
  const synthetic = size > 100_000;
  const poolSize = synthetic ? 2000 : size;
  const pool = Array.from({ length: poolSize }, () => randomLayout(rnd));
  const offsets = new Float32Array(synthetic ? size * LAYOUT_DESCRIPTOR_LENGTH : 0);
  let poolDescriptors: Float64Array[][] = [];
  let poolFlat = new Float64Array(0);
  let generateS = 0;
  try {
    const t0 = Date.now();
    if (!synthetic) {
      for (let done = 0; done < size; done += 1000)
        index.add(
          pool.slice(done, done + 1000).map((layout, k) => ({
            leaf: `0x${(done + k).toString(16).padStart(64, "0")}`,
            name: `flat${done + k}.jpg`,
            file: "",
            receiptPath: "",
            sha256: "0".repeat(64),
            fingerprint: pmfp2(layout, rnd),
            chainId: 31337,
            blockNumber: 1,
            txHash: "0x00",
            anchoredAt: 0,
          })),
        );
    } else {
      poolDescriptors = pool.map(layoutDescriptors);
      poolFlat = Float64Array.from(poolDescriptors.flatMap((views) => views.flatMap((d) => [...d])));
      const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
      for (let i = 0; i < offsets.length; i++) offsets[i] = gauss() * JITTER;
      const db = index.db;
      db.pragma("cache_size = -1000000");
      const original = db.prepare(
        "INSERT INTO original (id, leaf, name, file, receipt_path, sha256, fingerprint, chain_id, block_number, tx_hash, anchored_at) VALUES (?, ?, ?, '', '', '', 'pmfp2 synthetic', 31337, 1, '0x00', 0)",
      );
      const key = db.prepare("INSERT INTO layout_key (key, original_id, descriptors) VALUES (?, ?, ?)");
      const batch = 100_000;
      for (let from = 0; from < size; from += batch) {
        const tg = Date.now();
        // a batch's rows sorted by key: B-tree appends, not random inserts, and a key's rows together
        const rows: Array<{ key: number; id: number; packed: Uint8Array }> = [];
        const views = poolDescriptors[0].length;
        const moved = new Float64Array(views * LAYOUT_DESCRIPTOR_LENGTH);
        const keys = new Int32Array(views);
        for (let i = from; i < Math.min(size, from + batch); i++) {
          const own = poolDescriptors[i % poolSize];
          for (let v = 0; v < views; v++) {
            const at = v * LAYOUT_DESCRIPTOR_LENGTH;
            for (let j = 0; j < LAYOUT_DESCRIPTOR_LENGTH; j++)
              moved[at + j] = own[v][j] + offsets[i * LAYOUT_DESCRIPTOR_LENGTH + j];
            keys[v] = layoutKey(moved.subarray(at, at + LAYOUT_DESCRIPTOR_LENGTH));
          }
          for (let v = 0; v < views; v++) {
            if (keys.indexOf(keys[v]) < v) continue; // this key's row was written with its first view
            const list: Float64Array[] = [];
            for (let w = v; w < views; w++)
              if (keys[w] === keys[v])
                list.push(moved.subarray(w * LAYOUT_DESCRIPTOR_LENGTH, (w + 1) * LAYOUT_DESCRIPTOR_LENGTH));
            rows.push({ key: keys[v], id: i + 1, packed: packLayoutDescriptors(list) });
          }
        }
        rows.sort((x, y) => x.key - y.key || x.id - y.id);
        generateS += (Date.now() - tg) / 1000;
        db.transaction(() => {
          for (let i = from; i < Math.min(size, from + batch); i++)
            original.run(i + 1, `0x${i.toString(16).padStart(64, "0")}`, `flat${i}.jpg`);
          for (const r of rows) key.run(r.key, r.id, r.packed);
        })();
      }
    }
    const buildS = (Date.now() - t0) / 1000;
    const rows = index.db.prepare("SELECT count(*) FROM layout_key").pluck().get() as number;
    index.close();
    index = new FingerprintIndex(file); // a fresh process's view: what `proofmark match` opens
    const bytes = fs.statSync(file).size;

    // the full comparison, per stored layout: what the scan paid for each one
    const probe = noisyLayout(pool[0], rnd, 2);
    const t1 = process.hrtime.bigint();
    const per = Math.min(200, poolSize);
    for (let i = 0; i < per; i++) nearestLayoutView([probe], pool[i]);
    const perLayoutMs = Number(process.hrtime.bigint() - t1) / 1e6 / per;

    const queries = 20;
    const lookups: number[] = [];
    const stages: number[] = [];
    let found = 0;
    let agree = 0;
    let candidates = 0;
    let rowsRead = 0;
    let scanMs = 0;
    for (let q = 0; q < queries; q++) {
      const target = Math.floor(rnd() * size);
      let suspect: ColourLayout;
      let descriptor: Float64Array;
      if (synthetic) {
        // an edited copy of the target: its layout's cells moved, then the target's offset added to its descriptor
        suspect = noisyLayout(pool[target % poolSize], rnd, 2);
        descriptor = suspectLayoutDescriptor(suspect).map((v, j) => v + offsets[target * LAYOUT_DESCRIPTOR_LENGTH + j]);
      } else {
        suspect = noisyLayout(pool[target], rnd, 2);
        descriptor = suspectLayoutDescriptor(suspect);
      }
      const t = process.hrtime.bigint();
      const present = index.countLayoutOriginals(LAYOUT_CANDIDATES + 1);
      const nearest = present > LAYOUT_CANDIDATES ? index.nearestLayoutOriginals([descriptor], LAYOUT_CANDIDATES) : [];
      const lookupMs = Number(process.hrtime.bigint() - t) / 1e6;
      let best: { id: number; distance: number } | undefined;
      for (const o of nearest) {
        const layout = synthetic ? pool[(o.id - 1) % poolSize] : parseFingerprint(o.fingerprint).layouts![0];
        const { distance } = nearestLayoutView([suspect], layout);
        if (!best || distance < best.distance) best = { id: o.id, distance };
      }
      stages.push(Number(process.hrtime.bigint() - t) / 1e6);
      lookups.push(lookupMs);
      candidates += nearest.length;
      if (nearest.some((o) => o.id === target + 1)) found++;
      // the work the lookup did, and what an exact descriptor scan gives (synthetic: over the offsets in memory)
      const search = new LayoutCandidateSearch([descriptor], LAYOUT_CANDIDATES);
      const read = index.db
        .prepare("SELECT original_id, descriptors FROM layout_key WHERE key IN (SELECT value FROM json_each(?))")
        .raw();
      for (const keys of search.rounds()) {
        search.take(
          (read.all(JSON.stringify(keys)) as Array<[number, Buffer]>).map(([id, descriptors]) => ({ id, descriptors })),
        );
        if (search.enough) break;
      }
      rowsRead += search.rows;
      if (q < 5) {
        const ts = process.hrtime.bigint();
        const exact: Array<[number, number]> = [];
        if (synthetic) {
          // every view of every original: the query less the original's offset against the pool's views
          const n = LAYOUT_DESCRIPTOR_LENGTH;
          const views = poolDescriptors[0].length;
          const q = new Float64Array(n);
          for (let i = 0; i < size; i++) {
            for (let j = 0; j < n; j++) q[j] = descriptor[j] - offsets[i * n + j];
            const base = (i % poolSize) * views * n;
            let dmin = Infinity;
            for (let v = 0; v < views; v++) {
              let sum = 0;
              for (let j = 0; j < n; j++) sum += (q[j] - poolFlat[base + v * n + j]) ** 2;
              if (sum < dmin) dmin = sum;
            }
            exact.push([i + 1, Math.sqrt(dmin)]);
          }
        } else {
          // every row of the descriptor index in the same file: each stored view's descriptor compared
          const byId = new Map<number, number>();
          for (const [id, packed] of index.db
            .prepare("SELECT original_id, descriptors FROM layout_key")
            .raw()
            .iterate() as Iterable<[number, Buffer]>) {
            const d = nearestPackedDescriptor(descriptor, packed);
            if (d < (byId.get(id) ?? Infinity)) byId.set(id, d);
          }
          exact.push(...byId);
        }
        scanMs += Number(process.hrtime.bigint() - ts) / 1e6;
        const top = new Set(
          exact
            .sort((a, b) => a[1] - b[1])
            .slice(0, LAYOUT_CANDIDATES)
            .map(([id]) => id),
        );
        agree += nearest.filter((o) => top.has(o.id)).length / LAYOUT_CANDIDATES;
      }
    }
    const kind = synthetic
      ? `${size.toLocaleString("en")} synthetic originals (2,000 real layouts' descriptors, each moved by a random offset, σ ${JITTER})`
      : `${size.toLocaleString("en")} originals with random smooth layouts, added as stamp adds them`;
    const scanS = (perLayoutMs * size) / 1000;
    return [
      {
        section: SECTION,
        name: `match, colour-layout stage (flat suspect), ${label} layouts indexed: descriptor lookup + full comparison of the ≤ ${LAYOUT_CANDIDATES} nearest, median of ${queries}`,
        value: Math.round(median(stages) * 10) / 10,
        unit: "ms",
        peer: {
          name: `the scan it replaced: every stored layout compared (${perLayoutMs.toFixed(2)} ms per layout measured on ${per}, × ${label}: extrapolated)`,
          value: Math.round(scanS * 1000),
        },
        note: `p95 ${p95(stages).toFixed(1)} ms; ${kind}; own original among the candidates for ${found}/${queries} edited copies; ${Math.round(candidates / queries)} candidates compared per query`,
      },
      {
        section: SECTION,
        name: `colour-layout descriptor lookup alone (SQLite layout_key, multi-probe LSH), ${label} layouts, median of ${queries}`,
        value: Math.round(median(lookups) * 100) / 100,
        unit: "ms",
        peer: {
          name: synthetic
            ? "exact nearest descriptors by a scan in memory (every view of every original)"
            : "exact nearest descriptors by a scan of every row of the same table",
          value: Math.round(scanMs / Math.min(5, queries)),
        },
        note: `p95 ${p95(lookups).toFixed(1)} ms; ${Math.round(rowsRead / queries).toLocaleString("en")} index rows read per lookup (of ${rows.toLocaleString("en")}); ${Math.round((100 * agree) / Math.min(5, queries))} % of the exact ${LAYOUT_CANDIDATES} nearest by descriptor returned (5 queries)`,
      },
      {
        section: SECTION,
        name: `build the colour-layout index, ${label} layouts`,
        value: Math.round(buildS * 10) / 10,
        unit: "s",
        note: `${(bytes / 1e6).toFixed(0)} MB on disk (${rows.toLocaleString("en")} key rows); ${synthetic ? `rows written directly (descriptors of 2,000 layouts, offsets added; ${generateS.toFixed(0)} s of it computing keys and packing)` : "includes computing 16 views' descriptors per layout"}`,
      },
    ];
  } finally {
    index.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  const sizes = (process.env.BENCH_FP_SIZES ?? "10000").split(",").map(Number);
  const memorySizes = (process.env.BENCH_FP_MEMORY_SIZES ?? "1000000").split(",").map(Number);
  const layoutSizes = (process.env.BENCH_FP_LAYOUT_SIZES ?? "10000,1000000").split(",").map(Number);
  const rows = await timeFingerprint();
  for (const s of memorySizes) rows.push(...timeMemoryIndex(s));
  for (const s of sizes) rows.push(...(await timeLookup(s)));
  const rnd = seeded(20261203);
  for (const s of layoutSizes) rows.push(...(await timeLayoutStage(s, rnd)));
  return rows;
}

if (require.main === module) {
  run().then((rows) =>
    console.table(
      rows.map((r) => ({
        name: r.name,
        value: `${r.value} ${r.unit}`,
        peer: r.peer ? `${r.peer.value} ${r.unit}` : "",
        note: r.note ?? "",
      })),
    ),
  );
}
