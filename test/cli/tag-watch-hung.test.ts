import { afterAll, beforeAll, expect, test } from "bun:test";
import { main } from "../../src/cli/main.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample, until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * `tag watch` through a hung Redis (SIGSTOP: its sockets stay open, nothing is answered). Before
 * the fix it never said the bus was lost: it judged the link by its command connection, which
 * a watch leaves idle, so it never hit the command deadline, and the watch sat silent for as
 * long as Redis hung while it claimed to be connected (seen with a 21 s SIGSTOP under a
 * publishing ne-intf).
 */

const redis = new RedisServer({ appendonly: true });
let app: RedisTagBus | undefined;

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  redis.signal("SIGCONT");
  await app?.close(200);
  await redis.shutdown();
});

test("tag watch says the bus is lost while Redis hangs, restored after, with what was published meanwhile", async () => {
  const prefix = uniquePrefix("watch-hung");
  app = await createRedisTagBus({ url: redis.url, prefix, producer: "mtc-01", blockMs: 200 });
  await app.publish([sample("/mtc-01/speed", 0)]);
  const out: string[] = [];
  const err: string[] = [];
  const io = {
    out: (s: string) => void out.push(s),
    err: (s: string) => void err.push(s),
    env: { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix, NE_DB: "/nonexistent/x.db" },
  };
  const events = () =>
    out
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const run = main(["tag", "watch", "/mtc-01/*", "--json", "--count", "2"], { io });
  await until(() => events().some((e) => e.kind === "resync"), 10_000, "resync event");

  redis.signal("SIGSTOP");
  try {
    await until(
      () => events().some((e) => e.kind === "connection" && e.connected === false),
      30_000,
      "the 'lost' event while Redis hangs",
    );
    void app.publish([sample("/mtc-01/speed", 1)]); // waits in the producer's outbox
  } finally {
    redis.signal("SIGCONT");
  }
  await until(
    () => events().some((e) => e.kind === "connection" && e.connected === true),
    30_000,
    "the 'restored' event",
  );
  await app.publish([sample("/mtc-01/speed", 2)]);
  expect(await run).toBe(EXIT.OK);
  const after = events().slice(events().findIndex((e) => e.kind === "connection"));
  expect(after.filter((e) => e.kind === "connection").map((e) => e.connected)).toEqual([
    false,
    true,
  ]);
  expect(
    after.filter((e) => e.kind === "value").map((e) => (e.value as { value: unknown }).value),
  ).toEqual([1, 2]);
  expect(err.join("")).toBe("");
}, 90_000);
