import type { NodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import { systemTagPath } from "../core/paths.ts";
import type { TagSample } from "../core/tag-value.ts";
import type { TagBus } from "../tagbus/tagbus.ts";
import { PeriodicTimer } from "../timer/periodic-timer.ts";
import type { DeviceHealth } from "./device-demotion.ts";
import type { AppFsm } from "./fsm.ts";
import {
  type BlockHealth,
  HEALTH_TAGS,
  type IntfCounters,
  type IntfHealth,
  type LastError,
  RECENT_LOGS_MAX,
  type RecentLog,
  zeroCounters,
} from "./health.ts";
import type { RateLimitedLog } from "./rate-limited-log.ts";
import type { Notifier } from "./sd-notify.ts";

/** What a {@link StatusReporter} reads and writes. */
export interface StatusReporterDeps {
  appId: string;
  log: Logger;
  bus: TagBus;
  fsm: AppFsm;
  rlog: RateLimitedLog;
  notifier?: Notifier | undefined;
  /** Per-block health (timer statistics included) and the last good poll, epoch ms or null. */
  blocks: () => {
    blocks: Record<string, BlockHealth>;
    lastGoodPoll: number | null;
    devices?: Record<string, DeviceHealth>;
  };
  /** Extra health fields of the TagBus client (e.g. the stall monitor's), merged into `bus`. */
  busExtra?: () => Partial<IntfHealth["bus"]>;
}

/**
 * The app's status on the TagBus (docs/intf.md "Health tags"): the `state`, `health` and
 * `last_error` tags under `/system/{app_id}/`, the counters, the recent-log ring, and the
 * `STATUS=` line to systemd on every state change. System tags are published in order and
 * never throw (a failure is logged at `warn`).
 */
export class StatusReporter {
  /** Counters since the process started (mutated by the parts of the app). */
  readonly counters: IntfCounters = zeroCounters();
  private readonly startedAt = Date.now();
  private lastError: LastError | undefined;
  private recentLogs: RecentLog[] = [];
  private sysChain: Promise<void> = Promise.resolve();
  private healthTimer: PeriodicTimer | undefined;

  constructor(private readonly d: StatusReporterDeps) {
    d.fsm.onChange((c) => {
      d.log.info({ from: c.from, to: c.to, reason: c.reason }, `state ${c.to}`);
      this.remember("info", `state ${c.to}: ${c.reason}`);
      d.notifier?.notify(`STATUS=${c.to}: ${c.reason}`);
      this.publishSystem([...this.devicesSample(), this.stateSample(), this.healthSample()]);
    });
  }

  /** The health object as published in `/system/{app_id}/health`. */
  health(): IntfHealth {
    const { blocks, lastGoodPoll, devices } = this.d.blocks();
    return {
      v: 1,
      appId: this.d.appId,
      pid: process.pid,
      state: this.d.fsm.state,
      stateReason: this.d.fsm.reason,
      startedAt: this.startedAt,
      lastGoodPoll,
      counters: { ...this.counters },
      blocks,
      ...(devices ? { devices } : {}),
      bus: { ...this.d.bus.stats(), ...this.d.busExtra?.() },
      recentLogs: [...this.recentLogs],
    };
  }

  /** Starts publishing `health` every `intervalMs`. */
  startHealthTimer(intervalMs: number): void {
    this.healthTimer = new PeriodicTimer({
      periodMs: intervalMs,
      onTick: () => this.publishSystem([this.healthSample()]),
    });
    this.healthTimer.start();
  }

  /** Stops the health timer (awaiting a tick in flight). */
  async stopHealthTimer(): Promise<void> {
    await this.healthTimer?.stop();
  }

  /** Adds a line to the recent-log ring of the health tag (the last {@link RECENT_LOGS_MAX}). */
  remember(level: RecentLog["level"], msg: string): void {
    this.recentLogs.push({ ts: Date.now(), level, msg });
    if (this.recentLogs.length > RECENT_LOGS_MAX) this.recentLogs.shift();
  }

  /** Logs (rate-limited per `where`, kind, reason) and records an error as `last_error`. */
  recordError(err: NodiError, where: string): void {
    const at = Date.now();
    this.lastError = { at, kind: err.kind, reason: err.reason, message: err.message, where };
    const logged = this.d.rlog.warn(
      `${where}:${err.kind}:${err.reason}`,
      { where, kind: err.kind, reason: err.reason, details: err.details },
      err.message,
    );
    if (logged) {
      this.remember("warn", `${where}: ${err.message}`);
      this.publishSystem([
        {
          path: systemTagPath(this.d.appId, HEALTH_TAGS.lastError),
          value: JSON.stringify(this.lastError),
          quality: "good",
          reason: err.reason,
          ts: at,
        },
      ]);
    }
  }

  /**
   * Publishes `/system/{app_id}/devices` (a device was demoted or promoted) with the health.
   * No-op on a connection without named devices.
   */
  publishDevices(): void {
    const d = this.devicesSample();
    if (d.length > 0) this.publishSystem([...d, this.healthSample()]);
  }

  /** The `devices` sample (device name → `ok`/`demoted`), none without named devices. */
  private devicesSample(): TagSample[] {
    const devices = this.d.blocks().devices;
    if (!devices) return [];
    const states = Object.fromEntries(Object.entries(devices).map(([k, d]) => [k, d.state]));
    return [
      {
        path: systemTagPath(this.d.appId, HEALTH_TAGS.devices),
        value: JSON.stringify(states),
        quality: "good",
        ts: Date.now(),
      },
    ];
  }

  /**
   * Publishes system samples, never throwing. They are handed to the bus at once, so they
   * reach Redis in call order with the app's data: the `state` EXECUTE of a transition is on
   * the bus before the first good value polled after it (the bus's outbox keeps call order;
   * chaining each publish behind the previous one's commit let a poll's values overtake it).
   */
  publishSystem(samples: TagSample[]): void {
    const published = this.d.bus
      .publish(samples)
      .catch((e) => this.d.log.warn({ err: String(e) }, "system tag publish failed"));
    this.sysChain = Promise.all([this.sysChain, published]).then(() => {});
  }

  /** Resolves when every system sample handed over so far has been published (or failed). */
  async flush(): Promise<void> {
    await this.sysChain;
  }

  private stateSample(): TagSample {
    return {
      path: systemTagPath(this.d.appId, HEALTH_TAGS.state),
      value: this.d.fsm.state,
      quality: "good",
      reason: this.d.fsm.reason,
      ts: Date.now(),
    };
  }

  private healthSample(): TagSample {
    return {
      path: systemTagPath(this.d.appId, HEALTH_TAGS.health),
      value: JSON.stringify(this.health()),
      quality: "good",
      ts: Date.now(),
    };
  }
}
