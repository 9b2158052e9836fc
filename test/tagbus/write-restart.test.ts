import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { until } from "../contract/tagbus.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";
import { Child } from "./fixtures/child.ts";

/** A write is handled once when its owner app dies while the write is pending and restarts. */
const redis = new RedisServer();
const children: Child[] = [];
let writer: RedisTagBus;
const prefix = uniquePrefix("wrestart");
const script = join(import.meta.dir, "fixtures/write-owner.ts");

beforeAll(async () => {
  await redis.start();
  writer = await createRedisTagBus({ url: redis.url, prefix, producer: "cli" });
});
afterAll(async () => {
  for (const c of children) await c.kill();
  await writer.close(200);
  await redis.shutdown();
});

test("owner killed mid-write: the restarted owner handles it exactly once and the writer gets the result", async () => {
  const first = new Child(script, [redis.url, prefix, "mtc-01", "hang"]);
  children.push(first);
  await until(() => first.lines.includes("ready"), 20_000, "first owner ready");
  const pending = writer.write("/mtc-01/setpoint", 7, { timeoutMs: 30_000 });
  await until(
    () => first.lines.some((l) => l.startsWith("got ")),
    20_000,
    "first owner got the request",
  );
  await first.kill();
  const second = new Child(script, [redis.url, prefix, "mtc-01", "ok"]);
  children.push(second);
  expect(await pending).toEqual({ ok: true });
  const id = first.lines.find((l) => l.startsWith("got "))!.split(" ")[1];
  expect(second.lines.filter((l) => l === `done ${id}`)).toHaveLength(1);
  // a second write to the restarted owner: served once as well
  expect(await writer.write("/mtc-01/setpoint", 8, { timeoutMs: 30_000 })).toEqual({ ok: true });
  expect(second.lines.filter((l) => l.startsWith("got "))).toHaveLength(2);
}, 60_000);

test("a request that expired while its owner was down is answered without reaching the device", async () => {
  const r = await writer.write("/mtc-02/x", 1, { timeoutMs: 200 });
  expect(r).toMatchObject({ ok: false, reason: "timeout" });
  const owner = new Child(script, [redis.url, prefix, "mtc-02", "ok"]);
  children.push(owner);
  await until(() => owner.lines.includes("ready"), 20_000, "owner ready");
  expect(await writer.write("/mtc-02/x", 2, { timeoutMs: 30_000 })).toEqual({ ok: true });
  expect(owner.lines.filter((l) => l.startsWith("got "))).toEqual([expect.stringMatching(/ 2$/)]);
}, 60_000);
