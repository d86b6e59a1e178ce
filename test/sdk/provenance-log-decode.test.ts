import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify, id, zeroPadValue } from "ethers";
import { decodeProvenanceLog, provenanceRegistryInterface as iface } from "../../packages/sdk/src";

/** The fast path of the log decoder reads LotEventRecorded exactly as the ABI decoder does. */
describe("decodeProvenanceLog", function () {
  const fragment = iface.getEvent("LotEventRecorded")!;
  const word = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b));

  it("gives the ABI decoder's values for any LotEventRecorded log, including out-of-range small integers", function () {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        word,
        word,
        word,
        word,
        word,
        (lot, actor, w0, w1, w2, location, document) => {
          const log = {
            topics: [
              fragment.topicHash,
              zeroPadValue(hexlify(new Uint8Array(8).map((_v, i) => Number((lot >> BigInt(56 - 8 * i)) & 0xffn))), 32),
              zeroPadValue(hexlify(actor), 32),
            ],
            data: "0x" + [w0, w1, w2, location, document].map((w) => w.slice(2)).join(""),
          };
          const ours = decodeProvenanceLog(log)!;
          const theirs = iface.decodeEventLog(fragment, log.data, log.topics);
          expect(ours.name).to.equal("LotEventRecorded");
          for (const k of ["lot", "actor", "step", "disposition", "eventTime", "location", "document"])
            expect(String(ours.args[k]), k).to.equal(String(theirs[k]));
          expect(ours.args.actor).to.equal(getAddress(hexlify(actor)));
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses what is not one of the registry's events, and leaves other events to the ABI decoder", function () {
    expect(decodeProvenanceLog({ topics: [id("Transfer(address,address,uint256)")], data: "0x" })).to.equal(undefined);
    // An address topic with high bytes set is not a valid address: not decoded.
    const bad = {
      topics: [fragment.topicHash, zeroPadValue("0x01", 32), "0x" + "ff".repeat(32)],
      data: "0x" + "00".repeat(160),
    };
    expect(decodeProvenanceLog(bad)).to.equal(undefined);
    const recall = iface.encodeEventLog(iface.getEvent("LotRecalled")!, [
      7,
      getAddress("0x" + "ab".repeat(20)),
      "residue",
    ]);
    expect(decodeProvenanceLog(recall)).to.deep.include({ name: "LotRecalled" });
    expect(decodeProvenanceLog(recall)!.args.reason).to.equal("residue");
  });
});
