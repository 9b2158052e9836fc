import { systemTagPath } from "../core/paths.ts";
import type { TagSample } from "../core/tag-value.ts";

/**
 * The health tags of a northbound app, under `/system/{north_id}/` (docs/north.md "Health"),
 * read by `nodi-edge status` and the web UI.
 */
export const NORTH_HEALTH_TAGS = {
  /** Life-cycle state `INIT` … `STOP` (string), reason = why. */
  state: "state",
  /** `true` while an MQTT session is up (boolean). */
  brokerConnected: "broker_connected",
  /** Updates waiting in the on-disk buffer (number). */
  buffered: "buffered",
  /** Age of the oldest buffered update by its source timestamp, ms (number; 0 when empty). */
  oldestBufferedAgeMs: "oldest_buffered_age_ms",
  /** Updates dropped by the buffer caps since the buffer file was created (number). */
  dropped: "dropped",
  /** Messages published per second over the last health period (number). */
  msgsPerS: "msgs_per_s",
  /** Updates lost upstream of us (TagBus gaps) since start (number). */
  busGaps: "bus_gaps",
  /** JSON `{at, kind, reason, message}` of the last error; absent until one happened. */
  lastError: "last_error",
} as const;

/** Period of the health tags, ms. */
export const NORTH_HEALTH_INTERVAL_MS = 5000;

/** A snapshot of a northbound app's health. */
export interface NorthHealth {
  state: string;
  stateReason: string;
  brokerConnected: boolean;
  /** The broker URL of the current (or last) session. */
  broker: string | undefined;
  buffered: number;
  oldestBufferedAgeMs: number;
  dropped: number;
  msgsPerS: number;
  busGaps: number;
}

/** The health tags of `h` as samples for `/system/{northId}/…` (`last_error` separately). */
export function healthSamples(northId: string, h: NorthHealth, ts: number): TagSample[] {
  const p = (name: string) => systemTagPath(northId, name);
  return [
    {
      path: p(NORTH_HEALTH_TAGS.state),
      value: h.state,
      quality: "good",
      reason: h.stateReason,
      ts,
    },
    { path: p(NORTH_HEALTH_TAGS.brokerConnected), value: h.brokerConnected, quality: "good", ts },
    { path: p(NORTH_HEALTH_TAGS.buffered), value: h.buffered, quality: "good", ts },
    {
      path: p(NORTH_HEALTH_TAGS.oldestBufferedAgeMs),
      value: h.oldestBufferedAgeMs,
      quality: "good",
      ts,
    },
    { path: p(NORTH_HEALTH_TAGS.dropped), value: h.dropped, quality: "good", ts },
    { path: p(NORTH_HEALTH_TAGS.msgsPerS), value: h.msgsPerS, quality: "good", ts },
    { path: p(NORTH_HEALTH_TAGS.busGaps), value: h.busGaps, quality: "good", ts },
  ];
}

/** The `last_error` sample. */
export function lastErrorSample(
  northId: string,
  err: { at: number; kind: string; reason: string; message: string },
): TagSample {
  return {
    path: systemTagPath(northId, NORTH_HEALTH_TAGS.lastError),
    value: JSON.stringify(err),
    quality: "good",
    ts: err.at,
  };
}
