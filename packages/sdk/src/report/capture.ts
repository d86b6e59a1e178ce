import { bilingual } from "../core/i18n";
import { escapeHtml } from "../core/html";
import type { CaptureVerification } from "../capture";
import type { CaptureRecord } from "../capture/wacz";
import { renderReportHtml } from "./html";
import { formatCst, formatUtc, type ReportBlock, type ReportLang, type ReportModel, type ReportSection } from "./model";
import { anchorOfAnswerWords, anchorOfCalldata, ANCHOR_OF_SIGNATURE, deriveLeaf, deriveMerkleSteps } from "./reverify";

/**
 * The court report of a web capture (a WACZ made by `proofmark capture`), as the same
 * {@link ReportModel} the evidence report uses, so the HTML and PDF renderers lay it out: what was
 * captured, when and how (the capture record), the clean-environment checks, the integrity checks,
 * what the capture does not prove, and how an expert re-checks it with sha256sum, unzip and one
 * JSON-RPC call. The verdict is `v.ok` and nothing else.
 */

function iso(t?: string): string {
  if (!t) return "-";
  const s = Date.parse(t) / 1000;
  return Number.isFinite(s) ? `${formatUtc(Math.floor(s))} (${t})` : t;
}

/** The TSAs' times (RFC 3161 time signatures of the WACZ signature), beside the machine's and the chain's clocks. */
function timeSignatureRows(
  v: CaptureVerification,
  T: ReturnType<typeof bilingual>,
): Array<{ label: string; value: string }> {
  const label = T("Against a time-stamp authority", "与时间戳机构比较");
  if (!v.timeSignatures?.length)
    return [
      {
        label,
        value: T("no RFC 3161 time signature (captured without --tsa)", "无 RFC 3161 时间戳签名（取证时未使用 --tsa）"),
      },
    ];
  return v.timeSignatures.map((t) => ({
    label,
    value: t.ok
      ? T(
          `${t.signer} time-stamped the WACZ signature at ${iso(t.genTime)}, ${t.offsetSeconds} s after the signature's created time (verified offline against the configured TSA root certificates)`,
          `${t.signer} 于 ${iso(t.genTime)} 为 WACZ 签名加盖时间戳，比签名创建时间晚 ${t.offsetSeconds} 秒（已依据配置的时间戳机构根证书离线核验）`,
        )
      : T(`NOT VERIFIED (${t.code}) from ${t.tsa}: ${t.message}`, `未通过核验（${t.code}，${t.tsa}）：${t.message}`),
  }));
}

/** The local address the capturing host used to reach each server (its routing table's choice). */
function sourceAddressRows(
  r: CaptureRecord,
  T: ReturnType<typeof bilingual>,
): Array<{ label: string; value: string; mono: true }> {
  if (!r.sourceAddresses?.length) return [];
  return [
    {
      label: T("Source address per server", "访问各服务器的源地址"),
      value: r.sourceAddresses.map((a) => `${a.remote} ← ${a.source ?? a.error ?? "-"}`).join("\n"),
      mono: true,
    },
  ];
}

/**
 * @example
 * const v = await verifyCapture({ path: "item.wacz", dataDir, parseReceipt });
 * fs.writeFileSync("report.html", renderCaptureReportHtml(buildCaptureReportModel(v, { lang: "en" }), screenshotPng));
 */
export function buildCaptureReportModel(
  v: CaptureVerification,
  opts: { lang: ReportLang; generatedAt?: string },
): ReportModel {
  const lang = opts.lang;
  const T = bilingual(lang);
  const r: CaptureRecord | undefined = v.wacz.record;
  const name = v.path.split(/[\\/]/).pop() ?? v.path;
  const ev = v.evidence;
  const anchor = ev?.receipt.anchors[0];
  const ac = ev?.anchors[0];
  const passed = v.ok;
  const line = passed
    ? T(
        `VERIFIED — the capture is intact (every file, every WARC record and the signature check out) and its signed digest was anchored on chain ${anchor!.chainId}: it existed no later than ${formatUtc(anchor!.timestamp)} (block ${anchor!.blockNumber}, ${ac?.confirmations ?? 0} confirmation(s)).`,
        `核验通过 — 取证包完整（每个文件、每条 WARC 记录和签名均核验一致），其签名摘要已锚定在链 ${anchor!.chainId} 上：不晚于 ${formatCst(anchor!.timestamp, "zh")} 已经存在（区块 ${anchor!.blockNumber}，${ac?.confirmations ?? 0} 个确认）。`,
      )
    : T(
        `NOT VERIFIED — ${v.code ?? "?"}${v.file ? ` in ${v.file}` : ""}: ${v.message}`,
        `未通过核验 — ${v.code ?? "?"}${v.file ? `（${v.file}）` : ""}：${v.message}`,
      );
  const sections: ReportSection[] = [];
  const section = (title: string, blocks: ReportBlock[]) =>
    sections.push({ number: sections.length + 1, title, blocks });
  const checkedAt = ev?.checkedAt ?? new Date().toISOString();

  section(T("Verdict", "核验结论"), [
    { kind: "para", text: line, tone: passed ? "ok" : "warn" },
    {
      kind: "fields",
      rows: [
        { label: T("Capture file", "取证文件"), value: name },
        { label: T("Checked at", "核验时间"), value: iso(checkedAt) },
        ...(v.code ? [{ label: T("Result code", "结果代码"), value: v.code, mono: true }] : []),
        ...(v.file ? [{ label: T("File at fault", "出错的文件"), value: v.file, mono: true }] : []),
      ],
    },
  ]);

  if (r) {
    section(T("What was captured, and when", "取证对象与时间"), [
      ...r.pages.map((p): ReportBlock => ({
        kind: "fields",
        rows: [
          { label: T("Page requested", "请求的网页"), value: p.url, mono: true },
          ...(p.finalUrl !== p.url
            ? [{ label: T("Page shown at the end", "最终显示的网页"), value: p.finalUrl, mono: true }]
            : []),
          { label: T("Title", "标题"), value: p.title },
          {
            label: T("Loaded", "加载完成"),
            value: p.loadTimedOut
              ? T(
                  `NO — the page had not finished loading after ${r.limits.timeoutMs / 1000} s; it was captured as it was then`,
                  `否 — ${r.limits.timeoutMs / 1000} 秒内未加载完成，按当时状态取证`,
                )
              : iso(p.loadedAt),
          },
          { label: T("Snapshot (DOM, screenshot, PDF)", "快照时间（DOM、截图、PDF）"), value: iso(p.snapshotAt) },
          ...(p.navigations.length
            ? [
                {
                  label: T("Navigated away to", "页面跳转至"),
                  value: p.navigations.map((n) => `${n.url} (${n.at})`).join("\n"),
                },
              ]
            : []),
          ...(p.popups.length
            ? [
                {
                  label: T("Pop-ups opened (closed, not captured)", "弹出窗口（已关闭，未取证）"),
                  value: p.popups.map((n) => `${n.url} (${n.at})`).join("\n"),
                },
              ]
            : []),
          ...(p.localResources.length
            ? [
                {
                  label: T("data:/blob: resources (not network exchanges)", "data:/blob: 资源（非网络交换）"),
                  value: p.localResources
                    .map((l) => `${l.kind} ${l.url.slice(0, 80)}${l.sha256 ? ` sha256 ${l.sha256}` : ""}`)
                    .join("\n"),
                },
              ]
            : []),
          { label: T("Visible text (start)", "可见文字（开头）"), value: p.text.slice(0, 600) },
        ],
      })),
      {
        kind: "fields",
        rows: [
          { label: T("Capture started", "取证开始"), value: iso(r.startedAt) },
          { label: T("Capture ended", "取证结束"), value: iso(r.endedAt) },
          { label: T("HTTP exchanges recorded", "记录的 HTTP 交换"), value: `${r.exchanges}` },
        ],
      },
      {
        kind: "para",
        text: T(
          "Every image the pages loaded, with its SHA-256 (the bytes are in archive/data.warc):",
          "页面加载的每张图片及其 SHA-256（图片字节保存在 archive/data.warc 中）：",
        ),
      },
      {
        kind: "list",
        items: r.images.length
          ? r.images.map(
              (i) =>
                `${i.sha256}  ${i.size} B  ${i.mimeType}  ${i.url.slice(0, 200)}${i.truncated ? T(" (truncated)", "（已截断）") : ""}`,
            )
          : [T("no images", "无图片")],
      },
      ...(r.imageMatches?.length
        ? [
            {
              kind: "list" as const,
              items: r.imageMatches.map(
                (m) =>
                  `${m.sha256} ↔ ${Object.entries(m.original)
                    .map(([k, x]) => `${k}: ${x}`)
                    .join(", ")}`,
              ),
            },
          ]
        : []),
    ]);

    const bin = r.browser.binaries.map((b) => `${b.path}  ${b.sha256 ?? b.error}`).join("\n");
    section(T("How it was captured (the capture record)", "取证过程（取证记录）"), [
      {
        kind: "fields",
        rows: [
          {
            label: T("Tool", "工具"),
            value: `Proofmark ${r.tool.version}, playwright-core ${r.tool.playwrightCore}, Node ${r.tool.node}`,
          },
          { label: T("Browser", "浏览器"), value: `${r.browser.version} — ${r.browser.userAgent}` },
          { label: T("Browser files (SHA-256)", "浏览器文件（SHA-256）"), value: bin, mono: true },
          {
            label: T("Browser command line", "浏览器命令行"),
            value: r.browser.commandLine?.join(" ") ?? T("not reported", "未获取"),
            mono: true,
          },
          {
            label: T("Operating system", "操作系统"),
            value: `${r.os.distribution ?? r.os.platform} ${r.os.release} ${r.os.arch}, host ${r.os.hostname}`,
          },
          { label: T("Machine clock at start", "开始时本机时钟"), value: r.clock.machineTime },
          {
            label: T("Against the chain", "与链上时间比较"),
            value: r.clock.chain
              ? T(
                  `latest block ${r.clock.chain.blockNumber} of chain ${r.clock.chain.chainId} has time ${formatUtc(r.clock.chain.timestamp)}; the machine clock was ${r.clock.chain.offsetSeconds} s ahead of it (a block's time is when it was made, so a quiet chain lags)`,
                  `链 ${r.clock.chain.chainId} 最新区块 ${r.clock.chain.blockNumber} 的时间为 ${formatUtc(r.clock.chain.timestamp)}；本机时钟比它快 ${r.clock.chain.offsetSeconds} 秒（区块时间是出块时间，链上无交易时会滞后）`,
                )
              : T(
                  `not compared${r.clock.error ? `: ${r.clock.error}` : ""}`,
                  `未比较${r.clock.error ? `：${r.clock.error}` : ""}`,
                ),
          },
          ...timeSignatureRows(v, T),
          {
            label: T("Proxy variables", "代理环境变量"),
            value: Object.keys(r.proxy.environment).length
              ? Object.entries(r.proxy.environment)
                  .map(([k, x]) => `${k}=${x}`)
                  .join("\n")
              : T("none", "无"),
          },
          {
            label: T("Chromium proxy flags", "Chromium 代理参数"),
            value:
              r.proxy.chromiumFlags === null
                ? T("not reported", "未获取")
                : r.proxy.chromiumFlags.join(" ") || T("none", "无"),
          },
          { label: T("Name resolution order", "域名解析顺序"), value: r.nsswitchHosts ?? "-", mono: true },
          {
            label: T("Capturing host's addresses", "取证主机地址"),
            value: r.addresses.map((a) => `${a.interface} ${a.address}${a.internal ? " (internal)" : ""}`).join("\n"),
            mono: true,
          },
          ...sourceAddressRows(r, T),
          {
            label: T("Limits", "限制"),
            value: T(
              `load ${r.limits.timeoutMs} ms, settle ${r.limits.settleMs} ms, at most ${r.limits.maxResponseBytes} bytes kept per response`,
              `加载 ${r.limits.timeoutMs} 毫秒，等待 ${r.limits.settleMs} 毫秒，每个响应最多保留 ${r.limits.maxResponseBytes} 字节`,
            ),
          },
        ],
      },
      {
        kind: "code",
        caption: T("/etc/hosts at capture time", "取证时的 /etc/hosts"),
        text: (r.hosts ?? "-").trimEnd(),
      },
      {
        kind: "code",
        caption: T("/etc/resolv.conf at capture time", "取证时的 /etc/resolv.conf"),
        text: (r.resolver ?? "-").trimEnd(),
      },
      {
        kind: "para",
        text: T(
          "Scripts run in the pages, verbatim (after loading, to read them):",
          "在页面中运行的脚本原文（加载完成后，仅用于读取）：",
        ),
      },
      ...r.scripts.map((s): ReportBlock => ({
        kind: "code",
        caption: `page ${s.page + 1}: ${s.purpose}`,
        text: s.source,
      })),
      { kind: "para", text: T("Requests that failed or were blocked:", "失败或被拦截的请求：") },
      {
        kind: "list",
        items: r.failed.length
          ? r.failed.map((f) => `${f.method} ${f.url} — ${f.error}${f.blockedReason ? ` (${f.blockedReason})` : ""}`)
          : [T("none", "无")],
      },
      { kind: "para", text: T("HTTP errors and truncated responses:", "HTTP 错误与被截断的响应：") },
      {
        kind: "list",
        items: [
          ...r.httpErrors.map((e) => `${e.status} ${e.url}`),
          ...r.truncated.map((t) =>
            T(
              `TRUNCATED (${t.reason === "length" ? "too long" : t.reason === "time" ? "never finished" : "no longer available"}): ${t.url}, ${t.keptBytes} of ${t.receivedBytes ?? "?"} bytes kept`,
              `已截断（${t.reason === "length" ? "过长" : t.reason === "time" ? "未完成" : "已不可得"}）：${t.url}，保留 ${t.keptBytes} / ${t.receivedBytes ?? "?"} 字节`,
            ),
          ),
        ].concat(r.httpErrors.length + r.truncated.length ? [] : [T("none", "无")]),
      },
      { kind: "list", items: r.notes },
    ]);

    section(T("Clean-environment checks", "清洁性检查"), [
      {
        kind: "para",
        tone: r.clean.ok ? "ok" : "warn",
        text: r.clean.ok
          ? T(
              "Every clean-environment check passed, as observed at capture time.",
              "取证时观察到的各项清洁性检查均通过。",
            )
          : T(
              "A CLEAN-ENVIRONMENT CHECK FAILED: the capture may have been influenced by the environment named below. Weigh it accordingly.",
              "清洁性检查未通过：取证可能受到下列环境因素影响，应据此评估其证明力。",
            ),
      },
      ...r.clean.checks.map((c): ReportBlock => ({
        kind: "check",
        title: c.item,
        ok: c.ok,
        rows: [{ label: T("observed", "观察值"), value: c.observed }],
      })),
    ]);
  }

  section(T("Integrity checks", "完整性核验"), [
    {
      kind: "check",
      title: T("datapackage.json against datapackage-digest.json", "datapackage.json 与 datapackage-digest.json"),
      ok: v.wacz.datapackageHash.ok,
      rows: [
        { label: T("expected", "预期"), value: v.wacz.datapackageHash.expected ?? "-", mono: true },
        { label: T("computed", "计算"), value: v.wacz.datapackageHash.actual ?? "-", mono: true },
      ],
    },
    {
      kind: "check",
      title: T("Signature (WACZ signing, anonymous ECDSA)", "签名（WACZ 签名规范，匿名 ECDSA）"),
      ok: v.wacz.signature.ok,
      rows: [
        {
          label: T("public key SHA-256", "公钥 SHA-256"),
          value: v.wacz.signature.publicKeyFingerprint ?? "-",
          mono: true,
        },
        {
          label: T("curve / created", "曲线 / 签名时间"),
          value: `${v.wacz.signature.curve ?? "-"} / ${v.wacz.signature.created ?? "-"}`,
        },
        ...(v.wacz.signature.reason ? [{ label: T("problem", "问题"), value: v.wacz.signature.reason }] : []),
      ],
    },
    {
      kind: "check",
      title: T(
        `Files against datapackage.json (${v.wacz.files.length})`,
        `文件与 datapackage.json（${v.wacz.files.length} 个）`,
      ),
      ok: v.wacz.files.length > 0 && v.wacz.files.every((f) => f.ok),
      rows: v.wacz.files.map((f) => ({
        label: f.path,
        value: f.ok ? (f.actual ?? "") : `${f.problem}: ${f.expected ?? "-"} ≠ ${f.actual ?? "-"}`,
        mono: true,
      })),
    },
    {
      kind: "check",
      title: T(
        `WARC records: block and payload digests (${v.wacz.records.count})`,
        `WARC 记录：块摘要与载荷摘要（${v.wacz.records.count} 条）`,
      ),
      ok: v.wacz.records.ok,
      rows: v.wacz.records.failures.length
        ? v.wacz.records.failures.map((f) => ({
            label: `${f.type} @${f.offset}`,
            value: `${f.uri ?? ""} ${f.problem}`,
            mono: true,
          }))
        : [{ label: T("result", "结果"), value: T("every record matches its digests", "每条记录均与其摘要一致") }],
    },
    {
      kind: "check",
      title: T("CDXJ index points at the records", "CDXJ 索引指向的记录"),
      ok: v.wacz.index.ok,
      rows: [
        {
          label: T("lines", "行数"),
          value: `${v.wacz.index.lines}${v.wacz.index.problem ? ` — ${v.wacz.index.problem}` : ""}`,
        },
      ],
    },
    {
      kind: "check",
      title: T("Anchor on chain", "链上锚定"),
      ok: ev?.ok,
      rows: ev
        ? [
            { label: T("subject", "对象"), value: `datapackage-digest.json sha256 ${ev.file?.sha256}`, mono: true },
            ...(anchor
              ? [
                  {
                    label: T("chain / block / time", "链 / 区块 / 时间"),
                    value: `${anchor.chainId} / ${anchor.blockNumber} / ${formatUtc(anchor.timestamp)}`,
                  },
                  { label: T("transaction", "交易"), value: anchor.txHash, mono: true },
                  { label: T("registry", "合约"), value: anchor.registry, mono: true },
                ]
              : []),
            ...(ev.receipt.commitment.meta
              ? Object.entries(ev.receipt.commitment.meta).map(([k, x]) => ({
                  label: T(`committed "${k}"`, `承诺的“${k}”`),
                  value: x,
                }))
              : []),
            { label: T("result", "结果"), value: ev.ok ? ev.message : `${ev.code}: ${ev.message}` },
          ]
        : [
            {
              label: T("result", "结果"),
              value: v.receiptError?.message ?? T("not checked (the WACZ failed first)", "未核验（取证包已先行失败）"),
            },
          ],
    },
  ]);

  section(T("What this establishes, and what it does not", "证明范围与局限"), [
    {
      kind: "para",
      text: T(
        "Established, when verified: these bytes — every response as this browser received it, the screenshot, the DOM, the PDF and the capture record — are the ones that were signed and anchored, and they existed no later than the anchoring block's time. The capture record states how, from where and in what environment they were collected.",
        "核验通过时可以证明：这些字节（浏览器收到的每个响应、截图、DOM、PDF 和取证记录）即签名并锚定时的内容，且不晚于锚定区块的时间已经存在。取证记录说明了收集的方式、来源和环境。",
      ),
    },
    {
      kind: "list",
      items: [
        T(
          "It does NOT prove who operates the page or that its operator is the infringer: under art. 18 of the Online Litigation Rules (2021) the party must still prove the source and the link between the site and the person sued (e.g. ICP filing, shop registration, payment records).",
          "不能证明网页的经营者是谁，也不能证明经营者即侵权人：依《人民法院在线诉讼规则》（2021）第十八条，当事人仍需证明来源及网站与被诉主体之间的关联（如 ICP 备案、店铺登记、支付记录）。",
        ),
        T(
          "It does NOT prove what the site served to other visitors, at other times, or from other places: a server can show different content to different clients.",
          "不能证明网站向其他访问者、在其他时间或从其他地点提供的内容：服务器可以对不同客户端显示不同内容。",
        ),
        T(
          "It does NOT prove that the capturing machine was honest beyond what the capture record observed; the clean-environment checks show what was observed, not what was hidden.",
          "除取证记录所观察到的情况外，不能证明取证机器本身可信；清洁性检查只显示观察到的情况，无法排除未被观察到的因素。",
        ),
        T(
          "The chain proves when the digest was anchored, not when the page was first published.",
          "区块链证明的是摘要的锚定时间，而不是网页的首次发布时间。",
        ),
      ],
    },
  ]);

  if (ev && anchor) {
    const rc = ev.receipt;
    const d = deriveLeaf({ sha256: rc.subject.sha256, salt: rc.commitment.salt, meta: rc.commitment.meta });
    const steps = deriveMerkleSteps(d.leaf, rc.proof.path);
    const words = anchorOfAnswerWords({
      submitter: anchor.submitter,
      anchoredAt: anchor.timestamp,
      blockNumber: anchor.blockNumber,
    });
    const q = `'${name.replace(/'/g, "'\\''")}'`;
    section(T("How an expert re-checks it", "专家如何复核"), [
      {
        kind: "code",
        caption: T(
          "1 — the anchored file is datapackage-digest.json inside the WACZ (expect the receipt's subject.sha256)",
          "1 — 锚定的对象是 WACZ 中的 datapackage-digest.json（结果应等于凭证的 subject.sha256）",
        ),
        text: `unzip -p ${q} datapackage-digest.json | sha256sum\n# ${rc.subject.sha256}`,
      },
      {
        kind: "code",
        caption: T("2 — it names the hash of datapackage.json", "2 — 它记录了 datapackage.json 的哈希"),
        text: `unzip -p ${q} datapackage.json | sha256sum\n# ${(v.wacz.datapackageHash.expected ?? "").replace(/^sha256:/, "")}`,
      },
      {
        kind: "code",
        caption: T(
          '3 — every file\'s SHA-256 must equal its "hash" in datapackage.json',
          '3 — 每个文件的 SHA-256 必须等于 datapackage.json 中的 "hash"',
        ),
        text: `unzip -o ${q} -d capture && cd capture\n${v.wacz.files.map((f) => `sha256sum ${f.path}   # ${(f.expected ?? "").replace(/^sha256:/, "")}`).join("\n")}`,
      },
      {
        kind: "para",
        text: T(
          `4 — the leaf and Merkle path: leaf = keccak256(keccak256(domain ‖ sha256 ‖ salt ‖ keccak256(meta JSON))) = ${d.leaf}; ${steps.length} Merkle step(s) to the root ${rc.proof.root} (as in section 7 of the evidence report; \`proofmark report\` of the receipt lists each step).`,
          `4 — 叶子与默克尔路径：叶子 = keccak256(keccak256(域标签 ‖ sha256 ‖ 盐值 ‖ keccak256(元数据 JSON))) = ${d.leaf}；经 ${steps.length} 步默克尔路径得到根 ${rc.proof.root}（与存证报告第 7 节相同）。`,
        ),
      },
      {
        kind: "code",
        caption: T(
          `5 — one JSON-RPC call to any node of chain ${anchor.chainId}: ${ANCHOR_OF_SIGNATURE} of the root`,
          `5 — 向链 ${anchor.chainId} 的任意节点发一次 JSON-RPC 调用：对根调用 ${ANCHOR_OF_SIGNATURE}`,
        ),
        text: `curl -s -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"${anchor.registry}","data":"${anchorOfCalldata(rc.proof.root)}"},"latest"]}' "$RPC"\n# result = 0x followed by:\n# ${words[0]}   (submitter)\n# ${words[1]}   (time ${anchor.timestamp} = ${formatUtc(anchor.timestamp)})\n# ${words[2]}   (block ${anchor.blockNumber})`,
      },
      {
        kind: "para",
        text: T(
          "6 — the signature: signedData.signature is ECDSA with SHA-256 over the text of signedData.hash, raw r‖s in base64; signedData.publicKey is the base64 DER public key (e.g. Python: ECC.import_key(b64decode(publicKey)); DSS.new(key, 'fips-186-3', encoding='binary').verify(SHA256.new(hash.encode()), b64decode(signature))).",
          "6 — 签名：signedData.signature 是对 signedData.hash 文本做 SHA-256 的 ECDSA 签名（原始 r‖s，base64）；signedData.publicKey 是 base64 编码的 DER 公钥。",
        ),
      },
    ]);
  }
  return {
    lang,
    title: T("Web capture verification report", "网页取证核验报告"),
    verdict: {
      status: passed
        ? "verified"
        : v.code === "NOT_ANCHORED"
          ? "not-anchored"
          : v.code === "NOT_CONFIRMED"
            ? "not-final"
            : v.code && /MISMATCH|INVALID/.test(v.code)
              ? "mismatch"
              : "unverifiable",
      passed,
      line,
      detail: v.message,
      code: v.code,
    },
    subject: { name, sha256: v.wacz.digestFile?.sha256 },
    generatedAt: opts.generatedAt ?? new Date().toISOString(),
    sections,
    footer: T(`Proofmark capture report · ${name}`, `Proofmark 网页取证报告 · ${name}`),
  };
}

/**
 * The capture report as one self-contained HTML page, with the page's screenshot embedded (a
 * data: image; the page still loads nothing and runs no script).
 */
export function renderCaptureReportHtml(model: ReportModel, screenshots: Array<{ page: string; png: Buffer }>): string {
  const html = renderReportHtml(model);
  const csp = "default-src 'none'; style-src 'unsafe-inline'";
  if (!html.includes(csp))
    throw new Error("the report's Content-Security-Policy changed: update renderCaptureReportHtml");
  const figures = screenshots
    .map(
      (s) =>
        `<figure><img alt="screenshot" style="max-width:100%;border:1px solid #d0d7de" src="data:image/png;base64,${s.png.toString("base64")}"><figcaption class="caption">${escapeHtml(s.page)}</figcaption></figure>`,
    )
    .join("\n");
  const title = model.lang === "zh" ? "截图" : "Screenshot";
  return html
    .replace(csp, `${csp}; img-src data:`)
    .replace('\n<p class="meta">', `\n<h2 id="screenshots">${title}</h2>\n${figures}\n<p class="meta">`);
}
