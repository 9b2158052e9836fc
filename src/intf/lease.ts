import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "../core/log.ts";
import { type BusClient, runScript } from "../tagbus/connection.ts";

/** Lifetime of the lease without renewal, ms: a `kill -9`'d holder delays its successor by at most this. */
export const LEASE_TTL_MS = 10_000;
/** How often a waiting instance asks again, ms. */
export const LEASE_RETRY_MS = 1000;

/** `{prefix}lock:{conn_id}`: the Redis key of a connection's single-instance lease. */
export function leaseKey(prefix: string, connId: string): string {
  return `${prefix}lock:${connId}`;
}

/** This process's holder id, `pid@host:nonce` (the nonce tells two lives of one pid apart). */
export function holderId(): string {
  return `${process.pid}@${hostname()}:${randomUUID().slice(0, 8)}`;
}

// SET NX PX, or report who holds it and for how long (PTTL, ms).
const ACQUIRE_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return {1, cur, tonumber(ARGV[2])} end
if cur then return {0, cur, redis.call('PTTL', KEYS[1])} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {1, ARGV[1], tonumber(ARGV[2])}`;

// 1 = renewed, 2 = re-taken (the key had gone: expired during an outage, Redis restarted), else the other holder.
const REFRESH_LUA = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if not cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 2 end
return cur`;

// Takes the key over from a holder known to be dead: only if it still holds exactly ARGV[1].
const TAKEOVER_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0`;

const RELEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Whether the holder id `holder` (`pid@host:nonce`, see {@link holderId}) names a process of
 * THIS host (`os.hostname()`) that no longer exists: `kill(pid, 0)` fails with ESRCH
 * (kill(2)). EPERM (a live process of another user) and any other host count as alive, so
 * a lease is never taken from a process that might still poll the device.
 * @param host this host's name (default `os.hostname()`).
 */
export function holderIsDead(holder: string, host: string = hostname()): boolean {
  const m = /^(\d+)@(.+):[0-9a-f]+$/.exec(holder);
  if (!m || m[2] !== host) return false;
  const pid = Number(m[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Result of one {@link ConnLease.tryAcquire}. */
export type LeaseAttempt = { ok: true } | { ok: false; holder: string; ttlMs: number };

/** Options of a {@link ConnLease}; times in ms. */
export interface LeaseOptions {
  /** Default {@link LEASE_TTL_MS}. */
  ttlMs?: number;
  /** Default {@link LEASE_RETRY_MS}. */
  retryMs?: number;
}

/**
 * The single-instance lease of one connection (docs/intf.md "One instance per connection"):
 * the Redis key {@link leaseKey} holds the holder id with a TTL. The app takes it before it
 * starts (waiting while another live instance holds it), renews it every TTL/3 from the event
 * loop, and deletes it on stop. A holder killed with SIGKILL on this host is taken over at
 * once ({@link holderIsDead}); one on another host (or whose host died) blocks its successor
 * for at most the TTL. The lease never stops a running app because Redis is unreachable: renewal errors
 * are only logged; only finding *another* holder's id in the key reports `onLost`.
 */
export class ConnLease {
  private readonly ttlMs: number;
  private readonly retryMs: number;
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing = false;
  private refreshFailing = false;

  constructor(
    private readonly client: BusClient,
    readonly key: string,
    readonly holder: string,
    private readonly log: Logger,
    options: LeaseOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? LEASE_TTL_MS;
    this.retryMs = options.retryMs ?? LEASE_RETRY_MS;
  }

  /**
   * One attempt. A holder that is a process of this host that no longer exists
   * ({@link holderIsDead}: killed with SIGKILL, crashed, OOM-killed) is taken over at once,
   * with a compare-and-set on its id (one `warn`, `lease holder … is dead; taking over`),
   * instead of waiting out its TTL.
   * @throws the Redis client's error when Redis is unreachable.
   */
  async tryAcquire(): Promise<LeaseAttempt> {
    const r = await runScript<[number, string, number]>(
      this.client,
      ACQUIRE_LUA,
      [this.key],
      [this.holder, String(this.ttlMs)],
    );
    if (r[0] === 1) return { ok: true };
    const holder = String(r[1]);
    if (holderIsDead(holder)) {
      const took = await runScript<number>(
        this.client,
        TAKEOVER_LUA,
        [this.key],
        [holder, this.holder, String(this.ttlMs)],
      );
      if (took === 1) {
        this.log.warn(
          { lease: this.key, previous: holder },
          `lease holder ${holder} is a process of this host that no longer exists; taking over`,
        );
        return { ok: true };
      }
      return await this.tryAcquire(); // the key changed meanwhile: look again
    }
    return { ok: false, holder, ttlMs: Number(r[2]) };
  }

  /**
   * Takes the lease, waiting as long as another instance holds it (asking every `retryMs`).
   * Logs one `warn` naming the holder when it starts waiting (and when the holder changes),
   * one `info` when it gets the lease after a wait.
   * @param stop polled between attempts; when it returns true, gives up.
   * @param onWait called on each attempt that found another holder (for STATUS/WATCHDOG).
   * @returns true when the lease is ours, false when stopped first.
   */
  async acquire(
    stop: () => boolean,
    onWait?: (holder: string, ttlMs: number) => void,
  ): Promise<boolean> {
    const started = Date.now();
    let lastHolder: string | undefined;
    let redisDown = false;
    for (;;) {
      if (stop()) return false;
      try {
        const a = await this.tryAcquire();
        redisDown = false;
        if (a.ok) {
          if (lastHolder !== undefined) {
            this.log.info(
              { lease: this.key, waitedMs: Date.now() - started, previous: lastHolder },
              "single-instance lease acquired; starting",
            );
          }
          return true;
        }
        if (a.holder !== lastHolder) {
          this.log.warn(
            { lease: this.key, holder: a.holder, ttlMs: a.ttlMs },
            `another instance of this connection holds the lease (${a.holder}, expires in ${a.ttlMs} ms unless renewed); waiting for it to stop`,
          );
          lastHolder = a.holder;
        }
        onWait?.(a.holder, a.ttlMs);
      } catch (e) {
        if (!redisDown) {
          this.log.warn({ lease: this.key, err: String(e) }, "cannot take the lease; retrying");
        }
        redisDown = true;
      }
      const until = Date.now() + this.retryMs;
      while (Date.now() < until && !stop()) await Bun.sleep(Math.min(100, this.retryMs));
    }
  }

  /**
   * Renews the lease every TTL/3. Redis errors are logged once per outage and otherwise
   * ignored (the app keeps running and buffering); when the key turns out to hold another
   * instance's id, calls `onLost(holder)` once and stops renewing.
   */
  startRefresh(onLost: (holder: string) => void): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.refresh(onLost), Math.max(10, this.ttlMs / 3));
  }

  private async refresh(onLost: (holder: string) => void): Promise<void> {
    if (this.refreshing) return; // a renewal still waits on a hung Redis
    this.refreshing = true;
    try {
      const r = await runScript<number | string>(
        this.client,
        REFRESH_LUA,
        [this.key],
        [this.holder, String(this.ttlMs)],
      );
      if (this.refreshFailing) this.log.info({ lease: this.key }, "lease renewed again");
      this.refreshFailing = false;
      if (r === 2) this.log.warn({ lease: this.key }, "lease had expired; taken again");
      else if (r !== 1 && this.timer) {
        this.stopRefresh();
        onLost(String(r));
      }
    } catch (e) {
      if (!this.refreshFailing) {
        this.log.warn({ lease: this.key, err: String(e) }, "cannot renew the lease; still running");
      }
      this.refreshFailing = true;
    } finally {
      this.refreshing = false;
    }
  }

  /** Stops renewing (the lease then expires after the TTL). */
  stopRefresh(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Stops renewing and deletes the key if it is still ours, waiting at most `timeoutMs` for
   * Redis (a hung Redis must not hold up the exit; the key then expires by itself). Never throws.
   */
  async release(timeoutMs = 1000): Promise<void> {
    this.stopRefresh();
    let handle: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        runScript(this.client, RELEASE_LUA, [this.key], [this.holder]),
        new Promise((r) => {
          handle = setTimeout(r, timeoutMs);
        }),
      ]);
    } catch (e) {
      this.log.warn(
        { lease: this.key, err: String(e) },
        "cannot release the lease; it expires by itself",
      );
    } finally {
      clearTimeout(handle);
    }
  }
}
