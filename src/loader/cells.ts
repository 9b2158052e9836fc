import type { FieldInfo } from "../store/fields.ts";

/** The value of one cell, or why it cannot be one. `undefined` = empty, use the default. */
export type CellResult = { value: unknown } | { error: string };

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE = new Set(["true", "yes", "y", "1", "on"]);
const FALSE = new Set(["false", "no", "n", "0", "off"]);

/** A cell quoted for a message, cut at 80 characters (a pasted blob must not flood the output). */
function quoted(cell: string): string {
  return cell.length > 80 ? `"${cell.slice(0, 80)}…" (${cell.length} characters)` : `"${cell}"`;
}

/**
 * Converts a CSV cell to the type of `field` (see `store/fields.ts`):
 * empty → `null` for a nullable field, `undefined` (the schema default) otherwise;
 * numbers in decimal notation (`12`, `-0.5`, `1e3`; finite: `1e999` is refused); booleans `true/false`, `yes/no`, `1/0`,
 * `on/off` (any case); strings as written. A required field must not be empty.
 */
export function convertCell(field: FieldInfo, cell: string): CellResult {
  if (cell === "") {
    if (field.required) return { error: "a value is required, got an empty cell" };
    return { value: field.nullable ? null : undefined };
  }
  if (field.kind === "number") {
    if (!NUMBER_RE.test(cell)) return { error: `expected a number, got ${quoted(cell)}` };
    const n = Number(cell);
    // `1e999` matches the notation but is Infinity: it would be stored and exported as "Infinity".
    if (!Number.isFinite(n))
      return { error: `expected a finite number, got ${quoted(cell)} (too large)` };
    return { value: n };
  }
  if (field.kind === "boolean") {
    const low = cell.toLowerCase();
    if (TRUE.has(low)) return { value: true };
    if (FALSE.has(low)) return { value: false };
    return { error: `expected true or false, got ${quoted(cell)}` };
  }
  return { value: cell };
}

/**
 * A text cell a spreadsheet would run as a formula: it starts (after any `'`) with `=`, `+`,
 * `-`, `@`, TAB or CR, the characters of OWASP's CSV injection guidance
 * (https://owasp.org/www-community/attacks/CSV_Injection). The leading `'`s are part of the
 * rule so that a text that itself starts with `'=` survives the round trip.
 */
const FORMULA_LIKE = /^'*[=+\-@\t\r]/;

/**
 * Neutralises a text cell for spreadsheets, as OWASP advises: a cell matching
 * {@link FORMULA_LIKE} gets one `'` in front (`=cmd|' /C calc'!A0` → `'=cmd|' /C calc'!A0`),
 * which spreadsheets read as "this is text". Only for text fields: a number such as `-5` in a
 * numeric column is written as is. {@link restoreFormulaLike} undoes exactly this.
 */
export function neutralizeFormulaLike(text: string): string {
  return FORMULA_LIKE.test(text) ? `'${text}` : text;
}

/**
 * Undoes {@link neutralizeFormulaLike} on an imported text cell: one leading `'` is removed
 * where export added it, i.e. when the cell starts with `'` and is formula-like
 * (`'=x` → `=x`, `''=x` → `'=x`); any other cell, `'abc` included, is kept as written.
 */
export function restoreFormulaLike(cell: string): string {
  return cell.startsWith("'") && FORMULA_LIKE.test(cell) ? cell.slice(1) : cell;
}

/** True for a field whose cells are free text (not a number, boolean or picklist). */
export function isTextField(field: FieldInfo): boolean {
  return field.kind === "string" && field.options === undefined;
}

/**
 * Formats a stored value as a CSV cell: `null` → empty, booleans `true`/`false`; with the
 * `field` given, a text field's formula-like value is neutralised ({@link neutralizeFormulaLike}).
 */
export function formatCell(value: unknown, field?: FieldInfo): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  const text = String(value);
  return field && isTextField(field) ? neutralizeFormulaLike(text) : text;
}
