import { describe, expect, test } from "bun:test";
import { isNodiError } from "../../src/core/errors.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { updateJson } from "../../src/north/mqtt/format.ts";
import { packArray, unpackArray } from "../../src/north/sparkplug/arrays.ts";
import { decodePayload, encodePayload } from "../../src/north/sparkplug/codec.ts";
import { DataType } from "../../src/north/sparkplug/datatypes.ts";
import { metricDataType, valueMetric } from "../../src/north/sparkplug/metrics.ts";
import {
  checkValue,
  decodeBatch,
  decodeCurrent,
  encodeSample,
  MAX_ARRAY_ELEMENTS,
} from "../../src/tagbus/codec.ts";

/** Array values (issue 14 array tags) on the TagBus and northbound. */
const throwsKind = (fn: () => void, reason: string) => {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err, "configuration")).toBe(true);
  expect((err as { reason: string }).reason).toBe(reason);
  return (err as Error).message;
};

describe("TagBus codec: arrays", () => {
  test("a sample with an array value is a JSON array in the stream entry and the current value", () => {
    const e = encodeSample(
      {
        path: "/plc/temps",
        value: [12.5, -2, "18446744073709551615", true],
        quality: "good",
        ts: 5,
      },
      "plc",
    );
    expect(e.entry).toBe('["/plc/temps",[12.5,-2,"18446744073709551615",true],"good",5]');
    expect(e.curPrefix).toBe('[[12.5,-2,"18446744073709551615",true],"good",null,5,"plc",');
    expect(decodeBatch(`[${e.entry}]`, "plc", 7)?.[0]?.value).toEqual([
      12.5,
      -2,
      "18446744073709551615",
      true,
    ]);
    expect(decodeCurrent("/plc/temps", `${e.curPrefix}9]`)?.value).toEqual([
      12.5,
      -2,
      "18446744073709551615",
      true,
    ]);
  });

  test("refused: an array write, a non-finite element, too many elements", () => {
    expect(throwsKind(() => checkValue("/plc/t", [1, 2], undefined), "invalid_value")).toContain(
      "a write of an array is not supported",
    );
    throwsKind(() => checkValue("/plc/t", [1, Number.NaN], "good"), "invalid_value");
    throwsKind(() => checkValue("/plc/t", [{}], "good"), "invalid_value");
    throwsKind(
      () => checkValue("/plc/t", Array(MAX_ARRAY_ELEMENTS + 1).fill(0), "good"),
      "value_too_large",
    );
  });
});

describe("northbound: arrays", () => {
  const v: TagValue = {
    path: "/plc/temps",
    value: [12.5, 1],
    quality: "good",
    ts: 9,
    producer: "plc",
    seq: 3,
  };
  test("plain MQTT: the value is a JSON array", () => {
    expect(JSON.stringify(updateJson(v, false))).toBe(
      '{"value":[12.5,1],"quality":"good","ts":9,"seq":3}',
    );
  });
  test("Sparkplug: the matching array datatype, elements packed little-endian (§6.4.17)", () => {
    const t = metricDataType({ dataType: "float32", arrayLength: 2 });
    expect(t).toBe(DataType.FloatArray);
    const { metric, quality } = valueMetric(t, v, undefined, 99);
    expect(quality).toBe("good");
    // 12.5 = 0x41480000, 1 = 0x3F800000, each little-endian
    expect([...(metric.value as Uint8Array)]).toEqual([0, 0, 0x48, 0x41, 0, 0, 0x80, 0x3f]);
    expect(metricDataType({ dataType: "int16", arrayLength: 4, scaled: true })).toBe(
      DataType.DoubleArray,
    );
    expect(metricDataType({ dataType: "bool", arrayLength: 16 })).toBe(DataType.BooleanArray);
    expect(metricDataType({ dataType: "lbcd", arrayLength: 2 })).toBe(DataType.UInt32Array);
    // a scalar value for an array metric (or the reverse) is bad, not a wrong payload
    expect(valueMetric(t, { ...v, value: 3 }, undefined, 99).quality).toBe("bad");
  });
});

describe("Sparkplug array packing (Sparkplug 3.0 §6.4.17)", () => {
  test("byte literals (the BooleanArray one is the specification's example)", () => {
    expect([...packArray(DataType.Int8Array, [-23, 123])]).toEqual([0xe9, 0x7b]);
    expect([...packArray(DataType.Int16Array, [-30000, 30000])]).toEqual([0xd0, 0x8a, 0x30, 0x75]);
    expect([...packArray(DataType.UInt32Array, [52, 19])]).toEqual([0x34, 0, 0, 0, 0x13, 0, 0, 0]);
    expect([
      ...packArray(DataType.BooleanArray, [
        false,
        false,
        true,
        true,
        false,
        true,
        false,
        false,
        true,
        true,
        false,
        true,
      ]),
    ]).toEqual([0x0c, 0, 0, 0, 0x34, 0xd0]);
  });
  test("64-bit elements from numbers and decimal strings; round trips; refusals", () => {
    const big = packArray(DataType.UInt64Array, [1, "18446744073709551615"]);
    expect([...big]).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255]);
    expect(unpackArray(DataType.UInt64Array, big)).toEqual([1n, 18446744073709551615n]);
    expect(unpackArray(DataType.Int64Array, packArray(DataType.Int64Array, [-1]))).toEqual([-1n]);
    expect(unpackArray(DataType.DoubleArray, packArray(DataType.DoubleArray, [0.1, -2]))).toEqual([
      0.1, -2,
    ]);
    expect(unpackArray(DataType.BooleanArray, Uint8Array.from([3, 0, 0, 0, 0xa0]))).toEqual([
      true,
      false,
      true,
    ]);
    expect(() => packArray(DataType.UInt16Array, [70000])).toThrow(/element 0 of a UInt16Array/);
    expect(() => packArray(DataType.Int32Array, [1.5])).toThrow(/whole number/);
    expect(() => unpackArray(DataType.Int32Array, new Uint8Array(6))).toThrow(/4-byte elements/);
  });
  test("an array metric survives the payload codec in bytes_value", () => {
    const bytes = packArray(DataType.FloatArray, [12.5, 1]);
    const back = decodePayload(
      encodePayload({
        timestamp: 1,
        seq: 0,
        metrics: [{ name: "temps", datatype: DataType.FloatArray, timestamp: 1, value: bytes }],
      }),
    );
    expect(back.metrics[0]!.datatype).toBe(DataType.FloatArray);
    expect(unpackArray(DataType.FloatArray, back.metrics[0]!.value as Uint8Array)).toEqual([
      12.5, 1,
    ]);
  });
});
