import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "ethers";
import { keccak256, keccak256Pair, keccak256PairWords, LITTLE_ENDIAN } from "../../packages/sdk/src/core/keccak";

describe("SDK core: keccak-256", function () {
  it("matches ethers for the empty input and the classic vectors", function () {
    expect(ethers.hexlify(keccak256(new Uint8Array()))).to.equal(
      "0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    );
    expect(ethers.hexlify(keccak256(ethers.toUtf8Bytes("abc")))).to.equal(
      "0x4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
    );
  });

  it("property: matches ethers.keccak256 for every length 0..300 (one block, block edges, several blocks)", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 300 }),
        (data) => ethers.hexlify(keccak256(data)) === ethers.keccak256(data),
      ),
      { numRuns: 600 },
    );
    for (const n of [0, 1, 3, 4, 31, 32, 33, 63, 64, 65, 134, 135, 136, 137, 224, 271, 272, 543, 4095, 4096, 4097]) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
      expect(ethers.hexlify(keccak256(data))).to.equal(ethers.keccak256(data));
    }
  });

  it("property: keccak256Pair(a, b) = keccak256(a ‖ b)", function () {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (a, b) => {
          const out = new Uint8Array(40);
          keccak256Pair(a, b, out, 5);
          return ethers.hexlify(out.subarray(5, 37)) === ethers.keccak256(ethers.concat([a, b]));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("property: keccak256PairWords (Merkle nodes in place) = keccak256(a ‖ b), between hashes of other lengths", function () {
    if (!LITTLE_ENDIAN) this.skip(); // its callers use it on little-endian hosts only
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 300 }),
        (a, b, n) => {
          const other = Uint8Array.from({ length: n }, (_, i) => (i * 13 + n) & 0xff);
          // a longer input before it leaves its bytes where this one's padding goes
          expect(ethers.hexlify(keccak256(other))).to.equal(ethers.keccak256(other));
          const words = new Uint32Array(32);
          const bytes = new Uint8Array(words.buffer);
          bytes.set(b, 0);
          bytes.set(a, 64);
          keccak256PairWords(words, 16, 0, 24);
          return ethers.hexlify(bytes.subarray(96, 128)) === ethers.keccak256(ethers.concat([a, b]));
        },
      ),
      { numRuns: 300 },
    );
  });
});
