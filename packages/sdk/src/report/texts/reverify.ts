import type { Catalogue } from "../../core/i18n";

/** Section 7 of the evidence report: how an expert re-verifies with sha256sum, cast keccak and curl. */
export const REVERIFY_TEXTS = {
  algorithm: {
    zh: "算法说明：(a) 文件的 SHA-256 必须等于凭证记录值；(b) 元数据写成键按顺序排列、无空格的 JSON，用 keccak-256 计算摘要；(c) 叶子 = 对 128 字节“域标签 ‖ SHA-256 ‖ 盐值 ‖ 元数据摘要”连续做两次 keccak-256；(d) 将叶子依次与默克尔路径中的每个哈希合并：两个 32 字节值按从小到大拼接后做 keccak-256，最后结果必须等于凭证中的根；(e) 凭证所指链上的存证合约对该根返回的提交者、时间和区块必须与凭证一致，且该区块的哈希与凭证一致。",
    en: "The algorithm in plain words: (a) the SHA-256 of the file must equal the receipt's; (b) the metadata is written as JSON with its keys sorted and no spaces, and hashed with keccak-256; (c) the leaf is keccak-256 applied twice to the 128 bytes domain tag ‖ SHA-256 ‖ salt ‖ metadata digest; (d) the leaf is combined with each hash of the Merkle path in turn: the two 32-byte values, smaller first, are concatenated and hashed with keccak-256; the last result must be the receipt's root; (e) the registry contract on the receipt's chain must return, for that root, the submitter, time and block of the receipt; the block must have the receipt's hash.",
  },
  keccakIsNotSha3: {
    zh: "Keccak-256 是以太坊使用的哈希（如 Foundry 的 `cast keccak`、web3/ethers 的 `keccak256`、pycryptodome 的 `keccak.new(digest_bits=256)`），不是 `sha3sum -a 256` 的 NIST SHA3-256。下列十六进制值应按字节计算哈希，而非按文本。",
    en: "Keccak-256 is Ethereum's hash (e.g. `cast keccak` from Foundry, web3/ethers `keccak256`, pycryptodome `keccak.new(digest_bits=256)`); it is NOT the NIST SHA3-256 of `sha3sum -a 256`. Hex values below are hashed as bytes, not as text.",
  },
  step1Digest: {
    zh: "第 1 步 — 文件摘要（结果应为第二行的值）",
    en: "Step 1 — the file's digest (expect the value on the second line)",
  },
  step2MetaDigest: {
    zh: "第 2 步 — 元数据摘要：对以下 UTF-8 文本精确计算 keccak-256",
    en: "Step 2 — metadata digest: keccak-256 of this exact UTF-8 text",
  },
  step3Leaf: {
    zh: "第 3 步 — 叶子：对 128 字节（域标签、SHA-256、盐值、元数据摘要）计算 keccak-256，再计算一次",
    en: "Step 3 — leaf: keccak-256 of the 128 bytes (domain, SHA-256, salt, metaDigest), then keccak-256 again",
  },
  step4MerkleStep: {
    zh: "第 4.{step} 步 — 默克尔第 {step} 步：较小节点在前、较大节点在后，计算 keccak-256",
    en: "Step 4.{step} — Merkle step {step}: keccak-256 of the smaller node followed by the larger",
  },
  step4PathEmpty: {
    zh: "第 4 步 — 默克尔路径为空：叶子即为根。",
    en: "Step 4 — the Merkle path is empty: the leaf is the root.",
  },
  step5AskTheChain: {
    zh: "第 5 步 — 根必须为 {root}。然后用普通 curl 向链 {chainId} 的任意 JSON-RPC 节点（不必是 Proofmark 的）查询：",
    en: "Step 5 — the root must be {root}. Now ask any JSON-RPC endpoint of chain {chainId} (not necessarily Proofmark's) with plain curl:",
  },
  chainIdCall: { zh: "链 ID（结果应为链 ID 的十六进制）", en: "the chain's id (expect the hex of the chain id)" },
  anchorOfCall: {
    zh: "合约对该根的记录：eth_call 调用 {ANCHOR_OF_SIGNATURE}，选择器 {ANCHOR_OF_SELECTOR} 后接根哈希",
    en: "the registry's record of the root: eth_call of {ANCHOR_OF_SIGNATURE}, selector {ANCHOR_OF_SELECTOR} followed by the root",
  },
  word1Submitter: {
    zh: "第 1 个字：后 20 字节为提交者 {submitter}",
    en: "word 1, last 20 bytes: the submitter {submitter}",
  },
  word2AnchoredAt: {
    zh: "第 2 个字：锚定时间（Unix 秒），0x{toString} = {timestamp} = {timeUtc}（全零表示从未锚定）",
    en: "word 2: the anchoring time in Unix seconds, 0x{toString} = {timestamp} = {timeUtc} (all zero: never anchored)",
  },
  word3BlockNumber: {
    zh: "第 3 个字：区块号，0x{toString} = {blockNumber}",
    en: "word 3: the block number, 0x{toString} = {blockNumber}",
  },
  blockCall: { zh: "锚定区块（哈希和时间戳应一致）", en: "the anchoring block (expect its hash and timestamp)" },
  finalityCalls: { zh: "最终性与确认数", en: "finality and confirmations" },
  contractVerifyAndTx: {
    zh: "此外，合约本身可以检查默克尔证明：verify(bytes32 leaf, bytes32[] proof, bytes32 root) 返回锚定时间（{timestamp}）或 0。交易 {txHash} 可通过 eth_getTransactionReceipt 查询：它调用存证合约并发出 EvidenceAnchored(root, submitter, leafCount) 事件。",
    en: "Optionally, the contract checks the Merkle proof itself: verify(bytes32 leaf, bytes32[] proof, bytes32 root) returns the anchoring time ({timestamp}) or 0. The transaction {txHash} can be looked up with eth_getTransactionReceipt: it calls the registry and emits EvidenceAnchored(root, submitter, leafCount).",
  },
} satisfies Catalogue;
