import { translate, type Catalogue, type Lang } from "@proofmark/sdk";

/** Page languages: 简体中文 and English (the SDK's one i18n mechanism, core/i18n.ts). */
export type { Lang };

/**
 * The page language: `?lang=` (also remembered in a cookie), else the `lang` cookie, else the
 * best of zh/en in Accept-Language (by q value), else Chinese.
 */
export function pickLang(query: string | null, cookie: string | undefined, acceptLanguage: string | undefined): Lang {
  if (query === "zh" || query === "en") return query;
  const c = /(?:^|;\s*)lang=(zh|en)(?:;|$)/.exec(cookie ?? "");
  if (c) return c[1] as Lang;
  let best: { lang: Lang; q: number } | undefined;
  for (const part of (acceptLanguage ?? "").split(",").slice(0, 20)) {
    const [tag, ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.find((p) => p.trim().startsWith("q="));
    const q = qParam ? Number(qParam.trim().slice(2)) : 1;
    const lang: Lang | undefined = tag.startsWith("zh") ? "zh" : tag.startsWith("en") ? "en" : undefined;
    if (lang && Number.isFinite(q) && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? "zh";
}

const STRINGS = {
  title: { zh: "产品溯源", en: "Product origin" },
  genuine: { zh: "正品 · 已在区块链上验证", en: "Genuine · verified on the blockchain" },
  genuineNote: {
    zh: "此防伪码由生产方签发，其序列号承诺已上链。",
    en: "This code was issued by the producer and its serial is under the commitment recorded on chain.",
  },
  unknownSerial: { zh: "未知防伪码 — 可能是假冒产品", en: "Unknown code — likely counterfeit" },
  unknownSerialNote: {
    zh: "该序列号从未为此批次签发。请勿食用或购买，并联系销售方。",
    en: "This serial was never issued for this lot. Do not trust this product; contact the seller.",
  },
  recalled: { zh: "此批次已召回", en: "This lot has been recalled" },
  broken: { zh: "溯源记录与区块链不符 — 请勿信任", en: "The record does not match the blockchain — do not trust it" },
  brokenNote: {
    zh: "核对失败：此产品的记录在存储后被改动过，或与链上数据不一致。请勿食用或购买，并联系销售方。",
    en: "A check failed: this product's record was altered after it was stored, or disagrees with the chain. Do not trust this product; contact the seller.",
  },
  unverifiable: { zh: "暂时无法完整验证", en: "This record could not be fully verified" },
  unverifiableNote: {
    zh: "未发现问题，但部分记录尚未与区块链核对，因此不能确认为正品。请稍后再扫描。",
    en: "Nothing failed, but part of the record has not been checked against the chain yet, so it cannot be confirmed genuine. Scan again later.",
  },
  findingHeadMismatch: {
    zh: "批次 {lot}：哈希链与链上存储不符",
    en: "Lot {lot}: its hash chain differs from the chain's storage",
  },
  findingHeadUnread: {
    zh: "批次 {lot}：尚未与链上存储核对",
    en: "Lot {lot}: not yet checked against the chain's storage",
  },
  findingStorageMismatch: {
    zh: "批次 {lot}：数量或状态与链上存储不符",
    en: "Lot {lot}: its quantity or status differs from the chain's storage",
  },
  findingDocumentMismatch: {
    zh: "批次 {lot}：事件文件与链上摘要不符（已被改动）",
    en: "Lot {lot}: an event document differs from its on-chain digest (it was altered)",
  },
  findingMassBalance: {
    zh: "批次 {lot}：数量不平衡（产出多于投入）",
    en: "Lot {lot}: the quantities do not balance (more out than in)",
  },
  inspectionCertificate: { zh: "检验证书", en: "Inspection certificate" },
  note: { zh: "备注", en: "Note" },
  location: { zh: "地点", en: "Location" },
  recalledNote: { zh: "请勿食用，请联系销售方退货。", en: "Do not consume it; return it to the seller." },
  manyScans: { zh: "此防伪码已被多次扫描", en: "This code has been scanned many times" },
  manyScansNote: {
    zh: "首次扫描：{first}，共 {count} 次。若您是首次购买，此码可能已被复制。",
    en: "First scanned {first}, {count} scans in all. If you just bought it, this code may have been copied.",
  },
  firstScan: { zh: "首次扫描：{first}（共 {count} 次）", en: "First scanned {first} ({count} scans)" },
  lotNotFound: { zh: "未找到此批次或产品", en: "Lot or product not found" },
  lotNotFoundNote: {
    zh: "区块链上没有这个批次的记录。此防伪码可能是伪造的。",
    en: "No such lot is recorded on the chain. This code may be forged.",
  },
  chainDown: { zh: "暂时无法连接区块链", en: "The blockchain cannot be reached right now" },
  chainDownNote: {
    zh: "以下为已索引的数据，未能重新验证（最后同步：{time}）。",
    en: "The data below comes from the index and was not re-verified (last sync {time}).",
  },
  badCode: { zh: "无效的防伪码", en: "Not a valid code" },
  badCodeNote: {
    zh: "此链接不是有效的 GS1 数字链接防伪码。",
    en: "This link is not a valid GS1 Digital Link scan code.",
  },
  product: { zh: "产品", en: "Product" },
  giNumber: { zh: "地理标志登记号", en: "GI registration" },
  region: { zh: "产地", en: "Region" },
  producer: { zh: "生产者", en: "Producer" },
  plot: { zh: "地块", en: "Plot" },
  harvestDate: { zh: "采收日期", en: "Harvest date" },
  lot: { zh: "批次", en: "Lot" },
  serial: { zh: "序列号", en: "Serial" },
  journey: { zh: "溯源记录", en: "The journey" },
  verifiedOnChain: { zh: "已上链验证", en: "Verified on chain" },
  notReverified: { zh: "未重新验证", en: "Not re-verified" },
  hashChainBroken: { zh: "链上记录不一致", en: "Does not match the chain" },
  block: { zh: "区块", en: "Block" },
  tx: { zh: "交易", en: "Transaction" },
  recordedAt: { zh: "上链时间", en: "Recorded" },
  by: { zh: "记录者", en: "By" },
  certificate: { zh: "证书", en: "Certificate" },
  reason: { zh: "原因", en: "Reason" },
  verifyLink: { zh: "验证文件", en: "Verify a file" },
  verifyTitle: { zh: "验证文件与存证回执", en: "Check a file against its receipt" },
  verifyIntro: {
    zh: "选择文件及其 .proof.json 回执。文件只在您的设备上计算哈希，不会上传。",
    en: "Choose a file and its .proof.json receipt. The file is hashed on your device and never uploaded.",
  },
  dropHere: { zh: "将文件和回执拖到这里，或点击选择", en: "Drop the file and its receipt here, or click to choose" },
  file: { zh: "文件", en: "File" },
  receipt: { zh: "回执", en: "Receipt" },
  verifyButton: { zh: "验证", en: "Verify" },
  home: { zh: "Proofmark 溯源与存证", en: "Proofmark provenance and evidence" },
  homeIntro: {
    zh: "扫描包装上的二维码查看产地与流通记录；或验证一个存证文件。",
    en: "Scan the code on a package to see where it came from, or verify a stamped file.",
  },
  notFound: { zh: "页面不存在", en: "Page not found" },
  error: { zh: "出错了，请稍后再试", en: "Something went wrong; please try again" },
  lang: { zh: "English", en: "中文" },
} satisfies Catalogue;

export type StringKey = keyof typeof STRINGS;

/** A UI string in `lang`, with `{name}` placeholders filled (values are NOT escaped here). */
export function t(lang: Lang, key: StringKey, vars: Record<string, string | number> = {}): string {
  return translate(STRINGS, lang, key, vars);
}

/** Strings the verify page's script needs. */
export const VERIFY_STRINGS = {
  zh: {
    hashing: "正在本机计算哈希…",
    readReceipt: "读取回执…",
    checking: "正在链上核对…",
    ok: "验证通过",
    fail: "验证失败",
    needBoth: "请同时选择文件和 .proof.json 回执",
    badReceipt: "回执无效：",
    fileChanged: "文件内容与存证时不同（已被修改）",
    sizeChanged: "文件大小与回执不符",
    leafMismatch: "回执被篡改：承诺值与文件摘要、盐值、元数据不符",
    pathMismatch: "回执被篡改：Merkle 路径不能得到根",
    notAnchored: "该根未在链上存证",
    anchorMismatch: "回执中的区块或时间与链上记录不符",
    otherChain: "回执属于另一条链或另一个合约：",
    unreachable: "无法连接区块链，未能核对存证",
    existed: "该文件最迟在 {time} 已存在（区块 {block}，{conf} 个确认）",
    tx: "交易",
    submitter: "提交者",
    sha: "SHA-256",
    notFinal: "尚未最终确定，请稍后重新验证",
    unchecked: "未核验",
    registryUnknown: "回执所指的合约不是已知的存证合约（可能是伪造的合约）",
    tokensOnly:
      "此回执没有区块链锚定，只有 RFC 3161 时间戳，本页无法核验时间戳；请用 proofmark verify … --tsa-trust 核验",
    pending: "回执尚待上链（存证服务尚未锚定）：请先用 proofmark upgrade 从存证服务补全回执，再来验证",
  },
  en: {
    hashing: "Hashing on this device…",
    readReceipt: "Reading the receipt…",
    checking: "Checking the chain…",
    ok: "Verified",
    fail: "Not verified",
    needBoth: "Choose both the file and its .proof.json receipt",
    badReceipt: "The receipt is invalid: ",
    fileChanged: "The file's content differs from what was stamped (it was changed)",
    sizeChanged: "The file's size differs from the receipt",
    leafMismatch: "The receipt was altered: its commitment does not match the digest, salt and metadata",
    pathMismatch: "The receipt was altered: its Merkle path does not lead to its root",
    notAnchored: "This root is not anchored on the chain",
    anchorMismatch: "The receipt's block or time differs from the chain's record",
    otherChain: "The receipt belongs to another chain or registry: ",
    unreachable: "The chain cannot be reached, so the anchor was not checked",
    existed: "The file existed no later than {time} (block {block}, {conf} confirmations)",
    tx: "Transaction",
    submitter: "Submitter",
    sha: "SHA-256",
    notFinal: "Not yet final: verify again later",
    unchecked: "Not checked",
    registryUnknown: "The receipt's registry is not a known evidence registry (it may be a forged contract)",
    tokensOnly:
      "This receipt has no blockchain anchor, only RFC 3161 time-stamp token(s), which this page cannot check; check it with proofmark verify … --tsa-trust",
    pending:
      "The receipt is still pending (its calendar has not anchored it yet): complete it with proofmark upgrade, then verify again",
  },
} as const;

/** Business step names (CBV 2.0) in both languages. */
export const STEP_LABELS: Record<string, { zh: string; en: string }> = {
  commissioning: { zh: "采收", en: "Harvest" },
  inspecting: { zh: "检验", en: "Inspection" },
  sampling: { zh: "抽样", en: "Sampling" },
  packing: { zh: "包装", en: "Packing" },
  unpacking: { zh: "拆包", en: "Unpacking" },
  repackaging: { zh: "分装", en: "Repackaging" },
  creating_class_instance: { zh: "加工", en: "Processing" },
  storing: { zh: "储存", en: "Storage" },
  holding: { zh: "扣留", en: "Held" },
  shipping: { zh: "发货", en: "Shipping" },
  departing: { zh: "离开", en: "Departure" },
  arriving: { zh: "到达", en: "Arrival" },
  receiving: { zh: "收货", en: "Receiving" },
  loading: { zh: "装车", en: "Loading" },
  unloading: { zh: "卸货", en: "Unloading" },
  transporting: { zh: "运输", en: "Transport" },
  retail_selling: { zh: "零售", en: "Retail" },
  destroying: { zh: "销毁", en: "Destroyed" },
  other: { zh: "其他", en: "Other" },
};

/** Disposition names. */
export const DISPOSITION_LABELS: Record<string, { zh: string; en: string }> = {
  active: { zh: "正常", en: "active" },
  conformant: { zh: "合格", en: "conformant" },
  non_conformant: { zh: "不合格", en: "non-conformant" },
  in_progress: { zh: "进行中", en: "in progress" },
  in_transit: { zh: "在途", en: "in transit" },
  container_closed: { zh: "已封箱", en: "container closed" },
  sellable_accessible: { zh: "可售", en: "on sale" },
  sellable_not_accessible: { zh: "待售", en: "in stock" },
  retail_sold: { zh: "已售出", en: "sold" },
  recalled: { zh: "已召回", en: "recalled" },
  destroyed: { zh: "已销毁", en: "destroyed" },
  damaged: { zh: "损坏", en: "damaged" },
  expired: { zh: "过期", en: "expired" },
};
