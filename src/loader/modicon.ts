import type { BlockTable } from "../store/schema.ts";

/** The Modicon reference digit of each Modbus table: 0xxxx coils, 1xxxx discrete inputs, 3xxxx input registers, 4xxxx holding registers. */
export const MODICON_DIGIT: Partial<Record<BlockTable, string>> = {
  coils: "0",
  discrete_inputs: "1",
  input_registers: "3",
  holding_registers: "4",
};

const TABLE_OF_DIGIT: Record<string, BlockTable> = {
  "0": "coils",
  "1": "discrete_inputs",
  "3": "input_registers",
  "4": "holding_registers",
};

/** A Modicon reference, decoded. */
export interface ModiconRef {
  table: BlockTable;
  /** Zero-based protocol address (the reference minus the table digit, minus 1). */
  address: number;
}

/**
 * Parses a Modicon reference as printed in PLC manuals: a table digit followed by a one-based
 * register/bit number, 5 digits (`40001`–`49999`, numbers 1–9999) or 6 digits
 * (`400001`–`465536`, numbers 1–65536). `40001` and `400001` are holding register 0,
 * `30001` input register 0, `00001` coil 0, `10001` discrete input 0.
 * @returns the table and zero-based address, or an error text saying what was expected.
 */
export function parseModicon(text: string): ModiconRef | { error: string } {
  const m = /^([0134])(\d{4}|\d{5})$/.exec(text.trim());
  if (!m) {
    return {
      error: `expected a Modicon reference: a table digit 0, 1, 3 or 4 and a 4- or 5-digit one-based number (e.g. 40001 or 400001), got "${text}"`,
    };
  }
  const digit = m[1]!;
  const n = Number(m[2]);
  const max = m[2]!.length === 4 ? 9999 : 65536;
  if (n < 1 || n > max) {
    return { error: `a Modicon number runs from 1 to ${max} after the table digit, got "${text}"` };
  }
  return { table: TABLE_OF_DIGIT[digit]!, address: n - 1 };
}

/** Formats a zero-based address as a 6-digit Modicon reference (`holding_registers`, 0 → `400001`). */
export function formatModicon(table: BlockTable, address: number): string | undefined {
  const d = MODICON_DIGIT[table];
  return d === undefined ? undefined : `${d}${String(address + 1).padStart(5, "0")}`;
}
