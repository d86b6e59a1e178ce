import type { Catalogue } from "../../core/i18n";

/**
 * What a verification report says it establishes and what it does not, in the terms of the
 * Online Litigation Rules of the People's Courts (2021), arts. 16–19: the report's legal prose in
 * one catalogue, so lawyers can read and correct it without reading code.
 */
export const LEGAL_TEXTS = {
  heading: { en: "What this establishes and what it does not", zh: "本报告证明什么、不证明什么" },
  established: {
    en: "Established: the file with SHA-256 {sha256} is the file that was committed, and the commitment has not changed since it was anchored in block {block} at {timeUtc}. Under articles 16 and 17 of the Online Litigation Rules of the People's Courts (2021), data stored with blockchain technology and matching on technical verification is presumed not to have been tampered with after storage, unless a party offers contrary evidence or reasonable grounds that rebut it (for example, doubts about the platform or the storage process).",
    zh: "本报告证明：SHA-256 为 {sha256} 的文件就是当初提交承诺值的文件，且该承诺值自区块 {block}（{timeCst}）锚定以来未被改变。依照《人民法院在线诉讼规则》（2021）第十六条、第十七条，经技术核验一致的区块链存储数据，推定其上链后未经篡改；当事人提出相反证据或合理理由（例如对存证平台或存证过程的质疑）足以推翻的除外。",
  },
  notEstablished: {
    en: "Because the verification did not pass, this report establishes NOTHING about the file's integrity or time of storage; the presumption of article 16 of the Online Litigation Rules (2021) does not apply to it.",
    zh: "由于核验未通过，本报告不能证明文件的完整性或存证时间；《人民法院在线诉讼规则》（2021）第十六条的推定不适用。",
  },
  notAuthorship: {
    en: "It does NOT establish who made the file, who owns it, or who is the author: the submitter address only identifies the account that sent the transaction, and the metadata (title, author) is what the submitter declared.",
    zh: "本报告不证明文件由谁创作、归谁所有或作者是谁：提交地址只表明发送交易的账户，元数据（标题、作者等）是提交者自行声明的内容。",
  },
  notBeforeAnchoring: {
    en: "It does NOT establish that the file was authentic or accurate before it was anchored. Under article 18, that must be proven separately (how the data was produced, collected and stored before going on chain).",
    zh: "本报告不证明文件在上链之前真实、准确。依照第十八条，上链前数据的真实性须另行证明（数据的生成、收集、存储过程）。",
  },
  notCreationTime: {
    en: "It does NOT establish when the file was created: only that it existed no later than the block time.",
    zh: "本报告不证明文件的创作时间，只证明其不晚于区块时间已经存在。",
  },
  expertExplains: {
    en: "Under article 19, the court may call an expert or a person with specialised knowledge to explain the technology; sections 7 and 8 give such a person everything needed to repeat the verification without Proofmark.",
    zh: "依照第十九条，法院可以委托鉴定或由有专门知识的人就技术问题作出说明；第 7、8 节为其提供了在不使用 Proofmark 的情况下重复核验所需的全部信息。",
  },
  developmentChain: {
    en: "Caution: chain {chainId} is a local development chain run on one machine. Whoever controls that machine can rewrite it; an anchor there is not independent evidence. Use a public or consortium chain for evidence that others must trust.",
    zh: "注意：链 {chainId} 是在单台机器上运行的本地开发链，控制该机器的人可以改写它；其上的锚定记录不是独立证据。需要他人信任的证据，请使用公链或联盟链。",
  },
} satisfies Catalogue;
