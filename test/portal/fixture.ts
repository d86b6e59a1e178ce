import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Contract, Interface, ZeroHash, type Provider } from "ethers";
import {
  EmbeddedStore,
  EventDocuments,
  harvestEvent,
  issueScanCodes,
  LocalNode,
  lotClass,
  observationEvent,
  openChain,
  packEvent,
  prepareEvent,
  recallEvent,
  registryArtifact,
  stampFiles,
  type ChainContext,
  type EpcisEvent,
  type IssueCodesResult,
  minedReceipt,
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
  /** Packed lot whose inspection document gets altered in the content store ({@link alterDocument}). */
  alteredLot: number;
  altered: IssueCodesResult;
  /** Packed lot left alone, for tests that tamper with the portal's index. */
  spareLot: number;
  spare: IssueCodesResult;
  stampedFile: string;
  receiptFile: string;
}

export const XSS_NAME = "<img src=x onerror=alert(1)>";
/** farmer1's participant record for the pear product. */
export const FARM = {
  kind: 0,
  name: "砀山县李庄果园",
  nameEn: "Lizhuang Orchard, Dangshan",
  licence: "SC-2026-0042",
  region: "安徽省砀山县",
};
/**
 * farmer1's participant record for the hostile product, written straight to the registry (the SDK
 * and the CLI refuse control characters; another client need not): markup, a right-to-left
 * override, a newline and a terminal escape.
 */
export const HOSTILE_PARTICIPANT = {
  kind: 0,
  name: "<img src=x onerror=alert(2)>\u202Eevil\n<b>farm</b>",
  nameEn: "<script>alert(3)</script>\u202E\u001b[2Jfarm\r\nVERIFIED",
  licence: '"><svg onload=alert(4)>\u2066',
  region: "\u0007",
};
/** The inspection certificate attached to every inspection of the seeded world. */
export const CERTIFICATE_NAME = "AHQI-2026-0193.pdf";
/** The retailer's shop, recorded as a plain address (it becomes a urn:proofmark:place: URI with the text beside it). */
export const RETAIL_ADDRESS = "上海市静安区南京西路 1 号";
/** Text inside the inspection document of the lot whose document gets altered. */
export const ALTERED_NOTE = "residue test passed: lot to be altered";

async function lotFrom(
  tx: Promise<{ hash: string; provider: Provider }>,
  iface: Interface,
  event: string,
): Promise<number> {
  const receipt = await minedReceipt(await tx);
  for (const log of receipt!.logs) {
    const parsed = (() => {
      try {
        return iface.parseLog(log);
      } catch {
        return null;
      }
    })();
    if (parsed?.name === event) return Number(parsed.args.lot);
  }
  throw new Error(`no ${event} in the receipt`);
}

/** A fresh data folder under the OS temp dir. */
export function tempDataDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `proofmark-${tag}-`));
}

/** Seeds a Dangshan pear season on the local chain of `dataDir`. */
export async function seedWorld(
  dataDir: string,
  opts: { codes?: number; resolver?: string } = {},
): Promise<SeededWorld> {
  const chain = await openChain({ dataDir });
  try {
    return await seed(chain, dataDir, opts);
  } finally {
    chain.close();
  }
}

async function seed(
  chain: ChainContext,
  dataDir: string,
  opts: { codes?: number; resolver?: string },
): Promise<SeededWorld> {
  const iface = new Interface(registryArtifact("ProvenanceRegistry").abi as never);
  const address = await chain.registryAddress("ProvenanceRegistry");
  const as = async (name: string) => new Contract(address, iface, await chain.signer(name));
  const accounts = Object.fromEntries(
    await Promise.all(
      ["coop", "farmer1", "farmer2", "inspector", "logistics", "retailer"].map(async (n) => [
        n,
        await (await chain.signer(n)).getAddress(),
      ]),
    ),
  );
  const registrar = await as("registrar");
  const coop = await as("coop");
  const t0 = 1_788_000_000; // 2026-08-29
  // Every event's document goes to the data folder's content store, as `proofmark gi` keeps them.
  const store = new EmbeddedStore(dataDir);
  const documents = new EventDocuments({ dataDir, chainId: chain.chainId, registry: address, store });
  const certificate = (
    await store.add(Buffer.from("%PDF-1.4 AHQI inspection certificate 2026-0193\n"), { name: CERTIFICATE_NAME })
  ).cid;
  const rec = async (event: EpcisEvent) => {
    const p = prepareEvent(event);
    await documents.save([p]);
    return {
      step: p.record.step,
      disposition: p.record.disposition,
      record: { eventTime: p.record.eventTime, location: p.record.location, document: p.record.document },
    };
  };
  const time = (s: number) => new Date(s * 1000);
  const nextLot = async () => Number((await coop.counts())[1]) + 1;

  const createProduct = async (name: string, nameEn: string) => {
    const receipt = await minedReceipt(
      await registrar.createProduct({
        admin: accounts.coop,
        maxYieldBps: 10_000,
        standard: ZeroHash,
        name,
        nameEn,
        giNumber: "AGI00001",
        region: "安徽省砀山县",
        unit: "g",
      }),
    );
    const log = receipt!.logs.map((l) => iface.parseLog(l)).find((l) => l?.name === "ProductCreated");
    return Number(log!.args.product);
  };
  const seedProduct = async (product: number) => {
    for (const [role, who] of [
      [1, "farmer1"],
      [1, "farmer2"],
      [2, "inspector"],
      [3, "coop"],
      [4, "logistics"],
      [5, "retailer"],
    ] as Array<[number, string]>) {
      await minedReceipt(await coop.grantRole(await coop.productRoleId(product, role), accounts[who]));
    }
    await minedReceipt(await coop.grantLicence(product, accounts.farmer1, 2026, 50_000_000));
    await minedReceipt(await coop.grantLicence(product, accounts.farmer2, 2026, 50_000_000));
  };
  const harvestAndPack = async (
    product: number,
    farmer: string,
    packages: number,
    note = "residue test passed",
    plot = "DS-07",
  ) => {
    const f = await as(farmer);
    const gi = "AGI00001";
    const lot = (n: number) => lotClass({ giNumber: gi, lot: String(n) });
    const h = await rec(
      harvestEvent({
        lot: lot(await nextLot()),
        quantity: 1_200_000n,
        unit: "g",
        time: time(t0),
        location: "urn:proofmark:gi:AGI00001:plot:DS-07",
        ilmd: { "gi:plot": plot, "gi:season": 2026 },
      }),
    );
    const harvest = await lotFrom(f.harvest(product, 2026, 1_200_000, h.record), iface, "LotHarvested");
    const i = await rec(
      observationEvent({
        lot: lot(harvest),
        step: "inspecting",
        time: time(t0 + 86_400),
        location: "urn:proofmark:lab:AHQI",
        extensions: { "gi:attachmentName": CERTIFICATE_NAME, "gi:attachment": certificate, "gi:note": note },
      }),
    );
    await minedReceipt(
      await (
        await as("inspector")
      ).recordEvent({ lot: harvest, step: i.step, disposition: i.disposition, ...i.record }),
    );
    const packedId = await nextLot();
    const pk = await rec(
      packEvent({
        lot: lot(harvest),
        packedLot: lot(packedId),
        packages,
        size: 5_000n,
        unit: "g",
        time: time(t0 + 2 * 86_400),
        location: "urn:proofmark:coop:packhouse",
      }),
    );
    const packed = await lotFrom(coop.pack(harvest, packages, 5_000, pk.record), iface, "LotDerived");
    const sh = await rec(
      observationEvent({
        lot: lot(packed),
        step: "shipping",
        time: time(t0 + 3 * 86_400),
        location: "urn:proofmark:coop:dock",
      }),
    );
    await minedReceipt(
      await (
        await as("logistics")
      ).recordEvent({ lot: packed, step: sh.step, disposition: sh.disposition, ...sh.record }),
    );
    const rc = await rec(
      observationEvent({ lot: lot(packed), step: "receiving", time: time(t0 + 4 * 86_400), location: RETAIL_ADDRESS }),
    );
    await minedReceipt(
      await (
        await as("retailer")
      ).recordEvent({ lot: packed, step: rc.step, disposition: rc.disposition, ...rc.record }),
    );
    return { harvest, packed };
  };

  const pear = await createProduct("砀山酥梨", "Dangshan Su Pear");
  await seedProduct(pear);
  // Named participants: farmer1 and the inspector are registered; farmer2 is not.
  await minedReceipt(await coop.setParticipant(pear, accounts.farmer1, FARM));
  await minedReceipt(
    await coop.setParticipant(pear, accounts.inspector, {
      kind: 1,
      name: "安徽省农产品质检中心",
      nameEn: "Anhui Agricultural Products Inspection Centre",
      licence: "",
      region: "",
    }),
  );
  const good = await harvestAndPack(pear, "farmer1", 240);
  const bad = await harvestAndPack(pear, "farmer2", 100);
  const recall = await rec(
    recallEvent({
      lot: lotClass({ giNumber: "AGI00001", lot: String(bad.harvest) }),
      reason: "pesticide residue above limit",
      time: time(t0 + 5 * 86_400),
      location: "urn:proofmark:lab:AHQI",
    }),
  );
  await minedReceipt(await (await as("inspector")).recall(bad.harvest, "pesticide residue above limit", recall.record));
  const altered = await harvestAndPack(pear, "farmer1", 20, ALTERED_NOTE);
  const spare = await harvestAndPack(pear, "farmer1", 20);
  const xssProduct = await createProduct(XSS_NAME, XSS_NAME);
  await seedProduct(xssProduct);
  await minedReceipt(await coop.setParticipant(xssProduct, accounts.farmer1, HOSTILE_PARTICIPANT));
  // Its plot and inspection note (off-chain documents) are hostile too.
  const xss = await harvestAndPack(xssProduct, "farmer1", 10, XSS_NAME, XSS_NAME);
  await chain.persist();
  await store.close();

  const gtin = "06901234567892";
  const codeChain = await openChain({ dataDir, as: "coop" });
  const outDir = path.join(dataDir, "labels");
  const count = opts.codes ?? 5;
  try {
    const issued = (lot: number, n: number) =>
      issueScanCodes({
        chain: codeChain,
        lot,
        count: n,
        gtin,
        outDir: path.join(outDir, String(lot)),
        resolver: opts.resolver ?? "https://id.example.org",
        png: false,
      });
    const goodCodes = await issued(good.packed, count);
    // The recalled harvest's packed lot is still active itself; its codes exist.
    const recalledCodes = await issued(bad.packed, 2);
    const xssCodes = await issued(xss.packed, 2);
    const alteredCodes = await issued(altered.packed, 2);
    const spareCodes = await issued(spare.packed, 2);
    const stampedFile = path.join(dataDir, "design.txt");
    fs.writeFileSync(stampedFile, "a design worth protecting\n".repeat(1000));
    const signer = await openChain({ dataDir, as: "designer" });
    try {
      await stampFiles({ chain: signer, inputs: [stampedFile] });
    } finally {
      signer.close();
    }
    return {
      dataDir,
      gtin,
      goodLot: good.packed,
      good: goodCodes,
      recalledLot: bad.packed,
      recalled: recalledCodes,
      xssLot: xss.packed,
      xss: xssCodes,
      alteredLot: altered.packed,
      altered: alteredCodes,
      spareLot: spare.packed,
      spare: spareCodes,
      stampedFile,
      receiptFile: `${stampedFile}.proof.json`,
    };
  } finally {
    codeChain.close();
  }
}

/**
 * Alters, in the content store's pack files, the stored bytes of the event document that holds
 * `text` (one byte changed, as a bit rot or a hand edit would): the document no longer has its CID.
 * Returns how many places were changed.
 */
export function alterDocument(dataDir: string, text: string): number {
  let changed = 0;
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir)) {
      const file = path.join(dir, name);
      if (fs.statSync(file).isDirectory()) walk(file);
      else {
        const bytes = fs.readFileSync(file);
        const at = bytes.indexOf(Buffer.from(text));
        if (at >= 0) {
          bytes[at] ^= 0x01;
          fs.writeFileSync(file, bytes);
          changed++;
        }
      }
    }
  };
  walk(path.join(dataDir, "store"));
  return changed;
}

/** Stops the embedded chain of a data folder. */
export async function stopChain(dataDir: string): Promise<void> {
  await new LocalNode(dataDir).stop();
}
