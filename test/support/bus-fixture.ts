import { afterAll, beforeAll } from "bun:test";
import { createClient } from "@redis/client";
import {
  createRedisTagBus,
  type RedisTagBus,
  type RedisTagBusOptions,
} from "../../src/tagbus/redis-tagbus.ts";
import { RedisServer } from "./redis-server.ts";

/** What {@link useBusFixture} gives a test file. */
export interface BusFixture {
  /** The file's private `redis-server` (started in `beforeAll`, removed in `afterAll`). */
  readonly redis: RedisServer;
  /**
   * A plain node-redis client on that server (RESP2 replies), for looking at keys and stream
   * entries as they are in Redis, independently of the TagBus code under test.
   */
  readonly raw: ReturnType<typeof createClient>;
  /**
   * Opens a TagBus on the file's Redis for `producer` under key `prefix` (use `uniquePrefix`),
   * `blockMs` 200 unless `extra` says otherwise; closed in `afterAll`.
   */
  open(
    prefix: string,
    producer: string,
    extra?: Partial<Omit<RedisTagBusOptions, "url" | "prefix" | "producer">>,
  ): Promise<RedisTagBus>;
}

/**
 * The set-up most TagBus test files share: one private Redis per file, one raw client on it,
 * and every bus a test opened closed at the end. Call once at the top level of a test file
 * (it registers `beforeAll`/`afterAll`).
 */
export function useBusFixture(): BusFixture {
  const redis = new RedisServer();
  const buses: RedisTagBus[] = [];
  let raw: ReturnType<typeof createClient> | undefined;
  beforeAll(async () => {
    await redis.start();
    raw = createClient({ url: redis.url, RESP: 2 });
    await raw.connect();
  });
  afterAll(async () => {
    for (const b of buses) await b.close(200).catch(() => {});
    raw?.destroy();
    await redis.shutdown();
  });
  return {
    redis,
    get raw() {
      if (!raw) throw new Error("bus fixture: raw used before beforeAll ran");
      return raw;
    },
    async open(prefix, producer, extra) {
      const bus = await createRedisTagBus({
        blockMs: 200,
        ...extra,
        url: redis.url,
        prefix,
        producer,
      });
      buses.push(bus);
      return bus;
    },
  };
}
