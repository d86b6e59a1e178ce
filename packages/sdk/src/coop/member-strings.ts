import type { Catalogue } from "../core/i18n";

/**
 * The member page's texts (the one i18n mechanism: core/i18n.ts catalogues). Pure: bundled for the
 * browser by scripts/build-verifier.js. A refusal shows `refusal.<CODE>` in the member's language,
 * then the CLI's own message for the same refusal.
 */
export const MEMBER_STRINGS = {
  title: { zh: "合作社成员记录", en: "Co-op member records" },
  intro: {
    zh: "在手机上记录采收、检验、包装和运输。您的密钥只保存在本浏览器中，由口令加密；合作社支付链上费用。",
    en: "Record harvests, inspections, packing and shipping from your phone. Your key stays in this browser, encrypted with your passphrase; the co-op pays the chain fees.",
  },
  keyTitle: { zh: "我的密钥", en: "My key" },
  passphrase: { zh: "口令", en: "Passphrase" },
  createKey: { zh: "新建密钥", en: "Create a key" },
  importKey: { zh: "导入密钥（JSON 密钥库或私钥）", en: "Import a key (JSON keystore or private key)" },
  importButton: { zh: "导入", en: "Import" },
  unlock: { zh: "解锁", en: "Unlock" },
  working: { zh: "正在加密或解密密钥…", en: "Encrypting or decrypting the key…" },
  account: { zh: "我的账户", en: "My account" },
  exportKey: { zh: "导出密钥库", en: "Export keystore" },
  badPassphrase: { zh: "口令不正确，或密钥库已损坏。", en: "Wrong passphrase, or the keystore is damaged." },
  noRoles: {
    zh: "此账户尚无任何产品角色。请把上面的地址交给合作社管理员授权。",
    en: "This account holds no product role yet. Give the address above to the co-op's admin to be granted one.",
  },
  product: { zh: "产品", en: "Product" },
  roles: { zh: "角色", en: "Roles" },
  "step.harvest": { zh: "采收", en: "Harvest" },
  "step.inspecting": { zh: "检验", en: "Inspection" },
  "step.packing": { zh: "包装", en: "Packing" },
  "step.shipping": { zh: "发货", en: "Shipping" },
  "step.receiving": { zh: "收货", en: "Receiving" },
  quantity: { zh: "数量（如 1200kg）", en: "Quantity (e.g. 1200kg)" },
  plot: { zh: "地块", en: "Plot" },
  date: { zh: "日期", en: "Date" },
  photo: { zh: "地块证书照片", en: "Photo of the plot's certificate" },
  lot: { zh: "批次号", en: "Lot" },
  packages: { zh: "件数", en: "Packages" },
  size: { zh: "每件规格（如 5kg）", en: "Size of each (e.g. 5kg)" },
  location: { zh: "地点", en: "Place" },
  note: { zh: "备注", en: "Note" },
  record: { zh: "记录", en: "Record" },
  queued: {
    zh: "已保存在本机，联网后自动发送（{count} 条待发送）。",
    en: "Kept on this phone; sent when the network returns ({count} waiting).",
  },
  sending: { zh: "正在发送…", en: "Sending…" },
  recorded: { zh: "已记录：{step}，批次 {lot}", en: "Recorded: {step}, lot {lot}" },
  recordedQuantity: { zh: "数量 {quantity}", en: "quantity {quantity}" },
  transaction: { zh: "交易", en: "Transaction" },
  document: { zh: "事件文件", en: "Event document" },
  refused: { zh: "未记录：{step}", en: "Not recorded: {step}" },
  mismatch: {
    zh: "服务器准备的请求与您填写的内容不符，未签名。",
    en: "The request the server prepared does not match your form; it was not signed.",
  },
  "refusal.QUOTA_EXCEEDED": { zh: "超出采收配额", en: "Over the harvest quota" },
  "refusal.ROLE_MISSING": { zh: "您的角色不能记录此步骤", en: "Your role cannot record this step" },
  "refusal.LOT_RECALLED": { zh: "此批次已召回", en: "This lot was recalled" },
  "refusal.LOT_NOT_ACTIVE": { zh: "此批次已不可用", en: "This lot can no longer be used" },
  "refusal.LOT_NOT_FOUND": { zh: "没有此批次", en: "No such lot" },
  "refusal.LICENCE_MISSING": { zh: "本季没有采收许可", en: "No harvest licence for the season" },
  "refusal.QUANTITY_EXCEEDED": { zh: "数量超过批次剩余", en: "More than the lot has left" },
  "refusal.INVALID_ARGUMENT": { zh: "填写有误", en: "Something in the form is wrong" },
  "refusal.RELAY_RATE_LIMITED": { zh: "发送过于频繁，请稍后", en: "Too many requests; wait a moment" },
  "refusal.RELAY_CANNOT_PAY": { zh: "合作社账户余额不足，暂时无法代付", en: "The co-op cannot pay for it right now" },
  "refusal.other": { zh: "请求被拒绝", en: "The request was refused" },
  otherLang: { zh: "English", en: "简体中文" },
} satisfies Catalogue;

export type MemberStringKey = keyof typeof MEMBER_STRINGS;
