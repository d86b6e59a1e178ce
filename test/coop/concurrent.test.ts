import { expect } from "chai";
import { Wallet } from "ethers";
import {
  lotClass,
  parseQuantity,
  signForwardRequest,
  signPrepareRequest,
  type MemberForm,
  type RelayPrepared,
} from "../../packages/sdk/src";
import { startCoop, type CoopServer } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "../portal/fixture";
import { setUpPearProduct } from "./fixture";

/**
 * Many members recording at once through one relay: every harvest and packing names a lot id in
 * its signed event document, so the relay gives the next lot id one request at a time. All
 * members' requests land, each document names the lot the registry gave, and quotas and mass
 * balance still hold.
 */
describe("co-op relay: members recording at once (real chain, HTTP)", function () {
  this.timeout(600_000);
  const FARMS = 6;
  const HOLD = 6;
  let dataDir: string;
  let coop: CoopServer;
  const farms = Array.from({ length: FARMS }, () => new Wallet(Wallet.createRandom().privateKey));
  const small = new Wallet(Wallet.createRandom().privateKey);
  const packers = [0, 1].map(() => new Wallet(Wallet.createRandom().privateKey));
  let farmLots: number[] = [];

  before(async function () {
    dataDir = tempDataDir("relay-concurrent");
    coop = await startCoop({ dataDir, port: 0, burst: 20, perSecond: 5, holdSeconds: HOLD });
    await setUpPearProduct(dataDir, [
      ...farms.map((f) => ({ account: f.address, role: "producer" as const, licence: "100kg" })),
      { account: small.address, role: "producer", licence: "10kg" },
      ...packers.map((p) => ({ account: p.address, role: "processor" as const })),
    ]);
  });

  after(async () => {
    await coop?.close();
    if (dataDir) await stopChain(dataDir);
  });

  async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
    const r = await fetch(`${coop.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: await r.json() };
  }

  /** A prepare request signed by `member` (at `signedAt`, default now), as the member page sends it. */
  async function prepare(member: Wallet, form: MemberForm, signedAt?: number): Promise<{ status: number; json: any }> {
    return post("/api/coop/prepare", await signPrepareRequest(member, coop.relay.prepareDomain, form, signedAt));
  }

  /** What the member page does: prepare, sign, submit — once, no retry; the phone takes a moment to sign. */
  async function record(member: Wallet, form: MemberForm): Promise<{ status: number; json: any }> {
    const p = await prepare(member, form);
    if (p.status !== 200) return p;
    const prepared = p.json as RelayPrepared;
    await new Promise((resolve) => setTimeout(resolve, 300));
    return post("/api/coop/submit", await signForwardRequest(member, prepared.domain, prepared.request));
  }

  async function documentText(cid: string): Promise<string> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of coop.relay.store.get(cid)) chunks.push(chunk);
    return Buffer.concat(chunks).toString("utf8");
  }

  it(`${FARMS} farms harvesting at once all land, each document names its lot; a farm over quota is refused`, async function () {
    const lotsBefore = (await coop.relay.client.counts()).lots;
    const harvests = farms.map((farm, i) =>
      record(farm, { step: "harvest", product: 1, quantity: `${20 + i}kg`, plot: `DS-${i}`, date: "2026-09-01" }),
    );
    // The small farm's licence covers one 6 kg harvest, not two: the second is refused on quota
    // while the others record.
    const smallRuns = (async () => {
      const first = await record(small, {
        step: "harvest",
        product: 1,
        quantity: "6kg",
        plot: "S-1",
        date: "2026-09-01",
      });
      const second = await record(small, {
        step: "harvest",
        product: 1,
        quantity: "6kg",
        plot: "S-2",
        date: "2026-09-01",
      });
      return [first, second];
    })();
    const results = await Promise.all(harvests);
    const [smallFirst, smallSecond] = await smallRuns;

    for (const r of results) expect(r.status, JSON.stringify(r.json)).to.equal(200);
    expect(smallFirst.status, JSON.stringify(smallFirst.json)).to.equal(200);
    expect(smallSecond.status).to.equal(400);
    expect(smallSecond.json.error.code).to.equal("QUOTA_EXCEEDED");
    expect(smallSecond.json.error.message).to.include("only 4 kg of the 2026 quota of 10 kg is left");

    farmLots = results.map((r) => r.json.lot as number);
    const lots = [...results, smallFirst].map((r) => r.json.lot as number);
    expect(new Set(lots).size).to.equal(FARMS + 1);
    expect((await coop.relay.client.counts()).lots).to.equal(lotsBefore + FARMS + 1);
    for (const [i, r] of results.entries()) {
      const lot = await coop.relay.client.lot(r.json.lot);
      expect(lot.quantity).to.equal(parseQuantity(`${20 + i}kg`, "g"));
      expect(r.json.member).to.equal(farms[i].address);
      // The signed document names exactly the lot the registry gave.
      const doc = await documentText(r.json.cid);
      expect(doc).to.include(lotClass({ giNumber: "AGI00001", lot: String(r.json.lot) }));
      for (const other of lots.filter((l) => l !== r.json.lot))
        expect(doc).not.to.include(`"${lotClass({ giNumber: "AGI00001", lot: String(other) })}"`);
    }
    for (const m of [...farms, small]) expect(await coop.chain.provider.getBalance(m.address)).to.equal(0n);
  });

  it("two packers packing the same lot at once: one lands, the other is refused on mass balance, not as stale", async function () {
    const lot = farmLots[0]; // 20 kg
    expect(lot, "the harvests above ran").to.be.a("number");
    const before = await coop.relay.client.lot(lot);
    // Each packing takes 3 × 5 kg: both together would take 30 kg of a lot of 20 kg.
    const [a, b] = await Promise.all(
      packers.map((packer) => record(packer, { step: "packing", lot, packages: 3, size: "5kg" })),
    );
    const landed = [a, b].filter((r) => r.status === 200);
    const refused = [a, b].filter((r) => r.status !== 200);
    expect(landed, JSON.stringify([a.json, b.json])).to.have.length(1);
    expect(refused).to.have.length(1);
    expect(refused[0].json.error.code).to.equal("QUANTITY_EXCEEDED");
    const after = await coop.relay.client.lot(lot);
    expect(before.remaining - after.remaining).to.equal(parseQuantity("15kg", "g"));
    const packed = await coop.relay.client.lot(landed[0].json.lot);
    expect(packed.quantity).to.equal(parseQuantity("15kg", "g"));
  });

  it("a harvest prepared and never sent keeps the next lot id only --hold seconds; sent late, it is refused as stale", async function () {
    const [a, b] = farms;
    const pa = await prepare(a, { step: "harvest", product: 1, quantity: "1kg", plot: "DS-0", date: "2026-09-03" });
    expect(pa.status, JSON.stringify(pa.json)).to.equal(200);
    const started = Date.now();
    const rb = await record(b, { step: "harvest", product: 1, quantity: "1kg", plot: "DS-1", date: "2026-09-03" });
    const waited = Date.now() - started;
    expect(rb.status, JSON.stringify(rb.json)).to.equal(200);
    expect(waited, "the second prepare waited for the first member's turn to run out").to.be.greaterThan(
      HOLD * 1000 - 1000,
    );
    expect(rb.json.lot, "the lot the first request named went to the second").to.equal(
      (pa.json as RelayPrepared).summary.newLot,
    );
    const prepared = pa.json as RelayPrepared;
    const late = await post("/api/coop/submit", await signForwardRequest(a, prepared.domain, prepared.request));
    expect(late.status).to.equal(409);
    expect(late.json.error.code).to.equal("RELAY_REQUEST_STALE");
  });

  it("prepares the member did not sign (unsigned, another key, stale, replayed) or from an account with no role are refused and take no turn at the next lot id", async function () {
    const [a, b] = farms;
    const intruder = new Wallet(Wallet.createRandom().privateKey);
    const form: MemberForm = { step: "harvest", product: 1, quantity: "1kg", plot: "DS-0", date: "2026-09-04" };
    // A's own prepare, recorded: the relay has seen this signed prepare request.
    const first = await signPrepareRequest(a, coop.relay.prepareDomain, form);
    const pa = await post("/api/coop/prepare", first);
    expect(pa.status, JSON.stringify(pa.json)).to.equal(200);
    const ra = await post(
      "/api/coop/submit",
      await signForwardRequest(a, (pa.json as RelayPrepared).domain, (pa.json as RelayPrepared).request),
    );
    expect(ra.status, JSON.stringify(ra.json)).to.equal(200);

    // Then someone else tries to hold the next lot id in A's name, every way it could.
    const byIntruder = await signPrepareRequest(intruder, coop.relay.prepareDomain, form);
    const attempts = {
      ROLE_MISSING: await post("/api/coop/prepare", byIntruder),
      RELAY_SIGNATURE_MISSING: await post("/api/coop/prepare", { member: a.address, form }),
      // The intruder's key signing a prepare request that names A.
      RELAY_SIGNATURE_INVALID: await post(
        "/api/coop/prepare",
        await signPrepareRequest(
          { getAddress: async () => a.address, signTypedData: (d, t, v) => intruder.signTypedData(d, t, v) },
          coop.relay.prepareDomain,
          form,
        ),
      ),
      RELAY_SIGNATURE_STALE: await prepare(a, form, Date.now() - 10 * 60_000),
      RELAY_SIGNATURE_REPLAYED: await post("/api/coop/prepare", first),
    };
    // B, a real member, prepares right after: no --hold wait.
    const started = Date.now();
    const pb = await prepare(b, { ...form, plot: "DS-1" });
    const waited = Date.now() - started;
    expect(pb.status, JSON.stringify(pb.json)).to.equal(200);
    expect(waited, "B's prepare did not wait for a turn someone took in A's name").to.be.lessThan(HOLD * 1000 - 2000);
    const rb = await post(
      "/api/coop/submit",
      await signForwardRequest(b, (pb.json as RelayPrepared).domain, (pb.json as RelayPrepared).request),
    );
    expect(rb.status, JSON.stringify(rb.json)).to.equal(200);
    expect(rb.json.lot).to.equal(ra.json.lot + 1);

    const status = {
      RELAY_SIGNATURE_MISSING: 401,
      RELAY_SIGNATURE_INVALID: 401,
      RELAY_SIGNATURE_STALE: 401,
      RELAY_SIGNATURE_REPLAYED: 409,
      ROLE_MISSING: 403,
    };
    for (const [code, r] of Object.entries(attempts)) {
      expect(r.json.error?.code, `${code}: ${JSON.stringify(r.json)}`).to.equal(code);
      expect(r.status, code).to.equal(status[code as keyof typeof status]);
    }
    expect(attempts.RELAY_SIGNATURE_INVALID.json.error.details.signer).to.equal(intruder.address);
    expect(attempts.ROLE_MISSING.json.error.message).to.include(
      `the harvest was refused: ${intruder.address} holds none of the roles admin / producer of product 1`,
    );
  });
});
