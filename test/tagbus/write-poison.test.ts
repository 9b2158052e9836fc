import { afterAll, beforeAll, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import type { WriteRequest } from "../../src/tagbus/index.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

// Hand-made entries in a write stream (redis-cli XADD), found by adversarial testing. One
// request whose reply key `rk` named an existing hash made the owner retry its MULTI forever:
// no later write of that connection was ever served.

const redis = new RedisServer();
const prefix = uniquePrefix("wpoison");
let owner: RedisTagBus;
let writer: RedisTagBus;
let raw: ReturnType<typeof createClient>;
const served: WriteRequest[] = [];

beforeAll(async () => {
  await redis.start();
  owner = await createRedisTagBus({ url: redis.url, prefix, producer: "plc1" });
  writer = await createRedisTagBus({ url: redis.url, prefix, producer: "cli" });
  await owner.serveWrites("plc1", async (req) => {
    served.push(req);
    return { ok: true };
  });
  raw = createClient({ url: redis.url });
  await raw.connect();
});
afterAll(async () => {
  await raw.quit().catch(() => {});
  await writer.close(200);
  await owner.close(200);
  await redis.shutdown();
});

const xadd = (fields: Record<string, string>) => raw.xAdd(`${prefix}w:plc1`, "*", fields);
const far = String(Date.now() + 600_000);

test("a reply key outside {prefix}wr: is refused; later writes are still served", async () => {
  await raw.hSet(`${prefix}cur:plc1`, "x", "y");
  await xadd({ id: "p1", path: "/plc1/a", v: "1", o: "cli", dl: far, rk: `${prefix}cur:plc1` });
  expect(await writer.write("/plc1/a", 2, { timeoutMs: 20_000 })).toEqual({ ok: true });
  expect(served.map((r) => r.id)).not.toContain("p1");
  expect(await raw.type(`${prefix}cur:plc1`)).toBe("hash");
}, 30_000);

test("a reply key of the wrong type does not block the write server", async () => {
  await raw.set(`${prefix}wr:notalist`, "1");
  await xadd({ id: "p2", path: "/plc1/a", v: "3", o: "cli", dl: far, rk: `${prefix}wr:notalist` });
  expect(await writer.write("/plc1/a", 4, { timeoutMs: 20_000 })).toEqual({ ok: true });
}, 30_000);

test("a value that is not a tag value (array, object, bad JSON) is answered invalid_value", async () => {
  const before = served.length;
  const cases = { q1: "[1,2]", q2: '{"a":1}', q3: "{not json" };
  for (const [id, v] of Object.entries(cases)) {
    await xadd({ id, path: "/plc1/a", v, o: "cli", dl: far, rk: `${prefix}wr:${id}` });
  }
  for (const id of Object.keys(cases)) {
    let reply: string | null = null;
    for (let i = 0; i < 400 && !reply; i++) {
      reply = await raw.lIndex(`${prefix}wr:${id}`, 0);
      if (!reply) await Bun.sleep(50);
    }
    expect(JSON.parse(reply ?? "null")).toMatchObject({
      id,
      result: { ok: false, reason: "invalid_value" },
    });
  }
  expect(served.length).toBe(before);
}, 30_000);
