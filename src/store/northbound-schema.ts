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

/** A DNS name (RFC 1123 labels; `_` allowed, as container names have it), an IPv4 address, or `[IPv6]`. */
const HOST = String.raw`(?:[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?|\[[0-9A-Fa-f:.]+\])`;
const BROKER_URL_RE = new RegExp(String.raw`^mqtts?:\/\/(${HOST})(?::(\d{1,5}))?\/?$`);

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

const WHOLE_LEVEL_PLACEHOLDERS = ["conn_id", "device", "tag"] as const;

/**
 * What is wrong with the structure of a topic template, or undefined (also when it has an
 * unknown placeholder or a wildcard: those have their own messages). Every tag must get a
 * topic of its own that a write request can be parsed back from (src/north/mqtt/topics.ts):
 * `{conn_id}` and `{tag}` present, `{conn_id}`, `{device}`, `{tag}` each once and a whole
 * level, a fixed or `{gateway}`/`{north_id}` level before them (the base of `_status`,
 * `_state`, `_gap`), no stray brace, no empty level, not starting with `$` (reserved for the
 * server, MQTT 5.0 §4.7.2), at most 1024 characters.
 */
export function topicTemplateProblem(template: string): string | undefined {
  if (unknownPlaceholders(template).length > 0 || /[+#]/.test(template)) return undefined;
  if (template.length > 1024) return "topic_template must be at most 1024 characters";
  const placeholders = new RegExp(`\\{(${TOPIC_PLACEHOLDERS.join("|")})\\}`, "g");
  if (/[{}]/.test(template.replace(placeholders, "")))
    return "topic_template has a { or } that is not part of a placeholder";
  const levels = template.split("/");
  if (levels.some((l) => l === ""))
    return "topic_template must not have empty levels (a leading, trailing or double /)";
  if (levels[0]!.startsWith("$"))
    return "topic_template must not start with $ (such topics are the broker's, MQTT 5.0 §4.7.2)";
  for (const p of WHOLE_LEVEL_PLACEHOLDERS) {
    const n = template.split(`{${p}}`).length - 1;
    if (n > 1) return `topic_template may hold {${p}} only once`;
    if (n === 1 && !levels.includes(`{${p}}`))
      return `topic_template: {${p}} must be a whole topic level (…/{${p}}/…)`;
  }
  if (!levels.includes("{conn_id}") || !levels.includes("{tag}"))
    return "topic_template must contain {conn_id} and {tag}, so that each tag has its own topic";
  if (WHOLE_LEVEL_PLACEHOLDERS.some((p) => levels[0] === `{${p}}`))
    return "topic_template must start with a fixed level (or {gateway}, {north_id}) before {conn_id}, {device} and {tag}";
  return undefined;
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
      v.regex(
        /^(?!\$)[^/+#\s]{1,64}$/,
        "gateway must be 1–64 characters without / + # or spaces, not starting with $",
      ),
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
      v.rawCheck(({ dataset, addIssue }) => {
        const problem = dataset.typed ? topicTemplateProblem(dataset.value) : undefined;
        if (problem) addIssue({ message: problem });
      }),
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
