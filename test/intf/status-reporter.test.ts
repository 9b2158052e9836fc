import { afterAll, beforeAll, expect, test } from "bun:test";
import { silentLogger } from "../../src/core/log.ts";
import { AppFsm } from "../../src/intf/fsm.ts";
import { RateLimitedLog } from "../../src/intf/rate-limited-log.ts";
import { StatusReporter } from "../../src/intf/status-reporter.ts";
import { createRedisTagBus } from "../../src/tagbus/redis-tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

// Found on a clean clone's npm test (test/intf/main.test.ts): /plc-1/speed was good on the bus
// while /system/plc-1/state still said CONNECT. A state change is published before any value
// the app publishes after it, so no reader sees good data from an app "not yet connected".

const redis = new RedisServer();
beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  await redis.shutdown();
});

test("the state EXECUTE reaches the bus before the first values published after it", async () => {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("status"),
    producer: "plc-1",
  });
  try {
    const log = silentLogger;
    const fsm = new AppFsm();
    const status = new StatusReporter({
      appId: "plc-1",
      log,
      bus,
      fsm,
      rlog: new RateLimitedLog(log),
      blocks: () => ({ blocks: {}, lastGoodPoll: null }),
    });
    fsm.go("CONFIGURE", "starting");
    fsm.go("CONNECT", "configured");
    await Bun.sleep(0);
    // as ConnApp.enterExecute: the transition, then the first poll's values at once
    fsm.go("EXECUTE", "connected");
    await bus.publish([{ path: "/plc-1/speed", value: 1234, quality: "good", ts: Date.now() }]);
    await status.flush();
    const state = await bus.get("/system/plc-1/state");
    const speed = await bus.get("/plc-1/speed");
    expect(state?.value).toBe("EXECUTE");
    expect(speed?.value).toBe(1234);
    expect(state!.seq).toBeLessThan(speed!.seq);
  } finally {
    await bus.close();
  }
});
