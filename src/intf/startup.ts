import { existsSync } from "node:fs";
import type { Logger } from "../core/log.ts";
import { redactUrl } from "../core/redact-url.ts";
import type { Settings } from "../core/settings.ts";
import { retrying } from "../core/startup-retry.ts";
import { openStore, type Store } from "../store/store.ts";
import { openTagBus, type RedisTagBus } from "../tagbus/index.ts";
import { ConnLease, holderId, leaseKey } from "./lease.ts";
import type { Notifier } from "./sd-notify.ts";

/**
 * The start-up steps every app process (`ne-intf`, `ne-north`) takes before it runs: open the
 * SoT, open the TagBus, take the single-instance lease. Each gives up (returns `undefined` /
 * `false`) when `stopped()` turns true (SIGTERM during start-up) or, for the first two, after
 * {@link retrying}'s budget; the caller then exits 0 or 69 (docs/intf.md "Exit codes").
 */

/**
 * Opens the SoT at `settings.db` without creating it, retrying while it is missing or
 * unreadable. `probe` reads something from it, proving the file is usable.
 */
export function openStoreRetrying(
  settings: Settings,
  log: Logger,
  stopped: () => boolean,
  probe: (store: Store) => void,
): Promise<Store | undefined> {
  return retrying(
    log,
    `database ${settings.db}`,
    async () => {
      if (!existsSync(settings.db)) throw new Error(`${settings.db} does not exist`);
      const store = openStore(settings.db, { create: false });
      probe(store);
      return store;
    },
    stopped,
  );
}

/** Opens the TagBus as `producer`, retrying while Redis is not reachable. */
export function openBusRetrying(
  settings: Settings,
  producer: string,
  log: Logger,
  stopped: () => boolean,
): Promise<RedisTagBus | undefined> {
  return retrying(
    log,
    `redis ${redactUrl(settings.redisUrl)}`,
    async () => {
      const bus = await openTagBus(settings, producer, log);
      if (!bus.stats().connected) {
        await bus.close(0);
        throw new Error("not reachable");
      }
      return bus;
    },
    stopped,
  );
}

/**
 * Takes the Redis lease `{prefix}lock:{appId}` (src/intf/lease.ts), waiting while another live
 * instance holds it; meanwhile tells systemd `STATUS=waiting for the lease held by …` and keeps
 * its watchdog (`WatchdogSec=`) fed: waiting is not hanging.
 * @returns the held lease (to refresh and release), or `undefined` when `stopped()` turned
 *   true before it was free.
 */
export async function acquireLease(
  bus: RedisTagBus,
  settings: Settings,
  appId: string,
  notifier: Notifier,
  log: Logger,
  stopped: () => boolean,
): Promise<ConnLease | undefined> {
  const lease = new ConnLease(bus.client, leaseKey(settings.redisPrefix, appId), holderId(), log);
  let lastWatchdog = 0;
  const leased = await lease.acquire(stopped, (holder) => {
    notifier.notify(`STATUS=waiting for the lease held by ${holder}`);
    const wd = notifier.watchdogMs;
    if (wd !== undefined && Date.now() - lastWatchdog >= wd / 2) {
      lastWatchdog = Date.now();
      notifier.notify("WATCHDOG=1");
    }
  });
  return leased ? lease : undefined;
}
