import { expect } from "chai";
import { Wallet } from "ethers";
import {
  canonicalFormJson,
  formDigest,
  prepareDomain,
  prepareRequestDigest,
  recoverPrepareSigner,
  signPrepareRequest,
  type MemberForm,
} from "../../packages/sdk/src";

/** The signed prepare request's format, shared by the member page and the relay (no chain needed). */
describe("co-op relay: the signed prepare request", function () {
  const member = new Wallet(Wallet.createRandom().privateKey);
  const domain = prepareDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  const form: MemberForm = {
    step: "harvest",
    product: 1,
    quantity: "1200kg",
    plot: "砀山 DS-07",
    date: "2026-09-01",
    certificate: { cid: "bafy", sha256: "ab", name: "c.png" },
  };

  it("hashes the form as canonical JSON: key order and undefined fields do not change it", function () {
    expect(canonicalFormJson(form)).to.equal(
      '{"certificate":{"cid":"bafy","name":"c.png","sha256":"ab"},"date":"2026-09-01","plot":"砀山 DS-07","product":1,"quantity":"1200kg","step":"harvest"}',
    );
    const reordered = JSON.parse(
      '{"step":"harvest","date":"2026-09-01","certificate":{"sha256":"ab","name":"c.png","cid":"bafy"},"quantity":"1200kg","product":1,"plot":"砀山 DS-07"}',
    );
    expect(formDigest({ ...reordered, note: undefined })).to.equal(formDigest(form));
    expect(formDigest({ ...form, quantity: "1201kg" })).to.not.equal(formDigest(form));
  });

  it("recovers the member from its signature; any change of member, form or time recovers someone else", async function () {
    const signed = await signPrepareRequest(member, domain, form, 1_790_000_000_000);
    expect(signed.member).to.equal(member.address);
    // As the relay receives it: through JSON.
    const received = JSON.parse(JSON.stringify(signed));
    expect(recoverPrepareSigner(domain, received)).to.equal(member.address);
    for (const changed of [
      { ...received, form: { ...form, quantity: "2000kg" } },
      { ...received, signedAt: received.signedAt + 1 },
      { ...received, member: Wallet.createRandom().address },
    ])
      expect(recoverPrepareSigner(domain, changed)).to.not.equal(member.address);
    const otherRelay = prepareDomain(31337, "0x0000000000000000000000000000000000000001");
    expect(recoverPrepareSigner(otherRelay, received), "another relay's domain").to.not.equal(member.address);
    expect(prepareRequestDigest(domain, received)).to.not.equal(
      prepareRequestDigest(domain, { ...received, signedAt: received.signedAt + 1 }),
    );
  });
});
