import { expect } from "chai";
import fc from "fast-check";
import { getAddress, hexlify, type EventFragment, type ParamType, type Result } from "ethers";
import {
  decodeProvenanceLog,
  evidenceRegistryInterface,
  provenanceRegistryInterface as iface,
} from "../../packages/sdk/src";
import { decodeCanonicalLog } from "../../packages/sdk/src/internal";

/** Random values of an ABI type, as ethers' encoder takes them. */
function arbitrary(t: ParamType): fc.Arbitrary<unknown> {
  if (t.baseType === "tuple") return fc.tuple(...t.components!.map(arbitrary));
  if (t.baseType === "array") return fc.array(arbitrary(t.arrayChildren!), { maxLength: 4 });
  if (t.type === "address") return fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => getAddress(hexlify(b)));
  if (t.type === "string") return fc.string({ unit: "binary", maxLength: 40 });
  const uint = /^uint(\d+)$/.exec(t.type);
  if (uint) return fc.bigInt({ min: 0n, max: (1n << BigInt(uint[1])) - 1n });
  const bytes = /^bytes(\d+)$/.exec(t.type);
  if (bytes) return fc.uint8Array({ minLength: Number(bytes[1]), maxLength: Number(bytes[1]) }).map((b) => hexlify(b));
  throw new Error(`no arbitrary for ${t.type}`);
}

/** ethers' decoded value with tuples as objects by name and arrays as arrays (what the canonical reader gives). */
function plain(t: ParamType, v: unknown): unknown {
  if (t.baseType === "tuple")
    return Object.fromEntries(t.components!.map((c, i) => [c.name, plain(c, (v as Result)[i])]));
  if (t.baseType === "array") return [...(v as Result)].map((x) => plain(t.arrayChildren!, x));
  return v;
}

/** decodeProvenanceLog's arguments (a Result when the ABI decoder read them) by name, tuples and arrays plain. */
function plainArgs(fragment: EventFragment, args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    fragment.inputs.map((p) => {
      const v = args[p.name];
      return [p.name, Array.isArray(v) && !(p.baseType === "tuple" && !("toArray" in v)) ? plain(p, v) : v];
    }),
  );
}

function theirs(fragment: EventFragment, log: { topics: string[]; data: string }): Record<string, unknown> | undefined {
  const i = fragment === evidenceFragment ? evidenceRegistryInterface : iface;
  try {
    const r = i.decodeEventLog(fragment, log.data, log.topics);
    return Object.fromEntries(fragment.inputs.map((p, k) => [p.name, plain(p, r[k])]));
  } catch {
    return undefined;
  }
}

const evidenceFragment = evidenceRegistryInterface.getEvent("EvidenceAnchored")!;
const fragments: EventFragment[] = [evidenceFragment];
iface.forEachEvent((f) => fragments.push(f));

/** The logs of every registry event with random arguments, as the contract (ethers' encoder: canonical) emits them. */
const anyLog = fc.constantFrom(...fragments).chain((fragment) =>
  fc.tuple(...fragment.inputs.map(arbitrary)).map((values) => {
    const i = fragment === evidenceFragment ? evidenceRegistryInterface : iface;
    const { data, topics } = i.encodeEventLog(fragment, values);
    return { fragment, log: { data, topics } };
  }),
);

describe("decodeCanonicalLog (registry logs read from their words)", function () {
  it("gives the ABI decoder's values and types for every registry event in the canonical layout", function () {
    fc.assert(
      fc.property(anyLog, ({ fragment, log }) => {
        const ours = decodeCanonicalLog(fragment, log);
        expect(ours, fragment.name).to.not.equal(undefined);
        expect(ours).to.deep.equal(theirs(fragment, log));
        // decodeProvenanceLog reads them the same way (LotEventRecorded has its own fast path, with numbers for its small integers)
        if (fragment !== evidenceFragment && fragment.name !== "LotEventRecorded")
          expect(decodeProvenanceLog(log)).to.deep.equal({ name: fragment.name, args: ours });
      }),
      { numRuns: 400 },
    );
  });

  it("reads nothing the ABI decoder would read otherwise: altered words, lengths, offsets and padding are left to it", function () {
    const altered = anyLog.chain(({ fragment, log }) =>
      fc
        .tuple(
          fc.nat({ max: Math.max(0, log.data.length - 3) }),
          fc.constantFrom(..."0123456789abcdefABCDEF"),
          fc.constantFrom("digit", "add word", "drop word", "topic"),
          fc.nat({ max: 3 }),
        )
        .map(([at, digit, how, topic]) => {
          const d = log.data;
          let data = d;
          const topics = [...log.topics];
          if (how === "digit" && d.length > 2) data = d.slice(0, 2 + at) + digit + d.slice(3 + at);
          if (how === "add word") data = d + "0".repeat(63) + digit;
          if (how === "drop word" && d.length > 2) data = d.slice(0, -64);
          if (how === "topic" && topics.length > 1) {
            const k = 1 + (topic % (topics.length - 1));
            topics[k] = topics[k].slice(0, 2 + (at % 64)) + digit + topics[k].slice(3 + (at % 64));
          }
          return { fragment, log: { data, topics } };
        }),
    );
    fc.assert(
      fc.property(altered, ({ fragment, log }) => {
        const ours = decodeCanonicalLog(fragment, log);
        if (ours !== undefined) expect(ours).to.deep.equal(theirs(fragment, log));
        if (fragment !== evidenceFragment && fragment.name !== "LotEventRecorded") {
          const expected = theirs(fragment, log);
          const decoded = decodeProvenanceLog(log);
          if (expected === undefined) expect(decoded).to.equal(undefined);
          else expect(plainArgs(fragment, decoded!.args)).to.deep.equal(expected);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("decodes a string only when it is valid UTF-8, as the ABI decoder does (any bytes)", function () {
    const recalled = iface.getEvent("LotRecalled")!;
    const topics = iface.encodeEventLog(recalled, [7, getAddress("0x" + "ab".repeat(20)), ""]).topics;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70 }), (bytes) => {
        const padded = new Uint8Array(32 * Math.ceil(bytes.length / 32));
        padded.set(bytes);
        const word = (n: number) => n.toString(16).padStart(64, "0");
        const log = { topics, data: "0x" + word(32) + word(bytes.length) + hexlify(padded).slice(2) };
        const ours = decodeCanonicalLog(recalled, log);
        const expected = theirs(recalled, log);
        expect(ours).to.deep.equal(expected);
      }),
      { numRuns: 500 },
    );
  });
});
