import { resultStatus, type AnchorVerdict, type VerificationResult } from "../core/engine";
import type { ErrorCode } from "../core/errors";
import { serializeReceipt, type Receipt, type ReceiptAnchor } from "../core/receipt";
import { statusOfCode, type Step, type VerdictStatus } from "../core/verification";
import { translate, translator, type Lang } from "../core/i18n";
import { formatCst, formatUtc } from "../core/time-format";
import { chainName, isDevelopmentChain } from "./chains";
import { LEGAL_TEXTS } from "./texts/legal";
import { APPENDIX_TEXTS } from "./texts/appendix";
import { CHECK_TEXTS, STEP_TITLES } from "./texts/checks";
import { EVIDENCE_REPORT_TEXTS } from "./texts/evidence-report";
import { REVERIFY_TEXTS } from "./texts/reverify";
import { witnessBlocks } from "./witnesses";
import { WITNESS_REPORT_TEXTS } from "./texts/witnesses";
import {
  ANCHOR_OF_SELECTOR,
  ANCHOR_OF_SIGNATURE,
  anchorOfAnswerWords,
  anchorOfCalldata,
  deriveLeaf,
  deriveMerkleSteps,
} from "./reverify";

/**
 * The verification report as data: a verdict and eight sections, in the order courts read them.
 * Built by one pure function from one {@link VerificationResult}; the HTML and PDF renderers only
 * lay it out. Nothing here decides anything the result did not decide: the verdict is a function
 * of `result.ok`, `result.code` and the anchors' finality alone.
 */

/** The report's language (the one i18n mechanism: core/i18n.ts). */
export type ReportLang = Lang;

export type { VerdictStatus };

export type ReportBlock =
  | { kind: "para"; text: string; tone?: "warn" | "ok" }
  | { kind: "fields"; rows: Array<{ label: string; value: string; mono?: boolean }> }
  | { kind: "list"; items: string[] }
  | { kind: "code"; text: string; caption?: string }
  /** Images side by side (JPEG bytes), each with a caption; `missing` instead of bytes says why there is none. */
  | { kind: "images"; items: Array<{ caption: string; jpeg?: Uint8Array; missing?: string }> }
  | {
      kind: "check";
      title: string;
      ok: boolean | undefined;
      rows: Array<{ label: string; value: string; mono?: boolean }>;
    };

export interface ReportSection {
  number: number;
  title: string;
  blocks: ReportBlock[];
}

export interface ReportModel {
  lang: ReportLang;
  title: string;
  verdict: { status: VerdictStatus; passed: boolean; line: string; detail: string; code?: ErrorCode };
  subject: { name: string; sha256?: string };
  generatedAt: string;
  sections: ReportSection[];
  /** Words for the page footer. */
  footer: string;
}

/** A receipt that could not even be parsed (altered or corrupt): still worth a report that says so. */
export interface RejectedReceipt {
  rejected: true;
  ok: false;
  code: ErrorCode;
  message: string;
  file?: { path?: string; sha256: string; size: number };
  receiptPath?: string;
  checkedAt: string;
}

export interface ReportOptions {
  lang: ReportLang;
  /** File name to show (default: the base name of `result.file.path`, else the receipt's). */
  fileName?: string;
  /** Chain names from the user's configuration, by chain id. */
  chainNames?: Record<number, string>;
  /** Creation time of the report (default: `result.checkedAt`). */
  generatedAt?: string;
}

/**
 * The verdict of a result: the engine's status (core/verification.ts defines the vocabulary and
 * maps codes onto it once), with one rule of the report's own: a report is about a file, so a
 * result without the file's digest never reads "verified".
 */
export function verdictStatus(input: VerificationResult | RejectedReceipt): VerdictStatus {
  if ("rejected" in input) return statusOfCode(input.code);
  const status = resultStatus(input);
  return status === "verified" && !input.file ? "unverifiable" : status;
}

export { formatCst, formatUtc };

function basename(p: string): string {
  return p.split(/[\\/]/).pop() ?? p;
}

/**
 * Builds the report model from a verification result (or a rejected receipt).
 *
 * @example
 * const result = await verifyEvidence({ receipt, file: { path, ...(await hashFile(path)) }, dataDir });
 * const model = buildReportModel(result, { lang: "zh" });
 * fs.writeFileSync("report.html", renderReportHtml(model));
 */
export function buildReportModel(input: VerificationResult | RejectedReceipt, opts: ReportOptions): ReportModel {
  const lang = opts.lang;
  const t = translator(EVIDENCE_REPORT_TEXTS, lang);
  const status = verdictStatus(input);
  const passed = status === "verified";
  const receipt = "rejected" in input ? undefined : input.receipt;
  const file = input.file;
  const name = opts.fileName ?? (file?.path ? basename(file.path) : (receipt?.subject.name ?? "?"));
  const anchorCheck = "rejected" in input ? undefined : input.anchors[0];
  const anchor: ReceiptAnchor | undefined = receipt?.anchors[0];
  const chainLabel = (id: number) => {
    const n = chainName(id, lang, opts.chainNames);
    return n ? `${id} (${n})` : `${id}`;
  };
  const code = input.ok ? undefined : input.code;
  const sdkMessage = input.ok ? "" : input.message;

  // ---- 1. verdict -------------------------------------------------------------------------
  let line: string;
  let detail: string;
  switch (status) {
    case "verified": {
      const a = anchor!;
      const conf = anchorCheck?.confirmations ?? 0;
      line = t("verified", {
        chain: chainLabel(a.chainId),
        timeUtc: formatUtc(a.timestamp),
        timeCst: formatCst(a.timestamp, "zh"),
        blockNumber: a.blockNumber,
        confirmations: t(conf === 1 ? "oneConfirmation" : "confirmationCount", { count: conf }),
      });
      detail = anchorCheck?.final === undefined ? t("finalityNotReported") : t("blockFinal");
      break;
    }
    case "not-final": {
      const a = anchor!;
      line =
        code === "NOT_CONFIRMED"
          ? t("notFinalTooFewConfirmations", { blockNumber: a.blockNumber })
          : t("notFinalBlockNotFinal", {
              chain: chainLabel(a.chainId),
              blockNumber: a.blockNumber,
              confirmations: anchorCheck?.confirmations ?? 0,
            });
      detail = sdkMessage;
      break;
    }
    case "mismatch":
      line =
        code === "DIGEST_MISMATCH"
          ? t("mismatchDigest")
          : code === "RECEIPT_INVALID" || code === "PROOF_INVALID"
            ? t("mismatchReceiptInconsistent")
            : t("mismatchChainRecord");
      detail = sdkMessage;
      break;
    case "not-anchored":
      line = t("notAnchored", { chain: anchor ? chainLabel(anchor.chainId) : "?" });
      detail = sdkMessage;
      break;
    default:
      line =
        code === "CHAIN_MISMATCH"
          ? t("unverifiableOtherChain", { chain: anchor ? chainLabel(anchor.chainId) : "?" })
          : t("unverifiable");
      detail = sdkMessage;
  }

  const sections: ReportSection[] = [];
  const section = (title: string, blocks: ReportBlock[]) =>
    sections.push({ number: sections.length + 1, title, blocks });

  section(t("verdictHeading"), [
    { kind: "para", text: line, tone: passed ? "ok" : "warn" },
    ...(detail ? [{ kind: "para" as const, text: passed ? detail : t("technicalDetail", { detail }) }] : []),
    {
      kind: "fields",
      rows: [
        {
          label: t("checkedAt"),
          value: `${formatUtc((Date.parse(input.checkedAt) / 1000) | 0)} / ${formatCst((Date.parse(input.checkedAt) / 1000) | 0, lang)}`,
        },
        ...(code ? [{ label: t("resultCode"), value: code, mono: true }] : []),
      ],
    },
  ]);

  // ---- 2. subject -------------------------------------------------------------------------
  const digestStep = receipt ? (input as VerificationResult).steps.find((s) => s.step === "digest") : undefined;
  const uncovered = "rejected" in input ? [] : input.uncovered;
  section(t("subjectHeading"), [
    {
      kind: "fields",
      rows: [
        { label: t("fileName"), value: name },
        ...(receipt && receipt.subject.name !== name
          ? [{ label: t("nameInTheReceipt"), value: receipt.subject.name }]
          : []),
        ...(file
          ? [
              { label: t("size"), value: t("sizeBytes", { size: file.size }) },
              { label: t("sha256ComputedNow"), value: file.sha256, mono: true },
            ]
          : [{ label: t("fileLabel"), value: t("fileNotGiven") }]),
        ...(receipt
          ? [
              { label: t("sha256InTheReceipt"), value: receipt.subject.sha256, mono: true },
              // a bare digest (stamp --sha256) has no size
              ...(receipt.subject.size === undefined
                ? []
                : [{ label: t("sizeInTheReceipt"), value: t("sizeBytes", { size: receipt.subject.size }) }]),
            ]
          : []),
        ...(file && receipt ? [{ label: t("sameContent"), value: digestStep?.ok ? t("yes") : t("no") }] : []),
        ...Object.entries(receipt?.commitment.meta ?? {}).map(([k, v]) => ({
          label: t("metadataField", { k }),
          value: v,
        })),
      ],
    },
    ...(uncovered.length
      ? [
          {
            kind: "para" as const,
            text: t("uncoveredFields", { fields: uncovered.map((u) => u.field).join(t("listSeparator")) }),
          },
        ]
      : []),
  ]);

  // ---- 3. time ----------------------------------------------------------------------------
  if (anchor) {
    const confirmedRows = [
      { label: t("existedNoLaterThan"), value: formatUtc(anchor.timestamp) },
      { label: "", value: formatCst(anchor.timestamp, lang) },
      { label: t("block"), value: `${anchor.blockNumber}` },
      { label: t("blockHash"), value: anchor.blockHash, mono: true },
      {
        label: t("confirmationsNow"),
        value: anchorCheck?.confirmations !== undefined ? `${anchorCheck.confirmations}` : t("unknown"),
      },
      {
        label: t("finalOnThatChain"),
        value: anchorCheck?.final === undefined ? t("finalityUnknown") : anchorCheck.final ? t("yes") : t("noNotYet"),
      },
    ];
    section(
      t("timeHeading"),
      passed || status === "not-final"
        ? [
            {
              kind: "para",
              text: t("timeExplained"),
            },
            { kind: "fields", rows: confirmedRows },
          ]
        : [
            {
              kind: "para",
              tone: "warn",
              text: t("timeNotConfirmed"),
            },
            {
              kind: "fields",
              rows: [
                {
                  label: t("claimedTime"),
                  value: `${formatUtc(anchor.timestamp)} / ${formatCst(anchor.timestamp, lang)}`,
                },
                { label: t("claimedBlock"), value: `${anchor.blockNumber}` },
                { label: t("claimedBlockHash"), value: anchor.blockHash, mono: true },
              ],
            },
          ],
    );
  } else {
    section(t("timeHeading"), [
      {
        kind: "para",
        tone: "warn",
        text: t("timeUnknown"),
      },
    ]);
  }

  const witnesses = "rejected" in input ? undefined : witnessBlocks(input, lang);
  if (witnesses) section(translate(WITNESS_REPORT_TEXTS, lang, "heading"), witnesses);

  // ---- 4. where ---------------------------------------------------------------------------
  if (receipt) {
    section(
      t("whereHeading"),
      receipt.anchors.map((a, i): ReportBlock => {
        const ac = "rejected" in input ? undefined : input.anchors[i];
        return {
          kind: "fields",
          rows: [
            { label: t("chain"), value: chainLabel(a.chainId) },
            { label: t("registryContract"), value: a.registry, mono: true },
            {
              label: t("registryCode"),
              value: ac?.registry
                ? ac.registry.known
                  ? t("registryCodeKnown", { known: ac.registry.known, codeHash: ac.registry.codeHash })
                  : t("registryCodePinned", { codeHash: ac.registry.codeHash })
                : t("notRead"),
              mono: false,
            },
            { label: t("transaction"), value: a.txHash, mono: true },
            { label: t("submitter"), value: a.submitter, mono: true },
            {
              label: t("confirmedOnChain"),
              value: ac?.ok ? t("yes") : ac?.code ? t("noWithCode", { code: ac.code }) : t("no"),
            },
            ...(ac?.unchecked.length ? [{ label: t("notChecked"), value: ac.unchecked.join("; ") }] : []),
          ],
        };
      }),
    );
  } else {
    section(t("whereHeading"), [{ kind: "para", tone: "warn", text: t("whereUnknown") }]);
  }

  // ---- 5. how it was checked --------------------------------------------------------------
  const how: ReportBlock[] = [];
  if ("rejected" in input) {
    how.push({
      kind: "check",
      title: t("readingTheReceipt"),
      ok: false,
      rows: [{ label: t("error"), value: `${input.code}: ${input.message}` }],
    });
    if (file)
      how.push({
        kind: "check",
        title: t("digestCheck"),
        ok: undefined,
        rows: [{ label: t("computed"), value: file.sha256, mono: true }],
      });
  } else {
    how.push(...checkBlocks(input, lang));
  }
  section(t("checksHeading"), how);

  // ---- 6. what it establishes (the legal prose is in legal.ts) --------------------------------
  const L = (key: keyof typeof LEGAL_TEXTS, vars: Record<string, string | number> = {}) =>
    translate(LEGAL_TEXTS, lang, key, vars);
  const est: ReportBlock[] = [];
  if (passed) {
    est.push({
      kind: "para",
      text: L("established", {
        sha256: file!.sha256,
        block: anchor!.blockNumber,
        timeUtc: formatUtc(anchor!.timestamp),
        timeCst: formatCst(anchor!.timestamp, "zh"),
      }),
    });
  } else {
    est.push({ kind: "para", tone: "warn", text: L("notEstablished") });
  }
  est.push({
    kind: "list",
    items: [L("notAuthorship"), L("notBeforeAnchoring"), L("notCreationTime"), L("expertExplains")],
  });
  if (anchor && isDevelopmentChain(anchor.chainId)) {
    est.push({ kind: "para", tone: "warn", text: L("developmentChain", { chainId: anchor.chainId }) });
  }
  section(L("heading"), est);

  // ---- 7. re-verify ------------------------------------------------------------------------
  section(
    t("reverifyHeading"),
    receipt
      ? reverifyBlocks(receipt, name, anchorCheck, lang)
      : [
          {
            kind: "para",
            text: t("nothingToReverify"),
          },
        ],
  );

  // ---- 8. appendix ------------------------------------------------------------------------
  section(t("appendixHeading"), appendixBlocks(receipt, lang));

  return {
    lang,
    title: t("reportTitle"),
    verdict: { status, passed, line, detail, code },
    subject: { name, sha256: file?.sha256 },
    generatedAt: opts.generatedAt ?? input.checkedAt,
    sections,
    footer: t("reportFooter", { name }),
  };
}

function checkBlocks(result: VerificationResult, lang: ReportLang): ReportBlock[] {
  const t = translator(CHECK_TEXTS, lang);
  const r = result.receipt;
  const blocks: ReportBlock[] = [];
  const step = (name: string) => result.steps.find((s) => s.step === name);
  const digest = step("digest");
  if (result.file) {
    blocks.push({
      kind: "check",
      title: t("digestCheck"),
      ok: digest?.ok,
      rows: [
        { label: t("computedNow"), value: `${result.file.sha256} (${result.file.size} B)`, mono: true },
        { label: t("inTheReceipt"), value: `${r.subject.sha256} (${r.subject.size} B)`, mono: true },
      ],
    });
  }
  const leafStep = step("leaf");
  const d = deriveLeaf({
    sha256: result.file?.sha256 ?? r.subject.sha256,
    salt: r.commitment.salt,
    meta: r.commitment.meta,
  });
  if (leafStep || !result.file) {
    blocks.push({
      kind: "check",
      title: t("leafCheck"),
      ok: d.leaf === r.commitment.leaf,
      rows: [
        { label: t("metadataJson"), value: d.metaJson, mono: true },
        { label: "metaDigest", value: d.metaDigest, mono: true },
        { label: "salt", value: r.commitment.salt, mono: true },
        { label: t("leafComputed"), value: d.leaf, mono: true },
        { label: t("leafInTheReceipt"), value: r.commitment.leaf, mono: true },
      ],
    });
    const steps = deriveMerkleSteps(d.leaf, r.proof.path);
    steps.forEach((s, i) =>
      blocks.push({
        kind: "check",
        title: t("merkleStep", { step: i + 1, steps: steps.length }),
        ok: true,
        rows: [
          { label: t("node"), value: s.node, mono: true },
          { label: t("sibling"), value: s.sibling, mono: true },
          { label: "keccak256(min ‖ max)", value: s.output, mono: true },
        ],
      }),
    );
    if (steps.length === 0)
      blocks.push({
        kind: "para",
        text: t("merklePathEmpty"),
      });
    const computedRoot = steps.length ? steps[steps.length - 1].output : d.leaf;
    blocks.push({
      kind: "check",
      title: t("rootCheck"),
      ok: computedRoot === r.proof.root,
      rows: [
        { label: t("computed"), value: computedRoot, mono: true },
        { label: t("inTheReceipt"), value: r.proof.root, mono: true },
      ],
    });
  } else if (digest && !digest.ok) {
    blocks.push({
      kind: "para",
      tone: "warn",
      text: t("digestDiffersChainNotChecked"),
    });
  }
  result.anchors.forEach((a: AnchorVerdict, i) => {
    blocks.push({
      kind: "check",
      title: t("onChainReads", { anchorNumber: i + 1, chainId: a.anchor.chainId, registry: a.anchor.registry }),
      ok: a.ok,
      rows: [
        {
          label: t("expectedReceipt"),
          value: t("expectedAnchor", {
            submitter: a.anchor.submitter,
            timestamp: a.anchor.timestamp,
            blockNumber: a.anchor.blockNumber,
            blockHash: a.anchor.blockHash,
            txHash: a.anchor.txHash,
          }),
          mono: true,
        },
        { label: t("rpcEndpoints"), value: a.endpoints.join(", ") || t("none") },
        ...(a.confirmations !== undefined ? [{ label: t("confirmations"), value: `${a.confirmations}` }] : []),
        ...(a.code ? [{ label: t("result"), value: `${a.code}: ${a.message}` }] : []),
      ],
    });
    a.steps
      .filter((s) => !["digest", "leaf", "path"].includes(s.step))
      .forEach((s) =>
        blocks.push({
          kind: "check",
          title: stepTitle(s, lang),
          ok: s.unchecked ? undefined : s.ok,
          rows: stepRows(s, lang),
        }),
      );
    const failedStep = a.steps.find((s) => !s.ok);
    const named = (url: string) =>
      Boolean(
        failedStep &&
        (failedStep.detail.url === url ||
          (Array.isArray(failedStep.detail.endpoints) && failedStep.detail.endpoints.includes(url))),
      );
    a.endpoints.forEach((url) =>
      blocks.push({
        kind: "check",
        title: t("rpcEndpoint", { url }),
        ok: named(url) ? false : a.ok ? true : undefined,
        rows: [
          {
            label: t("asked"),
            value:
              "eth_chainId, eth_getCode, eth_call anchorOf, eth_getBlockByNumber, eth_getLogs, eth_blockNumber, finalized",
            mono: true,
          },
          ...(named(url) ? [{ label: t("result"), value: `${failedStep!.code}: ${failedStep!.message}` }] : []),
        ],
      }),
    );
    if (a.endpoints.length > 1)
      blocks.push({
        kind: "para",
        text: t(a.code === "RPC_DISAGREEMENT" ? "endpointsDisagree" : "endpointsAgree", {
          endpoints: a.endpoints.length,
        }),
      });
    if (a.endpoints.length === 1)
      blocks.push({
        kind: "para",
        text: t("oneEndpoint"),
      });
  });
  return blocks;
}

function stepTitle(s: Step, lang: ReportLang): string {
  return STEP_TITLES[s.step][lang];
}

function stepRows(s: Step, lang: ReportLang): Array<{ label: string; value: string; mono?: boolean }> {
  const t = translator(CHECK_TEXTS, lang);
  const rows: Array<{ label: string; value: string; mono?: boolean }> = [];
  const d = s.detail;
  const val = (v: unknown) =>
    typeof v === "object" ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) : String(v);
  for (const [k, v] of Object.entries(d)) {
    if (v === undefined || k === "refused") continue;
    rows.push({ label: k, value: val(v), mono: true });
  }
  if (s.unchecked) rows.push({ label: t("notChecked"), value: s.unchecked });
  if (s.code) rows.push({ label: t("error"), value: `${s.code}: ${s.message}` });
  return rows;
}

function reverifyBlocks(r: Receipt, fileName: string, ac: AnchorVerdict | undefined, lang: ReportLang): ReportBlock[] {
  const t = translator(REVERIFY_TEXTS, lang);
  const a = r.anchors[0];
  const rpc = ac?.endpoints[0] ?? "<RPC URL>";
  const d = deriveLeaf({ sha256: r.subject.sha256, salt: r.commitment.salt, meta: r.commitment.meta });
  const steps = deriveMerkleSteps(d.leaf, r.proof.path);
  const calldata = anchorOfCalldata(r.proof.root);
  const words = anchorOfAnswerWords({ submitter: a.submitter, anchoredAt: a.timestamp, blockNumber: a.blockNumber });
  const rpcCall = (method: string, params: string) =>
    `curl -s -H 'content-type: application/json' --data @- "$RPC" <<'EOF'\n{"jsonrpc": "2.0", "id": 1, "method": "${method}",\n ${params}}\nEOF`;
  const blocks: ReportBlock[] = [
    {
      kind: "para",
      text: t("algorithm"),
    },
    {
      kind: "para",
      text: t("keccakIsNotSha3"),
    },
    {
      kind: "code",
      caption: t("step1Digest"),
      text: `sha256sum '${fileName.replace(/'/g, "'\\''")}'\n# ${r.subject.sha256}\nstat -c %s '${fileName.replace(/'/g, "'\\''")}'\n# ${r.subject.size}`,
    },
    {
      kind: "code",
      caption: t("step2MetaDigest"),
      text: `cast keccak '${d.metaJson.replace(/'/g, "'\\''")}'\n# ${d.metaDigest}`,
    },
    {
      kind: "code",
      caption: t("step3Leaf"),
      text: `cast keccak 0x${d.domain.slice(2)}\\\n${r.subject.sha256}\\\n${r.commitment.salt.slice(2)}\\\n${d.metaDigest.slice(2)}\n# ${d.inner}\ncast keccak ${d.inner}\n# ${d.leaf}   (= commitment.leaf)`,
    },
  ];
  steps.forEach((s, i) =>
    blocks.push({
      kind: "code",
      caption: t("step4MerkleStep", { step: i + 1 }),
      text: `cast keccak 0x${s.input.slice(2, 66)}\\\n${s.input.slice(66)}\n# ${s.output}`,
    }),
  );
  if (steps.length === 0)
    blocks.push({
      kind: "para",
      text: t("step4PathEmpty"),
    });
  blocks.push(
    {
      kind: "para",
      text: t("step5AskTheChain", { root: r.proof.root, chainId: a.chainId }),
    },
    {
      kind: "code",
      caption: t("chainIdCall"),
      text: `RPC=${rpc}\n${rpcCall("eth_chainId", `"params": []`)}\n# "result": "0x${a.chainId.toString(16)}"   (= ${a.chainId})`,
    },
    {
      kind: "code",
      caption: t("anchorOfCall", { ANCHOR_OF_SIGNATURE, ANCHOR_OF_SELECTOR }),
      text: `${rpcCall("eth_call", `"params": [{"to": "${a.registry}",\n  "data": "${calldata}"},\n  "latest"]`)}\n# "result": "0x" followed by three 32-byte words:\n# ${words[0]}\n# ${words[1]}\n# ${words[2]}`,
    },
    {
      kind: "list",
      items: [
        t("word1Submitter", { submitter: a.submitter }),
        t("word2AnchoredAt", {
          toString: a.timestamp.toString(16),
          timestamp: a.timestamp,
          timeUtc: formatUtc(a.timestamp),
        }),
        t("word3BlockNumber", { toString: a.blockNumber.toString(16), blockNumber: a.blockNumber }),
      ],
    },
    {
      kind: "code",
      caption: t("blockCall"),
      text: `${rpcCall("eth_getBlockByNumber", `"params": ["0x${a.blockNumber.toString(16)}", false]`)}\n# "hash": "${a.blockHash}"\n# "timestamp": "0x${a.timestamp.toString(16)}"`,
    },
    {
      kind: "code",
      caption: t("finalityCalls"),
      text: `${rpcCall("eth_getBlockByNumber", `"params": ["finalized", false]`)}\n# final when its "number" >= 0x${a.blockNumber.toString(16)}\n${rpcCall("eth_blockNumber", `"params": []`)}\n# confirmations = result - ${a.blockNumber} + 1`,
    },
    {
      kind: "para",
      text: t("contractVerifyAndTx", { timestamp: a.timestamp, txHash: a.txHash }),
    },
  );
  return blocks;
}

function appendixBlocks(r: Receipt | undefined, lang: ReportLang): ReportBlock[] {
  const t = translator(APPENDIX_TEXTS, lang);
  const blocks: ReportBlock[] = [
    {
      kind: "para",
      text: t("registryContract"),
    },
    {
      kind: "list",
      items: [t("anchorFunction"), t("anchorOfFunction"), t("verifyFunction"), t("versionFunction")],
    },
    { kind: "para", text: t("hashConstructions") },
    {
      kind: "code",
      text: [
        'LEAF_DOMAIN = keccak256(utf8("proofmark.evidence.leaf.v1"))',
        "metaDigest  = keccak256(utf8(JSON of meta, keys sorted, no white space))",
        "leaf        = keccak256(keccak256(LEAF_DOMAIN ‖ sha256 ‖ salt ‖ metaDigest))   (128 bytes inside)",
        "node        = keccak256(min(a, b) ‖ max(a, b))                                 (64 bytes, sorted pair)",
        "root        = the last node of the path (OpenZeppelin MerkleProof compatible)",
      ].join("\n"),
    },
    {
      kind: "list",
      items: [t("secondPreimage"), t("saltPrivacy"), t("manyFilesOneTx")],
    },
    {
      kind: "para",
      text: t("receiptFormat"),
    },
  ];
  if (r) {
    const { encryption: _omit, ...shown } = r;
    blocks.push({
      kind: "code",
      caption: t("receiptChecked"),
      text: serializeReceipt(shown as Receipt).trimEnd(),
    });
  }
  return blocks;
}
