import { fullGC, heapSize } from "bun:jsc";

/** Least time between two trims, ms. */
export const HEAP_TRIM_MIN_INTERVAL_MS = 10_000;
/** Growth of the JS heap since the last full collection that makes the next look collect, bytes. */
export const HEAP_TRIM_MIN_GROWTH_BYTES = 1024 * 1024;
/**
 * Most of the wall time the trims may take: after one of `d` ms the next waits at least
 * `d / HEAP_TRIM_MAX_SHARE` (5 ms → 5 s; the interval above is longer anyway on a gateway
 * where a trim takes < 10 ms).
 */
export const HEAP_TRIM_MAX_SHARE = 0.001;

/**
 * Keeps a running interface app's JS heap near its live size. Bun's GC timer runs an eden
 * (young generation) collection about every second; what survives one stays in the old
 * generation, dead or not, until a full collection, and JSC starts a full collection only when
 * the young budget falls under a third of the heap: an app publishing 300 values/s piled up
 * 5–9 MiB of dead objects between two (the heap a 3.6 → 12 MiB sawtooth, every ~2 min;
 * docs/performance.md "Memory of a running app"). {@link idle}, called when a poll is done
 * (the app has nothing to do until the next tick), runs a full synchronous collection
 * (`bun:jsc` `fullGC`: ~5 ms for the ~4 MiB heap of a Modbus app; unlike `Bun.gc(true)` it
 * keeps the compiled code, and `Bun.gc(false)` collects nothing) when the heap grew by
 * {@link HEAP_TRIM_MIN_GROWTH_BYTES} since the last one, at most every
 * {@link HEAP_TRIM_MIN_INTERVAL_MS}. One per app process.
 */
export class HeapTrim {
  /** Heap size after the last full collection this trim ran or saw, bytes. */
  private base: number | undefined;
  /** Earliest time of the next look (clock ms). */
  private notBefore: number;
  /** Collections run (tests, diagnostics). */
  collections = 0;

  /**
   * @param o.heapSize the JS heap's size in bytes (default `bun:jsc` `heapSize`).
   * @param o.collect a full collection (default `bun:jsc` `fullGC`).
   * @param o.now a clock in ms (default `performance.now`).
   */
  constructor(
    private readonly o: {
      heapSize?: () => number;
      collect?: () => void;
      now?: () => number;
      minGrowthBytes?: number;
      minIntervalMs?: number;
    } = {},
  ) {
    this.notBefore = this.now() + this.minIntervalMs;
  }

  private now(): number {
    return (this.o.now ?? performance.now)();
  }

  private get minIntervalMs(): number {
    return this.o.minIntervalMs ?? HEAP_TRIM_MIN_INTERVAL_MS;
  }

  /**
   * The app is idle (a poll was published): collects when the interval passed and the heap
   * grew enough since the last full collection; else only notes a smaller heap (one of JSC's
   * own full collections). Cheap when not due: a clock read.
   */
  idle(): void {
    const t = this.now();
    if (t < this.notBefore) return;
    const size = (this.o.heapSize ?? heapSize)();
    if (this.base === undefined || size < this.base) {
      this.base = size;
      this.notBefore = t + this.minIntervalMs;
      return;
    }
    if (size - this.base < (this.o.minGrowthBytes ?? HEAP_TRIM_MIN_GROWTH_BYTES)) {
      this.notBefore = t + this.minIntervalMs;
      return;
    }
    (this.o.collect ?? fullGC)();
    this.collections++;
    const t1 = this.now();
    this.base = (this.o.heapSize ?? heapSize)();
    this.notBefore = t1 + Math.max(this.minIntervalMs, (t1 - t) / HEAP_TRIM_MAX_SHARE);
  }
}
