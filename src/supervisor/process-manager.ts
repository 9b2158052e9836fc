import { type Logger, silentLogger } from "../core/log.ts";
import { type LogSink, prefixedConsoleSink } from "./child-logs.ts";
import { parentDeathPrefix } from "./intf-command.ts";
import {
  type ChildExit,
  DEFAULT_RESTART_POLICY,
  ProcessInstance,
  type RestartPolicy,
} from "./process-instance.ts";
import type { InstanceLimits, InstanceStatus, ServiceManager } from "./service-manager.ts";

/** Options of {@link ProcessManager}. */
export interface ProcessManagerOptions {
  /** argv prefix of an app; `--conn-id=ID` is appended (see `intf-command.ts`). */
  command: string[];
  /** Environment of the children (default: the supervisor's). */
  env?: Record<string, string | undefined>;
  /** Restart policy; missing fields take {@link DEFAULT_RESTART_POLICY}. */
  policy?: Partial<RestartPolicy>;
  /** Where the children's output lines go (default: `{conn_id}| line` on stdout/stderr). */
  sink?: LogSink;
  /** Children get SIGTERM when the supervisor dies, even by SIGKILL (default true; needs `setpriv`). */
  dieWithParent?: boolean;
  /**
   * Called when an app's process ended, before it is restarted (the supervisor marks its
   * tags bad here, docs/supervisor.md "When an app dies"); see {@link ChildExit}.
   */
  onExit?: (connId: string, exit: ChildExit) => void | Promise<void>;
  log?: Logger;
}

/**
 * The process service manager: runs each app as a child process of the supervisor with
 * systemd-like semantics (restart always with a delay, start-rate limit, exit codes 75 / 78 /
 * 80 honoured, logs prefixed with the conn_id). Apps die with the supervisor: {@link close}
 * stops them all, and with `dieWithParent` the kernel sends them SIGTERM if the supervisor
 * is killed, so a restarted supervisor never finds orphans.
 */
export class ProcessManager implements ServiceManager {
  readonly kind = "process" as const;
  private readonly instances = new Map<string, ProcessInstance>();
  private readonly policy: RestartPolicy;
  private readonly prefix: string[];
  private readonly log: Logger;

  constructor(private readonly opts: ProcessManagerOptions) {
    this.policy = { ...DEFAULT_RESTART_POLICY, ...opts.policy };
    this.prefix = opts.dieWithParent === false ? [] : parentDeathPrefix();
    this.log = opts.log ?? silentLogger;
  }

  async add(connId: string, limits: InstanceLimits = {}): Promise<void> {
    let inst = this.instances.get(connId);
    if (!inst) {
      inst = new ProcessInstance(
        {
          connId,
          argv: [...this.prefix, ...this.opts.command, `--conn-id=${connId}`],
          env: this.opts.env ?? { ...process.env },
          sink: this.opts.sink ?? prefixedConsoleSink,
          log: this.log,
          ...(this.opts.onExit ? { onExit: (e: ChildExit) => this.opts.onExit?.(connId, e) } : {}),
        },
        limits,
        this.policy,
      );
      this.instances.set(connId, inst);
    } else {
      inst.setLimits(limits);
    }
    inst.start();
  }

  async remove(connId: string): Promise<void> {
    const inst = this.instances.get(connId);
    if (!inst) return;
    await inst.stop();
    this.instances.delete(connId);
  }

  async list(): Promise<string[]> {
    return [...this.instances.keys()].sort();
  }

  async status(connId: string): Promise<InstanceStatus | undefined> {
    return this.instances.get(connId)?.status();
  }

  /** Stops every child in parallel (SIGTERM, SIGKILL after the stop timeout). */
  async close(): Promise<void> {
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.stop()));
  }
}
