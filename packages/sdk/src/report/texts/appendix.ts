import type { Catalogue } from "../../core/i18n";

/** Section 8 of the evidence report, the technical appendix: the registry contract, the hash constructions and the receipt format. */
export const APPENDIX_TEXTS = {
  registryContract: {
    zh: "存证合约（EvidenceRegistry，Solidity 编写，无所有者、不可升级、不调用外部合约）：",
    en: "The registry contract (EvidenceRegistry, Solidity, no owner, no upgrade, no external calls):",
  },
  anchorFunction: {
    zh: "anchor(bytes32 root, uint256 leafCount)：在一个存储槽中记录该根首次锚定时的发送者、区块时间戳和区块号；再次锚定同一根会以 EvidenceAlreadyAnchored(root, anchoredAt) 回滚，因此记录不能被覆盖或倒签。发出 EvidenceAnchored(root, submitter, leafCount) 事件。",
    en: "anchor(bytes32 root, uint256 leafCount): records, in one storage slot, the sender, the block timestamp and the block number of the FIRST anchoring of root; anchoring the same root again reverts with EvidenceAlreadyAnchored(root, anchoredAt), so a record can never be overwritten or back-dated. Emits EvidenceAnchored(root, submitter, leafCount).",
  },
  anchorOfFunction: {
    zh: "anchorOf(bytes32 root) → (address submitter, uint40 anchoredAt, uint56 blockNumber)：返回该记录；从未锚定时全为零。",
    en: "anchorOf(bytes32 root) → (address submitter, uint40 anchoredAt, uint56 blockNumber): the record; all zero when the root was never anchored.",
  },
  verifyFunction: {
    zh: "verify(bytes32 leaf, bytes32[] proof, bytes32 root) → uint40：当根已锚定且 OpenZeppelin MerkleProof.verify(proof, root, leaf) 成立时返回锚定时间，否则返回 0。",
    en: "verify(bytes32 leaf, bytes32[] proof, bytes32 root) → uint40: the anchoring time when root is anchored and OpenZeppelin MerkleProof.verify(proof, root, leaf) holds, else 0.",
  },
  versionFunction: {
    zh: 'version() → 合约行为的语义化版本号（"1.0.0"）。',
    en: 'version() → the semantic version of the contract\'s behaviour ("1.0.0").',
  },
  hashConstructions: { zh: "哈希构造：", en: "Hash constructions:" },
  secondPreimage: {
    zh: "外层哈希的输入为 32 字节，而内部节点的输入为 64 字节，因此内部节点不能冒充叶子（防第二原像攻击）。",
    en: "The outer hash is over 32 bytes and every inner node over 64 bytes, so an inner node can never pass as a leaf (second-preimage protection).",
  },
  saltPrivacy: {
    zh: "32 字节随机盐值保护文件隐私：没有凭证，任何人都无法根据链上记录验证对文件的猜测。",
    en: "The 32-byte random salt keeps the file private: without the receipt nobody can confirm a guess of the file from the chain record.",
  },
  manyFilesOneTx: {
    zh: "一笔交易可以锚定多个文件：每个文件有自己的叶子和通向同一锚定根的默克尔路径。",
    en: "Many files can be anchored in one transaction: each has its own leaf and Merkle path to the one anchored root.",
  },
  receiptFormat: {
    zh: "凭证（格式 proofmark-receipt，版本 1，JSON）：subject（name、size、sha256）、commitment（salt、meta、leaf）、proof（root、path、leafCount）和 anchors（chainId、registry、txHash、blockNumber、blockHash、timestamp、submitter）。解析器拒绝未知的格式、版本和字段。",
    en: "The receipt (format proofmark-receipt, version 1, JSON): subject (name, size, sha256), commitment (salt, meta, leaf), proof (root, path, leafCount) and anchors (chainId, registry, txHash, blockNumber, blockHash, timestamp, submitter). Parsers reject unknown formats, versions and fields.",
  },
  receiptChecked: {
    zh: "所核验的凭证（如有加密密钥，已略去）：",
    en: "The receipt checked (encryption key, if any, omitted):",
  },
} satisfies Catalogue;
