import type * as http from "node:http";
import { t, type Lang } from "../i18n";
import { verifyPage } from "../pages";
import { page } from "../respond";
import type { PortalContext } from "./context";

/** The verify page (`/verify`): hashes a file in the browser and checks its receipt against the chain. */
export function verifyRoute(
  ctx: PortalContext,
  res: http.ServerResponse,
  pathname: string,
  lang: Lang,
  cookie: string | undefined,
): void {
  const v = verifyPage(lang);
  page(res, 200, lang, pathname, t(lang, "verifyTitle"), v.body, v.script, cookie);
}
