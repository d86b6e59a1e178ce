import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "ethers";
import {
  buildDigitalLink,
  gtinCheckDigit,
  isProofmarkError,
  isSerial,
  isValidGtin,
  MerkleTree,
  newSerial,
  normalizeGtin,
  parseDigitalLink,
  randomSalt,
  serialLeaf,
  serialSetCommitment,
  SERIAL_ALPHABET,
  SERIAL_LEAF_DOMAIN,
  verifyProof,
  type Hex,
} from "../../packages/sdk/src";
import vectors from "./gs1.vectors.json";
import gs1Suite from "../vectors/digital-link/vectors.json";
import { checkDigitalLink, decodeAiValue, encodeAiValue, lotClass } from "../../packages/sdk/src";

const CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

function expectInvalid(fn: () => unknown, pattern?: RegExp): void {
  try {
    fn();
  } catch (e) {
    expect(isProofmarkError(e, "INVALID_ARGUMENT"), String(e)).to.equal(true);
    if (pattern) expect((e as Error).message).to.match(pattern);
    return;
  }
  expect.fail("expected INVALID_ARGUMENT");
}

describe("GS1 identifiers (core/gs1)", () => {
  describe("GTIN check digits", () => {
    for (const v of vectors.validGtins) {
      it(`accepts the published GTIN ${v.gtin} and writes it as ${v.gtin14}`, () => {
        expect(isValidGtin(v.gtin)).to.equal(true);
        expect(normalizeGtin(v.gtin)).to.equal(v.gtin14);
        expect(gtinCheckDigit(v.gtin.slice(0, -1))).to.equal(Number(v.gtin.at(-1)));
      });
    }
    for (const v of vectors.invalidGtins) {
      it(`rejects ${JSON.stringify(v.gtin)} (${v.why})`, () => {
        expect(isValidGtin(v.gtin)).to.equal(false);
        expectInvalid(() => normalizeGtin(v.gtin));
      });
    }
    it("names the right check digit in the error", () => {
      expectInvalid(() => normalizeGtin("9501101530004"), /should be 3/);
    });
    it("detects every single-digit change of a valid GTIN-14", () => {
      fc.assert(
        fc.property(
          fc.stringMatching(/^[0-9]{13}$/),
          fc.integer({ min: 0, max: 13 }),
          fc.integer({ min: 1, max: 9 }),
          (body, pos, delta) => {
            const gtin = body + gtinCheckDigit(body);
            expect(isValidGtin(gtin)).to.equal(true);
            const changed = gtin.slice(0, pos) + ((Number(gtin[pos]) + delta) % 10) + gtin.slice(pos + 1);
            expect(isValidGtin(changed)).to.equal(false);
          },
        ),
      );
    });
  });

  describe("Digital Link URIs", () => {
    for (const v of vectors.links) {
      it(`builds and parses ${v.uri}`, () => {
        expect(buildDigitalLink(v)).to.equal(v.uri);
        const parsed = parseDigitalLink(v.uri);
        expect(parsed).to.deep.equal({
          resolver: v.resolver.replace(/\/$/, ""),
          gtin: normalizeGtin(v.gtin),
          lot: v.lot,
          serial: v.serial,
        });
      });
    }
    for (const v of vectors.badUris) {
      it(`rejects ${v.uri} (${v.why})`, () => expectInvalid(() => parseDigitalLink(v.uri)));
    }
    for (const v of vectors.nonCanonical) {
      it(`accepts ${v.uri} but reports it is not canonical (${v.why})`, () => {
        expect(parseDigitalLink(v.uri)).to.deep.include({ lot: v.lot, serial: v.serial });
        const check = checkDigitalLink(v.uri);
        expect(check).to.deep.include({ ok: true, canonical: false, canonicalUri: v.canonical });
        expect(check.problems.join(" ")).to.match(/not written canonically/);
        expect(checkDigitalLink(v.canonical)).to.deep.include({ ok: true, canonical: true, problems: [] });
      });
    }
    it("reports why a malformed code is not well-formed", () => {
      const check = checkDigitalLink("https://id.example.org/01/09501101530004/10/1/21/X");
      expect(check.ok).to.equal(false);
      expect(check.problems.join(" ")).to.match(/check digit/);
    });
    it("round-trips every CSET 82 lot and serial exactly", () => {
      const value = fc
        .array(fc.constantFrom(...CSET82.split("")), { minLength: 1, maxLength: 20 })
        .map((a) => a.join(""));
      fc.assert(
        fc.property(value, value, (lot, serial) => {
          const uri = buildDigitalLink({ resolver: "https://id.example.org", gtin: "09506000134352", lot, serial });
          expect(uri).to.match(
            /^https:\/\/id\.example\.org\/01\/09506000134352\/10\/[0-9A-Za-z\-._%]+\/21\/[0-9A-Za-z\-._%]+$/,
          );
          const back = parseDigitalLink(uri);
          expect(back.lot).to.equal(lot);
          expect(back.serial).to.equal(serial);
          expect(buildDigitalLink(back)).to.equal(uri);
        }),
        { numRuns: 500 },
      );
    });
    it("rejects a lot or serial outside CSET 82 when building", () => {
      expectInvalid(
        () => buildDigitalLink({ resolver: "https://x.org", gtin: "9501101530003", lot: "批次1", serial: "A" }),
        /character set 82/,
      );
      expectInvalid(() =>
        buildDigitalLink({ resolver: "https://x.org", gtin: "9501101530003", lot: "1", serial: "A".repeat(21) }),
      );
      expectInvalid(() =>
        buildDigitalLink({ resolver: "https://x.org?q=1", gtin: "9501101530003", lot: "1", serial: "A" }),
      );
    });
  });

  describe("serials", () => {
    it("are 16 Crockford base32 characters carrying 80 random bits", () => {
      const seen = new Set<string>();
      for (let i = 0; i < 2000; i++) {
        const s = newSerial();
        expect(isSerial(s), s).to.equal(true);
        seen.add(s);
      }
      expect(seen.size).to.equal(2000);
      // The 80 bits map one to one onto the 16 characters.
      expect(newSerial(() => new Uint8Array(10))).to.equal("0".repeat(16));
      expect(newSerial(() => new Uint8Array(10).fill(255))).to.equal("Z".repeat(16));
      expect(newSerial(() => Uint8Array.from([0x08, 0x86, 0x42, 0x98, 0xe8, 0x08, 0x86, 0x42, 0x98, 0xe8]))).to.equal(
        "1234567812345678",
      );
      expect(SERIAL_ALPHABET).to.have.length(32);
      expect(SERIAL_ALPHABET).not.to.match(/[ILOU]/);
    });
    it("commit to the set with a Merkle root that proves members and rejects inventions", () => {
      const serials = Array.from({ length: 7 }, () => ({ serial: newSerial(), salt: randomSalt() }));
      const { root, leaves } = serialSetCommitment("9501101530003", "12", serials);
      const tree = MerkleTree.build(leaves);
      expect(tree.root).to.equal(root);
      for (let i = 0; i < serials.length; i++) expect(verifyProof(leaves[i], tree.proof(i), root)).to.equal(true);
      const invented = serialLeaf({ gtin: "09501101530003", lot: "12", serial: newSerial(), salt: serials[0].salt });
      for (let i = 0; i < serials.length; i++) expect(verifyProof(invented, tree.proof(i), root)).to.equal(false);
    });
    it("defines the leaf as keccak256(keccak256(domain ‖ keccak256(gtin/lot/serial) ‖ salt)), matching ethers", () => {
      const salt = `0x${"11".repeat(32)}` as Hex;
      const inner = ethers.keccak256(
        ethers.concat([
          SERIAL_LEAF_DOMAIN,
          ethers.keccak256(ethers.toUtf8Bytes("09501101530003/12/1234567812345678")),
          salt,
        ]),
      );
      expect(serialLeaf({ gtin: "09501101530003", lot: "12", serial: "1234567812345678", salt })).to.equal(
        ethers.keccak256(inner),
      );
      expect(SERIAL_LEAF_DOMAIN).to.equal(ethers.id("proofmark.serial.leaf.v1"));
    });
  });

  describe("GS1's own test cases (test/vectors/digital-link, gs1-syntax-engine)", () => {
    for (const v of gs1Suite.escape) {
      it(`escapes ${JSON.stringify(v.value)} as ${v.path}`, () => expect(encodeAiValue(v.value)).to.equal(v.path));
    }
    for (const v of gs1Suite.unescape) {
      it(`reads the segment ${v.segment} as ${JSON.stringify(v.value)}`, () => {
        expect(decodeAiValue(v.segment, "lot")).to.equal(v.value);
        expect(encodeAiValue(v.value)).to.equal(v.canonical ?? v.segment);
      });
    }
    for (const v of gs1Suite.links) {
      it(`parses ${v.uri}`, () => {
        expect(parseDigitalLink(v.uri)).to.deep.equal({
          resolver: v.resolver,
          gtin: v.gtin,
          lot: v.lot,
          serial: v.serial,
        });
        const check = checkDigitalLink(v.uri);
        expect(check.ok).to.equal(true);
        expect(check.canonicalUri).to.equal(v.canonical ?? v.uri);
        expect(buildDigitalLink({ resolver: v.resolver, gtin: v.gtin, lot: v.lot, serial: v.serial })).to.equal(
          v.canonical ?? v.uri,
        );
      });
    }
    for (const v of gs1Suite.bad) {
      it(`rejects ${v.uri} (${v.why})`, () => {
        expectInvalid(() => parseDigitalLink(v.uri));
        expect(checkDigitalLink(v.uri).ok).to.equal(false);
      });
    }
    it("lot-level classes use GS1 percent-encoding: L(1 → L%281, / allowed, CSET 82 enforced, GTIN checked", () => {
      expect(lotClass({ giNumber: "AGI00001", lot: "L(1", gtin: "06901234567892" })).to.equal(
        "https://id.gs1.org/01/06901234567892/10/L%281",
      );
      expect(lotClass({ giNumber: "AGI00001", lot: "A/B", gtin: "06901234567892" })).to.equal(
        "https://id.gs1.org/01/06901234567892/10/A%2FB",
      );
      expectInvalid(() => lotClass({ giNumber: "AGI00001", lot: "批次", gtin: "06901234567892" }), /character set 82/);
      expectInvalid(() => lotClass({ giNumber: "AGI00001", lot: "A", gtin: "06901234567893" }), /check digit/);
      fc.assert(
        fc.property(
          fc.array(fc.constantFrom(...CSET82.split("")), { minLength: 1, maxLength: 20 }).map((a) => a.join("")),
          (lot) => {
            const uri = lotClass({ giNumber: "X", lot, gtin: "09506000134352" });
            expect(decodeAiValue(uri.split("/10/")[1], "lot")).to.equal(lot);
          },
        ),
        { numRuns: 300 },
      );
    });
  });
});
