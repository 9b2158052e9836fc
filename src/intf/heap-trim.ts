import { edenGC, fullGC, heapSize } from "bun:jsc";

/**
 * Least growth of the JS heap for a look to collect, bytes: since the last full collection
 * for a full one, since the last collection of either kind for an eden one.
 */
export const HEAP_TRIM_MIN_GROWTH_BYTES = 1024 * 1024;
/** Least time between two looks at the heap after a pushed publish, ms (a look reads the heap's size). */
export const HEAP_TRIM_LOOK_INTERVAL_MS = 100;
/**
 * Least time between two looks after a polled publish, ms: a polled app's garbage (a Modbus
 * app of 30 tags: a full collection about once a minute) needs no faster look, and a look
 * (`heapSize`, ~11 µs at a 14 MB heap) after every poll was a measurable part of its CPU.
 */
export const HEAP_TRIM_POLLED_LOOK_INTERVAL_MS = 1000;
/**
 * Most of the wall time the trims of one kind may take: after a full (or eden) collection of
 * `d` ms the next full (or eden) one waits at least `d / HEAP_TRIM_MAX_SHARE` (20 ms → 0.67 s;
 * on a slower gateway where it takes 80 ms, 2.7 s), whatever the garbage rate.
 */
export const HEAP_TRIM_MAX_SHARE = 0.03;

/** Tunables and seams of a {@link HeapTrim} (tests pass a fake clock, heap and collection). */
export interface HeapTrimOptions {
  /** The JS heap's size in bytes (default `bun:jsc` `heapSize`). */
  heapSize?: () => number;
  /** A full collection (default `bun:jsc` `fullGC`). */
  collect?: () => void;
  /** A young-generation collection (default `bun:jsc` `edenGC`). */
  collectYoung?: () => void;
  /** A clock in ms (default `performance.now`). */
  now?: () => number;
  /** Default {@link HEAP_TRIM_MIN_GROWTH_BYTES}. */
  minGrowthBytes?: number;
  /** Default {@link HEAP_TRIM_LOOK_INTERVAL_MS}. */
  lookIntervalMs?: number;
  /** Default {@link HEAP_TRIM_POLLED_LOOK_INTERVAL_MS}. */
  polledLookIntervalMs?: number;
}

/**
 * Keeps a running interface app's JS heap near its live size: the app's one heap trimmer,
 * fed by every publish, polled or pushed (drivers stay protocol-only). Bun's GC timer runs an
 * eden (young generation) collection about every second; what survives one stays in the old
 * generation, dead or not, until a full collection, which JSC starts only when the young
 * budget falls under a third of the heap, and on a machine with much RAM it lets the heap
 * grow to about twice its live size first: a Modbus app publishing 300 values/s piled up
 * 5–9 MiB of dead objects between two; an OPC UA app with 1,000 items at 100 ms (10,000
 * values/s, ~15 MiB/s of DataValues, Variants, Dates and readings) reached 145–150 MiB RSS
 * instead of ~100 (docs/performance.md "Memory of a running app", "OPC UA app memory").
 *
 * {@link idle}, called after a publish (the app has nothing to do until its next tick or
 * notification), looks at the heap's size (`bun:jsc` `heapSize`, which moves at collections,
 * JSC's own included, by what they kept: not with each allocation) at most every
 * {@link HEAP_TRIM_LOOK_INTERVAL_MS}. When
 * it grew by {@link HEAP_TRIM_MIN_GROWTH_BYTES} since the last full collection, it runs one
 * (`bun:jsc` `fullGC`, synchronous: unlike `Bun.gc(true)` it keeps the compiled code;
 * `Bun.gc(false)` collects nothing); when the time share ({@link HEAP_TRIM_MAX_SHARE}) holds
 * the full one back but the heap grew by as much since the last collection of either kind,
 * an eden collection (`bun:jsc` `edenGC`, ~4 ms: the just-published values are dead, so
 * little survives it), so that the young garbage of a fast push source does not pile up
 * between two full ones. The garbage rate sets the pace: a Modbus app of 30 tags (~4 MiB heap)
 * runs a full collection about once a minute and no eden one; an OPC UA app with 1,000 items
 * at 100 ms (~15 MiB/s of garbage) a full one every ~0.7 s (~20 ms, the time share) and
 * about three eden ones a second. {@link started}, called once the blocks are started (an
 * OPC UA app's CreateMonitoredItems requests and responses are garbage then), makes the next
 * idle moment collect in full. One per app process.
 */
export class HeapTrim {
  /** Heap size after the last full collection this trim ran or saw, bytes. */
  private base: number | undefined;
  /** Heap size after the last collection of either kind this trim ran or saw, bytes. */
  private youngBase = 0;
  /** Time of the last look or collection (clock ms). */
  private lastLook: number;
  /** Earliest time of the next full / eden collection (clock ms): the time share. */
  private fullNotBefore = 0;
  private edenNotBefore = 0;
  /** {@link started} was called: the next {@link idle} collects. */
  private due = false;
  /** Full collections run (tests, diagnostics). */
  collections = 0;
  /** Eden collections run (tests, diagnostics). */
  edenCollections = 0;

  constructor(private readonly o: HeapTrimOptions = {}) {
    this.lastLook = this.now();
  }

  private now(): number {
    return (this.o.now ?? performance.now)();
  }

  private size(): number {
    return (this.o.heapSize ?? heapSize)();
  }

  private get lookIntervalMs(): number {
    return this.o.lookIntervalMs ?? HEAP_TRIM_LOOK_INTERVAL_MS;
  }

  /**
   * The app is idle (a publish is done): runs a full collection when the heap grew by
   * {@link HEAP_TRIM_MIN_GROWTH_BYTES} since the last one and the time share allows it, else
   * an eden collection when it grew by as much since the last collection of either kind (and
   * the eden time share allows it); else only notes a smaller heap (one of JSC's own
   * collections). Cheap when not due: a clock read. `pushed` false (a polled publish) looks
   * at most every {@link HEAP_TRIM_POLLED_LOOK_INTERVAL_MS} instead of
   * {@link HEAP_TRIM_LOOK_INTERVAL_MS}.
   */
  idle(pushed = true): void {
    const t = this.now();
    if (this.due) {
      this.collect(t);
      return;
    }
    const every = pushed
      ? this.lookIntervalMs
      : (this.o.polledLookIntervalMs ?? HEAP_TRIM_POLLED_LOOK_INTERVAL_MS);
    if (t - this.lastLook < every) return;
    this.lastLook = t;
    const size = this.size();
    if (this.base === undefined || size < this.base) this.base = size;
    if (size < this.youngBase) this.youngBase = size;
    const min = this.o.minGrowthBytes ?? HEAP_TRIM_MIN_GROWTH_BYTES;
    if (size - this.base >= min && t >= this.fullNotBefore) {
      this.collect(t);
    } else if (size - this.youngBase >= min && t >= this.edenNotBefore) {
      (this.o.collectYoung ?? edenGC)();
      this.edenCollections++;
      const t1 = this.now();
      this.youngBase = this.size();
      this.edenNotBefore = t1 + (t1 - t) / HEAP_TRIM_MAX_SHARE;
    }
  }

  /**
   * The app's blocks are started (their start-up garbage is dead): the next {@link idle}
   * collects, whatever the growth and the time since the last look (in idle time, not in the
   * middle of the start).
   */
  started(): void {
    this.due = true;
  }

  private collect(t: number): void {
    this.due = false;
    (this.o.collect ?? fullGC)();
    this.collections++;
    const t1 = this.now();
    this.base = this.size();
    this.youngBase = this.base;
    this.fullNotBefore = t1 + (t1 - t) / HEAP_TRIM_MAX_SHARE;
    this.lastLook = t1;
  }
}
