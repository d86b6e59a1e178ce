import { translate, translator } from "../core/i18n";
import { CAPTURE_REPORT_TEXTS } from "./texts/capture-report";
import { escapeHtml } from "../core/html";
import type { CaptureVerification } from "../capture";
import type { CaptureRecord } from "../capture/wacz";
import type { IdentityCheckName } from "../capture/identity";
import { renderReportHtml } from "./html";
import { formatCst, formatUtc, type ReportBlock, type ReportLang, type ReportModel, type ReportSection } from "./model";
import { anchorOfAnswerWords, anchorOfCalldata, ANCHOR_OF_SIGNATURE, deriveLeaf, deriveMerkleSteps } from "./reverify";

/** The catalogue entry of each identity check. */
const IDENTITY_CHECK_TEXT: Record<IdentityCheckName, keyof typeof CAPTURE_REPORT_TEXTS> = {
  "certificate chain": "identityCheckChain",
  "certificates valid at created": "identityCheckValidAtCreated",
  "time-stamp of the signature": "identityCheckTimeStamp",
  "created within 10 minutes of the time-stamp": "identityCheckCreatedNearTimeStamp",
  "time-stamp within the certificate's validity": "identityCheckTimeStampInValidity",
};

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
  t: ReturnType<typeof translator<typeof CAPTURE_REPORT_TEXTS>>,
): Array<{ label: string; value: string }> {
  const label = t("againstTsa");
  if (!v.timeSignatures?.length) return [{ label, value: t("noTimeSignature") }];
  return v.timeSignatures.map((ts) => ({
    label,
    value: ts.ok
      ? t("timeSignatureVerified", {
          signer: ts.signer ?? "",
          genTime: iso(ts.genTime),
          offsetSeconds: ts.offsetSeconds ?? "",
        })
      : t("timeSignatureNotVerified", { code: ts.code ?? "", tsa: ts.tsa, message: ts.message ?? "" }),
  }));
}

/** The local address the capturing host used to reach each server (its routing table's choice). */
function sourceAddressRows(
  r: CaptureRecord,
  t: ReturnType<typeof translator<typeof CAPTURE_REPORT_TEXTS>>,
): Array<{ label: string; value: string; mono: true }> {
  if (!r.sourceAddresses?.length) return [];
  return [
    {
      label: t("sourceAddressPerServer"),
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
  const t = translator(CAPTURE_REPORT_TEXTS, lang);
  const r: CaptureRecord | undefined = v.wacz.record;
  const name = v.path.split(/[\\/]/).pop() ?? v.path;
  const ev = v.evidence;
  const anchor = ev?.receipt.anchors[0];
  const ac = ev?.anchors[0];
  const passed = v.ok;
  const pending = !passed && ev?.status === "pending";
  const line = pending
    ? t("pending", { file: name })
    : passed
      ? t("verified", {
          chainId: anchor!.chainId,
          timeUtc: formatUtc(anchor!.timestamp),
          blockNumber: anchor!.blockNumber,
          confirmations: ac?.confirmations ?? 0,
          timeCst: formatCst(anchor!.timestamp, "zh"),
        })
      : t("notVerified", {
          code: v.code ?? "?",
          inFile: v.file ? t("inFile", { file: v.file }) : "",
          message: v.message,
        });
  const sections: ReportSection[] = [];
  const section = (title: string, blocks: ReportBlock[]) =>
    sections.push({ number: sections.length + 1, title, blocks });
  const checkedAt = ev?.checkedAt ?? new Date().toISOString();

  section(t("verdictHeading"), [
    { kind: "para", text: line, tone: passed ? "ok" : "warn" },
    {
      kind: "fields",
      rows: [
        { label: t("captureFile"), value: name },
        { label: t("checkedAt"), value: iso(checkedAt) },
        ...(v.code ? [{ label: t("resultCode"), value: v.code, mono: true }] : []),
        ...(v.file ? [{ label: t("fileAtFault"), value: v.file, mono: true }] : []),
      ],
    },
  ]);

  if (r) {
    section(t("capturedHeading"), [
      ...r.pages.map((p): ReportBlock => ({
        kind: "fields",
        rows: [
          { label: t("pageRequested"), value: p.url, mono: true },
          ...(p.finalUrl !== p.url ? [{ label: t("pageShownAtTheEnd"), value: p.finalUrl, mono: true }] : []),
          { label: t("pageTitle"), value: p.title },
          {
            label: t("loaded"),
            value: p.loadTimedOut
              ? t("notLoadedWhenSnapshotTaken", { seconds: r.limits.timeoutMs / 1000 })
              : iso(p.loadedAt),
          },
          { label: t("snapshotDomScreenshotPdf"), value: iso(p.snapshotAt) },
          ...(p.navigations.length
            ? [
                {
                  label: t("navigatedAwayTo"),
                  value: p.navigations.map((n) => `${n.url} (${n.at})`).join("\n"),
                },
              ]
            : []),
          ...(p.popups.length
            ? [
                {
                  label: t("popUpsOpenedClosedNotCaptured"),
                  value: p.popups.map((n) => `${n.url} (${n.at})`).join("\n"),
                },
              ]
            : []),
          ...(p.localResources.length
            ? [
                {
                  label: t("dataBlobResourcesNotNetworkExchanges"),
                  value: p.localResources
                    .map((l) => `${l.kind} ${l.url.slice(0, 80)}${l.sha256 ? ` sha256 ${l.sha256}` : ""}`)
                    .join("\n"),
                },
              ]
            : []),
          { label: t("visibleTextStart"), value: p.text.slice(0, 600) },
        ],
      })),
      {
        kind: "fields",
        rows: [
          { label: t("captureStarted"), value: iso(r.startedAt) },
          { label: t("captureEnded"), value: iso(r.endedAt) },
          { label: t("httpExchangesRecorded"), value: `${r.exchanges}` },
        ],
      },
      {
        kind: "para",
        text: t("everyImageThePagesLoaded"),
      },
      {
        kind: "list",
        items: r.images.length
          ? r.images.map(
              (i) =>
                `${i.sha256}  ${i.size} B  ${i.mimeType}  ${i.url.slice(0, 200)}${i.truncated ? t("truncated") : ""}`,
            )
          : [t("noImages")],
      },
      {
        kind: "para",
        text:
          r.imageMatches === undefined
            ? t("imagesNotMatched")
            : r.imageMatches.length
              ? t("imagesMatched")
              : t("noImageMatched"),
      },
      ...(r.imageMatches?.length
        ? [
            {
              kind: "list" as const,
              items: r.imageMatches.map((m) =>
                t("imageMatch", {
                  sha256: m.sha256,
                  name: String(m.original.name ?? "?"),
                  distance: String(m.original.distance ?? "?"),
                  decidedBy: String(m.original.decidedBy ?? "?"),
                  anchoredAt: String(m.original.anchoredAt ?? "?"),
                  chainId: String(m.original.chainId ?? "?"),
                  blockNumber: String(m.original.blockNumber ?? "?"),
                  receipt: String(m.original.receipt ?? "?"),
                }),
              ),
            },
          ]
        : []),
    ]);

    const bin = r.browser.binaries.map((b) => `${b.path}  ${b.sha256 ?? b.error}`).join("\n");
    section(t("environmentHeading"), [
      {
        kind: "fields",
        rows: [
          {
            label: t("tool"),
            value: `Proofmark ${r.tool.version}, playwright-core ${r.tool.playwrightCore}, Node ${r.tool.node}`,
          },
          { label: t("browser"), value: `${r.browser.version} — ${r.browser.userAgent}` },
          { label: t("browserFilesSha256"), value: bin, mono: true },
          {
            label: t("browserCommandLine"),
            value: r.browser.commandLine?.join(" ") ?? t("notReported"),
            mono: true,
          },
          {
            label: t("operatingSystem"),
            value: `${r.os.distribution ?? r.os.platform} ${r.os.release} ${r.os.arch}, host ${r.os.hostname}`,
          },
          { label: t("machineClockAtStart"), value: r.clock.machineTime },
          {
            label: t("againstTheChain"),
            value: r.clock.chain
              ? t("chainLatestBlock", {
                  blockNumber: r.clock.chain.blockNumber,
                  chainId: r.clock.chain.chainId,
                  timeUtc: formatUtc(r.clock.chain.timestamp),
                  offsetSeconds: r.clock.chain.offsetSeconds,
                })
              : r.clock.error
                ? t("notComparedError", { error: r.clock.error })
                : t("notCompared"),
          },
          ...timeSignatureRows(v, t),
          {
            label: t("proxyVariables"),
            value: Object.keys(r.proxy.environment).length
              ? Object.entries(r.proxy.environment)
                  .map(([k, x]) => `${k}=${x}`)
                  .join("\n")
              : t("none"),
          },
          {
            label: t("chromiumProxyFlags"),
            value: r.proxy.chromiumFlags === null ? t("notReported") : r.proxy.chromiumFlags.join(" ") || t("none"),
          },
          { label: t("nameResolutionOrder"), value: r.nsswitchHosts ?? "-", mono: true },
          {
            label: t("capturingHostSAddresses"),
            value: r.addresses.map((a) => `${a.interface} ${a.address}${a.internal ? " (internal)" : ""}`).join("\n"),
            mono: true,
          },
          ...sourceAddressRows(r, t),
          {
            label: t("limits"),
            value: t("limitsValue", {
              timeoutMs: r.limits.timeoutMs,
              settleMs: r.limits.settleMs,
              maxResponseBytes: r.limits.maxResponseBytes,
            }),
          },
        ],
      },
      {
        kind: "code",
        caption: t("etcHostsAtCaptureTime"),
        text: (r.hosts ?? "-").trimEnd(),
      },
      {
        kind: "code",
        caption: t("etcResolvConfAtCaptureTime"),
        text: (r.resolver ?? "-").trimEnd(),
      },
      {
        kind: "para",
        text: t("scriptsRunInThePages"),
      },
      ...r.scripts.map((s): ReportBlock => ({
        kind: "code",
        caption: `page ${s.page + 1}: ${s.purpose}`,
        text: s.source,
      })),
      { kind: "para", text: t("requestsThatFailedOrWereBlocked") },
      {
        kind: "list",
        items: r.failed.length
          ? r.failed.map((f) => `${f.method} ${f.url} — ${f.error}${f.blockedReason ? ` (${f.blockedReason})` : ""}`)
          : [t("none")],
      },
      { kind: "para", text: t("httpErrorsAndTruncatedResponses") },
      {
        kind: "list",
        items: [
          ...r.httpErrors.map((e) => `${e.status} ${e.url}`),
          ...r.truncated.map((cut) =>
            t("truncatedResponse", {
              reason: t(
                cut.reason === "length" ? "tooLong" : cut.reason === "time" ? "neverFinished" : "noLongerAvailable",
              ),
              url: cut.url,
              keptBytes: cut.keptBytes,
              receivedBytes: cut.receivedBytes ?? "?",
            }),
          ),
        ].concat(r.httpErrors.length + r.truncated.length ? [] : [t("none")]),
      },
      ...(r.workerScripts?.length
        ? [
            { kind: "para" as const, text: t("workerScripts") },
            {
              kind: "list" as const,
              items: r.workerScripts.map((w) => `${w.sha256}  ${w.size} B  ${w.url.slice(0, 200)}  (${w.target.type})`),
            },
          ]
        : []),
      { kind: "list", items: r.notes },
    ]);

    section(t("checklistHeading"), [
      {
        kind: "para",
        tone: r.clean.ok ? "ok" : "warn",
        text: r.clean.ok ? t("checklistPassed") : t("checklistFailed"),
      },
      ...r.clean.checks.map((c): ReportBlock => ({
        kind: "check",
        title: c.item,
        ok: c.ok,
        rows: [{ label: t("observed"), value: c.observed }],
      })),
    ]);
  }

  section(t("integrityHeading"), [
    {
      kind: "check",
      title: t("datapackageJsonAgainstDatapackageDigestJson"),
      ok: v.wacz.datapackageHash.ok,
      rows: [
        { label: t("expected"), value: v.wacz.datapackageHash.expected ?? "-", mono: true },
        { label: t("computed"), value: v.wacz.datapackageHash.actual ?? "-", mono: true },
      ],
    },
    {
      kind: "check",
      title: t(
        v.wacz.signature.mode === "identity" ? "signatureWaczSigningIdentity" : "signatureWaczSigningAnonymousEcdsa",
      ),
      ok: v.wacz.signature.ok,
      rows: [
        ...(v.wacz.signature.mode === "identity"
          ? [
              {
                label: t("identityDomainCertificate"),
                value: `${v.wacz.signature.domain ?? "-"} / ${v.wacz.signature.certificate?.sha256 ?? "-"}`,
                mono: true,
              },
            ]
          : []),
        {
          label: t("publicKeySha256"),
          value: v.wacz.signature.publicKeyFingerprint ?? "-",
          mono: true,
        },
        {
          label: t("curveCreated"),
          value: `${v.wacz.signature.curve ?? "-"} / ${v.wacz.signature.created ?? "-"}`,
        },
        ...(v.wacz.signature.reason ? [{ label: t("problem"), value: v.wacz.signature.reason }] : []),
      ],
    },
    ...(v.identity
      ? [
          {
            kind: "check" as const,
            title: t("identityTrustHeading"),
            ok: v.identity.ok,
            rows: [
              ...v.identity.steps.map((st) => ({
                label: t(IDENTITY_CHECK_TEXT[st.check]),
                value: `${st.ok ? "✓" : "✗"} ${st.detail ?? ""}`,
              })),
              { label: t("notChecked"), value: v.identity.notChecked.join("; ") },
            ],
          },
        ]
      : []),
    {
      kind: "check",
      title: t("filesAgainstDatapackageJson", { length: v.wacz.files.length }),
      ok: v.wacz.files.length > 0 && v.wacz.files.every((f) => f.ok),
      rows: v.wacz.files.map((f) => ({
        label: f.path,
        value: f.ok ? (f.actual ?? "") : `${f.problem}: ${f.expected ?? "-"} ≠ ${f.actual ?? "-"}`,
        mono: true,
      })),
    },
    {
      kind: "check",
      title: t("warcRecordsBlockAndPayloadDigests", { count: v.wacz.records.count }),
      ok: v.wacz.records.ok,
      rows: v.wacz.records.failures.length
        ? v.wacz.records.failures.map((f) => ({
            label: `${f.type} @${f.offset}`,
            value: `${f.uri ?? ""} ${f.problem}`,
            mono: true,
          }))
        : [{ label: t("result"), value: t("everyRecordMatchesItsDigests") }],
    },
    {
      kind: "check",
      title: t("cdxjIndexPointsAtTheRecords"),
      ok: v.wacz.index.ok,
      rows: [
        {
          label: t("lines"),
          value: `${v.wacz.index.lines}${v.wacz.index.problem ? ` — ${v.wacz.index.problem}` : ""}`,
        },
      ],
    },
    {
      kind: "check",
      title: t("anchorHeading"),
      ok: ev?.ok,
      rows: ev
        ? [
            { label: t("subject"), value: `datapackage-digest.json sha256 ${ev.file?.sha256}`, mono: true },
            ...(anchor
              ? [
                  {
                    label: t("chainBlockTime"),
                    value: `${anchor.chainId} / ${anchor.blockNumber} / ${formatUtc(anchor.timestamp)}`,
                  },
                  { label: t("transaction"), value: anchor.txHash, mono: true },
                  { label: t("registry"), value: anchor.registry, mono: true },
                ]
              : []),
            ...(ev.receipt.commitment.meta
              ? Object.entries(ev.receipt.commitment.meta).map(([k, x]) => ({
                  label: t("committed", { k }),
                  value: x,
                }))
              : []),
            { label: t("result"), value: ev.ok ? ev.message : `${ev.code}: ${ev.message}` },
          ]
        : [
            {
              label: t("result"),
              value: v.receiptError?.message ?? t("anchorNotChecked"),
            },
          ],
    },
  ]);

  section(t("establishesHeading"), [
    {
      kind: "para",
      text: t("established"),
    },
    {
      kind: "list",
      items: [t("notProvenWho"), t("notProvenWhat"), t("notProvenThat"), t("chainProvesWhen")],
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
    section(t("expertHeading"), [
      {
        kind: "code",
        caption: t("expertAnchoredFile"),
        text: `unzip -p ${q} datapackage-digest.json | sha256sum\n# ${rc.subject.sha256}`,
      },
      {
        kind: "code",
        caption: t("expertDigestFile"),
        text: `unzip -p ${q} datapackage.json | sha256sum\n# ${(v.wacz.datapackageHash.expected ?? "").replace(/^sha256:/, "")}`,
      },
      {
        kind: "code",
        caption: t("expertFileDigests"),
        text: `unzip -o ${q} -d capture && cd capture\n${v.wacz.files.map((f) => `sha256sum ${f.path}   # ${(f.expected ?? "").replace(/^sha256:/, "")}`).join("\n")}`,
      },
      {
        kind: "para",
        text: t("expertLeafAndPath", { leaf: d.leaf, length: steps.length, root: rc.proof.root }),
      },
      {
        kind: "code",
        caption: t("expertOneCall", { chainId: anchor.chainId, ANCHOR_OF_SIGNATURE }),
        text: `curl -s -H 'content-type: application/json' --data '{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to":"${anchor.registry}","data":"${anchorOfCalldata(rc.proof.root)}"},"latest"]}' "$RPC"\n# result = 0x followed by:\n# ${words[0]}   (submitter)\n# ${words[1]}   (time ${anchor.timestamp} = ${formatUtc(anchor.timestamp)})\n# ${words[2]}   (block ${anchor.blockNumber})`,
      },
      {
        kind: "para",
        text: t("expertSignature"),
      },
    ]);
  }
  return {
    lang,
    title: t("reportTitle"),
    verdict: {
      status: passed
        ? "verified"
        : pending
          ? "pending"
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
    footer: t("reportFooter", { name }),
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
  const title = translate(CAPTURE_REPORT_TEXTS, model.lang, "screenshots");
  return html
    .replace(csp, `${csp}; img-src data:`)
    .replace('\n<p class="meta">', `\n<h2 id="screenshots">${title}</h2>\n${figures}\n<p class="meta">`);
}
