import { expect } from "chai";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { ethers } from "ethers";
import {
  BIZ_STEPS,
  DISPOSITIONS,
  STEP_ROLES,
  PRODUCT_ROLES,
  EVENT_DOMAIN,
  chainRecord,
  dispositionCode,
  epcToDigitalLink,
  eventLocation,
  epcisDocument,
  epcisEventHash,
  eventCommitment,
  eventHashDigest,
  eventPreHash,
  eventTimeSeconds,
  formatQuantity,
  harvestEvent,
  isProofmarkError,
  locationDigest,
  lotClass,
  observationEvent,
  packEvent,
  parseEventTime,
  parseQuantity,
  randomSalt,
  recallEvent,
  roleCode,
  stepCode,
  transformationEvent,
  uomOf,
  type EpcisEvent,
  type Hex,
} from "../../packages/sdk/src/core";
import vectors from "../vectors/epcis.json";
import * as fs from "node:fs";
import * as path from "node:path";
import Ajv from "ajv";
import addFormats from "ajv-formats";
import epcisSchema from "../vectors/epcis-schema/EPCIS-JSON-Schema.json";
import {
  contextPrefixes,
  documentEvents,
  documentEventHashes,
  eventLocationName,
  locationUri,
  PLACE_URN_PREFIX,
} from "../../packages/sdk/src/core";

const HASH_VECTORS = path.join(__dirname, "..", "vectors", "epcis-hash");
const validateEpcis = (() => {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(epcisSchema);
})();

const LOT = lotClass({ giNumber: "AGI00001", lot: "DS26-F1-001" });

function expectCode(fn: () => unknown, code: string, message?: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(isProofmarkError(e), String(e)).to.equal(true);
    expect((e as { code: string }).code).to.equal(code);
    if (message) expect((e as Error).message).to.match(message);
    return;
  }
  expect.fail(`expected a ${code} error`);
}

describe("SDK core: EPCIS events and quantities", function () {
  describe("CBV 2.0 event hash: GS1 vectors (test/vectors/epcis.json)", function () {
    for (const v of vectors.gs1) {
      it(`${v.name}: the pre-hash string and hash ID match GS1's reference implementation`, function () {
        expect(createHash("sha256").update(v.preHash).digest("hex")).to.equal(v.hash.slice(14, 78)); // the vector is self-consistent
        expect(eventPreHash(v.event as EpcisEvent)).to.equal(v.preHash);
        expect(epcisEventHash(v.event as EpcisEvent)).to.equal(v.hash);
      });

      it(`${v.name}: the hash ignores field order, list order, eventID and recordTime`, function () {
        const e = v.event as EpcisEvent;
        const shuffled = Object.fromEntries(Object.entries(e).reverse()) as EpcisEvent;
        shuffled.epcList = [...(e.epcList ?? [])].reverse();
        shuffled.eventID = "urn:uuid:0b0e7e3a-1111-4a4a-9b9b-000000000000";
        shuffled.recordTime = "2030-01-01T00:00:00Z";
        expect(epcisEventHash(shuffled)).to.equal(v.hash);
      });

      it(`${v.name}: the same instant written in another offset hashes the same; another instant does not`, function () {
        const e = v.event as EpcisEvent;
        expect(epcisEventHash({ ...e, eventTime: "2022-02-17T02:33:31.116Z" })).to.equal(v.hash);
        expect(epcisEventHash({ ...e, eventTime: "2022-02-17T02:33:31.117Z" })).not.to.equal(v.hash);
        expect(epcisEventHash({ ...e, disposition: "in_progress" })).not.to.equal(v.hash);
      });
    }
  });

  describe("CBV 2.0 event hash: every JSON example of the reference implementation (test/vectors/epcis-hash)", function () {
    const files = fs
      .readdirSync(HASH_VECTORS)
      .filter((f) => f.endsWith(".jsonld"))
      .sort();
    let events = 0;
    for (const file of files) {
      const doc = JSON.parse(fs.readFileSync(path.join(HASH_VECTORS, file), "utf8"));
      const expected = fs
        .readFileSync(path.join(HASH_VECTORS, file.replace(/\.jsonld$/, ".hashes")), "utf8")
        .split(/\s+/)
        .filter(Boolean);
      // The reference's own convention for fields to leave out; never read from documents by Proofmark, passed explicitly here.
      const ignoreFields =
        doc["repository-x:ignoreFields"] ?? doc.epcisBody?.queryResults?.["repository-x:ignoreFields"];
      events += expected.length;
      it(`${file}: ${expected.length} event(s) hash to the reference's expected values`, function () {
        expect(documentEventHashes(doc, { ignoreFields })).to.deep.equal(expected);
      });
    }
    it("covers the 43 events of the 22 JSON examples", function () {
      expect(files).to.have.length(22);
      expect(events).to.equal(43);
    });
    it("ignoreFields is off unless asked for: the ignored extension then changes the hash", function () {
      const doc = JSON.parse(
        fs.readFileSync(path.join(HASH_VECTORS, "epcisDocHavingEventWithIgnoreFields.jsonld"), "utf8"),
      );
      const [withExt, without] = documentEventHashes(doc);
      expect(withExt).not.to.equal(without);
    });
    it("events that differ only in sensor data, certification, persistent disposition or a readPoint extension hash differently", function () {
      const doc = JSON.parse(
        fs.readFileSync(path.join(HASH_VECTORS, "CertificationInfoAndSensorReportWithCRS.jsonld"), "utf8"),
      );
      const prefixes = contextPrefixes(doc["@context"]);
      const e = documentEvents(doc)[0];
      const h = epcisEventHash(e, { prefixes });
      const variants: EpcisEvent[] = [
        { ...e, certificationInfo: "https://accreditation-council.example.org/certificate/ABC12346" },
        {
          ...e,
          sensorElementList: [
            { ...(e.sensorElementList as object[])[0], sensorReport: [{ type: "Temperature", value: 5 }] },
          ],
        },
        { ...e, persistentDisposition: { set: ["completeness_verified"] } },
        { ...e, readPoint: { ...e.readPoint!, "ext1:door": "7" } },
      ];
      for (const v of variants) expect(epcisEventHash(v, { prefixes })).not.to.equal(h);
    });
    it("normalises other GS1 keys and non-canonical Digital Links like the reference", function () {
      expect(epcToDigitalLink("urn:epc:id:gdti:0614141.12345.006847")).to.equal(
        "https://id.gs1.org/253/0614141123452006847",
      );
      expect(epcToDigitalLink("urn:epc:id:grai:0614141.12345.400")).to.equal(
        "https://id.gs1.org/8003/00614141123452400",
      );
      expect(epcToDigitalLink("urn:epc:id:giai:0614141.12345400")).to.equal("https://id.gs1.org/8004/061414112345400");
      expect(epcToDigitalLink("urn:epc:idpat:sgtin:4012345.098765.*")).to.equal("https://id.gs1.org/01/04012345987652");
      expect(epcToDigitalLink("https://example.com/gtin/9520123456788/lot/A1/ser/7?17=261231")).to.equal(
        "https://id.gs1.org/01/09520123456788/21/7",
      );
      expect(epcToDigitalLink("https://id.gs1.de/01/04012345999990/21/XYZ-1234")).to.equal(
        "https://id.gs1.org/01/04012345999990/21/XYZ-1234",
      );
    });
  });

  describe("EPCIS 2.0 JSON schema (test/vectors/epcis-schema, GS1's EPCIS-JSON-Schema.json)", function () {
    const base = { time: "2026-09-01T08:00:00+08:00", location: "上海市静安区南京西路 1 号" };
    const packed = lotClass({ giNumber: "AGI00001", lot: "DS26-P-001" });
    const gtinLot = lotClass({ giNumber: "AGI00001", lot: "L(1/2", gtin: "06901234567892" });
    const builders: [string, () => EpcisEvent][] = [
      [
        "harvest",
        () =>
          harvestEvent({
            ...base,
            lot: LOT,
            quantity: 1_200_000n,
            unit: "g",
            ilmd: { "gi:plot": "DS-07", "gi:season": 2026 },
          }),
      ],
      [
        "observation",
        () => observationEvent({ ...base, lot: gtinLot, step: "receiving", quantity: 5_000n, unit: "g" }),
      ],
      [
        "observation at a GLN",
        () => observationEvent({ ...base, location: "6901234000108", lot: LOT, step: "shipping" }),
      ],
      [
        "observation at a geo URI",
        () => observationEvent({ ...base, location: "geo:34.43,116.35", lot: LOT, step: "inspecting" }),
      ],
      ["pack", () => packEvent({ ...base, lot: LOT, packedLot: packed, packages: 240, size: 5_000n, unit: "g" })],
      [
        "transformation",
        () =>
          transformationEvent({
            ...base,
            step: "creating_class_instance",
            inputs: [{ lot: LOT, quantity: 1_000n }],
            outputs: [{ lot: packed, quantity: 250n }],
            unit: "g",
          }),
      ],
      ["recall", () => recallEvent({ ...base, lot: LOT, reason: "pesticide residue" })],
    ];
    for (const [name, build] of builders) {
      it(`a ${name} document validates`, function () {
        const doc = epcisDocument([build()]);
        expect(validateEpcis(doc), JSON.stringify(validateEpcis.errors)).to.equal(true);
      });
    }
    it("all events in one document validate; the schema is not a rubber stamp (a free-text readPoint id fails)", function () {
      const doc = epcisDocument(builders.map(([, b]) => b()));
      expect(validateEpcis(doc), JSON.stringify(validateEpcis.errors)).to.equal(true);
      const bad = JSON.parse(JSON.stringify(doc));
      bad.epcisBody.eventList[0].readPoint.id = "上海市静安区南京西路 1 号";
      expect(validateEpcis(bad)).to.equal(false);
    });
    it("the reference's JSON examples that claim EPCIS 2.0 are documents the schema reads", function () {
      const doc = JSON.parse(fs.readFileSync(path.join(HASH_VECTORS, "epcisDocWithSingleEvent.jsonld"), "utf8"));
      expect(validateEpcis(doc), JSON.stringify(validateEpcis.errors)).to.equal(true);
    });
  });

  describe("locations", function () {
    it("keeps GLN, SGLN, geo and registered ids as URIs; turns an address into a stable URN with the text kept", function () {
      expect(locationUri("urn:epc:id:sgln:6901234.00010.0")).to.deep.equal({ id: "urn:epc:id:sgln:6901234.00010.0" });
      expect(locationUri("geo:34.43,116.35")).to.deep.equal({ id: "geo:34.43,116.35" });
      expect(locationUri("urn:proofmark:gi:AGI00001:plot:DS-07")).to.deep.equal({
        id: "urn:proofmark:gi:AGI00001:plot:DS-07",
      });
      expect(locationUri("6901234000108")).to.deep.equal({ id: "https://id.gs1.org/414/6901234000108" });
      expectCode(() => locationUri("6901234000107"), "INVALID_ARGUMENT", /check digit/);
      const address = "上海市静安区南京西路 1 号";
      const place = locationUri(address);
      expect(place.name).to.equal(address);
      expect(place.id).to.equal(
        PLACE_URN_PREFIX + createHash("sha256").update(address.normalize("NFC")).digest("hex").slice(0, 32),
      );
      expect(locationUri(` ${address} `)).to.deep.equal(place);
      expect(locationUri("上海市静安区南京西路 2 号").id).not.to.equal(place.id);
      const ev = observationEvent({
        time: "2026-09-03T20:00:00+08:00",
        location: address,
        lot: LOT,
        step: "receiving",
      });
      expect(ev.readPoint).to.deep.equal({ id: place.id, "gi:name": address });
      expect(eventLocationName(ev)).to.equal(address);
      expect(eventLocation(ev)).to.equal(place.id);
    });
  });

  describe("EPC URNs to GS1 Digital Link", function () {
    it("converts sgtin, lgtin, sscc, sgln and pgln with check digits, and leaves other values alone", function () {
      expect(epcToDigitalLink("urn:epc:id:sgtin:0614141.107346.2017")).to.equal(
        "https://id.gs1.org/01/10614141073464/21/2017",
      );
      expect(epcToDigitalLink("urn:epc:class:lgtin:4012345.012345.998877")).to.equal(
        "https://id.gs1.org/01/04012345123456/10/998877",
      );
      expect(epcToDigitalLink("urn:epc:id:sscc:4012345.0000000111")).to.equal(
        "https://id.gs1.org/00/040123450000001112",
      );
      expect(epcToDigitalLink("urn:epc:id:sgln:4012345.00011.987")).to.equal(
        "https://id.gs1.org/414/4012345000115/254/987",
      );
      expect(epcToDigitalLink("urn:epc:id:sgln:4012345.00011.0")).to.equal("https://id.gs1.org/414/4012345000115");
      expect(epcToDigitalLink("urn:epc:id:pgln:4012345.00000")).to.equal("https://id.gs1.org/417/4012345000009");
      expect(epcToDigitalLink(LOT)).to.equal(LOT);
    });
  });

  describe("event documents", function () {
    const base = { time: "2026-09-01T08:00:00+08:00", location: "urn:proofmark:gi:AGI00001:plot:DS-07" };

    it("a harvest is an ObjectEvent ADD / commissioning / active with lot master data", function () {
      const ev = harvestEvent({
        ...base,
        lot: LOT,
        quantity: 1_200_000n,
        unit: "g",
        ilmd: { "gi:plot": "DS-07", "gi:season": 2026 },
      });
      expect(ev).to.deep.include({
        type: "ObjectEvent",
        action: "ADD",
        bizStep: "commissioning",
        disposition: "active",
      });
      expect(ev.eventTime).to.equal("2026-09-01T08:00:00.000+08:00");
      expect(ev.quantityList).to.deep.equal([{ epcClass: LOT, quantity: 1_200_000, uom: "GRM" }]);
      const pre = eventPreHash(ev);
      expect(pre).to.equal(
        "eventType=ObjectEventeventTime=2026-09-01T00:00:00.000ZeventTimeZoneOffset=+08:00" +
          `quantityListquantityElementepcClass=${LOT}quantity=1200000uom=GRM` +
          "action=ADDbizStep=https://ref.gs1.org/cbv/BizStep-commissioningdisposition=https://ref.gs1.org/cbv/Disp-active" +
          `readPointid=${base.location}` +
          "ilmd{https://ns.proofmark.dev/gi#}plot=DS-07{https://ns.proofmark.dev/gi#}season=2026",
      );
      expect(epcisEventHash(ev)).to.equal(`ni:///sha-256;${createHash("sha256").update(pre).digest("hex")}?ver=CBV2.0`);
    });

    it("observation, pack, transformation and recall events carry their CBV step and disposition", function () {
      const inspect = observationEvent({ ...base, lot: LOT, step: "inspecting" });
      expect(inspect).to.deep.include({
        type: "ObjectEvent",
        action: "OBSERVE",
        bizStep: "inspecting",
        disposition: "conformant",
      });
      const packed = lotClass({ giNumber: "AGI00001", lot: "DS26-P-001" });
      const pack = packEvent({ ...base, lot: LOT, packedLot: packed, packages: 240, size: 5_000n, unit: "g" });
      expect(pack).to.deep.include({
        type: "AggregationEvent",
        action: "ADD",
        parentID: packed,
        bizStep: "packing",
        disposition: "container_closed",
      });
      expect(pack.childQuantityList).to.deep.equal([{ epcClass: LOT, quantity: 1_200_000, uom: "GRM" }]);
      expect(eventPreHash(pack)).to.contain(
        "{https://ns.proofmark.dev/gi#}packageSize=5000{https://ns.proofmark.dev/gi#}packages=240",
      );
      const t = transformationEvent({
        ...base,
        step: "creating_class_instance",
        inputs: [{ lot: LOT, quantity: 1_000n }],
        outputs: [{ lot: packed, quantity: 250n }],
        unit: "g",
      });
      expect(t).to.deep.include({ type: "TransformationEvent", bizStep: "creating_class_instance" });
      expect(eventPreHash(t)).to.contain(
        `inputQuantityListquantityElementepcClass=${LOT}quantity=1000uom=GRMoutputQuantityList`,
      );
      const r = recallEvent({ ...base, lot: LOT, reason: "pesticide residue" });
      expect(r).to.deep.include({ bizStep: "holding", disposition: "recalled", "gi:reason": "pesticide residue" });
      const doc = epcisDocument([inspect, pack], new Date(0));
      expect(doc).to.deep.include({
        type: "EPCISDocument",
        schemaVersion: "2.0",
        creationDate: "1970-01-01T00:00:00.000Z",
      });
      expect(doc.epcisBody.eventList).to.have.length(2);
    });

    it("lot class URIs: Digital Link with a GTIN, a Proofmark URN without; bad lot codes rejected", function () {
      expect(lotClass({ giNumber: "AGI00001", lot: "A1", gtin: "06901234567892" })).to.equal(
        "https://id.gs1.org/01/06901234567892/10/A1",
      );
      expectCode(() => lotClass({ giNumber: "X", lot: "a b" }), "INVALID_ARGUMENT", /lot/); // "/" is a valid lot character since issue 13; space is not
      expect(lotClass({ giNumber: "X", lot: "a/b" })).to.equal("urn:proofmark:gi:X:lot:a%2Fb");
      expectCode(() => lotClass({ giNumber: "X", lot: "" }), "INVALID_ARGUMENT");
      expectCode(() => lotClass({ giNumber: "X", lot: "A", gtin: "123" }), "INVALID_ARGUMENT", /gtin/i);
    });

    it("rejects a bad time zone offset and a bad time", function () {
      expectCode(
        () => observationEvent({ ...base, lot: LOT, step: "shipping", timeZoneOffset: "8" }),
        "INVALID_ARGUMENT",
        /offset/,
      );
      expectCode(
        () => observationEvent({ ...base, lot: LOT, step: "shipping", time: "yesterday" }),
        "INVALID_ARGUMENT",
      );
    });
  });

  describe("event time", function () {
    it("parses offsets, rounds sub-millisecond fractions, rejects impossible dates", function () {
      expect(parseEventTime("2026-09-01T08:00:00+08:00")).to.equal(Date.UTC(2026, 8, 1, 0, 0, 0));
      expect(parseEventTime("2026-09-01")).to.equal(Date.UTC(2026, 8, 1));
      expect(parseEventTime("2026-09-01T00:00:00.0005Z")).to.equal(Date.UTC(2026, 8, 1) + 1);
      expect(parseEventTime("2026-09-01T00:00:00.0004Z")).to.equal(Date.UTC(2026, 8, 1));
      expect(eventTimeSeconds({ eventTime: "2026-09-01T08:00:00.999+08:00" })).to.equal(Date.UTC(2026, 8, 1) / 1000);
      expectCode(() => parseEventTime("2026-02-30"), "INVALID_ARGUMENT", /valid date/);
      expectCode(() => parseEventTime("2026-13-01"), "INVALID_ARGUMENT");
      expectCode(() => parseEventTime("soon"), "INVALID_ARGUMENT");
    });
  });

  describe("vocabulary and on-chain record", function () {
    it("tables match the contract's sizes and the step/role table", function () {
      expect(BIZ_STEPS).to.have.length(19);
      expect(DISPOSITIONS).to.have.length(13);
      expect(stepCode("inspecting")).to.equal(1);
      expect(dispositionCode("recalled")).to.equal(9);
      expect(roleCode("retailer")).to.equal(5);
      expect(Object.keys(STEP_ROLES)).to.deep.equal([...BIZ_STEPS]);
      for (const roles of Object.values(STEP_ROLES)) for (const r of roles) expect(PRODUCT_ROLES).to.include(r);
      expectCode(() => stepCode("harvesting"), "INVALID_ARGUMENT", /unknown business step/);
      expectCode(() => dispositionCode("ok"), "INVALID_ARGUMENT");
      expectCode(() => roleCode("farmer"), "INVALID_ARGUMENT");
    });

    it("chainRecord gives codes, seconds, location digest and the salted commitment", function () {
      const ev = observationEvent({
        time: "2026-09-02T10:00:00+08:00",
        location: "urn:x:warehouse",
        lot: LOT,
        step: "shipping",
      });
      const salt = ("0x" + "11".repeat(32)) as Hex;
      const r = chainRecord(ev, salt);
      expect(r.step).to.equal(stepCode("shipping"));
      expect(r.disposition).to.equal(dispositionCode("in_transit"));
      expect(r.eventTime).to.equal(Date.UTC(2026, 8, 2, 2) / 1000);
      expect(r.location).to.equal(ethers.id("urn:x:warehouse"));
      const digest = eventHashDigest(epcisEventHash(ev));
      expect(r.document).to.equal(ethers.keccak256(ethers.keccak256(ethers.concat([EVENT_DOMAIN, digest, salt]))));
      expect(EVENT_DOMAIN).to.equal(ethers.id("proofmark.gi.event.v1"));
      expectCode(() => chainRecord({ ...ev, bizStep: "killing" }, salt), "EPCIS_INVALID", /killing/);
      expectCode(
        () => chainRecord({ ...ev, disposition: "urn:epcglobal:cbv:disp:stolen" }, salt),
        "EPCIS_INVALID",
        /stolen/,
      );
      expect(chainRecord({ ...ev, bizStep: "urn:epcglobal:cbv:bizstep:shipping" }, salt).step).to.equal(
        stepCode("shipping"),
      );
      const { readPoint: _drop, ...noPlace } = ev;
      expectCode(() => chainRecord(noPlace as EpcisEvent, salt), "EPCIS_INVALID", /readPoint/);
    });

    it("a guessed event cannot be confirmed without the salt (property)", function () {
      const hash = epcisEventHash(
        observationEvent({ time: "2026-09-02T10:00:00Z", location: "urn:x", lot: LOT, step: "inspecting" }),
      );
      const truth = eventCommitment(hash, randomSalt());
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
          expect(eventCommitment(hash, ethers.hexlify(bytes) as Hex)).not.to.equal(truth);
        }),
        { numRuns: 200 },
      );
      expect(eventCommitment(hash, randomSalt())).not.to.equal(eventCommitment(hash, randomSalt()));
    });

    it("rejects malformed hashes, salts and locations", function () {
      expectCode(() => eventHashDigest("ni:///sha-256;abc?ver=CBV2.0"), "EPCIS_INVALID");
      expectCode(() => eventCommitment(vectors.gs1[0].hash, "0x12" as Hex), "INVALID_ARGUMENT", /salt/);
      expectCode(() => locationDigest("  "), "INVALID_ARGUMENT");
      expectCode(() => eventPreHash({} as EpcisEvent), "EPCIS_INVALID");
    });
  });

  describe("quantities", function () {
    it("parses units into base units exactly", function () {
      expect(parseQuantity("1200kg", "g")).to.equal(1_200_000n);
      expect(parseQuantity("1,200 kg", "g")).to.equal(1_200_000n);
      expect(parseQuantity("500g", "g")).to.equal(500n);
      expect(parseQuantity("1.5t", "kg")).to.equal(1_500n);
      expect(parseQuantity("0.25kg", "g")).to.equal(250n);
      expect(parseQuantity("50000kg", "g")).to.equal(50_000_000n);
      expect(parseQuantity("240", "pcs")).to.equal(240n);
      expect(parseQuantity("12 公斤", "g")).to.equal(12_000n);
      expect(parseQuantity("3KGM", "g")).to.equal(3_000n);
      expect(parseQuantity("2 l", "ml")).to.equal(2_000n);
      expect(parseQuantity("0kg", "g", { allowZero: true })).to.equal(0n);
    });

    it("rejects malformed text, unknown or mismatched units, fractions of the base unit and zero", function () {
      expectCode(() => parseQuantity("kg", "g"), "INVALID_ARGUMENT", /not a quantity/);
      expectCode(() => parseQuantity("-5kg", "g"), "INVALID_ARGUMENT");
      expectCode(() => parseQuantity("5 stone", "g"), "INVALID_ARGUMENT", /unknown unit/);
      expectCode(() => parseQuantity("5l", "g"), "INVALID_ARGUMENT", /volume/);
      expectCode(() => parseQuantity("0.5g", "g"), "INVALID_ARGUMENT", /whole number/);
      expectCode(() => parseQuantity("0kg", "g"), "INVALID_ARGUMENT", /zero/);
      expectCode(() => parseQuantity("5kg", "furlong"), "INVALID_ARGUMENT");
    });

    it("formats base units for people and round-trips (property)", function () {
      expect(formatQuantity(1_200_000n, "g")).to.equal("1,200 kg");
      expect(formatQuantity(1_500n, "g")).to.equal("1,500 g");
      expect(formatQuantity(0n, "g")).to.equal("0 g");
      expect(formatQuantity(7n, "g")).to.equal("7 g");
      expect(formatQuantity(2_000_000_000n, "g")).to.equal("2,000 t");
      expect(formatQuantity(240n, "pcs")).to.equal("240 pcs");
      expect(uomOf("kg")).to.equal("KGM");
      fc.assert(
        fc.property(fc.bigInt({ min: 1n, max: 10n ** 15n }), (n) => {
          expect(parseQuantity(formatQuantity(n, "g"), "g")).to.equal(n);
        }),
        { numRuns: 300 },
      );
    });
  });
});
