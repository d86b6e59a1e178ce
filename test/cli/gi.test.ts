import { expect } from "chai";
import * as fs from "node:fs";
import * as path from "node:path";
import { productCreateArgs } from "../../scripts/gi-season";
import { assertBuilt, killLocalChain, makeWorkspace, REPO, runCli } from "./helpers";

// A realistic GI season on the embedded local chain, exactly as the README's GI section walks it:
// the registrar registers Dangshan pears, the co-op licenses three farms, they harvest, an
// inspector certifies, the co-op packs 5 kg boxes, logistics ships to a Shanghai retailer, and the
// trace shows it all verified. Violations are refused with the numbers and change nothing.
describe("CLI: gi — a Dangshan pear season (end to end on the embedded local chain)", function () {
  this.timeout(300_000);
  const ws = makeWorkspace("gi");
  const run = (args: string[]) => runCli(args, { cwd: ws.dir, dataDir: ws.dataDir });
  const ok = async (args: string[]) => {
    const r = await run(args);
    expect(r.code, `proofmark ${args.join(" ")}\n${r.stdout}\n${r.stderr}`).to.equal(0);
    return r;
  };
  const json = async (args: string[]) => JSON.parse((await ok([...args, "--json"])).stdout);
  const trace = async (lot: number) => {
    const r = await run(["gi", "trace", String(lot), "--json"]);
    return { code: r.code, t: JSON.parse(r.stdout), stderr: r.stderr };
  };

  before(function () {
    assertBuilt();
  });

  after(function () {
    killLocalChain(ws.dataDir);
  });

  it("registers the product and prints its id (--json: { product })", async function () {
    const created = await json(productCreateArgs({ maxYield: "100%" }));
    expect(created.product).to.equal(1);
    const shown = await json(["gi", "product", "show", "1"]);
    expect(shown).to.include({
      product: 1,
      name: "砀山酥梨",
      nameEn: "Dangshan Su Pear",
      giNumber: "AGI00001",
      region: "安徽省砀山县",
      unit: "g",
      maxYieldBps: 10000,
    });
  });

  it("only a registrar can create products, only the product's admin can grant roles", async function () {
    const r = await run([
      "gi",
      "product",
      "create",
      "--name",
      "x",
      "--gi-number",
      "X",
      "--region",
      "x",
      "--unit",
      "g",
      "--admin",
      "farmer1",
      "--as",
      "farmer1",
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/farmer1 \(0x[0-9a-fA-F]{40}\) lacks the role registrar.*\[ROLE_MISSING\]/);
    const g = await run(["gi", "role", "grant", "1", "producer", "farmer1", "--as", "farmer1"]);
    expect(g.code).to.equal(1);
    expect(g.stderr).to.match(/lacks the role admin of product 1.*nothing was changed \[ROLE_MISSING\]/);
  });

  it("the co-op grants roles and licenses three farms", async function () {
    for (const f of ["farmer1", "farmer2", "farmer3"])
      await ok(["gi", "role", "grant", "1", "producer", f, "--as", "coop"]);
    await ok(["gi", "role", "grant", "1", "inspector", "inspector", "--as", "coop"]);
    await ok(["gi", "role", "grant", "1", "processor", "coop", "--as", "coop"]);
    await ok(["gi", "role", "grant", "1", "logistics", "logistics", "--as", "coop"]);
    await ok(["gi", "role", "grant", "1", "retailer", "retailer", "--as", "coop"]);
    const l = await ok([
      "gi",
      "licence",
      "grant",
      "1",
      "farmer1",
      "--quota",
      "50000kg",
      "--season",
      "2026",
      "--as",
      "coop",
    ]);
    expect(l.stdout).to.match(/quota 50 t/);
    await ok(["gi", "licence", "grant", "1", "farmer2", "--quota", "30000kg", "--season", "2026", "--as", "coop"]);
    await ok(["gi", "licence", "grant", "1", "farmer3", "--quota", "1000kg", "--season", "2026", "--as", "coop"]);
  });

  it("farms harvest lots (--json: { lot }) and the plain output is the lot id", async function () {
    const h1 = await json([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "1200kg",
      "--plot",
      "DS-07",
      "--date",
      "2026-09-01",
      "--as",
      "farmer1",
    ]);
    expect(h1).to.include({ lot: 1, quantity: "1200000", unit: "g", season: 2026 });
    const h2 = await ok([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "800kg",
      "--plot",
      "DS-12",
      "--date",
      "2026-09-01",
      "--as",
      "farmer2",
    ]);
    expect(h2.stdout.split("\n")[0]).to.equal("2");
    const h3 = await json([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "1000kg",
      "--plot",
      "LZ-03",
      "--date",
      "2026-09-02",
      "--as",
      "farmer3",
    ]);
    expect(h3.lot).to.equal(3);
  });

  it("stops a farmer who harvests past the quota, naming the numbers, and changes nothing", async function () {
    const before = await trace(3);
    const r = await run([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "1.5t",
      "--plot",
      "LZ-03",
      "--date",
      "2026-09-03",
      "--as",
      "farmer3",
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /farmer3 \(0x[0-9a-fA-F]{40}\) asked to harvest 1,500 kg but only 0 kg of the 2026 quota of 1,000 kg is left for product 1; nothing was changed \[QUOTA_EXCEEDED\]/,
    );
    const f1 = await run([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "60000kg",
      "--plot",
      "DS-07",
      "--date",
      "2026-09-03",
      "--as",
      "farmer1",
    ]);
    expect(f1.stderr).to.match(/asked to harvest 60,000 kg but only 48,800 kg of the 2026 quota of 50,000 kg is left/);
    const after = await trace(3);
    expect(after.t.blockNumber).to.equal(before.t.blockNumber); // no transaction was mined
  });

  it("refuses a harvest by an account without the producer role", async function () {
    const r = await run([
      "gi",
      "harvest",
      "1",
      "--quantity",
      "1kg",
      "--plot",
      "X",
      "--date",
      "2026-09-03",
      "--as",
      "logistics",
    ]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(
      /logistics \(0x[0-9a-fA-F]{40}\) holds none of the roles admin \/ producer of product 1.*\[ROLE_MISSING\]/,
    );
  });

  it("the inspector certifies the harvests, with an attached certificate", async function () {
    fs.writeFileSync(path.join(ws.dir, "cert-1.txt"), "Sugar 13.1 °Brix, residues below limits\n");
    const e = await json([
      "gi",
      "event",
      "1",
      "--step",
      "inspecting",
      "--disposition",
      "conformant",
      "--location",
      "urn:epc:id:sgln:6901234.00020.0",
      "--doc",
      "cert-1.txt",
      "--time",
      "2026-09-01T15:00:00+08:00",
      "--as",
      "inspector",
    ]);
    expect(e.attachment).to.match(/^bafk/);
    for (const lot of ["2", "3"])
      await ok([
        "gi",
        "event",
        lot,
        "--step",
        "inspecting",
        "--location",
        "urn:epc:id:sgln:6901234.00020.0",
        "--time",
        "2026-09-02T15:00:00+08:00",
        "--as",
        "inspector",
      ]);
  });

  it("the co-op packs 5 kg boxes, and packing more than was harvested is stopped", async function () {
    const p = await json([
      "gi",
      "pack",
      "1",
      "--packages",
      "240",
      "--size",
      "5kg",
      "--time",
      "2026-09-02T08:00:00+08:00",
      "--as",
      "coop",
    ]);
    expect(p).to.include({ lot: 4, packages: 240, quantity: "1200000" });
    expect(
      (
        await json([
          "gi",
          "pack",
          "2",
          "--packages",
          "160",
          "--size",
          "5kg",
          "--time",
          "2026-09-02T08:00:00+08:00",
          "--as",
          "coop",
        ])
      ).lot,
    ).to.equal(5);
    const over = await run(["gi", "pack", "3", "--packages", "201", "--size", "5kg", "--as", "coop"]);
    expect(over.code).to.equal(1);
    expect(over.stderr).to.match(
      /packing lot 3 was refused: lot 3 has 1,000 kg left, less than the 1,005 kg requested; nothing was changed \[QUANTITY_EXCEEDED\]/,
    );
    expect(
      (
        await json([
          "gi",
          "pack",
          "3",
          "--packages",
          "200",
          "--size",
          "5kg",
          "--time",
          "2026-09-02T08:30:00+08:00",
          "--as",
          "coop",
        ])
      ).lot,
    ).to.equal(6);
    const again = await run(["gi", "pack", "1", "--packages", "1", "--size", "5kg", "--as", "coop"]);
    expect(again.stderr).to.match(/lot 1 is consumed.*\[LOT_NOT_ACTIVE\]/);
  });

  it("logistics ships to a Shanghai retailer, who receives and sells", async function () {
    await ok([
      "gi",
      "event",
      "4",
      "--step",
      "shipping",
      "--location",
      "urn:epc:id:sgln:6901234.00010.0",
      "--time",
      "2026-09-03T06:20:00+08:00",
      "--as",
      "logistics",
    ]);
    await ok([
      "gi",
      "event",
      "4",
      "--step",
      "receiving",
      "--location",
      "上海市静安区南京西路 1 号 (retailer)",
      "--time",
      "2026-09-03T20:00:00+08:00",
      "--as",
      "retailer",
    ]);
    await ok([
      "gi",
      "event",
      "4",
      "--step",
      "retail_selling",
      "--location",
      "上海市静安区南京西路 1 号 (retailer)",
      "--time",
      "2026-09-05T10:00:00+08:00",
      "--as",
      "retailer",
    ]);
    const wrong = await run(["gi", "event", "4", "--step", "retail_selling", "--location", "x", "--as", "farmer1"]);
    expect(wrong.stderr).to.match(/farmer1 .* holds none of the roles admin \/ retailer of product 1/);
  });

  it("imports the example season file in one transaction; a dry run records nothing", async function () {
    const csv = path.join(REPO, "examples", "gi", "season-2026.csv");
    const dry = await json(["gi", "import", csv, "--dry-run", "--as", "coop"]);
    expect(dry).to.include({ rows: 12, recorded: 0, dryRun: true });
    const before = (await trace(4)).t.events.length;
    const r = await json(["gi", "import", csv, "--as", "coop"]);
    expect(r).to.include({ rows: 12, recorded: 12 });
    expect(r.transactions).to.have.length(1);
    expect((await trace(4)).t.events.length).to.equal(before + 5);
  });

  it("reports every malformed row with its line number and records nothing", async function () {
    const bad = path.join(ws.dir, "bad.csv");
    fs.writeFileSync(
      bad,
      [
        "lot,step,disposition,time,location,quantity,note",
        "4,storing,,2026-09-05T08:00:00+08:00,urn:x,,fine",
        "4,shiping,,2026-09-05T08:00:00+08:00,urn:x,,typo in the step",
        "5,storing,,2026-13-40,urn:x,,bad date",
        "99,storing,,2026-09-05,urn:x,,no such lot",
        "5,storing,,2026-09-05,urn:x,5 litres,wrong unit",
        "6,storing,,2026-09-05,urn:x",
      ].join("\n"),
    );
    const before = await trace(4);
    const r = await run(["gi", "import", bad, "--as", "coop"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/bad\.csv: 5 of 6 row\(s\) cannot be recorded, so nothing was recorded/);
    expect(r.stderr).to.match(/line 3: step "shiping" is not a CBV 2\.0 business step/);
    expect(r.stderr).to.match(/line 4: time "2026-13-40" is not/);
    expect(r.stderr).to.match(/line 5: lot 99 does not exist/);
    expect(r.stderr).to.match(/line 6: unknown unit "litres"/);
    expect(r.stderr).to.match(/line 7: has 5 cells but the header has 7 columns/);
    expect(r.stderr).to.not.match(/line 2:/);
    const after = await trace(4);
    expect(after.t.events.length).to.equal(before.t.events.length);
    expect(after.t.blockNumber).to.equal(before.t.blockNumber);
  });

  it("refuses data-entry traps with a code naming the argument or the row, and records nothing", async function () {
    const before = await trace(6);
    // "1,5kg": a decimal comma or the list 1 and 5 kg? Never guessed.
    const split = await run(["gi", "split", "6", "--into", "1,5kg", "--as", "coop"]);
    expect(split.code).to.equal(2);
    expect(split.stderr).to.match(
      /--into: "1,5kg" is ambiguous: a decimal comma \(1\.5kg\) or a list \(1 and 5kg\)\?.*\[INVALID_ARGUMENT\]/s,
    );
    // An observed quantity larger than the lot ever held (10^30 kg on a 1,000 kg lot).
    const huge = await run([
      "gi",
      "event",
      "6",
      "--step",
      "inspecting",
      "--location",
      "urn:x",
      "--quantity",
      `1${"0".repeat(30)}kg`,
      "--as",
      "coop",
    ]);
    expect(huge.code).to.equal(1);
    expect(huge.stderr).to.match(/is more than lot 6 ever held \(1 t\).*\[QUANTITY_EXCEEDED\]/s);
    // Dates of 1970 and before the lot began.
    const epoch = await run([
      "gi",
      "event",
      "6",
      "--step",
      "inspecting",
      "--location",
      "urn:x",
      "--time",
      "1970-01-01T00:00:00Z",
      "--as",
      "coop",
    ]);
    expect(epoch.stderr).to.match(/event time 1970-01-01T00:00:00Z is before 2000.*\[INVALID_ARGUMENT\]/s);
    const early = await run([
      "gi",
      "event",
      "6",
      "--step",
      "inspecting",
      "--location",
      "urn:x",
      "--time",
      "2026-08-01T00:00:00+08:00",
      "--as",
      "coop",
    ]);
    expect(early.stderr).to.match(/is before lot 6 began \(2026-09-02T00:30:00\.000Z\).*\[INVALID_ARGUMENT\]/s);
    // A CSV whose stray quote would swallow the next rows into a note, a lot id above 2^53, a 1970 row, a huge quantity.
    const traps = path.join(ws.dir, "traps.csv");
    fs.writeFileSync(
      traps,
      [
        "lot,step,disposition,time,location,quantity,note",
        '6,storing,,2026-09-05T08:00:00+08:00,urn:x,,"cold store',
        "6,storing,,2026-09-05T09:00:00+08:00,urn:x,,swallowed row",
        '6,storing,,2026-09-05T10:00:00+08:00,urn:x,,end"',
        "9007199254740993,storing,,2026-09-05T08:00:00+08:00,urn:x,,",
        "6,storing,,1970-01-01T00:00:00Z,urn:x,,",
        `6,storing,,2026-09-05T08:00:00+08:00,urn:x,1${"0".repeat(30)}kg,`,
      ].join("\n"),
    );
    const r = await run(["gi", "import", traps, "--as", "coop"]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/\[IMPORT_INVALID\]/);
    expect(r.stderr).to.match(/line 2: cell 7 is quoted and runs on to line 3, which reads as a row of its own/);
    expect(r.stderr).to.match(/line 5: lot "9007199254740993" is above 2\^53/);
    expect(r.stderr).to.match(/line 6: .*before 2000/);
    expect(r.stderr).to.match(/line 7: an observed quantity of .* is more than lot 6 ever held/);
    // Bytes that are not UTF-8 are named, not replaced.
    const latin1 = path.join(ws.dir, "latin1.csv");
    fs.writeFileSync(
      latin1,
      Buffer.concat([
        Buffer.from("lot,step,time,location,note\n6,storing,2026-09-05T08:00:00+08:00,urn:x,caf"),
        Buffer.from([0xe9]),
        Buffer.from("\n"),
      ]),
    );
    const u = await run(["gi", "import", latin1, "--as", "coop"]);
    expect(u.code).to.equal(1);
    expect(u.stderr).to.match(/line 2: is not valid UTF-8 \(byte \d+ of the file, 0xe9\).*\[IMPORT_INVALID\]/s);
    const after = await trace(6);
    expect(after.t.events.length).to.equal(before.t.events.length);
    expect(after.t.blockNumber).to.equal(before.t.blockNumber);
  });

  it("traces a box back to the harvest and the licence, every event verified", async function () {
    const { code, t } = await trace(4);
    expect(code).to.equal(0);
    expect(t).to.include({ lot: 4, status: "genuine", packages: 240 });
    expect(t.product).to.include({ id: 1, name: "砀山酥梨", nameEn: "Dangshan Su Pear" });
    expect(t.quantity).to.deep.equal({ amount: "1200000", unit: "g", text: "1,200 kg" });
    expect(t.ancestors.map((a: { lot: number }) => a.lot)).to.deep.equal([1]);
    expect(t.ancestors[0]).to.include({ origin: "harvest", actorName: "farmer1", season: 2026 });
    expect(t.ancestors[0].licence.quota.text).to.equal("50 t");
    expect(t.descendants).to.deep.equal([]);
    const steps = t.events.map((e: { step: string }) => e.step);
    expect(steps).to.deep.equal([
      "commissioning",
      "inspecting",
      "packing",
      "packing",
      "storing",
      "loading",
      "shipping",
      "departing",
      "transporting",
      "arriving",
      "receiving",
      "retail_selling",
    ]);
    for (const e of t.events) {
      expect(e.verified, JSON.stringify(e)).to.equal(true);
      expect(e).to.have.keys([
        "lot",
        "step",
        "disposition",
        "time",
        "eventTime",
        "actor",
        "actorName",
        "location",
        "locationDigest",
        "blockNumber",
        "txHash",
        "document",
        "cid",
        "verified",
        "check",
        "epcis",
      ]);
    }
    expect(t.events.find((e: { step: string }) => e.step === "retail_selling").actorName).to.equal("retailer");
    expect(t.massBalance.ok).to.equal(true);
    expect(t.checks).to.include({
      headsMatch: true,
      documentsMissing: 0,
      documentsMismatched: 0,
      storageMatchesLogs: true,
    });
    const human = await ok(["gi", "trace", "4"]);
    expect(human.stdout).to.match(/GENUINE/);
    expect(human.stdout).to.match(
      /lot 1\s+harvest\s+1,200 kg\s+by 0x[0-9a-fA-F]{40} \(farmer1\) · unregistered, season 2026, licence 1,200 kg of 50 t used/,
    );
    expect(human.stdout).to.match(/retail_selling .*retailer .*上海市静安区/);
  });

  it("a recall of a harvest covers the boxes packed from it", async function () {
    const wrong = await run(["gi", "recall", "3", "--reason", "residue", "--as", "farmer3"]);
    expect(wrong.stderr).to.match(/\[ROLE_MISSING\]/);
    await ok(["gi", "recall", "3", "--reason", "pesticide residue over the limit", "--as", "inspector"]);
    const { code, t } = await trace(6);
    expect(code).to.equal(0);
    expect(t.status).to.equal("recalled");
    expect(t.reasons.join(" ")).to.match(/ancestor lot 3 was recalled: pesticide residue over the limit/);
    expect((await trace(4)).t.status).to.equal("genuine");
    const again = await run(["gi", "event", "3", "--step", "inspecting", "--location", "x", "--as", "inspector"]);
    expect(again.stderr).to.match(/lot 3 was recalled and accepts no event or operation.*\[LOT_RECALLED\]/);
  });

  it("an unknown lot is reported as unknown with a non-zero exit", async function () {
    const { code, t } = await trace(999);
    expect(code).to.equal(1);
    expect(t.status).to.equal("unknown");
    const e = await run(["gi", "event", "999", "--step", "shipping", "--location", "x", "--as", "logistics"]);
    expect(e.code).to.equal(1);
    expect(e.stderr).to.match(
      /lot 999 does not exist on this registry \(lots are numbered 1 to 6\).*\[LOT_NOT_FOUND\]/,
    );
  });

  it("a tampered event document makes the trace broken", async function () {
    // Point the index entry of one of lot 5's documents at another stored document.
    const dir = path.join(ws.dataDir, "gi");
    const file = path.join(
      dir,
      fs.readdirSync(dir).find((f) => f.endsWith(".documents.jsonl"))!,
    );
    const saved = fs.readFileSync(file, "utf8");
    const lines = saved
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const { t } = await trace(5);
    const target = t.events.find((e: { step: string }) => e.step === "inspecting").document;
    const other = lines.find((l: { document: string }) => l.document !== target).cid;
    fs.appendFileSync(file, `${JSON.stringify({ document: target, cid: other })}\n`);
    try {
      const r = await trace(5);
      expect(r.code).to.equal(1);
      expect(r.t.status).to.equal("broken");
      expect(r.t.checks.documentsMismatched).to.equal(1);
      expect(r.t.events.find((e: { step: string }) => e.step === "inspecting")).to.include({
        verified: false,
        check: "document-mismatch",
      });
      expect(r.stderr).to.match(/"code": ?"TRACE_BROKEN"/);
    } finally {
      fs.writeFileSync(file, saved);
    }
    expect((await trace(5)).t.status).to.equal("genuine");
  });

  it("the co-op names its participants; the trace shows them, an unregistered actor by its address", async function () {
    const set = await json([
      "gi",
      "participant",
      "set",
      "1",
      "farmer1",
      "--name",
      "砀山县李庄果园",
      "--name-en",
      "Lizhuang Orchard",
      "--kind",
      "farm",
      "--licence",
      "SC-2026-0042",
      "--region",
      "砀山县",
      "--as",
      "coop",
    ]);
    expect(set).to.include({ product: 1, kind: "farm", name: "砀山县李庄果园", licence: "SC-2026-0042" });
    expect(set.txHash).to.match(/^0x[0-9a-f]{64}$/);
    // Only the product's admin: the registrar, a farmer, the inspector are refused and nothing changes.
    for (const who of ["registrar", "farmer1", "inspector"]) {
      const r = await run(["gi", "participant", "set", "1", "farmer2", "--name", "x", "--kind", "farm", "--as", who]);
      expect(r.code, who).to.not.equal(0);
      expect(r.stderr, who).to.match(/\[ROLE_MISSING\]/);
    }
    const missing = await run(["gi", "participant", "show", "1", "farmer2"]);
    expect(missing.code).to.not.equal(0);
    expect(missing.stderr).to.match(/\[PARTICIPANT_NOT_FOUND\]/);
    expect(missing.stderr).to.include("proofmark gi participant set 1 farmer2");
    // Refused before any transaction: an unknown kind, a newline in a name, a name over 128 bytes.
    const kind = await run([
      "gi",
      "participant",
      "set",
      "1",
      "farmer2",
      "--name",
      "x",
      "--kind",
      "bakery",
      "--as",
      "coop",
    ]);
    expect(kind.code).to.not.equal(0);
    expect(kind.stderr).to.match(/is not one of farm, inspector, packer, carrier, retailer/);
    const newline = await run([
      "gi",
      "participant",
      "set",
      "1",
      "farmer2",
      "--name",
      "a\nb",
      "--kind",
      "farm",
      "--as",
      "coop",
    ]);
    expect(newline.stderr)
      .to.match(/\[INVALID_ARGUMENT\]/)
      .and.match(/the participant's name contains control characters/);
    const long = await run([
      "gi",
      "participant",
      "set",
      "1",
      "farmer2",
      "--name",
      "梨".repeat(43),
      "--kind",
      "farm",
      "--as",
      "coop",
    ]);
    expect(long.stderr)
      .to.match(/\[INVALID_ARGUMENT\]/)
      .and.match(/129 bytes of UTF-8; at most 128/);
    const shown = await json(["gi", "participant", "show", "1", "farmer1"]);
    expect(shown).to.include({
      product: 1,
      kind: "farm",
      name: "砀山县李庄果园",
      nameEn: "Lizhuang Orchard",
      region: "砀山县",
    });
    const list = await json(["gi", "participant", "list", "1"]);
    expect(list.participants).to.have.length(1);
    const { t } = await trace(4);
    expect(t.ancestors[0].participant).to.deep.equal({
      kind: "farm",
      name: "砀山县李庄果园",
      nameEn: "Lizhuang Orchard",
      licence: "SC-2026-0042",
      region: "砀山县",
    });
    expect(t.events.find((e: { step: string }) => e.step === "shipping").participant).to.equal(undefined);
    const en = await ok(["gi", "trace", "4"]);
    expect(en.stdout).to.match(/lot 1\s+harvest\s+1,200 kg\s+by Lizhuang Orchard · licence SC-2026-0042, season 2026/);
    expect(en.stdout).to.match(/shipping .*logistics 0x[0-9a-fA-F]{40} · unregistered/);
    const zh = await ok(["gi", "trace", "4", "--lang", "zh"]);
    expect(zh.stdout).to.match(/by 砀山县李庄果园 · 许可证号 SC-2026-0042, season 2026/);
    expect(zh.stdout).to.match(/shipping .*logistics 0x[0-9a-fA-F]{40} · 未登记/);
  });

  it("stores a hostile product name as plain data and never lets it reach the terminal raw", async function () {
    const hostile = "<script>alert('x')</script>\u001b[2J\u001b]0;pwned\u0007\u202Eevil'; DROP TABLE lots;--";
    const created = await json([
      "gi",
      "product",
      "create",
      "--name",
      hostile,
      "--name-en",
      "${process.exit(1)}",
      "--gi-number",
      "EVIL/../1",
      "--region",
      "\u0007region",
      "--unit",
      "kg",
      "--admin",
      "coop",
      "--as",
      "registrar",
    ]);
    expect(created.product).to.equal(2);
    const shown = await json(["gi", "product", "show", "2"]);
    expect(shown.name).to.equal(hostile);
    expect(shown.nameEn).to.equal("${process.exit(1)}");
    const human = await ok(["gi", "product", "show", "2"]);
    expect(human.stdout).to.include("<script>alert('x')</script>");
    expect(human.stdout).to.not.match(/[\u0000-\u0009\u000b-\u001f\u007f\u202e]/);
    expect(human.stdout).to.include("\\e[2J"); // shown escaped by the one terminal escaper
  });
});
