import { systemTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { NORTH_HEALTH_INTERVAL_MS, NORTH_HEALTH_TAGS } from "../north/health.ts";
import { type Northbound, splitList } from "../store/northbound-schema.ts";
import { silenceMs, silentAfterMs } from "./health-silence.ts";
import { SERVICE_TAG } from "./service-tags.ts";
import { formatDuration, parseService, silentReason } from "./status.ts";

/**
 * One northbound row of `nodi-edge status`: a northbound of the SoT joined with the health
 * tags its `ne-north` publishes under `/system/{north_id}/` (src/north/health.ts) and the
 * supervisor's `/system/{north_id}/service`.
 */
export interface NorthStatus {
  /** Marks the row in `--json` output, where it follows the connections' rows. */
  app: "ne-north";
  north_id: string;
  kind: string;
  enabled: boolean;
  /** The broker URLs, as configured. */
  brokers: string[];
  /** Life-cycle state (`EXECUTE`, `RECOVER`, …), `stopped` when not running, `unknown` before it published. */
  state: string;
  reason: string | null;
  /** Service manager state of the process, `null` when unknown. */
  service: string | null;
  pid: number | null;
  uptime_ms: number | null;
  restarts: number;
  /** `null` until the app published it. */
  broker_connected: boolean | null;
  /** Updates in the on-disk buffer. */
  buffered: number | null;
  oldest_buffered_age_ms: number | null;
  /** Updates dropped by the buffer caps (oldest first), since the buffer file was created. */
  dropped: number | null;
  msgs_per_s: number | null;
  /** Updates lost inside the gateway (TagBus gaps), since start. */
  bus_gaps: number | null;
  /** The last error `{at, kind, reason, message}`, `null` when none. */
  last_error: { at: number; kind: string; reason: string; message: string } | null;
}

const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);

function lastError(v: TagValue | undefined): NorthStatus["last_error"] {
  if (!v || typeof v.value !== "string") return null;
  try {
    const j = JSON.parse(v.value) as NorthStatus["last_error"];
    return j && typeof j === "object" && typeof j.message === "string" ? j : null;
  } catch {
    return null;
  }
}

/**
 * Health older than this while the process runs means ne-north stopped publishing (hung,
 * frozen, its event loop blocked), ms: the rule of every app's health ({@link silentAfterMs}:
 * three missed 5 s health periods plus 5 s).
 */
export const NORTH_HEALTH_SILENT_MS = silentAfterMs(NORTH_HEALTH_INTERVAL_MS);

/**
 * Builds the status rows of `northbounds` from the current values of the `/system/…` tags.
 * Values of a stopped app are shown as it last published them, except `state` (`stopped`)
 * and `broker_connected` (false: nothing is connected without a process). A running app
 * whose health is older than {@link NORTH_HEALTH_SILENT_MS} is `silent` with
 * `broker_connected` unknown (null): its last `true` may no longer hold; unless it last said
 * `STOP` (it was ending: no report is due after that one), as for the interface apps. Pure.
 */
export function buildNorthStatus(
  northbounds: readonly Northbound[],
  systemTags: readonly TagValue[],
  now: number,
): NorthStatus[] {
  const byPath = new Map(systemTags.map((v) => [v.path, v]));
  return northbounds.map((n) => {
    const id = n.north_id;
    const tag = (name: string) => byPath.get(systemTagPath(id, name));
    const stateTag = tag(NORTH_HEALTH_TAGS.state);
    const svc = parseService(tag(SERVICE_TAG));
    const running = svc.state === "active";
    const stopped = !!svc.state && svc.state !== "active" && svc.state !== "activating";
    let state = typeof stateTag?.value === "string" ? stateTag.value : "unknown";
    let reason = stateTag?.reason || null;
    if (stopped) state = "stopped";
    // the state and broker_connected are republished every 5 s (src/north/health.ts)
    const healthTs = Math.max(stateTag?.ts ?? 0, tag(NORTH_HEALTH_TAGS.brokerConnected)?.ts ?? 0);
    // an app that last said STOP was ending (it publishes its health once more on the way out,
    // src/north/app.ts shutdown): no later report is due, so it is not silent
    const silentMs =
      stopped || state === "STOP" ? null : silenceMs(healthTs, now, NORTH_HEALTH_INTERVAL_MS);
    const silent = silentMs !== null;
    if (silent) {
      state = "silent";
      reason = silentReason(silentMs, stateTag?.value);
    }
    const since = num(svc.since);
    const connected = tag(NORTH_HEALTH_TAGS.brokerConnected)?.value;
    return {
      app: "ne-north",
      north_id: id,
      kind: n.kind,
      enabled: n.enabled,
      brokers: splitList(n.broker_urls),
      state,
      reason,
      service: svc.state ?? null,
      pid: running ? num(svc.pid) : null,
      uptime_ms: since !== null && running ? Math.max(0, now - since) : null,
      restarts: num(svc.restarts) ?? 0,
      broker_connected: stopped
        ? false
        : silent || typeof connected !== "boolean"
          ? null
          : connected,
      buffered: num(tag(NORTH_HEALTH_TAGS.buffered)?.value),
      oldest_buffered_age_ms: num(tag(NORTH_HEALTH_TAGS.oldestBufferedAgeMs)?.value),
      dropped: num(tag(NORTH_HEALTH_TAGS.dropped)?.value),
      msgs_per_s: num(tag(NORTH_HEALTH_TAGS.msgsPerS)?.value),
      bus_gaps: num(tag(NORTH_HEALTH_TAGS.busGaps)?.value),
      last_error: lastError(tag(NORTH_HEALTH_TAGS.lastError)),
    };
  });
}

/** Header of the northbound table of `nodi-edge status`. */
export const NORTH_STATUS_HEADER = [
  "north_id",
  "kind",
  "state",
  "reason",
  "broker",
  "buffered",
  "dropped",
  "msgs/s",
  "uptime",
  "restarts",
  "last error",
];

/** The cells of one northbound row (`buffered` with the oldest buffered age, e.g. `1200 (oldest 3m05s)`). */
export function northStatusCells(r: NorthStatus, now: number): string[] {
  const n = (v: number | null) => (v === null ? "-" : String(v));
  const buffered =
    r.buffered === null
      ? "-"
      : r.buffered > 0 && r.oldest_buffered_age_ms !== null
        ? `${r.buffered} (oldest ${formatDuration(r.oldest_buffered_age_ms)})`
        : String(r.buffered);
  return [
    r.north_id,
    r.kind,
    r.enabled ? r.state : "disabled",
    r.reason ?? "",
    r.broker_connected === null ? "-" : r.broker_connected ? "connected" : "disconnected",
    buffered,
    n(r.dropped),
    r.msgs_per_s === null ? "-" : String(Math.round(r.msgs_per_s * 10) / 10),
    r.uptime_ms === null ? "-" : formatDuration(r.uptime_ms),
    String(r.restarts),
    r.last_error
      ? `${formatDuration(Math.max(0, now - r.last_error.at))} ago: ${r.last_error.message}`
      : "",
  ];
}
