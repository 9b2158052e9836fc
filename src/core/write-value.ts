import { NodiError } from "./errors.ts";

/**
 * Strict conversion of a value to write (CLI `tag write`, web `POST …/write`, a TagBus write
 * request) into what a tag takes. Every driver converts through these functions before
 * anything goes on the wire, so a set-point is never guessed: `Number("0x10")` = 16,
 * `Number(" 5 ")` = 5 and `Number("")` = 0 are not accepted here.
 *
 * - numbers: a finite JSON number, or a text that is a plain decimal number
 *   ({@link DECIMAL_TEXT}: optional sign, digits with optional fraction, optional exponent,
 *   e.g. `12`, `-0.5`, `+3`, `.25`, `1e3`). Refused: hex (`0x10`), surrounding or inner
 *   spaces, `NaN`, `Infinity`, the empty text, booleans.
 * - booleans: `true`/`false`, the numbers `1`/`0`, the texts `"true"`/`"false"`/`"1"`/`"0"`
 *   (exactly; no `on`/`off`, no upper case, no spaces).
 * - 64-bit integers may also come as integer text ({@link INTEGER_TEXT}), kept exact.
 */

/** A plain decimal number as text; exponent notation is allowed (`1e3`, `-2.5E-3`). */
export const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A plain integer as text (64-bit values, exact). */
export const INTEGER_TEXT = /^[+-]?\d+$/;

/** `what` names the tag, e.g. `tag setpoint (uint16)`; it starts each error message. */
function refused(what: string, value: unknown, expected: string): NodiError {
  return new NodiError(
    "out_of_range",
    `${what}: value ${JSON.stringify(value) ?? String(value)} refused: expected ${expected}`,
    "out_of_range",
    { value },
  );
}

/** What {@link writeNumber} says it expects. */
export const EXPECTED_NUMBER =
  "a number (JSON number or plain decimal text such as 12, -0.5, 1e3; no hex, spaces, NaN or Infinity)";

/** What {@link writeBool} says it expects. */
export const EXPECTED_BOOL = "a boolean: true, false, 1 or 0";

/**
 * A write value as a finite number.
 * @param what the tag, for the message (`tag setpoint (uint16)`).
 * @throws NodiError `out_of_range` for anything but a finite number or {@link DECIMAL_TEXT}
 *   text whose value is finite (`1e999` is refused).
 */
export function writeNumber(value: unknown, what: string): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string" && DECIMAL_TEXT.test(value)
        ? Number(value)
        : Number.NaN;
  if (!Number.isFinite(n)) throw refused(what, value, EXPECTED_NUMBER);
  return n;
}

/**
 * A write value as a boolean: `true`/`false`, `1`/`0`, `"true"`/`"false"`/`"1"`/`"0"`.
 * @throws NodiError `out_of_range` for anything else.
 */
export function writeBool(value: unknown, what: string): boolean {
  if (value === true || value === 1 || value === "true" || value === "1") return true;
  if (value === false || value === 0 || value === "false" || value === "0") return false;
  throw refused(what, value, EXPECTED_BOOL);
}

/** The exact integer of an {@link INTEGER_TEXT} text, or undefined for anything else. */
export function writeIntegerText(value: unknown): bigint | undefined {
  return typeof value === "string" && INTEGER_TEXT.test(value) ? BigInt(value) : undefined;
}

/**
 * A write value as text (for `string` tags).
 * @throws NodiError `out_of_range` when it is not a string.
 */
export function writeText(value: unknown, what: string): string {
  if (typeof value !== "string") throw refused(what, value, "a text");
  return value;
}
