/** How often the trimmer looks at the notification count, ms. */
export const HEAP_TRIM_INTERVAL_MS = 1000;
/**
 * Least data change notifications since the last collection for the next tick to run one:
 * below it (e.g. 100 items at 1 s) the garbage is little and JSC's own collections suffice.
 */
export const HEAP_TRIM_MIN_VALUES = 1000;

/**
 * Keeps an OPC UA app's heap near its live size while subscriptions deliver: every
 * {@link HEAP_TRIM_INTERVAL_MS}, when at least {@link HEAP_TRIM_MIN_VALUES} notifications
 * arrived since the last collection, it runs a full synchronous garbage collection
 * (`Bun.gc(true)`); once more right after a block's monitored items were created (the
 * CreateMonitoredItems requests and responses are garbage then).
 *
 * Why: each notification leaves DataValues, Variants, Dates and readings behind, and JSC
 * lets the heap grow to about twice its live size before a full collection on a machine
 * with much RAM. With 1,000 items at 100 ms (10,000 values/s) the compiled app's anonymous
 * memory grew from 38 to 73–78 MiB within 10 s; with this it stays at ~45 MiB (RSS end/peak
 * 132/140 → 104/112 MiB) for ~2 % more of one core (docs/performance.md, "OPC UA app
 * memory"). One per driver (one connection per process).
 */
export class HeapTrimmer {
  private values = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Collections run (for tests and the bench). */
  collections = 0;

  constructor(
    private readonly gc: () => void = () => Bun.gc(true),
    private readonly minValues = HEAP_TRIM_MIN_VALUES,
    private readonly intervalMs = HEAP_TRIM_INTERVAL_MS,
  ) {}

  /** Counts `n` notifications delivered; starts the timer on first use. */
  noteValues(n: number): void {
    this.values += n;
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref?.();
    }
  }

  /** One timer tick: collects when enough notifications came since the last collection. */
  tick(): void {
    if (this.values < this.minValues) return;
    this.collectNow();
  }

  /** Collects at once (after monitored items were created) and resets the count. */
  collectNow(): void {
    this.values = 0;
    this.collections++;
    this.gc();
  }

  /** Stops the timer (driver closed); counting again restarts it. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.values = 0;
  }
}
