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
 * `setTimeout` may fire up to ~1 ms early or late; the timer re-arms when it fires early.
 */
export const monotonicClock: TimerClock = {
  now: () => performance.now(),
  schedule: (fn, delayMs) => setTimeout(fn, Math.max(0, delayMs)),
  cancel: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
