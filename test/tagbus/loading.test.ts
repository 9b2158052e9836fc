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
 * only every 2 MB loaded). `DEBUG RELOAD` (`--enable-debug-command local`) loads it again in
 * place, so that LOADING also comes on a connection that was ready.
 */
const FILLER_KEYS = 20_000;
const redis = new RedisServer({
  appendonly: true,
  args: [
    "--key-load-delay",
    "100",
    "--loading-process-events-interval-bytes",
    "1024",
    "--enable-debug-command",
    "local",
  ],
  startTimeoutMs: 25_000, // the load takes 2–4 s here; more on a busy machine
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

  test("after a restart the client is not ready while Redis answers LOADING: publishes wait queued, then commit once, in order; the subscriber resumes", async () => {
    const prefix = uniquePrefix("loading");
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "mtc-01",
      publishWaitMs: 200,
      blockMs: 200,
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
    // Sampled all through the load: the bus reconnects meanwhile (HELLO is allowed while
    // loading) but must not say it is connected while every command would be refused.
    let saidConnected = 0;
    let i = 7;
    for (const end = Date.now() + 20_000; ; ) {
      if (Date.now() > end) throw new Error("Redis still loading after 20 s");
      const before = cliPing();
      if (!before.startsWith("LOADING")) break;
      const connected = bus.stats().connected;
      if (connected && cliPing().startsWith("LOADING")) saidConnected++;
      if (i <= 9) await bus.publish([sample("/mtc-01/x", i++)]); // queued, resolves
      await Bun.sleep(20);
    }
    expect(saidConnected).toBe(0);
    await started;
    await waitFor(() => bus.stats().connected, "connected once loaded");
    await waitFor(() => bus.stats().outboxLength === 0, "the outbox drained after loading");
    const n = i - 1;
    const want = Array.from({ length: n }, (_, k) => k + 1);
    const committed = await committedSamples(raw, prefix, "mtc-01");
    expect(committed.map((c) => c.value)).toEqual(want);
    expect(committed.map((c) => c.seq)).toEqual(want);
    expect((await bus.get("/mtc-01/x"))?.value).toBe(n);
    await waitFor(() => seen.values.length >= n, "the subscriber got every value");
    expect(seen.values.map((v) => v.value)).toEqual(want);
  });

  test("LOADING on a live connection (DEBUG RELOAD): a refused PUBLISH is neither taken as committed nor dropped, it is retried until loaded, each sample committed once", async () => {
    const prefix = uniquePrefix("reload");
    const { log, lines } = captureLog();
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix,
      producer: "mtc-01",
      publishWaitMs: 200,
      log,
    });
    buses.push(bus);
    for (let i = 1; i <= 3; i++) await bus.publish([sample("/mtc-01/x", i)]);
    // DEBUG RELOAD saves and loads the dataset again in place, answering LOADING meanwhile
    const reload = Bun.spawn(["redis-cli", "-p", String(redis.port), "DEBUG", "RELOAD"], {
      stdout: "pipe",
    });
    await waitFor(() => cliPing().startsWith("LOADING"), "Redis answering LOADING");
    for (let i = 4; i <= 6; i++) await bus.publish([sample("/mtc-01/x", i)]); // resolve, queued
    expect(cliPing()).toStartWith("LOADING");
    expect(bus.stats().outboxLength).toBeGreaterThan(0);
    expect(await new Response(reload.stdout).text()).toStartWith("OK");
    await waitFor(() => bus.stats().outboxLength === 0, "the outbox drained after loading");
    expect(lines.some((l) => String(l.err).includes("LOADING"))).toBe(true); // refused so
    const committed = await committedSamples(raw, prefix, "mtc-01");
    expect(committed).toEqual([1, 2, 3, 4, 5, 6].map((v) => ({ seq: v, value: v })));
  });
});
