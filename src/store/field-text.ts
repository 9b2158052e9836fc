import type { Entity } from "./fields.ts";

/**
 * Human text of the fields of `schema.ts` for forms (the web UI): a label, the unit and a
 * one-line help. Ranges, options and defaults come from the schema itself (`FIELDS`); this
 * table only names things. Keyed by field name, per entity where a name means something else.
 */
export interface FieldText {
  label: string;
  /** Unit of the value (`ms`, `registers`, …), when it has one. */
  unit?: string;
  help?: string;
}

type T = [label: string, unit?: string, help?: string];

const COMMON: Record<string, T> = {
  conn_id: [
    "Connection id",
    undefined,
    "Lower-case letters, digits, - and _; names the app and its tags (/{id}/…).",
  ],
  enabled: ["Enabled", undefined, "Disabled: its app is stopped, the configuration kept."],
  description: ["Description"],
  unit_id: [
    "Unit id",
    undefined,
    "Modbus slave address of the device (0–255; 255 or 1 for most TCP devices).",
  ],
  device: [
    "Device",
    undefined,
    "A device of a multi-device link (devices tab); empty = the connection's unit id.",
  ],
  table: ["Table", undefined, "Modbus table: coils, discrete inputs, holding or input registers."],
  address: ["Address", undefined, "First address, in the connection's address base (0 or 1)."],
};

const BY_ENTITY: Partial<Record<Entity, Record<string, T>>> = {
  connection: {
    protocol: ["Protocol", undefined, "Modbus TCP, Modbus RTU (serial) or OPC UA."],
    host: ["Host", undefined, "IP address or name of the device or gateway."],
    port: ["TCP port", undefined, "502 for Modbus TCP."],
    address_base: [
      "Address base",
      undefined,
      "0: addresses as on the wire; 1: one-based as in many manuals.",
    ],
    serial_device: ["Serial port", undefined, "e.g. /dev/ttyUSB0."],
    baud_rate: ["Baud rate", "bit/s"],
    parity: ["Parity"],
    data_bits: ["Data bits"],
    stop_bits: ["Stop bits"],
    endpoint_url: ["Endpoint URL", undefined, "opc.tcp://host:4840/path"],
    security_mode: ["Security mode", undefined, "None, Sign or SignAndEncrypt."],
    security_policy: ["Security policy"],
    username: ["User name", undefined, "Empty: anonymous."],
    password: ["Password"],
    timeout_ms: ["Request timeout", "ms", "How long one request waits for the device's answer."],
    connect_timeout_ms: ["Connect timeout", "ms"],
    inter_request_delay_ms: [
      "Delay between requests",
      "ms",
      "Pause between two requests on the link (slow serial devices).",
    ],
    max_registers_per_request: [
      "Registers per request",
      "registers",
      "Longest read the device accepts (125 by the Modbus spec).",
    ],
    max_bits_per_request: [
      "Bits per request",
      "bits",
      "Longest coil / input read (2000 by the Modbus spec).",
    ],
    max_gap_registers: [
      "Merge gap (registers)",
      "registers",
      "Automatic blocks: neighbours this close are read in one request.",
    ],
    max_gap_bits: ["Merge gap (bits)", "bits"],
    backoff_initial_ms: [
      "First reconnect delay",
      "ms",
      "Wait before the first reconnect; doubles up to the maximum.",
    ],
    backoff_max_ms: ["Longest reconnect delay", "ms"],
    demote_after_timeouts: [
      "Demote after timeouts",
      "timeouts",
      "Timeouts in a row after which a device is skipped for a while.",
    ],
    demote_for_ms: [
      "Demotion time",
      "ms",
      "How long a demoted device is skipped before one probe.",
    ],
    memory_max: [
      "Memory limit",
      undefined,
      "systemd MemoryMax of the app, e.g. 256M; empty = none.",
    ],
    cpu_quota: ["CPU quota", undefined, "systemd CPUQuota of the app, e.g. 50%; empty = none."],
  },
  northbound: {
    north_id: [
      "Northbound id",
      undefined,
      "Lower-case letters, digits, - and _; names the app (ne-north).",
    ],
    kind: ["Kind", undefined, "mqtt (JSON per tag or batch) or sparkplug (Sparkplug B)."],
    broker_urls: [
      "Brokers",
      undefined,
      "mqtt:// or mqtts:// URLs, separated by spaces or commas, tried in order.",
    ],
    client_id: ["Client id", undefined, "MQTT client id; empty = nodi-edge-{gateway}-{north_id}."],
    username: ["User name", undefined, "MQTT user name; empty = none."],
    password: ["Password", undefined, "MQTT password; never shown again once stored."],
    tls_ca_file: [
      "TLS CA file",
      undefined,
      "PEM file of the CA that signed the broker's certificate.",
    ],
    tls_cert_file: [
      "TLS client certificate",
      undefined,
      "PEM file, for mqtts:// with client auth.",
    ],
    tls_key_file: ["TLS client key", undefined, "PEM file of the client certificate's key."],
    keepalive_s: ["Keep-alive", "s", "MQTT keep-alive (MQTT 3.1.1 §3.1.2.10)."],
    gateway: [
      "Gateway name",
      undefined,
      "The gateway's name in topics ({gateway}); empty = host name.",
    ],
    tag_selection: [
      "Tag selection",
      undefined,
      "Tag path globs separated by spaces or commas; /** = every data tag.",
    ],
    min_interval_ms: [
      "Minimum interval",
      "ms",
      "At most one update per tag per this many ms (0 = every change).",
    ],
    refresh_interval_ms: [
      "Refresh interval",
      "ms",
      "Re-publish every selected tag's value this often (0 = never).",
    ],
    buffer_max_mib: [
      "Buffer size",
      "MiB",
      "Store-and-forward buffer on disk; oldest dropped when full.",
    ],
    buffer_max_age_s: ["Buffer age", "s", "Buffered messages older than this are dropped."],
    writes_enabled: [
      "Writes from the north",
      undefined,
      "Accept writes (…/set, DCMD) for read-write tags.",
    ],
    topic_template: [
      "Topic template",
      undefined,
      "MQTT topic per tag, e.g. nodi-edge/{gateway}/{conn_id}/{tag}.",
    ],
    qos: ["QoS", undefined, "MQTT quality of service: 0, 1 or 2."],
    retain: ["Retain", undefined, "Publish with the MQTT retain flag."],
    payload_layout: [
      "Payload layout",
      undefined,
      "tag: one message per tag update; batch: one per batch.",
    ],
    group_id: ["Group id (Sparkplug)"],
    edge_node_id: ["Edge node id (Sparkplug)", undefined, "Empty = the gateway name."],
    primary_host_id: [
      "Primary host id (Sparkplug)",
      undefined,
      "Publish only while this host is online; empty = always.",
    ],
    memory_max: [
      "Memory limit",
      undefined,
      "systemd MemoryMax of the app, e.g. 256M; empty = none.",
    ],
    cpu_quota: ["CPU quota", undefined, "systemd CPUQuota of the app, e.g. 50%; empty = none."],
  },
  device: {
    device: ["Device", undefined, "Name of the device on the link; its tags are {device}/{tag}."],
    profile: ["Profile", undefined, "A device profile whose blocks and tags it gets."],
  },
  block: {
    block_id: ["Block id"],
    count: ["Count", "registers or bits", "How many registers (or bits) one poll reads."],
    period_ms: ["Poll period", "ms", "Empty: on demand / write-only."],
    phase_ms: ["Phase", "ms", "Offset of the first poll (spreads blocks); empty = automatic."],
    mode: ["Mode (OPC UA)", undefined, "subscribe (default) or poll."],
  },
  tag: {
    tag_name: ["Tag name", undefined, "Names the tag /{conn}/{tag} on the tag bus."],
    block_id: [
      "Block",
      undefined,
      "The block that reads it; empty = an automatic tag (table and scan time).",
    ],
    scan_ms: ["Scan time", "ms", "Automatic tags: how often it is read."],
    address: ["Address", undefined, "Register or bit address, in the connection's address base."],
    data_type: ["Data type"],
    bit: ["Bit", undefined, "Bit of a register (0–15) for a bit tag."],
    length: ["Length", "registers", "Strings: registers read."],
    array_length: [
      "Array length",
      "elements",
      "Array tags: consecutive elements of the data type, published as one array value; empty = one value.",
    ],
    byte_order: [
      "Byte order",
      undefined,
      "Order of bytes and words of multi-register values (ABCD = big-endian).",
    ],
    scale: ["Scale", undefined, "value = raw × scale + offset."],
    offset: ["Offset"],
    deadband: [
      "Deadband",
      undefined,
      "Publish only changes larger than this (in engineering units).",
    ],
    access: ["Access", undefined, "read or read-write (writable from the UI and the API)."],
    unit: ["Unit", undefined, "Engineering unit shown with the value, e.g. °C."],
    node_id: ["Node id (OPC UA)", undefined, "e.g. ns=2;s=Machine.Speed"],
    sampling_interval_ms: ["Sampling interval (OPC UA)", "ms"],
    queue_size: ["Queue size (OPC UA)", "values"],
  },
};

/** The human text of `entity`.`field`, or undefined when none is written. */
export function fieldText(entity: Entity, field: string): FieldText | undefined {
  const t = BY_ENTITY[entity]?.[field] ?? COMMON[field];
  if (!t) return undefined;
  const [label, unit, help] = t;
  return { label, ...(unit ? { unit } : {}), ...(help ? { help } : {}) };
}
