/**
 * Escapes any value for HTML element content and quoted attribute values (& < > " ' `). Every
 * on-chain or stored string goes through this before it is shown in a page, report or label.
 *
 * @example
 * escapeHtml("<img src=x onerror=alert(1)>"); // "&lt;img src=x onerror=alert(1)&gt;"
 */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c]);
}

const ENTITIES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
  "`": "&#96;",
};
