import type { BlockTable } from "../../store/schema.ts";

/** The four Modbus data tables (spec §4.3). */
export type ModbusTable = Exclude<BlockTable, "opcua_nodes">;
export const MODBUS_TABLES: readonly ModbusTable[] = [
  "coils",
  "discrete_inputs",
  "holding_registers",
  "input_registers",
];

/**
 * The simulator's data model: all 65536 addresses of each table, zero-based. Bits are 0/1
 * bytes, registers 16-bit words. Tests read and change it directly.
 */
export class RegisterStore {
  readonly coils = new Uint8Array(65536);
  readonly discrete_inputs = new Uint8Array(65536);
  readonly holding_registers = new Uint16Array(65536);
  readonly input_registers = new Uint16Array(65536);

  /** The array of a table. */
  table(t: ModbusTable): Uint8Array | Uint16Array {
    return this[t];
  }

  /** Sets registers (or bits) from `address` on. Values are truncated to 16 bits (or 0/1). */
  set(t: ModbusTable, address: number, values: ArrayLike<number | boolean>): void {
    const arr = this[t];
    const bit = t === "coils" || t === "discrete_inputs";
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      arr[address + i] = bit ? (v ? 1 : 0) : Number(v) & 0xffff;
    }
  }

  /** Reads `count` registers (or bits) from `address`. */
  get(t: ModbusTable, address: number, count: number): number[] {
    return Array.from(this[t].subarray(address, address + count));
  }
}
