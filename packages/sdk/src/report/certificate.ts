import { lazyModule } from "../util/lazy";
import { ProofmarkError } from "../core/errors";
import type { Receipt } from "../core/receipt";
import type { VerificationResult } from "../core/engine";
import { chainName } from "./chains";
import { translator } from "../core/i18n";
import { formatCst, formatUtc } from "../core/time-format";
import { CERTIFICATE_TEXTS } from "./texts/certificate";
import { newPdf, pdfBuffer } from "./pdf";

const QRCode = lazyModule<typeof import("qrcode")>("qrcode");

/** A certificate shows both languages at once: Chinese, then English. */
const zh = translator(CERTIFICATE_TEXTS, "zh");
const en = translator(CERTIFICATE_TEXTS, "en");
const both = (key: keyof typeof CERTIFICATE_TEXTS) => `${zh(key)} ${en(key)}`;

/** Base URL of the portal when `<dataDir>/config.json` names no `resolver`. */
const DEFAULT_RESOLVER_URL = "http://127.0.0.1:8080";

/** The portal's base URL from the configuration (`resolver`), or the local default http://127.0.0.1:8080. */
export function resolverBase(config: { resolver?: string }): string {
  return config.resolver ?? DEFAULT_RESOLVER_URL;
}

/**
 * The portal's verify page for a receipt's first anchor: `<resolver>/verify?chain=…&root=…&tx=…`.
 *
 * @example
 * portalVerifyUrl("https://id.example.org", receipt); // "https://id.example.org/verify?chain=1&root=0x…&tx=0x…"
 */
export function portalVerifyUrl(resolver: string, receipt: Receipt): string {
  const a = receipt.anchors[0];
  const base = resolver.replace(/\/+$/, "");
  return `${base}/verify?chain=${a.chainId}&root=${receipt.proof.root}&tx=${a.txHash}`;
}

/** What a certificate shows (bilingual labels; values as recorded). */
export interface CertificateModel {
  title?: string;
  author?: string;
  fileName: string;
  sha256: string;
  size: number;
  anchoredAt: number;
  chainId: number;
  chain: { en: string; zh: string };
  blockNumber: number;
  txHash: string;
  registry: string;
  submitter: string;
  root: string;
  verifyUrl: string;
  confirmations?: number;
}

/**
 * The certificate model from a verification of the receipt against the chain. Refuses (throws
 * the result's code) unless the verification passed: a certificate is never issued for an anchor
 * the chain does not confirm.
 */
export function buildCertificateModel(
  result: VerificationResult,
  opts: { resolver?: string; chainNames?: Record<number, string> } = {},
): CertificateModel {
  if (!result.ok || result.anchors.length === 0 || !result.anchors[0].ok) {
    throw new ProofmarkError(
      result.code ?? "NOT_ANCHORED",
      `no certificate: the receipt did not verify against the chain (${result.message})`,
      { code: result.code },
    );
  }
  const r = result.receipt;
  const a = r.anchors[0];
  const id = a.chainId;
  return {
    title: r.commitment.meta.title,
    author: r.commitment.meta.author,
    fileName: r.subject.name,
    sha256: r.subject.sha256,
    size: r.subject.size ?? 0,
    anchoredAt: a.timestamp,
    chainId: id,
    chain: {
      en: chainName(id, "en", opts.chainNames) ?? en("chainFallback", { chainId: id }),
      zh: chainName(id, "zh", opts.chainNames) ?? zh("chainFallback", { chainId: id }),
    },
    blockNumber: a.blockNumber,
    txHash: a.txHash,
    registry: a.registry,
    submitter: a.submitter,
    root: r.proof.root,
    verifyUrl: portalVerifyUrl(opts.resolver ?? DEFAULT_RESOLVER_URL, r),
    confirmations: result.anchors[0].confirmations,
  };
}

/**
 * A one-page printable certificate (A4 PDF, 简体中文 / English) with a QR code to the portal's
 * verify page.
 *
 * @example
 * const result = await verifyEvidence({ receipt, dataDir });
 * fs.writeFileSync("cert.pdf", await renderCertificatePdf(buildCertificateModel(result, { resolver })));
 */
export function renderCertificatePdf(c: CertificateModel): Promise<Buffer> {
  const doc = newPdf({ title: `${both("documentTitle")} — ${c.fileName}` }, { margin: 56 });
  return pdfBuffer(doc, () => {
    const W = doc.page.width;
    const H = doc.page.height;
    const left = 72;
    const width = W - 2 * left;
    doc
      .rect(28, 28, W - 56, H - 56)
      .lineWidth(2)
      .strokeColor("#1f3a5f")
      .stroke();
    doc
      .rect(34, 34, W - 68, H - 68)
      .lineWidth(0.6)
      .strokeColor("#1f3a5f")
      .stroke();

    doc.font("cjk-bold").fontSize(26).fillColor("#1f3a5f").text(zh("heading"), left, 78, { width, align: "center" });
    doc.font("cjk").fontSize(14).fillColor("#1f3a5f").text(en("heading"), { width, align: "center" });
    doc.moveDown(0.8);
    doc
      .font("cjk")
      .fontSize(10)
      .fillColor("#333333")
      .text(zh("certifies", { time: formatCst(c.anchoredAt, "zh") }), left, doc.y, { width, align: "center" });
    doc.text(en("certifies", { time: formatUtc(c.anchoredAt) }), { width, align: "center" });
    doc.moveDown(1.2);

    const rows: Array<[string, string, boolean?]> = [
      [both("title"), c.title ?? "—"],
      [both("author"), c.author ?? "—"],
      [both("file"), c.fileName],
      [both("size"), `${c.size} ${both("bytes")}`],
      ["SHA-256", c.sha256, true],
      [both("anchored"), `${formatCst(c.anchoredAt, "zh")}\n${formatUtc(c.anchoredAt)}`],
      [both("chain"), `${c.chain.zh} / ${c.chain.en} (chain id ${c.chainId})`],
      [both("block"), `${c.blockNumber}`],
      [both("transaction"), c.txHash, true],
      [both("registry"), c.registry, true],
      [both("submitter"), c.submitter, true],
      [both("root"), c.root, true],
    ];
    const labelW = 118;
    for (const [label, value, mono] of rows) {
      const y = doc.y;
      doc.font("cjk").fontSize(9).fillColor("#57606a").text(label, left, y, { width: labelW });
      doc
        .font(mono ? "Courier" : "cjk")
        .fontSize(mono ? 7.8 : 10)
        .fillColor("#111111")
        .text(value, left + labelW + 8, y + (mono ? 1 : 0), { width: width - labelW - 8 });
      doc.y = Math.max(doc.y, y + 14) + 5;
      doc
        .moveTo(left, doc.y - 3)
        .lineTo(left + width, doc.y - 3)
        .lineWidth(0.3)
        .strokeColor("#d0d7de")
        .stroke();
    }

    // QR code to the portal's verify page, drawn as vector squares.
    const qr = QRCode.create(c.verifyUrl, { errorCorrectionLevel: "M" });
    const n = qr.modules.size;
    const size = 118;
    const cell = size / (n + 8);
    const qx = W - left - size;
    const qy = H - 72 - size - 40;
    doc.rect(qx, qy, size, size).fill("#ffffff");
    for (let r = 0; r < n; r++) {
      for (let col = 0; col < n; col++) {
        if (qr.modules.get(r, col)) doc.rect(qx + (col + 4) * cell, qy + (r + 4) * cell, cell + 0.05, cell + 0.05);
      }
    }
    doc.fill("#000000");
    doc
      .font("cjk")
      .fontSize(8)
      .fillColor("#333333")
      .text(both("scanToVerify"), qx - 20, qy + size + 2, { width: size + 40, align: "center" });

    const noteW = width - size - 24;
    doc.font("cjk").fontSize(7.8).fillColor("#57606a").text(zh("note"), left, qy, { width: noteW, lineGap: 1 });
    doc.moveDown(0.4);
    doc.text(en("note"), { width: noteW, lineGap: 1 });
    doc
      .font("Courier")
      .fontSize(6.5)
      .fillColor("#57606a")
      .text(c.verifyUrl, left, qy + size + 16, { width, lineBreak: true });
  });
}
