import * as v from "valibot";
import { firstControlChar } from "../core/control-chars.ts";
import { type Entity, FIELDS } from "./fields.ts";
import { expandDevice } from "./profiles.ts";
import {
  type Block,
  BlockSchema,
  type Connection,
  ConnectionSchema,
  DATA_TYPES,
  type DataType,
  type Device,
  DeviceSchema,
  type ProfileConfig,
  type Protocol,
  REGISTERS_OF,
  type Tag,
  TagSchema,
  withProtocolDefaults,
} from "./schema.ts";

/**
 * One validation failure: which row (`entity` and its `index` in the input array), which
 * field, and the rule broken, in words (`message`), with the offending value (`got`).
 * The CSV loader turns `entity`+`index` into file:line and `field` into a column.
 */
export interface ConfigIssue {
  entity: Entity;
  /** Position of the row in its input array. */
  index: number;
  /** Human key of the row: `conn_id`, `conn_id/block_id` or `conn_id/tag_name` (when known). */
  key: string;
  field: string;
  message: string;
  got?: unknown;
}

/** Rows to validate, as they come in (unparsed). */
export interface RawConfig {
  connections: readonly unknown[];
  /** Named devices of the connections' links (absent: none). */
  devices?: readonly unknown[];
  blocks: readonly unknown[];
  tags: readonly unknown[];
  /**
   * The device profiles devices may name, validated (`validate-profiles.ts`), by name. Absent:
   * none, so a device naming a profile is refused.
   */
  profiles?: ReadonlyMap<string, ProfileConfig>;
}

/** Validated, normalized rows (defaults filled; absent nullable fields are `null`). */
export interface ValidConfig {
  connections: Connection[];
  devices: Device[];
  blocks: Block[];
  tags: Tag[];
}

/** The outcome of {@link validateConfig}: never throws on bad input. */
export type ValidationResult =
  | { ok: true; value: ValidConfig }
  | { ok: false; issues: ConfigIssue[] };

const MODBUS_TCP: readonly Protocol[] = ["modbus-tcp", "modbus-rtu-tcp"];
const isModbus = (p: Protocol) => p !== "opcua";

/** Connection fields that belong to one family of protocols only (a field set for another protocol is refused). */
export const PROTOCOL_FIELDS: Record<string, readonly Protocol[]> = {
  host: MODBUS_TCP,
  port: MODBUS_TCP,
  unit_id: ["modbus-tcp", "modbus-rtu-tcp", "modbus-rtu"],
  address_base: ["modbus-tcp", "modbus-rtu-tcp", "modbus-rtu"],
  serial_device: ["modbus-rtu"],
  baud_rate: ["modbus-rtu"],
  parity: ["modbus-rtu"],
  data_bits: ["modbus-rtu"],
  stop_bits: ["modbus-rtu"],
  endpoint_url: ["opcua"],
  security_mode: ["opcua"],
  security_policy: ["opcua"],
  username: ["opcua"],
  password: ["opcua"],
};

/** Connection fields a protocol requires. */
const REQUIRED_BY_PROTOCOL: Record<Protocol, readonly string[]> = {
  "modbus-tcp": ["host", "port"],
  "modbus-rtu-tcp": ["host", "port"],
  "modbus-rtu": ["serial_device"],
  opcua: ["endpoint_url"],
};

const BIT_TABLES = new Set(["coils", "discrete_inputs"]);
const READ_ONLY_TABLES = new Set(["discrete_inputs", "input_registers"]);
/** Data types that carry a number, so `scale`/`offset` apply: all but `bool`, `bit`, `string`. */
const NUMERIC_TYPES: ReadonlySet<DataType> = new Set(
  DATA_TYPES.filter((t) => t !== "bool" && t !== "bit" && t !== "string"),
);

/** Fills absent fields with `null` so rows compare and store the same way. */
export function normalize<T>(entity: Entity, row: object): T {
  const r = row as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of FIELDS[entity]) out[f.name] = r[f.name] ?? null;
  return out as T;
}

/** Longest text of a value quoted in a message, in characters. */
const SHOWN_MAX = 80;

/** A value as quoted in a message: JSON, long strings cut at 80 characters. */
export function shown(x: unknown): string {
  if (x === undefined) return "nothing";
  if (x === null) return "empty";
  if (typeof x === "number" && !Number.isFinite(x)) return String(x); // JSON would say null
  if (typeof x === "string" && x.length > SHOWN_MAX) {
    // A pasted blob in a cell must not make a megabyte error line.
    return `${JSON.stringify(x.slice(0, SHOWN_MAX))}… (${x.length} characters)`;
  }
  return JSON.stringify(x);
}

/**
 * Control characters a field may hold: a `description` is a note that may span lines (a
 * spreadsheet cell with Alt+Enter, a CSV written on Windows) and hold TAB; nothing else may.
 */
const ALLOWED_CONTROLS: Readonly<Record<string, string>> = { description: "\t\n\r" };

/**
 * The text fields of one unparsed `row` of `entity` that hold a control character (C0, DEL,
 * C1: `src/core/control-chars.ts`; TAB, LF and CR only in a `description`), one issue each:
 * `unit must not contain control characters, found ESC (U+001B) at character 4`. The value
 * itself is not quoted (it may be a secret, and is what must not reach a terminal). Used for
 * every entity, so a row's text never carries NUL, ESC or BEL into the SoT, a CSV or a terminal.
 */
export function controlCharIssues(
  entity: Entity,
  row: unknown,
): { field: string; message: string }[] {
  if (!row || typeof row !== "object") return [];
  const rec = row as Record<string, unknown>;
  const out: { field: string; message: string }[] = [];
  for (const f of FIELDS[entity]) {
    const val = rec[f.name];
    if (typeof val !== "string") continue;
    const c = firstControlChar(val, ALLOWED_CONTROLS[f.name]);
    if (c) {
      out.push({
        field: f.name,
        message: `${f.name} must not contain control characters, found ${c.name} at character ${c.position}`,
      });
    }
  }
  return out;
}

/**
 * Registers (or bits) a tag occupies: 1 for bool/bit/16-bit types, 2 for 32-bit, 4 for
 * 64-bit, `length` for a string.
 */
export function tagSpan(tag: Pick<Tag, "data_type" | "length" | "array_length">): number {
  const one = tag.data_type === "string" ? (tag.length ?? 1) : REGISTERS_OF[tag.data_type];
  return one * (tag.array_length ?? 1);
}

/**
 * The key of each unparsed row for a rule across rows (a duplicate id), when that rule can
 * judge the row: `fields` each pass their own schema (`schema.entries`) and hold no control
 * character, and `counts` accepts the parsed fields; else undefined. So a row with a bad cell
 * in another field (a `data_type` of "float33") still takes part in the duplicate check, and a
 * row whose key itself is bad does not (its own issue says it). Key: the fields' values joined
 * by "/", in the order of `fields`.
 */
export function rowKeys(
  entity: Entity,
  schema: { entries: Record<string, v.GenericSchema> },
  rows: readonly unknown[],
  fields: readonly string[],
  counts: (r: Record<string, unknown>) => boolean = () => true,
): (string | undefined)[] {
  return rows.map((row) => {
    if (!row || typeof row !== "object") return undefined;
    const rec = row as Record<string, unknown>;
    const ctl = new Set(controlCharIssues(entity, row).map((c) => c.field));
    const out: Record<string, unknown> = {};
    for (const f of fields) {
      const field = schema.entries[f];
      if (!field || ctl.has(f)) return undefined;
      const r = v.safeParse(field, rec[f]);
      if (!r.success) return undefined;
      out[f] = r.output;
    }
    return counts(out) ? fields.map((f) => String(out[f])).join("/") : undefined;
  });
}

/** What the duplicate-id check ({@link idTwins}) says of one row. */
export interface IdTwin {
  /** An earlier row has the same id ({@link rowKeys}): this row gets a "duplicate" issue. */
  duplicate: boolean;
  /**
   * The row passed its schema and no earlier such row has its id: it is the row of that id,
   * which the rules that follow check and other rows refer to. A later valid row with the
   * id is reported as a duplicate and checked no further; a row before it that failed its
   * schema is only a duplicate of it.
   */
  holds: boolean;
}

/**
 * The one duplicate-id check of an entity's rows: `keys` from {@link rowKeys} (undefined:
 * the row's id cannot be judged), `parsed[i]` undefined when row `i` failed its schema or
 * its control-character check. A valid row without a key holds (its own rules judge it).
 */
export function idTwins(
  keys: readonly (string | undefined)[],
  parsed: readonly unknown[],
): IdTwin[] {
  const seen = new Set<string>();
  const held = new Set<string>();
  return keys.map((k, i) => {
    const valid = parsed[i] !== undefined;
    if (k === undefined) return { duplicate: false, holds: valid };
    const duplicate = seen.has(k);
    seen.add(k);
    const holds = valid && !held.has(k);
    if (holds) held.add(k);
    return { duplicate, holds };
  });
}

/**
 * Validates a whole configuration (or the part of it that belongs to some connections), the
 * devices that are instances of a profile included: {@link validateRows}'s rules on the
 * stored rows together with the rows each instance contributes (`profiles.ts expandDevice`),
 * and the rules of instances:
 *
 * - a device's `profile` names a profile of `raw.profiles`;
 * - an instance has no blocks or tags of its own: a stored block naming it (`device`), or a
 *   stored tag named `{device}/…`, is refused (its rows come from the profile);
 * - an issue of a row an instance contributes (a block id or tag name too long once prefixed,
 *   a duplicate of a stored row, a polled block of a broadcast device) is reported on the
 *   device row, field `profile`, naming the profile, the row and its field.
 *
 * Valid: the stored rows only (what the store writes), normalized. Never throws.
 */
export function validateConfig(raw: RawConfig): ValidationResult {
  const profiles = raw.profiles ?? new Map<string, ProfileConfig>();
  const rawDevices = raw.devices ?? [];
  const rec = (x: unknown): Record<string, unknown> =>
    x && typeof x === "object" ? (x as Record<string, unknown>) : {};
  const instances = new Map<string, { index: number; profile: string }>();
  const pre: ConfigIssue[] = [];
  const extraBlocks: Block[] = [];
  const extraTags: Tag[] = [];
  const blockOrigin: number[] = [];
  const tagOrigin: number[] = [];
  let conns: Map<string, Connection> | undefined;
  rawDevices.forEach((row, index) => {
    const r = v.safeParse(DeviceSchema, row);
    if (!r.success || !r.output.profile) return;
    const d = r.output;
    const key = `${d.conn_id}/${d.device}`;
    if (instances.has(key)) return; // the duplicate device is reported by validateRows
    instances.set(key, { index, profile: d.profile ?? "" });
    const p = profiles.get(d.profile ?? "");
    if (!p) {
      pre.push({
        entity: "device",
        index,
        key,
        field: "profile",
        message: `no profile "${d.profile}" (profiles.csv, or nodi-edge profile list), got ${shown(d.profile)}`,
        got: d.profile,
      });
      return;
    }
    conns ??= new Map(
      raw.connections.flatMap((c) => {
        const cr = v.safeParse(ConnectionSchema, c);
        return cr.success ? [[cr.output.conn_id, withProtocolDefaults(cr.output)] as const] : [];
      }),
    );
    const conn = conns.get(d.conn_id);
    if (!conn || !isModbus(conn.protocol)) return; // reported by validateRows
    const x = expandDevice(conn, d, p);
    extraBlocks.push(...x.blocks);
    for (const _ of x.blocks) blockOrigin.push(index);
    extraTags.push(...x.tags);
    for (const _ of x.tags) tagOrigin.push(index);
  });
  if (instances.size === 0) return validateRows(raw);
  raw.blocks.forEach((row, index) => {
    const b = rec(row);
    const inst = instances.get(`${String(b.conn_id)}/${String(b.device)}`);
    if (typeof b.device !== "string" || !inst) return;
    pre.push({
      entity: "block",
      index,
      key: `${String(b.conn_id)}/${String(b.block_id)}`,
      field: "device",
      message: `device "${b.device}" is an instance of profile "${inst.profile}": its blocks come from the profile (edit the profile, or give the device no profile), got ${shown(b.device)}`,
      got: b.device,
    });
  });
  raw.tags.forEach((row, index) => {
    const t = rec(row);
    if (typeof t.tag_name !== "string") return;
    const seg = t.tag_name.split("/")[0] ?? "";
    const inst = instances.get(`${String(t.conn_id)}/${seg}`);
    if (!inst || !t.tag_name.includes("/")) return;
    pre.push({
      entity: "tag",
      index,
      key: `${String(t.conn_id)}/${t.tag_name}`,
      field: "tag_name",
      message: `device "${seg}" is an instance of profile "${inst.profile}": its tags come from the profile (edit the profile, or give the device no profile), got ${shown(t.tag_name)}`,
      got: t.tag_name,
    });
  });
  const nBlocks = raw.blocks.length;
  const nTags = raw.tags.length;
  const inner = validateRows({
    ...raw,
    blocks: [...raw.blocks, ...extraBlocks],
    tags: [...raw.tags, ...extraTags],
  });
  const issues = [...pre];
  if (!inner.ok) {
    for (const i of inner.issues) {
      const n = i.entity === "block" ? nBlocks : i.entity === "tag" ? nTags : Infinity;
      if (i.index < n) {
        issues.push(i);
        continue;
      }
      const origin = (i.entity === "block" ? blockOrigin : tagOrigin)[i.index - n] ?? 0;
      const dev = rec(rawDevices[origin]);
      const name = i.key.slice(i.key.indexOf("/") + 1);
      issues.push({
        entity: "device",
        index: origin,
        key: `${String(dev.conn_id)}/${String(dev.device)}`,
        field: "profile",
        message: `profile "${String(dev.profile)}" on device "${String(dev.device)}": ${i.entity} ${name} (${i.field}): ${i.message}`,
        got: i.got,
      });
    }
  }
  if (issues.length > 0 || !inner.ok) return { ok: false, issues };
  return {
    ok: true,
    value: {
      ...inner.value,
      blocks: inner.value.blocks.slice(0, nBlocks),
      tags: inner.value.tags.slice(0, nTags),
    },
  };
}

/**
 * Validates rows without expanding profiles (see {@link validateConfig}):
 * each row against its valibot schema (`schema.ts`), then the rules that need several fields
 * or rows. Reports every issue, not only the first: the duplicate ids (`conn_id`, `device`,
 * `block_id`, tag path) are found over every row whose id fields are valid, a row failing its
 * schema elsewhere included ({@link rowKeys}); the other rules across rows skip a failed row.
 * Rules:
 *
 * - every row: no control character (C0, DEL, C1; `src/core/control-chars.ts`) in any text
 *   field, but line breaks and TAB in a `description` ({@link controlCharIssues}).
 * - connection: unique `conn_id`; fields required by the protocol (`host`, `port` for
 *   modbus-tcp and modbus-rtu-tcp; `serial_device` for modbus-rtu; `endpoint_url` for
 *   opcua); empty link fields get the protocol's defaults (`PROTOCOL_DEFAULTS` in schema.ts:
 *   `unit_id` 1; RTU serial 9600 baud, parity none, 8 data bits, 1 stop bit); no field of
 *   another protocol; `backoff_initial_ms` ≤ `backoff_max_ms`.
 * - block: its connection exists; unique `block_id` per connection; `table` fits the
 *   protocol (`opcua_nodes` for opcua only); Modbus: the address counts from the
 *   connection's `address_base` (≥ 0, or ≥ 1 when one-based), `count` ≥ 1 and the block ends
 *   by register 65535 (`address − address_base + count` ≤ 65536). A block may be longer than one read request
 *   (125 registers / 2000 bits, Modbus Application Protocol v1.1b3 §6.1–6.4, or the
 *   connection's `max_registers_per_request` / `max_bits_per_request`, themselves at most
 *   125 / 2000 by the schema): the driver splits it into requests of at most that size.
 *   `mode` for OPC UA only.
 * - device (issue 14): its connection exists and is Modbus; unique `device` per connection.
 *   A device with unit id 0 on an RTU link (modbus-rtu, modbus-rtu-tcp: the broadcast
 *   address) has no polled block (nothing answers a broadcast).
 * - block `device`: Modbus only, and names a device of its connection (empty: the default
 *   device, the connection's `unit_id`).
 * - tag name: a tag of a named device's block is `{device}/{tag}` (path
 *   `/{conn_id}/{device}/{tag}`); a tag of the default device has one segment, `{tag}`.
 * - tag: its connection and block exist; unique path `/{conn_id}/{tag_name}`; Modbus:
 *   coils/discrete inputs hold only `bool`, registers never `bool` (use `bit`); the tag lies
 *   inside its block (e.g. a float32 needs 2 registers); `bit` only (and always) with the
 *   `bit` type; `length` only (and always) with `string`; no `read-write` on a read-only table
 *   (discrete inputs, input registers); scale/offset only on numeric types; no `node_id`.
 *   OPC UA: `node_id` required.
 * - auto tag (empty `block_id`, issue 14): Modbus only; `table` and `scan_ms` required (and
 *   refused on a tag with a block); a `{device}/{tag}` name names a device of the connection
 *   (not a broadcast one on RTU); the table rules above with its own `table`; instead of
 *   "inside its block": it ends by address 65535 and fits one read request
 *   (`max_registers_per_request` / `max_bits_per_request`), since the planner never cuts a tag.
 */
export function validateRows(raw: RawConfig): ValidationResult {
  const issues: ConfigIssue[] = [];
  const add = (
    entity: Entity,
    index: number,
    key: string,
    field: string,
    message: string,
    got?: unknown,
  ) => {
    issues.push({ entity, index, key, field, message, got });
  };

  const parseRows = <T>(
    entity: Entity,
    schema: v.GenericSchema,
    rows: readonly unknown[],
    keyOf: (r: Record<string, unknown>) => string,
  ): (T | undefined)[] =>
    rows.map((row, index) => {
      const key = row && typeof row === "object" ? keyOf(row as Record<string, unknown>) : "";
      const ctl = controlCharIssues(entity, row);
      for (const c of ctl) add(entity, index, key, c.field, c.message);
      const r = v.safeParse(schema, row);
      if (r.success) return ctl.length === 0 ? normalize<T>(entity, r.output as object) : undefined;
      const reported = new Set<string>(ctl.map((c) => c.field));
      for (const i of r.issues) {
        const field = (i.path?.[0]?.key as string | undefined) ?? "(row)";
        if (reported.has(field)) continue; // the control character is the one issue told
        reported.add(field);
        const msg = i.message.startsWith(field) ? i.message : `${field} ${i.message}`;
        add(entity, index, key, field, `${msg}, got ${shown(i.input)}`, i.input);
      }
      // Still report the protocol's missing fields of a connection that failed elsewhere.
      const rec = row as Record<string, unknown> | null;
      if (entity === "connection" && rec && typeof rec === "object") {
        const proto = rec.protocol as Protocol;
        for (const field of REQUIRED_BY_PROTOCOL[proto] ?? []) {
          if (!reported.has(field) && (rec[field] === null || rec[field] === undefined)) {
            add(entity, index, key, field, `${field} is required for protocol ${proto}, got empty`);
          }
        }
      }
      return undefined;
    });

  const str = (x: unknown) => (typeof x === "string" ? x : "?");
  const recOf = (x: unknown): Record<string, unknown> =>
    x && typeof x === "object" ? (x as Record<string, unknown>) : {};
  const conns = parseRows<Connection>("connection", ConnectionSchema, raw.connections, (r) =>
    str(r.conn_id),
  ).map((c) => c && withProtocolDefaults(c));
  const devices = parseRows<Device>(
    "device",
    DeviceSchema,
    raw.devices ?? [],
    (r) => `${str(r.conn_id)}/${str(r.device)}`,
  );
  const blocks = parseRows<Block>(
    "block",
    BlockSchema,
    raw.blocks,
    (r) => `${str(r.conn_id)}/${str(r.block_id)}`,
  );
  const tags = parseRows<Tag>(
    "tag",
    TagSchema,
    raw.tags,
    (r) => `${str(r.conn_id)}/${str(r.tag_name)}`,
  );
  // Rows that failed their own schema still claim their ids, so references to them do not
  // produce a second, misleading "unknown connection" issue.
  const claimed = (rows: readonly unknown[], f: (r: Record<string, unknown>) => string) =>
    new Set(rows.filter((r): r is Record<string, unknown> => !!r && typeof r === "object").map(f));
  const claimedConns = claimed(raw.connections, (r) => str(r.conn_id));
  const claimedBlocks = claimed(raw.blocks, (r) => `${str(r.conn_id)}/${str(r.block_id)}`);
  const claimedDevices = claimed(raw.devices ?? [], (r) => `${str(r.conn_id)}/${str(r.device)}`);

  // Duplicate ids are found once per entity (idTwins), over every row whose id fields are
  // valid (rowKeys), so a row with a bad cell elsewhere still counts: every error is told in
  // one report. The maps by id below are for references (a block's connection …), not for
  // finding duplicates.
  // Connections
  const connTwin = idTwins(
    rowKeys("connection", ConnectionSchema, raw.connections, ["conn_id"]),
    conns,
  );
  const dupConn = (i: number, k: string) =>
    add("connection", i, k, "conn_id", `duplicate conn_id "${k}": each connection once`, k);
  const connById = new Map<string, Connection>();
  conns.forEach((c, i) => {
    if (!c) {
      const r = recOf(raw.connections[i]);
      if (connTwin[i]!.duplicate) dupConn(i, String(r.conn_id));
      return;
    }
    const k = c.conn_id;
    // An earlier row with this id that failed its own fields: both errors are told, and this
    // row is checked as the connection (as it was before the earlier row counted).
    if (connTwin[i]!.duplicate) dupConn(i, k);
    if (!connTwin[i]!.holds) return;
    connById.set(k, c);
    const rec = c as unknown as Record<string, unknown>;
    for (const field of REQUIRED_BY_PROTOCOL[c.protocol]) {
      if (rec[field] === null || rec[field] === undefined) {
        add(
          "connection",
          i,
          k,
          field,
          `${field} is required for protocol ${c.protocol}, got empty`,
        );
      }
    }
    for (const [field, protos] of Object.entries(PROTOCOL_FIELDS)) {
      if (rec[field] !== null && rec[field] !== undefined && !protos.includes(c.protocol)) {
        add(
          "connection",
          i,
          k,
          field,
          `${field} is only used by ${protos.join(", ")}, not ${c.protocol}; leave it empty, got ${shown(rec[field])}`,
          rec[field],
        );
      }
    }
    if (c.backoff_initial_ms > c.backoff_max_ms) {
      add(
        "connection",
        i,
        k,
        "backoff_initial_ms",
        `backoff_initial_ms must not exceed backoff_max_ms (${c.backoff_max_ms}), got ${c.backoff_initial_ms}`,
        c.backoff_initial_ms,
      );
    }
  });

  // Devices
  const deviceTwin = idTwins(
    rowKeys("device", DeviceSchema, raw.devices ?? [], ["conn_id", "device"], (r) => {
      const conn = connById.get(String(r.conn_id));
      return conn !== undefined && isModbus(conn.protocol);
    }),
    devices,
  );
  const dupDevice = (i: number, connId: string, device: string) =>
    add(
      "device",
      i,
      `${connId}/${device}`,
      "device",
      `duplicate device "${device}" in connection "${connId}"`,
      device,
    );
  const deviceByKey = new Map<string, Device>();
  devices.forEach((d, i) => {
    if (!d) {
      const r = recOf(raw.devices?.[i]);
      if (deviceTwin[i]!.duplicate) dupDevice(i, String(r.conn_id), String(r.device));
      return;
    }
    const k = `${d.conn_id}/${d.device}`;
    const conn = connById.get(d.conn_id);
    if (!conn) {
      if (!claimedConns.has(d.conn_id)) {
        add(
          "device",
          i,
          k,
          "conn_id",
          `no connection "${d.conn_id}" in this configuration`,
          d.conn_id,
        );
      }
      return;
    }
    if (!isModbus(conn.protocol)) {
      add(
        "device",
        i,
        k,
        "conn_id",
        `devices (unit ids on one link) are for Modbus connections, not ${conn.protocol}`,
        d.conn_id,
      );
      return;
    }
    if (deviceTwin[i]!.duplicate) dupDevice(i, d.conn_id, d.device);
    if (!deviceTwin[i]!.holds) return;
    deviceByKey.set(k, d);
  });

  // Blocks
  const blockTwin = idTwins(
    rowKeys("block", BlockSchema, raw.blocks, ["conn_id", "block_id"], (r) =>
      connById.has(String(r.conn_id)),
    ),
    blocks,
  );
  const dupBlock = (i: number, connId: string, blockId: string) =>
    add(
      "block",
      i,
      `${connId}/${blockId}`,
      "block_id",
      `duplicate block_id "${blockId}" in connection "${connId}"`,
      blockId,
    );
  const blockByKey = new Map<string, Block>();
  blocks.forEach((b, i) => {
    if (!b) {
      const r = recOf(raw.blocks[i]);
      if (blockTwin[i]!.duplicate) dupBlock(i, String(r.conn_id), String(r.block_id));
      return;
    }
    const k = `${b.conn_id}/${b.block_id}`;
    const conn = connById.get(b.conn_id);
    if (!conn) {
      if (!claimedConns.has(b.conn_id)) {
        add(
          "block",
          i,
          k,
          "conn_id",
          `no connection "${b.conn_id}" in this configuration`,
          b.conn_id,
        );
      }
      return;
    }
    if (blockTwin[i]!.duplicate) dupBlock(i, b.conn_id, b.block_id);
    if (!blockTwin[i]!.holds) return;
    blockByKey.set(k, b);
    if (!isModbus(conn.protocol)) {
      if (b.device !== null && b.device !== undefined) {
        add(
          "block",
          i,
          k,
          "device",
          `device is for Modbus blocks only; leave it empty, got ${shown(b.device)}`,
          b.device,
        );
      }
      if (b.table !== "opcua_nodes") {
        add(
          "block",
          i,
          k,
          "table",
          `an opcua connection's blocks use table opcua_nodes, got ${shown(b.table)}`,
          b.table,
        );
      }
      return;
    }
    if (b.table === "opcua_nodes") {
      add(
        "block",
        i,
        k,
        "table",
        `table opcua_nodes is for opcua connections, not ${conn.protocol}`,
        b.table,
      );
      return;
    }
    if (b.device !== null && b.device !== undefined) {
      const dk = `${b.conn_id}/${b.device}`;
      const dev = deviceByKey.get(dk);
      if (!dev && !claimedDevices.has(dk)) {
        add(
          "block",
          i,
          k,
          "device",
          `no device "${b.device}" in connection "${b.conn_id}" (devices.csv), got ${shown(b.device)}`,
          b.device,
        );
      }
      if (
        dev?.unit_id === 0 &&
        conn.protocol !== "modbus-tcp" &&
        b.period_ms !== null &&
        b.period_ms !== undefined
      ) {
        add(
          "block",
          i,
          k,
          "period_ms",
          `device "${b.device}" is unit id 0, the broadcast address: no device answers a broadcast (Modbus over Serial Line v1.02 §2.1), so its blocks are write-only; leave period_ms empty, got ${b.period_ms}`,
          b.period_ms,
        );
      }
    }
    if (b.mode !== null && b.mode !== undefined) {
      add(
        "block",
        i,
        k,
        "mode",
        `mode is for opcua blocks only; leave it empty, got ${shown(b.mode)}`,
        b.mode,
      );
    }
    const addrProblem = addressProblem(conn, b.address);
    if (addrProblem) {
      add("block", i, k, "address", addrProblem, b.address);
      return;
    }
    const bits = BIT_TABLES.has(b.table);
    if (b.count < 1) {
      add(
        "block",
        i,
        k,
        "count",
        `count must be at least 1 ${bits ? "bit" : "register"}, got ${b.count}`,
        b.count,
      );
      return;
    }
    const base = conn.address_base ?? 0;
    if (b.address - base + b.count > 65536) {
      add(
        "block",
        i,
        k,
        "count",
        `block must end by address ${65535 + base}: address ${b.address} + count ${b.count} goes past it`,
        b.count,
      );
    }
    // No upper bound on count besides the address space: a block longer than one request
    // (125 registers / 2000 bits, or the connection's max_*_per_request) is split into
    // several requests by the driver (src/drivers/modbus/plan.ts).
  });

  // Tags
  const tagTwin = idTwins(
    rowKeys("tag", TagSchema, raw.tags, ["conn_id", "tag_name"], (r) =>
      connById.has(String(r.conn_id)),
    ),
    tags,
  );
  const dupTag = (i: number, connId: string, tagName: string) =>
    add(
      "tag",
      i,
      `${connId}/${tagName}`,
      "tag_name",
      `duplicate tag path /${connId}/${tagName}: each tag name once per connection`,
      tagName,
    );
  tags.forEach((t, i) => {
    if (!t) {
      const r = recOf(raw.tags[i]);
      if (tagTwin[i]!.duplicate) dupTag(i, String(r.conn_id), String(r.tag_name));
      return;
    }
    const k = `${t.conn_id}/${t.tag_name}`;
    const conn = connById.get(t.conn_id);
    if (!conn) {
      if (!claimedConns.has(t.conn_id)) {
        add(
          "tag",
          i,
          k,
          "conn_id",
          `no connection "${t.conn_id}" in this configuration`,
          t.conn_id,
        );
      }
      return;
    }
    if (tagTwin[i]!.duplicate) dupTag(i, t.conn_id, t.tag_name);
    if (!tagTwin[i]!.holds) return;
    const auto = t.block_id === null || t.block_id === undefined;
    let block: Block | undefined;
    let table: string;
    if (auto) {
      const problems = autoTagProblems(t, conn, deviceByKey, claimedDevices);
      for (const p of problems) add("tag", i, k, p.field, p.message, p.got);
      if (problems.length > 0 || !t.table) return;
      table = t.table;
    } else {
      for (const f of ["table", "scan_ms"] as const) {
        if (t[f] !== null && t[f] !== undefined) {
          add(
            "tag",
            i,
            k,
            f,
            `${f} is for auto tags only (an empty block_id); a tag of block "${t.block_id}" is read with its block: leave ${f} empty, got ${shown(t[f])}`,
            t[f],
          );
        }
      }
      const bk = `${t.conn_id}/${t.block_id}`;
      block = blockByKey.get(bk);
      if (!block) {
        if (!claimedBlocks.has(bk)) {
          add(
            "tag",
            i,
            k,
            "block_id",
            `no block "${t.block_id}" in connection "${t.conn_id}"`,
            t.block_id,
          );
        }
        return;
      }
      table = block.table;
      const device = block.device ?? null;
      const slash = t.tag_name.indexOf("/");
      if (device !== null && (slash < 0 || t.tag_name.slice(0, slash) !== device)) {
        add(
          "tag",
          i,
          k,
          "tag_name",
          `block "${block.block_id}" belongs to device "${device}": its tags are named ${device}/{tag} (path /${t.conn_id}/${device}/{tag}), got ${shown(t.tag_name)}`,
          t.tag_name,
        );
      } else if (device === null && slash >= 0) {
        add(
          "tag",
          i,
          k,
          "tag_name",
          `a tag of the connection's default device has a one-segment name (no "/"); a {device}/{tag} name needs its block's device set to that device, got ${shown(t.tag_name)}`,
          t.tag_name,
        );
      }
    }
    /** How a message names where the tag is read: its block, or its table (auto tag). */
    const from = block ? `block "${block.block_id}" reads ${table}` : `auto tag of ${table}`;
    if (t.data_type === "bit" && (t.bit === null || t.bit === undefined)) {
      add(
        "tag",
        i,
        k,
        "bit",
        "bit (0–15, 0 = least significant) is required for data_type bit, got empty",
      );
    }
    if (t.data_type !== "bit" && t.bit !== null && t.bit !== undefined) {
      add(
        "tag",
        i,
        k,
        "bit",
        `bit is only for data_type bit, not ${t.data_type}; leave it empty, got ${t.bit}`,
        t.bit,
      );
    }
    if (
      (t.scale !== 1 || t.offset !== 0) &&
      !NUMERIC_TYPES.has(t.data_type) &&
      isModbus(conn.protocol)
    ) {
      const field = t.scale !== 1 ? "scale" : "offset";
      add(
        "tag",
        i,
        k,
        field,
        `${field} applies to numeric data types only, not ${t.data_type}`,
        t[field],
      );
    }
    if (!isModbus(conn.protocol)) {
      if (!t.node_id)
        add("tag", i, k, "node_id", "node_id is required for an opcua tag, got empty");
      // The OPC UA driver takes the node's own value: it would silently ignore these.
      if (t.data_type === "bit") {
        add(
          "tag",
          i,
          k,
          "data_type",
          "data_type bit (one bit of a Modbus register) is not for opcua tags: use a Boolean node",
          t.data_type,
        );
      }
      if (t.data_type === "bcd" || t.data_type === "lbcd") {
        add(
          "tag",
          i,
          k,
          "data_type",
          `data_type ${t.data_type} (packed BCD in Modbus registers) is not for opcua tags: the node's own value is taken, use its type (e.g. uint16, uint32)`,
          t.data_type,
        );
      }
      if (t.length !== null && t.length !== undefined) {
        add(
          "tag",
          i,
          k,
          "length",
          `length is for Modbus string tags only; leave it empty, got ${t.length}`,
          t.length,
        );
      }
      if (t.array_length != null) {
        add(
          "tag",
          i,
          k,
          "array_length",
          `array_length is for Modbus tags only (an OPC UA array node is read as the node's own value); leave it empty, got ${t.array_length}`,
          t.array_length,
        );
      }
      return;
    }
    if (t.array_length != null) {
      if (t.data_type === "bit" || t.data_type === "string") {
        add(
          "tag",
          i,
          k,
          "array_length",
          `array_length is for numeric data types and bool (coils, discrete inputs), not ${t.data_type}; leave it empty, got ${t.array_length}`,
          t.array_length,
        );
      }
      if (t.access === "read-write") {
        add(
          "tag",
          i,
          k,
          "access",
          `array tags are read-only (writes of arrays are not supported): access must be read, got read-write`,
          t.access,
        );
      }
    }
    if (t.node_id) {
      add(
        "tag",
        i,
        k,
        "node_id",
        `node_id is for opcua tags only; leave it empty, got ${shown(t.node_id)}`,
        t.node_id,
      );
    }
    for (const f of ["sampling_interval_ms", "queue_size"] as const) {
      if (t[f] !== null && t[f] !== undefined) {
        add("tag", i, k, f, `${f} is for opcua tags only; leave it empty, got ${t[f]}`, t[f]);
      }
    }
    if (t.data_type === "string" && (t.length === null || t.length === undefined)) {
      add(
        "tag",
        i,
        k,
        "length",
        "length (registers, 2 characters each) is required for data_type string, got empty",
      );
      return;
    }
    if (t.data_type !== "string" && t.length !== null && t.length !== undefined) {
      add(
        "tag",
        i,
        k,
        "length",
        `length is only for data_type string, not ${t.data_type}; leave it empty, got ${t.length}`,
        t.length,
      );
    }
    const bits = BIT_TABLES.has(table);
    if (bits && t.data_type !== "bool") {
      add(
        "tag",
        i,
        k,
        "data_type",
        `${from}, which hold only bool, got ${t.data_type}`,
        t.data_type,
      );
      return;
    }
    if (!bits && t.data_type === "bool") {
      add(
        "tag",
        i,
        k,
        "data_type",
        `${from} (16-bit registers): use data_type bit with a bit number, or a numeric type; got bool`,
        t.data_type,
      );
      return;
    }
    if (t.access === "read-write" && READ_ONLY_TABLES.has(table)) {
      add(
        "tag",
        i,
        k,
        "access",
        `${table} are read-only (Modbus Application Protocol §4.3): access must be read, got read-write`,
        t.access,
      );
    }
    const addrProblem = addressProblem(conn, t.address);
    if (addrProblem) {
      add("tag", i, k, "address", addrProblem, t.address);
      return;
    }
    const span = tagSpan(t);
    const unit = bits ? "bit" : "register";
    const took =
      span === 1 ? `${unit} ${t.address}` : `${unit}s ${t.address}–${t.address + span - 1}`;
    const why =
      span > 1
        ? ` (${t.data_type}${t.data_type === "string" ? ` of length ${span}` : ""}${t.array_length != null ? `[${t.array_length}]` : ""} takes ${span} ${unit}s)`
        : "";
    if (!block) {
      const base = conn.address_base ?? 0;
      const max = bits ? conn.max_bits_per_request : conn.max_registers_per_request;
      if (t.address - base + span > 65536) {
        add(
          "tag",
          i,
          k,
          "address",
          `tag must end by address ${65535 + base} (the last of ${table}): it takes ${took}${why}`,
          t.address,
        );
      } else if (span > max) {
        add(
          "tag",
          i,
          k,
          bits ? "data_type" : "length",
          `an auto tag must fit one read request of connection "${conn.conn_id}" (${bits ? "max_bits_per_request" : "max_registers_per_request"} ${max}): it takes ${span} ${unit}s`,
          bits ? t.data_type : t.length,
        );
      }
      return;
    }
    const end = block.address + block.count - 1;
    if (t.address < block.address || t.address + span - 1 > end) {
      add(
        "tag",
        i,
        k,
        "address",
        `tag must lie inside its block "${block.block_id}" (${block.table} ${block.address}–${end}): it takes ${took}${why}`,
        t.address,
      );
    }
  });

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    value: {
      connections: conns as Connection[],
      devices: devices as Device[],
      blocks: blocks as Block[],
      tags: tags as Tag[],
    },
  };
}

/**
 * What is wrong with an auto tag's own fields (a tag with an empty `block_id`): one issue per
 * problem, empty when it is fine. An auto tag is Modbus only, names its `table` (a Modbus
 * table) and its `scan_ms`; its device is the first segment of its name when that names a
 * device of the connection (`{device}/{tag}`), else (a one-segment name) the default device;
 * a broadcast device (unit id 0 on an RTU link) cannot be polled.
 */
function autoTagProblems(
  t: Tag,
  conn: Connection,
  deviceByKey: ReadonlyMap<string, Device>,
  claimedDevices: ReadonlySet<string>,
): { field: string; message: string; got?: unknown }[] {
  const out: { field: string; message: string; got?: unknown }[] = [];
  if (!isModbus(conn.protocol)) {
    out.push({
      field: "block_id",
      message: `block_id is required for ${conn.protocol} tags (auto tags, with table and scan_ms instead of a block, are Modbus only), got empty`,
    });
    return out;
  }
  if (!t.table) {
    out.push({
      field: "table",
      message:
        "table is required for an auto tag (empty block_id): coils, discrete_inputs, holding_registers or input_registers, got empty",
    });
  }
  if (t.scan_ms === null || t.scan_ms === undefined) {
    out.push({
      field: "scan_ms",
      message: "scan_ms (poll period, ms) is required for an auto tag (empty block_id), got empty",
    });
  }
  const slash = t.tag_name.indexOf("/");
  if (slash >= 0) {
    const device = t.tag_name.slice(0, slash);
    const dk = `${t.conn_id}/${device}`;
    const dev = deviceByKey.get(dk);
    if (!dev && !claimedDevices.has(dk)) {
      out.push({
        field: "tag_name",
        message: `an auto tag named {device}/{tag} is read from that device, but connection "${t.conn_id}" has no device "${device}" (devices.csv); a tag of the default device has a one-segment name, got ${shown(t.tag_name)}`,
        got: t.tag_name,
      });
    } else if (dev?.unit_id === 0 && conn.protocol !== "modbus-tcp") {
      out.push({
        field: "scan_ms",
        message: `device "${device}" is unit id 0, the broadcast address: no device answers a broadcast (Modbus over Serial Line v1.02 §2.1), so it has no auto tags (they are polled)`,
        got: t.scan_ms,
      });
    }
  }
  return out;
}

/**
 * What is wrong with a Modbus block or tag `address` under its connection's `address_base`
 * (0: zero-based, 0–65535; 1: one-based, 1–65536, address 1 being register 0 on the wire),
 * or undefined when it is fine.
 */
export function addressProblem(
  conn: Pick<Connection, "conn_id" | "address_base">,
  address: number,
): string | undefined {
  const base = conn.address_base ?? 0;
  if (address < base) {
    return `address must be at least 1: connection "${conn.conn_id}" counts addresses from 1 (address_base 1: address 1 is register 0 on the wire), got ${address}`;
  }
  const last = 65535 + base;
  if (address > last) {
    return `address must be at most ${last} (${base === 1 ? "address_base 1: 65536 is register 65535" : "zero-based: 65535 is the last register"}), got ${address}`;
  }
  return undefined;
}

/** Formats an issue as `entity key (field): message`, for logs and the CLI. */
export function formatIssue(i: ConfigIssue): string {
  return `${i.entity} ${i.key || `#${i.index + 1}`} (${i.field}): ${i.message}`;
}
