import type { TagValue } from "../../src/core/tag-value.ts";
import type { Connection, ConnectionConfig } from "../../src/store/schema.ts";

const fmt = (v: TagValue["value"]): string =>
  typeof v === "number"
    ? Number.isInteger(v)
      ? String(v)
      : v.toFixed(2)
    : v === null
      ? "—"
      : String(v);

/**
 * Where a connection's values come from, in words: protocol and address, e.g.
 * `Modbus TCP 127.0.0.1:15020, unit 1` or `Modbus RTU on serial line /tmp/…/tty-meter1
 * (19200 baud 8N2), unit 7`.
 */
export function sourceOf(c: Connection): string {
  const unit = c.unit_id !== null && c.unit_id !== undefined ? `, unit ${c.unit_id}` : "";
  switch (c.protocol) {
    case "modbus-tcp":
      return `Modbus TCP ${c.host}:${c.port}${unit}`;
    case "modbus-rtu-tcp":
      return `Modbus RTU over TCP ${c.host}:${c.port}${unit}`;
    case "modbus-rtu": {
      const parity = (c.parity ?? "none")[0]?.toUpperCase() ?? "N";
      const line = `${c.baud_rate ?? 9600} baud ${c.data_bits ?? 8}${parity}${c.stop_bits ?? 1}`;
      return `Modbus RTU on serial line ${c.serial_device} (${line})${unit}`;
    }
    case "opcua":
      return `OPC UA ${c.endpoint_url}`;
    default:
      return c.protocol;
  }
}

/**
 * The demo's live view: a header saying what is shown, then per connection where its values
 * come from and its app's state, then one line per tag with value, unit, quality and the
 * time since the value last changed (values are published on change). Pure text; the caller
 * clears the screen.
 */
export function renderTable(
  configs: readonly ConnectionConfig[],
  latest: ReadonlyMap<string, TagValue>,
  updates: number,
  now: number,
): string {
  const unitWidth = Math.max(
    4,
    ...configs.flatMap((c) => c.tags.map((t) => (t.unit ?? "").length)),
  );
  const lines: string[] = [
    `Nodi Edge demo — live tag values of ${configs.length} simulated device${configs.length === 1 ? "" : "s"} (${updates} updates received)`,
    "Each device is polled by its own ne-intf app (started by ne-supervisor); the values reach",
    "this view through Redis, the TagBus. Values are published when they change.",
  ];
  const quality = (v: TagValue | undefined): string =>
    v ? (v.reason ? `${v.quality}:${v.reason}` : v.quality) : "";
  const qWidth = Math.max(
    7,
    ...configs.flatMap((c) =>
      c.tags.map((t) => quality(latest.get(`/${c.connection.conn_id}/${t.tag_name}`)).length),
    ),
  );
  for (const c of configs) {
    const id = c.connection.conn_id;
    const st = latest.get(`/system/${id}/state`);
    const state = st ? `${st.value}${st.reason ? ` (${st.reason})` : ""}` : "starting";
    lines.push(
      "",
      `${id} — ${c.connection.description}`,
      `  from ${sourceOf(c.connection)}; app state ${state}`,
    );
    const devices = c.devices ?? [];
    if (devices.length > 0) {
      const profiles = [...new Set(devices.map((d) => d.profile ?? "").filter(Boolean))];
      lines.push(
        `  ${devices.length} devices on the line: ${devices.map((d) => `${d.device} (unit ${d.unit_id})`).join(", ")}${profiles.length > 0 ? `, instances of profile ${profiles.join(", ")}` : ""}`,
      );
    }
    for (const t of shownTags(c)) {
      const v = latest.get(`/${id}/${t.tag_name}`);
      const value = v ? fmt(v.value) : "…";
      const q = quality(v);
      const age = v ? `changed ${((now - v.ts) / 1000).toFixed(1)} s ago` : "";
      lines.push(
        `  ${t.tag_name.padEnd(24)} ${value.padStart(12)} ${(t.unit ?? "").padEnd(unitWidth)}  ${q.padEnd(qWidth)}  ${age}`,
      );
    }
  }
  return lines.join("\n");
}

/** Tags shown per device of a multi-device link (a meter has dozens; `tag watch` shows all). */
const TAGS_PER_DEVICE = 4;

/** The tags of `c` the view shows: all of a single device; the first few of each device. */
function shownTags(c: ConnectionConfig): ConnectionConfig["tags"] {
  const devices = c.devices ?? [];
  if (devices.length === 0) return c.tags;
  const seen = new Map<string, number>();
  return c.tags.filter((t) => {
    const d = t.tag_name.includes("/") ? (t.tag_name.split("/")[0] ?? "") : "";
    const n = seen.get(d) ?? 0;
    seen.set(d, n + 1);
    return n < TAGS_PER_DEVICE;
  });
}

/**
 * What to try while the demo runs: CLI commands against this demo's database and Redis
 * (`env`: its NE_* settings). One line each, with a comment.
 */
export function renderTryNext(
  env: Readonly<Record<string, string>>,
  configs: readonly ConnectionConfig[],
): string {
  const settings = [
    "NE_DB",
    "NE_REDIS_URL",
    ...(env.NE_REDIS_PREFIX !== "ne:" ? ["NE_REDIS_PREFIX"] : []),
  ]
    .map((k) => `${k}=${env[k]}`)
    .join(" ");
  const ids = configs.map((c) => c.connection.conn_id);
  const watched = ids.includes("meter1") ? "meter1" : (ids[0] ?? "line1");
  const writable = configs
    .flatMap((c) => c.tags.filter((t) => t.access === "read-write").map((t) => ({ c, t })))
    .find(({ c }) => c.connection.protocol.startsWith("modbus"));
  const cmd = "npm run -s nodi-edge --";
  const rows: [string, string][] = [
    [`${cmd} status`, "each app: state, last good poll, errors"],
    [`${cmd} tag watch '/${watched}/*'`, "every value update, live"],
    ...(writable
      ? ([
          [
            `${cmd} tag write /${writable.c.connection.conn_id}/${writable.t.tag_name} 1500`,
            "write to the simulated device",
          ],
        ] as [string, string][])
      : []),
    [`${cmd} conn show ${watched}`, "its configuration (from examples/demo/)"],
    ...configs.flatMap((c): [string, string][] => {
      const d = (c.devices ?? []).find((x) => x.profile);
      if (!d) return [];
      return [
        [
          `${cmd} tag watch '/${c.connection.conn_id}/${d.device}/*'`,
          `one meter of the RS-485 line ${c.connection.conn_id}`,
        ],
        [`${cmd} profile show ${d.profile}`, "the profile its devices are instances of"],
      ];
    }),
  ];
  const w = Math.max(...rows.map(([c]) => c.length));
  return [
    "Try in another terminal, in this folder, while the demo runs:",
    `  export ${settings}`,
    ...rows.map(([c, what]) => `  ${c.padEnd(w)}  # ${what}`),
  ].join("\n");
}
