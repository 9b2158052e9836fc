import { systemTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { parseRestartCounts, RESTARTS_TAG } from "../intf/exit-report.ts";
import {
  HEALTH_INTERVAL_MS,
  HEALTH_TAGS,
  type IntfHealth,
  type LastError,
  parseHealth,
} from "../intf/health.ts";
import type { Connection } from "../store/schema.ts";
import { silenceMs, silentAfterMs } from "./health-silence.ts";
import {
  SERVICE_TAG,
  type ServiceTagValue,
  SUPERVISOR_STATE_PATH,
  type SupervisorStateValue,
} from "./service-tags.ts";

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
  /**
   * FSM state of the app (`EXECUTE`, `RECOVER`, …), `stopped` when it is not running,
   * `unknown` before it published, `silent` when its process runs (or nobody says it does not)
   * but its health report is older than {@link INTF_HEALTH_SILENT_MS} (hung, frozen, cut off
   * from Redis): its last figures are then not current.
   */
  state: string;
  /**
   * Why the app is in that state (e.g. `ECONNREFUSED`), when it said; when `silent`, `no
   * health for 25s (last: EXECUTE)`: how old the report is and the state it last published.
   */
  reason: string | null;
  /** Service manager state of the process (`active`, `failed`, …), `null` when unknown. */
  service: string | null;
  pid: number | null;
  /** ms since the current process started, `null` when not running. */
  uptime_ms: number | null;
  /**
   * Last poll that returned good values, ms since the epoch, `null` when none, as of the app's
   * last health report ({@link reported_at}): the app reports it every `HEALTH_INTERVAL_MS`
   * (5 s), so a block polled every 100 ms has polled again since.
   */
  last_good_poll: number | null;
  /**
   * When the app made the health report that {@link last_good_poll}, the counters and
   * {@link devices} come from (the `health` tag's `ts`), ms since the epoch; `null` when none.
   */
  reported_at: number | null;
  /**
   * Device and link error counters of the app, as it reports them: `read`, `write` (failed at
   * the device or on the link), `connect`, `reload` (refused reloads). Refused user writes
   * are not among them ({@link writes_refused}).
   */
  errors: Record<string, number>;
  /** Sum of {@link errors}. */
  error_total: number;
  /** Writes refused before anything was sent (unknown tag, read-only, bad value): the request's fault. */
  writes_refused: number;
  /**
   * Restarts after an end the app did not ask for (a crash, a signal, out of memory, exit
   * 64/69), from `/system/{id}/restarts`; before the first such record, the service
   * manager's count of automatic restarts.
   */
  restarts: number;
  /** Restarts the app asked for (exit 75: its connection settings changed), apart from {@link restarts}. */
  restarts_requested: number;
  /**
   * While the app is not in `EXECUTE`: the last error it recorded since it started, as
   * `where: message` (e.g. `connect: cannot open /dev/ttyUSB0: No such file or directory`),
   * from `/system/{id}/last_error`; else `null`.
   */
  cause: string | null;
  /**
   * On a connection with several devices on its link (issue 14): one entry per device, from
   * the app's health (`devices`); absent otherwise.
   */
  devices?: DeviceStatus[];
}

/** One device of a multi-device link in {@link ConnStatus.devices}. */
export interface DeviceStatus {
  /** The device name; `""` for the connection's default device (its `unit_id`). */
  device: string;
  unit_id: number | null;
  /** `ok`, or `demoted` (auto-demotion: its requests skipped until `demoted_until`, then a probe). */
  state: "ok" | "demoted";
  /** Last successful read of the device, ms since the epoch, `null` when none. */
  last_good_poll: number | null;
  /** Failed reads of the device's blocks. */
  errors: number;
  last_error_reason: string | null;
  demotions: number;
  /** End of the demotion period, ms since the epoch, `null` when `ok`. */
  demoted_until: number | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

/**
 * A health report of an interface app older than this while its process runs means the app
 * stopped reporting (hung, frozen, its event loop blocked, cut off from Redis), ms: the rule
 * of every app's health ({@link silentAfterMs}: three missed 5 s periods plus 5 s).
 */
export const INTF_HEALTH_SILENT_MS = silentAfterMs(HEALTH_INTERVAL_MS);

/** The reason of a silent app's row: `no health for 25s (last: EXECUTE)`. */
export function silentReason(silentMs: number, lastState: unknown): string {
  return `no health for ${formatDuration(silentMs)} (last: ${typeof lastState === "string" ? lastState : "?"})`;
}

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

/** A tag whose value is a JSON object string, parsed; `{}` when absent or not JSON. */
function parseJsonObject<T>(v: TagValue | undefined): Partial<T> {
  if (!v || typeof v.value !== "string") return {};
  try {
    const j: unknown = JSON.parse(v.value);
    return j && typeof j === "object" ? (j as Partial<T>) : {};
  } catch {
    return {};
  }
}

/** The cause of a state other than EXECUTE: the last error of the current process. */
function causeOf(
  state: string,
  lastError: TagValue | undefined,
  h: IntfHealth | undefined,
): string | null {
  if (state === "EXECUTE") return null;
  const e = parseJsonObject<LastError>(lastError);
  if (typeof e.message !== "string" || e.message === "") return null;
  if (h && typeof e.at === "number" && e.at < h.startedAt) return null; // an earlier process's
  return e.where ? `${e.where}: ${e.message}` : e.message;
}

/** The supervisor's `/system/{id}/service` value, `{}` when absent or not JSON. */
export function parseService(v: TagValue | undefined): Partial<ServiceTagValue> {
  return parseJsonObject<ServiceTagValue>(v);
}

/**
 * Builds the status rows of `connections` from the current values of `/system/…` tags
 * (`TagBus.list("/system/")`). An app whose process is not known to have stopped and whose
 * last report (health or state, whichever is newer) is older than
 * {@link INTF_HEALTH_SILENT_MS} is `silent` ({@link ConnStatus.state}), unless it last said
 * `STOP` (it was ending). Pure; `now` in ms since the epoch.
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
    const healthTag = byPath.get(systemTagPath(id, HEALTH_TAGS.health));
    const health = parseHealth(healthTag?.value);
    const svc = parseService(byPath.get(systemTagPath(id, SERVICE_TAG)));
    const running = svc.state === "active";
    const errors = errorsOf(health);
    let state = stateTag && typeof stateTag.value === "string" ? stateTag.value : "unknown";
    const stopped = !!svc.state && svc.state !== "active" && svc.state !== "activating";
    if (stopped) state = "stopped";
    let reason = stateTag?.reason || health?.stateReason || null;
    const cause = causeOf(state, byPath.get(systemTagPath(id, HEALTH_TAGS.lastError)), health);
    // health is republished every 5 s and on every state change (src/intf/health.ts)
    const lastReport = Math.max(stateTag?.ts ?? 0, healthTag?.ts ?? 0);
    const silent =
      stopped || state === "STOP" ? null : silenceMs(lastReport, now, HEALTH_INTERVAL_MS);
    if (silent !== null) {
      reason = silentReason(silent, stateTag?.value);
      state = "silent";
    }
    const since = num(svc.since) ?? health?.startedAt ?? null;
    const counted = parseRestartCounts(byPath.get(systemTagPath(id, RESTARTS_TAG))?.value);
    return {
      app: "ne-intf",
      conn_id: id,
      protocol: c.protocol,
      enabled: c.enabled,
      state,
      reason,
      service: svc.state ?? null,
      pid: running ? (num(svc.pid) ?? null) : null,
      uptime_ms: since !== null && (running || !svc.state) ? Math.max(0, now - since) : null,
      last_good_poll: health?.lastGoodPoll ?? null,
      reported_at: health && healthTag ? healthTag.ts : null,
      errors,
      error_total: Object.values(errors).reduce((a, b) => a + b, 0),
      writes_refused: health?.counters.writesRefused ?? 0,
      restarts: counted ? counted.failure : (num(svc.restarts) ?? 0),
      restarts_requested: counted?.requested ?? 0,
      cause,
      ...(health?.devices
        ? {
            devices: Object.entries(health.devices).map(
              ([device, d]): DeviceStatus => ({
                device,
                unit_id: d.unitId,
                state: d.state,
                last_good_poll: d.lastGood,
                errors: d.errors,
                last_error_reason: d.lastErrorReason,
                demotions: d.demotions,
                demoted_until: d.demotedUntil,
              }),
            ),
          }
        : {}),
    };
  });
}

/**
 * The cells of a device row under its connection's row in `nodi-edge status`: the device as
 * `{conn_id}/{device}` (`{conn_id}/(default)` for the default device), `unit N` as protocol,
 * its state, the demotion or the last error as reason, last good poll and errors.
 */
export function deviceStatusCells(r: ConnStatus, d: DeviceStatus, now: number): string[] {
  const reason =
    d.state === "demoted" && d.demoted_until !== null
      ? `demoted, probe in ${formatDuration(Math.max(0, d.demoted_until - now))}`
      : (d.last_error_reason ?? "");
  return [
    `${r.conn_id}/${d.device === "" ? "(default)" : d.device}`,
    `unit ${d.unit_id ?? "?"}`,
    d.state,
    reason,
    "",
    goodPollCell(d.last_good_poll, now),
    d.demotions > 0 ? `${d.errors} (demoted ${d.demotions}×)` : String(d.errors),
    "",
    "",
    "",
  ];
}

/**
 * The "last good poll" cell: an upper bound of the time since the last good poll,
 * `now - lastGood` rounded up (`≤ 3.1s ago`, `≤ 2m04s ago`), `never` when none. The app
 * reports its last good poll every 5 s (its health report, made at `reportedAt`), so a block
 * polled every 100 ms has polled again since: the poll is at most that old, and may be
 * younger (`--json` has both `last_good_poll` and `reported_at`). Times in ms since the epoch.
 */
export function goodPollCell(lastGood: number | null, now: number): string {
  if (lastGood === null) return "never";
  return `≤ ${formatAgeBound(Math.max(0, now - lastGood))} ago`;
}

/**
 * A duration rounded UP to what is shown, so that it stays an upper bound: `0.1s` … `59.9s`
 * (tenths; at least `0.1s`), then as {@link formatDuration} (`1m00s`, `1h02m`, `2d03h`) with
 * its last unit rounded up. `ms` ≥ 0.
 */
export function formatAgeBound(ms: number): string {
  if (ms <= 59_900) return `${(Math.max(1, Math.ceil(ms / 100)) / 10).toFixed(1)}s`;
  const s = Math.ceil(ms / 1000);
  if (s < 3600) return formatDuration(s * 1000);
  const m = Math.ceil(ms / 60_000);
  if (m < 48 * 60) return formatDuration(m * 60_000);
  return formatDuration(Math.ceil(ms / 3_600_000) * 3_600_000);
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

/** What the TagBus says about the supervisor ({@link SUPERVISOR_STATE_PATH}). */
export interface SupervisorSeen {
  /** `never`: no supervisor has published on this TagBus; `silent`: its `running` is stale. */
  state: "running" | "stopped" | "silent" | "never";
  /** When it last published, ms since the epoch. */
  ts?: number;
  manager?: string;
}

/** Reads the supervisor's state tag from the `/system/…` values. Pure; `now` ms since the epoch. */
export function supervisorSeen(systemTags: readonly TagValue[], now: number): SupervisorSeen {
  const v = systemTags.find((t) => t.path === SUPERVISOR_STATE_PATH);
  if (!v) return { state: "never" };
  const s = parseJsonObject<SupervisorStateValue>(v);
  const base = { ts: v.ts, ...(s.manager ? { manager: s.manager } : {}) };
  if (s.state === "stopped") return { state: "stopped", ...base };
  // Three refreshes missed (and 5 s for a loaded machine): it no longer runs.
  if (silenceMs(v.ts, now, num(s.interval_ms) ?? 10_000) !== null)
    return { state: "silent", ...base };
  return { state: "running", ...base };
}

/**
 * A line for `nodi-edge status` when no supervisor runs, or `undefined` when one does:
 * `no supervisor has run on this TagBus (…): start ne-supervisor (systemctl start
 * ne-supervisor)`, `the supervisor stopped 5m00s ago; …`, `the supervisor has not been heard
 * from for 2m00s …`.
 */
export function supervisorHint(
  seen: SupervisorSeen,
  now: number,
  where: string,
): string | undefined {
  const start = "start ne-supervisor (on a gateway: systemctl start ne-supervisor)";
  const ago = seen.ts === undefined ? "" : ` ${formatDuration(Math.max(0, now - seen.ts))} ago`;
  switch (seen.state) {
    case "running":
      return undefined;
    case "never":
      return `no supervisor has run on this TagBus (${where}), so no interface or northbound app runs: ${start}`;
    case "stopped":
      return `the supervisor stopped${ago}; the apps it ran are not supervised: ${start}`;
    case "silent":
      return `the supervisor has not been heard from for${ago.replace(/ ago$/, "")} (killed, or cut off from Redis): ${start}`;
  }
}

/** The cells of one row for the text table of `nodi-edge status`. */
export function statusCells(r: ConnStatus, now: number): string[] {
  return [
    r.conn_id,
    r.protocol,
    r.enabled ? r.state : "disabled",
    r.reason ?? "",
    r.uptime_ms === null ? "-" : formatDuration(r.uptime_ms),
    goodPollCell(r.last_good_poll, now),
    r.error_total === 0
      ? "0"
      : `${r.error_total} (${Object.entries(r.errors)
          .map(([k, v]) => `${k}=${v}`)
          .join(" ")})`,
    String(r.writes_refused),
    r.restarts_requested === 0
      ? String(r.restarts)
      : `${r.restarts} (+${r.restarts_requested} requested)`,
    r.cause ?? "",
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
  "writes refused",
  "restarts",
  "cause",
];
