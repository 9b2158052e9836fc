import { describe, expect, test } from "bun:test";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import {
  decodeRegisters,
  encodeRegisters,
  registersOf,
  type TagFormat,
} from "../../../src/drivers/modbus/codec.ts";
import type { ByteOrder, DataType } from "../../../src/store/schema.ts";

const fmt = (
  data_type: DataType,
  byte_order: ByteOrder = "ABCD",
  over: Partial<TagFormat> = {},
): TagFormat => ({ data_type, byte_order, scale: 1, offset: 0, ...over });

const hex = (regs: number[]) =>
  regs.map((r) => `0x${r.toString(16).toUpperCase().padStart(4, "0")}`).join(", ");

/** The NodiError `fn` throws (fails the test when it throws nothing or something else). */
function thrown(fn: () => unknown): NodiError {
  try {
    fn();
  } catch (e) {
    if (isNodiError(e)) return e;
    throw e;
  }
  throw new Error("expected a NodiError");
}

// Packed BCD: one decimal digit per nibble, most significant first (Kepware `BCD`, `LBCD`).
// Each row: type, order, registers as they arrive on the wire, the value they mean.
const TABLE: Array<[DataType, ByteOrder, number[], number]> = [
  ["bcd", "ABCD", [0x1234], 1234],
  ["bcd", "ABCD", [0x9999], 9999],
  ["bcd", "ABCD", [0x0000], 0],
  ["bcd", "ABCD", [0x0007], 7],
  // 16-bit: CDAB has one word (no change), BADC/DCBA swap the two bytes.
  ["bcd", "CDAB", [0x1234], 1234],
  ["bcd", "BADC", [0x3412], 1234],
  ["bcd", "DCBA", [0x3412], 1234],
  // LBCD 123456 = packed 0x00123456: value bytes A..D = 00 12 34 56.
  ["lbcd", "ABCD", [0x0012, 0x3456], 123456],
  ["lbcd", "CDAB", [0x3456, 0x0012], 123456],
  ["lbcd", "BADC", [0x1200, 0x5634], 123456],
  ["lbcd", "DCBA", [0x5634, 0x1200], 123456],
  ["lbcd", "ABCD", [0x9999, 0x9999], 99_999_999],
  ["lbcd", "ABCD", [0x8765, 0x4321], 87_654_321],
  ["lbcd", "CDAB", [0x4321, 0x8765], 87_654_321],
  ["lbcd", "ABCD", [0x0000, 0x0000], 0],
];

describe("codec: packed BCD on byte literals", () => {
  for (const [type, order, regs, value] of TABLE) {
    test(`${type} ${order} [${hex(regs)}] = ${value}`, () => {
      expect(decodeRegisters(fmt(type, order), regs)).toBe(value);
      expect(encodeRegisters(fmt(type, order), value)).toEqual(regs);
    });
  }

  test("spans: bcd one register, lbcd two", () => {
    expect(registersOf({ data_type: "bcd" })).toBe(1);
    expect(registersOf({ data_type: "lbcd" })).toBe(2);
  });

  test("at an offset inside a block", () => {
    expect(decodeRegisters(fmt("lbcd", "CDAB"), [0xffff, 0x5678, 0x1234, 0xffff], 1)).toBe(
      12_345_678,
    );
  });
});

describe("codec: a nibble above 9 is decode/invalid_bcd, never a number", () => {
  const invalid: Array<[DataType, ByteOrder, number[], string]> = [
    ["bcd", "ABCD", [0x12ab], "0x12AB"],
    ["bcd", "ABCD", [0xa000], "0xA000"],
    ["bcd", "ABCD", [0xffff], "0xFFFF"],
    // byte-swapped: the wire 0xAB12 is the value 0x12AB
    ["bcd", "BADC", [0xab12], "0x12AB"],
    ["lbcd", "ABCD", [0x0012, 0x345f], "0x0012345F"],
    // the top nibble of the 32-bit value (bit 31 set: no sign confusion)
    ["lbcd", "ABCD", [0xf000, 0x0000], "0xF0000000"],
    ["lbcd", "CDAB", [0x0000, 0xc000], "0xC0000000"],
  ];
  for (const [type, order, regs, shown] of invalid) {
    test(`${type} ${order} [${hex(regs)}]`, () => {
      const e = thrown(() => decodeRegisters({ ...fmt(type, order), tag_name: "level" }, regs));
      expect(e.kind).toBe("decode");
      expect(e.reason).toBe("invalid_bcd");
      expect(e.message).toContain(`tag level (${type}): ${shown} is not packed BCD`);
    });
  }

  test("the same register as uint16 is a number (only bcd checks the nibbles)", () => {
    expect(decodeRegisters(fmt("uint16"), [0x12ab])).toBe(0x12ab);
  });
});

describe("codec: BCD with scale and offset", () => {
  test("bcd 0x0364 × 0.1 = 36.4 (exactly); written back as 0x0364", () => {
    const f = fmt("bcd", "ABCD", { scale: 0.1 });
    expect(decodeRegisters(f, [0x0364])).toBe(36.4);
    expect(encodeRegisters(f, 36.4)).toEqual([0x0364]);
  });

  test("lbcd 0x0001 0x0500 × 0.1 − 40 = 1010 (an offset); written back", () => {
    const f = fmt("lbcd", "ABCD", { scale: 0.1, offset: -40 });
    expect(decodeRegisters(f, [0x0001, 0x0500])).toBe(1010);
    expect(encodeRegisters(f, 1010)).toEqual([0x0001, 0x0500]);
  });

  test("writes round to the nearest raw integer, like the other integer types", () => {
    expect(encodeRegisters(fmt("bcd"), 12.4)).toEqual([0x0012]);
    expect(encodeRegisters(fmt("bcd"), "99")).toEqual([0x0099]);
  });
});

describe("codec: BCD writes out of range or not a number are refused", () => {
  const refused: Array<[string, TagFormat, unknown, RegExp]> = [
    ["bcd 10000", fmt("bcd"), 10000, /raw 10000 outside 0\.\.9999/],
    ["bcd −1", fmt("bcd"), -1, /raw -1 outside 0\.\.9999/],
    ["bcd × 0.1 at 1000 (raw 10000)", fmt("bcd", "ABCD", { scale: 0.1 }), 1000, /raw 10000/],
    ["lbcd 100000000", fmt("lbcd"), 100_000_000, /raw 100000000 outside 0\.\.99999999/],
    ["lbcd −5", fmt("lbcd"), -5, /outside 0\.\.99999999/],
    ["bcd '0x10'", fmt("bcd"), "0x10", /value "0x10" refused: expected a number/],
    ["bcd true", fmt("bcd"), true, /value true refused: expected a number/],
    ["lbcd NaN", fmt("lbcd"), Number.NaN, /refused: expected a number/],
  ];
  for (const [name, f, value, re] of refused) {
    test(name, () => {
      const e = thrown(() => encodeRegisters({ ...f, tag_name: "count" }, value as never));
      expect(e.kind).toBe("out_of_range");
      expect(e.message).toContain(`tag count (${f.data_type})`);
      expect(e.message).toMatch(re);
    });
  }
});
