import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * `publish` resolves when its batch is committed, or after `publishWaitMs` with the batch still
 * queued (docs/tagbus.md "Publish").
 */
const redis = new RedisServer();
const buses: RedisTagBus[] = [];
let raw: ReturnType<typeof createClient>;

beforeAll(async () => {
  await redis.start();
  raw = createClient({ url: redis.url, RESP: 2 });
  await raw.connect();
});
afterAll(async () => {
  await raw.sendCommand(["CLIENT", "UNPAUSE"]).catch(() => {});
  for (const b of buses) await b.close(200).catch(() => {});
  raw.destroy();
  await redis.shutdown();
});

async function open(publishWaitMs: number): Promise<RedisTagBus> {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("pwait"),
    producer: "mtc-01",
    publishWaitMs,
  });
  buses.push(bus);
  return bus;
}

const sample = (i: number) => [{ path: "/mtc-01/x", value: i, quality: "good" as const, ts: i }];

describe("publish waits for its commit", () => {
  test("a publish made as soon as the previous one resolved is committed, not left for publishWaitMs", async () => {
    // the pump may be on its way out when the next publish comes: it must run again
    const bus = await open(5_000);
    for (let i = 0; i < 20; i++) {
      await bus.publish(sample(i));
      expect(bus.stats().outboxLength).toBe(0);
    }
    expect((await bus.get("/mtc-01/x"))?.value).toBe(19);
  });

  test("while Redis does not answer, each publish resolves after publishWaitMs with its batch queued; all commit later", async () => {
    const bus = await open(50);
    await bus.publish(sample(0));
    // writes (the PUBLISH script) wait in Redis; the bus stays connected
    await raw.sendCommand(["CLIENT", "PAUSE", "20000", "WRITE"]);
    try {
      for (let i = 1; i <= 3; i++) {
        await bus.publish(sample(i));
        expect(bus.stats().outboxLength).toBeGreaterThan(0);
      }
      await Promise.all([bus.publish(sample(4)), bus.publish(sample(5))]);
      expect(bus.stats().outboxLength).toBeGreaterThan(0);
    } finally {
      await raw.sendCommand(["CLIENT", "UNPAUSE"]);
    }
    while (bus.stats().outboxLength > 0) await Bun.sleep(10);
    expect((await bus.get("/mtc-01/x"))?.value).toBe(5);
  });
});
