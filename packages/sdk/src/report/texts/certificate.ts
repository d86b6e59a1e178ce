import type { Catalogue } from "../../core/i18n";

/** The printable certificate (`certificate FILE`): every text is shown in both languages, Chinese first. */
export const CERTIFICATE_TEXTS = {
  documentTitle: { zh: "存证证书", en: "Certificate of timestamp" },
  heading: { zh: "区块链存证证书", en: "Certificate of Blockchain Timestamp" },
  certifies: {
    zh: "兹证明：下列文件的数字指纹已于 {time} 写入区块链，该文件不晚于此时间已经存在。",
    en: "This certifies that the fingerprint of the file below was recorded on a blockchain at {time}: the file existed no later than that time.",
  },
  title: { zh: "作品标题", en: "Title" },
  author: { zh: "作者", en: "Author" },
  file: { zh: "文件名", en: "File" },
  size: { zh: "文件大小", en: "Size" },
  anchored: { zh: "存证时间", en: "Anchored" },
  chain: { zh: "区块链", en: "Chain" },
  block: { zh: "区块", en: "Block" },
  transaction: { zh: "交易", en: "Transaction" },
  registry: { zh: "存证合约", en: "Registry" },
  submitter: { zh: "提交地址", en: "Submitter" },
  root: { zh: "根哈希", en: "Root" },
  bytes: { zh: "字节", en: "bytes" },
  chainFallback: { zh: "链 {chainId}", en: "chain {chainId}" },
  scanToVerify: { zh: "扫码核验", en: "Scan to verify" },
  note: {
    zh: "说明：本证书是链上记录的摘要，证据本身是文件及其存证凭证（.proof.json）。核验时以文件重新计算 SHA-256，并查询上述区块链上的存证合约（可使用 proofmark verify、独立核验页面或任意以太坊 JSON-RPC 节点）。本证书不证明作者身份或文件在存证前的真实性；标题与作者为提交者自行声明。",
    en: "Note: this certificate summarises an on-chain record; the evidence is the file and its receipt (.proof.json). To verify, recompute the file's SHA-256 and query the registry on the chain above (proofmark verify, the standalone verifier page, or any Ethereum JSON-RPC endpoint). It does not establish authorship or authenticity before anchoring; title and author are as declared by the submitter.",
  },
} satisfies Catalogue;
