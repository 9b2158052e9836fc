import type { DataType } from "../../store/schema.ts";

/**
 * KEPServerEX tag data types (server manual, "Tag Properties — General", Data Type) and the
 * Nodi Edge `data_type` each becomes. `null`: a Kepware type without an equivalent here
 * (listed as unmappable with the reason). `Default` takes the address's default type (see
 * `map-row.ts`): Boolean for coils, discrete inputs and register bits, Word for a register,
 * String for a string address.
 */
export const KEPWARE_TYPES: Readonly<Record<string, DataType | "default" | null>> = {
  default: "default",
  boolean: "bool",
  short: "int16",
  word: "uint16",
  long: "int32",
  dword: "uint32",
  llong: "int64",
  qword: "uint64",
  float: "float32",
  double: "float64",
  bcd: "bcd",
  lbcd: "lbcd",
  string: "string",
  char: null,
  byte: null,
  date: null,
};

/** Why a Kepware type has no equivalent (for the unmappable list). */
export const NO_EQUIVALENT: Readonly<Record<string, string>> = {
  char: "Kepware Char (signed 8-bit) has no equivalent: tags here are 16 bits or more (use Short)",
  byte: "Kepware Byte (unsigned 8-bit) has no equivalent: tags here are 16 bits or more (use Word)",
  date: "Kepware Date has no equivalent data type",
};

/** The Kepware type names as the manual spells them, for messages. */
export const KEPWARE_TYPE_NAMES = [
  "Default",
  "Boolean",
  "Char",
  "Byte",
  "Short",
  "Word",
  "Long",
  "DWord",
  "LLong",
  "QWord",
  "Float",
  "Double",
  "BCD",
  "LBCD",
  "String",
  "Date",
] as const;

/** Kepware's integer types: a `Scaled Data Type` of one of these rounds the scaled value there. */
export const INTEGER_TYPES: ReadonlySet<string> = new Set([
  "char",
  "byte",
  "short",
  "word",
  "long",
  "dword",
  "llong",
  "qword",
  "bcd",
  "lbcd",
]);

/** A parsed `Data Type` cell: the base type (lower case) and whether it is `… Array`. */
export interface KepwareType {
  base: string;
  array: boolean;
}

/**
 * Parses a `Data Type` cell (case-insensitive; empty = `Default`; `Word Array` = an array of
 * Word).
 * @returns the type, or `undefined` for a name Kepware does not have.
 */
export function parseKepwareType(cell: string): KepwareType | undefined {
  const s = cell.trim().toLowerCase().replace(/\s+/g, " ");
  if (s === "") return { base: "default", array: false };
  const array = s.endsWith(" array");
  const base = array ? s.slice(0, -" array".length) : s;
  return base in KEPWARE_TYPES ? { base, array } : undefined;
}
