import { describe, expect, test } from "bun:test";
import { DataType } from "../../../src/north/sparkplug/datatypes.ts";
import {
  metricDataType,
  toMetricValue,
  toTagScalar,
  valueMetric,
} from "../../../src/north/sparkplug/metrics.ts";
import type { DataType as NodiType } from "../../../src/store/schema.ts";

describe("tags as Sparkplug metrics", () => {
  test("payloads-metric-datatype-value: every Nodi data type has its Sparkplug datatype; scaled integers are Double", () => {
    const table: [NodiType, DataType][] = [
      ["bool", DataType.Boolean],
      ["bit", DataType.Boolean],
      ["int16", DataType.Int16],
      ["uint16", DataType.UInt16],
      ["int32", DataType.Int32],
      ["uint32", DataType.UInt32],
      ["int64", DataType.Int64],
      ["uint64", DataType.UInt64],
      ["float32", DataType.Float],
      ["float64", DataType.Double],
      ["string", DataType.String],
      ["bcd", DataType.UInt32],
      ["lbcd", DataType.UInt32],
    ];
    for (const [dataType, sp] of table)
      expect([dataType, metricDataType({ dataType })]).toEqual([dataType, sp]);
    expect(metricDataType({ dataType: "int16", scaled: true })).toBe(DataType.Double);
    expect(metricDataType({ dataType: "uint64", scaled: true })).toBe(DataType.Double);
    expect(metricDataType({ dataType: "bool", scaled: true })).toBe(DataType.Boolean);
    expect(metricDataType({ dataType: "bcd", scaled: true })).toBe(DataType.Double);
  });

  test("TagBus values become exact metric values (64-bit from decimal strings, booleans from 0/1)", () => {
    expect(toMetricValue(DataType.UInt64, "18446744073709551615")).toBe(2n ** 64n - 1n);
    expect(toMetricValue(DataType.Int64, "-9223372036854775808")).toBe(-(2n ** 63n));
    expect(toMetricValue(DataType.Int64, 42)).toBe(42n);
    expect(toMetricValue(DataType.Boolean, 1)).toBe(true);
    expect(toMetricValue(DataType.Boolean, false)).toBe(false);
    expect(toMetricValue(DataType.UInt32, 4294967295)).toBe(4294967295);
    for (const [t, v] of [
      [DataType.UInt64, "18446744073709551616"],
      [DataType.UInt64, 1.5],
      [DataType.Int64, "12abc"],
      [DataType.Boolean, 2],
      [DataType.UInt16, 70000],
      [DataType.String, 5],
      [DataType.Double, "1.5"],
    ] as const)
      expect(() => toMetricValue(t, v)).toThrow(/not a|value must be/);
  });

  test("command values become TagBus write values: 64-bit above 2^53 as decimal strings", () => {
    expect(toTagScalar(2n ** 64n - 1n)).toBe("18446744073709551615");
    expect(toTagScalar(-5n)).toBe(-5);
    expect(toTagScalar(true)).toBe(true);
    expect(toTagScalar(1.25)).toBe(1.25);
  });

  test("a tag without any value yet is is_null with Quality 0 and Reason no_value", () => {
    const { metric, quality } = valueMetric(DataType.Float, undefined, undefined, 99);
    expect(quality).toBe("bad");
    expect(metric).toEqual({
      timestamp: 99,
      isNull: true,
      properties: {
        keys: ["Quality", "Reason"],
        values: [
          { type: DataType.Int32, value: 0 },
          { type: DataType.String, value: "no_value" },
        ],
      },
    });
  });
});
