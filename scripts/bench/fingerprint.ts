// Photo fingerprint benchmarks (issue 15): fingerprint time per image (decode + trim + 8 variants,
// and ORB features) on a generated 1600×1000 JPEG, and `match` lookup latency (multi-index hashing
// in SQLite substring tables) with 10k and 1M synthetic fingerprints indexed, and the in-memory
// multi-index with 1M, each beside a linear scan (the peer: what the index avoids). Runs inside
// `npm run bench`, or alone:
//   npx ts-node --transpile-only scripts/bench/fingerprint.ts
// BENCH_FP_SIZES (default 10000; 10000,1000000 adds 1M, a 45-minute build) sets the SQLite index sizes; BENCH_FP_MEMORY_SIZES the in-memory ones.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import sharp from "sharp";
import {
  formatFingerprint,
  PhashMultiIndex,
  scanPhashes,
  type Fingerprint,
  type FingerprintVariantName,
  FINGERPRINT_VARIANTS,
} from "../../packages/sdk/src/core";
import {
  FingerprintIndex,
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

export async function run(): Promise<BenchRow[]> {
  const sizes = (process.env.BENCH_FP_SIZES ?? "10000").split(",").map(Number);
  const memorySizes = (process.env.BENCH_FP_MEMORY_SIZES ?? "1000000").split(",").map(Number);
  const rows = await timeFingerprint();
  for (const s of memorySizes) rows.push(...timeMemoryIndex(s));
  for (const s of sizes) rows.push(...(await timeLookup(s)));
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
