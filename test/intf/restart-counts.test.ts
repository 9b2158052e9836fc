import { afterAll, beforeAll, expect, test } from "bun:test";
import { systemTagPath } from "../../src/core/paths.ts";
import {
  parseRestartCounts,
  publishAppExit,
  RESTARTS_TAG,
  restartKind,
} from "../../src/intf/exit-report.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

// Every end of an app (both service managers report it through publishAppExit) is counted by
// kind in /system/{id}/restarts: a requested restart (exit 75) is not a failure.

const redis = new RedisServer();
let bus: RedisTagBus;

beforeAll(async () => {
  await redis.start();
  bus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("restarts"),
    producer: "supervisor",
  });
});
afterAll(async () => {
  await bus?.close(500);
  await redis.shutdown();
});

test("which ends are restarts, and of which kind", () => {
  expect(restartKind({ code: 75, signal: null })).toBe("requested");
  for (const e of [
    { code: 1, signal: null },
    { code: null, signal: "SIGKILL" },
    { code: 0, signal: null, cause: "oom" as const },
    { code: 69, signal: null },
    { code: 64, signal: null },
  ]) {
    expect(restartKind(e)).toBe("failure");
  }
  for (const code of [0, 78, 80]) expect(restartKind({ code, signal: null })).toBeUndefined();
});

test("publishAppExit counts failures and requested restarts apart, on the TagBus", async () => {
  const ends = [
    { code: 75, signal: null },
    { code: null, signal: "SIGKILL" },
    { code: 75, signal: null },
    { code: 0, signal: null },
    { code: 1, signal: null },
  ];
  for (const [i, e] of ends.entries()) {
    await publishAppExit(bus, "m1", e, undefined, 2000 + i * 1000);
  }
  const v = await bus.get(systemTagPath("m1", RESTARTS_TAG));
  expect(parseRestartCounts(v?.value)).toEqual({
    failure: 2,
    requested: 2,
    last: { reason: "app_exited: exit code 1", at: 6000 },
  });
});
