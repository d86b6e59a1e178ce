import { expect } from "chai";
import { HDNodeWallet, Mnemonic, Wallet } from "ethers";
import {
  MerkleTree,
  parseAttestation,
  processProof,
  signCalendarAcknowledgement,
  signSubmitterStatement,
  calendarAttestationFor,
  verifyAttestation,
  type Attestation,
  type Hex,
} from "../../packages/sdk/src";

const fold = (leaf: Hex, path: readonly Hex[]) => processProof(leaf, path).root;
const leafOf = (i: number) => `0x${i.toString(16).padStart(64, "0")}` as Hex;

describe("EIP-712 statements: submitter and calendar", function () {
  const submitter = HDNodeWallet.fromMnemonic(
    Mnemonic.fromPhrase("test test test test test test test test test test test junk"),
    "m/44'/60'/0'/0/9",
  );
  const calendar = Wallet.createRandom();
  const stranger = Wallet.createRandom();

  it("a submitter statement verifies as signed by the submitter's address", async function () {
    const a = await signSubmitterStatement(submitter, {
      leaf: leafOf(1),
      statement: "I, Li Wei, made this design",
      time: 1_790_000_000,
    });
    const v = verifyAttestation(parseAttestation(JSON.parse(JSON.stringify(a))));
    expect(v.valid).to.equal(true);
    expect(v.signer).to.equal(submitter.address.toLowerCase());
    expect(v.summary).to.equal(`signed by ${submitter.address.toLowerCase()} (submitter)`);
    expect(verifyAttestation(a, { expectedSigner: submitter.address }).valid).to.equal(true);
  });

  it("the wrong key: a signature by another key claiming the submitter's address fails; an expected signer is enforced", async function () {
    const a = await signSubmitterStatement(stranger, { leaf: leafOf(1), statement: "mine" });
    const forged = { ...a, signer: submitter.address.toLowerCase() as Hex };
    const v = verifyAttestation(forged);
    expect(v.valid).to.equal(false);
    expect(v.code).to.equal("STATEMENT_INVALID");
    expect(v.signer).to.equal(stranger.address.toLowerCase());
    const w = verifyAttestation(a, { expectedSigner: submitter.address });
    expect(w.valid).to.equal(false);
    expect(w.code).to.equal("STATEMENT_SIGNER_MISMATCH");
  });

  it("any altered field fails", async function () {
    const a = await signSubmitterStatement(submitter, { leaf: leafOf(1), statement: "original", time: 1_790_000_000 });
    const variants: Attestation[] = [
      { ...a, message: { ...a.message, leaf: leafOf(2) } },
      { ...a, message: { ...a.message, statement: "originaL" } },
      { ...a, message: { ...a.message, time: a.message.time - 1 } },
      { ...a, message: { ...a.message, nonce: leafOf(7) } },
      {
        ...a,
        signature: `${a.signature.slice(0, 10)}${a.signature[10] === "0" ? "1" : "0"}${a.signature.slice(11)}` as Hex,
      },
    ];
    for (const v of variants) expect(verifyAttestation(v).valid, JSON.stringify(v.message)).to.equal(false);
  });

  it("no replay across domains: another chain id, another version, or the other role", async function () {
    const bound = await signSubmitterStatement(submitter, { leaf: leafOf(1), statement: "on chain 1", chainId: 1 });
    expect(verifyAttestation(bound).valid).to.equal(true);
    expect(verifyAttestation({ ...bound, domain: { ...bound.domain, chainId: 31337 } }).valid).to.equal(false);
    expect(
      verifyAttestation({ ...bound, domain: { name: bound.domain.name, version: bound.domain.version } }).valid,
    ).to.equal(false);
    expect(verifyAttestation({ ...bound, domain: { ...bound.domain, version: "2" } }).valid).to.equal(false);
    // a calendar acknowledgement whose signature is replayed as a submitter statement
    const ack = await signCalendarAcknowledgement(calendar, {
      leaves: [leafOf(1)],
      receivedAt: 1_790_000_000_000,
      calendar: "https://cal.example",
    });
    const asSubmitter = {
      type: "submitter",
      scheme: "eip712",
      domain: { name: "Proofmark Submitter", version: "1" },
      message: { leaf: ack.message.root, statement: "", time: 0, nonce: leafOf(0) },
      signer: ack.signer,
      signature: ack.signature,
    };
    expect(verifyAttestation(parseAttestation(asSubmitter)).valid).to.equal(false);
    const mislabelled = { ...bound, domain: { name: "Proofmark Calendar", version: "1" } };
    expect(verifyAttestation(mislabelled).code).to.equal("STATEMENT_INVALID");
  });

  it("a calendar acknowledgement: one signature over a group, each leaf verifies alone, a foreign leaf does not", async function () {
    const leaves = [1, 2, 3, 4, 5].map(leafOf);
    const ack = await signCalendarAcknowledgement(calendar, {
      leaves,
      receivedAt: 1_790_000_000_123,
      calendar: "https://cal.example",
    });
    for (let i = 0; i < leaves.length; i++) {
      const a = calendarAttestationFor(ack, ack.tree, i);
      expect(a.leaf).to.equal(leaves[i]);
      const v = verifyAttestation(parseAttestation(JSON.parse(JSON.stringify(a))), {
        foldPath: fold,
        expectedSigner: calendar.address,
      });
      expect(v.valid, v.summary).to.equal(true);
      expect(v.summary).to.equal(`signed by ${calendar.address.toLowerCase()} (calendar)`);
    }
    const a = calendarAttestationFor(ack, ack.tree, 0);
    expect(verifyAttestation({ ...a, leaf: leafOf(9) }, { foldPath: fold }).valid).to.equal(false);
    expect(
      verifyAttestation({ ...a, message: { ...a.message, receivedAt: a.message.receivedAt + 1 } }, { foldPath: fold })
        .valid,
    ).to.equal(false);
    // the calendar's key and the submitter's key are different roles: the submitter's address is not accepted as the calendar
    expect(verifyAttestation(a, { foldPath: fold, expectedSigner: submitter.address }).code).to.equal(
      "STATEMENT_SIGNER_MISMATCH",
    );
    expect(MerkleTree.build(leaves).root).to.equal(a.message.root);
  });

  it("the parser is strict: unknown fields, types and bad hex are refused", async function () {
    const a = await signSubmitterStatement(submitter, { leaf: leafOf(1), statement: "x" });
    expect(() => parseAttestation({ ...a, extra: 1 }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
    expect(() => parseAttestation({ ...a, type: "notary" }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
    expect(() => parseAttestation({ ...a, scheme: "eip191" }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
    expect(() => parseAttestation({ ...a, signer: a.signer.toUpperCase() }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
    expect(() => parseAttestation({ ...a, message: { ...a.message, leaf: "0x12" } }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
    expect(() => parseAttestation({ ...a, message: { ...a.message, time: -1 } }))
      .to.throw()
      .with.property("code", "STATEMENT_INVALID");
  });
});
