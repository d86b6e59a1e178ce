import type { Catalogue } from "../../core/i18n";

/** The report's section on independent witnesses (receipt v2): each witness's verdict, the clocks and their spread, the validation policy. */
export const WITNESS_REPORT_TEXTS = {
  heading: { zh: "独立见证与时钟", en: "Independent witnesses and clocks" },
  verified: { zh: "已核验", en: "verified" },
  notChecked: { zh: "未能核验", en: "NOT CHECKED" },
  policyLabel: { zh: "核验策略", en: "Validation policy" },
  policyAll: { zh: "全部", en: "every" },
  policyAny: { zh: "至少一个", en: "at least one" },
  policyN: { zh: "至少 {n} 个", en: "at least {n}" },
  policyValue: {
    zh: "{which}时间见证（链上锚定与 RFC 3161 时间戳）须核验通过：{witnesses} 个中 {verified} 个通过，要求 {required} 个。与凭证矛盾的见证无论策略如何都使核验失败。",
    en: "{which} time witness(es) (chain anchors and RFC 3161 tokens) must verify: {verified} of {witnesses} verified, {required} required. A witness that contradicts the receipt fails it whatever the policy.",
  },
  validationTimeLabel: { zh: "时间戳验证时点", en: "Validation time (RFC 3161)" },
  validationTimeValue: {
    zh: "每个时间戳按其 genTime 验证：TSA 证书及证书链在该时点须有效；未检查吊销状态（未获取 CRL 或 OCSP）",
    en: "each token is validated at its own genTime: the TSA certificate and its chain must have been valid then; revocation is not checked (no CRL or OCSP is fetched)",
  },
  anchorTitle: {
    zh: "链 {chainId}：区块 {blockNumber} 中的锚定",
    en: "Chain {chainId}: anchor in block {blockNumber}",
  },
  verdictLabel: { zh: "结论", en: "Verdict" },
  blockTimeLabel: { zh: "区块时间", en: "Block time" },
  transactionLabel: { zh: "交易", en: "Transaction" },
  registryLabel: { zh: "合约", en: "Registry" },
  timestampTitle: { zh: "RFC 3161 时间戳：{tsa}", en: "RFC 3161 time-stamp: {tsa}" },
  genTimeLabel: { zh: "genTime（TSA 的时钟）", en: "genTime (the TSA's clock)" },
  genTimeUnverified: { zh: "{genTime}（凭证所称，未核验）", en: "{genTime} (as the receipt states it, not verified)" },
  certificateChainLabel: { zh: "证书链", en: "Certificate chain" },
  fetchedFromLabel: { zh: "来源", en: "Fetched from" },
  submitterTitle: { zh: "提交者签名：{signer}", en: "Signed by {signer} (submitter)" },
  calendarTitle: { zh: "存证服务（calendar）确认：{signer}", en: "Acknowledged by the calendar {signer}" },
  signatureValid: { zh: "签名有效", en: "valid signature" },
  signatureInvalid: { zh: "签名无效", en: "INVALID" },
  statementLabel: { zh: "声明（提交者的密钥）", en: "Statement (the submitter's key)" },
  statementValue: {
    zh: "“{statement}”，提交者自称时间 {time}（声明，非见证时间）",
    en: '"{statement}", at {time} by the submitter\'s own clock (a claim, not a witnessed time)',
  },
  acknowledgementLabel: { zh: "确认（存证服务的密钥）", en: "Acknowledgement (the calendar's key)" },
  acknowledgementValue: {
    zh: "存证服务时钟记录的接收时间 {time}；存证服务的密钥不是提交者的密钥",
    en: "received at {time} by the calendar's clock; the calendar's key is not the submitter's key",
  },
  chainClock: { zh: "链 {chainId} 区块时间", en: "chain {chainId} block time" },
  tsaClock: { zh: "TSA {tsa} genTime", en: "TSA {tsa} genTime" },
  clockSpread: { zh: "已核验时钟之间的差：{seconds} 秒", en: "spread between the verified clocks: {seconds} s" },
  oneClock: { zh: "仅一个已核验时钟", en: "only one verified clock" },
} satisfies Catalogue;
