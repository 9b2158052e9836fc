import type { TimerClock } from "../timer/clock.ts";
import { monotonicClock } from "../timer/clock.ts";

/** Priority of a request on the link: on-demand writes go ahead of periodic reads. */
export type LinkPriority = "write" | "read";

interface Job {
  priority: LinkPriority;
  label: string;
  fn: () => Promise<unknown>;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * The one serialised queue of a connection's link (DESIGN.md §2 "one connection's requests
 * are serialised, never interleaved on the wire").
 *
 * Ordering:
 * 1. At most one request is on the wire at a time; a request in flight is never pre-empted.
 * 2. When the link frees up, the oldest waiting `write` goes first; `read`s go only when no
 *    write waits. Within one priority, first come first served.
 * 3. After every request the link stays idle for `gapMs` (the connection's
 *    `inter_request_delay_ms`) before the next one starts.
 *
 * A block tick that finds the link busy waits here; its timer's grid is not touched, so a
 * slow block delays the others only by the duration of its own requests.
 */
export class LinkQueue {
  private writes: Job[] = [];
  private reads: Job[] = [];
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  /**
   * @param gapMs pause after each request, ms (≥ 0).
   * @param clock scheduler used for the gap (tests inject a manual clock).
   */
  constructor(
    private gapMs = 0,
    private readonly clock: TimerClock = monotonicClock,
  ) {}

  /** Changes the pause between requests (applies from the next request). */
  setGap(ms: number): void {
    this.gapMs = Math.max(0, ms);
  }

  /** Requests waiting (not counting the one in flight). */
  get waiting(): number {
    return this.writes.length + this.reads.length;
  }

  /** True while a request is on the wire (or in its trailing gap). */
  get inFlight(): boolean {
    return this.busy;
  }

  /**
   * Queues `fn` and resolves/rejects with its outcome once it has run.
   * @param label for logs and tests (e.g. the block id or `write:tag`).
   * @throws Error `link queue closed` when {@link close} was called.
   */
  run<T>(priority: LinkPriority, label: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new Error("link queue closed"));
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        priority,
        label,
        fn,
        resolve: resolve as (v: unknown) => void,
        reject,
      };
      (priority === "write" ? this.writes : this.reads).push(job);
      this.pump();
    });
  }

  /**
   * Rejects every waiting request with `error` (used when the link is lost: queued reads of
   * a dead link would only time out one by one). The request in flight is not affected.
   */
  failPending(error: unknown): void {
    const jobs = [...this.writes, ...this.reads];
    this.writes = [];
    this.reads = [];
    for (const j of jobs) j.reject(error);
  }

  /** Resolves when nothing is in flight and nothing waits. */
  idle(): Promise<void> {
    if (!this.busy && this.waiting === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Refuses new requests and fails waiting ones; resolves once the request in flight ended. */
  async close(error: unknown = new Error("link queue closed")): Promise<void> {
    this.closed = true;
    this.failPending(error);
    await this.idle();
  }

  private pump(): void {
    if (this.busy) return;
    const job = this.writes.shift() ?? this.reads.shift();
    if (!job) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
      return;
    }
    this.busy = true;
    let p: Promise<unknown>;
    try {
      p = job.fn();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(job.resolve, job.reject).finally(() => {
      const done = () => {
        this.busy = false;
        this.pump();
      };
      if (this.gapMs > 0) this.clock.schedule(done, this.gapMs);
      else done();
    });
  }
}
