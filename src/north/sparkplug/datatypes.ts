import { NodiError } from "../../core/errors.ts";

/**
 * Sparkplug B data types (the `DataType` enum of sparkplug_b.proto; Sparkplug 3.0 §6.4.16
 * "Data Types"). Nodi Edge uses the basic types, PropertySet/PropertySetList and the packed
 * numeric and boolean arrays (array tags, `arrays.ts`); the others are listed so that a
 * decoded datatype can be named.
 */
export const DataType = {
  Unknown: 0,
  Int8: 1,
  Int16: 2,
  Int32: 3,
  Int64: 4,
  UInt8: 5,
  UInt16: 6,
  UInt32: 7,
  UInt64: 8,
  Float: 9,
  Double: 10,
  Boolean: 11,
  String: 12,
  DateTime: 13,
  Text: 14,
  UUID: 15,
  DataSet: 16,
  Bytes: 17,
  File: 18,
  Template: 19,
  PropertySet: 20,
  PropertySetList: 21,
  Int8Array: 22,
  Int16Array: 23,
  Int32Array: 24,
  Int64Array: 25,
  UInt8Array: 26,
  UInt16Array: 27,
  UInt32Array: 28,
  UInt64Array: 29,
  FloatArray: 30,
  DoubleArray: 31,
  BooleanArray: 32,
  StringArray: 33,
  DateTimeArray: 34,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

const NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DataType).map(([k, v]) => [v, k]),
);

/** The enum name of a datatype number (`7` → `UInt32`), or `#N` for a number outside the enum. */
export function dataTypeName(t: number): string {
  return NAMES[t] ?? `#${t}`;
}

/**
 * The protobuf `oneof value` field that carries a value of each datatype (Sparkplug 3.0
 * §6.4.17 "Datatype Details": Int8..Int32 and UInt8..UInt32 in `uint32`, Int64, UInt64 and
 * DateTime in `uint64`, Float in `float`, Double in `double`, Boolean in `bool`, String, Text
 * and UUID in `string`, Bytes and File in `bytes`).
 */
export type WireField =
  | "int_value"
  | "long_value"
  | "float_value"
  | "double_value"
  | "boolean_value"
  | "string_value"
  | "bytes_value";

/** The {@link WireField} of a scalar datatype; `undefined` for DataSet, Template and the others. */
export function wireFieldOf(t: number): WireField | undefined {
  switch (t) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32:
    case DataType.UInt8:
    case DataType.UInt16:
    case DataType.UInt32:
      return "int_value";
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime:
      return "long_value";
    case DataType.Float:
      return "float_value";
    case DataType.Double:
      return "double_value";
    case DataType.Boolean:
      return "boolean_value";
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return "string_value";
    case DataType.Bytes:
    case DataType.File:
    // the array datatypes: elements packed little-endian in `bytes` (§6.4.17, arrays.ts)
    case DataType.Int8Array:
    case DataType.Int16Array:
    case DataType.Int32Array:
    case DataType.Int64Array:
    case DataType.UInt8Array:
    case DataType.UInt16Array:
    case DataType.UInt32Array:
    case DataType.UInt64Array:
    case DataType.FloatArray:
    case DataType.DoubleArray:
    case DataType.BooleanArray:
    case DataType.StringArray:
    case DataType.DateTimeArray:
      return "bytes_value";
    default:
      return undefined;
  }
}

/**
 * A typed metric value: `number` for Int8..UInt32, Float and Double; `bigint` for Int64,
 * UInt64 and DateTime (ms since the epoch) so that values above 2^53 stay exact; `boolean`;
 * `string`; `Uint8Array` for Bytes and File.
 */
export type MetricValue = number | bigint | boolean | string | Uint8Array;

/** The raw content of a `oneof value` as the wire holds it: uint32 → number, uint64 → bigint (unsigned). */
export type WireValue = number | bigint | boolean | string | Uint8Array;

const INT_RANGE: Record<number, [number, number]> = {
  [DataType.Int8]: [-128, 127],
  [DataType.Int16]: [-32768, 32767],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt8]: [0, 255],
  [DataType.UInt16]: [0, 65535],
  [DataType.UInt32]: [0, 4294967295],
};
const LONG_RANGE: Record<number, [bigint, bigint]> = {
  [DataType.Int64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [DataType.UInt64]: [0n, 2n ** 64n - 1n],
  [DataType.DateTime]: [0n, 2n ** 64n - 1n],
};

function typeError(t: number, value: unknown, expected: string): NodiError {
  return new NodiError(
    "out_of_range",
    `a ${dataTypeName(t)} value must be ${expected}, got ${typeof value === "bigint" ? `${value}n` : JSON.stringify(value)}`,
    "type_mismatch",
    { datatype: t },
  );
}

/**
 * Converts a typed value to what its wire field carries. Signed 8/16/32-bit integers travel
 * as their 32-bit two's complement in `uint32` (-1 → 4294967295) and Int64 as its 64-bit two's
 * complement in `uint64` (-1 → 2^64-1): the encoding of a negative value in an unsigned
 * protobuf field, as the Java reference implementation (Eclipse Tahu) writes it.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when the value is not of the
 *   datatype's JavaScript type or outside its range.
 */
export function toWire(t: number, value: MetricValue): WireValue {
  const field = wireFieldOf(t);
  switch (field) {
    case "int_value": {
      const [lo, hi] = INT_RANGE[t]!;
      if (typeof value !== "number" || !Number.isInteger(value) || value < lo || value > hi)
        throw typeError(t, value, `a whole number from ${lo} to ${hi}`);
      return value >>> 0;
    }
    case "long_value": {
      const [lo, hi] = LONG_RANGE[t]!;
      if (typeof value !== "bigint" || value < lo || value > hi)
        throw typeError(t, value, `a bigint from ${lo} to ${hi}`);
      return BigInt.asUintN(64, value);
    }
    case "float_value":
    case "double_value":
      if (typeof value !== "number") throw typeError(t, value, "a number");
      return value;
    case "boolean_value":
      if (typeof value !== "boolean") throw typeError(t, value, "true or false");
      return value;
    case "string_value":
      if (typeof value !== "string") throw typeError(t, value, "a string");
      return value;
    case "bytes_value":
      if (!(value instanceof Uint8Array)) throw typeError(t, value, "bytes");
      return value;
    default:
      throw new NodiError(
        "configuration",
        `datatype ${dataTypeName(t)} is not a scalar Sparkplug datatype`,
        "type_mismatch",
      );
  }
}

/**
 * Converts what a wire field carries back to the typed value of datatype `t`: sign-extends
 * Int8/Int16/Int32 from their 32-bit two's complement and Int64 from 64 bits (the inverse of
 * {@link toWire}). A UInt32 is also accepted in `long_value`, where Eclipse Tahu's Java
 * encoder puts it.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when `field` is not the field
 *   of `t` or the value does not fit `t` (e.g. 300 in an Int8's `uint32`).
 */
export function fromWire(t: number, field: WireField, raw: WireValue): MetricValue {
  const expected = wireFieldOf(t);
  // Eclipse Tahu's Java encoder (SparkplugBPayloadEncoder, the library of Ignition and most
  // Java hosts) sends UInt32 in `long_value`, and its decoder reads either field: take both.
  if (t === DataType.UInt32 && field === "long_value") {
    if ((raw as bigint) > 4294967295n) throw typeError(t, raw, "at most 4294967295");
    return Number(raw as bigint);
  }
  if (expected === undefined || expected !== field)
    throw new NodiError(
      "out_of_range",
      `a ${dataTypeName(t)} value travels in ${expected ?? "no scalar field"}, got ${field}`,
      "type_mismatch",
      { datatype: t },
    );
  switch (t) {
    case DataType.Int8:
    case DataType.Int16:
    case DataType.Int32: {
      const bits = t === DataType.Int8 ? 8 : t === DataType.Int16 ? 16 : 32;
      const u = raw as number;
      const v = (u << (32 - bits)) >> (32 - bits);
      // The upper bits must be the sign extension of the lower ones: 200 in an Int8 is
      // refused, not read as -56.
      if (v >>> 0 !== u) throw typeError(t, u, `a ${bits}-bit value sign-extended to 32 bits`);
      return v;
    }
    case DataType.UInt8:
    case DataType.UInt16: {
      const [, hi] = INT_RANGE[t]!;
      if ((raw as number) > hi) throw typeError(t, raw, `at most ${hi}`);
      return raw as number;
    }
    case DataType.Int64:
      return BigInt.asIntN(64, raw as bigint);
    default:
      return raw;
  }
}
