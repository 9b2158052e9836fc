import { expect, test } from "bun:test";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { Collector, sample, until } from "../contract/tagbus.contract.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/** Gaps that Redis causes (trimming, lost data) and garbage in a stream: never silent. */
const fx = useBusFixture();
const open = (prefix: string, producer: string, streamMaxLen = 100_000) =>
  fx.open(prefix, producer, { streamMaxLen });

test("retention trimmed past a durable cursor → gap 'trimmed' with the count, then resync", async () => {
  const prefix = uniquePrefix("trim");
  const pub = await open(prefix, "mtc-01", 100);
  const reader = await open(prefix, "historian");
  const c1 = new Collector();
  const s1 = await reader.subscribe(["/mtc-01/*"], c1.handler, { durable: "h" });
  await pub.publish([sample("/mtc-01/a", 0)]);
  await until(() => c1.values.length === 1);
  await s1.close();
  for (let i = 1; i <= 1500; i++) await pub.publish([sample("/mtc-01/a", i)]);
  const first = (await fx.raw.sendCommand([
    "XRANGE",
    `${prefix}s:mtc-01`,
    "-",
    "+",
    "COUNT",
    "1",
  ])) as [string, string[]][];
  const firstSeq = Number(first[0]![1][first[0]![1].indexOf("s") + 1]);
  expect(firstSeq).toBeGreaterThan(2); // the stream was trimmed
  const c2 = new Collector();
  await reader.subscribe(["/mtc-01/*"], c2.handler, { durable: "h" });
  await until(() => c2.events.length >= 2, 10_000, "gap and resync");
  expect(c2.events[0]).toEqual({
    kind: "gap",
    producer: "mtc-01",
    dropped: firstSeq - 2,
    reason: "trimmed",
  });
  expect(c2.events[1]?.kind).toBe("resync");
  if (c2.events[1]?.kind === "resync")
    expect(c2.events[1].values.map((v) => v.value)).toEqual([1500]);
  await pub.publish([sample("/mtc-01/a", 1501)]);
  await until(() => c2.values.length === 1);
  expect(c2.values[0]?.value).toBe(1501);
});

test("age retention (streamMaxAgeMs) trims old entries; a durable subscriber behind it gets a 'trimmed' gap", async () => {
  const prefix = uniquePrefix("age");
  const pub = await fx.open(prefix, "mtc-01", { streamMaxAgeMs: 300 });
  const reader = await open(prefix, "historian");
  const s1 = await reader.subscribe(["/mtc-01/*"], () => {}, { durable: "h" });
  await s1.close();
  for (let i = 1; i <= 500; i++) await pub.publish([sample("/mtc-01/a", i)]);
  await Bun.sleep(500);
  await pub.publish([sample("/mtc-01/a", 501)]);
  const len = Number(await fx.raw.sendCommand(["XLEN", `${prefix}s:mtc-01`]));
  expect(len).toBeLessThan(501);
  const c = new Collector();
  await reader.subscribe(["/mtc-01/*"], c.handler, { durable: "h" });
  await until(() => c.events.length >= 2, 10_000, "gap and resync");
  expect(c.events[0]).toEqual({
    kind: "gap",
    producer: "mtc-01",
    dropped: 501 - len,
    reason: "trimmed",
  });
  expect(c.events[1]?.kind).toBe("resync");
});

test("Redis lost its data (FLUSHALL) → gap 'redis_data_lost', resync, delivery goes on", async () => {
  const prefix = uniquePrefix("lost");
  const pub = await open(prefix, "mtc-01");
  const reader = await open(prefix, "web");
  const c = new Collector();
  await reader.subscribe(["/mtc-01/*"], c.handler);
  await pub.publish([sample("/mtc-01/a", 1)]);
  await pub.publish([sample("/mtc-01/a", 2)]);
  await until(() => c.values.length === 2);
  await fx.raw.sendCommand(["FLUSHALL"]);
  await pub.publish([sample("/mtc-01/a", 3)]);
  await until(
    () => c.kinds().includes("resync") && c.kinds().lastIndexOf("resync") > 0,
    15_000,
    "resync",
  );
  const gap = c.events.find((e) => e.kind === "gap");
  expect(gap).toMatchObject({ kind: "gap", reason: "redis_data_lost" });
  await pub.publish([sample("/mtc-01/a", 4)]);
  await until(() => c.values.some((v) => v.value === 4), 10_000, "value after the loss");
  const last = c.values.at(-1);
  expect(last?.value).toBe(4);
});

test("garbage injected into a stream by hand is skipped, counted, and the subscriber goes on", async () => {
  const prefix = uniquePrefix("garbage");
  const pub = await open(prefix, "mtc-01");
  const reader = await open(prefix, "web");
  const c = new Collector();
  await reader.subscribe(["/mtc-01/*"], c.handler);
  await pub.publish([sample("/mtc-01/a", 1)]);
  await until(() => c.values.length === 1);
  const key = `${prefix}s:mtc-01`;
  await fx.raw.sendCommand(["XADD", key, "*", "hello", "world"]);
  await fx.raw.sendCommand(["XADD", key, "*", "p", "mtc-01", "s", "2", "n", "1", "d", "{not json"]);
  await fx.raw.sendCommand(["XADD", key, "*", "p", "mtc-01", "s", "2", "n", "1", "d", "[[1,2]]"]);
  await pub.publish([sample("/mtc-01/a", 2)]);
  await until(() => c.values.length === 2, 10_000, "value after garbage");
  expect(c.values.map((v) => v.value)).toEqual([1, 2]);
  expect(c.kinds().filter((k) => k === "gap")).toEqual([]);
  expect(reader.stats().malformed).toBe(3);
});

test("connections killed by Redis (CLIENT KILL): subscriber and publisher resume, nothing lost", async () => {
  const prefix = uniquePrefix("kill");
  const pub = await open(prefix, "mtc-01");
  const reader = await open(prefix, "web");
  const c = new Collector();
  await reader.subscribe(["/mtc-01/*"], c.handler);
  const N = 300;
  for (let i = 1; i <= N; i++) {
    await pub.publish([sample("/mtc-01/a", i)]);
    if (i % 100 === 0)
      await fx.raw.sendCommand(["CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"]);
  }
  await until(() => c.values.length >= N, 20_000, "every value");
  expect(c.values.map((v) => v.value)).toEqual(Array.from({ length: N }, (_, i) => i + 1));
  expect(c.kinds().filter((k) => k === "gap")).toEqual([]);
});

test("a handler that throws is logged and counted; delivery goes on", async () => {
  const prefix = uniquePrefix("throws");
  const pub = await open(prefix, "mtc-01");
  const reader = await open(prefix, "web");
  const got: unknown[] = [];
  await reader.subscribe(["/mtc-01/*"], (e) => {
    if (e.kind !== "value") return;
    if (e.value.value === 1) throw new Error("boom");
    got.push(e.value.value);
  });
  await pub.publish([sample("/mtc-01/a", 1)]);
  await pub.publish([sample("/mtc-01/a", 2)]);
  await until(() => got.length === 1, 10_000, "value after the throw");
  expect(got).toEqual([2]);
  expect(reader.stats().handlerErrors).toBe(1);
});

test("a write request with garbage fields is acknowledged and skipped; the next one is served", async () => {
  const prefix = uniquePrefix("wgarbage");
  const owner = await open(prefix, "mtc-01");
  const seen: unknown[] = [];
  const srv = await owner.serveWrites("mtc-01", async (r) => {
    seen.push(r.value);
    return { ok: true };
  });
  await fx.raw.sendCommand(["XADD", `${prefix}w:mtc-01`, "*", "junk", "1"]);
  expect(await owner.write("/mtc-01/x", 5, { timeoutMs: 10_000 })).toEqual({ ok: true });
  expect(seen).toEqual([5]);
  const pending = (await fx.raw.sendCommand(["XPENDING", `${prefix}w:mtc-01`, "owner"])) as [
    number,
  ];
  expect(Number(pending[0])).toBe(0);
  await srv.close();
});

test("publish while Redis is unreachable resolves at once into the outbox; get fails with communication", async () => {
  const bus = await createRedisTagBus({
    url: "redis://127.0.0.1:1",
    prefix: "x:",
    producer: "mtc-01",
    connectWaitMs: 200,
    outboxMax: 10,
  });
  await bus.publish([sample("/mtc-01/a", 1)]);
  expect(bus.stats()).toMatchObject({ connected: false, outboxLength: 1, published: 0 });
  const err = await bus.get("/mtc-01/a").catch((e) => e);
  expect(err.kind).toBe("communication");
  await bus.close(100);
});

test("an app started before Redis keeps its samples in the outbox and flushes them when Redis comes up", async () => {
  const late = new RedisServer();
  late.port = await freePort();
  const bus = await createRedisTagBus({
    url: late.url,
    prefix: "late:",
    producer: "mtc-01",
    connectWaitMs: 100,
  });
  try {
    await bus.publish([sample("/mtc-01/a", 1)]);
    await bus.publish([sample("/mtc-01/a", 2)]);
    expect(bus.stats()).toMatchObject({ connected: false, outboxLength: 2 });
    await late.start();
    await until(() => bus.stats().outboxLength === 0, 15_000, "outbox flushed");
    expect(await bus.get("/mtc-01/a")).toMatchObject({ value: 2, seq: 2 });
  } finally {
    await bus.close(200);
    await late.shutdown();
  }
});
