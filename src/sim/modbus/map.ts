import { readFileSync } from "node:fs";
import { NodiError } from "../../core/errors.ts";
import { registersOf } from "../../drivers/modbus/codec.ts";
import { BYTE_ORDERS, type ByteOrder, DATA_TYPES, type DataType } from "../../store/schema.ts";
import { defaultFaults, type Faults } from "./faults.ts";
import type { GeneratorSpec } from "./generators.ts";
import { MODBUS_TABLES, type ModbusTable } from "./store.ts";

/** A typed value in the map: a data type at an address, a fixed value and/or a generator. */
export interface SimEntry {
  /** Free label (shown by the CLI). */
  name?: string;
  table: ModbusTable;
  address: number;
  data_type: DataType;
  byte_order: ByteOrder;
  bit?: number;
  length?: number;
  scale: number;
  offset: number;
  /** Initial (or fixed) engineering value. */
  value?: number | boolean | string;
  generator?: GeneratorSpec;
}

/**
 * A register map file (JSON). Raw tables map an address (decimal string key) to a value or an
 * array of consecutive values; `entries` place typed values; `faults` scripts faults.
 * ```json
 * { "unit_id": 1, "tick_ms": 100,
 *   "holding_registers": { "0": 364, "10": [1, 2, 3] },
 *   "coils": { "0": [true, false, true] },
 *   "entries": [{ "table": "holding_registers", "address": 100, "data_type": "float32",
 *                 "byte_order": "CDAB", "generator": { "type": "sine", "min": 0, "max": 50, "period_ms": 10000 } }],
 *   "faults": { "exceptions": [{ "from": 200, "to": 299, "code": 2 }] } }
 * ```
 */
export interface SimMap {
  /** Answer only this unit id (others: no reply on RTU, exception 11 on TCP); omitted = any. */
  unit_id?: number;
  /** Generator update period, ms (default 100). */
  tick_ms: number;
  tables: Partial<Record<ModbusTable, Record<string, number | boolean | Array<number | boolean>>>>;
  entries: SimEntry[];
  faults: Faults;
}

/** The keys a generator of each type accepts (besides `type`). */
const GEN_KEYS: Record<GeneratorSpec["type"], readonly string[]> = {
  ramp: ["from", "to", "period_ms"],
  sine: ["min", "max", "period_ms"],
  counter: ["start", "step", "every_ms", "max"],
  random_walk: ["start", "step", "min", "max"],
  toggle: ["every_ms"],
};
const GEN_TYPES = Object.keys(GEN_KEYS);

/** The keys of a map's top level. */
export const SIM_MAP_KEYS: readonly string[] = [
  "unit_id",
  "tick_ms",
  ...MODBUS_TABLES,
  "entries",
  "faults",
];

/** The keys of one entry of `entries`. */
export const SIM_ENTRY_KEYS: readonly string[] = [
  "name",
  "table",
  "address",
  "data_type",
  "byte_order",
  "bit",
  "length",
  "scale",
  "offset",
  "value",
  "generator",
];

/**
 * Validates a parsed map object.
 * @param where file name for messages.
 * @throws NodiError `configuration` naming the file and field and what was expected.
 */
export function parseSimMap(raw: unknown, where = "map"): SimMap {
  const bad = (field: string, expected: string) =>
    new NodiError("configuration", `${where}: ${field}: expected ${expected}`, "configuration", {
      file: where,
      field,
    });
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    throw bad("(top level)", "a JSON object");
  const o = raw as Record<string, unknown>;
  // A misspelt key would otherwise be ignored silently (e.g. "registers" for "entries":
  // an all-zero simulator).
  const onlyKnown = (obj: object, accepted: readonly string[], prefix: string) => {
    for (const k of Object.keys(obj)) {
      if (!accepted.includes(k)) {
        throw new NodiError(
          "configuration",
          `${where}: ${prefix}${k}: unknown key; accepted keys: ${accepted.join(", ")}`,
          "configuration",
          { file: where, field: `${prefix}${k}`, accepted: [...accepted] },
        );
      }
    }
  };
  onlyKnown(o, SIM_MAP_KEYS, "");
  const isInt = (v: unknown, min: number, max: number) =>
    Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
  if (o.unit_id !== undefined && !isInt(o.unit_id, 0, 255))
    throw bad("unit_id", "an integer 0-255");
  if (o.tick_ms !== undefined && !isInt(o.tick_ms, 1, 3_600_000))
    throw bad("tick_ms", "an integer ≥ 1 (ms)");
  const tables: SimMap["tables"] = {};
  for (const t of MODBUS_TABLES) {
    const v = o[t];
    if (v === undefined) continue;
    if (typeof v !== "object" || v === null || Array.isArray(v))
      throw bad(t, 'an object { "address": value | [values] }');
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
      const a = Number(k);
      const vals = Array.isArray(val) ? val : [val];
      if (!isInt(a, 0, 65535) || a + vals.length > 65536)
        throw bad(`${t}.${k}`, "an address 0-65535 as key, values inside the table");
      for (const x of vals) {
        if (typeof x !== "boolean" && !isInt(x, -32768, 65535))
          throw bad(`${t}.${k}`, "integers -32768..65535 or booleans");
      }
    }
    tables[t] = v as Record<string, number | boolean | Array<number | boolean>>;
  }
  const entries: SimEntry[] = [];
  const rawEntries = o.entries ?? [];
  if (!Array.isArray(rawEntries)) throw bad("entries", "an array");
  rawEntries.forEach((e: unknown, i: number) => {
    const f = `entries[${i}]`;
    if (typeof e !== "object" || e === null) throw bad(f, "an object");
    const x = e as Record<string, unknown>;
    onlyKnown(x, SIM_ENTRY_KEYS, `${f}.`);
    if (!MODBUS_TABLES.includes(x.table as ModbusTable))
      throw bad(`${f}.table`, MODBUS_TABLES.join(" | "));
    if (!isInt(x.address, 0, 65535)) throw bad(`${f}.address`, "an integer 0-65535");
    const dt = (x.data_type ??
      (x.table === "coils" || x.table === "discrete_inputs" ? "bool" : "uint16")) as DataType;
    if (!DATA_TYPES.includes(dt)) throw bad(`${f}.data_type`, DATA_TYPES.join(" | "));
    const bo = (x.byte_order ?? "ABCD") as ByteOrder;
    if (!BYTE_ORDERS.includes(bo)) throw bad(`${f}.byte_order`, BYTE_ORDERS.join(" | "));
    if (dt === "bit" && !isInt(x.bit, 0, 15)) throw bad(`${f}.bit`, "a bit number 0-15");
    if (dt === "string" && !isInt(x.length, 1, 125)) throw bad(`${f}.length`, "registers 1-125");
    const span = registersOf({ data_type: dt, length: x.length as number | undefined });
    if ((x.address as number) + span - 1 > 65535) {
      throw bad(
        `${f}.address`,
        `an address whose ${span} registers end by 65535 (${dt} at ${x.address} goes past it)`,
      );
    }
    for (const k of ["scale", "offset"]) {
      if (
        x[k] !== undefined &&
        (typeof x[k] !== "number" || !Number.isFinite(x[k]) || (k === "scale" && x[k] === 0))
      ) {
        throw bad(`${f}.${k}`, k === "scale" ? "a non-zero number" : "a number");
      }
    }
    if (x.generator !== undefined) {
      const g = x.generator as Record<string, unknown>;
      if (typeof g !== "object" || g === null || !GEN_TYPES.includes(g.type as string)) {
        throw bad(`${f}.generator.type`, GEN_TYPES.join(" | "));
      }
      onlyKnown(g, ["type", ...GEN_KEYS[g.type as GeneratorSpec["type"]]], `${f}.generator.`);
      for (const [k, v] of Object.entries(g)) {
        if (k !== "type" && (typeof v !== "number" || !Number.isFinite(v)))
          throw bad(`${f}.generator.${k}`, "a number");
      }
      const need: Record<string, string[]> = {
        ramp: ["from", "to", "period_ms"],
        sine: ["min", "max", "period_ms"],
        counter: [],
        random_walk: ["step", "min", "max"],
        toggle: ["every_ms"],
      };
      for (const k of need[g.type as string] ?? [])
        if (g[k] === undefined) throw bad(`${f}.generator.${k}`, "a number");
      // A period of 0 makes a ramp or sine NaN; a negative one runs backwards.
      for (const k of ["period_ms", "every_ms"])
        if (g[k] !== undefined && !((g[k] as number) > 0))
          throw bad(`${f}.generator.${k}`, "a number of ms above 0");
      if ((g.type === "sine" || g.type === "random_walk") && (g.min as number) > (g.max as number))
        throw bad(`${f}.generator.max`, `a number ≥ min (${g.min})`);
    }
    entries.push({
      name: typeof x.name === "string" ? x.name : undefined,
      table: x.table as ModbusTable,
      address: x.address as number,
      data_type: dt,
      byte_order: bo,
      bit: x.bit as number | undefined,
      length: x.length as number | undefined,
      scale: (x.scale as number | undefined) ?? 1,
      offset: (x.offset as number | undefined) ?? 0,
      value: x.value as SimEntry["value"],
      generator: x.generator as GeneratorSpec | undefined,
    });
  });
  const faults = defaultFaults();
  if (o.faults !== undefined) {
    if (typeof o.faults !== "object" || o.faults === null) throw bad("faults", "an object");
    const fo = o.faults as Record<string, unknown>;
    for (const [k, v] of Object.entries(fo)) {
      if (!(k in faults)) throw bad(`faults.${k}`, `one of ${Object.keys(faults).join(", ")}`);
      (faults as unknown as Record<string, unknown>)[k] = v;
    }
  }
  return {
    unit_id: o.unit_id as number | undefined,
    tick_ms: (o.tick_ms as number | undefined) ?? 100,
    tables,
    entries,
    faults,
  };
}

/**
 * Reads and validates a map file.
 * @throws NodiError `not_found` for a missing file; `configuration` for an unreadable file,
 *   bad JSON (with its position) or a bad field.
 */
export function loadSimMap(path: string): SimMap {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const missing = (e as { code?: string }).code === "ENOENT";
    throw new NodiError(
      missing ? "not_found" : "configuration",
      `${path}: cannot read: ${(e as Error).message}`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new NodiError("configuration", `${path}: not valid JSON: ${(e as Error).message}`);
  }
  return parseSimMap(raw, path);
}
