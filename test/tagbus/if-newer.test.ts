import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { BusEvent } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * `publish(samples, { ifNewer: true })` (docs/tagbus.md "Current values"): a sample published
 * on behalf of another producer is committed only over an older current value, however late
 * it reaches Redis; what it skips never enters the stream either.
 */
const redis = new RedisServer({ appendonly: true }); // a restart keeps the data
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

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 15_000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

const state = (value: string, reason: string, ts: number) => ({
  path: "/system/line1/state",
  value,
  quality: "good" as const,
  reason,
  ts,
});

describe("publish with ifNewer", () => {
  test("skipped over a newer or equal current value, committed over an older one or none", async () => {
    const prefix = uniquePrefix("ifn");
    const app = await open(prefix, "line1");
    const sup = await open(prefix, "supervisor");
    const seen: string[] = [];
    const sub = await sup.subscribe(["/system/line1/state"], (ev: BusEvent) => {
      if (ev.kind === "value") seen.push(`${ev.value.value}@${ev.value.ts}`);
    });
    // no current value yet: committed
    await sup.publish([state("INIT", "starting (pid 1)", 1000)], { ifNewer: true });
    expect(await sup.get("/system/line1/state")).toMatchObject({ value: "INIT", ts: 1000 });
    await app.publish([state("EXECUTE", "connected", 2000)]);
    // older and equal: skipped, the owner's newer state stays
    await sup.publish([state("INIT", "starting (pid 2)", 1500)], { ifNewer: true });
    await sup.publish([state("INIT", "starting (pid 2)", 2000)], { ifNewer: true });
    expect(await sup.get("/system/line1/state")).toMatchObject({
      value: "EXECUTE",
      ts: 2000,
      producer: "line1",
    });
    // newer: committed
    await sup.publish([state("INIT", "starting (pid 3)", 3000)], { ifNewer: true });
    expect(await sup.get("/system/line1/state")).toMatchObject({
      value: "INIT",
      reason: "starting (pid 3)",
      producer: "supervisor",
    });
    await until(() => seen.length >= 3, "3 deliveries");
    await Bun.sleep(300);
    expect(seen).toEqual(["INIT@1000", "EXECUTE@2000", "INIT@3000"]);
    await sub.close();
  }, 30_000);

  test("queued during an outage among plain samples: order kept, seqs continuous, the stale one skipped", async () => {
    const prefix = uniquePrefix("ifn-outage");
    const sup = await open(prefix, "supervisor");
    const app = await open(prefix, "line1");
    const reader = await open(prefix, "reader");
    await app.publish([state("EXECUTE", "connected", 5000)]);
    const events: BusEvent[] = [];
    const sub = await reader.subscribe(["/system/**"], (ev) => {
      events.push(ev);
    });
    await sup.publish([{ path: "/system/x/service", value: "a", quality: "good", ts: 4000 }]);
    await redis.stop();
    // while Redis is down, all three wait in the supervisor's outbox
    await sup.publish([{ path: "/system/x/service", value: "b", quality: "good", ts: 4001 }]);
    await sup.publish([state("INIT", "starting (pid 9)", 4002)], { ifNewer: true });
    await sup.publish([{ path: "/system/x/service", value: "c", quality: "good", ts: 4003 }]);
    expect(sup.stats().outboxLength).toBe(3);
    await redis.start();
    await until(async () => sup.stats().outboxLength === 0, "outbox flushed");
    await until(
      async () => (await reader.get("/system/x/service").catch(() => undefined))?.value === "c",
      "c committed",
    );
    // the late INIT (older than the app's EXECUTE) did not overwrite it
    expect(await reader.get("/system/line1/state")).toMatchObject({ value: "EXECUTE", ts: 5000 });
    await until(
      () => events.some((e) => e.kind === "value" && e.value.value === "c"),
      "c delivered",
    );
    const sv = events.flatMap((e) =>
      e.kind === "value" && e.value.producer === "supervisor" ? [e.value] : [],
    );
    expect(sv.map((v) => v.value)).toEqual(["a", "b", "c"]);
    // no seq was handed to the skipped sample: continuous, no gap
    expect(sv.map((v) => v.seq - sv[0]!.seq)).toEqual([0, 1, 2]);
    expect(events.some((e) => e.kind === "gap")).toBe(false);
    await sub.close();
  }, 30_000);

  test("an outbox overflow before conditional samples is reported first, by a marker of its own", async () => {
    const prefix = uniquePrefix("ifn-gap");
    const sup = await open(prefix, "supervisor", 2);
    const reader = await open(prefix, "reader");
    const events: string[] = [];
    const sub = await reader.subscribe(["/system/**"], (ev) => {
      if (ev.kind === "gap") events.push(`gap ${ev.producer} ${ev.reason} ${ev.dropped}`);
      if (ev.kind === "value") events.push(`${ev.value.path} ${ev.value.value}`);
      if (ev.kind === "resync")
        events.push(`resync ${ev.values.map((v) => `${v.path} ${v.value}`).join(", ")}`);
    });
    await redis.stop();
    const svc = (value: string, ts: number) => ({
      path: "/system/x/service",
      value,
      quality: "good" as const,
      ts,
    });
    await sup.publish([svc("a", 6000)]);
    await sup.publish([svc("b", 6001)]);
    // the outbox holds 2: a and b are dropped, the two conditional samples stay
    await sup.publish([state("INIT", "starting (pid 1)", 6002)], { ifNewer: true });
    await sup.publish([state("INIT", "starting (pid 2)", 6003)], { ifNewer: true });
    expect(sup.stats().outboxDropped).toBe(2);
    await redis.start();
    await until(() => events.some((e) => e.includes("/system/line1/state INIT")), "the INIT");
    await Bun.sleep(300);
    // the loss is reported before the samples that follow it (then a resync, as for any overflow)
    // `a` is delivered only when the client had not yet seen Redis go and it was already in
    // flight (kept, not dropped); otherwise what follows the subscription's initial resync
    const a = events.indexOf("/system/x/service a");
    const later = events.slice((a < 0 ? events.indexOf("resync ") : a) + 1);
    expect(later[0]).toBe("gap supervisor outbox_overflow 2");
    expect(later.slice(1).some((e) => e.includes("/system/line1/state INIT"))).toBe(true);
    expect(await reader.get("/system/line1/state")).toMatchObject({
      reason: "starting (pid 2)",
      ts: 6003,
    });
    await sub.close();
  }, 30_000);
});
