import { expect } from "chai";
import { Wallet } from "ethers";
import { signForwardRequest, signPrepareRequest, type MemberForm, type RelayPrepared } from "../../packages/sdk/src";
import { startCoop, type CoopServer } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "../portal/fixture";
import { setUpPearProduct } from "./fixture";

/** The relay over HTTP, against the embedded chain: every refusal is coded; a member holds no ETH. */
describe("co-op relay (real chain, HTTP)", function () {
  this.timeout(300_000);
  let dataDir: string;
  let coop: CoopServer;
  const farmer = new Wallet(Wallet.createRandom().privateKey);
  const outsider = new Wallet(Wallet.createRandom().privateKey);

  before(async function () {
    dataDir = tempDataDir("relay");
    // These tests prepare harvests they never send (refusals, rate limits): no limit on unsent turns
    // here (abuse.test.ts tests it).
    coop = await startCoop({ dataDir, port: 0, burst: 8, perSecond: 1, maxUnsentTurns: 0 });
    await setUpPearProduct(dataDir, [{ account: farmer.address, role: "producer", licence: "100kg" }]);
  });

  after(async () => {
    await coop?.close();
    if (dataDir) await stopChain(dataDir);
  });

  async function post(path: string, body: unknown): Promise<{ status: number; headers: Headers; json: any }> {
    const r = await fetch(`${coop.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: r.status, headers: r.headers, json: await r.json() };
  }

  /** A prepare request signed by `member`, as the member page sends it. */
  async function prepare(member: Wallet, form: MemberForm) {
    return post("/api/coop/prepare", await signPrepareRequest(member, coop.relay.prepareDomain, form));
  }

  async function prepared(member: Wallet, quantity: string, plot = "DS-07"): Promise<RelayPrepared> {
    const r = await prepare(member, { step: "harvest", product: 1, quantity, plot, date: "2026-09-01" });
    expect(r.status, JSON.stringify(r.json)).to.equal(200);
    return r.json as RelayPrepared;
  }

  it("a harvest signed by the member is recorded as the member; replaying it is refused (RELAY_NONCE_USED)", async function () {
    const p = await prepared(farmer, "10kg");
    const signed = await signForwardRequest(farmer, p.domain, p.request);
    const ok = await post("/api/coop/submit", signed);
    expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    expect(ok.json.lot).to.equal(1);
    expect(ok.json.member).to.equal(farmer.address);
    expect(await coop.chain.provider.getBalance(farmer.address)).to.equal(0n);
    const again = await post("/api/coop/submit", signed);
    expect(again.status).to.equal(409);
    expect(again.json.error.code).to.equal("RELAY_NONCE_USED");
  });

  it("a request changed after signing is refused (RELAY_SIGNATURE_INVALID); an expired one (RELAY_REQUEST_EXPIRED)", async function () {
    const p = await prepared(farmer, "10kg");
    const signed = await signForwardRequest(farmer, p.domain, p.request);
    const other = await prepared(farmer, "90kg", "DS-08");
    const tampered = await post("/api/coop/submit", { ...signed, data: other.request.data });
    expect(tampered.status).to.equal(401);
    expect(tampered.json.error.code).to.equal("RELAY_SIGNATURE_INVALID");
    const late = await signForwardRequest(farmer, p.domain, { ...p.request, deadline: 1_000_000 });
    const expired = await post("/api/coop/submit", late);
    expect(expired.json.error.code).to.equal("RELAY_REQUEST_EXPIRED");
  });

  it("refusals carry the CLI's code and wording: over quota, and a non-member (role)", async function () {
    const over = await prepare(farmer, {
      step: "harvest",
      product: 1,
      quantity: "95kg",
      plot: "DS-07",
      date: "2026-09-01",
    });
    expect(over.status).to.equal(400);
    expect(over.json.error.code).to.equal("QUOTA_EXCEEDED");
    expect(over.json.error.message).to.equal(
      `the harvest was refused: ${farmer.address} asked to harvest 95 kg but only 90 kg of the 2026 quota of 100 kg is left for product 1; nothing was changed`,
    );
    const role = await prepare(outsider, {
      step: "harvest",
      product: 1,
      quantity: "1kg",
      plot: "X",
      date: "2026-09-01",
    });
    expect(role.status).to.equal(403);
    expect(role.json.error.code).to.equal("ROLE_MISSING");
    expect(role.json.error.message).to.include(
      `${outsider.address} holds none of the roles admin / producer of product 1`,
    );
  });

  it("rate-limits each member (429 + Retry-After), not the others", async function () {
    const member = new Wallet(Wallet.createRandom().privateKey);
    const request = (await prepared(farmer, "1kg")).request;
    let limited;
    for (let i = 0; i < 12 && !limited; i++) {
      const r = await post("/api/coop/submit", { ...request, from: member.address, signature: "0x" });
      if (r.status === 429) limited = r;
    }
    expect(limited, "the bucket (burst 8) runs out").not.to.equal(undefined);
    expect(limited!.json.error.code).to.equal("RELAY_RATE_LIMITED");
    expect(Number(limited!.headers.get("retry-after"))).to.be.greaterThanOrEqual(1);
    const other = await post("/api/coop/submit", { ...(await prepared(farmer, "1kg")).request, signature: "0x" });
    expect(other.status, "another member is not limited").not.to.equal(429);
  });

  it("rate-limits each member's prepares too, counting only prepares the member signed", async function () {
    const member = new Wallet(Wallet.createRandom().privateKey);
    const form: MemberForm = { step: "harvest", product: 1, quantity: "1kg", plot: "X", date: "2026-09-01" };
    // Unsigned prepares in the member's name are refused before they touch the member's bucket.
    for (let i = 0; i < 12; i++) {
      const r = await post("/api/coop/prepare", { member: member.address, form });
      expect(r.status).to.equal(401);
    }
    const codes: string[] = [];
    for (let i = 0; i < 12 && !codes.includes("RELAY_RATE_LIMITED"); i++)
      codes.push((await prepare(member, form)).json.error.code);
    // The member holds no role: refused as such until the bucket (burst 8) runs out.
    expect(codes[0]).to.equal("ROLE_MISSING");
    expect(codes.indexOf("RELAY_RATE_LIMITED"), codes.join(" ")).to.be.within(8, 10);
    const other = await prepare(outsider, form);
    expect(other.json.error.code, "another member is not limited").to.equal("ROLE_MISSING");
  });

  it("refuses what the relayer cannot pay for (RELAY_CANNOT_PAY); nothing is sent", async function () {
    const relayer = await coop.relay.relayer.getAddress();
    const balance = await coop.chain.provider.getBalance(relayer);
    await coop.chain.provider.send("anvil_setBalance", [relayer, "0x1"]);
    try {
      const p = await prepared(farmer, "1kg");
      const r = await post("/api/coop/submit", await signForwardRequest(farmer, p.domain, p.request));
      expect(r.status).to.equal(503);
      expect(r.json.error.code).to.equal("RELAY_CANNOT_PAY");
      expect(r.json.error.details.relayer).to.equal(relayer);
    } finally {
      await coop.chain.provider.send("anvil_setBalance", [relayer, `0x${balance.toString(16)}`]);
    }
  });
});
