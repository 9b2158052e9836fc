import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { IntfAppOptions } from "../../src/intf/app.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

/**
 * The app's idle hooks (its heap trim and its code release, src/intf/app.ts): each is told
 * after every published poll, and once when the blocks started. Against a real Modbus device
 * stand-in, Redis and SQLite (the harness).
 */
describe("IntfApp idle hooks", () => {
  const redis = new RedisServer();
  const dir = tempDir("ne-idle-hooks-");
  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    await redis.shutdown();
    dir.cleanup();
  });

  test.each(["heapTrim", "codeRelease"] as const)(
    "tells its %s after each published poll, and once when its blocks started",
    async (hook) => {
      let idle = 0;
      let started = 0;
      const options: IntfAppOptions = { [hook]: { idle: () => idle++, started: () => started++ } };
      const connId = hook.toLowerCase();
      const t = await AppUnderTest.create(connId, join(dir.path, `${connId}.db`), redis, options);
      t.store.apply({ origin: "test", put: [connRows(connId)] });
      t.start();
      try {
        await t.waitState("EXECUTE");
        // two blocks at 20 ms: one call per published poll of either
        await waitFor(() => idle >= 3, "three idle calls");
        await t.waitTag("speed", () => true);
        expect(started).toBe(1);
      } finally {
        await t.stop();
      }
    },
  );
});
