import type { TagBusStats } from "../tagbus/tagbus.ts";
import type { TimerStats } from "../timer/periodic-timer.ts";
import type { DeviceHealth } from "./device-demotion.ts";
import type { AppState } from "./fsm.ts";

/**
 * Health of an interface app, published as tags under `/system/{app_id}/` (DESIGN.md §3).
 * Consumers (supervisor, web UI, `nodi-edge status`) read them from the TagBus:
 *
 * | tag | value | quality |
 * |---|---|---|
 * | `/system/{app_id}/state` | the state name, e.g. `"EXECUTE"` ({@link AppState}); `reason` = why | good |
 * | `/system/{app_id}/health` | a JSON string of {@link IntfHealth} | good |
 * | `/system/{app_id}/last_error` | a JSON string of {@link LastError} (`reason` = its reason) | good |
 * | `/system/{app_id}/devices` | on a multi-device link: a JSON string `{"meter3":"ok","meter4":"demoted"}` (`""` = the default device) | good |
 *
 * `devices` is published before `state` on every state change and whenever a device is
 * demoted or promoted; `state` is published on every state change; `health` on every state change and every
 * {@link HEALTH_INTERVAL_MS}; `last_error` when an error is recorded (rate-limited like the log).
 * Parse `health` with {@link parseHealth}.
 */

/** Period of the `health` tag, ms. */
export const HEALTH_INTERVAL_MS = 5000;

/** Names of the health tags under `/system/{app_id}/`. */
export const HEALTH_TAGS = {
  state: "state",
  health: "health",
  lastError: "last_error",
  devices: "devices",
  /** Spans the device refused with exception 02 on generated blocks (JSON array, refused-spans.ts). */
  refusedSpans: "refused_spans",
} as const;

/** Counters since the process started. */
export interface IntfCounters {
  /** Block reads that succeeded. */
  reads: number;
  /** Block reads that failed (any kind). */
  readErrors: number;
  /** Writes that succeeded. */
  writes: number;
  /**
   * Writes that failed at the device or on the link: an exception reply, no reply
   * (outcome unknown), the link down or busy until the writer's deadline.
   */
  writeErrors: number;
  /**
   * Writes refused before anything was sent, as the request's fault: an unknown tag, a
   * read-only tag, a value the tag cannot take (`out_of_range`). Not device errors.
   */
  writesRefused: number;
  /** Successful connects after the first one. */
  reconnects: number;
  /** Connect attempts that failed. */
  connectFailures: number;
  /** Hot reloads applied. */
  reloads: number;
  /** Reloads refused (invalid new configuration). */
  reloadsRefused: number;
  /** Automatic blocks planned again after the device refused a span (exception 02); each is also a reload. */
  replans: number;
  /** Tag samples handed to the bus. */
  samplesPublished: number;
  /**
   * Tag bus stalls warned about: publishing stood still with samples waiting for longer than
   * `BUS_STALL_WARN_MS` (5 s; Redis down or hung). See `bus.stalledMs`.
   */
  busStalls: number;
}

/** The app's TagBus client in {@link IntfHealth}: its counters plus the stall time. */
export interface IntfBusHealth extends TagBusStats {
  /**
   * How long publishing has stood still with samples waiting in the outbox, ms (0 = not
   * stalled); sampled every second (`src/intf/bus-stall.ts`). Absent from apps older than it.
   */
  stalledMs?: number;
}

/** Per-block health: the timer's statistics plus the block's own error state. */
export interface BlockHealth {
  /** `poll` (PeriodicTimer) or `push` (driver subscription). */
  mode: "poll" | "push";
  /** Timer statistics (poll blocks only); times in ms. */
  timer?: TimerStats;
  /** Consecutive failed reads (0 after a success). */
  consecutiveErrors: number;
  /** Epoch ms of the last successful read or push, or null. */
  lastGood: number | null;
  /** Reason of the last failure, or null. */
  lastErrorReason: string | null;
}

/** The JSON carried by `/system/{app_id}/health` (schema version `v` = 1). */
export interface IntfHealth {
  v: 1;
  appId: string;
  pid: number;
  state: AppState;
  stateReason: string;
  /** Epoch ms the process started. */
  startedAt: number;
  /** Epoch ms of the last successful block read of any block, or null. */
  lastGoodPoll: number | null;
  counters: IntfCounters;
  /** By `block_id`. */
  blocks: Record<string, BlockHealth>;
  /**
   * By device name (`""` = the connection's default device), on a connection with named
   * devices (issue 14): state (`ok` / `demoted`), last good poll, errors (device-demotion.ts).
   * Absent on a single-device connection.
   */
  devices?: Record<string, DeviceHealth>;
  /** The app's TagBus client. */
  bus: IntfBusHealth;
  /**
   * The last {@link RECENT_LOGS_MAX} notable log events (state changes, logged errors), oldest
   * first, for UIs without access to journald (the web UI's `health` log source).
   */
  recentLogs: RecentLog[];
}

/** One entry of {@link IntfHealth.recentLogs}. */
export interface RecentLog {
  /** Epoch ms. */
  ts: number;
  level: "info" | "warn" | "error";
  msg: string;
}

/** Entries kept in {@link IntfHealth.recentLogs}. */
export const RECENT_LOGS_MAX = 20;

/** The JSON carried by `/system/{app_id}/last_error`. */
export interface LastError {
  /** Epoch ms. */
  at: number;
  /** NodiError kind (`communication`, `timeout`, …). */
  kind: string;
  /** Short reason (e.g. `ILLEGAL_DATA_ADDRESS`). */
  reason: string;
  message: string;
  /** Where: `connect`, `block:<id>`, `write:<tag>`, `reload`. */
  where: string;
}

/** A zeroed {@link IntfCounters}. */
export function zeroCounters(): IntfCounters {
  return {
    reads: 0,
    readErrors: 0,
    writes: 0,
    writeErrors: 0,
    writesRefused: 0,
    reconnects: 0,
    connectFailures: 0,
    reloads: 0,
    reloadsRefused: 0,
    replans: 0,
    samplesPublished: 0,
    busStalls: 0,
  };
}

/**
 * Parses the value of a `health` tag.
 * @returns the health, or `undefined` when `value` is not a JSON string of schema version 1.
 */
export function parseHealth(value: unknown): IntfHealth | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const h = JSON.parse(value) as IntfHealth;
    return h && h.v === 1 && typeof h.state === "string" ? h : undefined;
  } catch {
    return undefined;
  }
}
