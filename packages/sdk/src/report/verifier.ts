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
export function verifierHtml(): string {
  const code = `${VERIFIER_BUNDLE_JS}\nProofmarkVerifier.standaloneUi();`;
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src ${cspScriptHash(code)}; style-src 'unsafe-inline'; connect-src http: https:; base-uri 'none'; form-action 'none'">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>Proofmark 独立核验 · Standalone verifier</title><style>${CSS}</style></head>
<body>
<h1>Proofmark 独立核验 · Standalone verifier</h1>
<p class="sub">文件只在本机计算哈希，不会上传；本页面只访问您填写的区块链 JSON-RPC 地址。<br>
The file is hashed on this device and never leaves it; this page talks only to the JSON-RPC URL you enter. No Proofmark server is needed.</p>
<label for="file">1. 文件 · File</label><input type="file" id="file">
<label for="receipt">2. 存证凭证 · Receipt (.proof.json)</label><input type="file" id="receipt" accept=".json,application/json">
<textarea id="receiptText" placeholder="…或粘贴凭证 JSON · or paste the receipt JSON"></textarea>
<label for="rpc">3. 区块链 JSON-RPC 地址 · JSON-RPC URL of the receipt's chain</label>
<input type="text" id="rpc" placeholder="https://… (e.g. http://127.0.0.1:8545)" spellcheck="false">
<button id="verify" type="button">核验 · Verify</button> <span id="progress" class="note"></span>
<div id="verdict" class="verdict" data-status="idle">尚未核验 · Not checked yet</div>
<ol id="steps"></ol>
<p class="note">算法 · Algorithm: leaf = keccak256(keccak256(keccak256("proofmark.evidence.leaf.v1") ‖ sha256(file) ‖ salt ‖ keccak256(JSON(meta, keys sorted)))); node = keccak256(min ‖ max); the registry's runtime code must be a known EvidenceRegistry; its anchorOf(bytes32) must return the receipt's submitter, time and block; the block must have the receipt's hash and time; the EvidenceAnchored log of the root (with the receipt's leafCount) must be in that block, from the receipt's transaction.</p>
<script>${code}</script>
</body></html>
`;
}
