import * as crypto from "node:crypto";
import type * as http from "node:http";
import { layout } from "./pages";
import { LANGUAGE_TAGS } from "@proofmark/sdk";
import type { Lang } from "./i18n";

/** Responses: headers every page and API answer carries, and the ways to send them. */

/** An error with the HTTP status to answer with (its message is shown, except for 500). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The Content-Security-Policy of a page: no script at all, or exactly the page's one inline script,
 * allowed by its SHA-256 (CSP Level 2 hash source). The hash covers the script's exact text, so
 * nothing injected into a page can run, and the header is fixed per page: no per-response work.
 */
export function pageCsp(script: string | undefined): string {
  const scriptSrc =
    script === undefined ? "'none'" : `'sha256-${crypto.createHash("sha256").update(script, "utf8").digest("base64")}'`;
  return [
    "default-src 'none'",
    `script-src ${scriptSrc}`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Sent with every response, as a flat [name, value, …] list (what `writeHead` takes fastest). */
export const COMMON_HEADERS = [
  "x-content-type-options",
  "nosniff",
  "referrer-policy",
  "no-referrer",
  "x-frame-options",
  "DENY",
  "cross-origin-opener-policy",
  "same-origin",
];
export const API_HEADERS = [
  ...COMMON_HEADERS,
  "content-type",
  "application/json; charset=utf-8",
  "cache-control",
  "no-store",
  "content-security-policy",
  "default-src 'none'; frame-ancestors 'none'",
];

/** A rendered page: its bytes and its headers (content length included), built once and reused. */
export interface RenderedPage {
  body: Buffer;
  headers: string[];
}

export function send(res: http.ServerResponse, status: number, headers: string[], body: string | Buffer): void {
  res.writeHead(status, [
    ...headers,
    "content-length",
    String(typeof body === "string" ? Buffer.byteLength(body) : body.length),
  ]);
  res.end(body);
}

export function json(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, API_HEADERS, JSON.stringify(value));
}

/** A page's HTML: the layout around `body`, with a link to the same page in the other language. */
export function renderHtml(lang: Lang, pathname: string, title: string, body: string, script?: string): string {
  const other = new URL(pathname, "http://x");
  other.searchParams.set("lang", lang === "zh" ? "en" : "zh");
  return layout({ lang, title, body, script, langSwitchHref: `${other.pathname}${other.search}` });
}

/** A page's headers without content-length: its CSP (by script hash) and language. */
export function pageHeaders(lang: Lang, script?: string): string[] {
  return [
    ...COMMON_HEADERS,
    "content-type",
    "text/html; charset=utf-8",
    "content-security-policy",
    pageCsp(script),
    "cache-control",
    "no-store",
    "content-language",
    LANGUAGE_TAGS[lang],
  ];
}

export function asPage(body: Buffer, headers: string[]): RenderedPage {
  return { body, headers: [...headers, "content-length", String(body.length)] };
}

/** Renders a page once: HTML bytes, and headers with its CSP (by script hash) and length. */
export function render(lang: Lang, pathname: string, title: string, body: string, script?: string): RenderedPage {
  return asPage(Buffer.from(renderHtml(lang, pathname, title, body, script), "utf8"), pageHeaders(lang, script));
}

export function sendPage(res: http.ServerResponse, status: number, page: RenderedPage, setCookie?: string): void {
  res.writeHead(status, setCookie ? [...page.headers, "set-cookie", setCookie] : page.headers);
  res.end(page.body);
}

export function page(
  res: http.ServerResponse,
  status: number,
  lang: Lang,
  pathname: string,
  title: string,
  body: string,
  script?: string,
  setCookie?: string,
): void {
  sendPage(res, status, render(lang, pathname, title, body, script), setCookie);
}
