import { HttpError } from "./http.ts";

/** Failed password checks of one user from one source before back-off starts. */
export const FREE_FAILS = 5;
/** Failed checks from one source, all users together, before that source backs off. */
export const SOURCE_FREE_FAILS = 20;
/** First back-off after the free failures, ms; doubles with every further failure. */
export const BACKOFF_BASE_MS = 1000;
/** Longest back-off, ms (5 minutes). */
export const BACKOFF_MAX_MS = 5 * 60_000;
/** A source's failures are forgotten after this long without a failure, ms (15 minutes). */
export const FORGET_MS = 15 * 60_000;
/**
 * Global ceiling: failed checks from all sources together per minute. Above it, only sources
 * without a failure on record get a password check until the minute is over, so a guesser
 * with many addresses is bounded while the owner, from a clean address, still logs in.
 */
export const GLOBAL_FAILS_PER_MINUTE = 60;
/** Records kept at most; beyond it, expired ones are dropped first, then the oldest. */
const MAX_TRACKED = 10_000;

interface Fails {
  /** Failures counted (an attempt counts from its start until it succeeds). */
  n: number;
  /** When the last one started, ms since the epoch. */
  last: number;
}

/**
 * The wait before the next attempt after `n` failures, ms: none for the first `free`, then
 * {@link BACKOFF_BASE_MS} doubling per failure (1 s, 2 s, 4 s, …) up to {@link BACKOFF_MAX_MS}.
 */
export function backoffMs(n: number, free: number): number {
  if (n < free) return 0;
  return Math.min(BACKOFF_BASE_MS * 2 ** Math.min(n - free, 30), BACKOFF_MAX_MS);
}

/**
 * Limits password guessing (logins and the current password of a password change) per
 * source, i.e. the client's address, with back-off instead of a lock-out: a user's failures
 * from one address slow only that address, so an attacker elsewhere cannot keep the owner
 * out. Three levels:
 *
 * - per (source, username): {@link FREE_FAILS} free failures, then each attempt must wait
 *   {@link backoffMs} since the previous one (1 s, 2 s, 4 s … 5 min); a correct password
 *   clears this count;
 * - per source, all usernames: {@link SOURCE_FREE_FAILS} free, then the same back-off (a
 *   spray of usernames from one address), not cleared by a success of another user;
 * - global: above {@link GLOBAL_FAILS_PER_MINUTE} failures a minute, a source with any
 *   failure on record is refused until the minute is over.
 *
 * An attempt counts as a failure from the moment it starts (the hash check takes ~100 ms),
 * so concurrent guesses cannot all pass the check before the first one is counted. Records
 * are forgotten {@link FORGET_MS} after their last failure. Behind a reverse proxy every
 * client has the proxy's address (X-Forwarded-For is not trusted: anyone can send it).
 */
export class PasswordThrottle {
  private readonly pairs = new Map<string, Fails>();
  private readonly sources = new Map<string, Fails>();
  private minute = { start: 0, n: 0 };

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Starts an attempt for `username` from `source`, counting it as a failure until
   * {@link succeeded}.
   * @throws HttpError 429 `too_many_attempts` with `Retry-After` (seconds) while the source
   *   must wait.
   */
  begin(source: string, username: string): void {
    const t = this.now();
    const pairKey = `${source}\n${username}`;
    const pair = this.current(this.pairs, pairKey, t);
    const src = this.current(this.sources, source, t);
    const wait = Math.max(
      pair ? pair.last + backoffMs(pair.n, FREE_FAILS) - t : 0,
      src ? src.last + backoffMs(src.n, SOURCE_FREE_FAILS) - t : 0,
    );
    if (t - this.minute.start >= 60_000) this.minute = { start: t, n: 0 };
    const globalWait =
      src && this.minute.n >= GLOBAL_FAILS_PER_MINUTE ? this.minute.start + 60_000 - t : 0;
    const refuse = Math.max(wait, globalWait);
    if (refuse > 0) {
      const s = Math.ceil(refuse / 1000);
      throw new HttpError(
        429,
        "too_many_attempts",
        globalWait > wait
          ? `too many failed logins on this gateway; try again in ${s} s`
          : `too many failed attempts from ${source}; try again in ${s} s`,
        "http",
        { "retry-after": String(s) },
      );
    }
    this.count(this.pairs, pairKey, t);
    this.count(this.sources, source, t);
    this.minute.n++;
  }

  /** The attempt begun for `username` from `source` was right: it was no failure. */
  succeeded(source: string, username: string): void {
    this.pairs.delete(`${source}\n${username}`);
    const src = this.sources.get(source);
    if (src && --src.n <= 0) this.sources.delete(source);
    if (this.minute.n > 0) this.minute.n--;
  }

  /** The record of `key`, or undefined when there is none or it is forgotten. */
  private current(map: Map<string, Fails>, key: string, t: number): Fails | undefined {
    const f = map.get(key);
    if (f && t - f.last >= FORGET_MS) {
      map.delete(key);
      return undefined;
    }
    return f;
  }

  private count(map: Map<string, Fails>, key: string, t: number): void {
    let f = map.get(key);
    if (!f) {
      if (map.size >= MAX_TRACKED) prune(map, t);
      f = { n: 0, last: t };
      map.set(key, f);
    }
    f.n++;
    f.last = t;
  }
}

function prune(map: Map<string, Fails>, t: number): void {
  for (const [k, f] of map) if (t - f.last >= FORGET_MS) map.delete(k);
  // Still full (a spray of fresh names or addresses): drop the oldest half rather than grow.
  if (map.size >= MAX_TRACKED) {
    let drop = map.size / 2;
    for (const k of map.keys()) {
      if (drop-- <= 0) break;
      map.delete(k);
    }
  }
}
