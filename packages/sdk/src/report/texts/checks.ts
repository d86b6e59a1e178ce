import type { Catalogue, Texts } from "../../core/i18n";
import type { StepName } from "../../core/verification";

/** Section 5 of the evidence report, how it was checked: each computation and each on-chain read with what it found. */
export const CHECK_TEXTS = {
  digestCheck: { zh: "1. 计算文件的 SHA-256 并与凭证比对", en: "1. SHA-256 of the file, compared with the receipt" },
  computedNow: { zh: "本次计算", en: "computed now" },
  inTheReceipt: { zh: "凭证记录", en: "in the receipt" },
  leafCheck: { zh: "2. 由摘要、盐值和元数据计算叶子", en: "2. Leaf from the digest, the salt and the metadata" },
  metadataJson: { zh: "元数据 JSON", en: "metadata JSON" },
  leafComputed: { zh: "计算所得叶子", en: "leaf computed" },
  leafInTheReceipt: { zh: "凭证中的叶子", en: "leaf in the receipt" },
  merkleStep: {
    zh: "3.{step}. 默克尔路径第 {step} 步（共 {steps} 步）",
    en: "3.{step}. Merkle step {step} of {steps}",
  },
  node: { zh: "节点", en: "node" },
  sibling: { zh: "兄弟节点", en: "sibling" },
  merklePathEmpty: {
    zh: "3. 默克尔路径为空：该文件单独存证，叶子即为根。",
    en: "3. The Merkle path is empty: the file was stamped alone, its leaf is the root.",
  },
  rootCheck: { zh: "4. 根哈希", en: "4. Root" },
  computed: { zh: "计算所得", en: "computed" },
  digestDiffersChainNotChecked: {
    zh: "文件摘要与凭证不同，因此未继续核验叶子、默克尔路径和链上记录：任何链上记录都不能使不同的文件相符。",
    en: "The file's digest differs from the receipt's, so the leaf, the Merkle path and the chain were not checked: no chain record can make a different file match.",
  },
  onChainReads: {
    zh: "5.{anchorNumber}. 链上读取，锚定 {anchorNumber}：链 {chainId}，合约 {registry}",
    en: "5.{anchorNumber}. On-chain reads, anchor {anchorNumber}: chain {chainId}, registry {registry}",
  },
  expectedReceipt: { zh: "预期（凭证）", en: "expected (receipt)" },
  expectedAnchor: {
    zh: "提交者 {submitter}，时间 {timestamp}，区块 {blockNumber}，哈希 {blockHash}，交易 {txHash}",
    en: "submitter {submitter}, time {timestamp}, block {blockNumber}, hash {blockHash}, transaction {txHash}",
  },
  rpcEndpoints: { zh: "RPC 节点", en: "RPC endpoints" },
  none: { zh: "无", en: "none" },
  confirmations: { zh: "确认数", en: "confirmations" },
  result: { zh: "结果", en: "result" },
  rpcEndpoint: { zh: "RPC 节点 {url}", en: "RPC endpoint {url}" },
  asked: { zh: "查询", en: "asked" },
  endpointsAgree: {
    zh: "独立查询并交叉比对了 {endpoints} 个节点的每一项事实：其回答一致。",
    en: "{endpoints} endpoints were queried independently and every fact was cross-checked: their answers agree.",
  },
  endpointsDisagree: {
    zh: "独立查询并交叉比对了 {endpoints} 个节点的每一项事实：其回答不一致。",
    en: "{endpoints} endpoints were queried independently and every fact was cross-checked: their answers DISAGREE.",
  },
  oneEndpoint: {
    zh: "本次只查询了一个 RPC 节点。使用不同运营者的多个节点重复核验可以防范节点作假。",
    en: "One RPC endpoint was queried. Repeating the check with endpoints run by different operators (several endpoints) guards against a dishonest endpoint.",
  },
  notChecked: { zh: "未核验", en: "NOT CHECKED" },
  error: { zh: "错误", en: "error" },
} satisfies Catalogue;

/** The title of each step of the verification engine (core/verification.ts), as the report's check list names it. */
export const STEP_TITLES: Record<StepName, Texts> = {
  receipt: { zh: "凭证", en: "receipt" },
  digest: { zh: "文件的 SHA-256", en: "SHA-256 of the file" },
  leaf: { zh: "叶子", en: "leaf" },
  path: { zh: "默克尔路径", en: "Merkle path" },
  "chain-id": { zh: "eth_chainId：节点属于凭证所指的链", en: "eth_chainId: the endpoint serves the receipt's chain" },
  "registry-code": {
    zh: "eth_getCode：合约运行时代码为已知的存证合约",
    en: "eth_getCode: the registry's runtime code is a known EvidenceRegistry",
  },
  anchor: { zh: "eth_call anchorOf(root)：合约记录", en: "eth_call anchorOf(root): the registry's record" },
  block: {
    zh: "eth_getBlockByNumber：锚定区块的哈希和时间",
    en: "eth_getBlockByNumber: the anchoring block's hash and time",
  },
  log: {
    zh: "eth_getLogs：该区块包含此根的 EvidenceAnchored 日志",
    en: "eth_getLogs: the EvidenceAnchored log of this root is in that block",
  },
  tx: { zh: "凭证中的交易属于该区块", en: "the receipt's transaction is in that block" },
  finality: { zh: "确认数与最终性", en: "confirmations and finality" },
  timestamp: { zh: "RFC 3161 时间戳", en: "RFC 3161 time-stamp token" },
  attestation: { zh: "签名声明（EIP-712）", en: "signed statement (EIP-712)" },
};
