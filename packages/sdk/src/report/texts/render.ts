import type { Catalogue } from "../../core/i18n";

/** The words the HTML and PDF renderers add to a report model: a check's outcome, the page footer's warning. */
export const RENDER_TEXTS = {
  checkPassed: { zh: "通过 OK", en: "OK" },
  checkFailed: { zh: "未通过 FAILED", en: "FAILED" },
  notVerified: { zh: "未通过核验", en: "NOT VERIFIED" },
} satisfies Catalogue;
