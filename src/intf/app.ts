import { errorPolicy, NodiError, toNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import type { Logger } from "../core/log.ts";
import { parseTagPath, SYSTEM_TAGS, systemTagPath } from "../core/paths.ts";
import { REASON } from "../core/quality.ts";
import type { TagSample } from "../core/tag-value.ts";
import type { Driver, TagReading } from "../drivers/driver.ts";
import { classifyChange } from "../store/changes.ts";
import type { Block, Connection, ConnectionConfig, Tag } from "../store/schema.ts";
import { formatIssue, validateConfig } from "../store/validate.ts";
import type {
  BusEvent,
  Subscription,
  TagBus,
  WriteRequest,
  WriteResult,
} from "../tagbus/tagbus.ts";
import { monotonicClock, type TimerClock } from "../timer/clock.ts";
import { PeriodicTimer } from "../timer/periodic-timer.ts";
import { Backoff } from "./backoff.ts";
import { AppFsm, type AppState } from "./fsm.ts";
import {
  type BlockHealth,
  HEALTH_INTERVAL_MS,
  HEALTH_TAGS,
  type IntfCounters,
  type IntfHealth,
  type LastError,
  RECENT_LOGS_MAX,
  type RecentLog,
  zeroCounters,
} from "./health.ts";
import { LinkQueue } from "./link-queue.ts";
import { RateLimitedLog } from "./rate-limited-log.ts";
import type { Notifier } from "./sd-notify.ts";
import { HEARTBEAT_MS, TagPublisher } from "./tag-publisher.ts";

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
  /** Clock of the block timers. Default {@link monotonicClock}. */
  clock?: TimerClock;
  options?: IntfAppOptions;
}

interface BlockRun {
  block: Block;
  tagNames: string[];
  timer?: PeriodicTimer;
  pushed: boolean;
  health: BlockHealth;
}

/** Thrown inside the app to end `run()` with an exit code. */
class ExitRequest extends Error {
  constructor(
    readonly code: number,
    readonly why: string,
  ) {
    super(why);
  }
}

/**
 * The interface app of one connection (DESIGN.md §2, docs/intf.md): life cycle, block
 * scheduling on one serialised link, publishing, writes, reload, health.
 *
 * Use: `const code = await app.run()` (resolves with an exit code from `core/exit-codes.ts`
 * when the app stops), and `app.requestStop("SIGTERM")` to stop it.
 */
export class IntfApp {
  readonly fsm = new AppFsm();
  readonly counters: IntfCounters = zeroCounters();
  private readonly appId: string;
  private readonly log: Logger;
  private readonly bus: TagBus;
  private readonly clock: TimerClock;
  private readonly rlog: RateLimitedLog;
  private readonly publisher: TagPublisher;
  private readonly opts: Required<IntfAppOptions>;
  private config!: ConnectionConfig;
  private driver!: Driver;
  private queue = new LinkQueue();
  private blocks = new Map<string, BlockRun>();
  private tagsByName = new Map<string, Tag>();
  private backoff!: Backoff;
  private linkUp = false;
  private connectedOnce = false;
  private readonly startedAt = Date.now();
  private lastGoodPoll: number | null = null;
  private lastError: LastError | undefined;
  private recentLogs: RecentLog[] = [];
  private healthTimer: PeriodicTimer | undefined;
  private watchdogTimer: PeriodicTimer | undefined;
  private subs: Subscription[] = [];
  private sysChain: Promise<void> = Promise.resolve();
  private pushChain: Promise<void> = Promise.resolve();
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
    this.clock = deps.clock ?? monotonicClock;
    this.opts = {
      healthIntervalMs: HEALTH_INTERVAL_MS,
      heartbeatMs: HEARTBEAT_MS,
      errorLogIntervalMs: 60_000,
      random: Math.random,
      ...deps.options,
    };
    this.rlog = new RateLimitedLog(this.log, this.opts.errorLogIntervalMs);
    this.publisher = new TagPublisher(this.appId, this.bus, this.opts.heartbeatMs);
    this.fsm.onChange((c) => {
      this.log.info({ from: c.from, to: c.to, reason: c.reason }, `state ${c.to}`);
      this.remember("info", `state ${c.to}: ${c.reason}`);
      this.deps.notifier?.notify(`STATUS=${c.to}: ${c.reason}`);
      this.publishSystem([this.stateSample(), this.healthSample()]);
    });
  }

  /** The current life-cycle state. */
  get state(): AppState {
    return this.fsm.state;
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
    const blocks: Record<string, BlockHealth> = {};
    for (const [id, b] of this.blocks) {
      blocks[id] = { ...b.health, ...(b.timer ? { timer: b.timer.stats() } : {}) };
    }
    return {
      v: 1,
      appId: this.appId,
      pid: process.pid,
      state: this.fsm.state,
      stateReason: this.fsm.reason,
      startedAt: this.startedAt,
      lastGoodPoll: this.lastGoodPoll,
      counters: { ...this.counters },
      blocks,
      bus: this.bus.stats(),
      recentLogs: [...this.recentLogs],
    };
  }

  private remember(level: RecentLog["level"], msg: string): void {
    this.recentLogs.push({ ts: Date.now(), level, msg });
    if (this.recentLogs.length > RECENT_LOGS_MAX) this.recentLogs.shift();
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
    const problem = this.validate(cfg);
    if (problem) {
      this.recordError(new NodiError("configuration", problem), "configure");
      throw new ExitRequest(EXIT.CONFIG, problem);
    }
    try {
      this.driver = await this.deps.createDriver(cfg.connection);
      await this.driver.configure(enabledBlocks(cfg), enabledTags(cfg));
    } catch (e) {
      const err = toNodiError(e, "configuration");
      this.recordError(err, "configure");
      throw new ExitRequest(EXIT.CONFIG, `configuration refused: ${err.message}`);
    }
    this.adopt(cfg);
    this.driver.onLinkLost?.((err) => this.onLinkLost(err));
    try {
      this.subs.push(
        await this.bus.subscribe([SYSTEM_TAGS.configReload(this.appId)], (ev) =>
          this.onReloadEvent(ev),
        ),
      );
      this.subs.push(await this.bus.serveWrites(this.appId, (req) => this.handleWrite(req)));
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.log.error({ err: err.message }, `tag bus unavailable: ${err.message}`);
      throw new ExitRequest(EXIT.UNAVAILABLE, `tag bus unavailable: ${err.message}`);
    }
    this.healthTimer = new PeriodicTimer({
      periodMs: this.opts.healthIntervalMs,
      onTick: () => this.publishSystem([this.healthSample()]),
    });
    this.healthTimer.start();
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

  /** Takes `cfg` as the running configuration (blocks, tags, link settings). */
  private adopt(cfg: ConnectionConfig): void {
    this.config = cfg;
    const c = cfg.connection;
    this.backoff ??= new Backoff(c.backoff_initial_ms, c.backoff_max_ms, this.opts.random);
    // inter_request_delay_ms is kept by the driver (a block may be several requests on the
    // wire); the queue's own gap stays 0 so the pause is not applied twice.
    this.tagsByName = new Map(enabledTags(cfg).map((t) => [t.tag_name, t]));
    const old = this.blocks;
    this.blocks = new Map();
    for (const b of enabledBlocks(cfg)) {
      const prev = old.get(b.block_id)?.health;
      this.blocks.set(b.block_id, {
        block: b,
        tagNames: enabledTags(cfg)
          .filter((t) => t.block_id === b.block_id)
          .map((t) => t.tag_name),
        pushed: false,
        health: prev
          ? { ...prev, timer: undefined }
          : { mode: "poll", consecutiveErrors: 0, lastGood: null, lastErrorReason: null },
      });
    }
  }

  /** Cross-row validation of a configuration; returns a message or undefined. */
  private validate(cfg: ConnectionConfig): string | undefined {
    const r = validateConfig({ connections: [cfg.connection], blocks: cfg.blocks, tags: cfg.tags });
    if (r.ok) return undefined;
    return `invalid configuration: ${r.issues.slice(0, 5).map(formatIssue).join("; ")}${r.issues.length > 5 ? ` (+${r.issues.length - 5} more)` : ""}`;
  }

  // ── the control loop ──────────────────────────────────────────────────────────────────────

  private signal(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits until an event is pending or `timeoutMs` passed. */
  private waitEvent(timeoutMs?: number): Promise<void> {
    if (this.stopWanted || this.reloadWanted || this.linkLostError) return Promise.resolve();
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
        this.recordError(err, "connect");
        await this.driver.close().catch(() => {});
        if (this.stopWanted) return;
        this.fsm.go("RECOVER", `connect failed: ${err.reason}`);
        await this.publishAllBad(REASON.disconnected);
        return;
      }
    }
    if (this.stopWanted) return;
    this.fsm.go("EXECUTE", kept ? "reloaded, link kept" : "connected");
    await this.startBlocks();
    if (!this.readyNotified) {
      this.readyNotified = true;
      this.deps.notifier?.notify("READY=1\nSTATUS=EXECUTE");
    }
  }

  private async enterRecover(err: NodiError): Promise<void> {
    this.linkUp = false;
    this.queue.failPending(err);
    await this.stopBlocks();
    this.linkLostError = undefined;
    this.fsm.go("RECOVER", `link lost: ${err.reason}`);
    await this.publishAllBad(REASON.disconnected);
    await this.driver.close().catch(() => {});
  }

  private onLinkLost(err: NodiError): void {
    if (this.fsm.state !== "EXECUTE" || this.linkLostError || !this.linkUp) return;
    this.linkLostError = err;
    this.recordError(err, "link");
    this.signal();
  }

  // ── blocks ────────────────────────────────────────────────────────────────────────────────

  private async startBlocks(): Promise<void> {
    const runs = [...this.blocks.values()];
    const polled = runs.filter(
      (r) => r.block.period_ms != null && !this.driver.push?.pushes(r.block),
    );
    polled.forEach((r, i) => {
      const period = r.block.period_ms as number;
      const phase = r.block.phase_ms ?? Math.floor((i * period) / polled.length);
      r.health.mode = "poll";
      r.timer = new PeriodicTimer({
        periodMs: period,
        phaseMs: phase,
        clock: this.clock,
        onTick: () => this.pollBlock(r),
        onError: (e) => this.log.error({ err: String(e), block: r.block.block_id }, "tick failed"),
      });
      r.timer.start();
    });
    const push = this.driver.push;
    if (!push) return;
    for (const r of runs) {
      if (!push.pushes(r.block)) continue;
      r.health.mode = "push";
      r.pushed = true; // before start: a driver may deliver initial values during start()
      try {
        await push.start(r.block, (readings) => this.onPush(r, readings));
      } catch (e) {
        r.pushed = false;
        const err = toNodiError(e, "communication");
        this.recordError(err, `block:${r.block.block_id}`);
        if (errorPolicy[err.kind].linkLost) {
          this.onLinkLost(err);
          return;
        }
        await this.publisher.publishBad(r.tagNames, err.reason).catch(() => 0);
      }
    }
  }

  private async stopBlocks(): Promise<void> {
    const runs = [...this.blocks.values()];
    await Promise.all(runs.map((r) => r.timer?.stop()));
    for (const r of runs) {
      if (r.pushed) {
        r.pushed = false;
        await this.driver.push?.stop(r.block.block_id);
      }
    }
    await this.pushChain;
  }

  private onPush(r: BlockRun, readings: TagReading[]): void {
    if (this.fsm.state !== "EXECUTE" || !r.pushed) return;
    const t = Date.now();
    this.lastGoodPoll = t;
    r.health.lastGood = t;
    this.pushChain = this.pushChain
      .then(() => this.publishReadings(readings))
      .catch((e) => this.log.error({ err: String(e) }, "publish failed"));
  }

  private async pollBlock(r: BlockRun): Promise<void> {
    if (this.fsm.state !== "EXECUTE") return;
    const id = r.block.block_id;
    let readings: TagReading[];
    try {
      readings = await this.queue.run("read", id, () => this.driver.read(id));
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.counters.readErrors++;
      r.health.consecutiveErrors++;
      r.health.lastErrorReason = err.reason;
      if (errorPolicy[err.kind].linkLost) {
        this.onLinkLost(err);
        return;
      }
      this.recordError(err, `block:${id}`);
      if (this.fsm.state === "EXECUTE") {
        await this.safePublish(() => this.publisher.publishBad(r.tagNames, err.reason));
      }
      return;
    }
    this.counters.reads++;
    const t = Date.now();
    this.lastGoodPoll = t;
    r.health.lastGood = t;
    if (r.health.consecutiveErrors > 0) {
      r.health.consecutiveErrors = 0;
      this.rlog.clearPrefix(`block:${id}:`, { block: id }, "block recovered");
    }
    if (this.fsm.state !== "EXECUTE") return; // link lost meanwhile: don't publish good
    await this.publishReadings(readings);
  }

  private async publishReadings(readings: readonly TagReading[]): Promise<void> {
    await this.safePublish(() =>
      this.publisher.publish(readings, (name) => this.tagsByName.get(name)?.deadband ?? 0),
    );
  }

  private async safePublish(fn: () => Promise<number>): Promise<void> {
    try {
      this.counters.samplesPublished += await fn();
    } catch (e) {
      const err = toNodiError(e);
      this.rlog.warn(`publish:${err.reason}`, { err: err.message }, "publish failed");
    }
  }

  private async publishAllBad(reason: string): Promise<void> {
    await this.safePublish(() => this.publisher.publishBad([...this.tagsByName.keys()], reason));
  }

  // ── writes ────────────────────────────────────────────────────────────────────────────────

  private async handleWrite(req: WriteRequest): Promise<WriteResult> {
    const result = await this.doWrite(req);
    if (result.ok) this.counters.writes++;
    else this.counters.writeErrors++;
    this.log.info(
      {
        path: req.path,
        origin: req.origin,
        ok: result.ok,
        ...(result.ok ? {} : { reason: result.reason }),
      },
      "write",
    );
    return result;
  }

  private async doWrite(req: WriteRequest): Promise<WriteResult> {
    const p = parseTagPath(req.path);
    if (p?.kind !== "data" || p.connId !== this.appId) {
      return { ok: false, reason: "not_found", message: `no tag ${req.path}` };
    }
    if (this.reloading) await this.reloading;
    const tag = this.tagsByName.get(p.tagName);
    if (!tag) return { ok: false, reason: "not_found", message: `no tag ${req.path}` };
    if (tag.access !== "read-write") {
      return { ok: false, reason: "read_only", message: `${req.path} is read-only` };
    }
    if (this.fsm.state !== "EXECUTE" || !this.linkUp) {
      return { ok: false, reason: REASON.disconnected, message: `link is ${this.fsm.state}` };
    }
    if (Date.now() > req.deadline) return { ok: false, reason: "timeout" };
    try {
      await this.queue.run("write", `write:${tag.tag_name}`, () =>
        this.driver.write(tag, req.value),
      );
      return { ok: true };
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.recordError(err, `write:${tag.tag_name}`);
      if (errorPolicy[err.kind].linkLost) this.onLinkLost(err);
      return { ok: false, reason: err.reason, message: err.message };
    }
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
    const change = classifyChange(this.config, next);
    this.log.info({ change: change.kind }, "configuration re-read");
    if (change.kind === "removed" || !next) {
      await this.stopBlocks();
      await this.publishAllBad(REASON.removed);
      throw new ExitRequest(EXIT.REMOVED, next ? "connection disabled" : "connection removed");
    }
    if (change.kind === "unchanged") return;
    const problem = this.validate(next);
    if (problem) {
      this.refuseReload(new NodiError("configuration", problem));
      return;
    }
    if (change.kind === "connection_changed") {
      throw new ExitRequest(EXIT.RESTART, "connection settings changed");
    }
    // blocks_changed: hot reload, the link kept.
    let done!: () => void;
    this.reloading = new Promise((r) => {
      done = r;
    });
    try {
      this.fsm.go("CONFIGURE", "config_reload");
      await this.stopBlocks();
      const before = new Set(this.tagsByName.keys());
      try {
        await this.driver.configure(enabledBlocks(next), enabledTags(next));
        this.adopt(next);
        this.counters.reloads++;
        const gone = [...before].filter((n) => !this.tagsByName.has(n));
        if (gone.length > 0) {
          await this.safePublish(() => this.publisher.publishBad(gone, REASON.removed));
          for (const n of gone) this.publisher.forget(n);
        }
        this.log.info(
          { blocks: this.blocks.size, tags: this.tagsByName.size, removedTags: gone.length },
          "configuration reloaded",
        );
      } catch (e) {
        this.refuseReload(toNodiError(e, "configuration"));
        await this.driver.configure(enabledBlocks(this.config), enabledTags(this.config));
      }
      this.fsm.go("CONNECT", this.linkUp ? "reloaded, link kept" : "reloaded");
    } finally {
      this.reloading = undefined;
      done();
    }
  }

  private refuseReload(err: NodiError): void {
    this.counters.reloadsRefused++;
    this.recordError(err, "reload");
    this.log.error({ err: err.message }, "new configuration refused; running the old one");
  }

  // ── health, errors, shutdown ─────────────────────────────────────────────────────────────

  /** Logs (rate-limited) and records an error as `last_error`. */
  private recordError(err: NodiError, where: string): void {
    const at = Date.now();
    this.lastError = { at, kind: err.kind, reason: err.reason, message: err.message, where };
    const logged = this.rlog.warn(
      `${where}:${err.kind}:${err.reason}`,
      { where, kind: err.kind, reason: err.reason, details: err.details },
      err.message,
    );
    if (logged) {
      this.remember("warn", `${where}: ${err.message}`);
      this.publishSystem([
        {
          path: systemTagPath(this.appId, HEALTH_TAGS.lastError),
          value: JSON.stringify(this.lastError),
          quality: "good",
          reason: err.reason,
          ts: at,
        },
      ]);
    }
  }

  private stateSample(): TagSample {
    return {
      path: systemTagPath(this.appId, HEALTH_TAGS.state),
      value: this.fsm.state,
      quality: "good",
      reason: this.fsm.reason,
      ts: Date.now(),
    };
  }

  private healthSample(): TagSample {
    return {
      path: systemTagPath(this.appId, HEALTH_TAGS.health),
      value: JSON.stringify(this.health()),
      quality: "good",
      ts: Date.now(),
    };
  }

  /** Publishes system samples in order, never throwing. */
  private publishSystem(samples: TagSample[]): void {
    this.sysChain = this.sysChain
      .then(() => this.bus.publish(samples))
      .catch((e) => this.log.warn({ err: String(e) }, "system tag publish failed"));
  }

  private async shutdown(code: number, why: string): Promise<void> {
    const level = code === EXIT.OK ? "info" : code === EXIT.CRASH ? "error" : "warn";
    this.log[level]({ code, why }, "stopping");
    this.deps.notifier?.notify(`STOPPING=1\nSTATUS=STOP: ${why}`);
    await this.healthTimer?.stop();
    await this.watchdogTimer?.stop();
    if (this.fsm.state !== "STOP") {
      const wasUp = this.fsm.state !== "INIT";
      await this.stopBlocks().catch(() => {});
      await Promise.all(this.subs.map((s) => s.close().catch(() => {})));
      await this.queue.close(new NodiError("communication", "stopping", REASON.stopped));
      if (wasUp && this.tagsByName.size > 0) {
        await this.publishAllBad(code === EXIT.REMOVED ? REASON.removed : REASON.stopped);
      }
      this.fsm.go("STOP", why);
    }
    if (this.driver) await this.driver.close().catch(() => {});
    this.linkUp = false;
    await this.sysChain;
  }
}

function enabledBlocks(cfg: ConnectionConfig): Block[] {
  return cfg.blocks.filter((b) => b.enabled);
}

function enabledTags(cfg: ConnectionConfig): Tag[] {
  const on = new Set(enabledBlocks(cfg).map((b) => b.block_id));
  return cfg.tags.filter((t) => on.has(t.block_id));
}

/** Rejects with NodiError(timeout) when `p` does not settle within `ms`. */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let handle: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    handle = setTimeout(
      () => reject(new NodiError("timeout", `${what} took longer than ${ms} ms`, "timeout")),
      ms,
    );
  });
  return Promise.race([p, t]).finally(() => clearTimeout(handle));
}
