/** How often the trimmer looks at the notification count and the clock, ms. */
export const HEAP_TRIM_INTERVAL_MS = 250;
/**
 * Least data change notifications since the last collection for the next tick to run one:
 * below it (e.g. 100 items at 1 s) the garbage is little and JSC's own collections suffice.
 */
export const HEAP_TRIM_MIN_VALUES = 1000;
/**
 * Most of the wall time the timer's collections may take: after a collection that took
 * `d` ms the next one waits at least `d / HEAP_TRIM_MAX_SHARE` ms (20 ms → 0.67 s; on a
 * slower gateway where it takes 80 ms, 2.7 s), so the trim never costs more than 3 % of one
 * core.
 */
export const HEAP_TRIM_MAX_SHARE = 0.03;
/**
 * Delay of the collection after monitored items were created, ms: restarted by each block
 * created meanwhile, so blocks started back to back (the runtime starts them one after the
 * other) get one collection after the last instead of one each (~20 ms per block).
 */
export const HEAP_TRIM_SETTLE_MS = 200;

/**
 * Keeps an OPC UA app's heap near its live size while subscriptions deliver: at a tick
 * (every {@link HEAP_TRIM_INTERVAL_MS}), when at least {@link HEAP_TRIM_MIN_VALUES} notifications
 * arrived since the last collection and the last collection is long enough ago
 * ({@link HEAP_TRIM_MAX_SHARE}), it runs a full synchronous garbage collection
 * (`Bun.gc(true)`, ~20 ms for the ~20 MiB heap of 1,000 items); once more
 * {@link HEAP_TRIM_SETTLE_MS} after blocks' monitored items were created (the
 * CreateMonitoredItems requests and responses are garbage then). With 1,000 items at 100 ms that is about one collection a second here.
 *
 * Why: each notification leaves DataValues, Variants, Dates and readings behind (~15 MiB/s
 * at 10,000 values/s), and on a machine with much RAM JSC lets the heap grow to about twice
 * its live size before a full collection. With 1,000 items at 100 ms the compiled app's RSS
 * at the end / peak went from 145–150 / 149–150 MiB to 104–110 / 114–122 MiB, for 2.7 points
 * more of one core (7.5 → 10.2 %; docs/performance.md, "OPC UA app memory"). One per driver
 * (one connection per process).
 */
export class HeapTrimmer {
  private values = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Earliest time of the next timer collection (clock ms). */
  private notBefore = 0;
  private settle: ReturnType<typeof setTimeout> | undefined;
  /** Collections run (for tests and the bench). */
  collections = 0;

  /**
   * @param gc the collection (default `Bun.gc(true)`).
   * @param now a clock in ms (default `performance.now`; tests pass a fake one).
   */
  constructor(
    private readonly gc: () => void = () => Bun.gc(true),
    private readonly minValues = HEAP_TRIM_MIN_VALUES,
    private readonly intervalMs = HEAP_TRIM_INTERVAL_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts `n` notifications delivered; starts the timer on first use. */
  noteValues(n: number): void {
    this.values += n;
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref?.();
    }
  }

  /**
   * One timer tick: collects when enough notifications came since the last collection and
   * the time share allows it.
   */
  tick(): void {
    if (this.values < this.minValues || this.now() < this.notBefore) return;
    this.collectNow();
  }

  /**
   * Collects {@link HEAP_TRIM_SETTLE_MS} from now (after monitored items were created); a
   * further call meanwhile moves it later, so a burst of calls costs one collection.
   */
  collectSoon(delayMs = HEAP_TRIM_SETTLE_MS): void {
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => {
      this.settle = undefined;
      this.collectNow();
    }, delayMs);
    this.settle.unref?.();
  }

  /** Collects at once and resets the count. */
  collectNow(): void {
    this.values = 0;
    this.collections++;
    const t0 = this.now();
    this.gc();
    const t1 = this.now();
    this.notBefore = t1 + (t1 - t0) / HEAP_TRIM_MAX_SHARE;
  }

  /** Stops the timers (driver closed); counting again restarts them. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.settle) clearTimeout(this.settle);
    this.timer = undefined;
    this.settle = undefined;
    this.values = 0;
  }
}
