import { translate, type Catalogue, type Lang } from "../core/i18n";
import type { ParticipantInfo } from "../chain/provenance-logs";

/**
 * How a trace names the account behind a lot or an event: the participant record its product's
 * admin registered on chain (`ParticipantSet`), or "unregistered". Pure; the texts returned are
 * untrusted (they come from the chain): escape them for the medium they are shown in.
 */

/** The participant facts a trace carries for an account (absent: not registered for the product). */
export type ParticipantView = Pick<ParticipantInfo, "kind" | "name" | "nameEn" | "licence" | "region">;

/** The words of participant labels, in both languages. */
export const PARTICIPANT_TEXTS = {
  licence: { zh: "许可证号 {licence}", en: "licence {licence}" },
  unregistered: { zh: "未登记", en: "unregistered" },
  farm: { zh: "农场", en: "farm" },
  inspector: { zh: "检验机构", en: "inspector" },
  packer: { zh: "包装厂", en: "packer" },
  carrier: { zh: "承运人", en: "carrier" },
  retailer: { zh: "零售商", en: "retailer" },
} satisfies Catalogue;

/** The participant's display name in `lang` (the English name when there is one, else the original). */
export function participantName(p: Pick<ParticipantView, "name" | "nameEn">, lang: Lang): string {
  return lang === "en" && p.nameEn !== "" ? p.nameEn : p.name;
}

/**
 * One line naming an actor: "砀山县李庄果园 · 许可证号 SC1234" for a registered participant,
 * "<account> · unregistered" otherwise (`account` is how the caller shows the address).
 *
 * @example
 * participantLabel({ kind: "farm", name: "砀山县李庄果园", nameEn: "Lizhuang Orchard", licence: "SC1234", region: "" }, "0xab…", "en")
 * // "Lizhuang Orchard · licence SC1234"
 */
export function participantLabel(p: ParticipantView | undefined, account: string, lang: Lang): string {
  if (!p) return `${account} · ${translate(PARTICIPANT_TEXTS, lang, "unregistered")}`;
  const name = participantName(p, lang);
  return p.licence !== "" ? `${name} · ${translate(PARTICIPANT_TEXTS, lang, "licence", { licence: p.licence })}` : name;
}
