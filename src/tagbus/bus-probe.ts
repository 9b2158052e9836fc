/**
 * A probe read unanswered this long means the bus is down although its connections are open
 * (a hung Redis: SIGSTOP, a blocked server), ms. Shorter than the client's own command deadline
 * (10 s, `COMMAND_TIMEOUT_MS` in connection.ts), for readers that show the link to people.
 */
export const BUS_PROBE_TIMEOUT_MS = 2000;

/** What a {@link BusProbe} needs of a TagBus. */
export interface ProbedBus {
  stats(): { connected: boolean };
  get(path: string): Promise<unknown>;
}

/**
 * Follows whether a TagBus answers, not only whether its connection is open: each
 * {@link step} sends one `get` of `path` (a path nobody publishes; an answer, "none", is what
 * counts) when none is in flight and the bus says it is connected, and marks the bus
 * unanswered once the read in flight is older than `timeoutMs`; an answered read marks it
 * answered again. Used by `tag watch` (src/cli/watch-notes.ts) and the web's live hub.
 */
export class BusProbe {
  /** Start of the read in flight (ms, from `now`), or undefined. */
  private since: number | undefined;
  private answered = true;

  constructor(
    private readonly bus: ProbedBus,
    private readonly path: string,
    private readonly timeoutMs = BUS_PROBE_TIMEOUT_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** One look: a read in flight past `timeoutMs` → unanswered; else a new read if none. */
  step(): void {
    const t = this.now();
    if (this.since !== undefined) {
      if (t - this.since > this.timeoutMs) this.answered = false;
      return;
    }
    if (!this.bus.stats().connected) return;
    this.since = t;
    this.bus.get(this.path).then(
      () => {
        if (this.since === t) this.since = undefined;
        this.answered = true;
      },
      () => {
        if (this.since === t) this.since = undefined; // disconnected: stats() says so
      },
    );
  }

  /** The bus's connection is open and the last read was answered in time. */
  get up(): boolean {
    return this.bus.stats().connected && this.answered;
  }
}
