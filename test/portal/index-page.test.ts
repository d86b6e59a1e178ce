import { expect } from "chai";
import * as zlib from "node:zlib";
import { decodePage, encodePage, type IndexOp } from "../../packages/portal/src/index-log";

/** The shared index's page format: what the writer appends and every instance decodes. */
describe("portal shared index pages", () => {
  const ops: IndexOp[] = [
    ["INSERT OR REPLACE INTO products (id, name) VALUES (?, ?)", [1, "砀山酥梨 <img src=x onerror=alert(1)>"]],
    ["INSERT OR REPLACE INTO lot_states (lot, remaining) VALUES (?, ?)", [7, 12345678901234567890n]],
    ["INSERT OR REPLACE INTO products (id, name) VALUES (?, ?)", [2, "\u202Eevil\n"]],
    ["DELETE FROM blocks WHERE number < ?", [null]],
  ];

  it("round-trips non-ASCII text, bigints and nulls", () => {
    expect(decodePage(encodePage(ops))).to.deep.equal(ops);
  });

  it("still decodes a page written before Brotli (raw deflate of the same JSON body)", () => {
    const body = {
      sql: [ops[0][0], ops[1][0]],
      rows: [
        [0, 1, "砀山酥梨 <img src=x onerror=alert(1)>"],
        [1, 7, { $bigint: "12345678901234567890" }],
      ],
      bigints: 1,
    };
    const old = zlib.deflateRawSync(JSON.stringify(body), { level: 1 });
    expect(decodePage(old)).to.deep.equal(ops.slice(0, 2));
    // Raw deflate never starts with both block-type bits set, so the new pages' first byte cannot be confused with it.
    expect(old[0] & 0b110).to.not.equal(0b110);
    expect(encodePage(ops)[0]).to.equal(0xff);
  });
});
