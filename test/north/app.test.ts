import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { EXIT } from "../../src/core/exit-codes.ts";
import { silentLogger } from "../../src/core/log.ts";
import { NorthApp } from "../../src/north/app.ts";
import { type Northbound, NorthboundSchema } from "../../src/store/northbound-schema.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { Sub, until } from "./harness.ts";

// NorthApp in-process (real Redis and mosquitto; a synthetic producer on the TagBus): report
// options, the batch layout, exit codes, and the TagBus gap signal.

const redis = new RedisServer();
const broker = new Mosquitto();
const dir = tempDir("ne-north-app-");
let sub: Sub;

beforeAll(async () => {
  await redis.start();
  await broker.start();
  sub = await Sub.open(broker.url, ["nodi-edge/#"]);
}, 30_000);
afterAll(async () => {
  await sub?.close();
  await broker.shutdown();
  await redis.shutdown();
  dir.cleanup();
}, 30_000);

interface Running {
  app: NorthApp;
  done: Promise<number>;
  bus: RedisTagBus;
  prod: RedisTagBus;
  cfg: { current: Northbound | undefined };
}

async function run(
  row: Record<string, unknown>,
  prefix = uniquePrefix("north"),
  maxLen?: number,
): Promise<Running> {
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: String(row.north_id) });
  const prod = await createRedisTagBus({
    url: redis.url,
    prefix,
    producer: "syn",
    ...(maxLen ? { streamMaxLen: maxLen } : {}),
  });
  const cfg = {
    current: v.parse(NorthboundSchema, {
      kind: "mqtt",
      broker_urls: broker.url,
      gateway: "gw",
      tag_selection: "/syn/*",
      ...row,
    }) as Northbound | undefined,
  };
  const app = new NorthApp({
    northId: String(row.north_id),
    loadConfig: () => cfg.current,
    loadConnections: () => [],
    bus,
    log: silentLogger,
    dataDir: dir.path,
    options: { healthIntervalMs: 500 },
  });
  const done = app.run();
  return { app, done, bus, prod, cfg };
}

async function stop(r: Running): Promise<number> {
  r.app.requestStop();
  const code = await r.done;
  await r.prod.close(500);
  await r.bus.close(500);
  return code;
}

const s = (path: string, value: number) => ({
  path,
  value,
  quality: "good" as const,
  ts: Date.now(),
});
const values = (topic: string) => sub.on(topic).map((g) => JSON.parse(g.text));

describe("NorthApp", () => {
  test("min_interval_ms: at most one update per tag per interval, the latest one wins", async () => {
    const r = await run({ north_id: "a1", min_interval_ms: 1000 });
    await until("online", () => sub.last("nodi-edge/gw/_status/a1")?.text === "online");
    for (let i = 1; i <= 10; i++) await r.prod.publish([s("/syn/m", i)]);
    await until(
      "the latest after the interval",
      () => values("nodi-edge/gw/syn/m").at(-1)?.value === 10,
      10_000,
    );
    const got = values("nodi-edge/gw/syn/m").map((m) => m.value);
    expect(got[0]).toBe(1);
    expect(got.length).toBeLessThanOrEqual(3);
    expect(await stop(r)).toBe(EXIT.OK);
  }, 30_000);

  test("refresh_interval_ms republishes the current values", async () => {
    const r = await run({ north_id: "a2", refresh_interval_ms: 300 });
    await until("online", () => sub.last("nodi-edge/gw/_status/a2")?.text === "online");
    await r.prod.publish([s("/syn/r", 5)]);
    await until("republished", () => sub.on("nodi-edge/gw/syn/r").length >= 4, 10_000);
    expect(new Set(values("nodi-edge/gw/syn/r").map((m) => m.seq))).toEqual(new Set([1]));
    expect(await stop(r)).toBe(EXIT.OK);
  }, 30_000);

  test("payload_layout batch: one message per connection per batch", async () => {
    const r = await run({
      north_id: "a3",
      payload_layout: "batch",
      topic_template: "plant/{gateway}/{conn_id}/{tag}",
    });
    await until("online", () => sub.last("nodi-edge/gw/_status/a3") === undefined && true);
    const bsub = await Sub.open(broker.url, ["plant/#"]);
    try {
      await until("online", () => bsub.last("plant/gw/_status/a3")?.text === "online");
      await r.prod.publish([s("/syn/x", 1), s("/syn/y", 2)]);
      await until("batch", () => bsub.on("plant/gw/syn").length > 0);
      const m = JSON.parse(bsub.on("plant/gw/syn")[0]!.text);
      expect(m.values.map((x: { tag: string; value: number }) => [x.tag, x.value])).toEqual([
        ["x", 1],
        ["y", 2],
      ]);
      expect(m.replay).toBeUndefined();
    } finally {
      await bsub.close();
    }
    expect(await stop(r)).toBe(EXIT.OK);
  }, 30_000);

  test("exit codes: unknown northbound 78; disabled 80; removed on reload 80; a restart field 75", async () => {
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix: uniquePrefix("x"),
      producer: "a5",
    });
    const app = new NorthApp({
      northId: "a5",
      loadConfig: () => undefined,
      loadConnections: () => [],
      bus,
      log: silentLogger,
      dataDir: dir.path,
    });
    expect(await app.run()).toBe(EXIT.CONFIG);
    await bus.close(500);

    const off = await run({ north_id: "a6", enabled: false });
    expect(await off.done).toBe(EXIT.REMOVED);
    await stop(off);

    const removed = await run({ north_id: "a7" });
    await until("online", () => sub.last("nodi-edge/gw/_status/a7")?.text === "online");
    removed.cfg.current = undefined;
    removed.app.requestReload();
    expect(await removed.done).toBe(EXIT.REMOVED);
    expect(sub.last("nodi-edge/gw/_status/a7")?.text).toBe("offline"); // goodbye first
    await stop(removed);

    const moved = await run({ north_id: "a8" });
    await until("online", () => sub.last("nodi-edge/gw/_status/a8")?.text === "online");
    moved.cfg.current = { ...moved.cfg.current!, keepalive_s: 45 };
    moved.app.requestReload();
    expect(await moved.done).toBe(EXIT.RESTART);
    await stop(moved);
  }, 30_000);

  test("a TagBus gap (retention trimmed past the cursor) is signalled on _gap, then the current values", async () => {
    const prefix = uniquePrefix("gap");
    const first = await run({ north_id: "a9" }, prefix, 100);
    await until("online", () => sub.last("nodi-edge/gw/_status/a9")?.text === "online");
    await first.prod.publish([s("/syn/g", 0)]);
    await until("live", () => sub.on("nodi-edge/gw/syn/g").length === 1);
    await stop(first);
    // while ne-north is away, far more entries than the stream keeps
    const prod = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "syn",
      streamMaxLen: 100,
    });
    for (let i = 1; i <= 1500; i++) await prod.publish([s("/syn/g", i)]);
    await prod.close(500);
    const again = await run({ north_id: "a9" }, prefix, 100);
    await until("gap report", () => sub.on("nodi-edge/gw/_gap/a9").length > 0, 20_000);
    const gap = JSON.parse(sub.on("nodi-edge/gw/_gap/a9")[0]!.text);
    expect(gap).toMatchObject({ reason: "trimmed", producer: "syn" });
    expect(gap.dropped).toBeGreaterThan(1000);
    await until(
      "current value after the gap",
      () => values("nodi-edge/gw/syn/g").some((m) => m.value === 1500),
      20_000,
    );
    await until(
      "bus_gaps health",
      async () => Number((await again.bus.get("/system/a9/bus_gaps"))?.value) === gap.dropped,
      10_000,
    );
    expect(await stop(again)).toBe(EXIT.OK);
  }, 60_000);
});
