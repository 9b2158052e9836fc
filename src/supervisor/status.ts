import { systemTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { HEALTH_TAGS, type IntfHealth, parseHealth } from "../intf/health.ts";
import type { Connection } from "../store/schema.ts";
import { SERVICE_TAG, type ServiceTagValue } from "./service-tags.ts";

/**
 * One row of `nodi-edge status`: a connection of the SoT joined with what its app publishes
 * (`/system/{id}/state`, `/system/{id}/health`) and what the supervisor publishes about its
 * process (`/system/{id}/service`).
 */
export interface ConnStatus {
  /** Marks the row in `--json` output (northbound rows, `north-status.ts`, say `ne-north`). */
  app: "ne-intf";
  conn_id: string;
  protocol: string;
  enabled: boolean;
  /** FSM state of the app (`EXECUTE`, `RECOVER`, …), `stopped` when it is not running, `unknown` before it published. */
  state: string;
  /** Why the app is in that state (e.g. `ECONNREFUSED`), when it said. */
  reason: string | null;
  /** Service manager state of the process (`active`, `failed`, …), `null` when unknown. */
  service: string | null;
  pid: number | null;
  /** ms since the current process started, `null` when not running. */
  uptime_ms: number | null;
  /** Last poll that returned good values, ms since the epoch, `null` when none. */
  last_good_poll: number | null;
  /** Error counters of the app (by kind or reason), as it reports them. */
  errors: Record<string, number>;
  /** Sum of {@link errors}. */
  error_total: number;
  /** Automatic restarts counted by the service manager. */
  restarts: number;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/** The app's error counters that are not zero: read, write and connect failures. */
function errorsOf(h: IntfHealth | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  if (!h) return out;
  const c = h.counters;
  if (c.readErrors > 0) out.read = c.readErrors;
  if (c.writeErrors > 0) out.write = c.writeErrors;
  if (c.connectFailures > 0) out.connect = c.connectFailures;
  if (c.reloadsRefused > 0) out.reload = c.reloadsRefused;
  return out;
}

/** The supervisor's `/system/{id}/service` value, `{}` when absent or not JSON. */
export function parseService(v: TagValue | undefined): Partial<ServiceTagValue> {
  if (!v || typeof v.value !== "string") return {};
  try {
    const j: unknown = JSON.parse(v.value);
    return j && typeof j === "object" ? (j as Partial<ServiceTagValue>) : {};
  } catch {
    return {};
  }
}

/**
 * Builds the status rows of `connections` from the current values of `/system/…` tags
 * (`TagBus.list("/system/")`). Pure; `now` in ms since the epoch.
 */
export function buildStatus(
  connections: readonly Connection[],
  systemTags: readonly TagValue[],
  now: number,
): ConnStatus[] {
  const byPath = new Map(systemTags.map((v) => [v.path, v]));
  return connections.map((c) => {
    const id = c.conn_id;
    const stateTag = byPath.get(systemTagPath(id, HEALTH_TAGS.state));
    const health = parseHealth(byPath.get(systemTagPath(id, HEALTH_TAGS.health))?.value);
    const svc = parseService(byPath.get(systemTagPath(id, SERVICE_TAG)));
    const running = svc.state === "active";
    const errors = errorsOf(health);
    let state = stateTag && typeof stateTag.value === "string" ? stateTag.value : "unknown";
    if (svc.state && svc.state !== "active" && svc.state !== "activating") state = "stopped";
    const since = num(svc.since) ?? health?.startedAt ?? null;
    return {
      app: "ne-intf",
      conn_id: id,
      protocol: c.protocol,
      enabled: c.enabled,
      state,
      reason: stateTag?.reason || health?.stateReason || null,
      service: svc.state ?? null,
      pid: running ? (num(svc.pid) ?? null) : null,
      uptime_ms: since !== null && (running || !svc.state) ? Math.max(0, now - since) : null,
      last_good_poll: health?.lastGoodPoll ?? null,
      errors,
      error_total: Object.values(errors).reduce((a, b) => a + b, 0),
      restarts: num(svc.restarts) ?? 0,
    };
  });
}

/** `1h02m`, `3m05s`, `12s`. */
export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, "0")}h`;
}

/** The cells of one row for the text table of `nodi-edge status`. */
export function statusCells(r: ConnStatus, now: number): string[] {
  return [
    r.conn_id,
    r.protocol,
    r.enabled ? r.state : "disabled",
    r.reason ?? "",
    r.uptime_ms === null ? "-" : formatDuration(r.uptime_ms),
    r.last_good_poll === null ? "never" : `${formatDuration(now - r.last_good_poll)} ago`,
    r.error_total === 0
      ? "0"
      : `${r.error_total} (${Object.entries(r.errors)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")})`,
    String(r.restarts),
  ];
}

/** Header of the text table. */
export const STATUS_HEADER = [
  "conn_id",
  "protocol",
  "state",
  "reason",
  "uptime",
  "last good poll",
  "errors",
  "restarts",
];
