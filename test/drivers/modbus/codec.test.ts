import { describe, expect, test } from "bun:test";
import { isNodiError } from "../../../src/core/errors.ts";
import {
  decodeRegisters,
  encodeRegisters,
  registersOf,
  type TagFormat,
  withBit,
} from "../../../src/drivers/modbus/codec.ts";
import type { ByteOrder, DataType } from "../../../src/store/schema.ts";

const fmt = (
  data_type: DataType,
  byte_order: ByteOrder = "ABCD",
  over: Partial<TagFormat> = {},
): TagFormat => ({
  data_type,
  byte_order,
  scale: 1,
  offset: 0,
  ...over,
});

// Each row: type, order, registers as they arrive on the wire, the value they mean.
// 12.5 = IEEE-754 0x41480000; 1.0 (double) = 0x3FF0000000000000; 0x12345678 = 305419896.
const TABLE: Array<[DataType, ByteOrder, number[], number | string]> = [
  ["float32", "ABCD", [0x4148, 0x0000], 12.5],
  ["float32", "CDAB", [0x0000, 0x4148], 12.5],
  ["float32", "BADC", [0x4841, 0x0000], 12.5],
  ["float32", "DCBA", [0x0000, 0x4841], 12.5],
  ["float32", "ABCD", [0xc148, 0x0000], -12.5],
  ["uint32", "ABCD", [0x1234, 0x5678], 0x12345678],
  ["uint32", "CDAB", [0x5678, 0x1234], 0x12345678],
  ["uint32", "BADC", [0x3412, 0x7856], 0x12345678],
  ["uint32", "DCBA", [0x7856, 0x3412], 0x12345678],
  ["int32", "ABCD", [0xffff, 0xfffe], -2],
  ["int32", "CDAB", [0xfffe, 0xffff], -2],
  ["int32", "BADC", [0xffff, 0xfeff], -2],
  ["int32", "DCBA", [0xfeff, 0xffff], -2],
  ["int16", "ABCD", [0xffff], -1],
  ["int16", "ABCD", [0x016c], 364],
  ["int16", "CDAB", [0x016c], 364],
  ["int16", "BADC", [0x6c01], 364],
  ["int16", "DCBA", [0x6c01], 364],
  ["uint16", "ABCD", [0xffff], 65535],
  ["uint16", "BADC", [0x3412], 0x1234],
  // uint16 4660 = 0x1234 → big-endian bytes A=0x12 B=0x34. CDAB swaps words, and one register
  // has one word: the wire bytes stay 12 34 → [0x1234] = 4660.
  ["uint16", "CDAB", [0x1234], 4660],
  // DCBA on one register is the byte swap: wire bytes 34 12 → [0x3412] = 0x1234 = 4660.
  ["uint16", "DCBA", [0x3412], 4660],
  // Wire bytes 00 80 in DCBA → value bytes 80 00 = 0x8000 = 32768 (unsigned: not −32768).
  ["uint16", "DCBA", [0x0080], 32768],
  ["float64", "ABCD", [0x3ff0, 0, 0, 0], 1],
  ["float64", "CDAB", [0, 0, 0, 0x3ff0], 1],
  ["float64", "BADC", [0xf03f, 0, 0, 0], 1],
  ["float64", "DCBA", [0, 0, 0, 0xf03f], 1],
  ["float64", "ABCD", [0x4029, 0, 0, 0], 12.5],
  ["int64", "ABCD", [0x0102, 0x0304, 0x0506, 0x0708], "72623859790382856"],
  ["int64", "CDAB", [0x0708, 0x0506, 0x0304, 0x0102], "72623859790382856"],
  ["int64", "BADC", [0x0201, 0x0403, 0x0605, 0x0807], "72623859790382856"],
  ["int64", "DCBA", [0x0807, 0x0605, 0x0403, 0x0201], "72623859790382856"],
  ["int64", "ABCD", [0xffff, 0xffff, 0xffff, 0xffff], -1],
  ["int64", "ABCD", [0, 0, 0, 1000], 1000],
  ["uint64", "ABCD", [0xffff, 0xffff, 0xffff, 0xffff], "18446744073709551615"],
  ["uint64", "CDAB", [1000, 0, 0, 0], 1000],
  // uint64 0xFEDCBA9876543210 = 18364758544493064720 (> 2^53, so a decimal string): value
  // bytes A..H = FE DC BA 98 76 54 32 10.
  // BADC swaps the two bytes of each register, words in order: DC FE | 98 BA | 54 76 | 10 32.
  ["uint64", "BADC", [0xdcfe, 0x98ba, 0x5476, 0x1032], "18364758544493064720"],
  // DCBA is all eight bytes reversed: 10 32 | 54 76 | 98 BA | DC FE.
  ["uint64", "DCBA", [0x1032, 0x5476, 0x98ba, 0xdcfe], "18364758544493064720"],
  // 1000 = 0x00000000000003E8: bytes 00 00 00 00 00 00 03 E8.
  // BADC: 00 00 | 00 00 | 00 00 | E8 03 → [0, 0, 0, 0xE803].
  ["uint64", "BADC", [0, 0, 0, 0xe803], 1000],
  // DCBA: E8 03 | 00 00 | 00 00 | 00 00 → [0xE803, 0, 0, 0].
  ["uint64", "DCBA", [0xe803, 0, 0, 0], 1000],
];

describe("codec: decode and encode on byte literals, every data type × byte order", () => {
  for (const [type, order, regs, value] of TABLE) {
    test(`${type} ${order} [${regs.map((r) => `0x${r.toString(16).padStart(4, "0")}`).join(", ")}] = ${value}`, () => {
      expect(decodeRegisters(fmt(type, order), regs)).toBe(value);
      expect(encodeRegisters(fmt(type, order), value)).toEqual(regs);
    });
  }

  test("decode at an offset inside a block", () => {
    expect(decodeRegisters(fmt("float32", "CDAB"), [9, 9, 0x0000, 0x4148, 9], 2)).toBe(12.5);
  });

  test("registersOf", () => {
    expect(registersOf({ data_type: "float64" })).toBe(4);
    expect(registersOf({ data_type: "string", length: 5 })).toBe(5);
    expect(registersOf({ data_type: "bit" })).toBe(1);
  });

  test("too few registers is a decode error", () => {
    try {
      decodeRegisters(fmt("float32"), [0x4148]);
      throw new Error("no throw");
    } catch (e) {
      expect(isNodiError(e, "decode")).toBe(true);
    }
  });
});

describe("codec: scale and offset", () => {
  test("int16 364 × 0.1 = 36.4 (exactly)", () => {
    expect(decodeRegisters(fmt("int16", "ABCD", { scale: 0.1 }), [364])).toBe(36.4);
    expect(encodeRegisters(fmt("int16", "ABCD", { scale: 0.1 }), 36.4)).toEqual([364]);
  });
  test("int16 −125 × 0.01 = −1.25; uint16 1234 × 0.001 = 1.234", () => {
    expect(decodeRegisters(fmt("int16", "ABCD", { scale: 0.01 }), [0xff83])).toBe(-1.25);
    expect(decodeRegisters(fmt("uint16", "ABCD", { scale: 0.001 }), [1234])).toBe(1.234);
  });
  test("offset: raw 500 × 0.1 − 40 = 10 (a temperature with −40 °C offset)", () => {
    const f = fmt("uint16", "ABCD", { scale: 0.1, offset: -40 });
    expect(decodeRegisters(f, [500])).toBe(10);
    expect(encodeRegisters(f, 10)).toEqual([500]);
  });
  test("scale 2 multiplies, and writes round to the nearest raw integer", () => {
    const f = fmt("uint16", "ABCD", { scale: 2 });
    expect(decodeRegisters(f, [21])).toBe(42);
    expect(encodeRegisters(f, 43.2)).toEqual([22]);
  });
  test("float32 with scale", () => {
    expect(decodeRegisters(fmt("float32", "ABCD", { scale: 10 }), [0x4148, 0])).toBe(125);
  });
  test("int64 with a scale gives a number", () => {
    expect(decodeRegisters(fmt("int64", "ABCD", { scale: 0.5 }), [0, 0, 0, 10])).toBe(5);
  });
});

describe("codec: bool and bit", () => {
  test("bool on a register: non-zero is true", () => {
    expect(decodeRegisters(fmt("bool"), [0])).toBe(false);
    expect(decodeRegisters(fmt("bool"), [0x8000])).toBe(true);
    expect(encodeRegisters(fmt("bool"), true)).toEqual([1]);
    expect(encodeRegisters(fmt("bool"), "0")).toEqual([0]);
    expect(encodeRegisters(fmt("bool"), "false")).toEqual([0]);
  });
  test("bit N of a register (0 = LSB)", () => {
    expect(decodeRegisters(fmt("bit", "ABCD", { bit: 2 }), [0x0005])).toBe(true);
    expect(decodeRegisters(fmt("bit", "ABCD", { bit: 1 }), [0x0005])).toBe(false);
    expect(decodeRegisters(fmt("bit", "ABCD", { bit: 15 }), [0x8000])).toBe(true);
    expect(withBit(0x0005, 1, true)).toBe(0x0007);
    expect(withBit(0x0005, 0, false)).toBe(0x0004);
    expect(withBit(0x0000, 15, true)).toBe(0x8000);
  });
});

describe("codec: strings", () => {
  test("high byte first (ABCD / CDAB)", () => {
    expect(decodeRegisters(fmt("string", "ABCD", { length: 2 }), [0x4142, 0x4344])).toBe("ABCD");
    expect(decodeRegisters(fmt("string", "CDAB", { length: 2 }), [0x4142, 0x4344])).toBe("ABCD");
    expect(encodeRegisters(fmt("string", "ABCD", { length: 2 }), "ABC")).toEqual([0x4142, 0x4300]);
  });
  test("low byte first (BADC / DCBA)", () => {
    expect(decodeRegisters(fmt("string", "BADC", { length: 2 }), [0x4241, 0x4443])).toBe("ABCD");
    expect(encodeRegisters(fmt("string", "DCBA", { length: 3 }), "PUMP1")).toEqual([
      0x5550, 0x504d, 0x0031,
    ]);
  });
  test("trailing NULs are removed; empty string", () => {
    expect(decodeRegisters(fmt("string", "ABCD", { length: 4 }), [0x4f4b, 0, 0, 0])).toBe("OK");
    expect(decodeRegisters(fmt("string", "ABCD", { length: 1 }), [0])).toBe("");
    expect(encodeRegisters(fmt("string", "ABCD", { length: 2 }), "")).toEqual([0, 0]);
  });
});

describe("codec: out-of-range writes are refused", () => {
  const refused: Array<[string, TagFormat, unknown]> = [
    ["int16 40000", fmt("int16"), 40000],
    ["int16 −32769", fmt("int16"), -32769],
    ["uint16 −1", fmt("uint16"), -1],
    ["uint16 65536", fmt("uint16"), 65536],
    ["int16 × 0.1 at 3276.8 (raw 32768)", fmt("int16", "ABCD", { scale: 0.1 }), 3276.8],
    ["uint32 2^32", fmt("uint32"), 2 ** 32],
    ["int32 2^31", fmt("int32"), 2 ** 31],
    ["float32 1e39", fmt("float32"), 1e39],
    ["float32 NaN", fmt("float32"), Number.NaN],
    ["float64 Infinity", fmt("float64"), Number.POSITIVE_INFINITY],
    ["uint16 'abc'", fmt("uint16"), "abc"],
    ["uint16 true", fmt("uint16"), true],
    ["uint64 '-1'", fmt("uint64"), "-1"],
    ["int64 2^63", fmt("int64"), "9223372036854775808"],
    ["string too long", fmt("string", "ABCD", { length: 2 }), "ABCDE"],
    ["string not Latin-1", fmt("string", "ABCD", { length: 2 }), "€"],
    ["string from a number", fmt("string", "ABCD", { length: 2 }), 12],
    ["bool 2", fmt("bool"), 2],
    ["bool 'off' (only true/false/1/0)", fmt("bool"), "off"],
    ["bool ' true' (no spaces)", fmt("bool"), " true"],
  ];
  for (const [name, f, value] of refused) {
    test(name, () => {
      let err: unknown;
      try {
        encodeRegisters(f, value as never);
      } catch (e) {
        err = e;
      }
      expect(isNodiError(err, "out_of_range")).toBe(true);
      expect((err as Error).message).toContain(f.data_type);
    });
  }
  test("limits themselves are accepted", () => {
    expect(encodeRegisters(fmt("int16"), -32768)).toEqual([0x8000]);
    expect(encodeRegisters(fmt("uint16"), 65535)).toEqual([0xffff]);
    expect(encodeRegisters(fmt("int64"), "-9223372036854775808")).toEqual([0x8000, 0, 0, 0]);
    expect(encodeRegisters(fmt("uint16"), "42")).toEqual([42]);
  });
});

describe("codec: write values are parsed strictly (src/core/write-value.ts)", () => {
  const tag = { ...fmt("uint16"), tag_name: "setpoint" };
  for (const text of ["0x10", " 7 ", "abc", "NaN", ""]) {
    test(`uint16 ${JSON.stringify(text)} is refused, naming the tag, value and expectation`, () => {
      let err: unknown;
      try {
        encodeRegisters(tag, text);
      } catch (e) {
        err = e;
      }
      expect(isNodiError(err, "out_of_range")).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toContain("tag setpoint (uint16)");
      expect(msg).toContain(`value ${JSON.stringify(text)} refused`);
      expect(msg).toContain("expected a number");
    });
  }
  test("plain decimal text and JSON numbers are accepted", () => {
    expect(encodeRegisters(tag, "16")).toEqual([16]);
    expect(encodeRegisters(tag, "+7")).toEqual([7]);
    expect(encodeRegisters(tag, "1e3")).toEqual([1000]);
    expect(encodeRegisters(tag, 12.4)).toEqual([12]);
    expect(() => encodeRegisters(fmt("int64"), " 5")).toThrow(/refused/);
    expect(encodeRegisters(fmt("int64"), "+5")).toEqual([0, 0, 0, 5]);
  });
});
