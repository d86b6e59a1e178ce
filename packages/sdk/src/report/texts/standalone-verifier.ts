import type { Catalogue, Texts } from "../../core/i18n";
import type { StepName } from "../../core/verification";

/** The standalone verifier page (`verifier.html`, report/verifier-browser.ts): every text in English and Chinese at once. */
export const STANDALONE_VERIFIER_TEXTS = {
  verified: {
    zh: "核验通过：该文件不晚于 {timeCst}（北京时间）已经存在。",
    en: "VERIFIED: the file matches the receipt and existed no later than {timeUtc} (block {blockNumber} on chain {chainId}, {confirmations} confirmation(s)).{notChecked}",
  },
  notChecked: { zh: "未核验：{items}。", en: " Not checked: {items}." },
  notFinal: { zh: "尚未最终确定，请稍后重新核验。", en: "NOT YET FINAL: {message}." },
  pending: { zh: "待定：尚未锚定，不能作为已核验的时间证明。", en: "PENDING, NOT VERIFIED: {message}." },
  mismatch: { zh: "不一致：文件或凭证被修改，或链上记录与凭证不符。", en: "DOES NOT MATCH ({code}): {message}." },
  notAnchored: { zh: "未锚定：根哈希未记录在链上。", en: "NOT ANCHORED ({code}): {message}." },
  unverifiable: { zh: "未能核验。", en: "NOT VERIFIED ({code}): {message}." },
  tokensOnly: {
    zh: "未能核验：该凭证没有区块链锚定，只有 RFC 3161 时间戳，本页面无法核验时间戳（没有受信任的 TSA 根证书）；请用命令行 proofmark verify --tsa-trust 核验。",
    en: "NOT VERIFIED HERE ({code}): this receipt has no blockchain anchor, only RFC 3161 time-stamp token(s), which this page cannot check (it has no trusted TSA root certificate); check it with the command-line verifier: proofmark verify FILE --tsa-trust TSA-ROOT.pem. {message}.",
  },
  chooseFiles: { zh: "请选择文件及其凭证。", en: "Choose the file and its receipt." },
  enterRpcUrl: { zh: "请输入该链的 JSON-RPC 地址", en: "enter the JSON-RPC URL of the receipt's chain" },
  // the page itself (report/verifier.ts)
  pageTitle: { zh: "Proofmark 独立核验", en: "Standalone verifier" },
  privacy: {
    zh: "文件只在本机计算哈希，不会上传；本页面只访问您填写的区块链 JSON-RPC 地址。",
    en: "The file is hashed on this device and never leaves it; this page talks only to the JSON-RPC URL you enter. No Proofmark server is needed.",
  },
  fileLabel: { zh: "文件", en: "File" },
  receiptLabel: { zh: "存证凭证", en: "Receipt (.proof.json)" },
  pasteReceipt: { zh: "…或粘贴凭证 JSON", en: "or paste the receipt JSON" },
  rpcLabel: { zh: "区块链 JSON-RPC 地址", en: "JSON-RPC URL of the receipt's chain" },
  verifyButton: { zh: "核验", en: "Verify" },
  notCheckedYet: { zh: "尚未核验", en: "Not checked yet" },
  algorithm: { zh: "算法", en: "Algorithm" },
  algorithmText: {
    zh: 'leaf = keccak256(keccak256(keccak256("proofmark.evidence.leaf.v1") ‖ sha256(file) ‖ salt ‖ keccak256(JSON(meta, keys sorted))))；node = keccak256(min ‖ max)；合约的运行时代码必须是已知的 EvidenceRegistry；其 anchorOf(bytes32) 必须返回凭证中的提交者、时间和区块；该区块的哈希和时间必须与凭证一致；根的 EvidenceAnchored 日志（leafCount 与凭证一致）必须在该区块中，并来自凭证中的交易。',
    en: "leaf = keccak256(keccak256(keccak256(\"proofmark.evidence.leaf.v1\") ‖ sha256(file) ‖ salt ‖ keccak256(JSON(meta, keys sorted)))); node = keccak256(min ‖ max); the registry's runtime code must be a known EvidenceRegistry; its anchorOf(bytes32) must return the receipt's submitter, time and block; the block must have the receipt's hash and time; the EvidenceAnchored log of the root (with the receipt's leafCount) must be in that block, from the receipt's transaction.",
  },
} satisfies Catalogue;

/** The title of each step of the verification engine on the standalone page (shorter: English / Chinese on one line). */
export const STANDALONE_STEP_TITLES: Record<StepName, Texts> = {
  receipt: { zh: "凭证", en: "receipt" },
  digest: { zh: "文件的 SHA-256", en: "SHA-256 of the file" },
  leaf: { zh: "叶子", en: "leaf from digest, salt, metadata" },
  path: { zh: "默克尔路径", en: "Merkle path to the root" },
  "chain-id": { zh: "链 ID", en: "eth_chainId" },
  "registry-code": { zh: "合约代码", en: "registry code (eth_getCode)" },
  anchor: { zh: "合约记录", en: "anchorOf(root) — eth_call" },
  block: { zh: "区块 — eth_getBlockByNumber", en: "block header" },
  log: { zh: "锚定日志", en: "EvidenceAnchored log in the block" },
  tx: { zh: "交易", en: "transaction in the block" },
  finality: { zh: "确认数与最终性", en: "confirmations, finality" },
  timestamp: { zh: "RFC 3161 时间戳", en: "RFC 3161 time-stamp token" },
  attestation: { zh: "签名声明", en: "signed statement (EIP-712)" },
};
