import { describe, expect, test } from "bun:test";
import { isNodiError } from "../../../src/core/errors.ts";
import {
  decodePayload,
  encodePayload,
  type Metric,
  typedValue,
} from "../../../src/north/sparkplug/codec.ts";
import { DataType, type MetricValue } from "../../../src/north/sparkplug/datatypes.ts";

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));

/** Every scalar datatype with the values at its edges (Sparkplug 3.0 §6.4.17). */
const CASES: [keyof typeof DataType, MetricValue[]][] = [
  ["Int8", [-128, -1, 0, 1, 127]],
  ["Int16", [-32768, -1, 0, 32767]],
  ["Int32", [-2147483648, -1, 0, 2147483647]],
  ["Int64", [-(2n ** 63n), -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n]],
  ["UInt8", [0, 255]],
  ["UInt16", [0, 65535]],
  ["UInt32", [0, 2147483648, 4294967295]],
  ["UInt64", [0n, 2n ** 53n + 1n, 9007199254740993n, 2n ** 64n - 1n]],
  ["Float", [0, -1.5, 3.4028234663852886e38, 1.401298464324817e-45]],
  ["Double", [0, Math.PI, -Number.MAX_VALUE, Number.MIN_VALUE]],
  ["Boolean", [true, false]],
  ["String", ["", "Grüße / 温度 ✓"]],
  ["DateTime", [0n, 1764633600123n]],
  ["Text", ["a\nb"]],
  ["UUID", ["0f8fad5b-d9cb-469f-a165-70867728950e"]],
  ["Bytes", [new Uint8Array([0, 255, 1])]],
  ["File", [new Uint8Array([1, 2, 3])]],
];

describe("Sparkplug B payload codec", () => {
  for (const [name, values] of CASES)
    test(`payloads-metric-datatype-value: ${name} round-trips exactly (${values.length} values)`, () => {
      const metrics: Metric[] = values.map((value, i) => ({
        name: `m${i}`,
        alias: i + 1,
        timestamp: 1764633600000 + i,
        datatype: DataType[name],
        value,
      }));
      const back = decodePayload(encodePayload({ timestamp: 1764633600999, seq: 0, metrics }));
      expect(back.metrics.map((m) => m.value)).toEqual(values);
      expect(back.metrics.map((m) => m.datatype)).toEqual(values.map(() => DataType[name]));
      expect(back.metrics.map((m) => m.timestamp)).toEqual(values.map((_, i) => 1764633600000 + i));
      expect(back.seq).toBe(0);
      expect(back.timestamp).toBe(1764633600999);
    });

  test("DATA without datatype: the receiver types the value by the BIRTH datatype", () => {
    const metrics: Metric[] = [
      { alias: 1, valueType: DataType.Int16, value: -2 },
      { alias: 2, valueType: DataType.UInt64, value: 2n ** 64n - 1n },
      { alias: 3, valueType: DataType.Int64, value: -(2n ** 63n) },
    ];
    const back = decodePayload(encodePayload({ seq: 1, metrics }));
    expect(back.metrics.every((m) => m.datatype === undefined)).toBe(true);
    expect(typedValue(DataType.Int16, back.metrics[0]!)).toBe(-2);
    expect(typedValue(DataType.UInt64, back.metrics[1]!)).toBe(2n ** 64n - 1n);
    expect(typedValue(DataType.Int64, back.metrics[2]!)).toBe(-(2n ** 63n));
    // the raw wire values are the unsigned two's complements
    expect(back.metrics[0]!.value).toBe(4294967294);
    expect(back.metrics[2]!.value).toBe(2n ** 63n);
  });

  test("decodes bytes written by hand from sparkplug_b.proto (not by our encoder)", () => {
    // Payload { timestamp(1)=1000, metrics(2)=[...], seq(3)=255 }
    // Metric 1: name(1)="a" alias(2)=5 datatype(4)=3 Int32, int_value(10)=0xFFFFFFFE (-2)
    const m1 = "0a0161 1005 2003 50 feffffff0f";
    // Metric 2: alias(2)=6 datatype(4)=8 UInt64 long_value(11)=2^64-1, is_historical(5)=true
    const m2 = "1006 2008 2801 58 ffffffffffffffffff01";
    // Metric 3: name="f" datatype=9 Float float_value(12, fixed32)=1.5 (0x3fc00000 LE)
    const m3 = "0a0166 2009 65 0000c03f";
    // Metric 4: name="d" datatype=10 Double double_value(13, fixed64)=-2.5 (0xc004000000000000 LE)
    const m4 = "0a0164 200a 69 00000000000004c0";
    // Metric 5: name="b" datatype=11 boolean_value(14)=true; Metric 6: name="s" datatype=12 string_value(15)="hi"
    const m5 = "0a0162 200b 7001";
    const m6 = "0a0173 200c 7a026869";
    // Metric 7: name="q" datatype=7 is_null(7)=true, properties(9)=PropertySet{keys=["Quality"],
    //   values=[PropertyValue{type(1)=3, int_value(3)=0}]}
    const ps = "0a075175616c697479 1204 0803 1800";
    const m7 = `0a0171 2007 3801 4a0f ${ps}`;
    const len = (h: string) => (h.replace(/\s+/g, "").length / 2).toString(16).padStart(2, "0");
    const metric = (h: string) => `12${len(h)}${h}`;
    const bytes = hex(`08e807 ${[m1, m2, m3, m4, m5, m6, m7].map(metric).join("")} 18ff01`);
    const p = decodePayload(bytes);
    expect(p.timestamp).toBe(1000);
    expect(p.seq).toBe(255);
    expect(p.metrics).toEqual([
      { name: "a", alias: 5, datatype: DataType.Int32, wireField: "int_value", value: -2 },
      {
        alias: 6,
        datatype: DataType.UInt64,
        isHistorical: true,
        wireField: "long_value",
        value: 18446744073709551615n,
      },
      { name: "f", datatype: DataType.Float, wireField: "float_value", value: 1.5 },
      { name: "d", datatype: DataType.Double, wireField: "double_value", value: -2.5 },
      { name: "b", datatype: DataType.Boolean, wireField: "boolean_value", value: true },
      { name: "s", datatype: DataType.String, wireField: "string_value", value: "hi" },
      {
        name: "q",
        datatype: DataType.UInt32,
        isNull: true,
        properties: { keys: ["Quality"], values: [{ type: DataType.Int32, value: 0 }] },
      },
    ]);
  });

  test("encodes exactly the hand-written bytes of a metric (field numbers and varints of the .proto)", () => {
    const bytes = encodePayload({
      timestamp: 1000,
      seq: 255,
      metrics: [{ name: "a", alias: 5, datatype: DataType.Int32, value: -2 }],
    });
    expect(Buffer.from(bytes).toString("hex")).toBe("08e807120d0a01611005200350feffffff0f18ff01");
  });

  test("payloads-propertyset-quality-value-type: the Quality property is an Int32 in int_value", () => {
    const back = decodePayload(
      encodePayload({
        metrics: [
          {
            name: "t",
            datatype: DataType.Double,
            isNull: true,
            properties: {
              keys: ["Quality", "Reason"],
              values: [
                { type: DataType.Int32, value: 500 },
                { type: DataType.String, value: "timeout" },
              ],
            },
          },
        ],
      }),
    );
    expect(back.metrics[0]!.isNull).toBe(true);
    expect(back.metrics[0]!.value).toBeUndefined();
    expect(back.metrics[0]!.properties).toEqual({
      keys: ["Quality", "Reason"],
      values: [
        { type: DataType.Int32, value: 500 },
        { type: DataType.String, value: "timeout" },
      ],
    });
  });

  test("nested PropertySet and PropertySetList round-trip", () => {
    const inner = { keys: ["k"], values: [{ type: DataType.UInt64, value: 2n ** 60n }] };
    const properties = {
      keys: ["set", "list", "none"],
      values: [
        { type: DataType.PropertySet, value: inner },
        { type: DataType.PropertySetList, value: [inner, inner] },
        { type: DataType.String, isNull: true },
      ],
    };
    const back = decodePayload(
      encodePayload({
        metrics: [{ name: "x", datatype: DataType.Boolean, value: false, properties }],
      }),
    );
    expect(back.metrics[0]!.properties).toEqual(properties);
  });

  test("a value that does not fit its datatype is refused, naming it", () => {
    const bad: [number, MetricValue][] = [
      [DataType.Int8, 128],
      [DataType.UInt32, 4294967296],
      [DataType.UInt32, -1],
      [DataType.Int16, 1.5],
      [DataType.Int64, 1],
      [DataType.UInt64, -1n],
      [DataType.UInt64, 2n ** 64n],
      [DataType.Boolean, 1],
      [DataType.String, 5],
    ];
    for (const [datatype, value] of bad) {
      let err: unknown;
      try {
        encodePayload({ metrics: [{ name: "x", datatype, value }] });
      } catch (e) {
        err = e;
      }
      expect(isNodiError(err, "out_of_range")).toBe(true);
      expect((err as Error).message).toMatch(/value must be/);
    }
  });

  test("operational-behavior-data-commands-dcmd-metric-value: a value in the wrong field or range for the datatype is refused", () => {
    // Float sent in int_value; 200 in an Int8 (not a sign extension); 70000 in a UInt16.
    const p = decodePayload(
      encodePayload({
        metrics: [
          { alias: 1, valueType: DataType.UInt32, value: 3 },
          { alias: 2, valueType: DataType.UInt32, value: 200 },
          { alias: 3, valueType: DataType.UInt32, value: 70000 },
        ],
      }),
    );
    expect(() => typedValue(DataType.Float, p.metrics[0]!)).toThrow(/travels in float_value/);
    expect(() => typedValue(DataType.Int8, p.metrics[1]!)).toThrow(/sign-extended/);
    expect(() => typedValue(DataType.UInt16, p.metrics[2]!)).toThrow(/at most 65535/);
    expect(typedValue(DataType.UInt32, p.metrics[2]!)).toBe(70000);
  });

  test("a UInt32 in long_value (as Eclipse Tahu's Java encoder, i.e. Ignition, sends it) is accepted up to 2^32-1", () => {
    // Metric { alias(2)=1, long_value(11)=4294967295 } and { alias=2, long_value=4294967296 }
    const p = decodePayload(hex("1208 1001 58ffffffff0f 1208 1002 588080808010"));
    expect(typedValue(DataType.UInt32, p.metrics[0]!)).toBe(4294967295);
    expect(() => typedValue(DataType.UInt32, p.metrics[1]!)).toThrow(/at most 4294967295/);
    // other datatypes stay strict: a UInt16 in long_value is refused
    expect(() => typedValue(DataType.UInt16, p.metrics[0]!)).toThrow(/travels in int_value/);
  });

  test("bytes that are not a payload give a decode error, not a crash", () => {
    let err: unknown;
    try {
      decodePayload(hex("12ff01"));
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "decode")).toBe(true);
    expect((err as Error).message).toMatch(/not a Sparkplug B payload/);
  });
});
