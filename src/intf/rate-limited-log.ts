import type { Logger } from "../core/log.ts";

interface Entry {
  firstAt: number;
  lastLogAt: number;
  suppressed: number;
  total: number;
}

/**
 * Rate limiting for repeated identical errors, so a dead device does not write one log line
 * per poll. Per key (e.g. `block:b1:timeout`):
 * - the first occurrence is logged at once;
 * - later ones are counted; at most every `intervalMs` one summary line says how many
 *   occurred since the last line (`repeated`);
 * - {@link clear} (the condition ended) logs one `recovered` line with the total count, if
 *   anything was logged for the key.
 */
export class RateLimitedLog {
  private entries = new Map<string, Entry>();

  /**
   * @param log    the logger.
   * @param intervalMs minimum time between two lines of one key, ms. Default 60 000.
   * @param now    clock, epoch ms (tests inject one).
   */
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reports one occurrence of `key`.
   * @returns true when a line was written.
   */
  warn(key: string, fields: Record<string, unknown>, msg: string): boolean {
    const t = this.now();
    const e = this.entries.get(key);
    if (!e) {
      this.entries.set(key, { firstAt: t, lastLogAt: t, suppressed: 0, total: 1 });
      this.log.warn({ ...fields, key }, msg);
      return true;
    }
    e.total++;
    if (t - e.lastLogAt >= this.intervalMs) {
      const repeated = e.suppressed + 1;
      e.suppressed = 0;
      e.lastLogAt = t;
      this.log.warn({ ...fields, key, repeated, total: e.total, sinceMs: t - e.firstAt }, msg);
      return true;
    }
    e.suppressed++;
    return false;
  }

  /** The condition of `key` ended: logs a summary when it had occurred. */
  clear(key: string, fields: Record<string, unknown> = {}, msg = "recovered"): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.entries.delete(key);
    this.log.info({ ...fields, key, total: e.total, sinceMs: this.now() - e.firstAt }, msg);
  }

  /** Clears every key starting with `prefix` (e.g. all errors of one block). */
  clearPrefix(prefix: string, fields: Record<string, unknown> = {}, msg = "recovered"): void {
    for (const key of [...this.entries.keys()])
      if (key.startsWith(prefix)) this.clear(key, fields, msg);
  }

  /** Keys currently active. */
  active(): string[] {
    return [...this.entries.keys()];
  }
}
