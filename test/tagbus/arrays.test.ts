import { describe, expect, test } from "bun:test";
import { isNodiError } from "../../src/core/errors.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { updateJson } from "../../src/north/mqtt/format.ts";
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
  test("Sparkplug: a String metric holding the JSON array (native arrays, §6.4.17, not done)", () => {
    const t = metricDataType({ dataType: "float32", arrayLength: 2 });
    expect(t).toBe(DataType.String);
    const { metric, quality } = valueMetric(t, v, undefined, 99);
    expect(quality).toBe("good");
    expect(metric.value).toBe("[12.5,1]");
  });
});
