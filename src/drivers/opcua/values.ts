import { NodiError } from "../../core/errors.ts";
import { applyScale } from "../../core/scaling.ts";
import type { TagScalar } from "../../core/tag-value.ts";
import { writeBool, writeIntegerText, writeNumber } from "../../core/write-value.ts";

/**
 * OPC UA built-in data type ids (OPC UA Part 6 §5.1.2, Table 1). Kept here as plain numbers so
 * that value conversion is pure and testable without loading node-opcua.
 */
export const BuiltIn = {
  Null: 0,
  Boolean: 1,
  SByte: 2,
  Byte: 3,
  Int16: 4,
  UInt16: 5,
  Int32: 6,
  UInt32: 7,
  Int64: 8,
  UInt64: 9,
  Float: 10,
  Double: 11,
  String: 12,
  DateTime: 13,
  Guid: 14,
  ByteString: 15,
  XmlElement: 16,
  NodeId: 17,
  ExpandedNodeId: 18,
  StatusCode: 19,
  QualifiedName: 20,
  LocalizedText: 21,
} as const;

/** Integer ranges of the integer built-in types (Part 6 §5.2.2). */
const INT_RANGES: Record<number, [bigint, bigint]> = {
  [BuiltIn.SByte]: [-128n, 127n],
  [BuiltIn.Byte]: [0n, 255n],
  [BuiltIn.Int16]: [-32768n, 32767n],
  [BuiltIn.UInt16]: [0n, 65535n],
  [BuiltIn.Int32]: [-2147483648n, 2147483647n],
  [BuiltIn.UInt32]: [0n, 4294967295n],
  [BuiltIn.Int64]: [-(2n ** 63n), 2n ** 63n - 1n],
  [BuiltIn.UInt64]: [0n, 2n ** 64n - 1n],
};

/** Scale and offset of a tag: engineering value = raw × scale + offset. */
export interface Scaling {
  scale: number;
  offset: number;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A 64-bit integer as node-opcua gives it (`[high, low]` uint32 words, bigint or number) → bigint. */
function int64ToBigInt(value: unknown, signed: boolean): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") return BigInt(Math.trunc(value));
  if (Array.isArray(value) && value.length === 2) {
    const raw = (BigInt(value[0] >>> 0) << 32n) | BigInt(value[1] >>> 0);
    return signed && raw >= 2n ** 63n ? raw - 2n ** 64n : raw;
  }
  throw new Error(`not a 64-bit integer: ${JSON.stringify(value)}`);
}

/** bigint → node-opcua's `[high, low]` uint32 words (two's complement for negatives). */
export function bigIntToWords(value: bigint): [number, number] {
  const u = value < 0n ? value + 2n ** 64n : value;
  return [Number((u >> 32n) & 0xffffffffn), Number(u & 0xffffffffn)];
}

const scaled = (raw: number, s: Scaling): number => applyScale(raw, s.scale, s.offset);

/**
 * Converts a Variant's value (as node-opcua decodes it) into a tag value in engineering units.
 * - Boolean → boolean; String → string; numbers → number × scale + offset;
 * - Int64/UInt64 → number when within ±2^53 (then scaled), else a decimal string (unscaled);
 * - DateTime → epoch ms; LocalizedText → its text; QualifiedName → its name; NodeId, Guid → text;
 *   ByteString → base64; StatusCode → its name;
 * - arrays and anything else → JSON text (`null` stays `null`).
 * @param dataType a {@link BuiltIn} id.
 */
export function fromVariant(
  dataType: number,
  value: unknown,
  scaling: Scaling,
  isArray = false,
): TagScalar {
  if (value === null || value === undefined) return null;
  if (isArray) return JSON.stringify(Array.from(value as ArrayLike<unknown>, (v) => toJsonable(v)));
  switch (dataType) {
    case BuiltIn.Boolean:
      return Boolean(value);
    case BuiltIn.SByte:
    case BuiltIn.Byte:
    case BuiltIn.Int16:
    case BuiltIn.UInt16:
    case BuiltIn.Int32:
    case BuiltIn.UInt32:
    case BuiltIn.Float:
    case BuiltIn.Double:
      return scaled(Number(value), scaling);
    case BuiltIn.Int64:
    case BuiltIn.UInt64: {
      const big = int64ToBigInt(value, dataType === BuiltIn.Int64);
      if (big > MAX_SAFE || big < -MAX_SAFE) return big.toString();
      return scaled(Number(big), scaling);
    }
    case BuiltIn.String:
    case BuiltIn.XmlElement:
      return String(value);
    case BuiltIn.DateTime:
      return value instanceof Date ? value.getTime() : Number(value);
    case BuiltIn.ByteString:
      return Buffer.isBuffer(value) ? value.toString("base64") : String(value);
    case BuiltIn.LocalizedText:
      return (value as { text?: string | null }).text ?? null;
    case BuiltIn.QualifiedName:
      return (value as { name?: string | null }).name ?? null;
    case BuiltIn.StatusCode:
      return (value as { name?: string }).name ?? String(value);
    case BuiltIn.NodeId:
    case BuiltIn.ExpandedNodeId:
    case BuiltIn.Guid:
      return String(value);
    default:
      return JSON.stringify(toJsonable(value));
  }
}

function toJsonable(v: unknown): unknown {
  if (typeof v === "bigint") return v.toString();
  if (Buffer.isBuffer(v)) return v.toString("base64");
  if (v instanceof Date) return v.getTime();
  if (v && typeof v === "object" && "toJSON" in v && typeof v.toJSON === "function")
    return v.toJSON();
  return v;
}

/**
 * Converts a tag value (engineering units) into the raw value of a Variant of `dataType`
 * for the Write service: numbers are unscaled ((value − offset) / scale), rounded to the
 * nearest integer for integer types and range-checked. Numbers and booleans are read by the
 * strict shared rule of `src/core/write-value.ts` (a finite number or plain decimal text, no
 * hex/spaces/NaN; booleans `true/false`, `1/0`, `"true"/"false"/"1"/"0"`); Int64/UInt64
 * become `[high, low]` words and also accept integer text, kept exact.
 * @param dataType a {@link BuiltIn} id (the node's DataType, resolved to its built-in type).
 * @throws NodiError `out_of_range` when the value does not fit the type or cannot be converted;
 *   `configuration` for a built-in type that cannot be written from a scalar.
 */
export function toVariantValue(
  dataType: number,
  value: TagScalar,
  scaling: Scaling,
  what: string,
): unknown {
  const bad = (why: string) =>
    new NodiError("out_of_range", `${what}: ${why} (got ${JSON.stringify(value)})`, "out_of_range");
  if (value === null) throw bad("a value is required");
  switch (dataType) {
    case BuiltIn.Boolean: {
      return writeBool(value, what);
    }
    case BuiltIn.Float:
    case BuiltIn.Double: {
      const n = writeNumber(value, what);
      const raw = (n - scaling.offset) / scaling.scale;
      if (
        dataType === BuiltIn.Float &&
        Number.isFinite(raw) &&
        Math.abs(raw) > 3.4028234663852886e38
      ) {
        throw bad("outside the Float range");
      }
      return raw;
    }
    case BuiltIn.SByte:
    case BuiltIn.Byte:
    case BuiltIn.Int16:
    case BuiltIn.UInt16:
    case BuiltIn.Int32:
    case BuiltIn.UInt32:
    case BuiltIn.Int64:
    case BuiltIn.UInt64: {
      const range = INT_RANGES[dataType] as [bigint, bigint];
      let big: bigint;
      const exact =
        scaling.scale === 1 && scaling.offset === 0 ? writeIntegerText(value) : undefined;
      if (exact !== undefined) {
        big = exact;
      } else {
        const n = writeNumber(value, what);
        big = BigInt(Math.round((n - scaling.offset) / scaling.scale));
      }
      if (big < range[0] || big > range[1]) throw bad(`outside ${range[0]}..${range[1]}`);
      return dataType === BuiltIn.Int64 || dataType === BuiltIn.UInt64
        ? bigIntToWords(big)
        : Number(big);
    }
    case BuiltIn.String:
      return String(value);
    case BuiltIn.DateTime: {
      const d = typeof value === "number" ? new Date(value) : new Date(String(value));
      if (Number.isNaN(d.getTime())) throw bad("expected epoch ms or an ISO date");
      return d;
    }
    case BuiltIn.LocalizedText:
      return { text: String(value) };
    default:
      throw new NodiError(
        "configuration",
        `${what}: writing OPC UA built-in type ${dataType} is not supported`,
      );
  }
}
