import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import {
  EmbeddedStore,
  EventDocuments,
  ProvenanceRegistryClient,
  assessLot,
  chainEventDigest,
  chainHeadOf,
  EMPTY_CHAIN_HEAD,
  harvestEvent,
  isProofmarkError,
  lotClass,
  nextChainHead,
  observationEvent,
  packEvent,
  parseCsv,
  parseImport,
  prepareEvent,
  recallEvent,
  replayProvenanceLogs,
  traceLot,
  transformationEvent,
  TRACE_STATUSES,
  type PreparedEvent,
  type StoredLotFacts,
} from "../../packages/sdk/src";

// Traces against Hardhat's in-process network: a real registry, real logs, a real embedded store.
describe("SDK: ProvenanceRegistryClient, log replay and lot traces", function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-trace-"));
  const store = new EmbeddedStore(dir);
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const GI = "AGI00001";
  const lotId = (n: number) => lotClass({ giNumber: GI, lot: String(n) });
  const rec = (p: PreparedEvent) => ({
    eventTime: p.record.eventTime,
    location: p.record.location,
    document: p.record.document,
  });

  async function seasonFixture() {
    const [admin, registrar, coop, farmer1, farmer2, inspector, logistics] = await ethers.getSigners();
    const contract = await ethers.deployContract("ProvenanceRegistry", [
      admin.address,
      registrar.address,
      ethers.ZeroAddress,
    ]);
    const address = await contract.getAddress();
    const as = (s: typeof admin) => new ProvenanceRegistryClient(address, s);
    const documents = new EventDocuments({ dataDir: dir, chainId: 31337, registry: `${address}-${Date.now()}`, store });
    await as(registrar).createProduct({
      admin: coop.address,
      maxYieldBps: 10_000,
      standard: ethers.ZeroHash as `0x${string}`,
      name: "砀山酥梨",
      nameEn: "Dangshan Su Pear",
      giNumber: GI,
      region: "安徽省砀山县",
      unit: "g",
    });
    for (const [role, who] of [
      ["producer", farmer1],
      ["producer", farmer2],
      ["inspector", inspector],
      ["processor", coop],
      ["logistics", logistics],
    ] as const) {
      await as(coop).grantRole(1, role, who.address);
    }
    await as(coop).grantLicence(1, farmer1.address, 2026, 2_000_000n);
    await as(coop).grantLicence(1, farmer2.address, 2026, 1_000_000n);
    const keep = async (p: PreparedEvent) => documents.save([p]);
    const harvest = async (who: typeof admin, n: number, qty: bigint) => {
      const p = prepareEvent(
        harvestEvent({
          lot: lotId(n),
          quantity: qty,
          unit: "g",
          time: "2026-09-01T08:00:00+08:00",
          location: `plot-${n}`,
          ilmd: { "gi:plot": `P${n}` },
        }),
      );
      return (await as(who).harvest(1, 2026, qty, rec(p), () => keep(p))).lot;
    };
    const l1 = await harvest(farmer1, 1, 1_200_000n);
    const l2 = await harvest(farmer2, 2, 800_000n);
    const insp = prepareEvent(
      observationEvent({ lot: lotId(1), step: "inspecting", time: "2026-09-01T15:00:00+08:00", location: "lab" }),
    );
    await as(inspector).recordEvent(
      { lot: l1, step: insp.record.step, disposition: insp.record.disposition, ...rec(insp) },
      () => keep(insp),
    );
    // merge 1 + 2 → 3 (2,000 kg); split 3 → 4 (500 kg), 5 (300 kg); pack 4 → 6 (100 × 5 kg)
    const m = prepareEvent(
      transformationEvent({
        inputs: [
          { lot: lotId(1), quantity: 1_200_000n },
          { lot: lotId(2), quantity: 800_000n },
        ],
        outputs: [{ lot: lotId(3), quantity: 2_000_000n }],
        unit: "g",
        time: "2026-09-02T08:00:00+08:00",
        location: "coop",
      }),
    );
    const l3 = (await as(coop).merge([l1, l2], rec(m), () => keep(m))).lot;
    const s = prepareEvent(
      transformationEvent({
        inputs: [{ lot: lotId(3), quantity: 800_000n }],
        outputs: [
          { lot: lotId(4), quantity: 500_000n },
          { lot: lotId(5), quantity: 300_000n },
        ],
        unit: "g",
        time: "2026-09-02T09:00:00+08:00",
        location: "coop",
      }),
    );
    const [l4, l5] = (await as(coop).split(l3, [500_000n, 300_000n], rec(s), () => keep(s))).lots;
    const pk = prepareEvent(
      packEvent({
        lot: lotId(4),
        packedLot: lotId(6),
        packages: 100,
        size: 5_000n,
        unit: "g",
        time: "2026-09-02T10:00:00+08:00",
        location: "coop",
      }),
    );
    const l6 = (await as(coop).pack(l4, 100, 5_000n, rec(pk), () => keep(pk))).lot;
    const ship = prepareEvent(
      observationEvent({ lot: lotId(6), step: "shipping", time: "2026-09-03T06:00:00+08:00", location: "depot" }),
    );
    await as(logistics).recordEvents(
      [{ lot: l6, step: ship.record.step, disposition: ship.record.disposition, ...rec(ship) }],
      () => keep(ship),
    );
    return {
      contract,
      address,
      as,
      documents,
      lots: { l1, l2, l3, l4, l5, l6 },
      signers: { coop, farmer1, farmer2, inspector, logistics },
      provider: ethers.provider,
    };
  }

  it("rebuilds every lot from logs alone, equal to storage (status, quantities, parents, hash-chain head)", async function () {
    const { address, as, signers, provider } = await loadFixture(seasonFixture);
    const client = as(signers.coop);
    const state = await replayProvenanceLogs(provider, address);
    expect(state.lots.size).to.equal(6);
    for (const [id, lot] of state.lots) {
      const stored = await client.lot(id);
      expect({
        status: lot.status,
        quantity: lot.quantity,
        remaining: lot.remaining,
        packages: lot.packages,
      }).to.deep.equal({
        status: stored.status,
        quantity: stored.quantity,
        remaining: stored.remaining,
        packages: stored.packages,
      });
      expect(lot.parents).to.deep.equal(await client.parents(id));
      expect(lot.head).to.equal(await client.head(id));
    }
    expect(state.licences.get(`1/${signers.farmer1.address.toLowerCase()}/2026`)).to.include({
      quota: 2_000_000n,
      harvested: 1_200_000n,
    });
  });

  it("traces a packed lot back through split and merge to both harvests and licences, every document verified", async function () {
    const { as, signers, documents, lots } = await loadFixture(seasonFixture);
    const t = await traceLot({ client: as(signers.coop), lot: lots.l6, documents });
    expect(t.status, t.reasons.join("\n")).to.equal("genuine");
    expect(t.ancestors.map((a) => a.lot)).to.deep.equal([lots.l1, lots.l2, lots.l3, lots.l4]);
    expect(t.ancestors.filter((a) => a.origin === "harvest").map((a) => a.licence?.quota.text)).to.deep.equal([
      "2 t",
      "1 t",
    ]);
    expect(t.massBalance!.harvested.text).to.equal("2 t");
    expect(t.massBalance!.ok).to.equal(true);
    expect(t.checks).to.deep.equal({
      headsMatch: true,
      documentsVerified: t.events.length,
      documentsMissing: 0,
      documentsMismatched: 0,
      storageMatchesLogs: true,
    });
    expect(t.events.map((e) => e.step)).to.include.members([
      "commissioning",
      "inspecting",
      "repackaging",
      "packing",
      "shipping",
    ]);
    expect(t.events.every((e) => e.verified)).to.equal(true);
    const fromRoot = await traceLot({ client: as(signers.coop), lot: lots.l1, documents });
    expect(fromRoot.descendants.map((d) => d.lot)).to.deep.equal([lots.l3, lots.l4, lots.l5, lots.l6]);
  });

  it("without the documents the chain checks still pass and each event says its document is missing", async function () {
    const { as, signers, lots } = await loadFixture(seasonFixture);
    const t = await traceLot({ client: as(signers.coop), lot: lots.l6 });
    expect(t.status).to.equal("genuine");
    expect(t.checks.documentsMissing).to.equal(t.events.length);
    expect(t.events.every((e) => !e.verified && e.check === "document-missing")).to.equal(true);
  });

  it("a document that does not match its chain record makes the trace broken", async function () {
    const { as, signers, lots, documents } = await loadFixture(seasonFixture);
    const t0 = await traceLot({ client: as(signers.coop), lot: lots.l6, documents });
    const shipping = t0.events.find((e) => e.step === "shipping")!;
    const forged = prepareEvent(
      observationEvent({
        lot: lotId(6),
        step: "shipping",
        time: "2026-09-03T06:00:00+08:00",
        location: "somewhere else",
      }),
    );
    const lying = {
      load: async (d: string) =>
        d === shipping.document
          ? ((await documents.load(forged.record.document)) ?? {
              cid: "x",
              doc: JSON.parse(Buffer.from(forged.bytes).toString()),
            })
          : documents.load(d as never),
    };
    const t = await traceLot({ client: as(signers.coop), lot: lots.l6, documents: lying });
    expect(t.status).to.equal("broken");
    expect(t.checks.documentsMismatched).to.equal(1);
    expect(t.reasons.join(" ")).to.match(/shipping document .* does not match its chain record/);
  });

  it("a recall of a harvest covers every lot made from it, not lots made before it was merged elsewhere", async function () {
    const { as, signers, lots, documents } = await loadFixture(seasonFixture);
    const r = prepareEvent(
      recallEvent({ lot: lotId(2), reason: "residue", time: "2026-09-04T08:00:00+08:00", location: "lab" }),
    );
    await as(signers.inspector).recall(lots.l2, "residue", rec(r), () => documents.save([r]));
    for (const l of [lots.l2, lots.l3, lots.l5, lots.l6])
      expect((await traceLot({ client: as(signers.coop), lot: l, documents })).status).to.equal("recalled");
    expect((await traceLot({ client: as(signers.coop), lot: lots.l1, documents })).status).to.equal("genuine");
  });

  it("the hash-chain arithmetic of core/ is the contract's: abi.encode digests, keccak256(head, digest), equal to storage", async function () {
    const { as, signers, lots, address, provider } = await loadFixture(seasonFixture);
    const state = await replayProvenanceLogs(provider, address);
    for (const ev of state.events.get(lots.l6)!) {
      const fields = {
        lot: ev.lot,
        actor: ev.actor,
        step: ev.stepCode,
        disposition: ev.dispositionCode,
        eventTime: ev.eventTime,
        location: ev.location,
        document: ev.document,
      };
      const abi = ethers.AbiCoder.defaultAbiCoder();
      expect(chainEventDigest(fields)).to.equal(
        ethers.keccak256(
          abi.encode(
            ["uint64", "address", "uint8", "uint8", "uint40", "bytes32", "bytes32"],
            [ev.lot, ev.actor, ev.stepCode, ev.dispositionCode, ev.eventTime, ev.location, ev.document],
          ),
        ),
      );
      expect(nextChainHead(EMPTY_CHAIN_HEAD, chainEventDigest(fields))).to.equal(
        ethers.keccak256(abi.encode(["bytes32", "bytes32"], [EMPTY_CHAIN_HEAD, chainEventDigest(fields)])),
      );
    }
    const events = state.events.get(lots.l6)!.map((ev) => ({
      lot: ev.lot,
      actor: ev.actor,
      step: ev.stepCode,
      disposition: ev.dispositionCode,
      eventTime: ev.eventTime,
      location: ev.location,
      document: ev.document,
    }));
    expect(chainHeadOf(events)).to.equal(await as(signers.coop).head(lots.l6));
  });

  it("the one assessment: a storage word not read makes a lot unverifiable, a differing head broken, never genuine", async function () {
    const { as, signers, lots, address, provider } = await loadFixture(seasonFixture);
    const client = as(signers.coop);
    const state = await replayProvenanceLogs(provider, address);
    const stored = new Map<number, StoredLotFacts | undefined>();
    for (const id of state.lots.keys()) {
      const l = await client.lot(id, state.toBlock);
      stored.set(id, {
        head: await client.head(id, state.toBlock),
        status: l.status,
        quantity: l.quantity,
        remaining: l.remaining,
      });
    }
    const verified = () => "verified" as const;
    expect(assessLot({ lot: lots.l6, state, stored, documentCheck: verified }).status).to.equal("genuine");
    const unread = new Map(stored);
    unread.set(lots.l3, undefined);
    const u = assessLot({ lot: lots.l6, state, stored: unread, documentCheck: verified });
    expect(u.status).to.equal("unverifiable");
    expect(u.unchecked.join(" ")).to.match(/lot 3: the hash-chain head in storage was not read/);
    const differing = new Map(stored);
    differing.set(lots.l4, { ...stored.get(lots.l4)!, head: `0x${"11".repeat(32)}` });
    const b = assessLot({ lot: lots.l6, state, stored: differing, documentCheck: verified });
    expect(b.status).to.equal("broken");
    expect(b.findings.map((f) => [f.kind, f.lot])).to.deep.include(["head-mismatch", lots.l4]);
    const altered = assessLot({
      lot: lots.l6,
      state,
      stored,
      documentCheck: (e) => (e.step === "shipping" ? "document-mismatch" : "verified"),
    });
    expect(altered.status).to.equal("broken");
    expect(TRACE_STATUSES).to.deep.equal(["genuine", "recalled", "broken", "unverifiable", "unknown"]);
  });

  it("an unknown lot is unknown", async function () {
    const { as, signers } = await loadFixture(seasonFixture);
    const t = await traceLot({ client: as(signers.coop), lot: 99 });
    expect(t.status).to.equal("unknown");
    expect(t.reasons[0]).to.match(/lot 99 does not exist/);
  });

  it("decodes refusals into codes that name the numbers, in the product's unit", async function () {
    const { as, signers, lots } = await loadFixture(seasonFixture);
    const p = prepareEvent(
      harvestEvent({ lot: lotId(9), quantity: 1n, unit: "g", time: "2026-09-05", location: "x", ilmd: {} }),
    );
    const refused = async (f: () => Promise<unknown>) => {
      try {
        await f();
      } catch (e) {
        if (isProofmarkError(e)) return e;
        throw e;
      }
      throw new Error("not refused");
    };
    const q = await refused(() => as(signers.farmer1).harvest(1, 2026, 900_000n, rec(p)));
    expect(q.code).to.equal("QUOTA_EXCEEDED");
    expect(q.message).to.match(
      /asked to harvest 900 kg but only 800 kg of the 2026 quota of 2,000 kg is left for product 1/,
    );
    const over = await refused(() => as(signers.coop).pack(lots.l5, 61, 5_000n, rec(p)));
    expect(over.code).to.equal("QUANTITY_EXCEEDED");
    expect(over.message).to.match(/lot 5 has 300 kg left, less than the 305 kg requested; nothing was changed/);
    const role = await refused(() =>
      as(signers.farmer1).recordEvent({ lot: lots.l5, step: 16, disposition: 8, ...rec(p) }),
    );
    expect(role.code).to.equal("ROLE_MISSING");
    const gone = await refused(() => as(signers.coop).split(lots.l1, [1n], rec(p)));
    expect(gone.code).to.equal("LOT_NOT_ACTIVE");
    const unknown = await refused(() => as(signers.coop).pack(77, 1, 1n, rec(p)));
    expect(unknown.code).to.equal("LOT_NOT_FOUND");
    expect(unknown.message).to.match(/lot 77 does not exist \(lots are numbered 1 to 6\)/);
    // a role that does not exist is the caller's mistake, said before anything is sent
    const farmer = await refused(() => as(signers.coop).grantRole(1, "farmer" as never, signers.farmer2.address));
    expect(farmer.code).to.equal("INVALID_ARGUMENT");
    expect(farmer.message).to.match(/unknown role "farmer"; use one of admin, producer/);
    expect((await refused(async () => as(signers.coop).roleId(1, 6))).code).to.equal("INVALID_ARGUMENT");
    expect(as(signers.coop).roleId(1, "producer")).to.equal(as(signers.coop).roleId(1, 1));
  });

  it("parses CSV with quotes, doubled quotes and line breaks in cells, reporting the line each row starts on", function () {
    expect(parseCsv('a,b\n"x, ""y""",2\n"multi\nline",3\r\n4,5')).to.deep.equal([
      { line: 1, cells: ["a", "b"] },
      { line: 2, cells: ['x, "y"', "2"] },
      { line: 3, cells: ["multi\nline", "3"] },
      { line: 5, cells: ["4", "5"] },
    ]);
    const { rows, problems } = parseImport(
      "x.csv",
      'lot,step,time,location,note\n1,shipping,2026-09-01,"a\nb",ok\n0,shipping,2026-09-01,x,\n',
    );
    expect(rows.map((r) => r.line)).to.deep.equal([2]);
    expect(problems).to.deep.equal([{ line: 4, reason: 'lot "0" is not a lot id (a whole number ≥ 1)' }]);
    const jsonl = parseImport(
      "x.jsonl",
      '{"lot":1,"step":"storing","time":"2026-09-01","location":"x"}\n\n{"lot":1,"step":"packing","time":"2026-09-01","location":"x"}\nnot json\n',
    );
    expect(jsonl.rows).to.have.length(1);
    expect(jsonl.problems.map((p) => p.line)).to.deep.equal([3, 4]);
    expect(jsonl.problems[0].reason).to.match(/record it with the pack operation/);
  });
});
