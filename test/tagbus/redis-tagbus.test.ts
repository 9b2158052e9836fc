import { afterAll, beforeAll } from "bun:test";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import type { TagBus } from "../../src/tagbus/tagbus.ts";
import { tagBusContract } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

const redis = new RedisServer();
beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  await redis.shutdown();
});

tagBusContract("redis streams", async () => {
  const prefix = uniquePrefix("tagbus");
  const opened: TagBus[] = [];
  return {
    async open(producer) {
      const bus = await createRedisTagBus({ url: redis.url, prefix, producer, blockMs: 200 });
      opened.push(bus);
      return bus;
    },
    async cleanup() {
      for (const b of opened) await b.close(500);
    },
  };
});
