import { expect } from "chai";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { Wallet } from "ethers";
import {
  GiSession,
  RollingWindow,
  openChain,
  photoUploadHeaders,
  signForwardRequest,
  signPhotoUpload,
  signPrepareRequest,
  type MemberForm,
  type RelayPrepared,
  type SignedPhotoUpload,
} from "../../packages/sdk/src";
import { startCoop, type CoopServer } from "../../packages/portal/src";
import { stopChain, tempDataDir } from "../portal/fixture";
import { setUpPearProduct } from "./fixture";

/**
 * What a member key, or anyone who reaches the relay, could do to the co-op short of recording:
 * fill the content store's disk with photos, or hold the next lot id by preparing harvests and
 * never sending them. Real chain, the relay over HTTP.
 */
describe("co-op relay: photo uploads and unsent turns (real chain, HTTP)", function () {
  this.timeout(300_000);
  const HOLD = 2;
  const ALLOWANCE = 3000;
  let dataDir: string;
  let coop: CoopServer;
  const farmer = new Wallet(Wallet.createRandom().privateKey);
  const farmer2 = new Wallet(Wallet.createRandom().privateKey);
  const idler = new Wallet(Wallet.createRandom().privateKey);
  const inspector = new Wallet(Wallet.createRandom().privateKey);
  const intruder = new Wallet(Wallet.createRandom().privateKey);
  const spoiler = new Wallet(Wallet.createRandom().privateKey);

  before(async function () {
    dataDir = tempDataDir("relay-abuse");
    coop = await startCoop({
      dataDir,
      port: 0,
      burst: 40,
      perSecond: 5,
      holdSeconds: HOLD,
      photoBytesPerDay: ALLOWANCE,
      maxUnsentTurns: 2,
    });
    await setUpPearProduct(dataDir, [
      ...[farmer, farmer2, idler, spoiler].map((f) => ({
        account: f.address,
        role: "producer" as const,
        licence: "100kg",
      })),
      { account: inspector.address, role: "inspector" },
    ]);
  });

  after(async () => {
    await coop?.close();
    if (dataDir) await stopChain(dataDir);
  });

  /** The content store as the disk sees it: its roots, files and bytes. */
  async function storeSize(): Promise<{ roots: number; files: number; bytes: number }> {
    const roots = (await coop.relay.store.list()).length; // opens the store (its folder) first
    let files = 0;
    let bytes = 0;
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else {
          files++;
          bytes += fs.statSync(p).size;
        }
      }
    };
    // The store's folder is made at its first write.
    if (fs.existsSync(path.join(dataDir, "store"))) walk(path.join(dataDir, "store"));
    return { roots, files, bytes };
  }

  async function upload(
    headers: Record<string, string>,
    body: Uint8Array,
  ): Promise<{ status: number; headers: Headers; json: any }> {
    const r = await fetch(`${coop.url}/api/coop/photo?name=certificate.png`, {
      method: "POST",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: new Uint8Array(body),
    });
    return { status: r.status, headers: r.headers, json: await r.json() };
  }

  /** A photo upload signed by `member`, as the member page sends it. */
  async function signed(member: Wallet, bytes: Uint8Array, signedAt?: number): Promise<SignedPhotoUpload> {
    const sha256 = `0x${createHash("sha256").update(bytes).digest("hex")}`;
    return signPhotoUpload(member, coop.relay.prepareDomain, { product: 1, sha256, size: bytes.length }, signedAt);
  }

  it("a photo upload unsigned, signed by another key, for other bytes, stale, replayed or by a member who may not harvest adds nothing to the store", async function () {
    const photo = randomBytes(1000);
    const before = await storeSize();
    const refusals: Record<string, { status: number; json: any }> = {
      unsigned: await upload({}, photo),
      intruder: await upload(photoUploadHeaders({ ...(await signed(intruder, photo)), member: farmer.address }), photo),
      otherBytes: await upload(photoUploadHeaders(await signed(farmer, photo)), randomBytes(1000)),
      longer: await upload(photoUploadHeaders(await signed(farmer, photo)), Buffer.concat([photo, randomBytes(64)])),
      stale: await upload(photoUploadHeaders(await signed(farmer, photo, Date.now() - 600_000)), photo),
      inspector: await upload(photoUploadHeaders(await signed(inspector, photo)), photo),
    };
    const codes = Object.fromEntries(
      Object.entries(refusals).map(([k, r]) => [k, `${r.status} ${r.json.error?.code}`]),
    );
    expect(codes).to.deep.equal({
      unsigned: "401 RELAY_SIGNATURE_MISSING",
      intruder: "401 RELAY_SIGNATURE_INVALID",
      otherBytes: "401 RELAY_SIGNATURE_INVALID",
      longer: "413 INPUT_TOO_LARGE",
      stale: "401 RELAY_SIGNATURE_STALE",
      inspector: "403 ROLE_MISSING",
    });
    expect(refusals.intruder.json.error.details.signer).not.to.equal(farmer.address);
    expect(refusals.otherBytes.json.error.message).to.include(`are not the ones ${farmer.address} signed for`);
    expect(await storeSize(), "nothing was added to the store").to.deep.equal(before);

    // The member's own upload is kept; the same upload again is a replay, and adds nothing.
    const mine = await signed(farmer, photo);
    const ok = await upload(photoUploadHeaders(mine), photo);
    expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    expect(ok.json.sha256).to.equal(createHash("sha256").update(photo).digest("hex"));
    const chunks: Uint8Array[] = [];
    for await (const c of coop.relay.store.get(ok.json.cid)) chunks.push(c);
    expect(Buffer.concat(chunks).equals(photo)).to.equal(true);
    const kept = await storeSize();
    expect(kept.roots).to.equal(before.roots + 1);
    const replay = await upload(photoUploadHeaders(mine), photo);
    expect(replay.status).to.equal(409);
    expect(replay.json.error.code).to.equal("RELAY_SIGNATURE_REPLAYED");
    expect(await storeSize()).to.deep.equal(kept);
  });

  it("a member's photos past its daily allowance are refused (429 RELAY_PHOTO_QUOTA + Retry-After) and not kept; another member's are", async function () {
    // farmer used 1000 of its 3000 bytes above (the refused uploads counted for nothing).
    const second = randomBytes(1500);
    const ok = await upload(photoUploadHeaders(await signed(farmer, second)), second);
    expect(ok.status, JSON.stringify(ok.json)).to.equal(200);
    const before = await storeSize();
    const third = randomBytes(1000);
    const over = await upload(photoUploadHeaders(await signed(farmer, third)), third);
    expect(over.status).to.equal(429);
    expect(over.json.error.code).to.equal("RELAY_PHOTO_QUOTA");
    expect(over.json.error.message).to.include(`${farmer.address} added 2500 bytes of photos in the last 24 hours`);
    const retryAfter = Number(over.headers.get("retry-after"));
    expect(retryAfter, "until the first photo is a day old").to.be.within(86_000, 86_400);
    expect(await storeSize(), "nothing was added to the store").to.deep.equal(before);
    const other = await upload(photoUploadHeaders(await signed(farmer2, third)), third);
    expect(other.status, "another member has its own allowance").to.equal(200);
  });

  it("a member whose harvests expire unsent is refused after the limit (429 RELAY_TURNS_UNSENT); another member records at once", async function () {
    const form = (plot: string): MemberForm => ({
      step: "harvest",
      product: 1,
      quantity: "1kg",
      plot,
      date: "2026-09-01",
    });
    const prepare = async (member: Wallet, f: MemberForm) => {
      const r = await fetch(`${coop.url}/api/coop/prepare`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(await signPrepareRequest(member, coop.relay.prepareDomain, f)),
      });
      return { status: r.status, headers: r.headers, json: await r.json() };
    };
    // Two prepared harvests never sent: the first given up by preparing again, the second left to expire.
    expect((await prepare(idler, form("I-1"))).status).to.equal(200);
    expect((await prepare(idler, form("I-2"))).status).to.equal(200);
    await new Promise((r) => setTimeout(r, (HOLD + 0.5) * 1000));
    const refused = await prepare(idler, form("I-3"));
    expect(refused.status, JSON.stringify(refused.json)).to.equal(429);
    expect(refused.json.error.code).to.equal("RELAY_TURNS_UNSENT");
    expect(refused.json.error.message).to.include(
      `${idler.address} prepared 2 harvests or packings in the last 10 min and never sent them`,
    );
    expect(Number(refused.headers.get("retry-after"))).to.be.within(1, 600);
    // Refused before it waits for or takes the turn: another member prepares and records at once.
    const started = Date.now();
    const p = await prepare(farmer2, form("F-1"));
    expect(p.status, JSON.stringify(p.json)).to.equal(200);
    const prepared = p.json as RelayPrepared;
    const sent = await fetch(`${coop.url}/api/coop/submit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(await signForwardRequest(farmer2, prepared.domain, prepared.request)),
    });
    expect(sent.status).to.equal(200);
    expect(Date.now() - started, "no wait for a turn").to.be.below(HOLD * 1000);
    // A member who sends what it prepares is never counted.
    const again = await prepare(farmer2, form("F-2"));
    expect(again.status).to.equal(200);
  });

  // What the member page sends, for the turn tests below.
  const harvest = (plot: string): MemberForm => ({
    step: "harvest",
    product: 1,
    quantity: "1kg",
    plot,
    date: "2026-09-01",
  });
  const post = async (path: string, body: unknown) => {
    const r = await fetch(`${coop.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: r.status, json: await r.json() };
  };
  const prepare = async (member: Wallet, plot: string) =>
    post("/api/coop/prepare", await signPrepareRequest(member, coop.relay.prepareDomain, harvest(plot)));

  it("a turn handed back by a submit the member spoilt counts as unsent", async function () {
    // Twice: the spoiler takes the turn, then hands it back at once with its own request made to fail
    // (an old deadline, signed by itself): no expiry needed, yet both count.
    for (const plot of ["S-1", "S-2"]) {
      const p = (await prepare(spoiler, plot)).json as RelayPrepared;
      const spoilt = await signForwardRequest(spoiler, p.domain, { ...p.request, deadline: 1_000_000 });
      expect((await post("/api/coop/submit", spoilt)).json.error.code).to.equal("RELAY_REQUEST_EXPIRED");
    }
    const third = await prepare(spoiler, "S-3");
    expect(third.status, JSON.stringify(third.json)).to.equal(429);
    expect(third.json.error.code).to.equal("RELAY_TURNS_UNSENT");
  });

  it("a submit someone else signed does not end a member's turn at the next lot id", async function () {
    // farmer2 holds the turn; the intruder's submit of farmer2's request (its own signature) is refused
    // and leaves farmer2 the turn: farmer's prepare waits until the hold ends.
    const held = (await prepare(farmer2, "F-3")).json as RelayPrepared;
    const forged = await signForwardRequest(intruder, held.domain, held.request);
    expect((await post("/api/coop/submit", { ...forged, from: farmer2.address })).json.error.code).to.equal(
      "RELAY_SIGNATURE_INVALID",
    );
    const started = Date.now();
    expect((await prepare(farmer, "F-4")).status).to.equal(200);
    expect(Date.now() - started, "farmer waited for farmer2's turn to end").to.be.above(HOLD * 1000 - 800);
  });

  it("a member's roles are read from the chain once per cache period; one client asking for address after address is limited (429)", async function () {
    const client = coop.relay.client;
    const hasRole = client.hasRole.bind(client);
    let reads = 0;
    client.hasRole = (...args: Parameters<typeof hasRole>) => {
      reads++;
      return hasRole(...args);
    };
    try {
      const get = (address: string) => fetch(`${coop.url}/api/coop/member/${address}`);
      const first = await get(farmer.address);
      expect(first.status).to.equal(200);
      expect((await first.json()).products[0].roles).to.deep.equal(["producer"]);
      const afterFirst = reads;
      expect(afterFirst).to.be.greaterThan(0);
      for (let i = 0; i < 5; i++) expect((await get(farmer.address)).status).to.equal(200);
      expect(reads, "answered from the cache").to.equal(afterFirst);
      const statuses: number[] = [];
      let limited: Response | undefined;
      for (let i = 0; i < 40 && !limited; i++) {
        const r = await get(Wallet.createRandom().address);
        statuses.push(r.status);
        if (r.status === 429) limited = r;
      }
      expect(limited, statuses.join(" ")).not.to.equal(undefined);
      expect((await limited!.json()).error.code).to.equal("RELAY_RATE_LIMITED");
      expect(Number(limited!.headers.get("retry-after"))).to.be.greaterThanOrEqual(1);
      expect((await get(farmer.address)).status, "a member's own page, in the cache, still loads").to.equal(200);
      // An account without a role is not cached: granted one at the terminal, its next lookup shows it.
      const newcomer = Wallet.createRandom().address;
      expect((await coop.relay.memberRoles(newcomer)).products).to.deep.equal([]);
      const admin = await GiSession.open(await openChain({ dataDir, as: "admin" }));
      try {
        await admin.grantRole(1, "inspector", newcomer);
      } finally {
        await admin.close();
      }
      const after = (await coop.relay.memberRoles(newcomer)).products;
      expect(after.map((p) => p.roles)).to.deep.equal([["inspector"]]);
    } finally {
      client.hasRole = hasRole;
    }
  });

  it("RollingWindow: what a key used in the window, and how long until more fits", function () {
    const w = new RollingWindow(10_000);
    w.add("a", 600, 0);
    w.add("a", 300, 4_000);
    expect(w.total("a", 5_000)).to.equal(900);
    expect(w.wait("a", 100, 1000, 5_000)).to.equal(0);
    expect(w.wait("a", 200, 1000, 5_000), "until the 600 leaves the window").to.equal(5);
    expect(w.wait("a", 1001, 1000, 5_000)).to.equal(Infinity);
    expect(w.total("a", 10_001)).to.equal(300);
    expect(w.total("b", 5_000)).to.equal(0);
  });
});
