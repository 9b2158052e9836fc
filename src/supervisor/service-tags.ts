import type { Logger } from "../core/log.ts";
import { systemTagPath } from "../core/paths.ts";
import type { TagSample } from "../core/tag-value.ts";
import type { TagBus } from "../tagbus/tagbus.ts";
import { APP_TEMPLATES, type InstanceStatus, type ServiceManager } from "./service-manager.ts";

/** Name of the system tag the supervisor publishes per app: `/system/{app_id}/service` (conn_id or north_id). */
export const SERVICE_TAG = "service";

/**
 * The value of `/system/{conn_id}/service` (a JSON string): what the service manager knows
 * about the app's process. `state` is `removed` once the instance is gone.
 */
export interface ServiceTagValue {
  manager: "process" | "systemd";
  state: InstanceStatus["state"] | "removed";
  sub_state: string;
  pid: number | null;
  restarts: number;
  /** Start of the current (or last) process, ms since the epoch. */
  since: number | null;
  last_exit_code: number | null;
}

/**
 * The supervisor's own state tag, `/system/supervisor/state` (a JSON string of
 * {@link SupervisorStateValue}): `running`, re-published on every status refresh (every
 * `interval_ms`), and `stopped` when it stops. `nodi-edge status` tells from it whether a
 * supervisor has run at all and whether it still runs (`supervisorHint` in status.ts).
 */
export const SUPERVISOR_STATE_PATH = systemTagPath("supervisor", "state");

/** The value of {@link SUPERVISOR_STATE_PATH}. */
export interface SupervisorStateValue {
  state: "running" | "stopped";
  pid: number;
  manager: "process" | "systemd";
  /** Period of the `running` refresh, ms: a `running` older than a few periods is stale. */
  interval_ms: number;
}

/** A sample of {@link SUPERVISOR_STATE_PATH}. */
export function supervisorStateSample(
  state: SupervisorStateValue["state"],
  manager: SupervisorStateValue["manager"],
  intervalMs: number,
  now = Date.now(),
): TagSample {
  const value: SupervisorStateValue = {
    state,
    pid: process.pid,
    manager,
    interval_ms: intervalMs,
  };
  return { path: SUPERVISOR_STATE_PATH, value: JSON.stringify(value), quality: "good", ts: now };
}

/** Converts a manager status to the tag value. */
export function serviceTagValue(kind: "process" | "systemd", s: InstanceStatus): ServiceTagValue {
  return {
    manager: kind,
    state: s.state,
    sub_state: s.subState,
    pid: s.pid ?? null,
    restarts: s.restarts,
    since: s.since ?? null,
    last_exit_code: s.lastExitCode ?? null,
  };
}

/**
 * Publishes `/system/{app_id}/service` for every instance of a manager (both templates: the
 * ids share one space), only when it
 * changed, so that `nodi-edge status` (another process) can show restarts and uptime under
 * either manager. The supervisor calls {@link refresh} on a timer and after each change.
 */
export class ServiceTagPublisher {
  private last = new Map<string, string>();

  /**
   * @param heartbeatIntervalMs how often {@link refresh} is called, ms: each call also
   *   publishes the supervisor's `running` state with it ({@link supervisorStateSample}).
   */
  constructor(
    private readonly bus: TagBus,
    private readonly manager: ServiceManager,
    private readonly log: Logger,
    private readonly heartbeatIntervalMs = 2000,
  ) {}

  /**
   * Reads every status and publishes the changed ones in one batch, with the supervisor's
   * `running` state. Never throws.
   */
  async refresh(): Promise<void> {
    try {
      const now = Date.now();
      const next = new Map<string, string>();
      for (const template of APP_TEMPLATES) {
        for (const id of await this.manager.list(template)) {
          const s = await this.manager.status(id, template);
          if (s) next.set(id, JSON.stringify(serviceTagValue(this.manager.kind, s)));
        }
      }
      for (const id of this.last.keys()) {
        if (!next.has(id)) {
          const gone: ServiceTagValue = {
            manager: this.manager.kind,
            state: "removed",
            sub_state: "dead",
            pid: null,
            restarts: 0,
            since: null,
            last_exit_code: null,
          };
          next.set(id, JSON.stringify(gone));
        }
      }
      const samples: TagSample[] = [];
      for (const [id, json] of next) {
        if (this.last.get(id) !== json) {
          samples.push({
            path: systemTagPath(id, SERVICE_TAG),
            value: json,
            quality: "good",
            ts: now,
          });
        }
      }
      // keep "removed" entries only until published once
      this.last = new Map([...next].filter(([, j]) => !j.includes('"state":"removed"')));
      samples.push(
        supervisorStateSample("running", this.manager.kind, this.heartbeatIntervalMs, now),
      );
      await this.bus.publish(samples);
    } catch (e) {
      this.log.warn(
        { err: e instanceof Error ? e.message : String(e) },
        "cannot publish service status",
      );
    }
  }
}
