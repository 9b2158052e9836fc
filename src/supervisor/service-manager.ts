/**
 * The service manager: what runs the apps, each an instance of a template: one interface app
 * (`ne-intf --conn-id=ID`, unit `ne-intf@ID`) per connection and one northbound app
 * (`ne-north --north-id=ID`, unit `ne-north@ID`) per northbound, with the same restart,
 * exit-code and resource-limit semantics. Two implementations share this interface and `test/contract/service-manager.contract.ts`:
 * `systemd-manager.ts` (template unit `ne-intf@.service`, DESIGN.md §2) and
 * `process-manager.ts` (child processes with systemd-like semantics, where systemd is not
 * PID 1). The supervisor only ever talks to this interface.
 */

/** The app templates (systemd template units `ne-intf@.service`, `ne-north@.service`). */
export const APP_TEMPLATES = ["ne-intf", "ne-north"] as const;
export type AppTemplate = (typeof APP_TEMPLATES)[number];

/** The option naming the instance on each template's command line (`--conn-id=ID`, `--north-id=ID`). */
export const ID_OPTION: Record<AppTemplate, string> = {
  "ne-intf": "--conn-id",
  "ne-north": "--north-id",
};

/** Per-instance resource limits, from the connection's `memory_max` / `cpu_quota` fields. */
export interface InstanceLimits {
  /** systemd `MemoryMax=` syntax: bytes with an optional K/M/G suffix, e.g. `64M`. */
  memoryMax?: string | null;
  /** systemd `CPUQuota=` syntax, e.g. `50%` (of one CPU). */
  cpuQuota?: string | null;
}

/**
 * State of one instance, in systemd's words (`ActiveState`):
 * - `active`: the app's process runs.
 * - `activating`: waiting to be (re)started (restart delay).
 * - `failed`: stopped and not restarted (config error exit, start limit hit).
 * - `inactive`: stopped without failure (exit 0 or "removed" exit 80).
 */
export type ActiveState = "active" | "activating" | "failed" | "inactive";

/** What a service manager knows about one instance. */
export interface InstanceStatus {
  /** The instance id: the conn_id (`ne-intf`) or the north_id (`ne-north`). */
  connId: string;
  template: AppTemplate;
  state: ActiveState;
  /** Finer state or failure cause, e.g. `running`, `auto-restart`, `exit-code`, `start-limit-hit`. */
  subState: string;
  /** Main process id while `active`. */
  pid?: number;
  /** Automatic restarts since the instance was added (systemd `NRestarts`). */
  restarts: number;
  /** When the current (or last) process started, ms since the epoch. */
  since?: number;
  /** Exit code of the last process that ended, when one did. */
  lastExitCode?: number;
  /** Limits applied to the instance. */
  limits: InstanceLimits;
}

/**
 * One interface, two implementations (see the module comment). Every method names one
 * template (default `ne-intf`); conn_ids and north_ids share one id space, and an instance is
 * the pair (template, id).
 */
export interface ServiceManager {
  /** `process` or `systemd`. */
  readonly kind: "process" | "systemd";

  /**
   * Enables and starts the app of `connId` (`systemctl enable --now ne-intf@ID`) with
   * `limits`. Idempotent: an instance already running keeps running (its limits are updated
   * and take effect at its next start); a failed or stopped one is started again with its
   * restart counter and start-rate limit reset.
   * @throws NodiError kind `internal` when the manager cannot start it (systemctl failed).
   */
  add(connId: string, limits?: InstanceLimits, template?: AppTemplate): Promise<void>;

  /**
   * Stops and disables the app of `connId` (`systemctl disable --now`), waiting until its
   * process has exited. Idempotent: removing an unknown instance does nothing.
   */
  remove(connId: string, template?: AppTemplate): Promise<void>;

  /** Ids of every instance of `template` the manager has (running, restarting, failed or stopped), sorted. */
  list(template?: AppTemplate): Promise<string[]>;

  /** Status of one instance, or `undefined` when the manager does not know it. */
  status(connId: string, template?: AppTemplate): Promise<InstanceStatus | undefined>;

  /**
   * Releases the manager. The process manager stops every child (SIGTERM, then SIGKILL
   * after its stop timeout); the systemd manager leaves the apps running (they belong to
   * systemd).
   */
  close(): Promise<void>;
}

/** The unit name of one instance of a template, e.g. `ne-intf@line1.service`, `ne-north@cloud.service`. */
export function unitName(connId: string, template: AppTemplate = "ne-intf"): string {
  return `${template}@${connId}.service`;
}
