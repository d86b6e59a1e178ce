import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify, id, zeroPadValue } from "ethers";
import {
  applyProvenanceLogs,
  chainEventDigest,
  chainHeadOf,
  decodeProvenanceLog,
  EMPTY_CHAIN_HEAD,
  emptyProvenanceState,
  provenanceRegistryInterface as iface,
  type IndexedLot,
} from "../../packages/sdk/src";

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

  it("gives the ABI decoder's values and types for any LotHarvested log (masked integers, a non-address producer word left to it)", function () {
    const harvested = iface.getEvent("LotHarvested")!;
    fc.assert(
      fc.property(
        word,
        word,
        fc.oneof(
          fc.uint8Array({ minLength: 20, maxLength: 20 }).map((a) => zeroPadValue(hexlify(a), 32)),
          word,
        ),
        word,
        word,
        (lot, product, producer, season, quantity) => {
          const log = {
            topics: [harvested.topicHash, lot, product, producer],
            data: "0x" + [season, quantity].map((w) => w.slice(2)).join(""),
          };
          const ours = decodeProvenanceLog(log);
          let theirs;
          try {
            theirs = iface.decodeEventLog(harvested, log.data, log.topics);
            theirs.toArray();
          } catch {
            theirs = undefined;
          }
          if (!theirs) {
            expect(ours).to.equal(undefined);
            return;
          }
          expect(ours?.name).to.equal("LotHarvested");
          for (const k of ["lot", "product", "producer", "season", "quantity"]) {
            expect(ours!.args[k], k).to.equal(theirs[k]);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("the reducer's hash chain, hashed from the logs' own words, is the chain of the decoded values (canonical words or not)", function () {
    // A word of an integer type: canonical (high bytes zero) or not (random high bytes, masked by the decoder).
    const small = (bytes: number) =>
      fc
        .tuple(fc.boolean(), fc.uint8Array({ minLength: 32, maxLength: 32 }))
        .map(([canonical, b]) => hexlify(canonical ? b.map((v, i) => (i < 32 - bytes ? 0 : v)) : b));
    const event = fc.tuple(small(8), small(1), small(1), small(5), word, word, fc.boolean());
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 6 }), (events) => {
        const lot = 7;
        const logs = events.map(([lotWord, step, disposition, eventTime, location, document, upper], i) => {
          // the lot's topic keeps id 7 in its low 8 bytes whatever its high bytes
          const topic1 = lotWord.slice(0, 50) + "0000000000000007";
          const data = "0x" + [step, disposition, eventTime, location, document].map((w) => w.slice(2)).join("");
          return {
            topics: [fragment.topicHash, topic1, zeroPadValue("0x" + "ab".repeat(20), 32)],
            data: upper ? "0x" + data.slice(2).toUpperCase() : data,
            blockNumber: 1,
            transactionHash: "0x" + "00".repeat(32),
            index: i,
          };
        });
        const created: IndexedLot = {
          id: lot,
          product: 1,
          status: "active",
          origin: "harvest",
          quantity: 1n,
          remaining: 1n,
          packages: 0,
          issuedCodes: 0,
          parents: [],
          amounts: [],
          children: [],
          head: EMPTY_CHAIN_HEAD,
          actor: "0x" + "ab".repeat(20),
          createdAt: { blockNumber: 0, txHash: "0x" },
        };
        const state = applyProvenanceLogs(logs, 1, emptyProvenanceState(1), { lot: () => created });
        const decoded = logs.map(
          (l) => decodeProvenanceLog(l)!.args as never as Parameters<typeof chainEventDigest>[0],
        );
        expect(state.lots.get(lot)!.head).to.equal(chainHeadOf(decoded));
        expect(created.head, "the loaded lot itself is not changed").to.equal(EMPTY_CHAIN_HEAD);
      }),
      { numRuns: 200 },
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
