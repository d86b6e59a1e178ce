import type PDFDocumentClass from "pdfkit";
import { translate, type Lang } from "../core/i18n";
import { cjkFontPaths } from "./fonts";
import { RENDER_TEXTS } from "./texts/render";
import type { ReportBlock, ReportModel } from "./model";

type Doc = PDFKit.PDFDocument;

const COLORS = {
  text: "#1b1f24",
  muted: "#57606a",
  ok: "#1a7f37",
  okBg: "#e6f4ea",
  bad: "#cf222e",
  badBg: "#fde8e8",
  amber: "#9a6700",
  amberBg: "#fff4e5",
  codeBg: "#f3f4f6",
  rule: "#d0d7de",
};

/** A new A4 document with the CJK fonts registered as "cjk" / "cjk-bold" (Courier for hex). */
export function newPdf(
  info: { title: string; subject?: string },
  opts: { bufferPages?: boolean; margin?: number } = {},
): Doc {
  const m = opts.margin ?? 50;
  // pdfkit (with fontkit) takes ~0.4 s to load: load it only when a PDF is made, not with the SDK.
  const PDFDocument = require("pdfkit") as typeof PDFDocumentClass;
  const doc = new PDFDocument({
    size: "A4",
    margins: { top: m, bottom: m + 6, left: m, right: m },
    bufferPages: opts.bufferPages ?? false,
    info: {
      Title: info.title,
      ...(info.subject ? { Subject: info.subject } : {}),
      Creator: "Proofmark",
      Producer: "Proofmark (pdfkit)",
      CreationDate: new Date(),
    },
    autoFirstPage: true,
  });
  const fonts = cjkFontPaths();
  doc.registerFont("cjk", fonts.regular);
  doc.registerFont("cjk-bold", fonts.bold);
  doc.font("cjk").fillColor(COLORS.text);
  return doc;
}

/** Collects a finished document into a Buffer. */
export function pdfBuffer(doc: Doc, draw: () => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    doc.on("data", (c: Buffer) => chunks.push(c));
    doc.on("end", () => resolve(Buffer.concat(chunks)));
    doc.on("error", reject);
    try {
      draw();
      doc.end();
    } catch (e) {
      reject(e);
    }
  });
}

/** Courier for plain ASCII (hex, commands); the CJK font for anything else. */
function monoFont(text: string): string {
  return /^[\x20-\x7e\n]*$/.test(text) ? "Courier" : "cjk";
}

class Layout {
  constructor(readonly doc: Doc) {}

  get left(): number {
    return this.doc.page.margins.left;
  }
  get width(): number {
    return this.doc.page.width - this.doc.page.margins.left - this.doc.page.margins.right;
  }
  get bottom(): number {
    return this.doc.page.height - this.doc.page.margins.bottom;
  }

  ensure(height: number): void {
    if (this.doc.y + height > this.bottom) this.doc.addPage();
  }

  heading(text: string): void {
    this.ensure(100); // never a heading alone at the foot of a page
    this.doc
      .moveDown(0.6)
      .font("cjk-bold")
      .fontSize(12.5)
      .fillColor(COLORS.text)
      .text(text, this.left, this.doc.y, { width: this.width });
    const y = this.doc.y + 2;
    this.doc
      .moveTo(this.left, y)
      .lineTo(this.left + this.width, y)
      .lineWidth(0.6)
      .strokeColor(COLORS.rule)
      .stroke();
    this.doc.y = y + 5;
  }

  para(text: string, tone?: "warn" | "ok"): void {
    const color = tone === "warn" ? COLORS.bad : tone === "ok" ? COLORS.ok : COLORS.text;
    this.doc.font(tone ? "cjk-bold" : "cjk").fontSize(9.5);
    this.ensure(
      this.doc.heightOfString(text, { width: this.width }) > 200
        ? 40
        : this.doc.heightOfString(text, { width: this.width }),
    );
    this.doc.fillColor(color).text(text, this.left, this.doc.y, { width: this.width, lineGap: 1.5 });
    this.doc.moveDown(0.35);
  }

  rows(rows: Array<{ label: string; value: string; mono?: boolean }>, indent = 0): void {
    const labelW = 128;
    const x = this.left + indent;
    const valueX = x + labelW + 6;
    const valueW = this.width - indent - labelW - 6;
    for (const r of rows) {
      const vFont = r.mono ? monoFont(r.value) : "cjk";
      const vSize = r.mono ? 8 : 9;
      this.doc.font("cjk").fontSize(8.5);
      const hl = r.label ? this.doc.heightOfString(r.label, { width: labelW }) : 0;
      this.doc.font(vFont).fontSize(vSize);
      const hv = this.doc.heightOfString(r.value, { width: valueW });
      const h = Math.max(hl, hv);
      this.ensure(Math.min(h, 120));
      const y = this.doc.y;
      if (r.label) this.doc.font("cjk").fontSize(8.5).fillColor(COLORS.muted).text(r.label, x, y, { width: labelW });
      this.doc
        .font(vFont)
        .fontSize(vSize)
        .fillColor(COLORS.text)
        .text(r.value, valueX, y + (r.mono ? 1 : 0), { width: valueW });
      this.doc.y = Math.max(this.doc.y, y + h) + 2.5;
    }
    this.doc.x = this.left;
  }

  list(items: string[]): void {
    this.doc.font("cjk").fontSize(9.5);
    for (const item of items) {
      this.ensure(Math.min(this.doc.heightOfString(item, { width: this.width - 14 }), 60));
      const y = this.doc.y;
      this.doc.fillColor(COLORS.text).text("•", this.left + 2, y);
      this.doc.text(item, this.left + 14, y, { width: this.width - 14, lineGap: 1.5 });
      this.doc.moveDown(0.25);
    }
    this.doc.x = this.left;
  }

  code(text: string, caption?: string): void {
    if (caption) {
      this.doc.font("cjk").fontSize(8.5);
      this.ensure(this.doc.heightOfString(caption, { width: this.width }) + 24);
      this.doc.fillColor(COLORS.muted).text(caption, this.left, this.doc.y, { width: this.width });
      this.doc.moveDown(0.15);
    }
    const size = 7.6;
    const pad = 5;
    for (const [i, line] of text.split("\n").entries()) {
      const font = monoFont(line);
      this.doc.font(font).fontSize(size);
      const h = this.doc.heightOfString(line || " ", { width: this.width - 2 * pad }) + 1.5;
      const first = i === 0;
      this.ensure(h + (first ? pad : 0));
      const y = this.doc.y;
      this.doc.rect(this.left, y, this.width, h + (first ? pad : 0)).fill(COLORS.codeBg);
      this.doc
        .fillColor(COLORS.text)
        .font(font)
        .fontSize(size)
        .text(line || " ", this.left + pad, y + (first ? pad : 0) + 0.5, {
          width: this.width - 2 * pad,
          lineBreak: true,
        });
      this.doc.y = y + h + (first ? pad : 0);
    }
    this.doc.rect(this.left, this.doc.y, this.width, pad).fill(COLORS.codeBg);
    this.doc.y += pad + 5;
    this.doc.x = this.left;
    this.doc.fillColor(COLORS.text);
  }

  /** Images side by side, each fitted in its column's 220 pt high box, caption below. */
  images(b: Extract<ReportBlock, { kind: "images" }>): void {
    const gap = 12;
    const n = Math.max(1, b.items.length);
    const w = (this.width - gap * (n - 1)) / n;
    const h = 220;
    this.ensure(h + 30);
    const y = this.doc.y;
    let bottom = y;
    b.items.forEach((item, i) => {
      const x = this.left + i * (w + gap);
      if (item.jpeg) {
        this.doc.image(Buffer.from(item.jpeg), x, y, { fit: [w, h], align: "center", valign: "center" });
        bottom = Math.max(bottom, y + h);
      } else {
        this.doc
          .font("cjk")
          .fontSize(9)
          .fillColor(COLORS.bad)
          .text(item.missing ?? "", x, y, { width: w });
        bottom = Math.max(bottom, this.doc.y);
      }
    });
    let captionBottom = bottom;
    b.items.forEach((item, i) => {
      const x = this.left + i * (w + gap);
      this.doc
        .font("cjk")
        .fontSize(8.5)
        .fillColor(COLORS.muted)
        .text(item.caption, x, bottom + 4, { width: w });
      captionBottom = Math.max(captionBottom, this.doc.y);
    });
    this.doc.y = captionBottom + 6;
    this.doc.x = this.left;
    this.doc.fillColor(COLORS.text);
  }

  check(b: Extract<ReportBlock, { kind: "check" }>, lang: Lang): void {
    const status = b.ok === undefined ? "" : translate(RENDER_TEXTS, lang, b.ok ? "checkPassed" : "checkFailed");
    this.doc.font("cjk-bold").fontSize(9.5);
    this.ensure(40);
    const y = this.doc.y;
    const barColor = b.ok === undefined ? COLORS.rule : b.ok ? COLORS.ok : COLORS.bad;
    this.doc
      .fillColor(COLORS.text)
      .text(`${b.title}${status ? `   [${status}]` : ""}`, this.left + 8, y, { width: this.width - 8 });
    this.rows(b.rows, 8);
    this.doc.rect(this.left, y, 2.5, this.doc.y - y - 2).fill(barColor);
    this.doc.fillColor(COLORS.text);
    this.doc.moveDown(0.3);
  }
}

/**
 * The report as a PDF (A4, Chinese and English text in the embedded Noto Sans Hans subset).
 *
 * @example
 * fs.writeFileSync("report.pdf", await renderReportPdf(buildReportModel(result, { lang: "zh" })));
 */
export function renderReportPdf(model: ReportModel): Promise<Buffer> {
  const doc = newPdf(
    { title: `${model.title} — ${model.subject.name}`, subject: model.verdict.line },
    { bufferPages: true },
  );
  const L = new Layout(doc);
  return pdfBuffer(doc, () => {
    doc.font("cjk-bold").fontSize(18).fillColor(COLORS.text).text(model.title, L.left, doc.y, { width: L.width });
    doc.font("cjk").fontSize(9).fillColor(COLORS.muted).text(`Proofmark · ${model.generatedAt}`, { width: L.width });
    doc.moveDown(0.3);
    for (const s of model.sections) {
      L.heading(`${s.number}. ${s.title}`);
      if (s.number === 1) {
        const tone = model.verdict.passed
          ? [COLORS.ok, COLORS.okBg]
          : model.verdict.status === "not-final"
            ? [COLORS.amber, COLORS.amberBg]
            : [COLORS.bad, COLORS.badBg];
        doc.font("cjk-bold").fontSize(11.5);
        const h = doc.heightOfString(model.verdict.line, { width: L.width - 20 });
        const y = doc.y;
        doc
          .rect(L.left, y, L.width, h + 16)
          .lineWidth(1.5)
          .fillAndStroke(tone[1], tone[0]);
        doc.fillColor(tone[0]).text(model.verdict.line, L.left + 10, y + 8, { width: L.width - 20 });
        doc.y = y + h + 22;
        doc.x = L.left;
      }
      for (const b of s.number === 1 ? s.blocks.slice(1) : s.blocks) {
        if (b.kind === "para") L.para(b.text, b.tone);
        else if (b.kind === "fields") L.rows(b.rows);
        else if (b.kind === "list") L.list(b.items);
        else if (b.kind === "code") L.code(b.text, b.caption);
        else if (b.kind === "images") L.images(b);
        else L.check(b, model.lang);
      }
    }
    const range = doc.bufferedPageRange();
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      const bottom = doc.page.margins.bottom;
      doc.page.margins.bottom = 0;
      const label = model.verdict.passed ? "" : ` · ${translate(RENDER_TEXTS, model.lang, "notVerified")}`;
      doc
        .font("cjk")
        .fontSize(7.5)
        .fillColor(COLORS.muted)
        .text(`${model.footer}${label} · ${i + 1} / ${range.count}`, L.left, doc.page.height - 34, {
          width: L.width,
          align: "center",
          lineBreak: false,
        });
      doc.page.margins.bottom = bottom;
    }
  });
}
