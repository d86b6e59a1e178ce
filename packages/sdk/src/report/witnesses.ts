import type { VerificationResult } from "../core/engine";
import { translator, type Lang } from "../core/i18n";
import type { ReportBlock } from "./model";
import { WITNESS_REPORT_TEXTS } from "./texts/witnesses";

/**
 * The report's section on independent witnesses (receipt v2): every witness with its own verdict —
 * each chain's anchor, each RFC 3161 token, each signed statement — every clock (block time per
 * chain, each TSA's genTime) and their spread, and the validation-time policy. The calendar's key
 * and the submitter's key are named as the two different things they are.
 */
export function witnessBlocks(result: VerificationResult, lang: Lang): ReportBlock[] | undefined {
  if (result.receipt.version !== 2) return undefined;
  const t = translator(WITNESS_REPORT_TEXTS, lang);
  const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();
  const verdict = (ok: boolean, status: string) =>
    ok ? t("verified") : status === "unverifiable" ? t("notChecked") : status.toUpperCase();
  const blocks: ReportBlock[] = [];
  const p = result.policy;
  const which =
    p.policy === "all" ? t("policyAll") : p.policy === "any" ? t("policyAny") : t("policyN", { n: p.policy });
  blocks.push({
    kind: "fields",
    rows: [
      {
        label: t("policyLabel"),
        value: t("policyValue", { which, verified: p.verified, witnesses: p.witnesses, required: p.required }),
      },
      { label: t("validationTimeLabel"), value: t("validationTimeValue") },
    ],
  });
  for (const a of result.anchors)
    blocks.push({
      kind: "check",
      title: t("anchorTitle", { chainId: a.anchor.chainId, blockNumber: a.anchor.blockNumber }),
      ok: a.ok,
      rows: [
        { label: t("verdictLabel"), value: `${verdict(a.ok, a.status)}${a.code ? ` (${a.code})` : ""}: ${a.message}` },
        { label: t("blockTimeLabel"), value: iso(a.anchor.timestamp) },
        { label: t("transactionLabel"), value: a.anchor.txHash, mono: true },
        { label: t("registryLabel"), value: a.anchor.registry, mono: true },
      ],
    });
  for (const ts of result.timestamps)
    blocks.push({
      kind: "check",
      title: t("timestampTitle", { tsa: ts.info?.tsa ?? ts.timestamp.tsa }),
      ok: ts.ok,
      rows: [
        {
          label: t("verdictLabel"),
          value: `${verdict(ts.ok, ts.status)}${ts.code ? ` (${ts.code})` : ""}: ${ts.message}`,
        },
        {
          label: t("genTimeLabel"),
          value: ts.info?.genTime ?? t("genTimeUnverified", { genTime: ts.timestamp.genTime }),
        },
        ...(ts.info ? [{ label: t("certificateChainLabel"), value: ts.info.chain.join(" → ") }] : []),
        { label: t("fetchedFromLabel"), value: ts.timestamp.tsa, mono: true },
      ],
    });
  for (const a of result.attestations) {
    const m = a.attestation.message as { receivedAt?: number; statement?: string; time?: number };
    const signer = a.signer ?? a.attestation.signer;
    blocks.push({
      kind: "check",
      title: a.role === "submitter" ? t("submitterTitle", { signer }) : t("calendarTitle", { signer }),
      ok: a.ok,
      rows: [
        {
          label: t("verdictLabel"),
          value: `${a.ok ? t("signatureValid") : t("signatureInvalid")}${a.code ? ` (${a.code})` : ""}: ${a.message}`,
        },
        a.role === "submitter"
          ? {
              label: t("statementLabel"),
              value: t("statementValue", { statement: m.statement ?? "", time: iso(m.time ?? 0) }),
            }
          : {
              label: t("acknowledgementLabel"),
              value: t("acknowledgementValue", { time: new Date(m.receivedAt ?? 0).toISOString() }),
            },
      ],
    });
  }
  const clocks = [
    ...result.anchors
      .filter((a) => a.ok)
      .map((a) => ({ who: t("chainClock", { chainId: a.anchor.chainId }), t: a.anchor.timestamp })),
    ...result.timestamps
      .filter((ts) => ts.ok && ts.info)
      .map((ts) => ({ who: t("tsaClock", { tsa: ts.info!.tsa }), t: Date.parse(ts.info!.genTime) / 1000 })),
  ];
  const spread =
    clocks.length > 1 ? Math.max(...clocks.map((c) => c.t)) - Math.min(...clocks.map((c) => c.t)) : undefined;
  blocks.push({
    kind: "list",
    items: [
      ...clocks.map((c) => `${c.who}: ${iso(c.t)}`),
      spread !== undefined ? t("clockSpread", { seconds: spread }) : t("oneClock"),
    ],
  });
  return blocks;
}
