/**
 * The service manager: what runs one interface app (`ne-intf --conn-id=ID`) per connection.
 * Two implementations share this interface and `test/contract/service-manager.contract.ts`:
 * `systemd-manager.ts` (template unit `ne-intf@.service`, DESIGN.md §2) and
 * `process-manager.ts` (child processes with systemd-like semantics, where systemd is not
 * PID 1). The supervisor only ever talks to this interface.
 */

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
  connId: string;
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

/** One interface, two implementations (see the module comment). */
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
  add(connId: string, limits?: InstanceLimits): Promise<void>;

  /**
   * Stops and disables the app of `connId` (`systemctl disable --now`), waiting until its
   * process has exited. Idempotent: removing an unknown instance does nothing.
   */
  remove(connId: string): Promise<void>;

  /** conn_ids of every instance the manager has (running, restarting, failed or stopped), sorted. */
  list(): Promise<string[]>;

  /** Status of one instance, or `undefined` when the manager does not know it. */
  status(connId: string): Promise<InstanceStatus | undefined>;

  /**
   * Releases the manager. The process manager stops every child (SIGTERM, then SIGKILL
   * after its stop timeout); the systemd manager leaves the apps running (they belong to
   * systemd).
   */
  close(): Promise<void>;
}

/** The unit name of one instance of the template `ne-intf@.service`. */
export function unitName(connId: string): string {
  return `ne-intf@${connId}.service`;
}
