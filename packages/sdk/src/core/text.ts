/**
 * Characters that must never reach a terminal as they are: C0 controls (newline, carriage return,
 * ESC of ANSI/OSC sequences, backspace…), DEL, C1 controls (0x80–0x9f, e.g. CSI), the Unicode
 * line and paragraph separators, and the bidirectional controls that reorder what is shown.
 */
const UNSAFE_FOR_TERMINAL =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]/g;

const SHORT_ESCAPES: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/**
 * Text safe to print on a terminal: every control character (see UNSAFE_FOR_TERMINAL) is shown
 * escaped (`\n`, `\r`, `\t`, `\e`, `\x07`, `\u202e`), and a backslash as `\\`, so a file name, a
 * title or an on-chain string can neither move the cursor, rewrite earlier output, start a new
 * line, change colours or reorder the line, nor pass for text it is not. The one escaper of
 * untrusted text for terminals, logs and plain-text page fields: the CLI prints every line, row,
 * progress line and error message through it.
 *
 * @example
 * escapeControlChars("a\rVERIFIED") // "a\\rVERIFIED"
 */
export function escapeControlChars(text: string): string {
  return text.replace(/\\/g, "\\\\").replace(UNSAFE_FOR_TERMINAL, (c) => {
    const short = SHORT_ESCAPES[c];
    if (short) return short;
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
