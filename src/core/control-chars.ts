/**
 * Control characters in configuration text and in what the CLI prints. A control character
 * here is one of C0 (U+0000–U+001F, TAB, LF and CR included), DEL (U+007F) or C1
 * (U+0080–U+009F), the ranges Unicode gives general category Cc (Unicode §23.1). In a
 * terminal they move the cursor, recolour, retitle the window or ring the bell (ESC, CSI
 * U+009B, BEL); in a table they break its columns. The store refuses them in text fields
 * (`src/store/validate.ts`; a `description` may hold line breaks and TAB), and the CLI
 * escapes any it would print (old rows, device strings).
 */

/** True when `code` (a UTF-16 code unit) is a C0, DEL or C1 control character. */
export function isControlChar(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

const NAMES = new Map<number, string>([
  [0x00, "NUL"],
  [0x07, "BEL"],
  [0x08, "BS"],
  [0x09, "TAB"],
  [0x0a, "LF"],
  [0x0b, "VT"],
  [0x0c, "FF"],
  [0x0d, "CR"],
  [0x1b, "ESC"],
  [0x7f, "DEL"],
  [0x9b, "CSI"],
]);

/** `U+001B`. */
function codePoint(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** A control character for people: `ESC (U+001B)`, `U+0001`. */
export function controlCharName(code: number): string {
  const name = NAMES.get(code);
  return name ? `${name} (${codePoint(code)})` : codePoint(code);
}

/**
 * The first control character of `text` that is not in `allowed` (e.g. `"\t\n\r"`).
 * @returns its name ({@link controlCharName}) and its 1-based position in characters, or
 *   `undefined` when there is none.
 */
export function firstControlChar(
  text: string,
  allowed = "",
): { name: string; position: number } | undefined {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (isControlChar(c) && !allowed.includes(text[i]!)) {
      return { name: controlCharName(c), position: i + 1 };
    }
  }
  return undefined;
}

/**
 * `text` with every control character replaced by its JSON escape (`\u001b`), except the
 * characters in `keep` (e.g. `"\n"` for the line ends of a multi-line output). The escape is
 * valid inside a JSON string, so JSON output stays JSON and decodes to the same value.
 */
export function escapeControlChars(text: string, keep = ""): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!isControlChar(c) || keep.includes(text[i]!)) continue;
    out += `${text.slice(from, i)}\\u${c.toString(16).padStart(4, "0")}`;
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}
