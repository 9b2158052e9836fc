import { afterAll, beforeAll, expect, test } from "bun:test";
import { main } from "../../src/cli/main.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample, until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/** `tag list` / `tag get` / `tag watch` with the device segments of a multi-device link (issue 14). */
const redis = new RedisServer();
const prefix = uniquePrefix("cli-tag-dev");
let app: RedisTagBus;

function io() {
  const out: string[] = [];
  return {
    out,
    io: {
      out: (s: string) => void out.push(s),
      err: (_s: string) => {},
      env: { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix, NE_DB: "/nonexistent/x.db" },
    },
  };
}
const paths = (out: string[]) =>
  out
    .join("")
    .trim()
    .split("\n")
    .slice(1)
    .map((l) => l.split(/\s+/)[0]);

beforeAll(async () => {
  await redis.start();
  app = await createRedisTagBus({ url: redis.url, prefix, producer: "line1", blockMs: 200 });
  await app.publish([
    sample("/line1/meter3/voltage", 233, { ts: 0 }),
    sample("/line1/meter3/current", 1.5, { ts: 0 }),
    sample("/line1/meter4/voltage", 234, { ts: 0 }),
    sample("/line1/status", 1, { ts: 0 }),
  ]);
});
afterAll(async () => {
  await app.close(500);
  await redis.shutdown();
});

test("tag list takes a pattern: * is one segment, a trailing /* everything below", async () => {
  const a = io();
  expect(await main(["tag", "list", "/line1/*/voltage"], { io: a.io })).toBe(EXIT.OK);
  expect(paths(a.out)).toEqual(["/line1/meter3/voltage", "/line1/meter4/voltage"]);
  const b = io();
  expect(await main(["tag", "list", "/line1/meter3/*"], { io: b.io })).toBe(EXIT.OK);
  expect(paths(b.out)).toEqual(["/line1/meter3/current", "/line1/meter3/voltage"]);
  const c = io();
  expect(await main(["tag", "list", "/line1/*"], { io: c.io })).toBe(EXIT.OK);
  expect(paths(c.out)).toHaveLength(4);
  // a prefix still works as before
  const d = io();
  expect(await main(["tag", "list", "/line1/meter4/"], { io: d.io })).toBe(EXIT.OK);
  expect(paths(d.out)).toEqual(["/line1/meter4/voltage"]);
});

test("tag get of a device's tag; tag watch of one device", async () => {
  const a = io();
  expect(await main(["tag", "get", "/line1/meter4/voltage"], { io: a.io })).toBe(EXIT.OK);
  expect(a.out.join("")).toStartWith("/line1/meter4/voltage = 234 (good)");
  const w = io();
  const run = main(["tag", "watch", "/line1/meter3/*", "--json", "--count", "2"], { io: w.io });
  await until(() => w.out.length >= 1, 10_000, "resync line");
  await app.publish([sample("/line1/meter4/voltage", 240), sample("/line1/meter3/voltage", 231)]);
  await app.publish([sample("/line1/meter3/current", 2)]);
  expect(await run).toBe(EXIT.OK);
  const events = w.out
    .join("")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  expect(events.map((e) => e.kind)).toEqual(["resync", "value", "value"]);
  expect(events.slice(1).map((e) => e.value.path)).toEqual([
    "/line1/meter3/voltage",
    "/line1/meter3/current",
  ]);
});
