import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { ProvenanceRegistry } from "../typechain-types";
import { ROLE, ROLES } from "./ProvenanceRegistry.behavior";
import { participantKey, replayProvenanceLogs } from "../packages/sdk/src/chain/provenance";

/** Named participants: the product's admin (and only it) sets bounded records; the reducer rebuilds them. */

const PEAR = {
  maxYieldBps: 10_000,
  standard: ethers.id("GB/T 19958"),
  name: "砀山酥梨",
  nameEn: "Dangshan Su Pear",
  giNumber: "AGI00001",
  region: "安徽省砀山县",
  unit: "g",
};
const FARM = { kind: 0, name: "砀山县李庄果园", nameEn: "Lizhuang Orchard", licence: "SC-2026-0042", region: "砀山县" };

async function fixture() {
  const [deployer, registrar, coop, farmer, inspector, processor, logistics, retailer, outsider, teaAdmin] =
    await ethers.getSigners();
  const registry = (await (
    await ethers.getContractFactory("ProvenanceRegistry")
  ).deploy(deployer.address, registrar.address, ethers.ZeroAddress)) as unknown as ProvenanceRegistry;
  await registry.connect(registrar).createProduct({ admin: coop.address, ...PEAR });
  await registry.connect(registrar).createProduct({ admin: teaAdmin.address, ...PEAR, name: "西湖龙井" });
  const holders = { producer: farmer, inspector, processor, logistics, retailer };
  for (const r of ROLES.slice(1))
    await registry
      .connect(coop)
      .grantRole(await registry.productRoleId(1, ROLE[r]), holders[r as keyof typeof holders]);
  return { registry, deployer, registrar, coop, farmer, inspector, processor, logistics, retailer, outsider, teaAdmin };
}

describe("ProvenanceRegistry participants", function () {
  it("the product's admin sets a record: stored, emitted, replaced by a later one", async function () {
    const f = await loadFixture(fixture);
    await expect(f.registry.connect(f.coop).setParticipant(1, f.farmer.address, FARM))
      .to.emit(f.registry, "ParticipantSet")
      .withArgs(1, f.farmer.address, f.coop.address, [FARM.kind, FARM.name, FARM.nameEn, FARM.licence, FARM.region]);
    const stored = await f.registry.participantOf(1, f.farmer.address);
    expect([Number(stored.kind), stored.name, stored.nameEn, stored.licence, stored.region]).to.deep.equal([
      0,
      FARM.name,
      FARM.nameEn,
      FARM.licence,
      FARM.region,
    ]);
    // Per product: the tea product knows nothing of it.
    expect((await f.registry.participantOf(2, f.farmer.address)).name).to.equal("");
    await f.registry.connect(f.coop).setParticipant(1, f.farmer.address, { ...FARM, kind: 2, licence: "" });
    expect(Number((await f.registry.participantOf(1, f.farmer.address)).kind)).to.equal(2);
    expect((await f.registry.participantOf(1, f.farmer.address)).licence).to.equal("");
  });

  it("every other role is refused, role by role (registrar, registry admin, each product role, another product's admin, an outsider)", async function () {
    const f = await loadFixture(fixture);
    const refused = {
      registrar: f.registrar,
      "registry admin": f.deployer,
      producer: f.farmer,
      inspector: f.inspector,
      processor: f.processor,
      logistics: f.logistics,
      retailer: f.retailer,
      "tea admin": f.teaAdmin,
      outsider: f.outsider,
    };
    for (const [who, signer] of Object.entries(refused)) {
      await expect(f.registry.connect(signer).setParticipant(1, f.farmer.address, FARM), `${who} must be refused`)
        .to.be.revertedWithCustomError(f.registry, "ProvenanceRoleMissing")
        .withArgs(1, signer.address, 1);
    }
    // The tea admin may name participants of its own product.
    await expect(f.registry.connect(f.teaAdmin).setParticipant(2, f.farmer.address, FARM)).to.emit(
      f.registry,
      "ParticipantSet",
    );
  });

  it("refuses an unknown product, the zero address, an unknown kind, an empty name and over-long fields", async function () {
    const f = await loadFixture(fixture);
    const r = f.registry.connect(f.coop);
    await expect(r.setParticipant(3, f.farmer.address, FARM))
      .to.be.revertedWithCustomError(f.registry, "ProvenanceProductUnknown")
      .withArgs(3);
    await expect(r.setParticipant(1, ethers.ZeroAddress, FARM)).to.be.revertedWithCustomError(
      f.registry,
      "ProvenanceZeroAddress",
    );
    expect(await f.registry.PARTICIPANT_KIND_COUNT()).to.equal(5);
    await r.setParticipant(1, f.farmer.address, { ...FARM, kind: 4 });
    await expect(r.setParticipant(1, f.farmer.address, { ...FARM, kind: 5 }))
      .to.be.revertedWithCustomError(f.registry, "ProvenanceParticipantKindUnknown")
      .withArgs(5);
    await expect(r.setParticipant(1, f.farmer.address, { ...FARM, name: "" })).to.be.revertedWithCustomError(
      f.registry,
      "ProvenanceParticipantNameEmpty",
    );
    // Lengths are bytes of UTF-8: 42 Chinese characters are 126 bytes (allowed), 43 are 129.
    await r.setParticipant(1, f.farmer.address, { ...FARM, name: "梨".repeat(42) + "ab" });
    const cases: Array<[keyof typeof FARM, string, number, number]> = [
      ["name", "梨".repeat(43), 0, 128],
      ["nameEn", "x".repeat(129), 1, 128],
      ["licence", "9".repeat(65), 2, 64],
      ["region", "县".repeat(22), 3, 64],
    ];
    for (const [field, value, code, max] of cases) {
      await expect(r.setParticipant(1, f.farmer.address, { ...FARM, [field]: value }))
        .to.be.revertedWithCustomError(f.registry, "ProvenanceParticipantFieldTooLong")
        .withArgs(code, Buffer.byteLength(value), max);
    }
    await r.setParticipant(1, f.farmer.address, { ...FARM, licence: "9".repeat(64), region: "县".repeat(21) });
  });

  it("the log reducer rebuilds each product's newest record per account", async function () {
    const f = await loadFixture(fixture);
    await f.registry.connect(f.coop).setParticipant(1, f.farmer.address, FARM);
    await f.registry.connect(f.coop).setParticipant(1, f.farmer.address, { ...FARM, name: "李庄果园（新）" });
    await f.registry.connect(f.coop).setParticipant(1, f.inspector.address, { ...FARM, kind: 1, name: "砀山县质检站" });
    await f.registry.connect(f.teaAdmin).setParticipant(2, f.farmer.address, { ...FARM, name: "龙井茶园" });
    const state = await replayProvenanceLogs(ethers.provider, await f.registry.getAddress());
    expect(state.participants.size).to.equal(3);
    const farm = state.participants.get(participantKey(1, f.farmer.address))!;
    expect([farm.kind, farm.name, farm.nameEn, farm.licence, farm.region]).to.deep.equal([
      "farm",
      "李庄果园（新）",
      "Lizhuang Orchard",
      "SC-2026-0042",
      "砀山县",
    ]);
    expect(state.participants.get(participantKey(1, f.inspector.address))!.kind).to.equal("inspector");
    expect(state.participants.get(participantKey(2, f.farmer.address))!.name).to.equal("龙井茶园");
  });
});
