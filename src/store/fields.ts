import type * as v from "valibot";
import { NorthboundSchema } from "./northbound-schema.ts";
import {
  BlockSchema,
  ConnectionSchema,
  DeviceSchema,
  ProfileBlockSchema,
  ProfileSchema,
  ProfileTagSchema,
  TagSchema,
} from "./schema.ts";

/**
 * The configuration entities: a connection's rows (its devices, blocks, tags), a northbound
 * (northbound-schema.ts), and a device profile's rows (profile, its blocks and tags).
 */
export type Entity =
  | "connection"
  | "device"
  | "block"
  | "tag"
  | "northbound"
  | "profile"
  | "profile_block"
  | "profile_tag";

/** The base kind of a field's value: how it is stored in SQLite and written in a CSV cell. */
export type FieldKind = "string" | "number" | "boolean";

/** One field of an entity, as derived from its valibot schema. */
export interface FieldInfo {
  name: string;
  kind: FieldKind;
  /** True when the row schema requires a value (no default, not nullish). */
  required: boolean;
  /** True when the field may be null (empty cell / SQL NULL). */
  nullable: boolean;
  /** Allowed values of a picklist field. */
  options?: readonly (string | number)[];
  /** The schema's default (what an absent value becomes), when it has a plain one. */
  default?: string | number | boolean;
  /** Smallest / largest allowed number (the schema's minValue / maxValue), when it has them. */
  min?: number;
  max?: number;
}

type AnySchema = v.GenericSchema & {
  type: string;
  wrapped?: AnySchema;
  default?: unknown;
  options?: readonly (string | number)[];
};

function describe(name: string, schema: AnySchema): FieldInfo {
  let s = schema;
  let required = true;
  let nullable = false;
  let dflt: unknown;
  while (s.wrapped) {
    if (s.type === "optional" || s.type === "nullish" || s.type === "undefinedable") {
      required = false;
      if (dflt === undefined) dflt = s.default;
    }
    if (s.type === "nullish" || s.type === "nullable") nullable = true;
    s = s.wrapped;
  }
  let kind: FieldKind;
  if (s.type === "number") kind = "number";
  else if (s.type === "boolean") kind = "boolean";
  else if (s.type === "picklist") kind = typeof s.options?.[0] === "number" ? "number" : "string";
  else kind = "string";
  const info: FieldInfo = { name, kind, required, nullable };
  for (const a of (s as { pipe?: { type: string; requirement?: unknown }[] }).pipe ?? []) {
    if (a.type === "min_value" && typeof a.requirement === "number") info.min = a.requirement;
    if (a.type === "max_value" && typeof a.requirement === "number") info.max = a.requirement;
  }
  if (s.type === "picklist" && s.options) info.options = s.options;
  if (typeof dflt === "string" || typeof dflt === "number" || typeof dflt === "boolean") {
    info.default = dflt;
  }
  return info;
}

function fieldsOf(schema: { entries: Record<string, unknown> }): readonly FieldInfo[] {
  return Object.entries(schema.entries).map(([name, s]) => describe(name, s as AnySchema));
}

/**
 * The fields of each entity, in schema order (the DB column order of a fresh export and the
 * CSV header order). Derived from `schema.ts`, so a field added there appears everywhere.
 */
export const FIELDS: Record<Entity, readonly FieldInfo[]> = {
  connection: fieldsOf(ConnectionSchema),
  device: fieldsOf(DeviceSchema),
  block: fieldsOf(BlockSchema),
  tag: fieldsOf(TagSchema),
  northbound: fieldsOf(NorthboundSchema),
  profile: fieldsOf(ProfileSchema),
  profile_block: fieldsOf(ProfileBlockSchema),
  profile_tag: fieldsOf(ProfileTagSchema),
};

/** The SQL table of each entity. */
export const TABLE_OF: Record<Entity, string> = {
  connection: "connections",
  device: "devices",
  block: "blocks",
  tag: "tags",
  northbound: "northbounds",
  profile: "profiles",
  profile_block: "profile_blocks",
  profile_tag: "profile_tags",
};

/** A row as SQLite returns it: booleans are 0/1. */
export type SqlRow = Record<string, string | number | null>;

/** Converts a parsed entity (booleans, nulls) into SQL parameters in {@link FIELDS} order. */
export function toSqlParams(
  entity: Entity,
  row: Record<string, unknown>,
): (string | number | null)[] {
  return FIELDS[entity].map((f) => {
    const val = row[f.name];
    if (val === undefined || val === null) return null;
    if (f.kind === "boolean") return val ? 1 : 0;
    return val as string | number;
  });
}

/** Converts an SQL row back to an entity object (0/1 → boolean); SQL NULL stays null. */
export function fromSqlRow<T>(entity: Entity, row: SqlRow): T {
  const out: Record<string, unknown> = {};
  for (const f of FIELDS[entity]) {
    const val = row[f.name];
    if (val === undefined || val === null) out[f.name] = null;
    else if (f.kind === "boolean") out[f.name] = val === 1 || val === "1";
    else out[f.name] = val;
  }
  return out as T;
}

/** `"name"`: an SQL identifier, quoted (some field names, e.g. `table`, are keywords). */
export function q(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
