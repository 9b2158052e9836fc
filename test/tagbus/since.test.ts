import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Collector, sample, until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/** `subscribe(…, { from: "retained", sinceMs })`: replays only what was published since then. */
const redis = new RedisServer();
const buses: RedisTagBus[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const b of buses) await b.close(200);
  await redis.shutdown();
});

async function open(prefix: string, producer: string) {
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer, blockMs: 200 });
  buses.push(bus);
  return bus;
}

test("from retained with sinceMs skips entries published before it, then delivers live ones", async () => {
  const prefix = uniquePrefix("since");
  const pub = await open(prefix, "mtc-01");
  await pub.publish([sample("/mtc-01/a", 1)]);
  await Bun.sleep(30);
  const cut = Date.now();
  await Bun.sleep(5);
  await pub.publish([sample("/mtc-01/a", 2)]);
  await pub.publish([sample("/mtc-01/a", 3)]);
  const reader = await open(prefix, "web");
  const all = new Collector();
  const since = new Collector();
  await reader.subscribe(["/mtc-01/*"], all.handler, { from: "retained" });
  await reader.subscribe(["/mtc-01/*"], since.handler, { from: "retained", sinceMs: cut });
  await until(() => all.values.length === 3 && since.values.length === 2, 5000, "replay");
  expect(since.values.map((v) => v.value)).toEqual([2, 3]);
  await pub.publish([sample("/mtc-01/a", 4)]);
  await until(() => since.values.length === 3, 5000, "a live value");
  expect(since.values.map((v) => v.value)).toEqual([2, 3, 4]);
  expect(since.kinds().filter((k) => k === "gap")).toEqual([]);
});
