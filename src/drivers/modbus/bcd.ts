import { NodiError } from "../../core/errors.ts";

/**
 * Packed BCD (binary-coded decimal): each 4-bit nibble of a register holds one decimal digit
 * 0–9, the most significant digit in the highest nibble, so the register 0x1234 means 1234.
 * Kepware's data types `BCD` ("two byte packed BCD", 0–9999: one register, 4 digits) and
 * `LBCD` ("four byte packed BCD", 0–99999999: two registers, 8 digits). Kepware leaves values
 * beyond the range undefined; here a nibble above 9 (A–F) is a decode error, never a number.
 * Pure functions, no I/O.
 */

/** Decimal digits of a packed BCD value: `bcd` 4 (16 bits), `lbcd` 8 (32 bits). */
export const BCD_DIGITS = { bcd: 4, lbcd: 8 } as const;

/**
 * The decimal value of `digits` packed BCD nibbles in the unsigned integer `packed`
 * (0x1234 → 1234, 0x00123456 → 123456).
 * @param what names the tag for the error message (`tag level (bcd)`).
 * @throws NodiError kind `decode`, reason `invalid_bcd`, when a nibble is above 9.
 */
export function fromPackedBcd(packed: number, digits: number, what: string): number {
  let rest = packed;
  let value = 0;
  let weight = 1;
  for (let i = 0; i < digits; i++) {
    const d = rest % 16;
    if (d > 9) {
      const hex = `0x${packed.toString(16).toUpperCase().padStart(digits, "0")}`;
      throw new NodiError(
        "decode",
        `${what}: ${hex} is not packed BCD (digit ${i + 1} from the right is ${d.toString(16).toUpperCase()}, above 9)`,
        "invalid_bcd",
        { raw: hex },
      );
    }
    value += d * weight;
    weight *= 10;
    rest = Math.floor(rest / 16);
  }
  return value;
}

/**
 * The packed BCD form of a whole number 0 … 10^digits − 1 (1234 → 0x1234). The caller checks
 * the range (see `encodeRegisters`); a value outside it would lose digits.
 */
export function toPackedBcd(value: number, digits: number): number {
  let rest = value;
  let packed = 0;
  let weight = 1;
  for (let i = 0; i < digits; i++) {
    packed += (rest % 10) * weight;
    weight *= 16;
    rest = Math.floor(rest / 10);
  }
  return packed;
}
