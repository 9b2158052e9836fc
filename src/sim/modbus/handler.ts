import {
  FC,
  LIMITS,
  packBits,
  packRegisters,
  unpackBits,
  unpackRegisters,
} from "../../drivers/modbus/pdu.ts";
import type { Faults } from "./faults.ts";
import type { ModbusTable, RegisterStore } from "./store.ts";

const TABLE_OF_FC: Record<number, ModbusTable> = {
  [FC.readCoils]: "coils",
  [FC.readDiscreteInputs]: "discrete_inputs",
  [FC.readHoldingRegisters]: "holding_registers",
  [FC.readInputRegisters]: "input_registers",
  [FC.writeSingleCoil]: "coils",
  [FC.writeSingleRegister]: "holding_registers",
  [FC.writeMultipleCoils]: "coils",
  [FC.writeMultipleRegisters]: "holding_registers",
};

const exception = (fc: number, code: number) => new Uint8Array([fc | 0x80, code]);

/** What the simulator does with one request. */
export type Answer = { reply: Uint8Array } | { silent: true };

function touches(
  f: { table?: ModbusTable; from: number; to: number },
  table: ModbusTable,
  a: number,
  n: number,
): boolean {
  return (f.table === undefined || f.table === table) && a <= f.to && a + n - 1 >= f.from;
}

/**
 * Serves one request PDU from `store` as a Modbus server would (spec §6, exception rules of
 * §7 and the state diagrams of §6.1–6.12), applying the scripted `faults`.
 * @returns the response PDU, or `silent` when a fault says not to answer. Never throws.
 */
export function handlePdu(store: RegisterStore, faults: Faults, pdu: Uint8Array): Answer {
  const fc = pdu[0] ?? 0;
  const table = TABLE_OF_FC[fc];
  if (!table || pdu.length < 5) return { reply: exception(fc, 1) };
  const addr = ((pdu[1] ?? 0) << 8) | (pdu[2] ?? 0);
  const word = ((pdu[3] ?? 0) << 8) | (pdu[4] ?? 0);
  const qty = fc === FC.writeSingleCoil || fc === FC.writeSingleRegister ? 1 : word;
  for (const s of faults.silent) if (touches(s, table, addr, qty)) return { silent: true };
  switch (fc) {
    case FC.readCoils:
    case FC.readDiscreteInputs: {
      const max = Math.min(faults.max_bits_per_request, LIMITS.readBits);
      if (qty < 1 || qty > max) return { reply: exception(fc, 3) };
      if (addr + qty > 65536) return { reply: exception(fc, 2) };
      for (const e of faults.exceptions)
        if (touches(e, table, addr, qty)) return { reply: exception(fc, e.code) };
      const n = Math.ceil(qty / 8);
      const out = new Uint8Array(2 + n);
      out[0] = fc;
      out[1] = n;
      packBits(store[table].subarray(addr, addr + qty), out, 2);
      return { reply: out };
    }
    case FC.readHoldingRegisters:
    case FC.readInputRegisters: {
      const max = Math.min(faults.max_registers_per_request, LIMITS.readRegisters);
      if (qty < 1 || qty > max) return { reply: exception(fc, 3) };
      if (addr + qty > 65536) return { reply: exception(fc, 2) };
      for (const e of faults.exceptions)
        if (touches(e, table, addr, qty)) return { reply: exception(fc, e.code) };
      const out = new Uint8Array(2 + 2 * qty);
      out[0] = fc;
      out[1] = 2 * qty;
      packRegisters(store[table].subarray(addr, addr + qty), out, 2);
      return { reply: out };
    }
    case FC.writeSingleCoil: {
      if (word !== 0xff00 && word !== 0) return { reply: exception(fc, 3) };
      for (const e of faults.exceptions)
        if (touches(e, table, addr, 1)) return { reply: exception(fc, e.code) };
      store.coils[addr] = word === 0xff00 ? 1 : 0;
      return { reply: pdu.slice(0, 5) };
    }
    case FC.writeSingleRegister: {
      for (const e of faults.exceptions)
        if (touches(e, table, addr, 1)) return { reply: exception(fc, e.code) };
      store.holding_registers[addr] = word;
      return { reply: pdu.slice(0, 5) };
    }
    case FC.writeMultipleCoils: {
      const nBytes = pdu[5] ?? 0;
      if (
        qty < 1 ||
        qty > LIMITS.writeBits ||
        nBytes !== Math.ceil(qty / 8) ||
        pdu.length < 6 + nBytes
      ) {
        return { reply: exception(fc, 3) };
      }
      if (addr + qty > 65536) return { reply: exception(fc, 2) };
      for (const e of faults.exceptions)
        if (touches(e, table, addr, qty)) return { reply: exception(fc, e.code) };
      store.coils.set(unpackBits(pdu, 6, qty), addr);
      return { reply: pdu.slice(0, 5) };
    }
    case FC.writeMultipleRegisters: {
      const nBytes = pdu[5] ?? 0;
      if (qty < 1 || qty > LIMITS.writeRegisters || nBytes !== 2 * qty || pdu.length < 6 + nBytes) {
        return { reply: exception(fc, 3) };
      }
      if (addr + qty > 65536) return { reply: exception(fc, 2) };
      for (const e of faults.exceptions)
        if (touches(e, table, addr, qty)) return { reply: exception(fc, e.code) };
      store.holding_registers.set(unpackRegisters(pdu, 6, qty), addr);
      return { reply: pdu.slice(0, 5) };
    }
  }
  return { reply: exception(fc, 1) };
}
