// Provenance benchmarks (issue 4): gas of one supply-chain event and per event when 100 are batched,
// beside an EAS attestation of the same fields (same EVM, same run), and `proofmark gi import` of
// 10,000 events from a CSV on the embedded local chain, end to end.
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ethers } from "hardhat";
import { DANGSHAN_PEAR, productCreateArgs } from "../gi-season";
import { deployEas } from "./eas";
import type { BenchRow } from "./types";

const REPO = path.resolve(__dirname, "..", "..");

/** The fields of one event, as EAS would attest them. */
const EAS_SCHEMA = "uint8 step,uint8 disposition,bytes32 location,uint40 time,uint64 lot,bytes32 document";

async function gasRows(): Promise<BenchRow[]> {
  const [admin, registrar, coop, farmer, inspector] = await ethers.getSigners();
  const registry = await ethers.deployContract("ProvenanceRegistry", [
    admin.address,
    registrar.address,
    ethers.ZeroAddress,
  ]);
  await (
    await registry.connect(registrar).createProduct({
      admin: coop.address,
      maxYieldBps: 10_000,
      standard: ethers.ZeroHash,
      name: DANGSHAN_PEAR.name,
      nameEn: DANGSHAN_PEAR.nameEn,
      giNumber: DANGSHAN_PEAR.giNumber,
      region: DANGSHAN_PEAR.region,
      unit: DANGSHAN_PEAR.unit,
    })
  ).wait();
  const role = (r: number) => registry.productRoleId(1, r);
  await (await registry.connect(coop).grantRole(await role(1), farmer.address)).wait();
  await (await registry.connect(coop).grantRole(await role(2), inspector.address)).wait();
  await (await registry.connect(coop).grantLicence(1, farmer.address, 2026, 10n ** 12n)).wait();
  const record = (i: number) => ({
    eventTime: 1_788_000_000 + i,
    location: ethers.id(`loc ${i}`),
    document: ethers.id(`doc ${i}`),
  });
  const lots: number[] = [];
  for (let i = 0; i < 101; i++) {
    await (await registry.connect(farmer).harvest(1, 2026, 1_000_000n, record(i))).wait();
    lots.push(i + 1);
  }
  const event = (lot: number, i: number) => ({ lot, step: 1, disposition: 1, ...record(1000 + i) });
  const gas = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) =>
    Number((await (await tx).wait())!.gasUsed);

  const one = await gas(registry.connect(inspector).recordEvent(event(1, 0)));
  const batchOneLot = await gas(
    registry.connect(inspector).recordEvents(Array.from({ length: 100 }, (_, i) => event(2, i))),
  );
  const batchTenLots = await gas(
    registry.connect(inspector).recordEvents(Array.from({ length: 100 }, (_, i) => event(3 + (i % 10), i))),
  );
  const batchManyLots = await gas(
    registry.connect(inspector).recordEvents(Array.from({ length: 100 }, (_, i) => event(2 + i, i))),
  );

  const { eas, registerSchema } = await deployEas();
  const schema = await registerSchema(EAS_SCHEMA);
  const coder = ethers.AbiCoder.defaultAbiCoder();
  const attestation = (i: number) => ({
    recipient: ethers.ZeroAddress,
    expirationTime: 0n,
    revocable: true,
    refUID: ethers.ZeroHash,
    value: 0n,
    data: coder.encode(
      ["uint8", "uint8", "bytes32", "uint40", "uint64", "bytes32"],
      [1, 1, ethers.id(`loc ${i}`), 1_788_000_000 + i, 1, ethers.id(`doc ${i}`)],
    ),
  });
  const attestOne = await gas(eas.attest({ schema, data: attestation(0) }));
  // 100 EAS attestations of these fields do not fit in one 30M-gas block: multiAttest is measured with 20.
  const attestMulti = await gas(
    eas.multiAttest([{ schema, data: Array.from({ length: 20 }, (_, i) => attestation(i + 1)) }]),
  );

  const peerOne = { name: "EAS attest, same fields", value: attestOne };
  const peerMulti = {
    name: "EAS multiAttest ×20 (×100 exceeds a block), same fields",
    value: Math.round(attestMulti / 20),
  };
  return [
    {
      section: "provenance gas",
      name: "one event (recordEvent)",
      value: one,
      unit: "gas",
      peer: peerOne,
      target: "≤ 40000",
      pass: one <= 40_000,
    },
    {
      section: "provenance gas",
      name: "100 events batched, one lot: per event",
      value: Math.round(batchOneLot / 100),
      unit: "gas/event",
      peer: peerMulti,
      target: "≤ 15000",
      pass: batchOneLot / 100 <= 15_000,
      note: `total ${batchOneLot}`,
    },
    {
      section: "provenance gas",
      name: "100 events batched over 10 lots: per event",
      value: Math.round(batchTenLots / 100),
      unit: "gas/event",
      peer: peerMulti,
      target: "≤ 15000",
      pass: batchTenLots / 100 <= 15_000,
      note: `total ${batchTenLots}`,
    },
    {
      section: "provenance gas",
      name: "100 events batched over 100 lots: per event",
      value: Math.round(batchManyLots / 100),
      unit: "gas/event",
      peer: peerMulti,
      target: "≤ 15000",
      pass: batchManyLots / 100 <= 15_000,
      note: `total ${batchManyLots}; one cold head slot per lot`,
    },
  ];
}

function importRows(): BenchRow[] {
  const count = Number(process.env.BENCH_GI_EVENTS ?? 10_000);
  const lots = 10;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "proofmark-bench-gi-"));
  const env = { ...process.env, PROOFMARK_HOME: path.join(dir, ".proofmark") };
  const cli = path.join(REPO, "cli", "bin", "proofmark.js");
  const pm = (args: string[]) =>
    execFileSync(process.execPath, [cli, ...args], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    pm(["node", "start"]);
    pm(productCreateArgs());
    pm(["gi", "role", "grant", "1", "producer", "farmer1", "--as", "coop"]);
    pm(["gi", "licence", "grant", "1", "farmer1", "--quota", "100t", "--season", "2026", "--as", "coop"]);
    for (let i = 0; i < lots; i++)
      pm([
        "gi",
        "harvest",
        "1",
        "--quantity",
        "1000kg",
        "--plot",
        `DS-${i}`,
        "--date",
        "2026-09-01",
        "--as",
        "farmer1",
      ]);
    const steps = ["storing", "loading", "departing", "transporting", "arriving", "unloading", "receiving", "shipping"];
    const lines = ["lot,step,disposition,time,location,quantity,note"];
    for (let i = 0; i < count; i++) {
      const t = new Date(Date.UTC(2026, 8, 2) + i * 60_000).toISOString();
      lines.push(
        `${1 + (i % lots)},${steps[i % steps.length]},,${t},urn:epc:id:sgln:6901234.${String(10 + (i % 50)).padStart(5, "0")}.0,${1 + (i % 900)}kg,"reading ${i}, reefer 1.5 °C"`,
      );
    }
    const csv = path.join(dir, "events.csv");
    fs.writeFileSync(csv, `${lines.join("\n")}\n`);
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [cli, "gi", "import", csv, "--json", "--as", "coop"], {
      cwd: dir,
      env,
      maxBuffer: 1 << 28,
    });
    const seconds = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.status !== 0) throw new Error(`gi import failed: ${r.stderr}`);
    const result = JSON.parse(r.stdout.toString());
    const gasTotal = result.transactions.reduce((s: number, x: { gasUsed: string }) => s + Number(x.gasUsed), 0);
    return [
      {
        section: "provenance import",
        name: `proofmark gi import of ${count.toLocaleString("en")} events from a CSV, end to end (CLI, local chain)`,
        value: Math.round(seconds * 100) / 100,
        unit: "s",
        target: "< 60 s",
        pass: seconds < 60 && result.recorded === count,
        note: `${result.transactions.length} transaction(s), ${Math.round(gasTotal / count)} gas/event, documents kept in the store`,
      },
    ];
  } finally {
    spawnSync(process.execPath, [cli, "node", "stop"], { cwd: dir, env, stdio: "ignore" });
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchRow[]> {
  return [...(await gasRows()), ...importRows()];
}
