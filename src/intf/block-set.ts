import { errorPolicy, NodiError, toNodiError } from "../core/errors.ts";
import type { Logger } from "../core/log.ts";
import type { Driver, TagReading } from "../drivers/driver.ts";
import type { Block, ConnectionConfig, Tag } from "../store/schema.ts";
import type { TagBus } from "../tagbus/tagbus.ts";
import type { TimerClock } from "../timer/clock.ts";
import { PeriodicTimer, type TickInfo } from "../timer/periodic-timer.ts";
import { enabledBlocks, enabledTags } from "./config-view.ts";
import { DEMOTED_REASON, DeviceDemotion, type DeviceHealth, deviceKey } from "./device-demotion.ts";
import type { BlockHealth, IntfCounters } from "./health.ts";
import type { HeapTrim } from "./heap-trim.ts";
import type { LinkQueue } from "./link-queue.ts";
import type { RateLimitedLog } from "./rate-limited-log.ts";
import { TagPublisher } from "./tag-publisher.ts";

/** One block of the running configuration. */
interface BlockRun {
  block: Block;
  tagNames: string[];
  timer?: PeriodicTimer;
  pushed: boolean;
  health: BlockHealth;
  /** The reason of the block's last read when the device gave no reply ({@link isNoReply}); undefined after a reply. */
  noReply?: string;
}

/**
 * Whether a block error means the device gave no reply at all (rather than an answer that
 * refused or could not be decoded): kind `timeout`, or the Modbus gateway exception 0x0B
 * `GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND`, a gateway's way of saying its target did not
 * answer (Modbus Application Protocol v1.1b3 §7).
 */
export function isNoReply(err: NodiError): boolean {
  return err.kind === "timeout" || err.reason === "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND";
}

/** What a {@link BlockSet} is given by the app. */
export interface BlockSetDeps {
  appId: string;
  bus: TagBus;
  log: Logger;
  rlog: RateLimitedLog;
  clock: TimerClock;
  queue: LinkQueue;
  counters: IntfCounters;
  /** Republish interval of unchanged values, ms. */
  heartbeatMs: number;
  /** True while the app is in EXECUTE (only then are reads published as good). */
  executing: () => boolean;
  /** Logs and records an error (`StatusReporter.recordError`). */
  recordError: (err: NodiError, where: string) => void;
  /** Reports a link error (kind `communication`) to the control loop. */
  onLinkLost: (err: NodiError) => void;
  /** A device of a multi-device link was demoted or promoted (publish `/system/{app_id}/devices`). */
  onDeviceState?: () => void;
  /** Observer of every block tick (diagnostics, tests): the block and the tick's grid deadline. */
  onTick?: (blockId: string, tick: TickInfo) => void;
  /**
   * Called when the last read of EVERY polled block got no reply ({@link isNoReply}), with
   * that read's reason, and with `undefined` on the first reply after that: once per flip,
   * not per poll (docs/intf.md "Block errors").
   */
  onSilence?: (reason: string | undefined) => void;
  /**
   * The device answered a read of `block` with exception 02 ILLEGAL_DATA_ADDRESS (Modbus
   * Application Protocol v1.1b3 §7): the app learns the refused span of a generated block.
   */
  onRefused?: (block: Block) => void;
  /**
   * A polled block's read (`pushed` false) or a pushed block's readings (`pushed` true) were
   * published: the app is idle until its next tick or notification (the app runs its
   * {@link HeapTrim} here, at a slower pace after polls).
   */
  afterPublish?: (pushed: boolean) => void;
  /** {@link BlockSet.start} started every block (timers and pushes): start-up garbage is dead. */
  afterStart?: () => void;
}

/** Pause between two read-back attempts while the device does not answer, ms. */
export const READBACK_RETRY_MS = 200;

/**
 * The blocks and tags of the running configuration (docs/intf.md "Scheduling", "Publishing"):
 * one `PeriodicTimer` per polled block whose tick reads the block through the link queue
 * and publishes what passes the deadband/heartbeat ({@link TagPublisher}) as one batch; pushed
 * blocks (`driver.push`) deliver their readings themselves. Block errors make that block's
 * tags `bad` with the error's reason; link errors go to `onLinkLost`.
 */
export class BlockSet {
  private blocks = new Map<string, BlockRun>();
  private tagsByName = new Map<string, Tag>();
  private readonly publisher: TagPublisher;
  private pushChain: Promise<void> = Promise.resolve();
  /** Monotonic ms each block's grid is anchored at: its timer's first start, kept for the process. */
  private origins = new Map<string, number>();
  /** Blocks to read back at once (an outcome-unknown write touched them). */
  private readbacks = new Set<string>();
  private readbackRun: Promise<void> | undefined;
  private readbackWake: (() => void) | undefined;
  private started = false;
  /** Every polled block's last read got no reply (reported through `onSilence`). */
  private silent = false;
  /** Auto-demotion of the devices of a multi-device link (device-demotion.ts). */
  private readonly demotion = new DeviceDemotion();
  /** Epoch ms of the last successful read or push of any block, or null. */
  lastGoodPoll: number | null = null;

  constructor(private readonly d: BlockSetDeps) {
    this.publisher = new TagPublisher(d.appId, d.bus, d.heartbeatMs);
  }

  /** Number of enabled blocks. */
  get size(): number {
    return this.blocks.size;
  }

  /** The tag's last published value (`null`: bad), `undefined` before its first (audit: previous value). */
  lastValue(tagName: string): unknown {
    return this.publisher.lastValue(tagName);
  }

  /** The enabled tag named `name`, or undefined. */
  tag(name: string): Tag | undefined {
    return this.tagsByName.get(name);
  }

  /** Names of every enabled tag. */
  tagNames(): string[] {
    return [...this.tagsByName.keys()];
  }

  /** Takes the blocks and tags of `cfg`, keeping the health of blocks that stay. Timers must be stopped. */
  adopt(cfg: ConnectionConfig): void {
    const tags = enabledTags(cfg);
    this.demotion.adopt(cfg);
    this.tagsByName = new Map(tags.map((t) => [t.tag_name, t]));
    const old = this.blocks;
    this.blocks = new Map();
    for (const b of enabledBlocks(cfg)) {
      const prev = old.get(b.block_id)?.health;
      this.blocks.set(b.block_id, {
        block: b,
        tagNames: tags.filter((t) => t.block_id === b.block_id).map((t) => t.tag_name),
        pushed: false,
        health: prev
          ? { ...prev, timer: undefined }
          : { mode: "poll", consecutiveErrors: 0, lastGood: null, lastErrorReason: null },
      });
    }
  }

  /**
   * Per-device health of a multi-device link (`""` = the connection's default device), or
   * undefined for a connection without named devices.
   */
  deviceHealth(): Record<string, DeviceHealth> | undefined {
    return this.demotion.active ? this.demotion.health() : undefined;
  }

  /** Per-block health by `block_id`, with the timers' statistics. */
  health(): Record<string, BlockHealth> {
    const out: Record<string, BlockHealth> = {};
    for (const [id, b] of this.blocks) {
      out[id] = { ...b.health, ...(b.timer ? { timer: b.timer.stats() } : {}) };
    }
    return out;
  }

  /**
   * Starts a timer per polled block (phase: `phase_ms`, else `i · period / n`) and the
   * driver's push for pushed blocks. A block's timer is anchored at the origin of its first
   * timer for the whole process, so it keeps its grid across reconnects and reloads: after
   * one, it polls at its next grid point, not at once. Read-backs still
   * pending (an outcome-unknown write, then the link was lost) run at once.
   */
  async start(driver: Driver): Promise<void> {
    const runs = [...this.blocks.values()];
    const polled = runs.filter((r) => this.isPolled(driver, r));
    this.started = true;
    this.silent = false;
    for (const r of runs) r.noReply = undefined;
    polled.forEach((r, i) => {
      const period = r.block.period_ms as number;
      const phase = r.block.phase_ms ?? Math.floor((i * period) / polled.length);
      r.health.mode = "poll";
      r.timer = new PeriodicTimer({
        periodMs: period,
        phaseMs: phase,
        origin: this.origins.get(r.block.block_id),
        clock: this.d.clock,
        onTick: async (tick) => {
          this.d.onTick?.(r.block.block_id, tick);
          await this.poll(driver, r);
        },
        onError: (e) =>
          this.d.log.error({ err: String(e), block: r.block.block_id }, "tick failed"),
      });
      r.timer.start();
      this.origins.set(r.block.block_id, r.timer.gridOrigin);
    });
    if (this.readbacks.size > 0) this.startReadbacks(driver);
    // A device still demoted across a reconnect or reload: its tags say so (not `disconnected`).
    for (const [dev, h] of Object.entries(this.demotion.health())) {
      if (h.state === "demoted") await this.publishBad(this.deviceTagNames(dev), DEMOTED_REASON);
    }
    await this.startPushes(driver, runs);
    this.d.afterStart?.();
  }

  private async startPushes(driver: Driver, runs: BlockRun[]): Promise<void> {
    const push = driver.push;
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
        this.d.recordError(err, `block:${r.block.block_id}`);
        if (errorPolicy[err.kind].linkLost) {
          this.d.onLinkLost(err);
          return;
        }
        await this.publisher.publishBad(r.tagNames, err.reason).catch(() => 0);
      }
    }
  }

  /**
   * Reads the block of `tag` back as soon as the link answers, whatever its period (after a
   * write whose outcome is unknown, so that the bus shows what the device holds): at once,
   * then every {@link READBACK_RETRY_MS} while the read fails, until one succeeds (a regular
   * poll of the block counts). Only polled blocks: a write-only or pushed block publishes
   * nothing to correct. A link lost meanwhile keeps the request for the next start.
   */
  readBack(driver: Driver, tag: Tag): void {
    const r = this.blocks.get(tag.block_id ?? "");
    if (!r || !this.isPolled(driver, r)) return;
    this.readbacks.add(r.block.block_id);
    if (this.started) this.startReadbacks(driver);
  }

  private isPolled(driver: Driver, r: BlockRun): boolean {
    return r.block.period_ms != null && !driver.push?.pushes(r.block);
  }

  private startReadbacks(driver: Driver): void {
    if (this.readbackRun) return;
    this.readbackRun = this.runReadbacks(driver).finally(() => {
      this.readbackRun = undefined;
    });
  }

  private async runReadbacks(driver: Driver): Promise<void> {
    while (this.started && this.readbacks.size > 0) {
      for (const id of [...this.readbacks]) {
        const r = this.blocks.get(id);
        if (!r) {
          this.readbacks.delete(id);
          continue;
        }
        if (!this.started) return;
        this.d.log.debug({ block: id }, "reading the block back after a write of unknown outcome");
        if ((await this.poll(driver, r)) === "lost") return;
      }
      if (this.readbacks.size === 0 || !this.started) return;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, READBACK_RETRY_MS);
        this.readbackWake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.readbackWake = undefined;
    }
  }

  /** Stops every timer (awaiting the tick in flight) and every push; awaits pushed publishes. */
  async stop(driver: Driver | undefined): Promise<void> {
    this.started = false;
    this.readbackWake?.();
    const runs = [...this.blocks.values()];
    await Promise.all(runs.map((r) => r.timer?.stop()));
    await this.readbackRun;
    for (const r of runs) {
      if (r.pushed) {
        r.pushed = false;
        await driver?.push?.stop(r.block.block_id);
      }
    }
    await this.pushChain;
  }

  /** Publishes `tagNames` bad with `reason` (never throws). */
  async publishBad(tagNames: readonly string[], reason: string): Promise<void> {
    await this.safePublish(() => this.publisher.publishBad(tagNames, reason));
  }

  /** Publishes every enabled tag bad with `reason` (never throws). */
  async publishAllBad(reason: string): Promise<void> {
    await this.publishBad(this.tagNames(), reason);
  }

  /** Forgets the last published sample of a tag that left the configuration. */
  forget(tagName: string): void {
    this.publisher.forget(tagName);
  }

  private onPush(r: BlockRun, readings: TagReading[]): void {
    if (!this.d.executing() || !r.pushed) return;
    const t = Date.now();
    this.lastGoodPoll = t;
    r.health.lastGood = t;
    this.pushChain = this.pushChain
      .then(async () => {
        await this.publishReadings(readings);
        this.d.afterPublish?.(true);
      })
      .catch((e) => this.d.log.error({ err: String(e) }, "publish failed"));
  }

  /**
   * Reads and publishes one block; says whether it read, failed, lost the link, or was
   * skipped (its device is demoted: no request goes on the link).
   */
  private async poll(driver: Driver, r: BlockRun): Promise<"read" | "failed" | "lost" | "skipped"> {
    if (!this.d.executing()) return "lost";
    const id = r.block.block_id;
    const dev = deviceKey(r.block);
    let readings: TagReading[] | undefined;
    try {
      // Decided when the link is ours, so a block queued behind its device's demotion skips too.
      readings = await this.d.queue.run("read", id, () =>
        this.demotion.before(dev, this.d.clock.now()) === "skip"
          ? Promise.resolve(undefined)
          : driver.read(id),
      );
    } catch (e) {
      const err = toNodiError(e, "communication");
      this.d.counters.readErrors++;
      r.health.consecutiveErrors++;
      r.health.lastErrorReason = err.reason;
      if (errorPolicy[err.kind].linkLost) {
        this.d.onLinkLost(err);
        return "lost";
      }
      this.d.recordError(err, `block:${id}`);
      if (err.kind === "device_exception" && err.details.exception_code === 2) {
        this.d.onRefused?.(r.block);
      }
      r.noReply = isNoReply(err) ? err.reason : undefined;
      this.checkSilence(err.reason);
      const wasDemoted = this.demotion.health()[dev]?.state === "demoted";
      const demoted = this.demotion.failed(dev, err, this.d.clock.now(), Date.now());
      // a probe answered with an exception: the device answers again
      if (wasDemoted && this.demotion.health()[dev]?.state === "ok") this.d.onDeviceState?.();
      if (demoted) {
        const h = this.demotion.health()[dev];
        const name = dev === "" ? "the default device" : `device ${dev}`;
        this.d.recordError(
          new NodiError(
            "timeout",
            `${name} (unit ${h?.unitId ?? "?"}) demoted after ${h?.consecutiveTimeouts} timeouts in a row: its requests are skipped until ${new Date(h?.demotedUntil ?? 0).toISOString()}, then probed`,
            DEMOTED_REASON,
          ),
          `device:${dev}`,
        );
        this.d.onDeviceState?.();
        if (this.d.executing()) await this.publishBad(this.deviceTagNames(dev), DEMOTED_REASON);
      } else if (this.d.executing()) {
        const isDemoted = this.demotion.health()[dev]?.state === "demoted";
        await this.publishBad(r.tagNames, isDemoted ? DEMOTED_REASON : err.reason);
      }
      return "failed";
    }
    if (readings === undefined) return "skipped";
    if (this.demotion.answered(dev, Date.now())) {
      this.d.log.info({ device: dev }, "device answered its probe: promoted, polling again");
      this.d.rlog.clearPrefix(`device:${dev}:`, { device: dev }, "device back");
      this.d.onDeviceState?.();
    }
    this.readbacks.delete(id);
    this.d.counters.reads++;
    const t = Date.now();
    this.lastGoodPoll = t;
    r.health.lastGood = t;
    if (r.health.consecutiveErrors > 0) {
      r.health.consecutiveErrors = 0;
      this.d.rlog.clearPrefix(`block:${id}:`, { block: id }, "block recovered");
    }
    if (!this.d.executing()) return "lost"; // link lost meanwhile: don't publish good
    r.noReply = undefined;
    this.checkSilence(undefined);
    await this.publishReadings(readings);
    this.d.afterPublish?.(false);
    return "read";
  }

  /** Reports a flip of "no polled block gets a reply" through `onSilence`. */
  private checkSilence(reason: string | undefined): void {
    if (!this.started) return;
    const polled = [...this.blocks.values()].filter((r) => r.timer);
    const silent = polled.length > 0 && polled.every((r) => r.noReply !== undefined);
    if (silent === this.silent) return;
    this.silent = silent;
    this.d.onSilence?.(silent ? reason : undefined);
  }

  /** The enabled tags of every block of device `key`. */
  private deviceTagNames(key: string): string[] {
    return [...this.blocks.values()]
      .filter((b) => deviceKey(b.block) === key)
      .flatMap((b) => b.tagNames);
  }

  private async publishReadings(readings: readonly TagReading[]): Promise<void> {
    await this.safePublish(() =>
      this.publisher.publish(readings, (name) => this.tagsByName.get(name)?.deadband ?? 0),
    );
  }

  private async safePublish(fn: () => Promise<number>): Promise<void> {
    try {
      this.d.counters.samplesPublished += await fn();
    } catch (e) {
      const err = toNodiError(e);
      this.d.rlog.warn(`publish:${err.reason}`, { err: err.message }, "publish failed");
    }
  }
}
