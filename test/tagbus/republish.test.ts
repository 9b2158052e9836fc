import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { BusEvent } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * Republish after lost data (issue 12 item 3, docs/tagbus.md "Republish after lost data"):
 * a producer whose current values Redis lost (restart without its data, FLUSHALL) publishes
 * them again by itself, and a restored older value never overwrites a newer one of another
 * producer.
 */
const redis = new RedisServer(); // no persistence: a restart comes back empty
const buses: RedisTagBus[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const b of buses) await b.close(200).catch(() => {});
  await redis.shutdown();
});

async function open(prefix: string, producer: string, lossCheckMs = 200): Promise<RedisTagBus> {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix,
    producer,
    blockMs: 200,
    lossCheckMs,
  });
  buses.push(bus);
  return bus;
}

/** Polls `cond` (sync or async) every 20 ms until truthy; returns its value. */
async function until<T>(
  cond: () => T | Promise<T>,
  ms: number,
  what: string,
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(20);
  }
}

const s = (path: string, value: TagValue["value"], ts: number, quality: "good" | "bad" = "good") =>
  quality === "good"
    ? { path, value, quality, ts }
    : { path, value: null, quality, reason: "app_exited: killed by SIGKILL", ts };

describe("republish after lost data", () => {
  test("FLUSHALL: an idle producer's state and values come back within 5 s, once", async () => {
    const prefix = uniquePrefix("rp-flush");
    const app = await open(prefix, "line1");
    const reader = await open(prefix, "reader");
    await app.publish([s("/line1/speed", 12.5, 1000), s("/system/line1/state", "EXECUTE", 1001)]);
    await app.publish([s("/line1/speed", 13, 1002)]); // the last one per path is kept
    expect((await reader.get("/line1/speed"))?.value).toBe(13);
    await reader.client.sendCommand(["FLUSHALL"]);
    expect(await reader.get("/system/line1/state")).toBeUndefined();
    const state = await until(() => reader.get("/system/line1/state"), 5000, "state back");
    expect(state).toMatchObject({ value: "EXECUTE", quality: "good", ts: 1001, producer: "line1" });
    expect(await reader.get("/line1/speed")).toMatchObject({ value: 13, ts: 1002 });
    expect((await reader.list("/line1/")).map((v) => v.path)).toEqual(["/line1/speed"]);
    await Bun.sleep(600); // several loss checks later: no second republish
    expect(app.stats()).toMatchObject({ dataLosses: 1, republished: 2 });
  }, 20_000);

  test("every kind of sample comes back as it was published: bad with reason, array, string, boolean", async () => {
    const prefix = uniquePrefix("rp-kinds");
    const app = await open(prefix, "line5");
    const reader = await open(prefix, "reader5");
    await app.publish([
      s("/line5/bad", 3, 500),
      s("/line5/arr", [1.5, true, "7"], 501),
      s("/line5/str", 'a "q"', 502),
      s("/line5/flag", false, 503),
    ]);
    await app.publish([s("/line5/bad", null, 510, "bad"), s("/line5/flag", true, 511)]);
    const before = await reader.list("/line5/");
    expect(before).toHaveLength(4);
    await reader.client.sendCommand(["FLUSHALL"]);
    await until(async () => (await reader.list("/line5/")).length === 4, 5000, "values back");
    const strip = (vs: TagValue[]) => vs.map(({ seq: _seq, ...v }) => v);
    expect(strip(await reader.list("/line5/"))).toEqual(strip(before));
    expect(await reader.get("/line5/bad")).toMatchObject({
      value: null,
      quality: "bad",
      reason: "app_exited: killed by SIGKILL",
      ts: 510,
    });
  }, 20_000);

  test("Redis restarted without its data: values, registrations and a live subscriber recover", async () => {
    const prefix = uniquePrefix("rp-restart");
    const app = await open(prefix, "line2", 60_000); // only the reconnect notices
    await app.publish([s("/line2/a", 1, 2000), s("/system/line2/state", "EXECUTE", 2001)]);
    const reader = await open(prefix, "reader2");
    const events: BusEvent[] = [];
    const sub = await reader.subscribe(["/system/*/state"], (e) => {
      events.push(e);
    });
    await redis.stop();
    await redis.start(); // same port, empty
    const back = await until(
      async () => (await reader.get("/system/line2/state").catch(() => undefined)) ?? null,
      5000,
      "state back after the restart",
    );
    expect(back).toMatchObject({ value: "EXECUTE", ts: 2001 });
    expect(await reader.get("/line2/a")).toMatchObject({ value: 1, ts: 2000 });
    // the subscriber learns of the loss and then sees the republished state
    await until(
      () =>
        events.some(
          (e) =>
            (e.kind === "value" && e.value.path === "/system/line2/state") ||
            (e.kind === "resync" && e.values.some((v) => v.path === "/system/line2/state")),
        ) && events.some((e) => e.kind === "gap"),
      10_000,
      "subscriber saw the gap and the state again",
    );
    // and keeps reading what the producer publishes next
    await app.publish([s("/system/line2/state", "RECOVER", 2100)]);
    await until(
      () => events.some((e) => e.kind === "value" && e.value.value === "RECOVER"),
      10_000,
      "new state delivered",
    );
    await sub.close();
    expect(app.stats().dataLosses).toBe(1);
  }, 30_000);

  test("a restored older value never overwrites a newer one of another producer, in either order", async () => {
    for (const first of ["supervisor", "app"] as const) {
      const prefix = uniquePrefix(`rp-order-${first}`);
      // the supervisor marked the tag bad when the old app died (ts 100); the new app then
      // published a good value (ts 200). Lost data; both republish.
      const sup = await open(prefix, "supervisor", 60_000);
      const app = await open(prefix, "line3", 60_000);
      await sup.publish([s("/line3/t", null, 100, "bad")]);
      await app.publish([s("/line3/t", 7, 200)]);
      await sup.client.sendCommand(["FLUSHALL"]);
      const [a, b] = first === "supervisor" ? [sup, app] : [app, sup];
      // a publish after the flush is handed a seq again: that publisher notices at once
      await a.publish([s(`/system/${a === sup ? "supervisor" : "line3"}/x`, 1, 300)]);
      await until(() => a.stats().republished > 0 || a.stats().dataLosses > 0, 5000, "a noticed");
      await until(async () => (await sup.get("/line3/t")) !== undefined, 5000, "t restored");
      await b.publish([s(`/system/${b === sup ? "supervisor" : "line3"}/x`, 1, 301)]);
      await until(() => b.stats().dataLosses > 0, 5000, "b noticed");
      await Bun.sleep(300); // b's restore has run (or was skipped)
      await until(async () => b.stats().outboxLength === 0, 5000, "b flushed");
      expect(await sup.get("/line3/t")).toMatchObject({ value: 7, quality: "good", ts: 200 });
    }
  }, 30_000);

  // CI on a clean clone: after Redis came back empty, the supervisor restored its
  // "INIT starting (pid N)" (published with ifNewer when it spawned the app) before the app
  // restored its own EXECUTE, so the state read INIT for up to a loss check.
  test("a sample published with ifNewer (a claim on another's behalf) is not restored after lost data", async () => {
    const prefix = uniquePrefix("rp-ifnewer");
    const sup = await open(prefix, "supervisor");
    const reader = await open(prefix, "reader");
    await sup.publish([
      s("/system/line4/state", "STOP", 100),
      s("/system/supervisor/state", "EXECUTE", 100),
    ]);
    await sup.publish([s("/system/line4/state", "INIT", 200)], { ifNewer: true });
    expect(await reader.get("/system/line4/state")).toMatchObject({
      value: "INIT",
      producer: "supervisor",
    });
    await reader.client.sendCommand(["FLUSHALL"]);
    await until(
      () => reader.get("/system/supervisor/state"),
      5000,
      "the supervisor's own state back",
    );
    await Bun.sleep(600); // several loss checks later
    expect(await reader.get("/system/line4/state")).toBeUndefined();
  }, 20_000);
});
