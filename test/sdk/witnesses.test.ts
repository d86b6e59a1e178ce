import { expect } from "chai";
import * as http from "node:http";
import { Wallet } from "ethers";
import {
  calendarAttestationFor,
  computeLeaf,
  isProofmarkError,
  parseAnyReceipt,
  parseReceipt,
  pemCertificates,
  randomSalt,
  requestTimestamp,
  serializeReceipt,
  signCalendarAcknowledgement,
  signSubmitterStatement,
  upgradeReceipt,
  verifyTimestampEntry,
  Verifier,
  type CalendarAttestation,
  type Hex,
  type PendingReceipt,
  type Receipt,
  type ReceiptTimestamp,
} from "../../packages/sdk/src";
import { KNOWN_REGISTRY_CODES } from "../../packages/sdk/src/core/registry-codes";
import { startTestTsa, type TestTsa } from "../helpers/tsa";

/**
 * Receipt v2 and the engine's per-witness verdicts, against a real `openssl ts` TSA and real
 * EIP-712 signatures: tampered token, token over another root, untrusted TSA, a lying calendar,
 * duplicated witnesses, pending receipts, the policy, and the browser-mode "not checked here".
 */

const SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
const CALENDAR_KEY = new Wallet("0x" + "11".repeat(32));
const SUBMITTER_KEY = new Wallet("0x" + "22".repeat(32));

function expectThrowsCode(fn: () => unknown, code: string): Error {
  try {
    fn();
  } catch (e) {
    expect(isProofmarkError(e), String(e)).to.equal(true);
    expect((e as { code: string }).code, (e as Error).message).to.equal(code);
    return e as Error;
  }
  throw new Error(`expected ${code}`);
}

/** A fresh commitment and a calendar's real acknowledgement of its leaf. */
async function pending(): Promise<PendingReceipt> {
  const salt = randomSalt();
  const meta = { title: "design" };
  const leaf = computeLeaf({ sha256: SHA, salt, meta });
  const other = computeLeaf({ sha256: SHA, salt: randomSalt(), meta });
  const ack = await signCalendarAcknowledgement(CALENDAR_KEY, {
    leaves: [leaf, other],
    receivedAt: 1_796_172_806_981,
    calendar: "http://127.0.0.1:1",
  });
  const text = serializeReceipt({
    format: "proofmark-receipt",
    version: 2,
    subject: { name: "design.png", size: 11, sha256: SHA },
    commitment: { salt, meta, leaf },
    anchors: [],
    timestamps: [],
    attestations: [calendarAttestationFor(ack, ack.tree, 0)],
    calendars: ["http://127.0.0.1:1"],
  } as unknown as Receipt);
  return parseAnyReceipt(text) as PendingReceipt;
}

/** A complete v2 receipt of a one-leaf batch (root = leaf), time-stamped by `tokens`. */
function complete(p: PendingReceipt, timestamps: ReceiptTimestamp[], extra: Partial<Receipt> = {}): Receipt {
  return parseReceipt(
    serializeReceipt({
      ...p,
      proof: { root: p.commitment.leaf, path: [], leafCount: 1 },
      timestamps,
      ...extra,
    } as Receipt),
  );
}

describe("receipt v2 and per-witness verification", function () {
  this.timeout(90_000);
  let tsa: TestTsa;
  let stranger: TestTsa;

  before(async function () {
    tsa = await startTestTsa({ name: "Witness A" });
    stranger = await startTestTsa({ name: "Stranger" });
  });
  after(async function () {
    await tsa?.close();
    await stranger?.close();
  });

  function verifier(trustPem: string[], policy?: "all" | "any" | number): Verifier {
    const trusted = trustPem.flatMap((p) => pemCertificates(p));
    return new Verifier({
      readers: () => [],
      knownRegistries: KNOWN_REGISTRY_CODES,
      policy,
      checkTimestamp: (t, root) => verifyTimestampEntry(t, root, trusted),
    });
  }

  describe("strict parser", function () {
    it("reads a pending receipt with parseAnyReceipt; parseReceipt refuses it with RECEIPT_PENDING", async function () {
      const p = await pending();
      expect(p.pending).to.equal(true);
      expectThrowsCode(() => parseReceipt(serializeReceipt(p)), "RECEIPT_PENDING");
      // round trip: what is written is what is read
      expect(serializeReceipt(parseAnyReceipt(serializeReceipt(p)) as PendingReceipt)).to.equal(serializeReceipt(p));
    });

    it("refuses a pending receipt with anchors, without a calendar acknowledgement, or with an unknown field", async function () {
      const p = JSON.parse(serializeReceipt(await pending()));
      const anchor = {
        chainId: 31337,
        registry: "0x" + "aa".repeat(20),
        txHash: "0x" + "bb".repeat(32),
        blockNumber: 2,
        blockHash: "0x" + "cc".repeat(32),
        timestamp: 1,
        submitter: "0x" + "dd".repeat(20),
      };
      expectThrowsCode(() => parseAnyReceipt({ ...p, anchors: [anchor] }), "RECEIPT_INVALID");
      expectThrowsCode(() => parseAnyReceipt({ ...p, attestations: [] }), "RECEIPT_INVALID");
      expectThrowsCode(() => parseAnyReceipt({ ...p, witnesses: [] }), "RECEIPT_INVALID");
      // v1 receipts do not carry v2 fields
      expectThrowsCode(
        () =>
          parseAnyReceipt({
            ...p,
            version: 1,
            proof: { root: p.commitment.leaf, path: [], leafCount: 1 },
            anchors: [anchor],
          }),
        "RECEIPT_INVALID",
      );
    });

    it("refuses duplicated witnesses: the same chain twice, the same token twice, the same signature twice", async function () {
      const p = await pending();
      const { token } = await requestTimestamp(tsa.url, p.commitment.leaf).then((e) => ({ token: e }));
      const r = JSON.parse(serializeReceipt(complete(p, [token])));
      const anchor = {
        chainId: 31337,
        registry: "0x" + "aa".repeat(20),
        txHash: "0x" + "bb".repeat(32),
        blockNumber: 2,
        blockHash: "0x" + "cc".repeat(32),
        timestamp: 1,
        submitter: "0x" + "dd".repeat(20),
      };
      expectThrowsCode(
        () => parseReceipt({ ...r, anchors: [anchor, { ...anchor, registry: "0x" + "ee".repeat(20) }] }),
        "RECEIPT_INVALID",
      );
      expectThrowsCode(() => parseReceipt({ ...r, timestamps: [r.timestamps[0], r.timestamps[0]] }), "RECEIPT_INVALID");
      expectThrowsCode(
        () => parseReceipt({ ...r, attestations: [r.attestations[0], r.attestations[0]] }),
        "RECEIPT_INVALID",
      );
    });

    it("refuses an attestation about another leaf, and a receipt without any time witness", async function () {
      const p = await pending();
      const foreign = await signSubmitterStatement(SUBMITTER_KEY, {
        leaf: ("0x" + "12".repeat(32)) as Hex,
        statement: "mine",
      });
      const j = JSON.parse(serializeReceipt(p));
      const e = expectThrowsCode(
        () => parseAnyReceipt({ ...j, attestations: [...j.attestations, foreign] }),
        "RECEIPT_INVALID",
      );
      expect(e.message).to.match(/not this receipt's leaf/);
      expectThrowsCode(
        () => parseReceipt({ ...j, proof: { root: p.commitment.leaf, path: [], leafCount: 1 } }),
        "RECEIPT_INVALID",
      );
    });
  });

  describe("engine", function () {
    it("a pending receipt verifies as pending, never as verified", async function () {
      const p = await pending();
      const r = await verifier([tsa.caPem]).verify(p, { sha256: SHA, size: 11 });
      expect(r.status).to.equal("pending");
      expect(r.ok).to.equal(false);
      expect(r.code).to.equal("RECEIPT_PENDING");
      expect(r.attestations.map((a) => [a.role, a.ok])).to.deep.equal([["calendar", true]]);
      // the file is still checked: another file is a mismatch, not "pending"
      const other = await verifier([tsa.caPem]).verify(p, { sha256: "00".repeat(32), size: 11 });
      expect(other.status).to.equal("mismatch");
    });

    it("a trusted token verifies; each token and statement has its own verdict; submitter and calendar keys are told apart", async function () {
      const p = await pending();
      const token = await requestTimestamp(tsa.url, p.commitment.leaf);
      const stmt = await signSubmitterStatement(SUBMITTER_KEY, { leaf: p.commitment.leaf, statement: "I made it" });
      const r = complete(p, [token], { attestations: [...p.attestations, stmt] });
      const v = await verifier([tsa.caPem]).verify(r, { sha256: SHA, size: 11 });
      expect(v.status, v.message).to.equal("verified");
      expect(v.timestamps[0].ok).to.equal(true);
      expect(v.timestamps[0].info!.tsa).to.match(/Witness A TSA/);
      expect(v.attestations.map((a) => [a.role, a.signer])).to.deep.equal([
        ["calendar", CALENDAR_KEY.address.toLowerCase()],
        ["submitter", SUBMITTER_KEY.address.toLowerCase()],
      ]);
      expect(v.attestations[1].message).to.equal(`signed by ${SUBMITTER_KEY.address.toLowerCase()} (submitter)`);
    });

    it("a token over another root fails with TIMESTAMP_MISMATCH, whatever the policy", async function () {
      const p = await pending();
      const good = await requestTimestamp(tsa.url, p.commitment.leaf);
      const over = await requestTimestamp(tsa.url, ("0x" + "01".repeat(32)) as Hex);
      const r = complete(p, [good, { ...over, tsa: "http://elsewhere" }]);
      const v = await verifier([tsa.caPem], "any").verify(r);
      expect(v.ok).to.equal(false);
      expect(v.status).to.equal("mismatch");
      expect(v.code).to.equal("TIMESTAMP_MISMATCH");
      expect(v.timestamps.map((t) => t.code)).to.deep.equal([undefined, "TIMESTAMP_MISMATCH"]);
    });

    it("a tampered token fails with its own code (TIMESTAMP_INVALID or TIMESTAMP_MALFORMED), never verified", async function () {
      const p = await pending();
      const good = await requestTimestamp(tsa.url, p.commitment.leaf);
      const der = Buffer.from(good.token, "base64");
      // flip one byte of the signature (the last bytes of the CMS structure)
      der[der.length - 5] ^= 0x01;
      const r = complete(p, [{ ...good, token: der.toString("base64") }]);
      const v = await verifier([tsa.caPem]).verify(r);
      expect(v.ok).to.equal(false);
      expect(["TIMESTAMP_INVALID", "TIMESTAMP_MALFORMED"]).to.include(v.timestamps[0].code);
      expect(v.status).to.equal("mismatch");
    });

    it("an untrusted TSA is TIMESTAMP_UNTRUSTED (not checked); --policy 1 still verifies on the trusted one and names the other", async function () {
      const p = await pending();
      const mine = await requestTimestamp(tsa.url, p.commitment.leaf);
      const theirs = await requestTimestamp(stranger.url, p.commitment.leaf);
      const r = complete(p, [mine, theirs]);
      const all = await verifier([tsa.caPem]).verify(r);
      expect(all.ok).to.equal(false);
      expect(all.code).to.equal("TIMESTAMP_UNTRUSTED");
      expect(all.status).to.equal("unverifiable");
      const one = await verifier([tsa.caPem], 1).verify(r);
      expect(one.ok, one.message).to.equal(true);
      expect(one.status).to.equal("verified");
      expect(one.policy).to.deep.equal({ policy: 1, required: 1, verified: 1, witnesses: 2 });
      expect(one.message)
        .to.match(/NOT CHECKED/)
        .and.include(stranger.url);
      const three = await verifier([tsa.caPem, stranger.caPem], 3).verify(r);
      expect(three.code).to.equal("POLICY_NOT_MET");
    });

    it("without an RFC 3161 verifier (the browser bundle) a token is reported NOT CHECKED, never verified", async function () {
      const p = await pending();
      const r = complete(p, [await requestTimestamp(tsa.url, p.commitment.leaf)]);
      const v = await new Verifier({
        readers: () => [],
        knownRegistries: KNOWN_REGISTRY_CODES,
        timestampsNotChecked: "not in the browser",
      }).verify(r);
      expect(v.ok).to.equal(false);
      expect(v.status).to.equal("unverifiable");
      expect(v.timestamps[0].message).to.match(/NOT CHECKED here: not in the browser/);
    });

    it("a forged calendar acknowledgement fails the receipt (STATEMENT_INVALID)", async function () {
      const p = await pending();
      const ack = p.attestations[0] as CalendarAttestation;
      const forged = { ...ack, message: { ...ack.message, receivedAt: ack.message.receivedAt - 86_400_000 } };
      const r = complete(p, [await requestTimestamp(tsa.url, p.commitment.leaf)], { attestations: [forged] });
      const v = await verifier([tsa.caPem]).verify(r);
      expect(v.ok).to.equal(false);
      expect(v.code).to.equal("STATEMENT_INVALID");
    });
  });

  describe("a lying calendar", function () {
    /** A calendar that answers every proof request with `answer(leaf)`. */
    async function liar(answer: (leaf: string) => unknown): Promise<{ url: string; close(): Promise<void> }> {
      const server = http.createServer((req, res) => {
        const leaf = String(req.url).split("/").pop()!;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer(leaf)));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        close: () => new Promise((resolve) => server.close(() => resolve())),
      };
    }

    it("a proof whose path does not lead to its root, or whose token is over another root, is refused and the receipt stays pending", async function () {
      const p = await pending();
      const overOther = await requestTimestamp(tsa.url, ("0x" + "02".repeat(32)) as Hex);
      const badPath = await liar((leaf) => ({
        format: "proofmark-calendar-proof",
        version: 1,
        status: "complete",
        leaf,
        proof: { root: "0x" + "03".repeat(32), path: [], leafCount: 1 },
        anchors: [],
        timestamps: [overOther],
        attestations: [],
      }));
      const badToken = await liar((leaf) => ({
        format: "proofmark-calendar-proof",
        version: 1,
        status: "complete",
        leaf,
        proof: { root: leaf, path: [], leafCount: 1 },
        anchors: [],
        timestamps: [overOther],
        attestations: [],
      }));
      try {
        const out = await upgradeReceipt(p, {
          verifier: verifier([tsa.caPem]),
          calendars: [badPath.url, badToken.url],
        });
        expect(out.status).to.equal("pending");
        expect(out.receipt).to.equal(p);
        expect(out.refused.map((r) => [r.calendar, r.code])).to.deep.equal([
          [badPath.url, "CALENDAR_PROOF_INVALID"],
          [badToken.url, "CALENDAR_PROOF_INVALID"],
        ]);
        expect(out.refused[1].message).to.match(/TIMESTAMP_MISMATCH/);
      } finally {
        await badPath.close();
        await badToken.close();
      }
    });

    it("an honest answer completes the receipt, verified before it is returned", async function () {
      const p = await pending();
      const token = await requestTimestamp(tsa.url, p.commitment.leaf);
      const honest = await liar((leaf) => ({
        format: "proofmark-calendar-proof",
        version: 1,
        status: "complete",
        leaf,
        proof: { root: leaf, path: [], leafCount: 1 },
        anchors: [],
        timestamps: [token],
        attestations: [],
      }));
      try {
        const out = await upgradeReceipt(p, { verifier: verifier([tsa.caPem]), calendars: [honest.url] });
        expect(out.status).to.equal("complete");
        if (out.status !== "complete") return;
        expect(out.result.status).to.equal("verified");
        expect(parseReceipt(serializeReceipt(out.receipt)).timestamps).to.have.length(1);
      } finally {
        await honest.close();
      }
    });
  });
});
