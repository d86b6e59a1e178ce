/**
 * The browser side of verification: the standalone verifier page and the portal's verify page.
 * Built into one bundle by esbuild at `npm run build` (scripts/build-verifier.js) from this file
 * and the SDK's core: the same strict receipt parser, the same steps and the same engine as the
 * CLI and the report. Nothing here checks anything itself; it reads files, calls the engine and
 * shows its verdict.
 */
import { sha256 } from "@noble/hashes/sha2";
import { computeLeaf } from "../core/commitment";
import { Verifier, type ChainReader, type VerificationResult } from "../core/engine";
import { isProofmarkError, type ErrorCode } from "../core/errors";
import { toHex } from "../core/hex";
import { translator } from "../core/i18n";
import { formatCstBare, formatPageTime, formatUtc } from "../core/time-format";
import { STANDALONE_STEP_TITLES, STANDALONE_VERIFIER_TEXTS } from "./texts/standalone-verifier";
import { parseAnyReceipt, parseReceipt, RECEIPT_MAX_BYTES, type PendingReceipt, type Receipt } from "../core/receipt";
import { KNOWN_REGISTRY_CODES } from "../core/registry-codes";
import { escapeControlChars } from "../core/text";
import type { Step, VerdictStatus } from "../core/verification";
import { jsonRpcReader } from "../chain/jsonrpc";

/** What a page shows: the engine's verdict, and each step as a line. */
export interface BrowserVerdict {
  status: VerdictStatus;
  code?: ErrorCode;
  message: string;
  steps: Array<{ title: string; ok: boolean; detail: string }>;
  result?: VerificationResult;
  receipt?: Receipt;
  /** Details of a receipt the parser refused. */
  details?: Record<string, unknown>;
}

/** SHA-256 of a Blob in 4 MiB slices (constant memory). */
export async function hashBlob(
  file: Blob,
  onProgress?: (done: number, total: number) => void,
): Promise<{ sha256: string; size: number }> {
  const h = sha256.create();
  const CHUNK = 4 << 20;
  for (let off = 0; off < file.size; off += CHUNK) {
    h.update(new Uint8Array(await file.slice(off, off + CHUNK).arrayBuffer()));
    onProgress?.(Math.min(off + CHUNK, file.size), file.size);
  }
  return { sha256: toHex(h.digest()).slice(2), size: file.size };
}

/** The standalone page speaks both languages at once: English, then Chinese. */
const en = translator(STANDALONE_VERIFIER_TEXTS, "en");
const zh = translator(STANDALONE_VERIFIER_TEXTS, "zh");
const both = (key: keyof typeof STANDALONE_VERIFIER_TEXTS, vars: Record<string, string | number> = {}) =>
  `${en(key, vars)} / ${zh(key, vars)}`;

const stepTitle = (step: Step["step"]) => `${STANDALONE_STEP_TITLES[step].en} / ${STANDALONE_STEP_TITLES[step].zh}`;

function stepLine(s: Step): { title: string; ok: boolean; detail: string } {
  const detail = JSON.stringify(s.detail, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  return {
    title: stepTitle(s.step),
    ok: s.ok,
    detail: [s.unchecked ? `NOT CHECKED: ${s.unchecked}` : "", s.message ?? "", detail].filter(Boolean).join(" — "),
  };
}

/**
 * Parses the receipt strictly, hashes the file, and runs the engine over `readers`. Never throws.
 */
export async function verifyInBrowser(input: {
  file: Blob;
  receipt: Blob | string;
  readers: ChainReader[];
  onProgress?: (done: number, total: number) => void;
}): Promise<BrowserVerdict> {
  let receipt: Receipt | PendingReceipt;
  try {
    if (typeof input.receipt !== "string" && input.receipt.size > RECEIPT_MAX_BYTES) {
      // never read a huge "receipt" into memory: the parser's bound, applied before reading
      parseAnyReceipt(" ".repeat(RECEIPT_MAX_BYTES + 1));
    }
    receipt = parseAnyReceipt(typeof input.receipt === "string" ? input.receipt : await input.receipt.text());
  } catch (e) {
    if (!isProofmarkError(e)) throw e;
    return {
      status: "mismatch",
      code: e.code,
      message: e.message,
      details: e.details,
      steps: [{ title: stepTitle("receipt"), ok: false, detail: e.message }],
    };
  }
  const file = await hashBlob(input.file, input.onProgress);
  const verifier = new Verifier({
    readers: () => input.readers,
    knownRegistries: KNOWN_REGISTRY_CODES,
    // the same engine, but no RFC 3161 check here: said as such, never passed on a weaker check
    timestampsNotChecked:
      "RFC 3161 tokens are not checked in the browser verifier (it has no trusted TSA root certificates); check them with the command-line verifier and the TSA's root certificate",
  });
  const result = await verifier.verify(receipt, file);
  const steps = [
    { title: stepTitle("receipt"), ok: true, detail: `proofmark-receipt v${receipt.version}` },
    ...result.steps.map(stepLine),
  ];
  for (const a of result.anchors) steps.push(...a.steps.map(stepLine));
  for (const t of result.timestamps)
    steps.push({
      title: stepTitle("timestamp"),
      ok: t.ok,
      detail: `${t.ok ? "" : "NOT CHECKED / FAILED: "}${t.message}`,
    });
  for (const a of result.attestations)
    steps.push({ title: `${stepTitle("attestation")} — ${a.role}`, ok: a.ok, detail: a.message });
  return { status: result.status, code: result.code, message: result.message, steps, result, receipt: result.receipt };
}

/** The verdict's headline in both languages (the standalone page). */
export function headline(v: BrowserVerdict): string {
  if (witnessedByTokensOnly(v))
    return both("tokensOnly", { code: v.code ?? "TIMESTAMP_UNTRUSTED", message: v.message });
  switch (v.status) {
    case "verified": {
      const a = v.result!.anchors.find((x) => x.ok) ?? v.result!.anchors[0];
      const unchecked = v.result!.anchors.flatMap((x) => x.unchecked);
      return both("verified", {
        timeUtc: formatUtc(a.anchor.timestamp),
        timeCst: formatCstBare(a.anchor.timestamp),
        blockNumber: a.anchor.blockNumber,
        chainId: a.anchor.chainId,
        confirmations: `${a.confirmations}`,
        notChecked: unchecked.length ? en("notChecked", { items: unchecked.join("; ") }) : "",
      });
    }
    case "not-final":
      return both("notFinal", { message: v.message });
    case "pending":
      return both("pending", { message: v.message });
    case "mismatch":
      return both("mismatch", { code: v.code ?? "", message: v.message });
    case "not-anchored":
      return both("notAnchored", { code: v.code ?? "", message: v.message });
    default:
      return both("unverifiable", { code: v.code ?? "", message: v.message });
  }
}

/**
 * A receipt witnessed by RFC 3161 tokens only (no blockchain anchor): a page checks no token, so it
 * can never say verified; it says why and where to check instead (`proofmark verify --tsa-trust`).
 */
function witnessedByTokensOnly(v: BrowserVerdict): boolean {
  return Boolean(
    v.result && v.result.anchors.length === 0 && v.result.timestamps.length > 0 && v.status !== "mismatch",
  );
}

/** Wires the standalone verifier page (verifier.ts): file, receipt, RPC URL, button, result list. */
export function standaloneUi(): void {
  const $ = (id: string) => document.getElementById(id) as HTMLInputElement & HTMLElement;
  const el = (tag: string, content: string, cls?: string) => {
    const e = document.createElement(tag);
    e.textContent = content;
    if (cls) e.className = cls;
    return e;
  };
  try {
    $("rpc").value = localStorage.getItem("proofmark.rpc") ?? "";
  } catch {
    // storage unavailable
  }
  $("verify").addEventListener("click", async () => {
    const file = $("file").files?.[0];
    const receiptFile = $("receipt").files?.[0];
    const verdict = $("verdict");
    const list = $("steps");
    list.replaceChildren();
    verdict.className = "verdict";
    verdict.removeAttribute("data-code");
    const receiptText = ($("receiptText") as unknown as HTMLTextAreaElement).value;
    if (!file || (!receiptFile && !receiptText.trim())) {
      verdict.textContent = both("chooseFiles");
      verdict.dataset.status = "idle";
      return;
    }
    verdict.dataset.status = "running";
    verdict.textContent = "…";
    const url = $("rpc").value.trim();
    try {
      localStorage.setItem("proofmark.rpc", url);
    } catch {
      // private mode
    }
    let v: BrowserVerdict;
    if (!/^https?:\/\/\S+$/.test(url)) {
      v = {
        status: "unverifiable",
        code: "INVALID_ARGUMENT",
        message: both("enterRpcUrl"),
        steps: [],
      };
    } else {
      v = await verifyInBrowser({
        file,
        receipt: receiptFile ?? receiptText,
        readers: [jsonRpcReader(url)],
        onProgress: (d, t) => {
          $("progress").textContent = `SHA-256: ${Math.floor((100 * d) / Math.max(t, 1))} %`;
        },
      });
    }
    for (const s of v.steps) {
      const li = el("li", "", s.ok ? "ok" : "bad");
      li.append(el("b", `${s.ok ? "✔" : "✘"} ${s.title}`), el("div", escapeControlChars(s.detail), "mono"));
      list.append(li);
    }
    verdict.textContent = escapeControlChars(headline(v));
    if (v.code) verdict.dataset.code = v.code;
    verdict.dataset.status = v.status;
    verdict.className = `verdict ${v.status === "verified" ? "ok" : "bad"}`;
  });
}

/**
 * The portal's adapter: the portal relays a few read-only JSON-RPC methods of its own chain as
 * GET /api/chain/<method>?params=<JSON> (no request carries a body; the file never leaves the device).
 */
export function portalReader(base = ""): ChainReader {
  const url = `${base}/api/chain`;
  return {
    url,
    async request(method, params) {
      const signal = AbortSignal.timeout(15_000);
      let body: { result?: unknown; error?: { message?: string } };
      try {
        const r = await fetch(`${url}/${method}?params=${encodeURIComponent(JSON.stringify(params))}`, {
          headers: { accept: "application/json" },
          signal,
        });
        body = await r.json();
      } catch (e) {
        const err = new Error(`the portal's chain relay ${url} did not answer ${method} (${(e as Error).message})`);
        throw Object.assign(err, {
          code: "RPC_UNREACHABLE",
          details: { url, method },
          [Symbol.for("proofmark.error")]: true,
        });
      }
      if (body.error) {
        const err = new Error(`the portal's chain relay ${url} refused ${method}: ${body.error.message}`);
        throw Object.assign(err, {
          code: "RPC_UNREACHABLE",
          details: { url, method, refused: true },
          [Symbol.for("proofmark.error")]: true,
        });
      }
      return body.result;
    },
  };
}

/** Strings of the portal's verify page, per language (portal/i18n.ts VERIFY_STRINGS). */
export interface PortalVerifyConfig {
  lang: "zh" | "en";
  s: Record<string, string>;
}

/** Wires the portal's verify page (drop a file and its receipt; the portal's chain relay answers the engine). */
export function portalUi(C: PortalVerifyConfig): void {
  const S = C.s;
  let file: File | null = null;
  let receiptFile: File | null = null;
  const $ = (id: string) => document.getElementById(id) as HTMLElement;
  const fmt = (s: string, v: Record<string, unknown>) => s.replace(/\{(\w+)\}/g, (_m, k: string) => String(v[k]));
  const pick = (list: FileList | null) => {
    for (const f of Array.from(list ?? [])) {
      if (/\.proof(\.\d+)?\.json$/.test(f.name)) receiptFile = f;
      else file = f;
    }
    $("file-name").textContent = file ? `${file.name} (${file.size} B)` : "—";
    $("receipt-name").textContent = receiptFile ? receiptFile.name : "—";
  };
  const drop = $("drop");
  $("files").addEventListener("change", (e) => pick((e.target as HTMLInputElement).files));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    pick(e.dataTransfer?.files ?? null);
  });
  const show = (v: BrowserVerdict | null, title: string, lines: string[]) => {
    const ok = v?.status === "verified";
    const box = document.createElement("div");
    box.className = `banner ${ok ? "ok" : "bad"}`;
    box.id = ok ? "verify-ok" : "verify-fail";
    box.dataset.status = v?.status ?? "idle";
    if (v?.code) box.dataset.code = v.code;
    const h = document.createElement("h2");
    h.textContent = `${ok ? "✓ " : "✗ "}${title}`;
    box.appendChild(h);
    for (const line of lines) {
      const p = document.createElement("p");
      p.textContent = escapeControlChars(line);
      box.appendChild(p);
    }
    $("result").replaceChildren(box);
    $("status").textContent = "";
    $("progress").classList.add("hidden");
  };
  $("verify").addEventListener("click", async () => {
    if (!file || !receiptFile) {
      show(null, S.fail, [S.needBoth]);
      return;
    }
    const prog = $("progress") as HTMLProgressElement;
    prog.classList.remove("hidden");
    prog.value = 0;
    $("status").textContent = S.hashing;
    const v = await verifyInBrowser({
      file,
      receipt: receiptFile,
      readers: [portalReader()],
      onProgress: (d, t) => (prog.value = d / Math.max(t, 1)),
    });
    if (v.status === "verified" || v.status === "not-final") {
      const a = v.result!.anchors.find((x) => x.ok) ?? v.result!.anchors[0];
      const time = formatPageTime(C.lang, a.anchor.timestamp);
      const unchecked = v.result!.anchors.flatMap((x) => x.unchecked);
      show(v, v.status === "verified" ? S.ok : S.notFinal, [
        fmt(S.existed, { time, block: a.anchor.blockNumber, conf: a.confirmations }),
        `${S.tx}: ${a.anchor.txHash}`,
        `${S.submitter}: ${a.anchor.submitter}`,
        `${S.sha}: ${v.result!.file!.sha256}`,
        ...unchecked.map((u) => `${S.unchecked}: ${u}`),
      ]);
      return;
    }
    show(v, S.fail, [failureText(v, S), `${v.code}: ${v.message}`]);
  });
}

/** The portal page's words for codes that need no more than the code to explain them. */
const FAILURE_TEXT_BY_CODE: Record<string, string> = {
  RECEIPT_INVALID: "badReceipt",
  RECEIPT_TOO_LARGE: "badReceipt",
  PROOF_INVALID: "leafMismatch",
  ANCHOR_MISMATCH: "anchorMismatch",
  CHAIN_MISMATCH: "otherChain",
  RPC_UNREACHABLE: "unreachable",
  REGISTRY_UNKNOWN: "registryUnknown",
};

/** The portal page's first line for a receipt that did not verify, in its language (`S`). */
function failureText(v: BrowserVerdict, S: Record<string, string>): string {
  if (witnessedByTokensOnly(v)) return S.tokensOnly;
  if (v.status === "pending") return S.pending;
  if (v.code === "DIGEST_MISMATCH")
    return v.result && v.result.file!.size !== v.receipt!.subject.size ? S.sizeChanged : S.fileChanged;
  if (v.code === "RECEIPT_INVALID" && v.details?.reason === "leaf") return S.leafMismatch;
  if (v.code === "RECEIPT_INVALID" && v.details?.reason === "path") return S.pathMismatch;
  if (v.status === "not-anchored") return S.notAnchored;
  return S[FAILURE_TEXT_BY_CODE[v.code ?? ""] ?? "fail"];
}

/** The SDK's own functions, exposed by the bundle for callers and tests (the same code as in Node). */
export { anchorOfCalldata, checkOffline, processProof } from "../core/index.browser";
export { computeLeaf, parseAnyReceipt, parseReceipt };
