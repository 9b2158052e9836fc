/**
 * Reconnect back-off: exponential, capped, with jitter. Attempt n (0-based) waits a random
 * time in `[d/2, d]` where `d = min(maxMs, initialMs · 2ⁿ)` ("equal jitter": never less than
 * half the nominal delay, so many apps that lost the same device do not retry in lock step
 * and none retries faster than the schedule allows).
 */
export class Backoff {
  private attempt = 0;

  /**
   * @param initialMs first nominal delay, ms (the connection's `backoff_initial_ms`).
   * @param maxMs cap, ms (`backoff_max_ms`).
   * @param random uniform [0, 1) source (tests inject a fixed one).
   */
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last {@link reset}. */
  get attempts(): number {
    return this.attempt;
  }

  /** The delay before the next attempt, ms; advances the attempt count. */
  next(): number {
    const d = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(d / 2 + (this.random() * d) / 2);
  }

  /** Back to the first delay (after a successful connect). */
  reset(): void {
    this.attempt = 0;
  }
}
