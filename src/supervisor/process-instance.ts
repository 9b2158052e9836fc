import type { Subprocess } from "bun";
import { EXIT } from "../core/exit-codes.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { discardSink, forwardLines, type LogSink } from "./child-logs.ts";
import { parseMemoryMax, readRssBytes } from "./limits.ts";
import type {
  ActiveState,
  AppTemplate,
  InstanceLimits,
  InstanceStatus,
} from "./service-manager.ts";

/**
 * Restart policy of a child, mirroring the directives of the packaged `ne-intf@.service`:
 * `Restart=always`, `RestartSec=`, `StartLimitIntervalSec=`/`StartLimitBurst=`,
 * `RestartPreventExitStatus=`, `TimeoutStopSec=`.
 */
export interface RestartPolicy {
  /** Delay before an automatic restart, ms (`RestartSec=`). Default 1000. */
  restartDelayMs: number;
  /** Window of the start-rate limit, ms (`StartLimitIntervalSec=`). Default 30000. */
  startLimitIntervalMs: number;
  /** Starts allowed inside the window; one more puts the instance in `failed` (`StartLimitBurst=`). Default 5. */
  startLimitBurst: number;
  /** Time a child gets between SIGTERM and SIGKILL, ms (`TimeoutStopSec=`). Default 10000. */
  stopTimeoutMs: number;
  /** Exit codes after which the child is not restarted (`RestartPreventExitStatus=`). Default 78, 80. */
  preventRestartExitCodes: readonly number[];
  /** Exit codes after which the child is restarted at once, without the delay. Default 75 ("restart me"). */
  immediateRestartExitCodes: readonly number[];
  /** Period of the memory check enforcing `memoryMax`, ms. Default 2000. */
  memoryCheckIntervalMs: number;
}

/** The defaults of {@link RestartPolicy}. */
export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  restartDelayMs: 1000,
  startLimitIntervalMs: 30_000,
  startLimitBurst: 5,
  stopTimeoutMs: 10_000,
  preventRestartExitCodes: [EXIT.CONFIG, EXIT.REMOVED],
  immediateRestartExitCodes: [EXIT.RESTART],
  memoryCheckIntervalMs: 2000,
};

/** How one child ended, for {@link ChildSpec.onExit}. */
export interface ChildExit {
  /** Exit status when it exited by itself, else `null`. */
  code: number | null;
  /** The signal that killed it (e.g. `SIGKILL`), else `null`. */
  signal: string | null;
  /** `oom`: killed by the `memory_max` check. */
  cause?: "oom";
  /** It ended because {@link ProcessInstance.stop} asked it to. */
  stopping: boolean;
}

/** Longest wait for {@link ChildSpec.onExit} before a restart goes ahead anyway, ms. */
export const EXIT_HOOK_MAX_MS = 3000;

/** How to start one child. */
export interface ChildSpec {
  /** The instance id (conn_id or north_id). */
  connId: string;
  /** The app template (default `ne-intf`). */
  template?: AppTemplate;
  /** Full argv, e.g. `[bun, "run", ".../src/intf/main.ts", "--conn-id=line1"]`. */
  argv: string[];
  env: Record<string, string | undefined>;
  sink?: LogSink;
  log?: Logger;
  /**
   * Called once per end of the child, as soon as it is reaped (like systemd's
   * `ExecStopPost=`). The restart waits for it (at most {@link EXIT_HOOK_MAX_MS}), and so
   * does {@link ProcessInstance.stop}; what it throws is logged.
   */
  onExit?: (exit: ChildExit) => void | Promise<void>;
  /**
   * Called right after each spawn with the child's pid (the supervisor publishes the app's
   * state `INIT starting (pid N)` here, docs/supervisor.md "When an app starts"). Not
   * awaited; what it throws is logged.
   */
  onStart?: (pid: number) => void | Promise<void>;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGTERM: 15,
  SIGABRT: 6,
  SIGSEGV: 11,
};

/**
 * One supervised child process: started, restarted after it ends according to a
 * {@link RestartPolicy}, stopped on request. The systemd-like state machine of one unit:
 * `activating` (waiting to restart) → `active` (running) → exit → `activating` again, or
 * `failed` (prevented exit code, start limit hit) or `inactive` (stopped, exit 80).
 * Constructing does nothing; {@link start} spawns.
 */
export class ProcessInstance {
  private proc: Subprocess | undefined;
  private state: ActiveState = "inactive";
  private subState = "dead";
  private restarts = 0;
  private since: number | undefined;
  private lastExitCode: number | undefined;
  private starts: number[] = [];
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  private memTimer: ReturnType<typeof setInterval> | undefined;
  private exited: Promise<void> = Promise.resolve();
  /** The exit hook of the last end, bounded; a restart waits for it. */
  private hookDone: Promise<void> = Promise.resolve();
  private killedForMemory = false;
  private readonly log: Logger;

  constructor(
    private readonly spec: ChildSpec,
    private limits: InstanceLimits,
    private readonly policy: RestartPolicy = DEFAULT_RESTART_POLICY,
  ) {
    this.log = spec.log ?? silentLogger;
  }

  /** The current status (see {@link InstanceStatus}). */
  status(): InstanceStatus {
    const s: InstanceStatus = {
      connId: this.spec.connId,
      template: this.spec.template ?? "ne-intf",
      state: this.state,
      subState: this.subState,
      restarts: this.restarts,
      limits: { ...this.limits },
    };
    if (this.proc && this.state === "active") s.pid = this.proc.pid;
    if (this.since !== undefined) s.since = this.since;
    if (this.lastExitCode !== undefined) s.lastExitCode = this.lastExitCode;
    return s;
  }

  /** Replaces the limits; they apply from the next start (memory: from the next check). */
  setLimits(limits: InstanceLimits): void {
    this.limits = { ...limits };
  }

  /**
   * Starts the child unless it is running or waiting to restart. A `failed` or `inactive`
   * instance starts afresh: restart counter and start-rate window reset (like
   * `systemctl reset-failed` + `start`).
   */
  start(): void {
    this.stopping = false;
    if (this.state === "active" || this.state === "activating") return;
    this.restarts = 0;
    this.starts = [];
    this.spawnChild();
  }

  /**
   * Stops the child: SIGTERM, then SIGKILL after `stopTimeoutMs`; resolves once it exited.
   * Cancels a pending restart. The instance ends `inactive`.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const proc = this.proc;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGTERM");
      const killer = setTimeout(() => {
        this.log.warn(
          { conn: this.spec.connId, pid: proc.pid },
          "app did not stop in time; SIGKILL",
        );
        proc.kill("SIGKILL");
      }, this.policy.stopTimeoutMs);
      await this.exited;
      clearTimeout(killer);
    } else {
      await this.exited;
    }
    this.state = "inactive";
    this.subState = "dead";
  }

  /** Sends a signal to the running child (tests, `kill -9` emulation); no-op when none runs. */
  kill(signal: NodeJS.Signals | number): void {
    this.proc?.kill(signal);
  }

  private spawnChild(): void {
    const now = Date.now();
    this.starts = this.starts.filter((t) => now - t < this.policy.startLimitIntervalMs);
    if (this.starts.length >= this.policy.startLimitBurst) {
      this.state = "failed";
      this.subState = "start-limit-hit";
      this.log.error(
        {
          conn: this.spec.connId,
          starts: this.starts.length,
          window_ms: this.policy.startLimitIntervalMs,
        },
        "app restarted too often; giving up until the next add/reconcile",
      );
      return;
    }
    this.starts.push(now);
    if (this.limits.cpuQuota) {
      this.log.warn(
        { conn: this.spec.connId, cpu_quota: this.limits.cpuQuota },
        "cpu_quota is enforced only under systemd",
      );
    }
    let proc: Subprocess<"ignore", "pipe", "pipe">;
    try {
      proc = Bun.spawn(this.spec.argv, {
        env: this.spec.env,
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      });
    } catch (e) {
      this.log.error({ conn: this.spec.connId, err: String(e) }, "cannot spawn app");
      this.onExit(127);
      return;
    }
    this.proc = proc;
    this.state = "active";
    this.subState = "running";
    this.since = now;
    this.log.info(
      { conn: this.spec.connId, pid: proc.pid, restarts: this.restarts },
      "app started",
    );
    const onStart = this.spec.onStart;
    if (onStart) {
      void (async () => onStart(proc.pid))().catch((e) =>
        this.log.error({ conn: this.spec.connId, err: String(e) }, "start hook failed"),
      );
    }
    const sink = this.spec.sink ?? discardSink;
    const out = forwardLines(proc.stdout, this.spec.connId, "stdout", sink);
    const err = forwardLines(proc.stderr, this.spec.connId, "stderr", sink);
    this.killedForMemory = false;
    this.startMemoryWatch(proc);
    this.exited = proc.exited.then(async (code) => {
      const sig = proc.signalCode;
      const exit: ChildExit = {
        code: sig ? null : (code as number | null),
        signal: sig ? String(sig) : null,
        stopping: this.stopping,
      };
      if (this.killedForMemory) exit.cause = "oom";
      this.hookDone = this.runExitHook(exit);
      await Promise.all([out, err]);
      if (this.proc !== proc) return;
      this.onExit(code ?? (sig ? 128 + (SIGNALS[sig] ?? 0) : 1));
      await this.hookDone;
    });
  }

  private runExitHook(exit: ChildExit): Promise<void> {
    const hook = this.spec.onExit;
    if (!hook) return Promise.resolve();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = (async () => hook(exit))().catch((e) =>
      this.log.error({ conn: this.spec.connId, err: String(e) }, "exit hook failed"),
    );
    return Promise.race([
      run,
      new Promise<void>((r) => {
        timer = setTimeout(r, EXIT_HOOK_MAX_MS);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  private startMemoryWatch(proc: Subprocess): void {
    if (this.memTimer) clearInterval(this.memTimer);
    this.memTimer = undefined;
    if (!this.limits.memoryMax) return;
    const max = parseMemoryMax(this.limits.memoryMax);
    this.memTimer = setInterval(async () => {
      const rss = await readRssBytes(proc.pid);
      if (rss !== undefined && rss > max && !this.stopping) {
        this.log.error(
          { conn: this.spec.connId, rss, memory_max: max },
          "app over memory_max; SIGKILL",
        );
        this.killedForMemory = true;
        proc.kill("SIGKILL");
      }
    }, this.policy.memoryCheckIntervalMs);
  }

  private onExit(code: number): void {
    if (this.memTimer) clearInterval(this.memTimer);
    this.memTimer = undefined;
    this.lastExitCode = code;
    this.proc = undefined;
    if (this.stopping) {
      this.state = "inactive";
      this.subState = "dead";
      this.log.info({ conn: this.spec.connId, code }, "app stopped");
      return;
    }
    if (this.policy.preventRestartExitCodes.includes(code)) {
      this.state = code === EXIT.REMOVED ? "inactive" : "failed";
      this.subState = code === EXIT.REMOVED ? "removed" : "exit-code";
      this.log.warn({ conn: this.spec.connId, code }, "app exited with a no-restart code");
      return;
    }
    const delay = this.policy.immediateRestartExitCodes.includes(code)
      ? 0
      : this.policy.restartDelayMs;
    this.state = "activating";
    this.subState = "auto-restart";
    this.log.warn({ conn: this.spec.connId, code, delay_ms: delay }, "app exited; restarting");
    this.restartTimer = setTimeout(() => {
      // the exit hook (e.g. marking the dead app's tags bad) goes before the new process
      void this.hookDone.then(() => {
        this.restartTimer = undefined;
        if (this.stopping) return;
        this.restarts++;
        this.spawnChild();
      });
    }, delay);
  }
}
