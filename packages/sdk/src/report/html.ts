import { escapeHtml } from "../core/html";
import { LANGUAGE_TAGS, translate, type Lang } from "../core/i18n";
import { RENDER_TEXTS } from "./texts/render";
import type { ReportBlock, ReportModel } from "./model";

const CSS = `
body{font:15px/1.55 system-ui,"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:860px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem;margin-top:2rem}
.meta{color:#57606a;font-size:.9rem}
.images{display:flex;gap:1rem;flex-wrap:wrap}.images figure{flex:1;min-width:16rem;margin:0}.images img{max-width:100%;border:1px solid #ccc}
.verdict{padding:.8rem 1rem;border-radius:6px;font-weight:600;border:2px solid}
.verdict.ok{background:#e6f4ea;border-color:#1a7f37;color:#0f5323}.verdict.warn{background:#fde8e8;border-color:#cf222e;color:#82071e}
.verdict.amber{background:#fff4e5;border-color:#bf8700;color:#6b4c00}
p.warn{color:#82071e;font-weight:600}
table{border-collapse:collapse;width:100%;margin:.4rem 0}td{vertical-align:top;padding:.15rem .5rem .15rem 0}td.k{color:#57606a;width:14rem}
.mono,code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.82rem;word-break:break-all}
pre{background:#f6f8fa;padding:.6rem;border-radius:4px;white-space:pre-wrap}
.check{border-left:4px solid #d0d7de;padding-left:.6rem;margin:.6rem 0}.check.pass{border-color:#1a7f37}.check.fail{border-color:#cf222e}
.check b .st{font-size:.8rem;padding:0 .3rem;border-radius:3px;margin-left:.4rem}.pass .st{background:#1a7f37;color:#fff}.fail .st{background:#cf222e;color:#fff}
.caption{color:#57606a;font-size:.9rem;margin:.6rem 0 .1rem}
@media print{body{margin:0}pre{break-inside:avoid}}
`;

/** Base64 of bytes (btoa: the same in Node and a browser). */
function base64(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function rowsHtml(rows: Array<{ label: string; value: string; mono?: boolean }>): string {
  return `<table>${rows.map((r) => `<tr><td class="k">${escapeHtml(r.label)}</td><td${r.mono ? ' class="mono"' : ""}>${escapeHtml(r.value)}</td></tr>`).join("")}</table>`;
}

function blockHtml(b: ReportBlock, lang: Lang): string {
  switch (b.kind) {
    case "para":
      return `<p${b.tone === "warn" ? ' class="warn"' : ""}>${escapeHtml(b.text)}</p>`;
    case "fields":
      return rowsHtml(b.rows);
    case "list":
      return `<ul>${b.items.map((i) => `<li>${escapeHtml(i)}</li>`).join("")}</ul>`;
    case "code":
      return `${b.caption ? `<div class="caption">${escapeHtml(b.caption)}</div>` : ""}<pre>${escapeHtml(b.text)}</pre>`;
    case "images":
      return `<div class="images">${b.items
        .map(
          (i) =>
            `<figure>${i.jpeg ? `<img alt="${escapeHtml(i.caption)}" src="data:image/jpeg;base64,${base64(i.jpeg)}">` : `<p class="warn">${escapeHtml(i.missing ?? "")}</p>`}<figcaption>${escapeHtml(i.caption)}</figcaption></figure>`,
        )
        .join("")}</div>`;
    case "check": {
      const st = b.ok === undefined ? "" : translate(RENDER_TEXTS, lang, b.ok ? "checkPassed" : "checkFailed");
      return `<div class="check ${b.ok === undefined ? "" : b.ok ? "pass" : "fail"}"><b>${escapeHtml(b.title)}${st ? `<span class="st">${st}</span>` : ""}</b>${rowsHtml(b.rows)}</div>`;
    }
  }
}

/**
 * The report as one self-contained HTML page (no scripts, no external resources).
 *
 * @example
 * fs.writeFileSync("report.html", renderReportHtml(buildReportModel(result, { lang: "en" })));
 */
export function renderReportHtml(model: ReportModel): string {
  const tone = model.verdict.passed ? "ok" : model.verdict.status === "not-final" ? "amber" : "warn";
  const [first, ...rest] = model.sections;
  return `<!doctype html>
<html lang="${LANGUAGE_TAGS[model.lang]}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(model.title)} — ${escapeHtml(model.subject.name)}</title><style>${CSS}</style></head>
<body data-verdict="${model.verdict.status}">
<h1>${escapeHtml(model.title)}</h1>
<div class="meta">Proofmark · ${escapeHtml(model.generatedAt)}</div>
<h2>${first.number}. ${escapeHtml(first.title)}</h2>
<div class="verdict ${tone}" id="verdict">${escapeHtml(model.verdict.line)}</div>
${first.blocks
  .slice(1)
  .map((b) => blockHtml(b, model.lang))
  .join("\n")}
${rest.map((s) => `<h2>${s.number}. ${escapeHtml(s.title)}</h2>\n${s.blocks.map((b) => blockHtml(b, model.lang)).join("\n")}`).join("\n")}
<p class="meta">${escapeHtml(model.footer)}</p>
</body></html>
`;
}
