import * as v from "valibot";
import { CONN_ID_RE, RESERVED_IDS } from "../core/paths.ts";

/**
 * A northbound: one target outside the gateway (an MQTT broker, as plain MQTT or as a
 * Sparkplug B 3.0 edge node), run by one `ne-north --north-id=ID` process (DESIGN.md §3,
 * "Northbound apps"). This schema is the contract between the store (table `northbounds`, the
 * CSV file `northbound.csv`, the CLI `nodi-edge north`, the web UI) and the program
 * `ne-north`. Field names are the DB column names and the CSV header names.
 *
 * `north_id` shares the `app_id` space with connections (`/system/{app_id}/…`), so a north id
 * may not equal a conn_id; that rule needs both tables and lives in the store's validation.
 *
 * Which field change restarts the process and which is a hot reload (a Sparkplug rebirth on
 * the same MQTT session) is {@link NORTH_RESTART_FIELDS}.
 */

/** Kinds of northbound. */
export const NORTH_KINDS = ["mqtt", "sparkplug"] as const;
export type NorthKind = (typeof NORTH_KINDS)[number];

/** Payload layouts of `kind = mqtt`: one JSON message per tag update, or one per published batch. */
export const PAYLOAD_LAYOUTS = ["tag", "batch"] as const;
export type PayloadLayout = (typeof PAYLOAD_LAYOUTS)[number];

/** Placeholders a `topic_template` may use. `{tag}` is the tag name (with its `/` segments). */
export const TOPIC_PLACEHOLDERS = ["gateway", "conn_id", "device", "tag", "north_id"] as const;

const BROKER_URL_RE = /^mqtts?:\/\/([^\s/:@[\]]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?\/?$/;

/** True for `mqtt://HOST[:PORT]` or `mqtts://HOST[:PORT]` with a port of 1–65535. */
export function isBrokerUrl(url: string): boolean {
  const m = BROKER_URL_RE.exec(url);
  if (!m) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65535);
}

/** Splits a list field (`broker_urls`, `tag_selection`): items separated by spaces or commas. */
export function splitList(s: string): string[] {
  return s.split(/[\s,]+/).filter((x) => x.length > 0);
}

/** The placeholders of a topic template that are not in {@link TOPIC_PLACEHOLDERS}. */
export function unknownPlaceholders(template: string): string[] {
  const known = new Set<string>(TOPIC_PLACEHOLDERS);
  return [...template.matchAll(/\{([^}]*)\}/g)].map((m) => m[1]!).filter((p) => !known.has(p));
}

const int = (min: number, max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.integer("must be a whole number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
const num = (min: number, max: number) =>
  v.pipe(
    v.number("must be a number"),
    v.minValue(min, `must be at least ${min}`),
    v.maxValue(max, `must be at most ${max}`),
  );
const path = (label: string) =>
  v.nullish(v.pipe(v.string(), v.startsWith("/", `${label} must be an absolute path`)));
/** Sparkplug B topic ids may not contain `/`, `+` or `#` (Sparkplug 3.0 §4.1.1). */
const sparkplugId = (label: string) =>
  v.nullish(
    v.pipe(
      v.string(),
      v.regex(/^[^/+#\s]{1,64}$/, `${label} must be 1–64 characters without / + # or spaces`),
    ),
  );

/** One northbound row. */
export const NorthboundSchema = v.object({
  north_id: v.pipe(
    v.string(),
    v.regex(CONN_ID_RE, "north_id must match ^[a-z0-9][a-z0-9_-]{0,62}$"),
    v.check((s) => !RESERVED_IDS.has(s), 'north_id "system" and "supervisor" are reserved'),
  ),
  kind: v.picklist(NORTH_KINDS, `kind must be one of ${NORTH_KINDS.join(", ")}`),
  enabled: v.optional(v.boolean(), true),
  description: v.optional(v.string(), ""),
  /** One or more `mqtt://` / `mqtts://` URLs separated by spaces or commas, tried in order (one server at a time). */
  broker_urls: v.pipe(
    v.string(),
    v.check((s) => splitList(s).length > 0, "broker_urls must name at least one broker"),
    v.check(
      (s) => splitList(s).every(isBrokerUrl),
      "broker_urls must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (port 1–65535)",
    ),
  ),
  /** MQTT client id; default `nodi-edge-{gateway}-{north_id}`. */
  client_id: v.nullish(v.pipe(v.string(), v.minLength(1), v.maxLength(128))),
  username: v.nullish(v.string()),
  /** Never printed by `show`/`export`, never logged. */
  password: v.nullish(v.string()),
  /** PEM files for `mqtts://`: the CA that signed the broker's certificate, a client certificate and key. */
  tls_ca_file: path("tls_ca_file"),
  tls_cert_file: path("tls_cert_file"),
  tls_key_file: path("tls_key_file"),
  /** MQTT keep-alive, s (MQTT 3.1.1 §3.1.2.10). */
  keepalive_s: v.optional(int(5, 65535), 30),
  /** The gateway's name in topics (`{gateway}`); default the host name. */
  gateway: v.nullish(
    v.pipe(
      v.string(),
      v.regex(/^[^/+#\s]{1,64}$/, "gateway must be 1–64 characters without / + # or spaces"),
    ),
  ),
  /** Tag path globs (core/paths.ts `matchesPattern`) separated by spaces or commas; default every data tag. */
  tag_selection: v.optional(v.string(), "/**"),
  /** Report by exception, with each tag's deadband; at most one update per tag per this many ms (0 = every change). */
  min_interval_ms: v.optional(int(0, 3_600_000), 0),
  /** Re-publish every selected tag's current value this often, ms (0 = never). */
  refresh_interval_ms: v.optional(int(0, 86_400_000), 0),
  /** On-disk store-and-forward buffer, MiB and age (s); the oldest are dropped, counted, when over either. */
  buffer_max_mib: v.optional(num(1, 1_048_576), 256),
  buffer_max_age_s: v.optional(int(60, 31_536_000), 7 * 86_400),
  /** Accept writes from the north (`…/set`, DCMD) for read-write tags. Off by default. */
  writes_enabled: v.optional(v.boolean(), false),
  // kind = mqtt
  topic_template: v.optional(
    v.pipe(
      v.string(),
      v.minLength(1, "topic_template must not be empty"),
      v.check((s) => !/[+#]/.test(s), "topic_template must not contain the MQTT wildcards + or #"),
      v.check(
        (s) => unknownPlaceholders(s).length === 0,
        `topic_template may only use the placeholders ${TOPIC_PLACEHOLDERS.map((p) => `{${p}}`).join(", ")}`,
      ),
    ),
    "nodi-edge/{gateway}/{conn_id}/{tag}",
  ),
  qos: v.optional(v.picklist([0, 1, 2], "qos must be 0, 1 or 2"), 1),
  retain: v.optional(v.boolean(), false),
  payload_layout: v.optional(
    v.picklist(PAYLOAD_LAYOUTS, `payload_layout must be one of ${PAYLOAD_LAYOUTS.join(", ")}`),
    "tag",
  ),
  // kind = sparkplug
  group_id: sparkplugId("group_id"),
  /** Sparkplug edge node id; default the gateway name. */
  edge_node_id: sparkplugId("edge_node_id"),
  primary_host_id: sparkplugId("primary_host_id"),
  // Service limits (systemd drop-in), as for connections
  memory_max: v.nullish(
    v.pipe(v.string(), v.regex(/^\d+[KMG]?$/, "memory_max must look like 64M")),
  ),
  cpu_quota: v.nullish(v.pipe(v.string(), v.regex(/^\d+%$/, "cpu_quota must look like 50%"))),
});
export type Northbound = v.InferOutput<typeof NorthboundSchema>;
export type NorthboundInput = v.InferInput<typeof NorthboundSchema>;

/**
 * Fields whose change restarts `ne-north` (a new MQTT session: broker, identity, TLS, service
 * limits). A change of any other field is a hot reload that keeps the session (for Sparkplug,
 * a rebirth).
 */
export const NORTH_RESTART_FIELDS: ReadonlySet<keyof Northbound> = new Set([
  "kind",
  "broker_urls",
  "client_id",
  "username",
  "password",
  "tls_ca_file",
  "tls_cert_file",
  "tls_key_file",
  "keepalive_s",
  "gateway",
  "group_id",
  "edge_node_id",
  "primary_host_id",
  "memory_max",
  "cpu_quota",
]);

/** Fields that hold secrets: left out of `show`/`export` and logs. */
export const NORTH_SECRET_FIELDS: ReadonlySet<keyof Northbound> = new Set(["password"]);
