import * as v from "valibot";
import {
  CONN_ID_RE,
  RESERVED_IDS,
  SEGMENTED_TAG_NAME_RE,
  TAG_NAME_MAX,
  TAG_NAME_RE,
} from "../core/paths.ts";

/**
 * The configuration entities of the source of truth, as valibot schemas. The same schemas
 * validate rows from the CSV loader, the CLI and the web UI. Field names are the DB column
 * names and the CSV header names (snake_case).
 *
 * Row schemas here check each field on its own; rules that need several fields or rows
 * (a tag inside its block, a float32 over two registers, a block within the address space)
 * live in `validate.ts`. Defaults that depend on the protocol are {@link PROTOCOL_DEFAULTS}.
 */

/** Protocols of a connection. `modbus-rtu` is RTU on a serial port; `modbus-rtu-tcp` is RTU framing over a TCP socket (serial device servers). */
export const PROTOCOLS = ["modbus-tcp", "modbus-rtu", "modbus-rtu-tcp", "opcua"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

/**
 * The table a block reads. The four Modbus data tables (Modbus Application Protocol v1.1b3
 * §4.3) and, for OPC UA, a group of nodes.
 */
export const BLOCK_TABLES = [
  "coils",
  "discrete_inputs",
  "holding_registers",
  "input_registers",
  "opcua_nodes",
] as const;
export type BlockTable = (typeof BLOCK_TABLES)[number];

/** The four Modbus tables (the tables an auto tag may name). */
export const MODBUS_TABLES = [
  "coils",
  "discrete_inputs",
  "holding_registers",
  "input_registers",
] as const;
export type ModbusTable = (typeof MODBUS_TABLES)[number];

/**
 * Tag data types. `bit` is one bit (`bit` field, 0 = LSB) of a 16-bit register; `string`
 * spans `length` registers (2 characters each). `bcd` is packed BCD in one register (4 decimal
 * digits, 0–9999) and `lbcd` in two (8 digits, 0–99999999), Kepware's `BCD`/`LBCD`; `lbcd`
 * word order follows `byte_order` like the other 32-bit types. `bit`, `bcd` and `lbcd` are
 * Modbus-only.
 */
export const DATA_TYPES = [
  "bool",
  "bit",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float32",
  "float64",
  "string",
  "bcd",
  "lbcd",
] as const;
export type DataType = (typeof DATA_TYPES)[number];

/**
 * Byte/word order of multi-byte values, named by the order in which the bytes of the
 * big-endian value A B C D arrive: `ABCD` big-endian (the Modbus default, spec §4.2),
 * `CDAB` word-swapped, `BADC` byte-swapped, `DCBA` little-endian. For 64-bit values the same
 * rule extends to four words; for strings only the byte order within a register matters.
 */
export const BYTE_ORDERS = ["ABCD", "BADC", "CDAB", "DCBA"] as const;
export type ByteOrder = (typeof BYTE_ORDERS)[number];

/** Registers spanned by a register data type (`string`: its `length`; `bool`/`bit`: 1). */
export const REGISTERS_OF: Record<Exclude<DataType, "string">, number> = {
  bool: 1,
  bit: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
  bcd: 1,
  lbcd: 2,
};

const id = (label: string) =>
  v.pipe(
    v.string(),
    v.regex(CONN_ID_RE, `${label} must match ^[a-z0-9][a-z0-9_-]{0,62}$`),
    v.check((s) => !RESERVED_IDS.has(s), `${label} "system" and "supervisor" are reserved`),
  );
const int = (min: number, max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
const optInt = (min: number, max: number) => v.nullish(int(min, max));

const SECURITY_MODES = ["None", "Sign", "SignAndEncrypt"] as const;
const SECURITY_POLICIES = [
  "None",
  "Basic128Rsa15",
  "Basic256",
  "Basic256Sha256",
  "Aes128_Sha256_RsaOaep",
  "Aes256_Sha256_RsaPss",
] as const;
const ENDPOINT_RE = /^opc\.tcp:\/\/([^\s/:[\]]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?(?:\/\S*)?$/;

/** True for `opc.tcp://HOST[:PORT][/PATH]` with a non-empty host and a port of 1–65535. */
function isEndpointUrl(url: string): boolean {
  const m = ENDPOINT_RE.exec(url);
  if (!m) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** A connection: one link to one device, run by one `ne-intf` process. */
export const ConnectionSchema = v.object({
  conn_id: id("conn_id"),
  protocol: v.picklist(PROTOCOLS, `protocol must be one of ${PROTOCOLS.join(", ")}`),
  enabled: v.optional(v.boolean(), true),
  description: v.optional(v.string(), ""),
  // Modbus TCP / RTU over TCP
  host: v.nullish(v.pipe(v.string(), v.minLength(1, "host must not be empty"))),
  port: optInt(1, 65535),
  /** Modbus unit id (slave address), 0–247 (Modbus over Serial Line v1.02 §2.2); TCP often 1 or 255. Default 1 ({@link PROTOCOL_DEFAULTS}). */
  unit_id: optInt(0, 255),
  /**
   * How the block and tag `address`es of this connection count (every Modbus protocol): 0 =
   * zero-based, the protocol address on the wire (the default); 1 = one-based, as manuals that
   * number registers from 1 write them: address 1 is register 0 on the wire, and 0 is refused.
   * Like Kepware's "zero-based addressing" device property. Default 0 ({@link PROTOCOL_DEFAULTS}).
   */
  address_base: v.nullish(
    v.picklist([0, 1], "address_base must be 0 (zero-based) or 1 (one-based)"),
  ),
  // Modbus RTU on a serial port
  serial_device: v.nullish(
    v.pipe(v.string(), v.startsWith("/", "serial_device must be an absolute path")),
  ),
  /** Serial line settings of `modbus-rtu`; defaults 9600, none, 8, 1 ({@link PROTOCOL_DEFAULTS}). */
  baud_rate: optInt(300, 1_000_000),
  parity: v.nullish(v.picklist(["none", "even", "odd"], "parity must be none, even or odd")),
  data_bits: v.nullish(v.picklist([7, 8], "data_bits must be 7 or 8")),
  stop_bits: v.nullish(v.picklist([1, 2], "stop_bits must be 1 or 2")),
  // OPC UA
  endpoint_url: v.nullish(
    v.pipe(
      v.string(),
      v.startsWith("opc.tcp://", "endpoint_url must start with opc.tcp://"),
      v.check(
        isEndpointUrl,
        "endpoint_url must look like opc.tcp://HOST:PORT (a host without spaces, port 1–65535)",
      ),
    ),
  ),
  security_mode: v.nullish(
    v.picklist(SECURITY_MODES, `security_mode must be one of ${SECURITY_MODES.join(", ")}`),
  ),
  security_policy: v.nullish(
    v.picklist(SECURITY_POLICIES, `security_policy must be one of ${SECURITY_POLICIES.join(", ")}`),
  ),
  username: v.nullish(v.string()),
  password: v.nullish(v.string()),
  // Timing, in ms
  /** Per-request timeout, ms. */
  timeout_ms: v.optional(int(10, 600_000), 1000),
  /** Connect timeout, ms. */
  connect_timeout_ms: v.optional(int(10, 600_000), 3000),
  /** Pause between two requests on the link, ms (slow serial devices). */
  inter_request_delay_ms: v.optional(int(0, 60_000), 0),
  /** Largest register count per read request (protocol maximum 125, spec §6.3). */
  max_registers_per_request: v.optional(int(1, 125), 125),
  /** Largest bit count per read request (protocol maximum 2000, spec §6.1). */
  max_bits_per_request: v.optional(int(1, 2000), 2000),
  /**
   * Automatic blocks (auto tags): the largest run of unused registers the planner reads
   * through to merge two auto tags into one request, registers. Default 4; 0 = merge only
   * contiguous tags. A device that refuses a gap (exception 02) is handled anyway: the
   * planner splits around the refused span.
   */
  max_gap_registers: v.optional(int(0, 124), 4),
  /** The same for coils and discrete inputs, bits. Default 16. */
  max_gap_bits: v.optional(int(0, 1999), 16),
  /** First reconnect delay, ms; doubles per failure up to `backoff_max_ms`, with jitter. */
  backoff_initial_ms: v.optional(int(10, 600_000), 500),
  backoff_max_ms: v.optional(int(10, 3_600_000), 30_000),
  /**
   * Auto-demotion (Modbus; like Kepware's): after this many consecutive timeouts of one device
   * its requests are skipped for `demote_for_ms` (its tags bad, reason `demoted`), then one
   * probe request decides. 0 = never demote. Default 3 (Kepware's "timeouts to demote").
   */
  demote_after_timeouts: v.optional(int(0, 100), 3),
  /** How long a demoted device is skipped, ms. Default 10 000 (Kepware's "demotion period"). */
  demote_for_ms: v.optional(int(100, 3_600_000), 10_000),
  // Service limits (systemd drop-in), e.g. "64M", "50%"
  memory_max: v.nullish(
    v.pipe(v.string(), v.regex(/^\d+[KMG]?$/, "memory_max must look like 64M")),
  ),
  cpu_quota: v.nullish(v.pipe(v.string(), v.regex(/^\d+%$/, "cpu_quota must look like 50%"))),
});
export type Connection = v.InferOutput<typeof ConnectionSchema>;

/**
 * Connection fields that hold secrets: never shown (`conn show`, the web API) nor exported
 * in clear (`export` without `--include-secrets`); docs/security.md "Secrets".
 */
export const CONN_SECRET_FIELDS: ReadonlySet<keyof Connection> = new Set(["password"]);
export type ConnectionInput = v.InferInput<typeof ConnectionSchema>;

/**
 * Defaults of the link fields that depend on the protocol, filled in when a row leaves them
 * empty: Modbus unit id 1 and zero-based addresses on every Modbus protocol; on a serial line (`modbus-rtu`) 9600 baud,
 * no parity, 8 data bits, 1 stop bit ("9600 8N1"). The one place these values live: the
 * store's validation fills them in before a row is written ({@link withProtocolDefaults}),
 * and the driver applies the same function to rows stored before these defaults existed.
 */
export const PROTOCOL_DEFAULTS: Readonly<Record<Protocol, Readonly<Partial<Connection>>>> = {
  "modbus-tcp": { unit_id: 1, address_base: 0 },
  "modbus-rtu-tcp": { unit_id: 1, address_base: 0 },
  "modbus-rtu": {
    unit_id: 1,
    address_base: 0,
    baud_rate: 9600,
    parity: "none",
    data_bits: 8,
    stop_bits: 1,
  },
  opcua: {},
};

/**
 * The connection with every empty (`null`/absent) field of {@link PROTOCOL_DEFAULTS} for its
 * protocol filled in; other fields untouched. Returns a new object.
 */
export function withProtocolDefaults<C extends Connection>(c: C): C {
  const out: Record<string, unknown> = { ...c };
  for (const [k, v] of Object.entries(PROTOCOL_DEFAULTS[c.protocol] ?? {})) {
    if (out[k] === null || out[k] === undefined) out[k] = v;
  }
  return out as C;
}

/**
 * A device on a connection's link (issue 14): one unit (a Modbus unit id) of the several a
 * link carries, e.g. meters on one RS-485 line or unit ids behind one serial gateway. Blocks
 * name their device in `device`; a block without one belongs to the connection's default
 * device (its `unit_id`), so a connection without devices is one device, as before. A device's
 * tags are named `{device}/{tag}` (path `/{conn_id}/{device}/{tag}`).
 */
export const DeviceSchema = v.object({
  conn_id: id("conn_id"),
  /** The device's name: the `conn_id` pattern, unique within its connection. */
  device: v.pipe(v.string(), v.regex(CONN_ID_RE, "device must match ^[a-z0-9][a-z0-9_-]{0,62}$")),
  /**
   * Modbus unit id (slave address): 1–247 on a serial line (Modbus over Serial Line v1.02
   * §2.2), up to 255 behind a TCP gateway; 0 is the RTU broadcast address (write-only).
   */
  unit_id: int(0, 255),
  description: v.optional(v.string(), ""),
  /**
   * The profile (ProfileSchema) this device is an instance of: its blocks and tags come from
   * the profile (block `{device}.{block_id}`, tag `{device}/{tag_name}`, see `profiles.ts`),
   * and it has no blocks of its own. Empty: a device with its own blocks (blocks.csv).
   */
  profile: v.nullish(
    v.pipe(v.string(), v.regex(CONN_ID_RE, "profile must match ^[a-z0-9][a-z0-9_-]{0,62}$")),
  ),
});
export type Device = v.InferOutput<typeof DeviceSchema>;

/** A block: one request group polled on one period (or written on demand). */
export const BlockSchema = v.object({
  conn_id: id("conn_id"),
  block_id: v.pipe(
    v.string(),
    v.regex(TAG_NAME_RE, "block_id must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"),
  ),
  table: v.picklist(BLOCK_TABLES, `table must be one of ${BLOCK_TABLES.join(", ")}`),
  /**
   * First address, in the connection's `address_base` (0: the zero-based protocol address;
   * 1: one-based, 1–65536); Modicon references are converted by the loader. Unused for OPC UA.
   */
  address: v.optional(int(0, 65536), 0),
  /** Registers or bits read; unused for OPC UA. */
  count: v.optional(int(0, 65536), 0),
  /** Poll period in ms; `null` = on demand / write-only. For OPC UA subscriptions, the publishing interval. */
  period_ms: v.nullish(int(1, 86_400_000)),
  /** Phase offset of the first tick, ms after start (spreads blocks). Default: automatic. */
  phase_ms: v.nullish(int(0, 86_400_000)),
  /** OPC UA only: `subscribe` (monitored items; the default when empty) or `poll` (Read service). Empty for Modbus. */
  mode: v.nullish(v.picklist(["poll", "subscribe"], "mode must be poll or subscribe")),
  enabled: v.optional(v.boolean(), true),
  description: v.optional(v.string(), ""),
  /** The device (DeviceSchema) of this block on a multi-device link; empty = the connection's default device (its `unit_id`). Modbus only. */
  device: v.nullish(
    v.pipe(v.string(), v.regex(CONN_ID_RE, "device must match ^[a-z0-9][a-z0-9_-]{0,62}$")),
  ),
});
export type Block = v.InferOutput<typeof BlockSchema>;

/**
 * A tag: a named value decoded from a block. Its path is `/{conn_id}/{tag_name}`; a tag of a
 * named device is `{device}/{tag}` (path `/{conn_id}/{device}/{tag}`).
 */
export const TagSchema = v.object({
  conn_id: id("conn_id"),
  tag_name: v.pipe(
    v.string(),
    v.maxLength(TAG_NAME_MAX, `tag_name must be at most ${TAG_NAME_MAX} characters`),
    v.regex(
      SEGMENTED_TAG_NAME_RE,
      "tag_name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (a device's tag: {device}/{tag})",
    ),
  ),
  /**
   * The tag's block; empty (`null`) = an *auto tag* (Modbus only): it names its `table` and
   * `scan_ms` instead, and the planner (`src/drivers/modbus/auto-plan.ts`) merges it with its
   * neighbours into generated blocks.
   */
  block_id: v.nullish(v.pipe(v.string(), v.minLength(1, "block_id must not be empty"))),
  /** Auto tags only: the Modbus table the tag is in (an explicit block's tag takes its block's). */
  table: v.nullish(v.picklist(MODBUS_TABLES, `table must be one of ${MODBUS_TABLES.join(", ")}`)),
  /** Auto tags only: the poll period of the tag, ms (its generated block's `period_ms`). */
  scan_ms: v.nullish(int(1, 86_400_000)),
  /** Absolute address inside its block (Modbus), in the connection's `address_base`. Unused for OPC UA. */
  address: v.optional(int(0, 65536), 0),
  data_type: v.picklist(DATA_TYPES, `data_type must be one of ${DATA_TYPES.join(", ")}`),
  /** Bit number 0–15 (0 = least significant) for `bit`. */
  bit: v.nullish(int(0, 15)),
  /** Registers of a `string` (2 characters each). */
  length: v.nullish(int(1, 125)),
  /**
   * An array tag (Modbus): `array_length` consecutive elements of `data_type` (a numeric
   * register type, or `bool` on coils / discrete inputs), published as one tag whose value is
   * an array; `float32` with 10 is `float32[10]`, 20 registers. Empty = one value. Arrays are
   * read-only. In a CSV, `data_type` `float32[10]` is the same as this column.
   */
  array_length: v.nullish(int(1, 2000)),
  byte_order: v.optional(
    v.picklist(BYTE_ORDERS, "byte_order must be ABCD, BADC, CDAB or DCBA"),
    "ABCD",
  ),
  /** Engineering value = raw × scale + offset. */
  scale: v.optional(
    v.pipe(
      v.number(),
      v.finite("must be a finite number"),
      v.check((n) => n !== 0, "scale must not be 0"),
    ),
    1,
  ),
  offset: v.optional(v.pipe(v.number(), v.finite("must be a finite number")), 0),
  /** Absolute deadband in engineering units: a change smaller than this is not published. 0 = every change. */
  deadband: v.optional(
    v.pipe(v.number(), v.finite("must be a finite number"), v.minValue(0, "must be at least 0")),
    0,
  ),
  access: v.optional(
    v.picklist(["read", "read-write"], "access must be read or read-write"),
    "read",
  ),
  unit: v.optional(v.string(), ""),
  description: v.optional(v.string(), ""),
  /** OPC UA node id, e.g. `ns=2;s=Machine.Speed`. */
  node_id: v.nullish(
    v.pipe(v.string(), v.regex(/^(ns=\d+;)?[isgb]=.+$/, "node_id must look like ns=2;s=Name")),
  ),
  /** OPC UA sampling interval of the monitored item, ms (default: the block's period). */
  sampling_interval_ms: v.nullish(int(0, 86_400_000)),
  /** OPC UA monitored item queue size. */
  queue_size: v.nullish(int(1, 10_000)),
});
export type Tag = v.InferOutput<typeof TagSchema>;

/** Everything one interface app needs: its connection, devices, blocks and tags. */
export interface ConnectionConfig {
  connection: Connection;
  /** The named devices of the link (empty or absent: only the default device). */
  devices?: Device[];
  blocks: Block[];
  tags: Tag[];
}

/** The pattern of a profile name (the `conn_id` pattern). */
const profileName = v.pipe(
  v.string(),
  v.regex(CONN_ID_RE, "profile must match ^[a-z0-9][a-z0-9_-]{0,62}$"),
);

/** `entries` without the named keys (the profile schemas below are derived from the connection's). */
function without<E extends Record<string, unknown>, K extends keyof E>(
  entries: E,
  keys: readonly K[],
): Omit<E, K> {
  const out: Record<string, unknown> = { ...entries };
  for (const k of keys) delete out[k as string];
  return out as Omit<E, K>;
}

/**
 * A device profile (issue 14, DESIGN.md §4 "profile"): a device type defined once, its blocks
 * and tags ({@link ProfileBlockSchema}, {@link ProfileTagSchema}); a device row naming it is an
 * instance on a connection. Modbus only (devices are).
 */
export const ProfileSchema = v.object({
  profile: profileName,
  /** What device it is, and the manual (name, page/section) its register map comes from. */
  description: v.optional(v.string(), ""),
  /**
   * How the addresses of its blocks and tags count: 0 = zero-based protocol addresses (the
   * default), 1 = one-based, as a manual that numbers registers from 1. Expansion converts
   * them to the base of the connection the instance is on, so one profile fits every
   * connection.
   */
  address_base: v.optional(
    v.picklist([0, 1], "address_base must be 0 (zero-based) or 1 (one-based)"),
    0,
  ),
});
export type Profile = v.InferOutput<typeof ProfileSchema>;

/**
 * A block of a profile: the columns of a block (BlockSchema) without `conn_id` and `device`,
 * with its `profile`. Each instance gets it as block `{device}.{block_id}` of its device.
 */
export const ProfileBlockSchema = v.object({
  profile: profileName,
  ...without(BlockSchema.entries, ["conn_id", "device"] as const),
});
export type ProfileBlock = v.InferOutput<typeof ProfileBlockSchema>;

/** Tag fields a profile tag does not have: the connection, and OPC UA's (profiles are Modbus). */
const NOT_PROFILE_TAG_FIELDS = [
  "conn_id",
  "node_id",
  "sampling_interval_ms",
  "queue_size",
] as const;

/**
 * A tag of a profile: the columns of a tag (TagSchema) without `conn_id` and the OPC UA
 * fields, with its `profile`; `tag_name` is one segment. Each instance gets it as tag
 * `{device}/{tag_name}` (path `/{conn_id}/{device}/{tag_name}`) in block `{device}.{block_id}`.
 */
export const ProfileTagSchema = v.object({
  profile: profileName,
  ...without(TagSchema.entries, NOT_PROFILE_TAG_FIELDS),
  tag_name: v.pipe(
    v.string(),
    v.regex(
      TAG_NAME_RE,
      "tag_name must match ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ (one segment: an instance names it {device}/{tag_name})",
    ),
  ),
});
export type ProfileTag = v.InferOutput<typeof ProfileTagSchema>;

/** A profile with its blocks and tags. */
export interface ProfileConfig {
  profile: Profile;
  blocks: ProfileBlock[];
  tags: ProfileTag[];
}
