import { NodiError } from "../../core/errors.ts";
import type { Quality } from "../../core/quality.ts";
import type { TagScalar, TagValue } from "../../core/tag-value.ts";
import type { DataType as NodiDataType } from "../../store/schema.ts";
import type { TagInfo } from "../format.ts";
import { isPackedArray, packArray } from "./arrays.ts";
import type { Metric, PropertySet } from "./codec.ts";
import { DataType, dataTypeName, type MetricValue, toWire } from "./datatypes.ts";

/**
 * How Nodi tags become Sparkplug metrics: datatypes, values and quality.
 *
 * Datatypes (Sparkplug 3.0 §6.4.16): bool, bit → Boolean; int16 → Int16; uint16 → UInt16;
 * int32 → Int32; uint32 → UInt32; int64 → Int64; uint64 → UInt64; float32 → Float;
 * float64 → Double; string → String; bcd, lbcd → UInt32 (the decoded decimal value, 0–9999
 * and 0–99999999; both ride in the `int_value` uint32 field, §6.4.17, so a bcd costs no more
 * as UInt32 than as UInt16). A scaled tag (scale ≠ 1 or offset ≠ 0) is a Double whatever its
 * register type. An array tag (`float32[10]`) is the matching array datatype (Int16Array …
 * DoubleArray, BooleanArray; a scaled one DoubleArray), its elements packed in `bytes_value`
 * (§6.4.17, `arrays.ts`).
 *
 * Quality (§6.4.7 "Quality Codes": property `Quality`, Int32, 0 BAD / 192 GOOD / 500 STALE):
 * - good: the value; no property, except `Quality = 192` on the first DATA after the metric
 *   was published not good in this session, so a host that kept the bad quality resets it.
 * - uncertain: the value and `Quality = 500`.
 * - bad: `is_null = true` without a value, `Quality = 0`, and `Reason` (String) = the tag's
 *   reason (`timeout`, `disconnected`, …) when it has one.
 * A value that does not fit the metric's datatype (should not happen: the driver decodes by
 * the same data type) is published as bad with reason `type_mismatch`.
 */

/** Sparkplug quality codes (§6.4.7). */
export const QUALITY_CODE = { bad: 0, good: 192, stale: 500 } as const;

/** The array datatype of an array tag of each element type (bit and string arrays do not exist). */
const ARRAY_OF: Partial<Record<NodiDataType, DataType>> = {
  bool: DataType.BooleanArray,
  int16: DataType.Int16Array,
  uint16: DataType.UInt16Array,
  int32: DataType.Int32Array,
  uint32: DataType.UInt32Array,
  int64: DataType.Int64Array,
  uint64: DataType.UInt64Array,
  float32: DataType.FloatArray,
  float64: DataType.DoubleArray,
  bcd: DataType.UInt32Array,
  lbcd: DataType.UInt32Array,
};

/** The Sparkplug datatype of a tag. */
export function metricDataType(
  t: Pick<TagInfo, "dataType" | "scaled"> & Partial<Pick<TagInfo, "arrayLength">>,
): DataType {
  if (t.arrayLength != null) {
    if (t.scaled && t.dataType !== "bool") return DataType.DoubleArray;
    return ARRAY_OF[t.dataType] ?? DataType.String;
  }
  if (t.scaled && t.dataType !== "bool" && t.dataType !== "bit" && t.dataType !== "string")
    return DataType.Double;
  const map: Record<NodiDataType, DataType> = {
    bool: DataType.Boolean,
    bit: DataType.Boolean,
    int16: DataType.Int16,
    uint16: DataType.UInt16,
    int32: DataType.Int32,
    uint32: DataType.UInt32,
    int64: DataType.Int64,
    uint64: DataType.UInt64,
    float32: DataType.Float,
    float64: DataType.Double,
    string: DataType.String,
    bcd: DataType.UInt32,
    lbcd: DataType.UInt32,
  };
  return map[t.dataType];
}

/**
 * A tag's value as the value of a metric of datatype `t`: 64-bit integers become `bigint`
 * (from a safe number or from the decimal string the TagBus carries above 2^53), booleans
 * may arrive as 0/1.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when it does not fit `t`.
 */
export function toMetricValue(t: DataType, v: TagScalar): MetricValue {
  let out: MetricValue | undefined;
  if (t === DataType.Int64 || t === DataType.UInt64) {
    if (typeof v === "number" && Number.isSafeInteger(v)) out = BigInt(v);
    else if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) out = BigInt(v);
  } else if (t === DataType.Boolean) {
    if (typeof v === "boolean") out = v;
    else if (v === 0 || v === 1) out = v === 1;
  } else if (t === DataType.String) {
    if (typeof v === "string") out = v;
  } else if (typeof v === "number") out = v;
  if (out === undefined)
    throw new NodiError(
      "out_of_range",
      `value ${JSON.stringify(v)} is not a ${dataTypeName(t)}`,
      "type_mismatch",
    );
  toWire(t, out); // range check (e.g. 70000 for a UInt16)
  return out;
}

/**
 * A metric value received in a command as the TagScalar of a TagBus write: 64-bit integers
 * as numbers when safe, else decimal strings (core/tag-value.ts).
 */
export function toTagScalar(v: MetricValue): TagScalar {
  if (typeof v === "bigint")
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v.toString();
  if (v instanceof Uint8Array) return Buffer.from(v).toString("base64");
  return v;
}

function qualityProps(code: number, reason?: string): PropertySet {
  const ps: PropertySet = { keys: ["Quality"], values: [{ type: DataType.Int32, value: code }] };
  if (reason) {
    ps.keys.push("Reason");
    ps.values.push({ type: DataType.String, value: reason });
  }
  return ps;
}

/** What {@link valueMetric} decided, besides the metric. */
export interface ValueMetric {
  metric: Metric;
  /** The quality as published (a value that does not fit is published `bad`). */
  quality: Quality;
}

/**
 * The value part of a metric (value or is_null, quality properties, timestamp) for a tag
 * value. The caller adds name/alias/datatype for a BIRTH or alias/valueType for a DATA.
 * @param prevQuality the quality this metric was last published with in this session
 *   (undefined in a BIRTH).
 */
export function valueMetric(
  t: DataType,
  v: TagValue | undefined,
  prevQuality: Quality | undefined,
  now: number,
): ValueMetric {
  if (v === undefined || v.value === null || v.quality === "bad") {
    return {
      metric: {
        timestamp: v?.ts ?? now,
        isNull: true,
        properties: qualityProps(QUALITY_CODE.bad, v === undefined ? "no_value" : v.reason),
      },
      quality: "bad",
    };
  }
  let value: MetricValue;
  try {
    if (Array.isArray(v.value) !== isPackedArray(t)) throw new Error("array mismatch");
    value = Array.isArray(v.value) ? packArray(t, v.value) : toMetricValue(t, v.value as TagScalar);
  } catch {
    return {
      metric: {
        timestamp: v.ts,
        isNull: true,
        properties: qualityProps(QUALITY_CODE.bad, "type_mismatch"),
      },
      quality: "bad",
    };
  }
  const m: Metric = { timestamp: v.ts, value };
  if (v.quality === "uncertain") m.properties = qualityProps(QUALITY_CODE.stale, v.reason);
  else if (prevQuality !== undefined && prevQuality !== "good")
    m.properties = qualityProps(QUALITY_CODE.good);
  return { metric: m, quality: v.quality };
}
