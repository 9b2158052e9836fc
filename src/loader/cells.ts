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

/** Formats a stored value as a CSV cell: `null` → empty, booleans `true`/`false`. */
export function formatCell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(value);
}
