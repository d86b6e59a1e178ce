import type { VerificationResult } from "../core/engine";
import { bilingual, type Lang } from "../core/i18n";
import type { ReportBlock } from "./model";

/**
 * The report's section on independent witnesses (receipt v2): every witness with its own verdict —
 * each chain's anchor, each RFC 3161 token, each signed statement — every clock (block time per
 * chain, each TSA's genTime) and their spread, and the validation-time policy. The calendar's key
 * and the submitter's key are named as the two different things they are.
 */
export function witnessBlocks(result: VerificationResult, lang: Lang): ReportBlock[] | undefined {
  if (result.receipt.version !== 2) return undefined;
  const T = bilingual(lang);
  const verdict = (ok: boolean, status: string) =>
    ok ? T("verified", "已核验") : status === "unverifiable" ? T("NOT CHECKED", "未能核验") : status.toUpperCase();
  const blocks: ReportBlock[] = [];
  const p = result.policy;
  blocks.push({
    kind: "fields",
    rows: [
      {
        label: T("Validation policy", "核验策略"),
        value: T(
          `${p.policy === "all" ? "every" : p.policy === "any" ? "at least one" : `at least ${p.policy}`} time witness(es) (chain anchors and RFC 3161 tokens) must verify: ${p.verified} of ${p.witnesses} verified, ${p.required} required. A witness that contradicts the receipt fails it whatever the policy.`,
          `${p.policy === "all" ? "全部" : p.policy === "any" ? "至少一个" : `至少 ${p.policy} 个`}时间见证（链上锚定与 RFC 3161 时间戳）须核验通过：${p.witnesses} 个中 ${p.verified} 个通过，要求 ${p.required} 个。与凭证矛盾的见证无论策略如何都使核验失败。`,
        ),
      },
      {
        label: T("Validation time (RFC 3161)", "时间戳验证时点"),
        value: T(
          "each token is validated at its own genTime: the TSA certificate and its chain must have been valid then; revocation is not checked (no CRL or OCSP is fetched)",
          "每个时间戳按其 genTime 验证：TSA 证书及证书链在该时点须有效；未检查吊销状态（未获取 CRL 或 OCSP）",
        ),
      },
    ],
  });
  for (const a of result.anchors)
    blocks.push({
      kind: "check",
      title: T(
        `Chain ${a.anchor.chainId}: anchor in block ${a.anchor.blockNumber}`,
        `链 ${a.anchor.chainId}：区块 ${a.anchor.blockNumber} 中的锚定`,
      ),
      ok: a.ok,
      rows: [
        {
          label: T("Verdict", "结论"),
          value: `${verdict(a.ok, a.status)}${a.code ? ` (${a.code})` : ""}: ${a.message}`,
        },
        { label: T("Block time", "区块时间"), value: new Date(a.anchor.timestamp * 1000).toISOString() },
        { label: T("Transaction", "交易"), value: a.anchor.txHash, mono: true },
        { label: T("Registry", "合约"), value: a.anchor.registry, mono: true },
      ],
    });
  for (const t of result.timestamps)
    blocks.push({
      kind: "check",
      title: T(
        `RFC 3161 time-stamp: ${t.info?.tsa ?? t.timestamp.tsa}`,
        `RFC 3161 时间戳：${t.info?.tsa ?? t.timestamp.tsa}`,
      ),
      ok: t.ok,
      rows: [
        {
          label: T("Verdict", "结论"),
          value: `${verdict(t.ok, t.status)}${t.code ? ` (${t.code})` : ""}: ${t.message}`,
        },
        {
          label: T("genTime (the TSA's clock)", "genTime（TSA 的时钟）"),
          value:
            t.info?.genTime ??
            `${t.timestamp.genTime} (${T("as the receipt states it, not verified", "凭证所称，未核验")})`,
        },
        ...(t.info ? [{ label: T("Certificate chain", "证书链"), value: t.info.chain.join(" → ") }] : []),
        { label: T("Fetched from", "来源"), value: t.timestamp.tsa, mono: true },
      ],
    });
  for (const a of result.attestations) {
    const m = a.attestation.message as { receivedAt?: number; statement?: string; time?: number };
    blocks.push({
      kind: "check",
      title:
        a.role === "submitter"
          ? T(
              `Signed by ${a.signer ?? a.attestation.signer} (submitter)`,
              `提交者签名：${a.signer ?? a.attestation.signer}`,
            )
          : T(
              `Acknowledged by the calendar ${a.signer ?? a.attestation.signer}`,
              `存证服务（calendar）确认：${a.signer ?? a.attestation.signer}`,
            ),
      ok: a.ok,
      rows: [
        {
          label: T("Verdict", "结论"),
          value: `${a.ok ? T("valid signature", "签名有效") : "INVALID"}${a.code ? ` (${a.code})` : ""}: ${a.message}`,
        },
        a.role === "submitter"
          ? {
              label: T("Statement (the submitter's key)", "声明（提交者的密钥）"),
              value: T(
                `"${m.statement}", at ${new Date((m.time ?? 0) * 1000).toISOString()} by the submitter's own clock (a claim, not a witnessed time)`,
                `"${m.statement}"，提交者自称时间 ${new Date((m.time ?? 0) * 1000).toISOString()}（声明，非见证时间）`,
              ),
            }
          : {
              label: T("Acknowledgement (the calendar's key)", "确认（存证服务的密钥）"),
              value: T(
                `received at ${new Date(m.receivedAt ?? 0).toISOString()} by the calendar's clock; the calendar's key is not the submitter's key`,
                `存证服务时钟记录的接收时间 ${new Date(m.receivedAt ?? 0).toISOString()}；存证服务的密钥不是提交者的密钥`,
              ),
            },
      ],
    });
  }
  const clocks = [
    ...result.anchors
      .filter((a) => a.ok)
      .map((a) => ({
        who: T(`chain ${a.anchor.chainId} block time`, `链 ${a.anchor.chainId} 区块时间`),
        t: a.anchor.timestamp,
      })),
    ...result.timestamps
      .filter((t) => t.ok && t.info)
      .map((t) => ({ who: `TSA ${t.info!.tsa} genTime`, t: Date.parse(t.info!.genTime) / 1000 })),
  ];
  const spread =
    clocks.length > 1 ? Math.max(...clocks.map((c) => c.t)) - Math.min(...clocks.map((c) => c.t)) : undefined;
  blocks.push({
    kind: "list",
    items: [
      ...clocks.map((c) => `${c.who}: ${new Date(c.t * 1000).toISOString()}`),
      spread !== undefined
        ? T(`spread between the verified clocks: ${spread} s`, `已核验时钟之间的差：${spread} 秒`)
        : T("only one verified clock", "仅一个已核验时钟"),
    ],
  });
  return blocks;
}
