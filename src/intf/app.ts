import { NodiError, toNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import type { Logger } from "../core/log.ts";
import { SYSTEM_TAGS, systemTagPath } from "../core/paths.ts";
import { REASON } from "../core/quality.ts";
import type { Driver } from "../drivers/driver.ts";
import { isAutoTag, withAutoBlocks } from "../drivers/modbus/auto-plan.ts";
import type { AuditRecord } from "../store/audit.ts";
import type { Block, Connection, ConnectionConfig } from "../store/schema.ts";
import type { BusEvent, Subscription, TagBus } from "../tagbus/tagbus.ts";
import { monotonicClock, type TimerClock } from "../timer/clock.ts";
import { PeriodicTimer, type TickInfo } from "../timer/periodic-timer.ts";
import { Backoff } from "./backoff.ts";
import { BlockSet } from "./block-set.ts";
import { BUS_STALL_CHECK_MS, BUS_STALL_WARN_MS, BusStallMonitor } from "./bus-stall.ts";
import { CodeRelease } from "./code-release.ts";
import { configProblem, enabledBlocks, enabledTags } from "./config-view.ts";
import { ExitRequest } from "./exit-request.ts";
import { AppFsm, type AppState } from "./fsm.ts";
import { HEALTH_INTERVAL_MS, HEALTH_TAGS, type IntfCounters, type IntfHealth } from "./health.ts";
import { HeapTrim } from "./heap-trim.ts";
import { LinkQueue } from "./link-queue.ts";
import { RateLimitedLog } from "./rate-limited-log.ts";
import { RefusedSpans } from "./refused-spans.ts";
import { hotReload, planReload } from "./reload.ts";
import type { Notifier } from "./sd-notify.ts";
import { StatusReporter } from "./status-reporter.ts";
import { HEARTBEAT_MS } from "./tag-publisher.ts";
import { withTimeout } from "./with-timeout.ts";
import { auditWrite, handleWrite, type WriteContext } from "./write-handler.ts";

/** Tunables of an {@link IntfApp}; defaults suit production. Times in ms. */
export interface IntfAppOptions {
  /** Period of the `health` tag. Default {@link HEALTH_INTERVAL_MS}. */
  healthIntervalMs?: number;
  /** Republish interval of unchanged values. Default {@link HEARTBEAT_MS}. */
  heartbeatMs?: number;
  /** Minimum time between two log lines of one repeated error. Default 60 000. */
  errorLogIntervalMs?: number;
  /** Uniform [0,1) source for back-off jitter. Default `Math.random`. */
  random?: () => number;
  /** Publishing stalled this long before a warning. Default {@link BUS_STALL_WARN_MS}. */
  busStallWarnMs?: number;
  /** Sampling interval of the stall monitor. Default {@link BUS_STALL_CHECK_MS}. */
  busStallCheckMs?: number;
  /** Observer of every block tick: block id and the tick's grid deadline (tests, diagnostics). */
  onBlockTick?: (blockId: string, tick: TickInfo) => void;
  /**
   * Told after every publish (polled or pushed) and once the blocks are started, to collect
   * the JS heap's old garbage in idle time. Default a {@link HeapTrim}; `null`: none.
   */
  heapTrim?: { idle(pushed: boolean): void; started(): void } | null;
  /**
   * Told the same, to let the JS engine drop the start-up's compiled code once, a while after
   * the blocks started. Default a {@link CodeRelease}; `null`: none.
   */
  codeRelease?: Pick<CodeRelease, "idle" | "started"> | null;
}

/**
 * The block set's hooks for the `heapTrim` and `codeRelease` options (defaults: a new
 * {@link HeapTrim}, a new {@link CodeRelease}; the trim is told first).
 */
function idleHooks(o: IntfAppOptions | undefined): {
  afterPublish?: (pushed: boolean) => void;
  afterStart?: () => void;
} {
  const parts: { idle(pushed: boolean): void; started(): void }[] = [];
  if (o?.heapTrim !== null) parts.push(o?.heapTrim ?? new HeapTrim());
  if (o?.codeRelease !== null) parts.push(o?.codeRelease ?? new CodeRelease());
  if (parts.length === 0) return {};
  return {
    afterPublish: (pushed) => {
      for (const p of parts) p.idle(pushed);
    },
    afterStart: () => {
      for (const p of parts) p.started();
    },
  };
}

/** What an {@link IntfApp} is given (the entry point wires the real ones). */
export interface IntfAppDeps {
  /** The app_id = conn_id. */
  appId: string;
  /** Reads the connection's configuration from the SoT; `undefined` = no such connection. May throw. */
  loadConfig: () => ConnectionConfig | undefined;
  /** Creates the driver of a connection (constructors do no I/O). */
  createDriver: (connection: Connection) => Driver | Promise<Driver>;
  bus: TagBus;
  /** Logger; gets a `conn` binding (the appId) unless it has one already. */
  log: Logger;
  notifier?: Notifier;
  /**
   * Records each write this app answered in the audit trail (who, value, previous value,
   * result); the entry point passes an `AuditQueue` on the SoT. Absent: not recorded.
   */
  audit?: (r: AuditRecord) => void;
  /** Clock of the block timers. Default {@link monotonicClock}. */
  clock?: TimerClock;
  options?: IntfAppOptions;
}

/**
 * The interface app of one connection (DESIGN.md §2, docs/intf.md): the life cycle and its
 * control loop. The parts it wires: {@link BlockSet} (block timers, publishing),
 * `handleWrite` (writes), `planReload`/`hotReload` (reload), {@link StatusReporter} (health
 * and state tags).
 *
 * Use: `const code = await app.run()` (resolves with an exit code from `core/exit-codes.ts`
 * when the app stops), and `app.requestStop("SIGTERM")` to stop it.
 */
export class IntfApp {
  readonly fsm = new AppFsm();
  private readonly appId: string;
  private readonly log: Logger;
  private readonly bus: TagBus;
  private readonly rlog: RateLimitedLog;
  private readonly opts: Required<Omit<IntfAppOptions, "onBlockTick" | "heapTrim" | "codeRelease">>;
  private readonly status: StatusReporter;
  private readonly blocks: BlockSet;
  private readonly writeCtx: WriteContext;
  private readonly busStall: BusStallMonitor;
  /** The running configuration as stored (auto tags without blocks): what a reload compares. */
  private raw!: ConnectionConfig;
  /** The running configuration as run: `raw` with its auto tags planned (auto-plan.ts). */
  private config!: ConnectionConfig;
  /** Spans the device refused on generated blocks (exception 02), for the life of the process. */
  private readonly refused = new RefusedSpans();
  /** Ids of the generated blocks of the running plan. */
  private autoIds = new Set<string>();
  private replanWanted = false;
  private driver!: Driver;
  private queue = new LinkQueue();
  private backoff!: Backoff;
  private linkUp = false;
  private connectedOnce = false;
  private watchdogTimer: PeriodicTimer | undefined;
  private subs: Subscription[] = [];
  private reloading: Promise<void> | undefined;
  private readyNotified = false;
  // events for the control loop
  private stopWanted: { code: number; why: string } | undefined;
  private reloadWanted = false;
  private linkLostError: NodiError | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly deps: IntfAppDeps) {
    this.appId = deps.appId;
    // One `conn` field per line: ne-intf's logger binds it already; a bare logger gets it here.
    this.log =
      deps.log.bindings().conn === undefined ? deps.log.child({ conn: this.appId }) : deps.log;
    this.bus = deps.bus;
    this.opts = {
      healthIntervalMs: HEALTH_INTERVAL_MS,
      heartbeatMs: HEARTBEAT_MS,
      errorLogIntervalMs: 60_000,
      random: Math.random,
      busStallWarnMs: BUS_STALL_WARN_MS,
      busStallCheckMs: BUS_STALL_CHECK_MS,
      ...deps.options,
    };
    this.rlog = new RateLimitedLog(this.log, this.opts.errorLogIntervalMs);
    this.status = new StatusReporter({
      appId: this.appId,
      log: this.log,
      bus: this.bus,
      fsm: this.fsm,
      rlog: this.rlog,
      notifier: deps.notifier,
      blocks: () => ({
        blocks: this.blocks.health(),
        lastGoodPoll: this.blocks.lastGoodPoll,
        devices: this.blocks.deviceHealth(),
      }),
      busExtra: () => ({ stalledMs: this.busStall.stalledMs() }),
    });
    this.busStall = new BusStallMonitor(() => this.bus.stats(), this.log, {
      warnAfterMs: this.opts.busStallWarnMs,
      checkMs: this.opts.busStallCheckMs,
      repeatMs: this.opts.errorLogIntervalMs,
      onLine: (level, msg) => this.status.remember(level, msg),
      onStall: () => this.status.counters.busStalls++,
    });
    this.blocks = new BlockSet({
      appId: this.appId,
      bus: this.bus,
      log: this.log,
      rlog: this.rlog,
      clock: deps.clock ?? monotonicClock,
      queue: this.queue,
      counters: this.status.counters,
      heartbeatMs: this.opts.heartbeatMs,
      executing: () => this.fsm.state === "EXECUTE",
      recordError: (err, where) => this.status.recordError(err, where),
      onLinkLost: (err) => this.onLinkLost(err),
      onDeviceState: () => this.status.publishDevices(),
      onRefused: (block) => this.onRefused(block),
      onTick: deps.options?.onBlockTick,
      ...idleHooks(deps.options),
      // the state's reason tells a device that stopped answering from one that answers
      onSilence: (reason) => {
        if (this.fsm.state !== "EXECUTE") return;
        this.fsm.setReason(reason === undefined ? "connected" : `no reply (${reason})`);
      },
    });
    this.writeCtx = {
      appId: this.appId,
      log: this.log,
      counters: this.status.counters,
      queue: this.queue,
      driver: () => this.driver,
      tag: (name) => this.blocks.tag(name),
      reloading: () => this.reloading,
      linkState: () => ({ state: this.fsm.state, up: this.linkUp }),
      recordError: (err, where) => this.status.recordError(err, where),
      onLinkLost: (err) => this.onLinkLost(err),
      readBack: (tag) => this.blocks.readBack(this.driver, tag),
      previous: (name) => this.blocks.lastValue(name),
      ...(deps.audit ? { audit: deps.audit } : {}),
    };
  }

  /** The current life-cycle state. */
  get state(): AppState {
    return this.fsm.state;
  }

  /** Counters since the process started (as in the `health` tag). */
  get counters(): IntfCounters {
    return this.status.counters;
  }

  /** Asks the app to stop (SIGTERM): it finishes the request in flight and `run()` resolves with `code`. */
  requestStop(why = "SIGTERM", code: number = EXIT.OK): void {
    if (!this.stopWanted) this.stopWanted = { code, why };
    this.signal();
  }

  /** Asks for a configuration reload, as `/system/{app_id}/config_reload` does. */
  requestReload(): void {
    this.reloadWanted = true;
    this.signal();
  }

  /** The health object as published in `/system/{app_id}/health`. */
  health(): IntfHealth {
    return this.status.health();
  }

  /**
   * Runs the app until it stops. Never throws: every end is an exit code.
   * - `EXIT.CONFIG` (78): the connection does not exist or its configuration is refused at start.
   * - `EXIT.REMOVED` (80): the connection was removed or disabled.
   * - `EXIT.RESTART` (75): the connection's settings changed.
   * - `EXIT.UNAVAILABLE` (69): the DB or the bus failed at start.
   * - `EXIT.OK` (0): stopped on request.
   */
  async run(): Promise<number> {
    let code: number = EXIT.OK;
    let why = "stopped";
    try {
      await this.init();
      await this.loop();
      code = this.stopWanted?.code ?? EXIT.OK;
      why = this.stopWanted?.why ?? "stopped";
    } catch (e) {
      if (e instanceof ExitRequest) {
        code = e.code;
        why = e.why;
      } else {
        const err = toNodiError(e);
        this.log.error({ err, kind: err.kind }, `fatal: ${err.message}`);
        code = EXIT.CRASH;
        why = `fatal: ${err.message}`;
      }
    }
    await this.shutdown(code, why);
    return code;
  }

  // ── start-up ────────────────────────────────────────────────────────────────────────────

  private async init(): Promise<void> {
    this.fsm.go("CONFIGURE", "starting");
    let cfg: ConnectionConfig | undefined;
    try {
      cfg = this.deps.loadConfig();
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.log.error({ err: err.message }, `cannot read the configuration: ${err.message}`);
      throw new ExitRequest(EXIT.UNAVAILABLE, `cannot read the configuration: ${err.message}`);
    }
    if (!cfg) {
      this.log.error(`connection ${this.appId} does not exist`);
      throw new ExitRequest(EXIT.CONFIG, `connection ${this.appId} does not exist`);
    }
    if (!cfg.connection.enabled) {
      this.log.warn(`connection ${this.appId} is disabled`);
      throw new ExitRequest(EXIT.REMOVED, "connection disabled");
    }
    const problem = configProblem(cfg);
    if (problem) {
      this.status.recordError(new NodiError("configuration", problem), "configure");
      throw new ExitRequest(EXIT.CONFIG, problem);
    }
    const run = this.planned(cfg);
    try {
      this.driver = await this.deps.createDriver(cfg.connection);
      await this.driver.configure(enabledBlocks(run), enabledTags(run), run.devices ?? []);
    } catch (e) {
      const err = toNodiError(e, "configuration");
      this.status.recordError(err, "configure");
      throw new ExitRequest(EXIT.CONFIG, `configuration refused: ${err.message}`);
    }
    this.raw = cfg;
    this.adopt(run);
    this.driver.onLinkLost?.((err) => this.onLinkLost(err));
    try {
      this.subs.push(
        // the app's own batches (every poll) share the root: not read back (issue 15)
        await this.bus.subscribe(
          [SYSTEM_TAGS.configReload(this.appId)],
          (ev) => this.onReloadEvent(ev),
          { ignoreProducers: [this.appId] },
        ),
      );
      this.subs.push(
        await this.bus.serveWrites(this.appId, (req) => handleWrite(this.writeCtx, req), {
          onUnhandled: (req, result) => auditWrite(this.writeCtx, req, result, undefined),
        }),
      );
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.log.error({ err: err.message }, `tag bus unavailable: ${err.message}`);
      throw new ExitRequest(EXIT.UNAVAILABLE, `tag bus unavailable: ${err.message}`);
    }
    this.status.startHealthTimer(this.opts.healthIntervalMs);
    this.busStall.start();
    const wd = this.deps.notifier?.watchdogMs;
    if (wd !== undefined) {
      this.watchdogTimer = new PeriodicTimer({
        periodMs: Math.max(50, wd / 2),
        onTick: () => void this.deps.notifier?.notify("WATCHDOG=1"),
      });
      this.watchdogTimer.start();
    }
    this.fsm.go("CONNECT", "configured");
  }

  /**
   * `raw` as the app runs it: its auto tags planned into generated blocks with the refused
   * spans learned so far (`drivers/modbus/auto-plan.ts`); `raw` itself when it has none.
   */
  private planned(raw: ConnectionConfig): ConnectionConfig {
    if (!raw.tags.some(isAutoTag)) return raw;
    return withAutoBlocks(raw, { refused: this.refused.list() });
  }

  /** Takes `cfg` (planned) as the running configuration (blocks, tags, link settings). */
  private adopt(cfg: ConnectionConfig): void {
    this.config = cfg;
    const explicit = new Set(this.raw.blocks.map((b) => b.block_id));
    this.autoIds = new Set(
      cfg.blocks.filter((b) => !explicit.has(b.block_id)).map((b) => b.block_id),
    );
    const c = cfg.connection;
    this.backoff ??= new Backoff(c.backoff_initial_ms, c.backoff_max_ms, this.opts.random);
    // inter_request_delay_ms is kept by the driver (a block may be several requests on the
    // wire); the queue's own gap stays 0 so the pause is not applied twice.
    this.blocks.adopt(cfg);
  }

  // ── the control loop ──────────────────────────────────────────────────────────────────────

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until an event is pending or `timeoutMs` passed. */
  private waitEvent(timeoutMs?: number): Promise<void> {
    // A replan waits for EXECUTE (connectStep applies one pending from before a link loss).
    const replan = this.replanWanted && this.fsm.state === "EXECUTE";
    if (this.stopWanted || this.reloadWanted || replan || this.linkLostError) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let handle: ReturnType<typeof setTimeout> | undefined;
      this.wake = () => {
        if (handle) clearTimeout(handle);
        resolve();
      };
      if (timeoutMs !== undefined) {
        handle = setTimeout(() => {
          this.wake = undefined;
          resolve();
        }, timeoutMs);
      }
    });
  }

  private async loop(): Promise<void> {
    for (;;) {
      if (this.stopWanted) return;
      switch (this.fsm.state) {
        case "CONNECT":
          await this.connectStep();
          break;
        case "EXECUTE":
          await this.waitEvent();
          if (this.stopWanted) return;
          if (this.linkLostError) {
            const err = this.linkLostError;
            await this.enterRecover(err);
          } else if (this.reloadWanted) {
            await this.reloadStep();
          } else if (this.replanWanted) {
            await this.replanStep();
          }
          break;
        case "RECOVER": {
          const delay = this.backoff.next();
          this.log.debug({ delayMs: delay, attempt: this.backoff.attempts }, "reconnect back-off");
          await this.waitEvent(delay);
          this.linkLostError = undefined;
          if (this.stopWanted) return;
          if (this.reloadWanted) await this.reloadStep();
          if (this.fsm.state === "RECOVER") this.fsm.go("CONNECT", "retry");
          break;
        }
        default:
          throw new NodiError("internal", `control loop in state ${this.fsm.state}`);
      }
    }
  }

  private async connectStep(): Promise<void> {
    if (this.reloadWanted && !this.linkUp) {
      await this.reloadStep();
      if (this.fsm.state !== "CONNECT") return;
    }
    const kept = this.linkUp;
    if (!this.linkUp) {
      try {
        await withTimeout(
          this.driver.connect(),
          this.config.connection.connect_timeout_ms + 1000,
          "connect",
        );
        this.linkUp = true;
        this.linkLostError = undefined;
        this.backoff.reset();
        if (this.connectedOnce) this.counters.reconnects++;
        this.connectedOnce = true;
        this.rlog.clearPrefix("connect:", {}, "connected");
        this.rlog.clearPrefix("link:", {}, "link back");
      } catch (e) {
        const err = toNodiError(e, "communication");
        this.counters.connectFailures++;
        this.status.recordError(err, "connect");
        await this.driver.close().catch(() => {});
        if (this.stopWanted) return;
        this.fsm.go("RECOVER", `connect failed: ${err.reason}`);
        await this.blocks.publishAllBad(REASON.disconnected);
        return;
      }
    }
    if (this.stopWanted) return;
    if (this.replanWanted) await this.replanStopped();
    this.fsm.go("EXECUTE", kept ? "reloaded, link kept" : "connected");
    await this.blocks.start(this.driver);
    if (!this.readyNotified) {
      this.readyNotified = true;
      this.deps.notifier?.notify("READY=1\nSTATUS=EXECUTE");
    }
  }

  private async enterRecover(err: NodiError): Promise<void> {
    this.linkUp = false;
    this.queue.failPending(err);
    await this.blocks.stop(this.driver);
    this.linkLostError = undefined;
    this.fsm.go("RECOVER", `link lost: ${err.reason}`);
    await this.blocks.publishAllBad(REASON.disconnected);
    await this.driver.close().catch(() => {});
  }

  private onLinkLost(err: NodiError): void {
    if (this.fsm.state !== "EXECUTE" || this.linkLostError || !this.linkUp) return;
    this.linkLostError = err;
    this.status.recordError(err, "link");
    this.signal();
  }

  // ── reload ────────────────────────────────────────────────────────────────────────────────

  private onReloadEvent(ev: BusEvent): void {
    // The resync snapshot at subscription start is the last request, already applied by start-up.
    if (ev.kind === "resync") return;
    this.log.info({ event: ev.kind }, "config_reload received");
    this.requestReload();
  }

  /** Re-reads the SoT and applies the difference (DESIGN.md §2 "Reconfiguration"). */
  private async reloadStep(): Promise<void> {
    this.reloadWanted = false;
    let next: ConnectionConfig | undefined;
    try {
      next = this.deps.loadConfig();
    } catch (e) {
      this.refuseReload(toNodiError(e, "communication"));
      return;
    }
    const plan = planReload(this.raw, next);
    this.log.info({ change: plan.change }, "configuration re-read");
    switch (plan.kind) {
      case "none":
        return;
      case "refuse":
        this.refuseReload(plan.err);
        return;
      case "exit":
        if (plan.code === EXIT.REMOVED) {
          await this.blocks.stop(this.driver);
          await this.blocks.publishAllBad(REASON.removed);
        }
        throw new ExitRequest(plan.code, plan.why);
      case "hot":
        await this.hot(plan.next);
    }
  }

  /** Hot-reloads to the stored configuration `raw` (planned with the refused spans known). */
  private async hot(raw: ConnectionConfig): Promise<void> {
    // A write arriving now waits for the reload to finish.
    let done!: () => void;
    this.reloading = new Promise((r) => {
      done = r;
    });
    this.replanWanted = false; // the plan below takes every span learned so far
    try {
      await hotReload(
        {
          log: this.log,
          fsm: this.fsm,
          blocks: this.blocks,
          driver: this.driver,
          counters: this.counters,
          linkUp: () => this.linkUp,
          adopt: (cfg) => {
            this.raw = raw;
            this.adopt(cfg);
          },
          refuse: (err) => this.refuseReload(err),
        },
        this.config,
        this.planned(raw),
      );
    } finally {
      this.reloading = undefined;
      done();
    }
  }

  // ── refused spans (automatic blocks) ──────────────────────────────────────────────────────

  /**
   * A block's read was answered with exception 02: when it is a generated block, its span is
   * remembered and the auto tags are planned again around it (docs/modbus.md "Automatic
   * blocks"); explicit blocks are the engineer's, left as they are.
   */
  private onRefused(block: Block): void {
    if (!this.autoIds.has(block.block_id)) return;
    const span = this.refused.add(block);
    if (!span) return;
    this.log.warn(
      { block: block.block_id, span },
      `device refused ${block.table} ${span.start}–${span.end - 1} (exception 02): planning the automatic blocks around it`,
    );
    this.status.publishSystem([
      {
        path: systemTagPath(this.appId, HEALTH_TAGS.refusedSpans),
        value: JSON.stringify(this.refused.list()),
        quality: "good",
        ts: Date.now(),
      },
    ]);
    this.replanWanted = true;
    this.signal();
  }

  /** Plans the running configuration again with the refused spans learned (a hot reload). */
  private async replanStep(): Promise<void> {
    this.counters.replans++;
    await this.hot(this.raw);
  }

  /** The same while the block timers are stopped (CONNECT, after a link loss): no FSM moves. */
  private async replanStopped(): Promise<void> {
    this.replanWanted = false;
    const next = this.planned(this.raw);
    try {
      await this.driver.configure(enabledBlocks(next), enabledTags(next), next.devices ?? []);
      this.adopt(next);
      this.counters.replans++;
    } catch (e) {
      // cannot happen for a plan of a valid configuration; keep the running one
      this.status.recordError(toNodiError(e, "configuration"), "replan");
      await this.driver.configure(
        enabledBlocks(this.config),
        enabledTags(this.config),
        this.config.devices ?? [],
      );
    }
  }

  private refuseReload(err: NodiError): void {
    this.counters.reloadsRefused++;
    this.status.recordError(err, "reload");
    this.log.error({ err: err.message }, "new configuration refused; running the old one");
  }

  // ── shutdown ──────────────────────────────────────────────────────────────────────────────

  private async shutdown(code: number, why: string): Promise<void> {
    const level = code === EXIT.OK ? "info" : code === EXIT.CRASH ? "error" : "warn";
    this.log[level]({ code, why }, "stopping");
    this.deps.notifier?.notify(`STOPPING=1\nSTATUS=STOP: ${why}`);
    await this.status.stopHealthTimer();
    this.busStall.stop();
    await this.watchdogTimer?.stop();
    if (this.fsm.state !== "STOP") {
      const wasUp = this.fsm.state !== "INIT";
      await this.blocks.stop(this.driver).catch(() => {});
      await Promise.all(this.subs.map((s) => s.close().catch(() => {})));
      await this.queue.close(new NodiError("communication", "stopping", REASON.stopped));
      if (wasUp && this.blocks.tagNames().length > 0) {
        await this.blocks.publishAllBad(code === EXIT.REMOVED ? REASON.removed : REASON.stopped);
      }
      this.fsm.go("STOP", why);
    }
    if (this.driver) await this.driver.close().catch(() => {});
    this.linkUp = false;
    await this.status.flush();
  }
}
