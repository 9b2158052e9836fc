import { NodiError } from "../core/errors.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { intfAppEnv } from "./app-env.ts";
import { type LogSink, prefixedConsoleSink } from "./child-logs.ts";
import { parentDeathPrefix } from "./intf-command.ts";
import {
  type ChildExit,
  DEFAULT_RESTART_POLICY,
  ProcessInstance,
  type RestartPolicy,
} from "./process-instance.ts";
import {
  type AppTemplate,
  ID_OPTION,
  type InstanceLimits,
  type InstanceStatus,
  type ServiceManager,
} from "./service-manager.ts";

/** Options of {@link ProcessManager}. */
export interface ProcessManagerOptions {
  /** argv prefix of an interface app; `--conn-id=ID` is appended (see `intf-command.ts`). */
  command: string[];
  /** argv prefix of a northbound app; `--north-id=ID` is appended (see `intf-command.ts` `northCommand`). */
  northCommand?: string[];
  /**
   * Environment of the children (default: the supervisor's); interface apps get
   * `app-env.ts`'s runtime settings added where it has none.
   */
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
  onExit?: (id: string, exit: ChildExit, template: AppTemplate) => void | Promise<void>;
  /**
   * Called right after an app's process was spawned, with its pid (the supervisor publishes
   * its state `INIT starting (pid N)` here, docs/supervisor.md "When an app starts"); not awaited.
   */
  onStart?: (id: string, pid: number, template: AppTemplate) => void | Promise<void>;
  log?: Logger;
}

/**
 * The process service manager: runs each app as a child process of the supervisor with
 * systemd-like semantics (restart always with a delay, start-rate limit, exit codes 75 / 78 /
 * 80 honoured, logs prefixed with the conn_id or north_id), for both templates. Apps die with the supervisor: {@link close}
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

  async add(
    connId: string,
    limits: InstanceLimits = {},
    template: AppTemplate = "ne-intf",
  ): Promise<void> {
    const key = `${template}@${connId}`;
    let inst = this.instances.get(key);
    if (!inst) {
      const command = template === "ne-north" ? this.opts.northCommand : this.opts.command;
      if (!command) {
        throw new NodiError("internal", `no command configured for ${template} apps`, "no_command");
      }
      inst = new ProcessInstance(
        {
          connId,
          template,
          argv: [...this.prefix, ...command, `${ID_OPTION[template]}=${connId}`],
          env:
            template === "ne-intf"
              ? intfAppEnv(this.opts.env ?? process.env)
              : (this.opts.env ?? { ...process.env }),
          sink: this.opts.sink ?? prefixedConsoleSink,
          log: this.log,
          ...(this.opts.onExit
            ? { onExit: (e: ChildExit) => this.opts.onExit?.(connId, e, template) }
            : {}),
          ...(this.opts.onStart
            ? { onStart: (pid: number) => this.opts.onStart?.(connId, pid, template) }
            : {}),
        },
        limits,
        this.policy,
      );
      this.instances.set(key, inst);
    } else {
      inst.setLimits(limits);
    }
    inst.start();
  }

  async remove(connId: string, template: AppTemplate = "ne-intf"): Promise<void> {
    const key = `${template}@${connId}`;
    const inst = this.instances.get(key);
    if (!inst) return;
    await inst.stop();
    this.instances.delete(key);
  }

  async list(template: AppTemplate = "ne-intf"): Promise<string[]> {
    const head = `${template}@`;
    return [...this.instances.keys()]
      .filter((k) => k.startsWith(head))
      .map((k) => k.slice(head.length))
      .sort();
  }

  async status(
    connId: string,
    template: AppTemplate = "ne-intf",
  ): Promise<InstanceStatus | undefined> {
    return this.instances.get(`${template}@${connId}`)?.status();
  }

  /** Stops every child in parallel (SIGTERM, SIGKILL after the stop timeout). */
  async close(): Promise<void> {
    const all = [...this.instances.values()];
    this.instances.clear();
    await Promise.all(all.map((i) => i.stop()));
  }
}
