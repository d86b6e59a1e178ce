import { escapeHtml } from "../core/html";
import type { CodesManifest } from "./manifest";

/** A serial grouped in fours for reading aloud: "8K2M 4Q9T XV3C 6H1R". */
export function groupSerial(serial: string): string {
  return serial.replace(/(.{4})(?=.)/g, "$1 ");
}

/**
 * A printable A4 label sheet: 3 × 8 labels of 70 × 37 mm per page (the common A4 label stock),
 * each with its QR code, the human-readable serial, the product, lot and GTIN. Self-contained
 * HTML with inline SVG (print from any browser, or "Save as PDF").
 */
export function labelSheetHtml(input: {
  manifest: CodesManifest;
  svgs: string[];
  productName: string;
  productNameEn?: string;
}): string {
  const { manifest } = input;
  const labels = manifest.serials
    .map(
      (s, i) => `<div class="label">
  <div class="qr">${input.svgs[i].replace(/^<\?xml[^>]*>/, "")}</div>
  <div class="text">
    <div class="name">${escapeHtml(input.productName)}</div>
    ${input.productNameEn ? `<div class="name-en">${escapeHtml(input.productNameEn)}</div>` : ""}
    <div class="serial">${escapeHtml(groupSerial(s.serial))}</div>
    <div class="small">LOT ${escapeHtml(manifest.lot)} · GTIN ${escapeHtml(manifest.gtin)}</div>
    <div class="small">扫码验真 · Scan to verify</div>
  </div>
</div>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>Labels — lot ${escapeHtml(manifest.lot)}</title>
<style>
@page { size: A4; margin: 15mm 0 0 0; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; }
.sheet { display: grid; grid-template-columns: repeat(3, 70mm); grid-auto-rows: 37mm; width: 210mm; }
.label { display: flex; align-items: center; gap: 2mm; padding: 2mm 3mm; overflow: hidden; break-inside: avoid; border: 0.1mm dashed #ccc; }
.qr svg { width: 31mm; height: 31mm; display: block; }
.text { min-width: 0; line-height: 1.2; }
.name { font-weight: 700; font-size: 10pt; }
.name-en { font-size: 7pt; }
.serial { font-family: "DejaVu Sans Mono", monospace; font-size: 8.5pt; font-weight: 700; margin: 1mm 0; white-space: nowrap; }
.small { font-size: 6pt; color: #333; }
@media print { .label { border-color: transparent; } }
</style></head>
<body><div class="sheet">
${labels}
</div></body></html>
`;
}
