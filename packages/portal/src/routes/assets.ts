import type * as http from "node:http";
import { STYLESHEET, STYLESHEET_PATH } from "../pages";
import { COMMON_HEADERS, send } from "../respond";

/** Static assets: the stylesheet, under a content-addressed path, cached by browsers for good. */
export function assetRoute(res: http.ServerResponse, pathname: string): boolean {
  if (pathname !== STYLESHEET_PATH) return false;
  send(
    res,
    200,
    [
      ...COMMON_HEADERS,
      "content-type",
      "text/css; charset=utf-8",
      "cache-control",
      "public, max-age=31536000, immutable",
    ],
    STYLESHEET,
  );
  return true;
}
