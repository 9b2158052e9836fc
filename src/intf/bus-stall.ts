import type { Logger } from "../core/log.ts";
import type { TagBusStats } from "../tagbus/tagbus.ts";

/** Publishing stalled this long (ms) before the first warning. */
export const BUS_STALL_WARN_MS = 5000;
/** How often the TagBus counters are sampled, ms. */
export const BUS_STALL_CHECK_MS = 1000;

/** Options of a {@link BusStallMonitor}; times in ms. */
export interface BusStallOptions {
  /** Stall time before the first warning. Default {@link BUS_STALL_WARN_MS}. */
  warnAfterMs?: number;
  /** Sampling interval. Default {@link BUS_STALL_CHECK_MS}. */
  checkMs?: number;
  /** Minimum time between two warnings of one stall. Default 60 000. */
  repeatMs?: number;
  /** Clock, epoch ms. Default `Date.now`. */
  now?: () => number;
  /** Called with a short text for each logged line (the health tag's recent logs). */
  onLine?: (level: "info" | "warn", msg: string) => void;
  /** Called once per stall, when it is first warned about. */
  onStall?: () => void;
}

/**
 * Notices when the TagBus stops taking samples (docs/intf.md "Tag bus stalls"): Redis down,
 * or hung (SIGSTOP, a blocked server) while the TCP connection stays up, so that no
 * connection error is ever raised. Samples keep going into the bus's outbox meanwhile.
 *
 * "Stalled" = samples wait (`stats().outboxLength > 0`) and `stats().published` has not moved
 * since the last sample that showed progress. After `warnAfterMs` of that one `warn` line
 * (`tag bus publishing stalled`, with `stalledMs`, `outboxLength`, `connected`), repeated at
 * most every `repeatMs`; when publishing moves again one `info` line
 * (`tag bus publishing recovered`) with `stalledMs` and `buffered` (the most samples waiting
 * at once) and `dropped` (outbox overflow during the stall). Resolution: `checkMs`.
 */
export class BusStallMonitor {
  /** Stalls long enough to be warned about, since start. */
  stalls = 0;
  private readonly o: Required<Omit<BusStallOptions, "onLine" | "onStall">> &
    Pick<BusStallOptions, "onLine" | "onStall">;
  private lastPublished = -1;
  private lastProgress: number;
  private stalledSince: number | undefined;
  private peak = 0;
  private droppedAtStart = 0;
  private warnedAt: number | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly stats: () => TagBusStats,
    private readonly log: Logger,
    options: BusStallOptions = {},
  ) {
    this.o = {
      warnAfterMs: BUS_STALL_WARN_MS,
      checkMs: BUS_STALL_CHECK_MS,
      repeatMs: 60_000,
      now: Date.now,
      ...options,
    };
    this.lastProgress = this.o.now();
  }

  /** Starts sampling every `checkMs` (the timer does not keep the process alive). */
  start(): void {
    this.timer ??= setInterval(() => this.check(), this.o.checkMs);
    this.timer.unref?.();
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** How long publishing has been stalled, ms (0 when it is not). As of the last check. */
  stalledMs(): number {
    return this.stalledSince === undefined ? 0 : this.o.now() - this.stalledSince;
  }

  /** Samples the counters once; logs as described on the class. */
  check(): void {
    const s = this.stats();
    const t = this.o.now();
    const moved = s.published !== this.lastPublished;
    this.lastPublished = s.published;
    if (s.outboxLength === 0 || moved) {
      if (this.warnedAt !== undefined && this.stalledSince !== undefined) {
        const stalledMs = t - this.stalledSince;
        const dropped = s.outboxDropped - this.droppedAtStart;
        const msg = `tag bus publishing recovered after ${stalledMs} ms; ${this.peak} samples were buffered`;
        this.log.info({ stalledMs, buffered: this.peak, dropped }, msg);
        this.o.onLine?.("info", msg);
      }
      this.stalledSince = undefined;
      this.warnedAt = undefined;
      this.peak = 0;
      this.lastProgress = t;
      return;
    }
    if (this.stalledSince === undefined) {
      this.stalledSince = this.lastProgress;
      this.droppedAtStart = s.outboxDropped;
    }
    this.peak = Math.max(this.peak, s.outboxLength);
    const stalledMs = t - this.stalledSince;
    if (stalledMs < this.o.warnAfterMs) return;
    if (this.warnedAt !== undefined && t - this.warnedAt < this.o.repeatMs) return;
    if (this.warnedAt === undefined) {
      this.stalls++;
      this.o.onStall?.();
    }
    this.warnedAt = t;
    const msg = `tag bus publishing stalled for ${stalledMs} ms; ${s.outboxLength} samples buffered`;
    this.log.warn(
      {
        stalledMs,
        outboxLength: s.outboxLength,
        connected: s.connected,
        outboxDropped: s.outboxDropped,
      },
      msg,
    );
    this.o.onLine?.("warn", msg);
  }
}
