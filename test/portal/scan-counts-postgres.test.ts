import { expect } from "chai";
import { PostgresScanCounts, scanBudget } from "../../packages/portal/src";
import { isProofmarkError } from "../../packages/sdk/src";
import { startPostgresOrSkip, type TestPostgres } from "../helpers/postgres";

/** Scan counts shared by portal instances through a real PostgreSQL cluster. */
describe("portal scan counts in PostgreSQL (shared between instances)", function () {
  this.timeout(180_000);
  let pg: TestPostgres | undefined;

  before(async function () {
    pg = await startPostgresOrSkip(this);
  });

  after(() => pg?.stop());

  it("100 scans of one serial from 100 client addresses spread over 3 instances count 100", async () => {
    const windowMs = 10 * 60_000;
    const instances = await Promise.all(
      [1, 2, 3].map(() => PostgresScanCounts.open(pg!.url, windowMs, scanBudget(windowMs))),
    );
    try {
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 100 }, (_v, i) => instances[i % 3].record("SERIAL100", `10.0.0.${i}`, now + i)),
      );
      expect(results.every((r) => r.counted)).to.equal(true);
      // Every scan saw its own total: no count lost or doubled under concurrency.
      expect(results.map((r) => r.count).sort((a, b) => a - b)).to.deep.equal(
        Array.from({ length: 100 }, (_v, i) => i + 1),
      );
      for (const c of instances) expect((await c.read("SERIAL100"))!.count).to.equal(100);
      // The same client again, on another instance, within the window: not counted.
      const again = await instances[1].record("SERIAL100", "10.0.0.0", now + 1_000);
      expect(again).to.include({ counted: false, count: 100 });
    } finally {
      await Promise.all(instances.map((c) => c.close()));
    }
  });

  it("first scans of 20 serials by 30 clients each, all at once over 3 instances (batched writes): every total exact, no deadlock", async () => {
    const windowMs = 10 * 60_000;
    const instances = await Promise.all(
      [1, 2, 3].map(() => PostgresScanCounts.open(pg!.url, windowMs, scanBudget(windowMs))),
    );
    try {
      const now = Date.now();
      // Each instance gets the scans in another order, so batches meet the same rows in any order.
      const scans = Array.from({ length: 600 }, (_v, i) => ({
        serial: `SMANY${i % 20}`,
        client: `10.9.${Math.floor(i / 20)}.1`,
      }));
      const results = await Promise.all(
        scans.map((x, i) => instances[i % 3].record(x.serial, x.client, now + (i % 7))),
      );
      expect(results.every((r) => r.counted)).to.equal(true);
      for (let s = 0; s < 20; s++) {
        const mine = results.filter((_r, i) => scans[i].serial === `SMANY${s}`).map((r) => r.count);
        expect(
          mine.sort((a, b) => a - b),
          `SMANY${s}`,
        ).to.deep.equal(Array.from({ length: 30 }, (_v, i) => i + 1));
        expect((await instances[s % 3].read(`SMANY${s}`))!.count).to.equal(30);
      }
    } finally {
      await Promise.all(instances.map((c) => c.close()));
    }
  });

  it("one client scanning one serial 60 times at once over 3 instances is counted once; after the window, once more", async () => {
    const windowMs = 10 * 60_000;
    const instances = await Promise.all(
      [1, 2, 3].map(() => PostgresScanCounts.open(pg!.url, windowMs, scanBudget(windowMs))),
    );
    try {
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 60 }, (_v, i) => instances[i % 3].record("SERIALRACE", "198.51.100.9", now + (i % 5))),
      );
      expect(results.filter((r) => r.counted)).to.have.length(1);
      for (const c of instances) expect((await c.read("SERIALRACE"))!.count).to.equal(1);
      expect(results.every((r) => r.count === 1 || (!r.counted && r.count === 0))).to.equal(true);
      const later = await Promise.all(
        Array.from({ length: 30 }, (_v, i) =>
          instances[i % 3].record("SERIALRACE", "198.51.100.9", now + windowMs + i),
        ),
      );
      expect(later.filter((r) => r.counted)).to.have.length(1);
      expect((await instances[0].read("SERIALRACE"))!.count).to.equal(2);
    } finally {
      await Promise.all(instances.map((c) => c.close()));
    }
  });

  it("many repeated scans at once on one instance (reads batched) each see every count committed before they were asked", async () => {
    const windowMs = 10 * 60_000;
    const [a, b] = await Promise.all(
      [1, 2].map(() => PostgresScanCounts.open(pg!.url, windowMs, scanBudget(windowMs))),
    );
    try {
      const now = Date.now();
      expect(await a.record("SERIALBATCH", "203.0.113.1", now)).to.include({ counted: true, count: 1 });
      for (let i = 1; i <= 20; i++) {
        // Repeated scans on A (answered from batched reads) while B counts a new client.
        const during = Array.from({ length: 25 }, () => a.record("SERIALBATCH", "203.0.113.1", now + i));
        const counted = await b.record("SERIALBATCH", `198.51.100.${i}`, now + i);
        expect(counted).to.include({ counted: true, count: i + 1 });
        // Asked after B's count was committed: must include it, however many reads are in flight.
        const after = await Promise.all(
          Array.from({ length: 25 }, () => a.record("SERIALBATCH", "203.0.113.1", now + i)),
        );
        for (const r of after) expect(r).to.include({ counted: false, count: i + 1 });
        for (const r of await Promise.all(during)) {
          expect(r.counted).to.equal(false);
          expect(r.count).to.be.oneOf([i, i + 1]);
        }
      }
      // Distinct clients in one batch: each is answered for itself (a new one counts, the old one not).
      const mixed = await Promise.all([
        a.record("SERIALBATCH", "203.0.113.1", now + 30),
        a.record("SERIALBATCH", "203.0.113.99", now + 30),
        a.record("SERIALNEVER", "203.0.113.1", now + 30).then(() => a.read("SERIALNEVER")),
      ]);
      expect(mixed[0].counted).to.equal(false);
      expect(mixed[1].counted).to.equal(true);
      expect(mixed[2]!.count).to.equal(1);
      expect((await b.read("SERIALBATCH"))!.count).to.equal(22);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("keeps the per-address daily budget across instances (3 counted scans per address per serial per day)", async () => {
    const windowMs = 1_000;
    const [a, b] = await Promise.all(
      [1, 2].map(() => PostgresScanCounts.open(pg!.url, windowMs, scanBudget(windowMs))),
    );
    try {
      const t0 = Date.now();
      const counted = [];
      for (let i = 0; i < 6; i++)
        counted.push((await (i % 2 ? a : b).record("SERIALDAY", "192.0.2.7", t0 + i * 2_000)).counted);
      expect(counted).to.deep.equal([true, true, true, false, false, false]);
      expect((await a.read("SERIALDAY"))!.count).to.equal(3);
      // A day later the budget is fresh again.
      expect((await b.record("SERIALDAY", "192.0.2.7", t0 + 24 * 3_600_000 + 10_000)).count).to.equal(4);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses an unreachable database with PORTAL_STORE_FAILED, the password never in the message", async () => {
    const err = await PostgresScanCounts.open("postgres://portal:s3cret@127.0.0.1:1/none", 1_000).catch(
      (e: unknown) => e,
    );
    expect(isProofmarkError(err, "PORTAL_STORE_FAILED")).to.equal(true);
    expect(JSON.stringify((err as { details: unknown }).details)).to.not.include("s3cret");
    expect((err as Error).message).to.not.include("s3cret");
  });
});
