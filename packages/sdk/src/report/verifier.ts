import { LANGUAGE_TAGS, translator } from "../core/i18n";
import { STANDALONE_VERIFIER_TEXTS } from "./texts/standalone-verifier";
import { sha256 } from "@noble/hashes/sha2";
import { VERIFIER_BUNDLE_JS } from "./verifier-bundle.generated";

const CSS = `
body{font:15px/1.55 system-ui,"Noto Sans SC","PingFang SC","Microsoft YaHei",sans-serif;max-width:820px;margin:2rem auto;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem;margin-bottom:.2rem}.sub{color:#57606a;margin-top:0}
label{display:block;margin:.8rem 0 .2rem;font-weight:600}input[type=text],textarea{width:100%;box-sizing:border-box;font:inherit;padding:.35rem}
textarea{height:5rem;font-family:ui-monospace,monospace;font-size:.8rem}
button{margin-top:1rem;font:inherit;font-weight:600;padding:.45rem 1.4rem;cursor:pointer}
.verdict{margin:1rem 0;padding:.8rem 1rem;border-radius:6px;border:2px solid #d0d7de;font-weight:600}
.verdict.ok{background:#e6f4ea;border-color:#1a7f37;color:#0f5323}.verdict.bad{background:#fde8e8;border-color:#cf222e;color:#82071e}
ol{padding-left:1.2rem}li.ok b{color:#1a7f37}li.bad b{color:#cf222e}.mono{font-family:ui-monospace,monospace;font-size:.78rem;word-break:break-all;color:#333}
.note{color:#57606a;font-size:.88rem}
`;

/**
 * The verification engine for the browser: the esbuild bundle of report/verifier-browser.ts and
 * the SDK core (strict receipt parser, steps, engine, JSON-RPC adapter), built from the same
 * TypeScript source at `npm run build`. Defines the global `ProofmarkVerifier`. The standalone
 * verifier and the portal's verify page both run exactly this code.
 */
export function verifierBundleJs(): string {
  return VERIFIER_BUNDLE_JS;
}

/** A CSP hash source for an inline script's exact text. */
export function cspScriptHash(script: string): string {
  return `'sha256-${btoa(String.fromCharCode(...sha256(new TextEncoder().encode(script))))}'`;
}

/**
 * The standalone verifier: one self-contained HTML page (inline script and style, no network
 * access except JSON-RPC calls to the URL the user types, enforced by its Content-Security-Policy).
 * It hashes the file locally, recomputes leaf and Merkle path, and reads the registry with raw
 * `eth_call` / `eth_getBlockByNumber`.
 *
 * @example
 * fs.writeFileSync("verifier.html", verifierHtml());
 */
/** The page speaks both languages at once: Chinese · English. */
const zh = translator(STANDALONE_VERIFIER_TEXTS, "zh");
const en = translator(STANDALONE_VERIFIER_TEXTS, "en");
const page = (key: keyof typeof STANDALONE_VERIFIER_TEXTS) => `${zh(key)} · ${en(key)}`;

export function verifierHtml(): string {
  const code = `${VERIFIER_BUNDLE_JS}\nProofmarkVerifier.standaloneUi();`;
  return `<!doctype html>
<html lang="${LANGUAGE_TAGS.zh}"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ${cspScriptHash(code)}; style-src 'unsafe-inline'; connect-src http: https:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>${page("pageTitle")}</title><style>${CSS}</style></head>
<body>
<h1>${page("pageTitle")}</h1>
<p class="sub">${zh("privacy")}<br>
${en("privacy")}</p>
<label for="file">1. ${page("fileLabel")}</label><input type="file" id="file">
<label for="receipt">2. ${page("receiptLabel")}</label><input type="file" id="receipt" accept=".json,application/json">
<textarea id="receiptText" placeholder="${page("pasteReceipt")}"></textarea>
<label for="rpc">3. ${page("rpcLabel")}</label>
<input type="text" id="rpc" placeholder="https://… (e.g. http://127.0.0.1:8545)" spellcheck="false">
<button id="verify" type="button">${page("verifyButton")}</button> <span id="progress" class="note"></span>
<div id="verdict" class="verdict" data-status="idle">${page("notCheckedYet")}</div>
<ol id="steps"></ol>
<p class="note">${page("algorithm")}: ${en("algorithmText")}</p>
<script>${code}</script>
</body></html>
`;
}
