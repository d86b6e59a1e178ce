import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Contract, Interface, keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import {
  issueScanCodes, LocalNode, openChain, registryArtifact, stampFiles, type ChainContext, type IssueCodesResult,
} from "../../packages/sdk/src";

/** What the portal tests and the benchmark seed: a GI season, codes, a recall, an XSS product, a stamped file. */
export interface SeededWorld {
  dataDir: string;
  gtin: string;
  /** Packed lot with codes, its manifest. */
  goodLot: number;
  good: IssueCodesResult;
  /** Packed lot whose harvest was recalled, with codes. */
  recalledLot: number;
  recalled: IssueCodesResult;
  /** Packed lot of the product named `<img src=x onerror=alert(1)>`. */
  xssLot: number;
  xss: IssueCodesResult;
  stampedFile: string;
  receiptFile: string;
}

export const XSS_NAME = "<img src=x onerror=alert(1)>";
const STEP = { commissioning: 0, inspecting: 1, packing: 3, shipping: 9, receiving: 12, retail_selling: 16 } as const;
const DISP = { active: 0, conformant: 1, in_transit: 4, sellable_accessible: 6 } as const;

function rec(eventTime: number, location: string, doc: string) {
  return { eventTime, location: keccak256(toUtf8Bytes(location)), document: keccak256(toUtf8Bytes(doc)) };
}

async function lotFrom(tx: Promise<{ wait(): Promise<{ logs: Array<{ topics: string[]; data: string }> } | null> }>, iface: Interface, event: string): Promise<number> {
  const receipt = await (await tx).wait();
  for (const log of receipt!.logs) {
    const parsed = (() => { try { return iface.parseLog(log); } catch { return null; } })();
    if (parsed?.name === event) return Number(parsed.args.lot);
  }
  throw new Error(`no ${event} in the receipt`);
}

/** A fresh data folder under the OS temp dir. */
export function tempDataDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `proofmark-${tag}-`));
}

/** Seeds a Dangshan pear season on the local chain of `dataDir`. */
export async function seedWorld(dataDir: string, opts: { codes?: number; resolver?: string } = {}): Promise<SeededWorld> {
  const chain = await openChain({ dataDir });
  try {
    return await seed(chain, dataDir, opts);
  } finally {
    chain.close();
  }
}

async function seed(chain: ChainContext, dataDir: string, opts: { codes?: number; resolver?: string }): Promise<SeededWorld> {
  const iface = new Interface(registryArtifact("ProvenanceRegistry").abi as never);
  const address = await chain.registryAddress("ProvenanceRegistry");
  const as = async (name: string) => new Contract(address, iface, await chain.signer(name));
  const accounts = Object.fromEntries(await Promise.all(["coop", "farmer1", "farmer2", "inspector", "logistics", "retailer"].map(async (n) => [n, await (await chain.signer(n)).getAddress()])));
  const registrar = await as("registrar");
  const coop = await as("coop");
  const t0 = 1_788_000_000; // 2026-08-29

  const createProduct = async (name: string, nameEn: string) => {
    const receipt = await (await registrar.createProduct({ admin: accounts.coop, maxYieldBps: 10_000, standard: ZeroHash, name, nameEn, giNumber: "AGI00001", region: "安徽省砀山县", unit: "g" })).wait();
    const log = receipt!.logs.map((l: { topics: string[]; data: string }) => iface.parseLog(l)).find((l: { name: string } | null) => l?.name === "ProductCreated");
    return Number(log!.args.product);
  };
  const seedProduct = async (product: number) => {
    for (const [role, who] of [[1, "farmer1"], [1, "farmer2"], [2, "inspector"], [3, "coop"], [4, "logistics"], [5, "retailer"]] as Array<[number, string]>) {
      await (await coop.grantRole(await coop.productRoleId(product, role), accounts[who])).wait();
    }
    await (await coop.grantLicence(product, accounts.farmer1, 2026, 50_000_000)).wait();
    await (await coop.grantLicence(product, accounts.farmer2, 2026, 50_000_000)).wait();
  };
  const harvestAndPack = async (product: number, farmer: string, packages: number) => {
    const f = await as(farmer);
    const harvest = await lotFrom(f.harvest(product, 2026, 1_200_000, rec(t0, "plot:DS-07", `harvest ${product} ${farmer}`)), iface, "LotHarvested");
    await (await (await as("inspector")).recordEvent({ lot: harvest, step: STEP.inspecting, disposition: DISP.conformant, ...rec(t0 + 86_400, "lab:AHQI", "certificate AHQI-2026-0193") })).wait();
    const packed = await lotFrom(coop.pack(harvest, packages, 5_000, rec(t0 + 2 * 86_400, "coop:packhouse", `pack ${harvest}`)), iface, "LotDerived");
    await (await (await as("logistics")).recordEvent({ lot: packed, step: STEP.shipping, disposition: DISP.in_transit, ...rec(t0 + 3 * 86_400, "coop:dock", "ship to Shanghai") })).wait();
    await (await (await as("retailer")).recordEvent({ lot: packed, step: STEP.receiving, disposition: DISP.sellable_accessible, ...rec(t0 + 4 * 86_400, "store:SH-001", "received") })).wait();
    return { harvest, packed };
  };

  const pear = await createProduct("砀山酥梨", "Dangshan Su Pear");
  await seedProduct(pear);
  const good = await harvestAndPack(pear, "farmer1", 240);
  const bad = await harvestAndPack(pear, "farmer2", 100);
  await (await (await as("inspector")).recall(bad.harvest, "pesticide residue above limit", rec(t0 + 5 * 86_400, "lab:AHQI", "recall notice"))).wait();
  const xssProduct = await createProduct(XSS_NAME, XSS_NAME);
  await seedProduct(xssProduct);
  const xss = await harvestAndPack(xssProduct, "farmer1", 10);
  await chain.persist();

  const gtin = "06901234567892";
  const codeChain = await openChain({ dataDir, as: "coop" });
  const outDir = path.join(dataDir, "labels");
  const count = opts.codes ?? 5;
  try {
    const issued = (lot: number, n: number) => issueScanCodes({ chain: codeChain, lot, count: n, gtin, outDir: path.join(outDir, String(lot)), resolver: opts.resolver ?? "https://id.example.org", png: false });
    const goodCodes = await issued(good.packed, count);
    // The recalled harvest's packed lot is still active itself; its codes exist.
    const recalledCodes = await issued(bad.packed, 2);
    const xssCodes = await issued(xss.packed, 2);
    const stampedFile = path.join(dataDir, "design.txt");
    fs.writeFileSync(stampedFile, "a design worth protecting\n".repeat(1000));
    const signer = await openChain({ dataDir, as: "designer" });
    try {
      await stampFiles({ chain: signer, inputs: [stampedFile] });
    } finally {
      signer.close();
    }
    return {
      dataDir, gtin, goodLot: good.packed, good: goodCodes, recalledLot: bad.packed, recalled: recalledCodes, xssLot: xss.packed, xss: xssCodes,
      stampedFile, receiptFile: `${stampedFile}.proof.json`,
    };
  } finally {
    codeChain.close();
  }
}

/** Stops the embedded chain of a data folder. */
export async function stopChain(dataDir: string): Promise<void> {
  await new LocalNode(dataDir).stop();
}
