import { type DataType, REGISTERS_OF } from "../../store/schema.ts";
import type { KepwareAddress } from "./address.ts";
import { KEPWARE_TYPES, NO_EQUIVALENT } from "./data-types.ts";
import { byteOrder, type KepwareDeviceProperties } from "./device-properties.ts";
import type { KepwareTag } from "./map-row.ts";
import type { KepwareColumn } from "./read.ts";

/** Where a tag lies and how it is decoded (the part of a {@link KepwareTag} its address and type give). */
export type Placement = Pick<
  KepwareTag,
  "table" | "address" | "data_type" | "bit" | "length" | "byte_order" | "array_length"
>;

export type Report = (
  where: KepwareColumn,
  kind: "error" | "unmappable" | "warning",
  message: string,
) => void;

/** The table, address, data type, bit, length and byte order of a tag at `addr`. */
export function placeTag(
  addr: KepwareAddress,
  base: string,
  array: boolean,
  typeCell: string,
  opts: KepwareDeviceProperties,
  report: Report,
): Placement | undefined {
  // Arrays: `4xxxxx[n]` with a `… Array` (or Default) data type is an array tag of n
  // elements here (tags.array_length); Kepware's two-dimensional `[r][c]` has no equivalent.
  if (array && !addr.array) {
    report(
      "address",
      "error",
      `a Kepware ${typeCell} needs its element count in the address, e.g. 400001[10]`,
    );
    return undefined;
  }
  if (addr.array && addr.array.rows > 1) {
    report(
      "address",
      "unmappable",
      `two-dimensional arrays ([rows][columns]) have no equivalent: arrays here have one dimension (400001[${addr.array.rows * addr.array.cols}] reads the same registers as one array)`,
    );
    return undefined;
  }
  const mapped = KEPWARE_TYPES[base];
  if (mapped === null || mapped === undefined) {
    report(
      "dataType",
      "unmappable",
      NO_EQUIVALENT[base] ?? `Kepware ${typeCell} has no equivalent`,
    );
    return undefined;
  }
  const bits = addr.table === "coils" || addr.table === "discrete_inputs";
  const slot = bits
    ? "bit"
    : addr.bit !== undefined
      ? "bit of a register"
      : addr.string
        ? "string"
        : "register";
  const wanted: DataType =
    mapped !== "default"
      ? mapped
      : slot === "bit"
        ? "bool"
        : slot === "bit of a register"
          ? "bit"
          : slot === "string"
            ? "string"
            : "uint16";
  const fits =
    slot === "bit" || slot === "bit of a register"
      ? wanted === "bool" || wanted === "bit"
      : slot === "string"
        ? wanted === "string"
        : wanted !== "bool" && wanted !== "bit" && wanted !== "string";
  const dataType: DataType = slot === "bit of a register" ? "bit" : wanted;
  const kind = slot;
  if (!fits) {
    const hint =
      wanted === "bool"
        ? " (a Boolean in a register names its bit: 40001.0)"
        : wanted === "string"
          ? " (a String names its length in bytes and byte order: 40001.20H)"
          : "";
    report(
      "dataType",
      "error",
      `a ${kind} address (${addr.table}) cannot hold Kepware ${typeCell}${hint}`,
    );
    return undefined;
  }

  // The wire address: with zero-based addressing (Kepware's default) item n is register n − 1.
  const address = opts.zeroBased ? addr.item - 1 : addr.item;
  if (address < 0) {
    report(
      "address",
      "error",
      "item 0 does not exist with zero-based addressing (item 1 is register 0 on the wire)",
    );
    return undefined;
  }
  const elements = addr.array?.cols ?? 1;
  const span =
    (dataType === "string" ? Math.ceil((addr.string?.bytes ?? 0) / 2) : REGISTERS_OF[dataType]) *
    (bits ? 1 : elements);
  const last = address + (bits ? elements : span) - 1;
  if (last > 65535) {
    report(
      "address",
      "error",
      bits
        ? `the tag takes bits ${address}–${last} on the wire, past the last one (65535)`
        : `the tag takes ${span === 1 ? "register" : "registers"} ${address}${span > 1 ? `–${last}` : ""} on the wire, past the last one (65535)`,
    );
    return undefined;
  }
  const out: Placement = { table: addr.table, address, data_type: dataType, byte_order: "ABCD" };
  if (addr.array) out.array_length = elements;
  if (addr.bit !== undefined) {
    const lo = opts.zeroBasedBits ? 0 : 1;
    if (addr.bit < lo || addr.bit > lo + 15) {
      report(
        "address",
        "error",
        `a register bit runs from ${lo} to ${lo + 15}${opts.zeroBasedBits ? " (zero-based bit addressing)" : ""}, got .${addr.bit}`,
      );
      return undefined;
    }
    const b = addr.bit - lo;
    out.bit = opts.modiconBitOrder ? 15 - b : b;
  }
  if (addr.string) {
    const n = addr.string.bytes;
    if (n < 1 || n > 250) {
      report(
        "address",
        "error",
        `a string is 1 to 250 bytes long (125 registers), got .${n}${addr.string.order}`,
      );
      return undefined;
    }
    if (n % 2 === 1) {
      report(
        "address",
        "warning",
        `a string of ${n} bytes takes ${span} registers: it is read as ${span * 2} characters (trailing NULs dropped)`,
      );
    }
    out.length = span;
    out.byte_order = addr.string.order === "H" ? "ABCD" : "BADC";
    return out;
  }
  const order = byteOrder(dataType, opts);
  if (order === undefined) {
    report(
      "dataType",
      "unmappable",
      `a 64-bit value with "First Word Low" ${opts.firstWordLow ? "on" : "off"} and "First DWord Low" ${opts.firstDwordLow ? "on" : "off"} has a word order no byte_order here gives (only all words in order or all reversed)`,
    );
    return undefined;
  }
  out.byte_order = order;
  return out;
}
