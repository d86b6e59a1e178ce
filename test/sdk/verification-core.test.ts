import { expect } from "chai";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import fc from "fast-check";
import {
  checkBlock,
  checkLog,
  checkRegistryCode,
  checkTxInBlock,
  codeHashOf,
  decodeAnchorOfAnswer,
  escapeControlChars,
  isProofmarkError,
  jsonRpcCall,
  KNOWN_REGISTRY_CODES,
  parseJsonStrict,
  parseReceipt,
  RECEIPT_MAX_BYTES,
  serializeReceipt,
  statusOfCode,
  uncoveredFields,
  VERDICT_STATUSES,
  ERROR_CODES,
  type Hex,
  type Receipt,
} from "../../packages/sdk/src";
import { EvidenceRegistryArtifact } from "../../packages/sdk/src/chain/artifacts.generated";

const vectors = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "vectors", "evidence.json"), "utf8"));

function sample(): Receipt {
  const v = vectors.leaves[0];
  return parseReceipt({
    format: "proofmark-receipt",
    version: 1,
    subject: { name: v.name, size: 3, sha256: v.sha256 },
    commitment: { salt: v.salt, meta: v.meta, leaf: v.leaf },
    proof: { root: v.leaf, path: [], leafCount: 1 },
    anchors: [
      {
        chainId: 31337,
        registry: `0x${"11".repeat(20)}`,
        txHash: `0x${"22".repeat(32)}`,
        blockNumber: 7,
        blockHash: `0x${"33".repeat(32)}`,
        timestamp: 1_700_000_000,
        submitter: `0x${"44".repeat(20)}`,
      },
    ],
  });
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isProofmarkError(e) ? e.code : `not a ProofmarkError: ${e}`;
  }
  return undefined;
}

describe("SDK core: the verification steps and the strict receipt reader", function () {
  describe("parseJsonStrict", function () {
    it("reads what JSON.parse reads (property), with objects that have no prototype", function () {
      fc.assert(
        fc.property(fc.jsonValue(), (v) => {
          const text = JSON.stringify(v);
          return JSON.stringify(parseJsonStrict(text)) === JSON.stringify(JSON.parse(text));
        }),
        { numRuns: 300 },
      );
      const o = parseJsonStrict('{"__proto__": {"x": 1}}') as Record<string, unknown>;
      expect(Object.getPrototypeOf(o)).to.equal(null);
      expect(Object.keys(o)).to.deep.equal(["__proto__"]);
    });

    it("refuses duplicate keys (JSON.parse keeps the last), trailing garbage and deep nesting", function () {
      expect(() => parseJsonStrict('{"a": 1, "a": 2}')).to.throw(/duplicate key "a"/);
      expect(() => parseJsonStrict('{"a": {"b": 1, "c": 2, "b": 3}}')).to.throw(/duplicate key "b"/);
      expect(() => parseJsonStrict('{"a": 1} x')).to.throw(/trailing/);
      expect(() => parseJsonStrict("[".repeat(100) + "]".repeat(100))).to.throw(/nesting/);
      expect(() => parseJsonStrict("{'a': 1}")).to.throw();
      expect(() => parseJsonStrict("[1,]")).to.throw();
    });
  });

  describe("parseReceipt", function () {
    it("keeps v1 receipts byte-compatible", function () {
      const text = serializeReceipt(sample());
      expect(serializeReceipt(parseReceipt(text))).to.equal(text);
    });

    it("refuses duplicate keys, __proto__ meta, control characters in meta keys, duplicated anchors and too many anchors", function () {
      const text = serializeReceipt(sample());
      const r = JSON.parse(text);
      expect(code(() => parseReceipt(text.replace('"leafCount": 1', '"leafCount": 1, "leafCount": 1')))).to.equal(
        "RECEIPT_INVALID",
      );
      expect(
        code(() => parseReceipt(text.replace('"meta": {', '"meta": {\n "__proto__": "FORGED AUTHOR: Bob",'))),
      ).to.equal("RECEIPT_INVALID");
      expect(
        code(() =>
          parseReceipt(JSON.stringify({ ...r, commitment: { ...r.commitment, meta: { "a\u001b[2Kb": "x" } } })),
        ),
      ).to.equal("RECEIPT_INVALID");
      expect(code(() => parseReceipt(JSON.stringify({ ...r, anchors: [r.anchors[0], r.anchors[0]] })))).to.equal(
        "RECEIPT_INVALID",
      );
      const many = Array.from({ length: 40 }, (_, i) => ({ ...r.anchors[0], chainId: i + 1 }));
      expect(code(() => parseReceipt(JSON.stringify({ ...r, anchors: many })))).to.equal("RECEIPT_INVALID");
      // the same registry on two chains is two anchors
      expect(
        parseReceipt(JSON.stringify({ ...r, anchors: [r.anchors[0], { ...r.anchors[0], chainId: 1 }] })).anchors,
      ).to.have.length(2);
    });

    it("refuses more than RECEIPT_MAX_BYTES with RECEIPT_TOO_LARGE, counting UTF-8 bytes", function () {
      expect(code(() => parseReceipt(" ".repeat(RECEIPT_MAX_BYTES + 1)))).to.equal("RECEIPT_TOO_LARGE");
      expect(code(() => parseReceipt("中".repeat(RECEIPT_MAX_BYTES / 3 + 1)))).to.equal("RECEIPT_TOO_LARGE");
      expect(code(() => parseReceipt(" ".repeat(RECEIPT_MAX_BYTES)))).to.equal("RECEIPT_INVALID");
    });

    it("names the fields the commitment does not cover", function () {
      expect(uncoveredFields(sample()).map((u) => u.field)).to.deep.equal(["subject.name", "subject.size"]);
    });
  });

  describe("steps", function () {
    const r = sample();
    const a = r.anchors[0];
    const answer = { submitter: a.submitter, anchoredAt: a.timestamp, blockNumber: a.blockNumber };
    const log = {
      address: a.registry,
      root: r.proof.root,
      submitter: a.submitter,
      leafCount: 1n,
      blockHash: a.blockHash,
      blockNumber: a.blockNumber,
      txHash: a.txHash,
    };

    it("one vocabulary: every code maps onto one of the five statuses, and only no code is 'verified'", function () {
      for (const c of ERROR_CODES) {
        expect(VERDICT_STATUSES).to.include(statusOfCode(c));
        expect(statusOfCode(c), c).to.not.equal("verified");
      }
      expect(statusOfCode(undefined)).to.equal("verified");
    });

    it("decodes anchorOf answers and refuses what is not one", function () {
      const word = (x: string) => x.replace(/^0x/, "").padStart(64, "0");
      const data = `0x${word(a.submitter)}${word(a.timestamp.toString(16))}${word(a.blockNumber.toString(16))}`;
      expect(decodeAnchorOfAnswer(data)).to.deep.equal(answer);
      expect(decodeAnchorOfAnswer("0x")).to.equal(null);
      expect(decodeAnchorOfAnswer(`0x${"ff".repeat(96)}`)).to.equal(null); // an address word with high bits set
    });

    it("the block header, not the contract, gives the time; a different hash or time fails", function () {
      const header = { number: 7, hash: a.blockHash, timestamp: a.timestamp, transactions: [a.txHash] };
      expect(checkBlock(a, answer, header).ok).to.equal(true);
      expect(checkBlock(a, answer, { ...header, timestamp: a.timestamp - 1 }).code).to.equal("ANCHOR_MISMATCH");
      expect(checkBlock(a, { ...answer, anchoredAt: 1 }, header).code).to.equal("ANCHOR_MISMATCH");
      expect(checkBlock(a, answer, { ...header, hash: `0x${"99".repeat(32)}` as Hex }).code).to.equal(
        "ANCHOR_MISMATCH",
      );
      expect(checkBlock(a, answer, null).code).to.equal("HISTORY_UNAVAILABLE");
    });

    it("the anchoring log must be there once, with the receipt's submitter, leafCount and transaction", function () {
      expect(checkLog(r, a, [log]).ok).to.equal(true);
      expect(checkLog(r, a, []).code).to.equal("ANCHOR_MISMATCH");
      expect(checkLog(r, a, [{ ...log, leafCount: 2n }]).message).to.match(/leafCount 2/);
      expect(checkLog(r, a, [{ ...log, txHash: `0x${"55".repeat(32)}` as Hex }]).message).to.match(
        /named in the receipt did not anchor/,
      );
      expect(checkLog(r, a, [{ ...log, address: `0x${"66".repeat(20)}` as Hex }]).ok).to.equal(false);
    });

    it("a transaction not in the block fails; a block without its body is 'not checked', never a silent pass", function () {
      const header = { number: 7, hash: a.blockHash, timestamp: a.timestamp };
      expect(checkTxInBlock(a, { ...header, transactions: [a.txHash] }).ok).to.equal(true);
      expect(checkTxInBlock(a, { ...header, transactions: [] }).code).to.equal("ANCHOR_MISMATCH");
      const unknown = checkTxInBlock(a, header);
      expect(unknown.unchecked).to.equal("transaction not checked (history not available)");
    });

    it("the registry is recognised by its runtime code hash, generated from the artifacts; pinning is said", function () {
      const artifact = JSON.parse(
        fs.readFileSync(
          path.join(__dirname, "..", "..", "artifacts", "contracts", "EvidenceRegistry.sol", "EvidenceRegistry.json"),
          "utf8",
        ),
      );
      expect(EvidenceRegistryArtifact.contractName).to.equal("EvidenceRegistry");
      const known = checkRegistryCode(a, artifact.deployedBytecode, KNOWN_REGISTRY_CODES, []);
      expect(known.ok).to.equal(true);
      expect(known.detail.known).to.match(/^EvidenceRegistry \d+\.\d+\.\d+$/);
      const forged = checkRegistryCode(a, "0x6080604052", KNOWN_REGISTRY_CODES, []);
      expect(forged.code).to.equal("REGISTRY_UNKNOWN");
      expect(forged.message).to.include(a.registry).and.to.include(codeHashOf("0x6080604052"));
      const pinned = checkRegistryCode(a, "0x6080604052", KNOWN_REGISTRY_CODES, [
        a.registry.toUpperCase().replace("0X", "0x"),
      ]);
      expect(pinned.ok).to.equal(true);
      expect(pinned.detail.trustedByUser).to.equal(true);
      expect(checkRegistryCode(a, "0x", KNOWN_REGISTRY_CODES, []).code).to.equal("REGISTRY_NOT_FOUND");
      // a ProvenanceRegistry's code is known, but it is not an evidence registry
      const prov = JSON.parse(
        fs.readFileSync(
          path.join(
            __dirname,
            "..",
            "..",
            "artifacts",
            "contracts",
            "ProvenanceRegistry.sol",
            "ProvenanceRegistry.json",
          ),
          "utf8",
        ),
      );
      expect(checkRegistryCode(a, prov.deployedBytecode, KNOWN_REGISTRY_CODES, []).code).to.equal("REGISTRY_UNKNOWN");
    });

    it("escapes control, C1 and bidi characters for terminals", function () {
      expect(escapeControlChars("a\nb\r\u001b[2K\u202etxt.exe")).to.equal("a\\nb\\r\\e[2K\\u202etxt.exe");
      expect(escapeControlChars("设计 ok")).to.equal("设计 ok");
    });
  });

  describe("the JSON-RPC adapter", function () {
    it("an endpoint that accepts the connection and never answers fails within the deadline, naming it", async function () {
      const sockets: net.Socket[] = [];
      const server = net.createServer((s) => void sockets.push(s));
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      const t0 = Date.now();
      try {
        await jsonRpcCall(url, "eth_chainId", [], { timeoutMs: 500 });
        expect.fail("no error");
      } catch (e) {
        expect(isProofmarkError(e, "RPC_UNREACHABLE")).to.equal(true);
        expect((e as Error).message)
          .to.include(url)
          .and.to.include("no answer within 0.5 s");
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
      expect(Date.now() - t0).to.be.lessThan(3_000);
    });

    it("a reply larger than the bound is refused while it streams in", async function () {
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { "content-type": "application/json" });
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        let sent = 0;
        const pump = () => {
          while (sent < 64 && res.write(chunk)) sent++;
          if (sent < 64) res.once("drain", pump);
          else res.end();
        };
        pump();
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
      try {
        await jsonRpcCall(url, "eth_getLogs", [], { maxReplyBytes: 100_000 });
        expect.fail("no error");
      } catch (e) {
        expect(isProofmarkError(e, "RPC_UNREACHABLE")).to.equal(true);
        expect((e as Error).message).to.match(/larger than 100000 bytes/);
      } finally {
        server.closeAllConnections();
        server.close();
      }
    });
  });
});
