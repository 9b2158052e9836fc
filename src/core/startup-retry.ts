import { toNodiError } from "./errors.ts";
import type { Logger } from "./log.ts";

/**
 * How long an app's start-up keeps retrying an unreadable DB or an unreachable Redis before it
 * exits with `EXIT.UNAVAILABLE`, ms. Together with systemd's `RestartSec=` this bounds the
 * restart rate: a failing start never takes less than this (docs/intf.md "Exit codes").
 */
export const STARTUP_RETRY_MS = 5000;

/**
 * Runs `attempt` until it resolves, retrying with back-off (250 ms doubling to 2 s) for at most
 * {@link STARTUP_RETRY_MS}; logs the first failure at `warn` and giving up at `error`, naming
 * `what` (e.g. `redis redis://127.0.0.1:6379`). Shared by `ne-intf` and `ne-north`.
 * @param stopped polled between attempts: a stop requested during start-up ends the retries.
 * @returns the attempt's result, or `undefined` when it gave up or was stopped. Never throws.
 */
export async function retrying<T>(
  log: Logger,
  what: string,
  attempt: () => Promise<T>,
  stopped: () => boolean,
): Promise<T | undefined> {
  const end = Date.now() + STARTUP_RETRY_MS;
  let delay = 250;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      const msg = toNodiError(e).message;
      if (stopped()) return undefined;
      if (Date.now() + delay > end) {
        log.error({ attempts: n, err: msg }, `${what} unavailable, giving up: ${msg}`);
        return undefined;
      }
      if (n === 1) log.warn({ err: msg }, `${what} unavailable, retrying: ${msg}`);
      await Bun.sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}
