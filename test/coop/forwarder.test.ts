import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet } from "ethers";
import {
  executeArgs,
  forwarderDomain,
  signForwardRequest,
  type ForwardRequest,
} from "../../packages/sdk/src/coop/forward-request";

const SEASON = 2026;
const rec = (label: string) => ({
  eventTime: 1_780_000_000n,
  location: ethers.id("loc:" + label),
  document: ethers.id("doc:" + label),
});
const PEAR = {
  maxYieldBps: 10_000,
  standard: ethers.id("GB/T 19958"),
  name: "砀山酥梨",
  nameEn: "Dangshan Su Pear",
  giNumber: "AGI00001",
  region: "安徽省砀山县",
  unit: "g",
};

/** A registry trusting a ProvenanceForwarder; the members are fresh keys holding no ETH. */
async function deployCoop() {
  const [deployer, registrar, coop, relayer] = await ethers.getSigners();
  const forwarder = await ethers.deployContract("ProvenanceForwarder");
  const registry = await ethers.deployContract("ProvenanceRegistry", [
    deployer.address,
    registrar.address,
    await forwarder.getAddress(),
  ]);
  await registry.connect(registrar).createProduct({ admin: coop.address, ...PEAR });
  const farmer = new Wallet(Wallet.createRandom().privateKey);
  const outsider = new Wallet(Wallet.createRandom().privateKey);
  await registry.connect(coop).grantRole(await registry.productRoleId(1, 1), farmer.address);
  await registry.connect(coop).grantLicence(1, farmer.address, SEASON, 1_000_000n);
  const { chainId } = await ethers.provider.getNetwork();
  const domain = forwarderDomain(chainId, await forwarder.getAddress());
  /** A request of `member` calling `method(args)` on the registry, signed. */
  async function signed(member: Wallet, method: string, args: unknown[], over: Partial<ForwardRequest> = {}) {
    const request: ForwardRequest = {
      from: member.address,
      to: await registry.getAddress(),
      value: "0",
      gas: "500000",
      nonce: String(await forwarder.nonces(member.address)),
      deadline: (await time.latest()) + 600,
      data: registry.interface.encodeFunctionData(method as never, args as never),
      ...over,
    };
    return signForwardRequest(member, domain, request);
  }
  /** The forwarded call as the forwarder makes it (member appended), simulated: the registry's own error. */
  async function asForwarded(member: Wallet, method: string, args: unknown[]) {
    return ethers.provider.call({
      from: await forwarder.getAddress(),
      to: await registry.getAddress(),
      data: registry.interface.encodeFunctionData(method as never, args as never) + member.address.slice(2),
    });
  }
  return { registry, forwarder, relayer, coop, farmer, outsider, signed, asForwarded };
}

describe("ProvenanceRegistry meta-transactions (ERC2771Forwarder)", function () {
  it("records the trusted forwarder, and a registry without one trusts nobody", async function () {
    const { registry, forwarder } = await loadFixture(deployCoop);
    expect(await registry.trustedForwarder()).to.equal(await forwarder.getAddress());
    expect(await registry.isTrustedForwarder(await forwarder.getAddress())).to.equal(true);
    const [a] = await ethers.getSigners();
    const plain = await ethers.deployContract("ProvenanceRegistry", [a.address, a.address, ethers.ZeroAddress]);
    expect(await plain.isTrustedForwarder(await forwarder.getAddress())).to.equal(false);
  });

  it("a member-signed request executes as the member: the lot is the member's, the quota the member's; the member pays nothing", async function () {
    const { registry, forwarder, relayer, farmer, signed } = await loadFixture(deployCoop);
    const req = await signed(farmer, "harvest", [1, SEASON, 600_000n, rec("h1")]);
    await expect(forwarder.connect(relayer).execute(...(executeArgs(req) as [never])))
      .to.emit(registry, "LotHarvested")
      .withArgs(1n, 1n, farmer.address, SEASON, 600_000n);
    expect((await registry.licenceOf(1, farmer.address, SEASON)).harvested).to.equal(600_000n);
    expect(await ethers.provider.getBalance(farmer.address)).to.equal(0n);
    const events = await registry.queryFilter(registry.filters.LotEventRecorded(1n));
    expect(events[0].args.actor).to.equal(farmer.address);
  });

  it("over quota: the forwarded call reverts with the registry's ProvenanceQuotaExceeded, as a direct call would; execute fails", async function () {
    const { registry, forwarder, relayer, farmer, signed, asForwarded } = await loadFixture(deployCoop);
    const args = [1, SEASON, 1_000_001n, rec("h2")];
    await expect(asForwarded(farmer, "harvest", args))
      .to.be.revertedWithCustomError(registry, "ProvenanceQuotaExceeded")
      .withArgs(1n, farmer.address, SEASON, 1_000_001n, 1_000_000n);
    const req = await signed(farmer, "harvest", args);
    await expect(forwarder.connect(relayer).execute(...(executeArgs(req) as [never]))).to.be.revertedWithCustomError(
      forwarder,
      "FailedCall",
    );
    expect((await registry.counts())[1]).to.equal(0n);
  });

  it("mass balance applies to relayed calls: packing more than the lot holds is refused", async function () {
    const { registry, forwarder, relayer, coop, farmer, signed, asForwarded } = await loadFixture(deployCoop);
    await forwarder
      .connect(relayer)
      .execute(...(executeArgs(await signed(farmer, "harvest", [1, SEASON, 1000n, rec("h")])) as [never]));
    const packer = new Wallet(Wallet.createRandom().privateKey);
    await registry.connect(coop).grantRole(await registry.productRoleId(1, 3), packer.address);
    await expect(asForwarded(packer, "pack", [1, 3, 400n, rec("p")]))
      .to.be.revertedWithCustomError(registry, "ProvenanceInsufficientQuantity")
      .withArgs(1n, 1200n, 1000n);
    await forwarder
      .connect(relayer)
      .execute(...(executeArgs(await signed(packer, "pack", [1, 2, 400n, rec("p")])) as [never]));
    expect((await registry.lotOf(2)).quantity).to.equal(800n);
  });

  it("a non-member's signed request fails on role (ProvenanceRoleMissing naming the signer, not the relayer)", async function () {
    const { registry, forwarder, relayer, outsider, signed, asForwarded } = await loadFixture(deployCoop);
    await expect(asForwarded(outsider, "harvest", [1, SEASON, 1n, rec("x")]))
      .to.be.revertedWithCustomError(registry, "ProvenanceRoleMissing")
      .withArgs(1n, outsider.address, 3n);
    const req = await signed(outsider, "harvest", [1, SEASON, 1n, rec("x")]);
    await expect(forwarder.connect(relayer).execute(...(executeArgs(req) as [never]))).to.be.revertedWithCustomError(
      forwarder,
      "FailedCall",
    );
  });

  it("a replayed request reverts (nonce used), an expired one reverts with ERC2771ForwarderExpiredRequest", async function () {
    const { forwarder, relayer, farmer, signed } = await loadFixture(deployCoop);
    const req = await signed(farmer, "harvest", [1, SEASON, 10n, rec("r")]);
    await forwarder.connect(relayer).execute(...(executeArgs(req) as [never]));
    await expect(forwarder.connect(relayer).execute(...(executeArgs(req) as [never]))).to.be.revertedWithCustomError(
      forwarder,
      "ERC2771ForwarderInvalidSigner",
    );
    const late = await signed(farmer, "harvest", [1, SEASON, 10n, rec("late")], {
      deadline: (await time.latest()) + 5,
    });
    await time.increase(60);
    await expect(forwarder.connect(relayer).execute(...(executeArgs(late) as [never])))
      .to.be.revertedWithCustomError(forwarder, "ERC2771ForwarderExpiredRequest")
      .withArgs(late.deadline);
  });

  it("a request the relay changed after signing reverts with the forwarder's ERC2771ForwarderInvalidSigner", async function () {
    const { registry, forwarder, relayer, farmer, signed } = await loadFixture(deployCoop);
    const req = await signed(farmer, "harvest", [1, SEASON, 10n, rec("t")]);
    const tampered = {
      ...req,
      data: registry.interface.encodeFunctionData("harvest", [1, SEASON, 999_999n, rec("t")]),
    };
    await expect(
      forwarder.connect(relayer).execute(...(executeArgs(tampered) as [never])),
    ).to.be.revertedWithCustomError(forwarder, "ERC2771ForwarderInvalidSigner");
    const moreGas = { ...req, gas: "600000" };
    await expect(
      forwarder.connect(relayer).execute(...(executeArgs(moreGas) as [never])),
    ).to.be.revertedWithCustomError(forwarder, "ERC2771ForwarderInvalidSigner");
    expect((await registry.counts())[1]).to.equal(0n);
  });

  it("direct calls keep working as before (msg.sender is the caller when not relayed)", async function () {
    const { registry, coop } = await loadFixture(deployCoop);
    const [, , , , farmer2] = await ethers.getSigners();
    await registry.connect(coop).grantRole(await registry.productRoleId(1, 1), farmer2.address);
    await registry.connect(coop).grantLicence(1, farmer2.address, SEASON, 100n);
    await expect(registry.connect(farmer2).harvest(1, SEASON, 100n, rec("d")))
      .to.emit(registry, "LotHarvested")
      .withArgs(1n, 1n, farmer2.address, SEASON, 100n);
  });
});
