import { NodiError } from "../../core/errors.ts";
import { DataType, dataTypeName } from "./datatypes.ts";

/**
 * Sparkplug B array datatypes (Sparkplug 3.0 §6.4.17 "Datatype Details", array types): an
 * array metric carries its elements packed in `bytes_value`, little-endian, element after
 * element: Int8Array/UInt8Array 1 byte each, Int16Array/UInt16Array 2, Int32Array/UInt32Array
 * and FloatArray (IEEE 754 binary32) 4, Int64Array/UInt64Array and DoubleArray (binary64) 8.
 * A BooleanArray is a 4-byte little-endian element count followed by the booleans packed
 * eight to a byte, the first in the most significant bit, the last byte padded with 0 (the
 * specification's example: [false, false, true, true, false, true, false, false, true, true,
 * false, true] → 0C 00 00 00 34 D0). StringArray and DateTimeArray are not produced here.
 */

/** Bytes per element of the packed numeric array datatypes. */
const ELEMENT_BYTES: Partial<Record<number, number>> = {
  [DataType.Int8Array]: 1,
  [DataType.UInt8Array]: 1,
  [DataType.Int16Array]: 2,
  [DataType.UInt16Array]: 2,
  [DataType.Int32Array]: 4,
  [DataType.UInt32Array]: 4,
  [DataType.FloatArray]: 4,
  [DataType.Int64Array]: 8,
  [DataType.UInt64Array]: 8,
  [DataType.DoubleArray]: 8,
};

/** True for the array datatypes this module packs (numeric arrays and BooleanArray). */
export function isPackedArray(t: number): boolean {
  return t === DataType.BooleanArray || ELEMENT_BYTES[t] !== undefined;
}

function mismatch(t: number, i: number, v: unknown, expected: string): NodiError {
  return new NodiError(
    "out_of_range",
    `element ${i} of a ${dataTypeName(t)} must be ${expected}, got ${JSON.stringify(v)}`,
    "type_mismatch",
    { datatype: t },
  );
}

const INT_RANGE: Partial<Record<number, [number, number]>> = {
  [DataType.Int8Array]: [-128, 127],
  [DataType.UInt8Array]: [0, 255],
  [DataType.Int16Array]: [-32768, 32767],
  [DataType.UInt16Array]: [0, 65535],
  [DataType.Int32Array]: [-2147483648, 2147483647],
  [DataType.UInt32Array]: [0, 4294967295],
};

function toBig(t: number, i: number, v: unknown): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  if (typeof v === "bigint") return v;
  throw mismatch(t, i, v, "a whole number");
}

/**
 * Packs an array value (as the TagBus carries it: numbers, 64-bit integers above 2^53 as
 * decimal strings, booleans or 0/1) into the `bytes_value` of array datatype `t`.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) for an element that does not
 *   fit `t`, or a datatype that is not a packed array.
 */
export function packArray(t: number, values: readonly unknown[]): Uint8Array {
  if (t === DataType.BooleanArray) {
    const out = new Uint8Array(4 + Math.ceil(values.length / 8));
    new DataView(out.buffer).setUint32(0, values.length, true);
    values.forEach((v, i) => {
      const b = v === true || v === 1 ? true : v === false || v === 0 ? false : undefined;
      if (b === undefined) throw mismatch(t, i, v, "true or false");
      if (b) out[4 + (i >> 3)]! |= 0x80 >> (i & 7);
    });
    return out;
  }
  const size = ELEMENT_BYTES[t];
  if (size === undefined)
    throw new NodiError(
      "configuration",
      `${dataTypeName(t)} is not a packed array`,
      "type_mismatch",
    );
  const out = new Uint8Array(values.length * size);
  const dv = new DataView(out.buffer);
  values.forEach((v, i) => {
    const at = i * size;
    if (t === DataType.FloatArray || t === DataType.DoubleArray) {
      if (typeof v !== "number") throw mismatch(t, i, v, "a number");
      if (t === DataType.FloatArray) dv.setFloat32(at, v, true);
      else dv.setFloat64(at, v, true);
    } else if (t === DataType.Int64Array || t === DataType.UInt64Array) {
      const n = toBig(t, i, v);
      const signed = t === DataType.Int64Array;
      const [lo, hi] = signed ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      if (n < lo || n > hi) throw mismatch(t, i, v, `from ${lo} to ${hi}`);
      if (signed) dv.setBigInt64(at, n, true);
      else dv.setBigUint64(at, n, true);
    } else {
      const [lo, hi] = INT_RANGE[t]!;
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
        throw mismatch(t, i, v, `a whole number from ${lo} to ${hi}`);
      if (size === 1) dv.setUint8(at, v & 0xff);
      else if (size === 2) dv.setUint16(at, v & 0xffff, true);
      else dv.setUint32(at, v >>> 0, true);
    }
  });
  return out;
}

/**
 * Unpacks the `bytes_value` of array datatype `t` (the inverse of {@link packArray}):
 * numbers, `bigint` for Int64Array/UInt64Array, booleans for BooleanArray.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when the length does not fit
 *   the datatype (not a whole number of elements; a BooleanArray shorter than its count).
 */
export function unpackArray(t: number, bytes: Uint8Array): Array<number | bigint | boolean> {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const bad = (why: string) =>
    new NodiError(
      "out_of_range",
      `a ${dataTypeName(t)} of ${bytes.length} bytes: ${why}`,
      "type_mismatch",
    );
  if (t === DataType.BooleanArray) {
    if (bytes.length < 4) throw bad("no element count");
    const n = dv.getUint32(0, true);
    if (bytes.length < 4 + Math.ceil(n / 8)) throw bad(`too short for ${n} booleans`);
    return Array.from({ length: n }, (_, i) => (bytes[4 + (i >> 3)]! & (0x80 >> (i & 7))) !== 0);
  }
  const size = ELEMENT_BYTES[t];
  if (size === undefined) throw bad("not a packed array");
  if (bytes.length % size !== 0) throw bad(`not a whole number of ${size}-byte elements`);
  return Array.from({ length: bytes.length / size }, (_, i) => {
    const at = i * size;
    switch (t) {
      case DataType.Int8Array:
        return dv.getInt8(at);
      case DataType.UInt8Array:
        return dv.getUint8(at);
      case DataType.Int16Array:
        return dv.getInt16(at, true);
      case DataType.UInt16Array:
        return dv.getUint16(at, true);
      case DataType.Int32Array:
        return dv.getInt32(at, true);
      case DataType.UInt32Array:
        return dv.getUint32(at, true);
      case DataType.FloatArray:
        return dv.getFloat32(at, true);
      case DataType.DoubleArray:
        return dv.getFloat64(at, true);
      case DataType.Int64Array:
        return dv.getBigInt64(at, true);
      default:
        return dv.getBigUint64(at, true);
    }
  });
}
