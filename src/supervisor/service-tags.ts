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

  constructor(
    private readonly bus: TagBus,
    private readonly manager: ServiceManager,
    private readonly log: Logger,
  ) {}

  /** Reads every status and publishes the changed ones in one batch. Never throws. */
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
      if (samples.length > 0) await this.bus.publish(samples);
    } catch (e) {
      this.log.warn(
        { err: e instanceof Error ? e.message : String(e) },
        "cannot publish service status",
      );
    }
  }
}
