import * as fs from "node:fs";
import * as path from "node:path";
import { lazyModule } from "../util/lazy";
import { randomSalt } from "../core/commitment";
import { ProofmarkError } from "../core/errors";
import { buildDigitalLink, newSerial, normalizeGtin, serialSetCommitment } from "../core/gs1";
import type { Hex } from "../core/hex";
import type { ChainContext } from "../chain/context";
import { loadConfig } from "../chain/config";
import { ProvenanceRegistryClient } from "../chain/provenance";
import { writeFileAtomic } from "../util/fs";
import { codesCsv, CODES_FORMAT, CODES_VERSION, type CodesManifest } from "./manifest";
import { labelSheetHtml } from "./labels";

const QRCode = lazyModule<typeof import("qrcode")>("qrcode");

/** Lot status codes of ProvenanceRegistry (`LotStatus`). */

export interface IssueCodesOptions {
  chain: ChainContext;
  lot: number;
  count: number;
  gtin: string;
  /** Folder for the QR codes, label sheet and manifests. */
  outDir: string;
  /**
   * Resolver base URL the QR codes point at (default: config.json `resolver`). Required: a code is
   * printed once and must reach the consumer's phone, so there is no local default.
   */
  resolver?: string;
  /** Formats to write (default all). */
  png?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface IssueCodesResult {
  manifest: CodesManifest;
  /** Paths written. */
  files: { manifest: string; csv: string; labels: string; svgDir: string; pngDir?: string; dataDirCopy: string };
  /** Codes of the lot after this issue, and its packages. */
  issuedTotal: number;
  packages: number;
  product: { id: number; name: string; nameEn: string };
}

/** Where the portal looks for manifests: `<dataDir>/codes/`. */
export function codesDir(dataDir: string): string {
  return path.join(dataDir, "codes");
}

/**
 * Issues `count` scan codes for a packed lot: checks on chain that the lot is active and packed
 * and that `count` fits in its packages not yet coded, draws one 80-bit serial per package,
 * anchors the salted serial-set commitment with `issueCodes`, then writes QR codes (SVG, PNG),
 * an A4 label sheet, a CSV and the JSON manifest (also kept in `<dataDir>/codes/` for the portal).
 *
 * @example
 * const chain = await openChain({ dataDir, as: "coop" });
 * await issueScanCodes({ chain, lot: 7, count: 240, gtin: "06901234567892", outDir: "labels/" });
 */
export async function issueScanCodes(opts: IssueCodesOptions): Promise<IssueCodesResult> {
  const { chain } = opts;
  if (!Number.isSafeInteger(opts.lot) || opts.lot <= 0)
    throw new ProofmarkError("INVALID_ARGUMENT", `lot must be a lot id ≥ 1, got ${opts.lot}`);
  if (!Number.isSafeInteger(opts.count) || opts.count <= 0 || opts.count > 100_000)
    throw new ProofmarkError("INVALID_ARGUMENT", `the number of codes must be 1..100000, got ${opts.count}`, {
      field: "count",
      value: opts.count,
    });
  const gtin = normalizeGtin(opts.gtin);
  const resolver = opts.resolver ?? loadConfig(chain.dataDir).resolver;
  if (resolver === undefined || resolver.trim() === "") {
    throw new ProofmarkError(
      "RESOLVER_MISSING",
      "no resolver base URL for the scan codes: the QR codes must point at a site consumers' phones reach",
      {},
    );
  }
  const lot = String(opts.lot);
  buildDigitalLink({ resolver, gtin, lot, serial: "0" }); // validates the resolver early

  const address = await chain.registryAddress("ProvenanceRegistry");
  const registry = new ProvenanceRegistryClient(address, await chain.signer());
  const info = await registry.lot(opts.lot);
  if (info.status === "none")
    throw new ProofmarkError(
      "INVALID_ARGUMENT",
      `lot ${opts.lot} does not exist on chain ${chain.chainId}; check the lot id`,
      { lot: opts.lot },
    );
  if (info.status !== "active")
    throw new ProofmarkError(
      "TX_FAILED",
      `lot ${opts.lot} is ${info.status}; codes can only be issued for an active packed lot`,
      { lot: opts.lot, status: info.status },
    );
  const { packages, issuedCodes: issued } = info;
  if (packages === 0)
    throw new ProofmarkError("TX_FAILED", `lot ${opts.lot} is not packed; pack it first: one code per package`, {
      lot: opts.lot,
      needsPacking: true,
    });
  if (opts.count > packages - issued) {
    throw new ProofmarkError(
      "TX_FAILED",
      `lot ${opts.lot} has ${packages} packages and ${issued} codes already, so at most ${packages - issued} more can be issued, not ${opts.count}`,
      { lot: opts.lot, packages, issued, requested: opts.count },
    );
  }
  const product = await registry.product(info.product);

  const serials = new Set<string>();
  while (serials.size < opts.count) serials.add(newSerial());
  const entries = [...serials].map((serial) => ({ serial, salt: randomSalt() }));
  const { root } = serialSetCommitment(gtin, lot, entries);

  const sent = await registry.issueCodes(opts.lot, opts.count, root);
  await chain.persist();

  const manifest: CodesManifest = {
    format: CODES_FORMAT,
    version: CODES_VERSION,
    chainId: chain.chainId,
    registry: address.toLowerCase() as Hex,
    lot: opts.lot,
    gtin,
    resolver: buildDigitalLink({ resolver, gtin, lot, serial: "0" }).replace(/\/01\/.*$/, ""),
    commitment: root,
    txHash: sent.txHash,
    blockNumber: sent.blockNumber,
    timestamp: sent.timestamp,
    serials: entries.map((e) => ({ ...e, uri: buildDigitalLink({ resolver, gtin, lot, serial: e.serial }) })),
  };

  // Keep the manifest in the data folder first: the portal needs it to recognise the serials.
  const name = `lot-${opts.lot}-${root.slice(2, 10)}`;
  const dataDirCopy = path.join(codesDir(chain.dataDir), `${chain.chainId}-${name}.codes.json`);
  writeFileAtomic(dataDirCopy, `${JSON.stringify(manifest, null, 2)}\n`);

  const out = path.resolve(opts.outDir);
  const svgDir = path.join(out, "svg");
  const pngDir = opts.png === false ? undefined : path.join(out, "png");
  fs.mkdirSync(svgDir, { recursive: true });
  if (pngDir) fs.mkdirSync(pngDir, { recursive: true });
  const svgs: string[] = [];
  for (let i = 0; i < manifest.serials.length; i++) {
    const s = manifest.serials[i];
    const svg = await QRCode.toString(s.uri, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
    svgs.push(svg);
    fs.writeFileSync(path.join(svgDir, `${s.serial}.svg`), svg);
    if (pngDir)
      await QRCode.toFile(path.join(pngDir, `${s.serial}.png`), s.uri, {
        type: "png",
        errorCorrectionLevel: "M",
        margin: 2,
        width: 400,
      });
    opts.onProgress?.(i + 1, manifest.serials.length);
  }
  const productName = { id: info.product, name: product.name, nameEn: product.nameEn };
  const files = {
    manifest: path.join(out, `${name}.codes.json`),
    csv: path.join(out, `${name}.csv`),
    labels: path.join(out, `${name}.labels.html`),
    svgDir,
    pngDir,
    dataDirCopy,
  };
  writeFileAtomic(files.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileAtomic(files.csv, codesCsv(manifest, productName.nameEn || productName.name));
  writeFileAtomic(
    files.labels,
    labelSheetHtml({ manifest, svgs, productName: productName.name, productNameEn: productName.nameEn }),
  );
  return { manifest, files, issuedTotal: sent.issuedTotal, packages, product: productName };
}
