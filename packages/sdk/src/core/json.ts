/**
 * A strict JSON reader for untrusted documents (receipts). `JSON.parse` silently keeps the last of
 * two equal keys, so `{"sha256": "a…", "sha256": "b…"}` reads differently in readers that keep the
 * first; this reader refuses duplicate keys instead, and builds objects without a prototype chain
 * (a key `__proto__` is an ordinary key here, never a prototype). Otherwise RFC 8259 exactly: no
 * comments, no trailing commas, no leading zeros, no lone surrogates in escapes are checked by
 * JSON.parse on each string and number token. Throws {@link JsonSyntaxError}.
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at offset ${offset}`);
    this.name = "JsonSyntaxError";
  }
}

/** Nesting depth above which a document is refused (no receipt comes close). */
const MAX_DEPTH = 64;
const NUMBER_RE = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING_RE = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WS_RE = /[ \t\n\r]*/y;

/**
 * Parses `text` as one JSON value, refusing duplicate object keys.
 *
 * @example
 * parseJsonStrict('{"a": 1, "a": 2}'); // throws JsonSyntaxError: duplicate key "a"
 */
export function parseJsonStrict(text: string): unknown {
  let pos = 0;
  const ws = () => {
    WS_RE.lastIndex = pos;
    WS_RE.exec(text);
    pos = WS_RE.lastIndex;
  };
  const fail = (what: string): never => {
    throw new JsonSyntaxError(what, pos);
  };
  const string = (): string => {
    STRING_RE.lastIndex = pos;
    const m = STRING_RE.exec(text);
    if (!m) fail("malformed string");
    pos = STRING_RE.lastIndex;
    return JSON.parse(m![0]) as string;
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    const c = text[pos];
    if (c === "{") {
      pos++;
      const obj: Record<string, unknown> = Object.create(null);
      const seen = new Set<string>();
      ws();
      if (text[pos] === "}") {
        pos++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[pos] !== '"') fail("expected a key");
        const keyAt = pos;
        const key = string();
        if (seen.has(key)) throw new JsonSyntaxError(`duplicate key ${JSON.stringify(key)}`, keyAt);
        seen.add(key);
        ws();
        if (text[pos] !== ":") fail("expected ':'");
        pos++;
        obj[key] = value(depth + 1);
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "}") {
          pos++;
          return obj;
        }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      pos++;
      const arr: unknown[] = [];
      ws();
      if (text[pos] === "]") {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[pos] === ",") {
          pos++;
          continue;
        }
        if (text[pos] === "]") {
          pos++;
          return arr;
        }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return string();
    if (text.startsWith("true", pos)) return ((pos += 4), true);
    if (text.startsWith("false", pos)) return ((pos += 5), false);
    if (text.startsWith("null", pos)) return ((pos += 4), null);
    NUMBER_RE.lastIndex = pos;
    const m = NUMBER_RE.exec(text);
    if (!m || m[0] === "" || m[0] === "-") fail(pos >= text.length ? "unexpected end" : "unexpected character");
    pos = NUMBER_RE.lastIndex;
    return Number(m![0]);
  };
  if (text.charCodeAt(0) === 0xfeff) pos = 1; // a byte-order mark
  const result = value(0);
  ws();
  if (pos !== text.length) fail("trailing characters after the JSON value");
  return result;
}
