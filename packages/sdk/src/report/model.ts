import { resultStatus, type AnchorVerdict, type VerificationResult } from "../core/engine";
import type { ErrorCode } from "../core/errors";
import { serializeReceipt, type Receipt, type ReceiptAnchor } from "../core/receipt";
import { statusOfCode, type Step, type VerdictStatus } from "../core/verification";
import { bilingual, translate, type Lang } from "../core/i18n";
import { chainName, isDevelopmentChain } from "./chains";
import { LEGAL_TEXTS } from "./legal";
import { witnessBlocks } from "./witnesses";
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

/** `2025-01-31 16:00:00 UTC` */
export function formatUtc(unixSeconds: number): string {
  return `${new Date(unixSeconds * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "")} UTC`;
}

/** `2025-02-01 00:00:00` in China Standard Time (UTC+8, no daylight saving). */
export function formatCst(unixSeconds: number, lang: ReportLang): string {
  const s = new Date((unixSeconds + 8 * 3600) * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");
  return lang === "zh" ? `${s}（北京时间，UTC+8）` : `${s} China Standard Time (UTC+8)`;
}

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
  const T = bilingual(lang);
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
      line = T(
        `VERIFIED — the file matches the receipt, and the receipt's root is anchored on chain ${chainLabel(a.chainId)}: the file existed no later than ${formatUtc(a.timestamp)} (block ${a.blockNumber}, ${conf} confirmation${conf === 1 ? "" : "s"}).`,
        `核验通过 — 文件与存证凭证一致，凭证的根哈希已锚定在链 ${chainLabel(a.chainId)} 上：该文件不晚于 ${formatCst(a.timestamp, "zh")} 已经存在（区块 ${a.blockNumber}，${conf} 个确认）。`,
      );
      detail =
        anchorCheck?.final === undefined
          ? T(
              "The RPC endpoint does not report finality; the number of confirmations is the measure of how settled the block is.",
              "该 RPC 节点不提供最终性信息；以确认数衡量区块的稳定程度。",
            )
          : T("The anchoring block is final on that chain.", "锚定区块在该链上已最终确定。");
      break;
    }
    case "not-final": {
      const a = anchor!;
      line =
        code === "NOT_CONFIRMED"
          ? T(
              `NOT YET FINAL — not verified: the anchor in block ${a.blockNumber} does not have the required confirmations yet. Verify again later.`,
              `尚未最终确定 — 未通过核验：区块 ${a.blockNumber} 中的锚定记录尚未达到所需确认数，请稍后重新核验。`,
            )
          : T(
              `NOT YET FINAL — not verified: the file matches the receipt and the root is on chain ${chainLabel(a.chainId)}, but block ${a.blockNumber} is not final yet (${anchorCheck?.confirmations ?? 0} confirmations). Verify again once it is final.`,
              `尚未最终确定 — 未通过核验：文件与凭证一致，根哈希已写入链 ${chainLabel(a.chainId)}，但区块 ${a.blockNumber} 尚未最终确定（当前 ${anchorCheck?.confirmations ?? 0} 个确认）。请在其最终确定后重新核验。`,
            );
      detail = sdkMessage;
      break;
    }
    case "mismatch":
      line =
        code === "DIGEST_MISMATCH"
          ? T(
              "DOES NOT MATCH — not verified: the file is not the file that was stamped (its SHA-256 differs from the receipt's). It was changed after stamping, or the receipt belongs to another file.",
              "不一致 — 未通过核验：该文件不是当初存证的文件（其 SHA-256 与凭证不同）。文件在存证后被修改过，或凭证属于另一个文件。",
            )
          : code === "RECEIPT_INVALID" || code === "PROOF_INVALID"
            ? T(
                "DOES NOT MATCH — not verified: the receipt is not internally consistent (it was altered or corrupted); it proves nothing about this file.",
                "不一致 — 未通过核验：存证凭证内部不自洽（被篡改或已损坏），不能证明该文件的任何情况。",
              )
            : T(
                "DOES NOT MATCH — not verified: what the chain records differs from what the receipt says (the receipt's anchor was altered, or the RPC endpoints disagree).",
                "不一致 — 未通过核验：链上记录与凭证所述不符（凭证中的锚定信息被篡改，或各 RPC 节点的回答不一致）。",
              );
      detail = sdkMessage;
      break;
    case "not-anchored":
      line = T(
        `NOT ANCHORED — not verified: the receipt's root is not recorded in the registry on chain ${anchor ? chainLabel(anchor.chainId) : "?"}.`,
        `未锚定 — 未通过核验：凭证的根哈希未记录在链 ${anchor ? chainLabel(anchor.chainId) : "?"} 的存证合约中。`,
      );
      detail = sdkMessage;
      break;
    default:
      line =
        code === "CHAIN_MISMATCH"
          ? T(
              `NOT VERIFIED — the receipt was anchored on chain ${anchor ? chainLabel(anchor.chainId) : "?"}, but the RPC endpoint used serves another chain; nothing was checked against the receipt's chain.`,
              `未能核验 — 凭证锚定在链 ${anchor ? chainLabel(anchor.chainId) : "?"} 上，而所用 RPC 节点属于另一条链；未对凭证所指的链做任何核验。`,
            )
          : T(
              "NOT VERIFIED — the verification could not be completed; nothing in this report is confirmed.",
              "未能核验 — 核验未能完成；本报告中的任何内容均未得到确认。",
            );
      detail = sdkMessage;
  }

  const sections: ReportSection[] = [];
  const section = (title: string, blocks: ReportBlock[]) =>
    sections.push({ number: sections.length + 1, title, blocks });

  section(T("Verdict", "核验结论"), [
    { kind: "para", text: line, tone: passed ? "ok" : "warn" },
    ...(detail ? [{ kind: "para" as const, text: lang === "zh" && !passed ? `技术信息：${detail}` : detail }] : []),
    {
      kind: "fields",
      rows: [
        {
          label: T("Checked at", "核验时间"),
          value: `${formatUtc((Date.parse(input.checkedAt) / 1000) | 0)} / ${formatCst((Date.parse(input.checkedAt) / 1000) | 0, lang)}`,
        },
        ...(code ? [{ label: T("Result code", "结果代码"), value: code, mono: true }] : []),
      ],
    },
  ]);

  // ---- 2. subject -------------------------------------------------------------------------
  const digestStep = receipt ? (input as VerificationResult).steps.find((s) => s.step === "digest") : undefined;
  const uncovered = "rejected" in input ? [] : input.uncovered;
  section(T("Subject", "核验对象"), [
    {
      kind: "fields",
      rows: [
        { label: T("File name", "文件名"), value: name },
        ...(receipt && receipt.subject.name !== name
          ? [{ label: T("Name in the receipt", "凭证中的文件名"), value: receipt.subject.name }]
          : []),
        ...(file
          ? [
              { label: T("Size", "大小"), value: T(`${file.size} bytes`, `${file.size} 字节`) },
              { label: T("SHA-256 (computed now)", "SHA-256（本次计算）"), value: file.sha256, mono: true },
            ]
          : [
              { label: T("File", "文件"), value: T("not given: only the receipt was checked", "未提供：仅核验了凭证") },
            ]),
        ...(receipt
          ? [
              { label: T("SHA-256 in the receipt", "凭证记录的 SHA-256"), value: receipt.subject.sha256, mono: true },
              {
                label: T("Size in the receipt", "凭证记录的大小"),
                value: T(`${receipt.subject.size} bytes`, `${receipt.subject.size} 字节`),
              },
            ]
          : []),
        ...(file && receipt
          ? [{ label: T("Same content", "内容一致"), value: digestStep?.ok ? T("yes", "是") : T("NO", "否") }]
          : []),
        ...Object.entries(receipt?.commitment.meta ?? {}).map(([k, v]) => ({
          label: T(`Metadata "${k}"`, `元数据“${k}”`),
          value: v,
        })),
      ],
    },
    ...(uncovered.length
      ? [
          {
            kind: "para" as const,
            text: T(
              `Not covered by the commitment (anyone holding the receipt could change these; they are claims, not evidence): ${uncovered.map((u) => u.field).join(", ")}. The size is checked against the file; the name is not checked at all.`,
              `以下字段不在承诺值覆盖范围内（持有凭证者可以改动，属于自述而非证据）：${uncovered.map((u) => u.field).join("、")}。大小已与文件比对；文件名未做任何核验。`,
            ),
          },
        ]
      : []),
  ]);

  // ---- 3. time ----------------------------------------------------------------------------
  if (anchor) {
    const confirmedRows = [
      { label: T("Existed no later than", "不晚于此时间已存在"), value: formatUtc(anchor.timestamp) },
      { label: "", value: formatCst(anchor.timestamp, lang) },
      { label: T("Block", "区块"), value: `${anchor.blockNumber}` },
      { label: T("Block hash", "区块哈希"), value: anchor.blockHash, mono: true },
      {
        label: T("Confirmations now", "当前确认数"),
        value: anchorCheck?.confirmations !== undefined ? `${anchorCheck.confirmations}` : T("unknown", "未知"),
      },
      {
        label: T("Final on that chain", "是否已最终确定"),
        value:
          anchorCheck?.final === undefined
            ? T("unknown (the endpoint does not report finality)", "未知（节点不提供最终性信息）")
            : anchorCheck.final
              ? T("yes", "是")
              : T("no, not yet", "否，尚未"),
      },
    ];
    section(
      T("Time of storage", "存证时间"),
      passed || status === "not-final"
        ? [
            {
              kind: "para",
              text: T(
                "The chain proves when the commitment was written, not when the file was made: the file existed no later than the time of this block.",
                "区块链证明的是承诺值写入的时间，而不是文件创作的时间：该文件不晚于此区块的时间已经存在。",
              ),
            },
            { kind: "fields", rows: confirmedRows },
          ]
        : [
            {
              kind: "para",
              tone: "warn",
              text: T(
                "NOT CONFIRMED. The receipt claims the following; the verification did not confirm it, so no time of storage is established.",
                "未经确认。以下为凭证自述内容，核验未能确认，因此不能据此认定存证时间。",
              ),
            },
            {
              kind: "fields",
              rows: [
                {
                  label: T("Claimed time", "凭证所称时间"),
                  value: `${formatUtc(anchor.timestamp)} / ${formatCst(anchor.timestamp, lang)}`,
                },
                { label: T("Claimed block", "凭证所称区块"), value: `${anchor.blockNumber}` },
                { label: T("Claimed block hash", "凭证所称区块哈希"), value: anchor.blockHash, mono: true },
              ],
            },
          ],
    );
  } else {
    section(T("Time of storage", "存证时间"), [
      {
        kind: "para",
        tone: "warn",
        text: T(
          "Unknown: the receipt could not be read, so it establishes no time.",
          "未知：凭证无法读取，不能证明任何时间。",
        ),
      },
    ]);
  }

  const witnesses = "rejected" in input ? undefined : witnessBlocks(input, lang);
  if (witnesses) section(T("Independent witnesses and clocks", "独立见证与时钟"), witnesses);

  // ---- 4. where ---------------------------------------------------------------------------
  if (receipt) {
    section(
      T("Where", "存证位置"),
      receipt.anchors.map((a, i): ReportBlock => {
        const ac = "rejected" in input ? undefined : input.anchors[i];
        return {
          kind: "fields",
          rows: [
            { label: T("Chain", "链"), value: chainLabel(a.chainId) },
            { label: T("Registry contract", "存证合约"), value: a.registry, mono: true },
            {
              label: T("Registry code", "合约代码"),
              value: ac?.registry
                ? ac.registry.known
                  ? T(
                      `${ac.registry.known} (runtime code hash ${ac.registry.codeHash}, known to Proofmark)`,
                      `${ac.registry.known}（运行时代码哈希 ${ac.registry.codeHash}，Proofmark 已知）`,
                    )
                  : T(
                      `UNKNOWN code ${ac.registry.codeHash}, trusted only because the user pinned this address`,
                      `未知代码 ${ac.registry.codeHash}，仅因用户指定信任该地址而接受`,
                    )
                : T("not read", "未读取"),
              mono: false,
            },
            { label: T("Transaction", "交易哈希"), value: a.txHash, mono: true },
            { label: T("Submitter", "提交地址"), value: a.submitter, mono: true },
            {
              label: T("Confirmed on chain", "链上已确认"),
              value: ac?.ok
                ? T("yes", "是")
                : T(`NO${ac?.code ? ` — ${ac.code}` : ""}`, `否${ac?.code ? ` — ${ac.code}` : ""}`),
            },
            ...(ac?.unchecked.length ? [{ label: T("Not checked", "未核验"), value: ac.unchecked.join("; ") }] : []),
          ],
        };
      }),
    );
  } else {
    section(T("Where", "存证位置"), [
      { kind: "para", tone: "warn", text: T("Unknown: the receipt could not be read.", "未知：凭证无法读取。") },
    ]);
  }

  // ---- 5. how it was checked --------------------------------------------------------------
  const how: ReportBlock[] = [];
  if ("rejected" in input) {
    how.push({
      kind: "check",
      title: T("Reading the receipt", "读取凭证"),
      ok: false,
      rows: [{ label: T("Error", "错误"), value: `${input.code}: ${input.message}` }],
    });
    if (file)
      how.push({
        kind: "check",
        title: T("SHA-256 of the file", "文件的 SHA-256"),
        ok: undefined,
        rows: [{ label: T("computed", "计算值"), value: file.sha256, mono: true }],
      });
  } else {
    how.push(...checkBlocks(input, lang));
  }
  section(T("How it was checked", "核验过程"), how);

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
    T("How to re-verify independently", "独立复核方法"),
    receipt
      ? reverifyBlocks(receipt, name, anchorCheck, lang)
      : [
          {
            kind: "para",
            text: T(
              "The receipt could not be read, so there is nothing to re-verify. Ask for the original receipt (the .proof.json file).",
              "凭证无法读取，因而无从复核。请索取原始凭证（.proof.json 文件）。",
            ),
          },
        ],
  );

  // ---- 8. appendix ------------------------------------------------------------------------
  section(T("Technical appendix", "技术附录"), appendixBlocks(receipt, lang));

  return {
    lang,
    title: T("Evidence verification report", "电子数据存证核验报告"),
    verdict: { status, passed, line, detail, code },
    subject: { name, sha256: file?.sha256 },
    generatedAt: opts.generatedAt ?? input.checkedAt,
    sections,
    footer: T(`Proofmark verification report · ${name}`, `Proofmark 核验报告 · ${name}`),
  };
}

function checkBlocks(result: VerificationResult, lang: ReportLang): ReportBlock[] {
  const T = bilingual(lang);
  const r = result.receipt;
  const blocks: ReportBlock[] = [];
  const step = (name: string) => result.steps.find((s) => s.step === name);
  const digest = step("digest");
  if (result.file) {
    blocks.push({
      kind: "check",
      title: T("1. SHA-256 of the file, compared with the receipt", "1. 计算文件的 SHA-256 并与凭证比对"),
      ok: digest?.ok,
      rows: [
        { label: T("computed now", "本次计算"), value: `${result.file.sha256} (${result.file.size} B)`, mono: true },
        { label: T("in the receipt", "凭证记录"), value: `${r.subject.sha256} (${r.subject.size} B)`, mono: true },
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
      title: T("2. Leaf from the digest, the salt and the metadata", "2. 由摘要、盐值和元数据计算叶子"),
      ok: d.leaf === r.commitment.leaf,
      rows: [
        { label: T("metadata JSON", "元数据 JSON"), value: d.metaJson, mono: true },
        { label: "metaDigest", value: d.metaDigest, mono: true },
        { label: "salt", value: r.commitment.salt, mono: true },
        { label: T("leaf computed", "计算所得叶子"), value: d.leaf, mono: true },
        { label: T("leaf in the receipt", "凭证中的叶子"), value: r.commitment.leaf, mono: true },
      ],
    });
    const steps = deriveMerkleSteps(d.leaf, r.proof.path);
    steps.forEach((s, i) =>
      blocks.push({
        kind: "check",
        title: T(
          `3.${i + 1}. Merkle step ${i + 1} of ${steps.length}`,
          `3.${i + 1}. 默克尔路径第 ${i + 1} 步（共 ${steps.length} 步）`,
        ),
        ok: true,
        rows: [
          { label: T("node", "节点"), value: s.node, mono: true },
          { label: T("sibling", "兄弟节点"), value: s.sibling, mono: true },
          { label: "keccak256(min ‖ max)", value: s.output, mono: true },
        ],
      }),
    );
    if (steps.length === 0)
      blocks.push({
        kind: "para",
        text: T(
          "3. The Merkle path is empty: the file was stamped alone, its leaf is the root.",
          "3. 默克尔路径为空：该文件单独存证，叶子即为根。",
        ),
      });
    const computedRoot = steps.length ? steps[steps.length - 1].output : d.leaf;
    blocks.push({
      kind: "check",
      title: T("4. Root", "4. 根哈希"),
      ok: computedRoot === r.proof.root,
      rows: [
        { label: T("computed", "计算所得"), value: computedRoot, mono: true },
        { label: T("in the receipt", "凭证记录"), value: r.proof.root, mono: true },
      ],
    });
  } else if (digest && !digest.ok) {
    blocks.push({
      kind: "para",
      tone: "warn",
      text: T(
        "The file's digest differs from the receipt's, so the leaf, the Merkle path and the chain were not checked: no chain record can make a different file match.",
        "文件摘要与凭证不同，因此未继续核验叶子、默克尔路径和链上记录：任何链上记录都不能使不同的文件相符。",
      ),
    });
  }
  result.anchors.forEach((a: AnchorVerdict, i) => {
    blocks.push({
      kind: "check",
      title: T(
        `5.${i + 1}. On-chain reads, anchor ${i + 1}: chain ${a.anchor.chainId}, registry ${a.anchor.registry}`,
        `5.${i + 1}. 链上读取，锚定 ${i + 1}：链 ${a.anchor.chainId}，合约 ${a.anchor.registry}`,
      ),
      ok: a.ok,
      rows: [
        {
          label: T("expected (receipt)", "预期（凭证）"),
          value: T(
            `submitter ${a.anchor.submitter}, time ${a.anchor.timestamp}, block ${a.anchor.blockNumber}, hash ${a.anchor.blockHash}, transaction ${a.anchor.txHash}`,
            `提交者 ${a.anchor.submitter}，时间 ${a.anchor.timestamp}，区块 ${a.anchor.blockNumber}，哈希 ${a.anchor.blockHash}，交易 ${a.anchor.txHash}`,
          ),
          mono: true,
        },
        { label: T("RPC endpoints", "RPC 节点"), value: a.endpoints.join(", ") || T("none", "无") },
        ...(a.confirmations !== undefined
          ? [{ label: T("confirmations", "确认数"), value: `${a.confirmations}` }]
          : []),
        ...(a.code ? [{ label: T("result", "结果"), value: `${a.code}: ${a.message}` }] : []),
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
        title: T(`RPC endpoint ${url}`, `RPC 节点 ${url}`),
        ok: named(url) ? false : a.ok ? true : undefined,
        rows: [
          {
            label: T("asked", "查询"),
            value:
              "eth_chainId, eth_getCode, eth_call anchorOf, eth_getBlockByNumber, eth_getLogs, eth_blockNumber, finalized",
            mono: true,
          },
          ...(named(url) ? [{ label: T("result", "结果"), value: `${failedStep!.code}: ${failedStep!.message}` }] : []),
        ],
      }),
    );
    if (a.endpoints.length > 1)
      blocks.push({
        kind: "para",
        text: T(
          `${a.endpoints.length} endpoints were queried independently and every fact was cross-checked: their answers ${a.code === "RPC_DISAGREEMENT" ? "DISAGREE" : "agree"}.`,
          `独立查询并交叉比对了 ${a.endpoints.length} 个节点的每一项事实：其回答${a.code === "RPC_DISAGREEMENT" ? "不一致" : "一致"}。`,
        ),
      });
    if (a.endpoints.length === 1)
      blocks.push({
        kind: "para",
        text: T(
          "One RPC endpoint was queried. Repeating the check with endpoints run by different operators (several endpoints) guards against a dishonest endpoint.",
          "本次只查询了一个 RPC 节点。使用不同运营者的多个节点重复核验可以防范节点作假。",
        ),
      });
  });
  return blocks;
}

const STEP_TITLES: Record<Step["step"], [string, string]> = {
  receipt: ["receipt", "凭证"],
  digest: ["SHA-256 of the file", "文件的 SHA-256"],
  leaf: ["leaf", "叶子"],
  path: ["Merkle path", "默克尔路径"],
  "chain-id": ["eth_chainId: the endpoint serves the receipt's chain", "eth_chainId：节点属于凭证所指的链"],
  "registry-code": [
    "eth_getCode: the registry's runtime code is a known EvidenceRegistry",
    "eth_getCode：合约运行时代码为已知的存证合约",
  ],
  anchor: ["eth_call anchorOf(root): the registry's record", "eth_call anchorOf(root)：合约记录"],
  block: ["eth_getBlockByNumber: the anchoring block's hash and time", "eth_getBlockByNumber：锚定区块的哈希和时间"],
  log: [
    "eth_getLogs: the EvidenceAnchored log of this root is in that block",
    "eth_getLogs：该区块包含此根的 EvidenceAnchored 日志",
  ],
  tx: ["the receipt's transaction is in that block", "凭证中的交易属于该区块"],
  finality: ["confirmations and finality", "确认数与最终性"],
  timestamp: ["RFC 3161 time-stamp token", "RFC 3161 时间戳"],
  attestation: ["signed statement (EIP-712)", "签名声明（EIP-712）"],
};

function stepTitle(s: Step, lang: ReportLang): string {
  const [en, zh] = STEP_TITLES[s.step];
  return lang === "zh" ? zh : en;
}

function stepRows(s: Step, lang: ReportLang): Array<{ label: string; value: string; mono?: boolean }> {
  const T = bilingual(lang);
  const rows: Array<{ label: string; value: string; mono?: boolean }> = [];
  const d = s.detail;
  const val = (v: unknown) =>
    typeof v === "object" ? JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)) : String(v);
  for (const [k, v] of Object.entries(d)) {
    if (v === undefined || k === "refused") continue;
    rows.push({ label: k, value: val(v), mono: true });
  }
  if (s.unchecked) rows.push({ label: T("NOT CHECKED", "未核验"), value: s.unchecked });
  if (s.code) rows.push({ label: T("error", "错误"), value: `${s.code}: ${s.message}` });
  return rows;
}

function reverifyBlocks(r: Receipt, fileName: string, ac: AnchorVerdict | undefined, lang: ReportLang): ReportBlock[] {
  const T = bilingual(lang);
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
      text: T(
        "The algorithm in plain words: (a) the SHA-256 of the file must equal the receipt's; (b) the metadata is written as JSON with its keys sorted and no spaces, and hashed with keccak-256; (c) the leaf is keccak-256 applied twice to the 128 bytes domain tag ‖ SHA-256 ‖ salt ‖ metadata digest; (d) the leaf is combined with each hash of the Merkle path in turn: the two 32-byte values, smaller first, are concatenated and hashed with keccak-256; the last result must be the receipt's root; (e) the registry contract on the receipt's chain must return, for that root, the submitter, time and block of the receipt; the block must have the receipt's hash.",
        "算法说明：(a) 文件的 SHA-256 必须等于凭证记录值；(b) 元数据写成键按顺序排列、无空格的 JSON，用 keccak-256 计算摘要；(c) 叶子 = 对 128 字节“域标签 ‖ SHA-256 ‖ 盐值 ‖ 元数据摘要”连续做两次 keccak-256；(d) 将叶子依次与默克尔路径中的每个哈希合并：两个 32 字节值按从小到大拼接后做 keccak-256，最后结果必须等于凭证中的根；(e) 凭证所指链上的存证合约对该根返回的提交者、时间和区块必须与凭证一致，且该区块的哈希与凭证一致。",
      ),
    },
    {
      kind: "para",
      text: T(
        "Keccak-256 is Ethereum's hash (e.g. `cast keccak` from Foundry, web3/ethers `keccak256`, pycryptodome `keccak.new(digest_bits=256)`); it is NOT the NIST SHA3-256 of `sha3sum -a 256`. Hex values below are hashed as bytes, not as text.",
        "Keccak-256 是以太坊使用的哈希（如 Foundry 的 `cast keccak`、web3/ethers 的 `keccak256`、pycryptodome 的 `keccak.new(digest_bits=256)`），不是 `sha3sum -a 256` 的 NIST SHA3-256。下列十六进制值应按字节计算哈希，而非按文本。",
      ),
    },
    {
      kind: "code",
      caption: T(
        "Step 1 — the file's digest (expect the value on the second line)",
        "第 1 步 — 文件摘要（结果应为第二行的值）",
      ),
      text: `sha256sum '${fileName.replace(/'/g, "'\\''")}'\n# ${r.subject.sha256}\nstat -c %s '${fileName.replace(/'/g, "'\\''")}'\n# ${r.subject.size}`,
    },
    {
      kind: "code",
      caption: T(
        "Step 2 — metadata digest: keccak-256 of this exact UTF-8 text",
        "第 2 步 — 元数据摘要：对以下 UTF-8 文本精确计算 keccak-256",
      ),
      text: `cast keccak '${d.metaJson.replace(/'/g, "'\\''")}'\n# ${d.metaDigest}`,
    },
    {
      kind: "code",
      caption: T(
        "Step 3 — leaf: keccak-256 of the 128 bytes (domain, SHA-256, salt, metaDigest), then keccak-256 again",
        "第 3 步 — 叶子：对 128 字节（域标签、SHA-256、盐值、元数据摘要）计算 keccak-256，再计算一次",
      ),
      text: `cast keccak 0x${d.domain.slice(2)}\\\n${r.subject.sha256}\\\n${r.commitment.salt.slice(2)}\\\n${d.metaDigest.slice(2)}\n# ${d.inner}\ncast keccak ${d.inner}\n# ${d.leaf}   (= commitment.leaf)`,
    },
  ];
  steps.forEach((s, i) =>
    blocks.push({
      kind: "code",
      caption: T(
        `Step 4.${i + 1} — Merkle step ${i + 1}: keccak-256 of the smaller node followed by the larger`,
        `第 4.${i + 1} 步 — 默克尔第 ${i + 1} 步：较小节点在前、较大节点在后，计算 keccak-256`,
      ),
      text: `cast keccak 0x${s.input.slice(2, 66)}\\\n${s.input.slice(66)}\n# ${s.output}`,
    }),
  );
  if (steps.length === 0)
    blocks.push({
      kind: "para",
      text: T("Step 4 — the Merkle path is empty: the leaf is the root.", "第 4 步 — 默克尔路径为空：叶子即为根。"),
    });
  blocks.push(
    {
      kind: "para",
      text: T(
        `Step 5 — the root must be ${r.proof.root}. Now ask any JSON-RPC endpoint of chain ${a.chainId} (not necessarily Proofmark's) with plain curl:`,
        `第 5 步 — 根必须为 ${r.proof.root}。然后用普通 curl 向链 ${a.chainId} 的任意 JSON-RPC 节点（不必是 Proofmark 的）查询：`,
      ),
    },
    {
      kind: "code",
      caption: T("the chain's id (expect the hex of the chain id)", "链 ID（结果应为链 ID 的十六进制）"),
      text: `RPC=${rpc}\n${rpcCall("eth_chainId", `"params": []`)}\n# "result": "0x${a.chainId.toString(16)}"   (= ${a.chainId})`,
    },
    {
      kind: "code",
      caption: T(
        `the registry's record of the root: eth_call of ${ANCHOR_OF_SIGNATURE}, selector ${ANCHOR_OF_SELECTOR} followed by the root`,
        `合约对该根的记录：eth_call 调用 ${ANCHOR_OF_SIGNATURE}，选择器 ${ANCHOR_OF_SELECTOR} 后接根哈希`,
      ),
      text: `${rpcCall("eth_call", `"params": [{"to": "${a.registry}",\n  "data": "${calldata}"},\n  "latest"]`)}\n# "result": "0x" followed by three 32-byte words:\n# ${words[0]}\n# ${words[1]}\n# ${words[2]}`,
    },
    {
      kind: "list",
      items: [
        T(`word 1, last 20 bytes: the submitter ${a.submitter}`, `第 1 个字：后 20 字节为提交者 ${a.submitter}`),
        T(
          `word 2: the anchoring time in Unix seconds, 0x${a.timestamp.toString(16)} = ${a.timestamp} = ${formatUtc(a.timestamp)} (all zero: never anchored)`,
          `第 2 个字：锚定时间（Unix 秒），0x${a.timestamp.toString(16)} = ${a.timestamp} = ${formatUtc(a.timestamp)}（全零表示从未锚定）`,
        ),
        T(
          `word 3: the block number, 0x${a.blockNumber.toString(16)} = ${a.blockNumber}`,
          `第 3 个字：区块号，0x${a.blockNumber.toString(16)} = ${a.blockNumber}`,
        ),
      ],
    },
    {
      kind: "code",
      caption: T("the anchoring block (expect its hash and timestamp)", "锚定区块（哈希和时间戳应一致）"),
      text: `${rpcCall("eth_getBlockByNumber", `"params": ["0x${a.blockNumber.toString(16)}", false]`)}\n# "hash": "${a.blockHash}"\n# "timestamp": "0x${a.timestamp.toString(16)}"`,
    },
    {
      kind: "code",
      caption: T("finality and confirmations", "最终性与确认数"),
      text: `${rpcCall("eth_getBlockByNumber", `"params": ["finalized", false]`)}\n# final when its "number" >= 0x${a.blockNumber.toString(16)}\n${rpcCall("eth_blockNumber", `"params": []`)}\n# confirmations = result - ${a.blockNumber} + 1`,
    },
    {
      kind: "para",
      text: T(
        `Optionally, the contract checks the Merkle proof itself: verify(bytes32 leaf, bytes32[] proof, bytes32 root) returns the anchoring time (${a.timestamp}) or 0. The transaction ${a.txHash} can be looked up with eth_getTransactionReceipt: it calls the registry and emits EvidenceAnchored(root, submitter, leafCount).`,
        `此外，合约本身可以检查默克尔证明：verify(bytes32 leaf, bytes32[] proof, bytes32 root) 返回锚定时间（${a.timestamp}）或 0。交易 ${a.txHash} 可通过 eth_getTransactionReceipt 查询：它调用存证合约并发出 EvidenceAnchored(root, submitter, leafCount) 事件。`,
      ),
    },
  );
  return blocks;
}

function appendixBlocks(r: Receipt | undefined, lang: ReportLang): ReportBlock[] {
  const T = bilingual(lang);
  const blocks: ReportBlock[] = [
    {
      kind: "para",
      text: T(
        "The registry contract (EvidenceRegistry, Solidity, no owner, no upgrade, no external calls):",
        "存证合约（EvidenceRegistry，Solidity 编写，无所有者、不可升级、不调用外部合约）：",
      ),
    },
    {
      kind: "list",
      items: [
        T(
          "anchor(bytes32 root, uint256 leafCount): records, in one storage slot, the sender, the block timestamp and the block number of the FIRST anchoring of root; anchoring the same root again reverts with EvidenceAlreadyAnchored(root, anchoredAt), so a record can never be overwritten or back-dated. Emits EvidenceAnchored(root, submitter, leafCount).",
          "anchor(bytes32 root, uint256 leafCount)：在一个存储槽中记录该根首次锚定时的发送者、区块时间戳和区块号；再次锚定同一根会以 EvidenceAlreadyAnchored(root, anchoredAt) 回滚，因此记录不能被覆盖或倒签。发出 EvidenceAnchored(root, submitter, leafCount) 事件。",
        ),
        T(
          "anchorOf(bytes32 root) → (address submitter, uint40 anchoredAt, uint56 blockNumber): the record; all zero when the root was never anchored.",
          "anchorOf(bytes32 root) → (address submitter, uint40 anchoredAt, uint56 blockNumber)：返回该记录；从未锚定时全为零。",
        ),
        T(
          "verify(bytes32 leaf, bytes32[] proof, bytes32 root) → uint40: the anchoring time when root is anchored and OpenZeppelin MerkleProof.verify(proof, root, leaf) holds, else 0.",
          "verify(bytes32 leaf, bytes32[] proof, bytes32 root) → uint40：当根已锚定且 OpenZeppelin MerkleProof.verify(proof, root, leaf) 成立时返回锚定时间，否则返回 0。",
        ),
        T(
          'version() → the semantic version of the contract\'s behaviour ("1.0.0").',
          'version() → 合约行为的语义化版本号（"1.0.0"）。',
        ),
      ],
    },
    { kind: "para", text: T("Hash constructions:", "哈希构造：") },
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
      items: [
        T(
          "The outer hash is over 32 bytes and every inner node over 64 bytes, so an inner node can never pass as a leaf (second-preimage protection).",
          "外层哈希的输入为 32 字节，而内部节点的输入为 64 字节，因此内部节点不能冒充叶子（防第二原像攻击）。",
        ),
        T(
          "The 32-byte random salt keeps the file private: without the receipt nobody can confirm a guess of the file from the chain record.",
          "32 字节随机盐值保护文件隐私：没有凭证，任何人都无法根据链上记录验证对文件的猜测。",
        ),
        T(
          "Many files can be anchored in one transaction: each has its own leaf and Merkle path to the one anchored root.",
          "一笔交易可以锚定多个文件：每个文件有自己的叶子和通向同一锚定根的默克尔路径。",
        ),
      ],
    },
    {
      kind: "para",
      text: T(
        "The receipt (format proofmark-receipt, version 1, JSON): subject (name, size, sha256), commitment (salt, meta, leaf), proof (root, path, leafCount) and anchors (chainId, registry, txHash, blockNumber, blockHash, timestamp, submitter). Parsers reject unknown formats, versions and fields.",
        "凭证（格式 proofmark-receipt，版本 1，JSON）：subject（name、size、sha256）、commitment（salt、meta、leaf）、proof（root、path、leafCount）和 anchors（chainId、registry、txHash、blockNumber、blockHash、timestamp、submitter）。解析器拒绝未知的格式、版本和字段。",
      ),
    },
  ];
  if (r) {
    const { encryption: _omit, ...shown } = r;
    blocks.push({
      kind: "code",
      caption: T("The receipt checked (encryption key, if any, omitted):", "所核验的凭证（如有加密密钥，已略去）："),
      text: serializeReceipt(shown as Receipt).trimEnd(),
    });
  }
  return blocks;
}
