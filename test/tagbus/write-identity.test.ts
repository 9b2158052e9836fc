import { afterAll, beforeAll, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { WriteRequest, WriteResult } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

const redis = new RedisServer();
let writer: RedisTagBus;
let owner: RedisTagBus;

beforeAll(async () => {
  await redis.start();
  const prefix = uniquePrefix("wid");
  writer = await createRedisTagBus({ url: redis.url, prefix, producer: "cli" });
  owner = await createRedisTagBus({ url: redis.url, prefix, producer: "plc1" });
});
afterAll(async () => {
  await writer.close(500);
  await owner.close(500);
  await redis.shutdown();
});

test("the writer's identity travels with the request; without one it is the producer's; a request answered without the handler is reported", async () => {
  // sent while no owner serves, with a deadline that passes before it starts
  const early = writer.write("/plc1/sp", 1, {
    timeoutMs: 50,
    identity: { via: "cli", who: "root", from: "uid 0 pid 1" },
  });
  expect(await early).toMatchObject({ ok: false, reason: "timeout", writerSide: true });
  const seen: WriteRequest[] = [];
  const unhandled: [WriteRequest, WriteResult][] = [];
  const srv = await owner.serveWrites(
    "plc1",
    async (req) => {
      seen.push(req);
      return { ok: true };
    },
    { onUnhandled: (req, r) => unhandled.push([req, r]) },
  );
  try {
    const ok = await writer.write("/plc1/sp", 2, {
      identity: { via: "web", who: "alice", from: "10.0.0.5", label: "shift B" },
    });
    expect(ok).toEqual({ ok: true });
    expect(await writer.write("/plc1/sp", 3)).toEqual({ ok: true });
    expect(seen.map((r) => [r.value, r.identity, r.origin])).toEqual([
      [2, { via: "web", who: "alice", from: "10.0.0.5", label: "shift B" }, "web:alice"],
      [3, { via: "app", who: "cli" }, "cli"],
    ]);
    expect(
      unhandled.map(([req, r]) => [req.value, req.identity.who, r.ok ? "" : r.reason]),
    ).toEqual([[1, "root", "timeout"]]);
  } finally {
    await srv.close();
  }
});
