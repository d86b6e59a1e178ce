import { translate, type Catalogue, type Lang } from "./i18n";

/**
 * The one place times and dates are written for people to read (reports, certificates, the portal's
 * pages, the standalone verifier): UTC for English, China Standard Time (UTC+8, no daylight saving)
 * for 简体中文, always labelled. The labels are catalogue entries. Pure: no I/O.
 */

const TIME_TEXTS = {
  reportTime: { zh: "{time}（北京时间，UTC+8）", en: "{time} China Standard Time (UTC+8)" },
  pageTime: { zh: "{time}（北京时间）", en: "{time} UTC" },
} satisfies Catalogue;

/** `2025-01-31 16:00:00` of a time shifted by `offsetSeconds` (ISO order, no milliseconds). */
function isoSeconds(unixSeconds: number, offsetSeconds = 0): string {
  return new Date((unixSeconds + offsetSeconds) * 1000)
    .toISOString()
    .replace("T", " ")
    .replace(/\.\d{3}Z$/, "");
}

/**
 * `2025-01-31 16:00:00 UTC`
 *
 * @example
 * formatUtc(1738339200) // "2025-01-31 16:00:00 UTC"
 */
export function formatUtc(unixSeconds: number): string {
  return `${isoSeconds(unixSeconds)} UTC`;
}

/**
 * `2025-02-01 00:00:00` in China Standard Time (UTC+8, no daylight saving), labelled in `lang`.
 *
 * @example
 * formatCst(1738339200, "zh") // "2025-02-01 00:00:00（北京时间，UTC+8）"
 */
export function formatCst(unixSeconds: number, lang: Lang): string {
  return translate(TIME_TEXTS, lang, "reportTime", { time: isoSeconds(unixSeconds, 8 * 3600) });
}

/** `2025-02-01 00:00:00`: China Standard Time (UTC+8) without its label, for texts that carry their own. */
export function formatCstBare(unixSeconds: number): string {
  return isoSeconds(unixSeconds, 8 * 3600);
}

// Formatters are built once: creating an Intl.DateTimeFormat per call costs more than a whole page.
const PAGE_TIME: Record<Lang, Intl.DateTimeFormat> = {
  zh: new Intl.DateTimeFormat("zh-CN", {
    timeZone: "Asia/Shanghai",
    hour12: false,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }),
  en: new Intl.DateTimeFormat("en-GB", {
    timeZone: "UTC",
    hour12: false,
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }),
};

const PAGE_DATE: Record<Lang, Intl.DateTimeFormat> = {
  zh: new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", year: "numeric", month: "long", day: "numeric" }),
  en: new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "numeric", month: "long", year: "numeric" }),
};

/**
 * A date-time on a consumer page, in the reader's words: `2025/2/1 00:00:00（北京时间）`,
 * `31 Jan 2025, 16:00:00 UTC`; `—` for an invalid time.
 */
export function formatPageTime(lang: Lang, unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  if (!Number.isFinite(d.getTime())) return "—";
  return translate(TIME_TEXTS, lang, "pageTime", { time: PAGE_TIME[lang].format(d) });
}

/** A date on a consumer page: `2025年2月1日`, `31 January 2025`; `—` for an invalid time. */
export function formatPageDate(lang: Lang, unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  if (!Number.isFinite(d.getTime())) return "—";
  return PAGE_DATE[lang].format(d);
}
