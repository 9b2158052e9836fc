import Long from "long";
import protobuf from "protobufjs";
import { NodiError } from "../../core/errors.ts";
import {
  DataType,
  dataTypeName,
  fromWire,
  type MetricValue,
  toWire,
  type WireField,
  type WireValue,
  wireFieldOf,
} from "./datatypes.ts";
import protoText from "./sparkplug_b.proto" with { type: "text" };

/**
 * The Sparkplug B payload codec: `Payload` of the official sparkplug_b.proto (vendored next to
 * this file, Sparkplug 3.0 §6.4 "Sparkplug B Payload Components") encoded and decoded with
 * protobufjs' reflection. 64-bit fields go through `long` and come out as exact `bigint`s: no
 * uint64 above 2^53 is ever a JavaScript number here.
 *
 * Only what an edge node needs is modelled: metrics with scalar values, their properties
 * (PropertySet, for `Quality`), `is_historical`/`is_transient`/`is_null`. DataSet, Template and
 * MetaData are neither written nor read (a decoded metric that carries one has no `value`).
 */

// protobufjs finds `long` through a dynamic require that a compiled executable may not
// resolve; without it, uint64 values would be decoded as lossy numbers. Set it explicitly.
protobuf.util.Long = Long;
protobuf.configure();

const root = protobuf.parse(protoText, { keepCase: true }).root;
const PayloadType = root.lookupType("org.eclipse.tahu.protobuf.Payload");

/** A property value (`Payload.PropertyValue`): a scalar, a nested set, or a list of sets. */
export interface PropertyValue {
  /** Datatype (a basic type, PropertySet or PropertySetList; §6.4.6). */
  type: number;
  isNull?: boolean;
  value?: MetricValue | PropertySet | PropertySet[];
}

/** A property set (`Payload.PropertySet`): keys and values of equal length (§6.4.5). */
export interface PropertySet {
  keys: string[];
  values: PropertyValue[];
}

/** One metric (`Payload.Metric`, §6.4.4). */
export interface Metric {
  name?: string;
  /** Alias, unique across the edge node (§6.4.4 alias); DATA and CMD carry it instead of the name. */
  alias?: number;
  /** When the value was acquired, ms since the epoch, UTC. */
  timestamp?: number;
  /**
   * Written to the wire when present (BIRTH: required; DATA: should not be sent, §6.4.4
   * datatype). On decode: present when the message carried it.
   */
  datatype?: number;
  /**
   * Encode: the datatype that chooses the value's wire field when {@link datatype} is left
   * out (DATA messages). Ignored on decode.
   */
  valueType?: number;
  isHistorical?: boolean;
  isTransient?: boolean;
  isNull?: boolean;
  properties?: PropertySet;
  /**
   * Encode: the typed value of `datatype ?? valueType`. Decode: typed when the message
   * carried a datatype; otherwise the raw wire value (uint32 as number, uint64 as unsigned
   * bigint; see {@link wireField} and {@link typedValue}).
   */
  value?: MetricValue;
  /** Decode only: the `oneof value` field that was set. */
  wireField?: WireField;
}

/** A Sparkplug B payload (`Payload`, §6.4.1). */
export interface Payload {
  /** When the message was sent, ms since the epoch, UTC. */
  timestamp?: number;
  metrics: Metric[];
  /** 0–255 on every message of an edge node except NDEATH (§6.4.1 seq). */
  seq?: number;
  uuid?: string;
  body?: Uint8Array;
}

function toLong(v: bigint): Long {
  return Long.fromString(BigInt.asUintN(64, v).toString(), true);
}

function fromLong(v: unknown): bigint {
  if (typeof v === "number") return BigInt(v);
  const l = v as Long;
  return (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
}

/** A uint64 that must be a safe JavaScript number (timestamps, seq, alias). */
function safeNumber(v: unknown, what: string): number {
  const b = fromLong(v);
  if (b > BigInt(Number.MAX_SAFE_INTEGER))
    throw new NodiError("decode", `Sparkplug payload: ${what} ${b} is above 2^53`, "decode_error");
  return Number(b);
}

const has = (o: object, k: string) => Object.hasOwn(o, k);

function wireOut(field: WireField, raw: WireValue): unknown {
  return field === "long_value" ? toLong(raw as bigint) : raw;
}

function wireIn(field: WireField, raw: unknown): WireValue {
  if (field === "long_value") return fromLong(raw);
  if (field === "bytes_value") return new Uint8Array(raw as Uint8Array);
  return raw as WireValue;
}

const FIELDS: WireField[] = [
  "int_value",
  "long_value",
  "float_value",
  "double_value",
  "boolean_value",
  "string_value",
  "bytes_value",
];

function encodePropertySet(ps: PropertySet): object {
  if (ps.keys.length !== ps.values.length)
    throw new NodiError(
      "internal",
      `PropertySet has ${ps.keys.length} keys and ${ps.values.length} values (Sparkplug 3.0 §6.4.5: equal)`,
    );
  return { keys: ps.keys, values: ps.values.map(encodePropertyValue) };
}

function encodePropertyValue(pv: PropertyValue): object {
  const out: Record<string, unknown> = { type: pv.type };
  if (pv.isNull) out.is_null = true;
  if (pv.isNull || pv.value === undefined) return out;
  if (pv.type === DataType.PropertySet)
    out.propertyset_value = encodePropertySet(pv.value as PropertySet);
  else if (pv.type === DataType.PropertySetList)
    out.propertysets_value = { propertyset: (pv.value as PropertySet[]).map(encodePropertySet) };
  else {
    const field = wireFieldOf(pv.type);
    // PropertyValue has no bytes field (sparkplug_b.proto).
    if (field === undefined || field === "bytes_value")
      throw new NodiError(
        "internal",
        `property datatype ${dataTypeName(pv.type)} has no value field`,
      );
    out[field] = wireOut(field, toWire(pv.type, pv.value as MetricValue));
  }
  return out;
}

function encodeMetric(m: Metric): object {
  const out: Record<string, unknown> = {};
  if (m.name !== undefined) out.name = m.name;
  if (m.alias !== undefined) out.alias = toLong(BigInt(m.alias));
  if (m.timestamp !== undefined) out.timestamp = toLong(BigInt(m.timestamp));
  if (m.datatype !== undefined) out.datatype = m.datatype;
  if (m.isHistorical) out.is_historical = true;
  if (m.isTransient) out.is_transient = true;
  if (m.isNull) out.is_null = true;
  if (m.properties) out.properties = encodePropertySet(m.properties);
  if (!m.isNull && m.value !== undefined) {
    const t = m.datatype ?? m.valueType;
    if (t === undefined)
      throw new NodiError(
        "internal",
        `metric ${m.name ?? m.alias}: a value needs a datatype or valueType`,
      );
    const field = wireFieldOf(t);
    if (field === undefined)
      throw new NodiError(
        "internal",
        `metric ${m.name ?? m.alias}: datatype ${dataTypeName(t)} is not scalar`,
      );
    out[field] = wireOut(field, toWire(t, m.value));
  }
  return out;
}

/**
 * Encodes a payload to protobuf bytes.
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when a value does not fit its
 *   datatype; NodiError(kind `internal`) for a metric value without a datatype.
 */
export function encodePayload(p: Payload): Uint8Array {
  const out: Record<string, unknown> = { metrics: p.metrics.map(encodeMetric) };
  if (p.timestamp !== undefined) out.timestamp = toLong(BigInt(p.timestamp));
  if (p.seq !== undefined) out.seq = toLong(BigInt(p.seq));
  if (p.uuid !== undefined) out.uuid = p.uuid;
  if (p.body !== undefined) out.body = p.body;
  return PayloadType.encode(out).finish();
}

function decodePropertySet(o: Record<string, unknown>): PropertySet {
  const keys = (o.keys as string[] | undefined) ?? [];
  const values = ((o.values as Record<string, unknown>[] | undefined) ?? []).map(
    decodePropertyValue,
  );
  if (keys.length !== values.length)
    throw new NodiError(
      "decode",
      `Sparkplug payload: a PropertySet has ${keys.length} keys and ${values.length} values`,
      "decode_error",
    );
  return { keys: [...keys], values };
}

function decodePropertyValue(o: Record<string, unknown>): PropertyValue {
  const pv: PropertyValue = { type: has(o, "type") ? (o.type as number) : DataType.Unknown };
  if (has(o, "is_null") && o.is_null) pv.isNull = true;
  if (has(o, "propertyset_value"))
    pv.value = decodePropertySet(o.propertyset_value as Record<string, unknown>);
  else if (has(o, "propertysets_value")) {
    const list =
      (o.propertysets_value as { propertyset?: Record<string, unknown>[] }).propertyset ?? [];
    pv.value = list.map(decodePropertySet);
  } else
    for (const f of FIELDS)
      if (f !== "bytes_value" && has(o, f)) {
        const raw = wireIn(f, o[f]);
        pv.value = wireFieldOf(pv.type) === f ? fromWire(pv.type, f, raw) : raw;
      }
  return pv;
}

function decodeMetric(o: Record<string, unknown>): Metric {
  const m: Metric = {};
  if (has(o, "name")) m.name = o.name as string;
  if (has(o, "alias")) m.alias = safeNumber(o.alias, "alias");
  if (has(o, "timestamp")) m.timestamp = safeNumber(o.timestamp, "metric timestamp");
  if (has(o, "datatype")) m.datatype = o.datatype as number;
  if (has(o, "is_historical") && o.is_historical) m.isHistorical = true;
  if (has(o, "is_transient") && o.is_transient) m.isTransient = true;
  if (has(o, "is_null") && o.is_null) m.isNull = true;
  if (has(o, "properties"))
    m.properties = decodePropertySet(o.properties as Record<string, unknown>);
  for (const f of FIELDS)
    if (has(o, f)) {
      const raw = wireIn(f, o[f]);
      m.wireField = f;
      m.value = m.datatype !== undefined ? fromWire(m.datatype, f, raw) : raw;
    }
  return m;
}

/**
 * Decodes protobuf bytes to a payload.
 * @throws NodiError(kind `decode`, reason `decode_error`) for bytes that are not a Sparkplug B
 *   payload, or (kind `out_of_range`, reason `type_mismatch`) for a metric whose value field
 *   does not match its datatype.
 */
export function decodePayload(bytes: Uint8Array): Payload {
  let msg: Record<string, unknown>;
  try {
    msg = PayloadType.decode(bytes) as unknown as Record<string, unknown>;
  } catch (e) {
    throw new NodiError(
      "decode",
      `not a Sparkplug B payload: ${e instanceof Error ? e.message : String(e)}`,
      "decode_error",
      {},
      { cause: e },
    );
  }
  const p: Payload = {
    metrics: ((msg.metrics as Record<string, unknown>[] | undefined) ?? []).map(decodeMetric),
  };
  if (has(msg, "timestamp")) p.timestamp = safeNumber(msg.timestamp, "timestamp");
  if (has(msg, "seq")) p.seq = safeNumber(msg.seq, "seq");
  if (has(msg, "uuid")) p.uuid = msg.uuid as string;
  if (has(msg, "body")) p.body = new Uint8Array(msg.body as Uint8Array);
  return p;
}

/**
 * The typed value of a decoded metric whose datatype the receiver knows from the BIRTH (DATA
 * and CMD messages carry no datatype; Sparkplug 3.0 §6.4.4).
 * @returns `undefined` when the metric carries no value (is_null, or no value field).
 * @throws NodiError(kind `out_of_range`, reason `type_mismatch`) when the value field does not
 *   match `datatype` or the value does not fit it.
 */
export function typedValue(datatype: number, m: Metric): MetricValue | undefined {
  if (m.isNull || m.wireField === undefined || m.value === undefined) return undefined;
  if (m.datatype !== undefined) {
    if (m.datatype !== datatype)
      throw new NodiError(
        "out_of_range",
        `the metric is a ${dataTypeName(datatype)}, the message says ${dataTypeName(m.datatype)}`,
        "type_mismatch",
      );
    return m.value;
  }
  return fromWire(datatype, m.wireField, m.value as WireValue);
}
