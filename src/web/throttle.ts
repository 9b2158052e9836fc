import { HttpError } from "./http.ts";

/** Failed password checks per username tolerated within {@link FAIL_WINDOW_MS}. */
export const MAX_FAILS = 5;
/** Window of the failure count, ms (5 minutes). */
export const FAIL_WINDOW_MS = 5 * 60_000;
/** Usernames tracked at most; beyond it, expired entries are dropped first. */
const MAX_TRACKED = 10_000;

/**
 * Limits password guessing per username (logins and the current password of a password
 * change): at most {@link MAX_FAILS} failures within {@link FAIL_WINDOW_MS}, then every attempt
 * is refused (429) for the rest of the window.
 *
 * An attempt counts as a failure from the moment it starts (the hash check takes ~100 ms), so
 * concurrent guesses cannot all pass the check before the first one is counted; a correct
 * password clears the count.
 */
export class PasswordThrottle {
  private readonly fails = new Map<string, { n: number; first: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Starts an attempt for `username`, counting it as a failure until {@link succeeded}.
   * @throws HttpError 429 `too_many_attempts` when the user's failures reached the limit.
   */
  begin(username: string): void {
    const t = this.now();
    let f = this.fails.get(username);
    if (f && t - f.first >= FAIL_WINDOW_MS) f = undefined;
    if (f && f.n >= MAX_FAILS) {
      throw new HttpError(429, "too_many_attempts", "too many failed attempts; wait a few minutes");
    }
    if (!f) {
      if (this.fails.size >= MAX_TRACKED) this.prune(t);
      f = { n: 0, first: t };
      this.fails.set(username, f);
    }
    f.n++;
  }

  /** The attempt begun for `username` was right: forget its failures. */
  succeeded(username: string): void {
    this.fails.delete(username);
  }

  private prune(t: number): void {
    for (const [k, f] of this.fails) if (t - f.first >= FAIL_WINDOW_MS) this.fails.delete(k);
    // Still full (a spray of fresh names): drop the oldest half rather than grow without end.
    if (this.fails.size >= MAX_TRACKED) {
      let drop = this.fails.size / 2;
      for (const k of this.fails.keys()) {
        if (drop-- <= 0) break;
        this.fails.delete(k);
      }
    }
  }
}
