import { afterAll, beforeAll, expect, test } from "bun:test";
import { main } from "../../src/cli/main.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample, until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/** `tag watch` through a Redis outage: it says so, keeps watching, and names lost values. */

// with the shipped settings (append-only file): a restart keeps the data
const durable = new RedisServer({ appendonly: true });
// without them: a restart loses everything, which the watch must report as a gap
const volatile = new RedisServer();
const buses: RedisTagBus[] = [];

beforeAll(async () => {
  await durable.start();
  await volatile.start();
});
afterAll(async () => {
  for (const b of buses) await b.close(200);
  await durable.shutdown();
  await volatile.shutdown();
});

function capture(redis: RedisServer, prefix: string) {
  const out: string[] = [];
  const err: string[] = [];
  const lines = () => out.join("").split("\n").filter(Boolean);
  const io = {
    out: (s: string) => void out.push(s),
    err: (s: string) => void err.push(s),
    env: { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix, NE_DB: "/nonexistent/x.db" },
  };
  return { out, err, lines, io };
}

async function producer(redis: RedisServer, prefix: string): Promise<RedisTagBus> {
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: "mtc-01", blockMs: 200 });
  buses.push(bus);
  await bus.publish([sample("/mtc-01/speed", 0)]);
  return bus;
}

test("tag watch prints when the bus is lost and restored, and goes on with what was published meanwhile", async () => {
  const prefix = uniquePrefix("watch-outage");
  const app = await producer(durable, prefix);
  const w = capture(durable, prefix);
  const run = main(["tag", "watch", "/mtc-01/*", "--count", "2"], { io: w.io });
  await until(() => w.lines().some((l) => l.startsWith("# resync")), 10_000, "resync line");

  await durable.stop(); // SIGTERM: Redis writes its append-only file, nothing is lost
  await until(() => w.lines().some((l) => l.includes("lost")), 10_000, "the 'lost' line");
  await app.publish([sample("/mtc-01/speed", 1)]); // waits in the producer's outbox
  await durable.start();
  await until(() => w.lines().some((l) => l.includes("restored")), 20_000, "the 'restored' line");
  await app.publish([sample("/mtc-01/speed", 2)]);

  expect(await run).toBe(EXIT.OK);
  const lines = w.lines();
  const lost = lines.findIndex((l) =>
    l.includes(`connection to the tag bus (${durable.url}) lost; still watching, reconnecting`),
  );
  const restored = lines.findIndex((l) =>
    /connection to the tag bus \(.*\) restored after \d+\.\d s; updates published meanwhile follow/.test(
      l,
    ),
  );
  expect(lost).toBeGreaterThan(0);
  expect(restored).toBeGreaterThan(lost);
  const values = lines
    .slice(lost)
    .filter((l) => l.startsWith("/mtc-01/speed = "))
    .map((l) => l.split(" ")[2]);
  expect(values).toEqual(["1", "2"]);
  expect(lines.some((l) => l.startsWith("# gap"))).toBe(false);
  expect(w.err.join("")).toBe("");
}, 60_000);

test("tag watch after Redis lost its data says values may have been missed (--json: connection events)", async () => {
  const prefix = uniquePrefix("watch-loss");
  const app = await producer(volatile, prefix);
  const w = capture(volatile, prefix);
  const run = main(["tag", "watch", "/mtc-01/*", "--json", "--count", "1"], { io: w.io });
  const events = () => w.lines().map((l) => JSON.parse(l) as Record<string, unknown>);
  await until(() => events().some((e) => e.kind === "resync"), 10_000, "resync event");

  await volatile.stop(true); // SIGKILL, no append-only file: the restarted Redis is empty
  await until(
    () => events().some((e) => e.kind === "connection" && e.connected === false),
    10_000,
    "lost",
  );
  await volatile.start();
  await until(() => events().some((e) => e.kind === "gap"), 20_000, "gap event");
  await until(
    () => events().some((e) => e.kind === "connection" && e.connected === true),
    10_000,
    "restored",
  );
  await app.publish([sample("/mtc-01/speed", 3)]);
  expect(await run).toBe(EXIT.OK);

  const kinds = events().map((e) => e.kind);
  expect(kinds.indexOf("connection")).toBeLessThan(kinds.indexOf("gap"));
  expect(events().find((e) => e.kind === "gap")).toMatchObject({ reason: "redis_data_lost" });
  expect(events().filter((e) => e.kind === "connection")).toMatchObject([
    { connected: false, url: volatile.url },
    { connected: true, url: volatile.url },
  ]);
  expect(kinds.at(-1)).toBe("value");
}, 60_000);

test("the gap line for people says values may have been missed, how many, and why", async () => {
  const { formatEvent } = await import("../../src/cli/commands/tag.ts");
  expect(
    formatEvent({ kind: "gap", producer: "mtc-01", dropped: 12, reason: "outbox_overflow" }),
  ).toBe(
    "# gap: values may have been missed (12 updates of mtc-01): outbox_overflow, its outbox overflowed while Redis was unreachable; current values follow",
  );
  expect(formatEvent({ kind: "gap", producer: "mtc-01", reason: "redis_data_lost" })).toBe(
    "# gap: values may have been missed (mtc-01): redis_data_lost, Redis lost data (restarted without its append-only file, or flushed); current values follow",
  );
});
