import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { BusEvent } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * An outbox overflow before a producer's first sample ever reached Redis: the gap marker is
 * then the first entry of the producer's stream, and a subscriber learns of the producer from
 * the registration of its root. The registration points at the marker (and the roots of the
 * dropped samples are registered), so the loss is reported, never silent (docs/tagbus.md).
 */
const redis = new RedisServer({ appendonly: true });
const buses: RedisTagBus[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const b of buses) await b.close(200).catch(() => {});
  await redis.shutdown();
});

async function open(prefix: string, producer: string, outboxMax?: number): Promise<RedisTagBus> {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix,
    producer,
    blockMs: 200,
    ...(outboxMax ? { outboxMax } : {}),
  });
  buses.push(bus);
  return bus;
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

const sample = (path: string, value: number) => ({
  path,
  value,
  quality: "good" as const,
  ts: 1000 + value,
});

test("samples dropped before the producer's first publish: a subscriber that never saw it gets the gap", async () => {
  const prefix = uniquePrefix("ovf-first");
  const pub = await open(prefix, "m1", 2);
  const reader = await open(prefix, "reader");
  const events: BusEvent[] = [];
  const sub = await reader.subscribe(["/m1/**"], (ev) => {
    events.push(ev);
  });
  await redis.stop();
  // the outbox holds 2: every /m1 sample is dropped; the two kept are under /m9 only
  for (let i = 0; i < 3; i++) await pub.publish([sample(`/m1/a${i}`, i)]);
  await pub.publish([sample("/m9/b", 9), sample("/m9/c", 10)]);
  const dropped = pub.stats().outboxDropped;
  expect(dropped).toBeGreaterThan(0);
  await redis.start();
  await until(() => events.some((e) => e.kind === "gap"), "the gap");
  expect(events.find((e) => e.kind === "gap")).toMatchObject({
    kind: "gap",
    producer: "m1",
    reason: "outbox_overflow",
    dropped,
  });
  await sub.close();
}, 30_000);
