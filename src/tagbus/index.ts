import type { Logger } from "../core/log.ts";
import type { Settings } from "../core/settings.ts";
import { createRedisTagBus, type RedisTagBus } from "./redis-tagbus.ts";

export {
  createRedisTagBus,
  RedisTagBus,
  type RedisTagBusOptions,
  type RedisTagBusStats,
} from "./redis-tagbus.ts";
export type * from "./tagbus.ts";

/**
 * Opens the TagBus from process settings (`NE_REDIS_URL`, `NE_REDIS_PREFIX`, `NE_OUTBOX_MAX`,
 * `NE_STREAM_MAXLEN`, `NE_STREAM_MAXAGE_MS`) for `producer` (an app_id, or `cli`, `web`, `supervisor`).
 */
export function openTagBus(
  settings: Settings,
  producer: string,
  log?: Logger,
): Promise<RedisTagBus> {
  return createRedisTagBus({
    url: settings.redisUrl,
    prefix: settings.redisPrefix,
    producer,
    outboxMax: settings.outboxMax,
    streamMaxLen: settings.streamMaxLen,
    streamMaxAgeMs: settings.streamMaxAgeMs,
    ...(log ? { log } : {}),
  });
}
