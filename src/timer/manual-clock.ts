import type { TimerClock } from "./clock.ts";

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A {@link TimerClock} whose time moves only when told to, for tests. `advance(ms)` fires due
 * callbacks in time order (ties in scheduling order), letting promise continuations run after
 * each one, so async tick handlers complete as they would on a real loop.
 */
export class ManualClock implements TimerClock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  /** @param start initial time, ms. */
  constructor(start = 1000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  schedule(fn: () => void, delayMs: number): unknown {
    const p = { id: ++this.seq, at: this.t + Math.max(0, delayMs), fn };
    this.pending.push(p);
    return p.id;
  }

  cancel(handle: unknown): void {
    this.pending = this.pending.filter((p) => p.id !== handle);
  }

  /** Number of callbacks waiting. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Time of the next pending callback, or `undefined`. */
  nextAt(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending) if (min === undefined || p.at < min) min = p.at;
    return min;
  }

  /**
   * Moves time forward by `ms`, firing every callback that falls due on the way (at its own
   * time), and lets microtasks settle after each.
   */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await settle();
      const next = this.pending
        .filter((p) => p.at <= end)
        .sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!next) break;
      this.pending = this.pending.filter((p) => p !== next);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await settle();
  }

  /** Moves time forward by `ms` without firing anything (simulates work that takes time). */
  skip(ms: number): void {
    this.t += ms;
  }
}

/** Lets pending promise continuations run (several turns of the microtask queue). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}
