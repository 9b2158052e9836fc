import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Collector, sample } from "../contract/tagbus.contract.ts";
import { waitFor } from "../intf/harness.ts";
import { committedSamples } from "../support/bus-stream.ts";
import { captureLog } from "../support/capture-log.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * A Redis that restarts with a dataset to load answers every command with `-LOADING Redis is
 * loading the dataset in memory` until it is loaded (docs/tagbus.md "Outbox"). Reproduced for
 * real: the shipped AOF settings, 20,000 filler keys in the AOF and `--key-load-delay 100`
 * (µs per key, a Redis debug option) make each restart load for ≥ 2 s;
 * `--loading-process-events-interval-bytes 1024` makes it answer clients meanwhile (by default
 * only every 2 MB loaded).
 */
const FILLER_KEYS = 20_000;
const redis = new RedisServer({
  appendonly: true,
  args: ["--key-load-delay", "100", "--loading-process-events-interval-bytes", "1024"],
});
const buses: RedisTagBus[] = [];
let raw: ReturnType<typeof createClient>;

/** What `redis-cli PING` prints now (`PONG`, `LOADING …`, or a connection error). */
function cliPing(): string {
  const r = Bun.spawnSync(["redis-cli", "-p", String(redis.port), "PING"]);
  return `${r.stdout.toString()}${r.stderr.toString()}`.trim();
}

beforeAll(async () => {
  await redis.start();
  raw = createClient({ url: redis.url, RESP: 2 });
  raw.on("error", () => {});
  await raw.connect();
  await raw.sendCommand([
    "EVAL",
    `for i=1,${FILLER_KEYS} do redis.call('SET','filler:'..i,'x') end return 1`,
    "0",
  ]);
});
afterAll(async () => {
  for (const b of buses) await b.close(200).catch(() => {});
  raw.destroy();
  await redis.shutdown();
});

describe("Redis loading its dataset", () => {
  test("RedisServer.start() resolves only once Redis answers PONG, not while it loads", async () => {
    await redis.stop();
    await redis.start();
    expect(cliPing()).toBe("PONG");
  });

  test("a publish while Redis answers LOADING is neither taken as committed nor dropped: retried until loaded, each sample committed once, in order", async () => {
    const prefix = uniquePrefix("loading");
    const { log, lines } = captureLog();
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "mtc-01",
      publishWaitMs: 200,
      blockMs: 200,
      log,
    });
    buses.push(bus);
    const reader = await createRedisTagBus({ url: redis.url, prefix, producer: "web" });
    buses.push(reader);
    const seen = new Collector();
    await reader.subscribe(["/mtc-01/*"], seen.handler);
    for (let i = 1; i <= 3; i++) await bus.publish([sample("/mtc-01/x", i)]);
    expect(bus.stats().outboxLength).toBe(0);

    await redis.stop();
    for (let i = 4; i <= 6; i++) await bus.publish([sample("/mtc-01/x", i)]);
    const started = redis.start();
    await waitFor(() => cliPing().startsWith("LOADING"), "Redis answering LOADING");
    // the bus reconnects to the loading Redis (HELLO is allowed while loading) …
    await waitFor(() => bus.stats().connected, "the bus connected to the loading Redis");
    for (let i = 7; i <= 9; i++) await bus.publish([sample("/mtc-01/x", i)]);
    // … and its PUBLISH calls are refused with LOADING (the fault reproduced), kept queued
    expect(cliPing()).toStartWith("LOADING");
    expect(bus.stats().outboxLength).toBeGreaterThan(0);
    await started;
    await waitFor(() => bus.stats().outboxLength === 0, "the outbox drained after loading");
    expect(lines.some((l) => String(l.err).includes("LOADING"))).toBe(true);

    const committed = await committedSamples(raw, prefix, "mtc-01");
    expect(committed.map((c) => c.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(committed.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect((await bus.get("/mtc-01/x"))?.value).toBe(9);
    await waitFor(() => seen.values.length >= 9, "the subscriber got every value");
    expect(seen.values.map((v) => v.value)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
