import { type ByteOrder, type DataType, REGISTERS_OF } from "../../store/schema.ts";

/**
 * The device properties of the Kepware Modbus device the export comes from (Modbus TCP/IP
 * Ethernet driver manual, "Device Properties — Settings": Data Access and Data Encoding).
 * They are not in the tag export, so the import is told them; the defaults are Kepware's.
 */
export interface KepwareDeviceProperties {
  /** "Zero-Based Addressing" (default on): item 1 (40001) is register 0 on the wire; off: item n is register n. */
  zeroBased: boolean;
  /** "Zero-Based Bit Addressing" (default on): register bits are .0–.15; off: .1–.16. */
  zeroBasedBits: boolean;
  /** "Modicon Bit Ordering" (default off): on, bit 0 is the most significant bit. */
  modiconBitOrder: boolean;
  /** "Modbus Byte Order" (default on): big-endian bytes in a register; off: byte-swapped. */
  modbusByteOrder: boolean;
  /** "First Word Low in 32-Bit Data Types" (default on): the first register is the low word. */
  firstWordLow: boolean;
  /** "First DWord Low in 64-Bit Data Types" (default on): the first two registers are the low dword. */
  firstDwordLow: boolean;
}

/** Kepware's defaults of {@link KepwareDeviceProperties}. */
export const KEPWARE_DEFAULTS: Readonly<KepwareDeviceProperties> = {
  zeroBased: true,
  zeroBasedBits: true,
  modiconBitOrder: false,
  modbusByteOrder: true,
  firstWordLow: true,
  firstDwordLow: true,
};

/**
 * The `byte_order` of a register type under the Data Encoding properties: "Modbus Byte Order"
 * off swaps the bytes of each register (BADC); "First Word Low" reverses the words of a 32-bit
 * value (CDAB); a 64-bit value is reversed when both "First Word Low" and "First DWord Low"
 * are on and in order when both are off.
 * @returns the order, or `undefined` for a 64-bit word order without an equivalent.
 */
export function byteOrder(dt: DataType, p: KepwareDeviceProperties): ByteOrder | undefined {
  const regs = dt === "string" ? 1 : REGISTERS_OF[dt];
  let wordSwap = false;
  if (regs === 2) wordSwap = p.firstWordLow;
  else if (regs === 4) {
    if (p.firstWordLow !== p.firstDwordLow) return undefined;
    wordSwap = p.firstWordLow;
  }
  const byteSwap = !p.modbusByteOrder;
  if (dt === "bool" || dt === "bit") return "ABCD";
  return wordSwap ? (byteSwap ? "DCBA" : "CDAB") : byteSwap ? "BADC" : "ABCD";
}
