/**
 * The one i18n mechanism of Proofmark's pages, reports and labels: every text a person reads
 * exists in 简体中文 and English, as a `{ zh, en }` pair in a catalogue (a table of named pairs,
 * `{name}` placeholders filled from values; one catalogue per concern, e.g. report/texts/*). Code
 * never writes a text inline in either language. Pure: no I/O.
 */

/** The languages people read Proofmark in. */
export type Lang = "zh" | "en";

/** The BCP 47 tag of each language, for `<html lang>` and `Content-Language`. */
export const LANGUAGE_TAGS: Record<Lang, string> = { zh: "zh-CN", en: "en" };

/** One text in both languages. */
export interface Texts {
  zh: string;
  en: string;
}

/** A catalogue: named texts, each in both languages, with `{name}` placeholders. */
export type Catalogue = Record<string, Texts>;

/**
 * The text `key` of `catalogue` in `lang`, each `{name}` replaced by `vars[name]` (a missing value
 * leaves an empty string, never the placeholder).
 *
 * @example
 * translate({ hi: { zh: "你好，{who}", en: "Hello, {who}" } }, "en", "hi", { who: "Li" }) // "Hello, Li"
 */
export function translate<C extends Catalogue>(
  catalogue: C,
  lang: Lang,
  key: keyof C,
  vars: Record<string, string | number> = {},
): string {
  return catalogue[key][lang].replace(/\{(\w+)\}/g, (_m, k: string) => String(vars[k] ?? ""));
}

/**
 * The catalogue's texts in one language: `t(key, vars)` is `translate(catalogue, lang, key, vars)`.
 *
 * @example
 * const t = translator({ hi: { zh: "你好，{who}", en: "Hello, {who}" } }, "zh");
 * t("hi", { who: "Li" }) // "你好，Li"
 */
export function translator<C extends Catalogue>(
  catalogue: C,
  lang: Lang,
): (key: keyof C & string, vars?: Record<string, string | number>) => string {
  return (key, vars = {}) => translate(catalogue, lang, key, vars);
}
