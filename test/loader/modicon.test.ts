import { describe, expect, test } from "bun:test";
import { formatModicon, parseModicon } from "../../src/loader/modicon.ts";

describe("Modicon references", () => {
  test("5- and 6-digit references of the four tables", () => {
    expect(parseModicon("40001")).toEqual({ table: "holding_registers", address: 0 });
    expect(parseModicon("400001")).toEqual({ table: "holding_registers", address: 0 });
    expect(parseModicon("30001")).toEqual({ table: "input_registers", address: 0 });
    expect(parseModicon("00001")).toEqual({ table: "coils", address: 0 });
    expect(parseModicon("10001")).toEqual({ table: "discrete_inputs", address: 0 });
    expect(parseModicon("49999")).toEqual({ table: "holding_registers", address: 9998 });
    expect(parseModicon("465536")).toEqual({ table: "holding_registers", address: 65535 });
    expect(parseModicon("300015")).toEqual({ table: "input_registers", address: 14 });
  });
  test("refused: zero number, out of range, unknown table digit, wrong length", () => {
    for (const bad of ["40000", "400000", "465537", "20001", "4001", "4000001", "4x0001", ""]) {
      expect(parseModicon(bad)).toHaveProperty("error");
    }
  });
  test("formatModicon is the inverse, 6 digits", () => {
    expect(formatModicon("holding_registers", 0)).toBe("400001");
    expect(formatModicon("coils", 99)).toBe("000100");
    expect(formatModicon("opcua_nodes", 0)).toBeUndefined();
  });
});
