import { expect } from "chai";
import { ENCRYPTION_ALG } from "../../packages/sdk/src/store";
import { isProofmarkError, parseReceipt, serializeReceipt, type Hex, type Receipt } from "../../packages/sdk/src/core";
import vectors from "../vectors/evidence.json";

function receipt(): Receipt {
  const tree = vectors.trees[4];
  const v = vectors.leaves[2];
  return {
    format: "proofmark-receipt",
    version: 1,
    subject: {
      name: v.name,
      size: v.size,
      sha256: v.sha256,
      cid: "bafybeidhi4glqjp7j5ihitx7qorf4sgf5ysgxtnwzkxycws4bzsuovzpwi",
    },
    commitment: { salt: v.salt as Hex, meta: v.meta as Receipt["commitment"]["meta"], leaf: v.leaf as Hex },
    proof: { root: tree.root as Hex, path: tree.proofs[2] as Hex[], leafCount: 5 },
    anchors: [
      {
        chainId: 31337,
        registry: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
        txHash: `0x${"ab".repeat(32)}`,
        blockNumber: 7,
        blockHash: `0x${"cd".repeat(32)}`,
        timestamp: 1_800_000_000,
        submitter: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",
      },
    ],
    encryption: { alg: ENCRYPTION_ALG, key: `0x${"07".repeat(32)}` },
  };
}

function invalid(value: unknown, pattern: RegExp): void {
  try {
    parseReceipt(JSON.stringify(value));
  } catch (e) {
    expect(isProofmarkError(e, "RECEIPT_INVALID"), String(e)).to.equal(true);
    expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail("expected RECEIPT_INVALID");
}

describe("store: the receipt's encryption field (strict)", function () {
  it("round-trips subject.cid and { alg, key }", function () {
    const r = receipt();
    expect(parseReceipt(serializeReceipt(r))).to.deep.equal(r);
  });

  it("rejects an unknown alg, an extra field, a short key, and encryption without subject.cid", function () {
    invalid({ ...receipt(), encryption: { alg: "aes-128-cbc", key: `0x${"07".repeat(32)}` } }, /encryption\.alg/);
    invalid(
      { ...receipt(), encryption: { alg: ENCRYPTION_ALG, key: `0x${"07".repeat(32)}`, iv: "00" } },
      /encryption\.iv is not a field/,
    );
    invalid({ ...receipt(), encryption: { alg: ENCRYPTION_ALG, key: `0x${"07".repeat(16)}` } }, /encryption\.key/);
    const r = receipt();
    delete r.subject.cid;
    invalid(r, /subject\.cid/);
  });
});
