import { expect } from "chai";
import { PostgresScanCounts, scanBudget } from "../../packages/portal/src";
import { isProofmarkError } from "../../packages/sdk/src";
import { postgresBinDir, startPostgres, type TestPostgres } from "../helpers/postgres";

/** Scan counts shared by portal instances through a real PostgreSQL cluster. */
describe("portal scan counts in PostgreSQL (shared between instances)", function () {
  this.timeout(180_000);
  let pg: TestPostgres | undefined;

  before(async function () {
    if (!postgresBinDir()) {
      console.log("      (skipped: PostgreSQL is not installed — apt-get install -y postgresql; .ci/run does it)");
      this.skip();
    }
    pg = await startPostgres();
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
