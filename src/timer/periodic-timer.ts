import { monotonicClock, type TimerClock } from "./clock.ts";
import { SampleStats, type StatSummary } from "./sample-stats.ts";

/** What a tick handler is told about its tick. */
export interface TickInfo {
  /** Index k of the tick on the grid: deadline = origin + phase + k·period. */
  index: number;
  /** The scheduled deadline, monotonic ms. */
  deadline: number;
  /** How late the tick started, ms (≥ 0). */
  lateness: number;
}

/** Options of a {@link PeriodicTimer}. */
export interface PeriodicTimerOptions {
  /** Period, ms (> 0). */
  periodMs: number;
  /** Offset of tick 0 after the grid's origin, ms (≥ 0). Default 0. */
  phaseMs?: number;
  /**
   * Monotonic time (on `clock`) the grid is anchored at. Default: the time of `start()`.
   * A timer given the origin of an earlier one (re-created after a reconnect or a reload)
   * stays on that grid: it starts at the first grid point at or after `start()`.
   */
  origin?: number;
  /** Time source and scheduler. Default {@link monotonicClock}. */
  clock?: TimerClock;
  /**
   * Called once per tick and awaited; the next tick never starts before it settles. A
   * rejection is passed to `onError` and the timer keeps running.
   */
  onTick: (tick: TickInfo) => void | Promise<void>;
  /** Receives errors thrown by `onTick`. Default: ignored. */
  onError?: (error: unknown) => void;
}

/** Statistics of one timer, as published in the health tag. Times in ms. */
export interface TimerStats {
  periodMs: number;
  phaseMs: number;
  /** Ticks run. */
  ticks: number;
  /** Runs that ended after the next deadline (each made the timer skip ≥ 1 tick). */
  overruns: number;
  /** Grid ticks skipped on purpose because a run (or the event loop) was late. */
  skippedTicks: number;
  /** Start lateness: actual start − deadline. */
  lateness: StatSummary;
  /** Execution time of `onTick` (includes waiting for the link queue). */
  execution: StatSummary;
}

/**
 * A drift-free periodic timer (DESIGN.md §1; STYLE habit 6).
 *
 * - Tick k is due at `origin + phase + k·period`, `origin` being the monotonic time of
 *   `start()` or the one given in the options. Deadlines come from the grid, never from "now + period", so there is no
 *   cumulative drift over any run length.
 * - Never runs `onTick` concurrently with itself. When a run ends after the next deadline, the
 *   missed ticks are skipped on purpose (not fired in a burst) and counted; the next deadline
 *   is the first grid point after the run ended.
 * - `stop()` cancels the pending tick and awaits a run in flight; no tick starts after it
 *   resolves.
 */
export class PeriodicTimer {
  readonly periodMs: number;
  readonly phaseMs: number;
  private readonly clock: TimerClock;
  private origin = 0;
  private nextIndex = 0;
  private handle: unknown;
  private running = false;
  private stopped = true;
  private inFlight: Promise<void> | undefined;
  private ticks = 0;
  private overruns = 0;
  private skipped = 0;
  private readonly lateness = new SampleStats();
  private readonly execution = new SampleStats();

  /** @throws RangeError for a period ≤ 0 or a negative phase. Does not start the timer. */
  constructor(private readonly opts: PeriodicTimerOptions) {
    if (!(opts.periodMs > 0)) throw new RangeError(`periodMs must be > 0 (got ${opts.periodMs})`);
    const phase = opts.phaseMs ?? 0;
    if (!(phase >= 0)) throw new RangeError(`phaseMs must be ≥ 0 (got ${phase})`);
    this.periodMs = opts.periodMs;
    this.phaseMs = phase;
    this.clock = opts.clock ?? monotonicClock;
  }

  /** True between `start()` and `stop()`. */
  get active(): boolean {
    return !this.stopped;
  }

  /**
   * Starts the grid at the current time, or resumes the grid of `options.origin` at its first
   * point at or after now. Calling it on a running timer does nothing.
   */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const now = this.clock.now();
    this.origin = this.opts.origin ?? now;
    const base = this.origin + this.phaseMs;
    this.nextIndex = base >= now ? 0 : Math.ceil((now - base) / this.periodMs);
    this.arm();
  }

  /** Stops the timer; resolves after a run in flight has settled. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.handle !== undefined) {
      this.clock.cancel(this.handle);
      this.handle = undefined;
    }
    if (this.inFlight) await this.inFlight;
  }

  /** The monotonic time the grid is anchored at (valid once started). */
  get gridOrigin(): number {
    return this.origin;
  }

  /** Deadline of tick `k`, monotonic ms. */
  deadlineOf(k: number): number {
    return this.origin + this.phaseMs + k * this.periodMs;
  }

  /** Current statistics. */
  stats(): TimerStats {
    return {
      periodMs: this.periodMs,
      phaseMs: this.phaseMs,
      ticks: this.ticks,
      overruns: this.overruns,
      skippedTicks: this.skipped,
      lateness: this.lateness.summary(),
      execution: this.execution.summary(),
    };
  }

  private arm(): void {
    if (this.stopped) return;
    const delay = this.deadlineOf(this.nextIndex) - this.clock.now();
    this.handle = this.clock.schedule(() => this.fire(), delay);
  }

  private fire(): void {
    this.handle = undefined;
    if (this.stopped || this.running) return;
    const deadline = this.deadlineOf(this.nextIndex);
    const now = this.clock.now();
    // setTimeout may fire a little early: wait for the rest instead of ticking early.
    if (now < deadline) {
      this.handle = this.clock.schedule(() => this.fire(), deadline - now);
      return;
    }
    this.running = true;
    const index = this.nextIndex;
    const lateness = now - deadline;
    this.lateness.add(lateness);
    this.ticks++;
    this.inFlight = this.run({ index, deadline, lateness }, now);
  }

  private async run(tick: TickInfo, startedAt: number): Promise<void> {
    try {
      await this.opts.onTick(tick);
    } catch (e) {
      try {
        this.opts.onError?.(e);
      } catch {
        // an error handler that throws must not kill the timer
      }
    }
    const end = this.clock.now();
    this.execution.add(end - startedAt);
    // Next tick: the following grid point, or, when the run ended past it, the first grid
    // point at or after the end of the run (the ones in between are skipped).
    const base = this.origin + this.phaseMs;
    let next = tick.index + 1;
    if (base + next * this.periodMs < end) {
      const first = Math.ceil((end - base) / this.periodMs);
      this.skipped += first - next;
      this.overruns++;
      next = first;
    }
    this.nextIndex = next;
    this.running = false;
    this.inFlight = undefined;
    this.arm();
  }
}
