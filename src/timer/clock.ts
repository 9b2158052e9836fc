/**
 * The clock a {@link PeriodicTimer} runs on: a monotonic time source plus a one-shot
 * scheduler. Injected so that tests drive time by hand ({@link ManualClock}) and the real
 * process uses {@link monotonicClock}.
 */
export interface TimerClock {
  /** Monotonic time in ms (fractional); only differences matter. Never goes backwards. */
  now(): number;
  /** Calls `fn` once after about `delayMs` ms (≥ 0). Returns a handle for {@link cancel}. */
  schedule(fn: () => void, delayMs: number): unknown;
  /** Cancels a pending {@link schedule}; a no-op for a handle that already fired. */
  cancel(handle: unknown): void;
}

/**
 * The real clock: `performance.now()` (monotonic, sub-ms) and `setTimeout`.
 * Bun's `setTimeout` has 1 ms resolution and fires up to ~1 ms early for a fractional delay,
 * so the delay is rounded up (a tick is never early; typical lateness 0–1 ms, docs/performance.md).
 */
export const monotonicClock: TimerClock = {
  now: () => performance.now(),
  schedule: (fn, delayMs) => setTimeout(fn, Math.max(0, Math.ceil(delayMs))),
  cancel: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface SpinHandle {
  timeout?: ReturnType<typeof setTimeout>;
  immediate?: ReturnType<typeof setImmediate>;
  cancelled: boolean;
}

/**
 * A more precise real clock: arms `setTimeout` `spinMs` early, then polls with
 * `setImmediate` (yielding to I/O between polls) until the deadline. Trades up to `spinMs` of
 * CPU per tick for sub-millisecond lateness; see docs/performance.md for the measured effect.
 * @param spinMs how early to wake before a deadline, ms (e.g. 1).
 */
export function spinningClock(spinMs: number): TimerClock {
  return {
    now: () => performance.now(),
    schedule(fn, delayMs) {
      const target = performance.now() + delayMs;
      const h: SpinHandle = { cancelled: false };
      const poll = () => {
        if (h.cancelled) return;
        if (performance.now() >= target) fn();
        else h.immediate = setImmediate(poll);
      };
      h.timeout = setTimeout(poll, Math.max(0, delayMs - spinMs));
      return h;
    },
    cancel(handle) {
      const h = handle as SpinHandle;
      h.cancelled = true;
      if (h.timeout) clearTimeout(h.timeout);
      if (h.immediate) clearImmediate(h.immediate);
    },
  };
}
