import { expect } from "chai";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-toolbox/network-helpers";
import {
  EmbeddedStore,
  EventDocuments,
  ProvenanceRegistryClient,
  documentEventHashes,
  harvestEvent,
  importEpcisDocument,
  isProofmarkError,
  lotClass,
  prepareEvent,
  traceLot,
  type PreparedEvent,
} from "../../packages/sdk/src";

// A partner's EPCIS 2.0 JSON-LD document imported onto lots of a real registry (Hardhat's in-process network) and a real store.
describe("SDK: importing a partner's EPCIS 2.0 document (gi/import-epcis)", function () {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-epcis-import-"));
  const store = new EmbeddedStore(dir);
  after(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const GI = "AGI00001";
  const GTIN = "06901234567892";
  const context = [
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    { ex: "https://ns.partner.example/epcis/" },
  ];

  function partnerDocument(lotA: number, lotB: number): Record<string, unknown> {
    return {
      "@context": context,
      type: "EPCISDocument",
      schemaVersion: "2.0",
      creationDate: "2026-09-04T10:00:00Z",
      epcisBody: {
        eventList: [
          {
            type: "ObjectEvent",
            eventTime: "2026-09-03T20:00:00+08:00",
            eventTimeZoneOffset: "+08:00",
            action: "OBSERVE",
            quantityList: [{ epcClass: lotClass({ giNumber: GI, lot: String(lotA) }), quantity: 50, uom: "KGM" }],
            bizStep: "receiving",
            disposition: "sellable_not_accessible",
            readPoint: { id: "urn:epc:id:sgln:6901234.00010.0" },
            bizLocation: { id: "urn:epc:id:sgln:6901234.00010.0" },
            bizTransactionList: [{ type: "po", bizTransaction: "urn:epcglobal:cbv:bt:6901234000108:PO-77" }],
            "ex:temperature": 4.5,
          },
          {
            type: "AggregationEvent",
            eventTime: "2026-09-03T21:00:00+08:00",
            eventTimeZoneOffset: "+08:00",
            action: "ADD",
            parentID: "urn:epc:id:sscc:6901234.0000000017",
            childQuantityList: [{ epcClass: `https://id.example.org/01/${GTIN}/10/${lotA}`, quantity: 10, uom: "KGM" }],
            bizStep: "loading",
            disposition: "in_transit",
            readPoint: { id: "urn:epc:id:sgln:6901234.00010.0" },
          },
          {
            type: "TransformationEvent",
            eventTime: "2026-09-04T08:00:00+08:00",
            eventTimeZoneOffset: "+08:00",
            inputQuantityList: [{ epcClass: lotClass({ giNumber: GI, lot: String(lotA) }), quantity: 5, uom: "KGM" }],
            outputQuantityList: [{ epcClass: lotClass({ giNumber: GI, lot: String(lotB) }), quantity: 5, uom: "KGM" }],
            bizStep: "other",
            disposition: "active",
            readPoint: { id: "geo:31.23,121.47" },
          },
        ],
      },
    };
  }

  async function fixture() {
    const [admin, registrar, coop, farmer] = await ethers.getSigners();
    const contract = await ethers.deployContract("ProvenanceRegistry", [
      admin.address,
      registrar.address,
      ethers.ZeroAddress,
    ]);
    const address = await contract.getAddress();
    const as = (s: typeof admin) => new ProvenanceRegistryClient(address, s);
    const documents = new EventDocuments({ dataDir: dir, chainId: 31337, registry: `${address}-${Date.now()}`, store });
    await as(registrar).createProduct({
      admin: coop.address,
      maxYieldBps: 10_000,
      standard: ethers.ZeroHash as `0x${string}`,
      name: "砀山酥梨",
      nameEn: "Dangshan Su Pear",
      giNumber: GI,
      region: "安徽省砀山县",
      unit: "g",
    });
    await as(coop).grantRole(1, "producer", farmer.address);
    await as(coop).grantLicence(1, farmer.address, 2026, 2_000_000n);
    const harvest = async (n: number) => {
      const p: PreparedEvent = prepareEvent(
        harvestEvent({
          lot: lotClass({ giNumber: GI, lot: String(n) }),
          quantity: 500_000n,
          unit: "g",
          time: "2026-09-01T08:00:00+08:00",
          location: "urn:proofmark:gi:AGI00001:plot:DS-07",
          ilmd: { "gi:plot": "DS-07" },
        }),
      );
      return (
        await as(farmer).harvest(
          1,
          2026,
          500_000n,
          { eventTime: p.record.eventTime, location: p.record.location, document: p.record.document },
          () => documents.save([p]),
        )
      ).lot;
    };
    const lotA = await harvest(1);
    const lotB = await harvest(2);
    const target = { client: as(coop), store, documents, signerAddress: coop.address };
    return { as, coop, documents, lotA, lotB, target };
  }

  const write = (name: string, doc: unknown) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${JSON.stringify(doc, null, 2)}\n`);
    return file;
  };

  it("records every event on the lots it names, keeps the partner's bytes, and the trace verifies each document against the chain", async function () {
    const { as, coop, documents, lotA, lotB, target } = await loadFixture(fixture);
    const doc = partnerDocument(lotA, lotB);
    const file = write("partner.jsonld", doc);
    const headBefore = await as(coop).head(lotA);
    const r = await importEpcisDocument(target, file);
    expect(r).to.deep.include({ events: 3, recorded: 4, dryRun: false });
    expect(r.lots).to.deep.equal([lotA, lotB]);
    expect(r.hashes).to.deep.equal(documentEventHashes(doc));
    const kept = Buffer.concat(
      await (async () => {
        const out: Uint8Array[] = [];
        for await (const c of store.get(r.cid!)) out.push(c);
        return out;
      })(),
    );
    expect(kept.equals(fs.readFileSync(file))).to.equal(true);
    expect(await as(coop).head(lotA)).not.to.equal(headBefore);
    const t = await traceLot({ client: as(coop), lot: lotA, documents });
    const imported = t.events.filter((e) => ["receiving", "loading", "other"].includes(e.step) && e.lot === lotA);
    expect(imported.map((e) => e.step).sort()).to.deep.equal(["loading", "other", "receiving"]);
    for (const e of imported) expect(e.check, `${e.step}: ${JSON.stringify(e)}`).to.equal("verified");
    expect(t.checks.documentsMismatched).to.equal(0);
  });

  it("validates with the same GS1 schema file the tests use (the SDK ships a byte-identical copy)", function () {
    const shipped = fs.readFileSync(
      path.join(__dirname, "..", "..", "packages", "sdk", "schemas", "EPCIS-JSON-Schema.json"),
    );
    expect(
      shipped.equals(fs.readFileSync(path.join(__dirname, "..", "vectors", "epcis-schema", "EPCIS-JSON-Schema.json"))),
    ).to.equal(true);
  });

  it("refuses a document GS1's schema rejects, and records nothing", async function () {
    const { as, coop, lotA, lotB, target } = await loadFixture(fixture);
    const doc = partnerDocument(lotA, lotB);
    ((doc.epcisBody as { eventList: Array<Record<string, unknown>> }).eventList[0].readPoint as { id: string }).id =
      "上海市静安区南京西路 1 号";
    const head = await as(coop).head(lotA);
    try {
      await importEpcisDocument(target, write("bad-schema.jsonld", doc));
      expect.fail("expected IMPORT_INVALID");
    } catch (e) {
      expect(isProofmarkError(e, "IMPORT_INVALID"), String(e)).to.equal(true);
      expect((e as Error).message).to.match(/not a valid EPCIS 2.0 document/);
    }
    expect(await as(coop).head(lotA)).to.equal(head);
  });

  it("is all-or-nothing: one event naming an unknown lot stops all three, each problem named by event", async function () {
    const { as, coop, lotA, lotB, target } = await loadFixture(fixture);
    const doc = partnerDocument(lotA, 99);
    const head = await as(coop).head(lotA);
    const headB = await as(coop).head(lotB);
    try {
      await importEpcisDocument(target, write("bad-lot.jsonld", doc));
      expect.fail("expected IMPORT_INVALID");
    } catch (e) {
      expect(isProofmarkError(e, "IMPORT_INVALID"), String(e)).to.equal(true);
      expect((e as Error).message).to.match(/event 3: lot 99 does not exist/);
    }
    expect(await as(coop).head(lotA)).to.equal(head);
    expect(await as(coop).head(lotB)).to.equal(headB);
    const dry = await importEpcisDocument(target, write("dry.jsonld", partnerDocument(lotA, lotB)), { dryRun: true });
    expect(dry).to.deep.include({ events: 3, recorded: 0, dryRun: true });
    expect(await as(coop).head(lotA)).to.equal(head);
  });
});
