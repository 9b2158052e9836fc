import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Collector, sample } from "../contract/tagbus.contract.ts";
import { waitFor } from "../intf/harness.ts";
import { committedSamples } from "../support/bus-stream.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * A reconnect storm: Redis restarted 5 times in quick succession (SIGTERM, the shipped AOF
 * settings, so nothing acknowledged is lost; started again 100 ms after each exit) while a
 * producer publishes without pause. Connections opened and lost in between must not leave the
 * client's ready flag out of step (a stale close after a newer connect): it must end
 * connected, publishing, with its outbox drained and every sample committed once, in order.
 */
const redis = new RedisServer({ appendonly: true });
const buses: RedisTagBus[] = [];
let raw: ReturnType<typeof createClient>;

beforeAll(async () => {
  await redis.start();
  raw = createClient({ url: redis.url, RESP: 2 });
  raw.on("error", () => {});
  await raw.connect();
});
afterAll(async () => {
  for (const b of buses) await b.close(500).catch(() => {});
  raw.destroy();
  await redis.shutdown();
});

describe("reconnect storm", () => {
  test("5 Redis restarts 100 ms apart under a publishing producer: it ends connected, publishing, the outbox drained, every sample once in order", async () => {
    const prefix = uniquePrefix("storm");
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "mtc-01",
      publishWaitMs: 100,
      blockMs: 200,
    });
    buses.push(bus);
    const reader = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "web",
      blockMs: 200,
    });
    buses.push(reader);
    const seen = new Collector();
    await reader.subscribe(["/mtc-01/*"], seen.handler);

    let n = 0;
    let storming = true;
    const producing = (async () => {
      while (storming) {
        await bus.publish([sample("/mtc-01/x", ++n)]);
        await Bun.sleep(5);
      }
    })();
    for (let k = 0; k < 5; k++) {
      await redis.stop();
      await Bun.sleep(100);
      await redis.start();
      await Bun.sleep(100);
    }
    storming = false;
    await producing;

    await waitFor(() => bus.stats().connected, "the producer connected after the storm");
    await waitFor(() => bus.stats().outboxLength === 0, "the outbox drained");
    await bus.publish([sample("/mtc-01/x", ++n)]);
    expect(bus.stats().outboxLength).toBe(0); // committed, not queued
    expect((await bus.get("/mtc-01/x"))?.value).toBe(n);

    const want = Array.from({ length: n }, (_, i) => i + 1);
    const committed = await committedSamples(raw, prefix, "mtc-01");
    expect(committed.map((c) => c.value)).toEqual(want);
    expect(committed.map((c) => c.seq)).toEqual(want);
    await waitFor(() => seen.values.length >= n, "the subscriber got every value");
    expect(seen.values.map((v) => v.value)).toEqual(want);
    expect(reader.stats().connected).toBe(true);
  });
});
