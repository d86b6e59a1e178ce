import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify, id, zeroPadValue } from "ethers";
import {
  applyProvenanceLogs,
  chainEvent,
  chainEventDigest,
  chainHeadOf,
  decodeProvenanceLog,
  EMPTY_CHAIN_HEAD,
  emptyProvenanceState,
  lotStorageCalls,
  LOT_STATUSES,
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
        // The events themselves: canonical logs are read straight from their words, others decoded; both as the decoder reads them.
        const expected = logs.map((l) => {
          const a = decodeProvenanceLog(l)!.args;
          return chainEvent({
            lot: Number(a.lot),
            actor: String(a.actor),
            step: Number(a.step),
            disposition: Number(a.disposition),
            eventTime: Number(a.eventTime),
            location: String(a.location),
            document: String(a.document),
            blockNumber: l.blockNumber,
            txHash: l.transactionHash,
            logIndex: l.index,
          });
        });
        expect(state.events.get(lot)).to.deep.equal(expected);
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

/** A lot's storage reads, batched by the portal's indexer: the calls and answers of the ABI. */
describe("lotStorageCalls", function () {
  it("sends the ABI's headOf/lotOf calldata and reads their answers as the ABI decoder does", function () {
    const lotOf = iface.getFunction("lotOf")!;
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => hexlify(b)),
        fc.tuple(
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.integer({ min: 0, max: 3 }),
          fc.integer({ min: 0, max: 4 }),
          fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
          fc.integer({ min: 0, max: 2 ** 32 - 1 }),
        ),
        (id, head, lot) => {
          const data = lotStorageCalls.data(id);
          expect(data.head).to.equal(iface.encodeFunctionData("headOf", [id]));
          expect(data.lot).to.equal(iface.encodeFunctionData("lotOf", [id]));
          const answer = iface.encodeFunctionResult(lotOf, [lot]);
          const decoded = iface.decodeFunctionResult(lotOf, answer)[0];
          expect(lotStorageCalls.facts(iface.encodeFunctionResult("headOf", [head]), answer)).to.deep.equal({
            head,
            status: LOT_STATUSES[Number(decoded.status)],
            quantity: decoded.quantity,
            remaining: decoded.remaining,
          });
        },
      ),
      { numRuns: 100 },
    );
  });

  it("refuses an answer that is not the registry's (RPC_UNREACHABLE: the range is read again)", function () {
    const head = "0x" + "11".repeat(32);
    const lot = "0x" + "00".repeat(32 * 7);
    expect(lotStorageCalls.facts(head, lot).status).to.equal("none");
    for (const [h, l] of [
      ["0x", lot],
      [head, "0x"],
      [head, lot + "00"],
      [head, "0x" + "ff".repeat(32) + "00".repeat(32 * 6)], // product wider than uint32
      [head, "0x" + "zz".repeat(32 * 7)],
    ]) {
      expect(() => lotStorageCalls.facts(h, l), `${h.slice(0, 10)} ${l.slice(0, 10)}`)
        .to.throw()
        .with.property("code", "RPC_UNREACHABLE");
    }
  });
});
