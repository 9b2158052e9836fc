import * as v from "valibot";
import {
  NORTH_SECRET_FIELDS,
  type Northbound,
  NorthboundSchema,
  splitList,
} from "./northbound-schema.ts";
import {
  type ConfigIssue,
  controlCharIssues,
  idTwins,
  normalize,
  rowKeys,
  shown,
} from "./validate.ts";

/** The outcome of {@link validateNorthbounds}: never throws on bad input. */
export type NorthValidationResult =
  | { ok: true; value: Northbound[] }
  | { ok: false; issues: ConfigIssue[] };

/** Fields of `kind = sparkplug` only (a value on a `kind = mqtt` row is refused). */
export const SPARKPLUG_FIELDS = ["group_id", "edge_node_id", "primary_host_id"] as const;
const TLS_FIELDS = ["tls_ca_file", "tls_cert_file", "tls_key_file"] as const;
/** Fields of `kind = mqtt` only (they have defaults, so they are ignored, not refused, for sparkplug). */
export const MQTT_FIELDS = ["topic_template", "qos", "retain", "payload_layout"] as const;

/** The kinds each kind-specific field applies to (for forms; fields not listed apply to all). */
export const NORTH_KIND_FIELDS: Record<string, readonly string[]> = Object.fromEntries([
  ...SPARKPLUG_FIELDS.map((f) => [f, ["sparkplug"]] as const),
  ...MQTT_FIELDS.map((f) => [f, ["mqtt"]] as const),
]);

const set = (x: unknown) => x !== null && x !== undefined && x !== "";

/**
 * Validates northbound rows (unparsed, e.g. from `northbound.csv` or a web form): each row
 * against `NorthboundSchema` (northbound-schema.ts), then the rules that need several fields
 * or rows. Reports every issue (entity `northbound`, `index` = position in `rows`). Rules:
 *
 * - unique `north_id`, and not the id of a connection (`connIds`): both name the app
 *   (`/system/{app_id}/…`, `ne-intf@ID` / `ne-north@ID`);
 * - `kind = sparkplug` needs `group_id` (Sparkplug 3.0 §4.1.1: the topic's `group_id`);
 *   `group_id`, `edge_node_id`, `primary_host_id` are for `kind = sparkplug` only;
 * - TLS files (`tls_ca_file`, `tls_cert_file`, `tls_key_file`) need an `mqtts://` broker URL;
 *   a client key needs its certificate and a certificate its key;
 * - `password` needs `username` (MQTT 3.1.1 §3.1.2.9: no password flag without the user name flag);
 * - each `tag_selection` item is a path pattern starting with `/` (core/paths.ts `matchesPattern`).
 */
export function validateNorthbounds(
  rows: readonly unknown[],
  connIds: ReadonlySet<string> = new Set(),
): NorthValidationResult {
  const issues: ConfigIssue[] = [];
  const add = (index: number, key: string, field: string, message: string, got?: unknown) => {
    issues.push({ entity: "northbound", index, key, field, message, got });
  };
  const parsed = rows.map((row, index) => {
    const rec = row && typeof row === "object" ? (row as Record<string, unknown>) : {};
    const key = typeof rec.north_id === "string" ? rec.north_id : "";
    const ctl = controlCharIssues("northbound", row); // NUL, ESC, BEL…: as for connections
    for (const c of ctl) add(index, key, c.field, c.message);
    const r = v.safeParse(NorthboundSchema, row);
    if (r.success) {
      return ctl.length === 0 ? normalize<Northbound>("northbound", r.output as object) : undefined;
    }
    for (const i of r.issues) {
      const field = (i.path?.[0]?.key as string | undefined) ?? "(row)";
      if (ctl.some((c) => c.field === field)) continue;
      const msg = i.message.startsWith(field) ? i.message : `${field} ${i.message}`;
      if (NORTH_SECRET_FIELDS.has(field as keyof Northbound)) {
        add(index, key, field, `${field} must be text (its value is a secret, not shown)`);
      } else add(index, key, field, `${msg}, got ${shown(i.input)}`, i.input);
    }
    return undefined;
  });

  // Over every row whose north_id is valid, one failing elsewhere included: all told at once.
  const twin = idTwins(rowKeys("northbound", NorthboundSchema, rows, ["north_id"]), parsed);
  const dup = (i: number, k: string) =>
    add(i, k, "north_id", `duplicate north_id "${k}": each northbound once`, k);
  parsed.forEach((n, i) => {
    if (!n) {
      if (twin[i]!.duplicate) dup(i, String((rows[i] as Record<string, unknown>).north_id));
      return;
    }
    const k = n.north_id;
    if (twin[i]!.duplicate) dup(i, k);
    if (!twin[i]!.holds) return;
    if (connIds.has(k)) {
      add(
        i,
        k,
        "north_id",
        `north_id "${k}" is already a connection's conn_id: apps share one id space (/system/{id}/…)`,
        k,
      );
    }
    if (n.kind === "sparkplug" && !set(n.group_id)) {
      add(i, k, "group_id", "group_id is required for kind sparkplug, got empty");
    }
    if (n.kind !== "sparkplug") {
      for (const f of SPARKPLUG_FIELDS) {
        if (set(n[f])) {
          add(i, k, f, `${f} is for kind sparkplug only; leave it empty, got ${shown(n[f])}`, n[f]);
        }
      }
    }
    const tls = splitList(n.broker_urls).some((u) => u.startsWith("mqtts://"));
    for (const f of TLS_FIELDS) {
      if (set(n[f]) && !tls) {
        add(i, k, f, `${f} needs an mqtts:// broker URL; broker_urls has none`, n[f]);
      }
    }
    if (set(n.tls_key_file) && !set(n.tls_cert_file)) {
      add(i, k, "tls_cert_file", "tls_cert_file is required with tls_key_file, got empty");
    }
    if (set(n.tls_cert_file) && !set(n.tls_key_file)) {
      add(i, k, "tls_key_file", "tls_key_file is required with tls_cert_file, got empty");
    }
    if (set(n.password) && !set(n.username)) {
      // the value is a secret: never echoed
      add(i, k, "username", "username is required with a password (MQTT 3.1.1 §3.1.2.9)");
    }
    const bad = splitList(n.tag_selection).filter((p) => !p.startsWith("/"));
    if (bad.length > 0 || splitList(n.tag_selection).length === 0) {
      add(
        i,
        k,
        "tag_selection",
        `tag_selection must be path patterns starting with / (e.g. /** or /plc1/*), got ${shown(n.tag_selection)}`,
        n.tag_selection,
      );
    }
  });
  if (issues.length > 0) return { ok: false, issues: issues.sort((a, b) => a.index - b.index) };
  return { ok: true, value: parsed as Northbound[] };
}
