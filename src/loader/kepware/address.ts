import type { BlockTable } from "../../store/schema.ts";

/**
 * Addresses of KEPServerEX's Modbus drivers (Modbus TCP/IP Ethernet and Modbus RTU Serial
 * driver manuals, "Address Descriptions" / "Modbus Addressing"), as they appear in the
 * `Address` column of a tag export. Pure parsing: what the numbers mean on the wire depends
 * on the device properties (zero-based addressing, zero-based bit addressing), applied in
 * `map-row.ts`.
 *
 * - The first digit is the table: 0 output coils, 1 input coils (discrete inputs), 3 internal
 *   (input) registers, 4 holding registers. The rest is the data item, 1–65536. Kepware pads
 *   short forms: `41`, `401`, `4001`, `40001` and `400001` are all holding register item 1.
 * - `4xxxxx.b`, `3xxxxx.b`: bit b of a register (0–15, or 1–16 without zero-based bit
 *   addressing).
 * - `4xxxxx.lH`, `4xxxxx.lL` (and `3…`): a string of l bytes (characters) starting at the
 *   register, two per register, HiLo (`H`: first character in the high byte) or LoHi (`L`).
 * - `4xxxxx[c]`, `4xxxxx[r][c]`: an array of c (r × c) values of the tag's data type.
 * - `H…`: the same tables in hexadecimal notation.
 */
export interface KepwareAddress {
  table: Exclude<BlockTable, "opcua_nodes">;
  /** The data item as written (the number after the table digit), 0–65536. */
  item: number;
  /** `.b` of a register bit, as written (its base depends on zero-based bit addressing). */
  bit?: number;
  /** `.lH` / `.lL`: a string of `bytes` characters, HiLo (`H`) or LoHi (`L`) byte order. */
  string?: { bytes: number; order: "H" | "L" };
  /** `[c]` or `[r][c]`: an array. */
  array?: { rows: number; cols: number };
}

/**
 * Why an address cannot be parsed (`error`: not a Kepware Modbus address, bad input) or
 * names a Kepware feature Nodi Edge has no equivalent for (`unmappable`).
 */
export type AddressProblem = { error: string } | { unmappable: string };

const TABLE_OF_DIGIT: Record<string, KepwareAddress["table"]> = {
  "0": "coils",
  "1": "discrete_inputs",
  "3": "input_registers",
  "4": "holding_registers",
};

const ADDRESS_RE = /^([0134])(\d{1,5})(?:\.(\d{1,3})([HL])?)?((?:\s*\[\s*\d+\s*\]){1,2})?$/i;
const EXPECTED =
  "a Kepware Modbus address: a table digit 0, 1, 3 or 4 and the item number (40001, 400001), optionally .bit (40001.3), .lengthH/.lengthL for a string (40001.20H) or [n] for an array";

/**
 * Parses the `Address` cell of a Kepware Modbus tag.
 * @returns the parsed address, or a {@link AddressProblem}: an `error` for text that is not a
 *   Kepware Modbus address (with what was expected), `unmappable` for hexadecimal notation.
 */
export function parseKepwareAddress(text: string): KepwareAddress | AddressProblem {
  const s = text.trim();
  if (/^H[0134][0-9A-F]+/i.test(s)) {
    return {
      unmappable: `hexadecimal addresses (${s}) are not converted: write the address in decimal (Kepware's "Modbus Addressing in Decimal Format")`,
    };
  }
  const m = ADDRESS_RE.exec(s);
  if (!m) return { error: `expected ${EXPECTED}, got "${text}"` };
  const table = TABLE_OF_DIGIT[m[1]!]!;
  const item = Number(m[2]);
  if (item > 65536) {
    return { error: `the item number after the table digit runs to 65536, got "${text}"` };
  }
  const out: KepwareAddress = { table, item };
  const bits = table === "coils" || table === "discrete_inputs";
  if (m[3] !== undefined) {
    if (bits) {
      return {
        error: `a ${table === "coils" ? "coil" : "discrete input"} address has no .bit or .length suffix, got "${text}"`,
      };
    }
    const n = Number(m[3]);
    if (m[4] === undefined) out.bit = n;
    else out.string = { bytes: n, order: m[4].toUpperCase() as "H" | "L" };
  }
  if (m[5] !== undefined) {
    const dims = [...m[5].matchAll(/\d+/g)].map((d) => Number(d[0]));
    if (out.bit !== undefined || out.string) {
      return { error: `an array address has no .bit or .length suffix, got "${text}"` };
    }
    if (dims.some((d) => d < 1)) {
      return { error: `array dimensions are at least 1, got "${text}"` };
    }
    out.array =
      dims.length === 1 ? { rows: 1, cols: dims[0]! } : { rows: dims[0]!, cols: dims[1]! };
  }
  return out;
}
