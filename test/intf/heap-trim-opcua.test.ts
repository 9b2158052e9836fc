import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import { OpcuaDriver } from "../../src/drivers/opcua/index.ts";
import { IntfApp } from "../../src/intf/app.ts";
import { type OpcuaSim, startOpcuaSim } from "../../src/sim/opcua/server.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { waitFor } from "./harness.ts";

// The app's one heap trimmer is fed by pushed (OPC UA subscription) publishes as by polled
// ones, and collects once after the blocks' monitored items exist: the real OPC UA driver
// against the press simulator, publishing to a real Redis.
describe("an OPC UA app tells its heap trim", () => {
  const dir = tempDir("ne-trim-opcua-");
  const redis = new RedisServer();
  let sim: OpcuaSim;
  let store: Store;
  beforeAll(async () => {
    await redis.start();
    sim = await startOpcuaSim({
      port: await freePort(),
      pkiDir: join(dir.path, "sim-pki"),
      tickMs: 50,
    });
    store = openStore(join(dir.path, "sot.db"));
    const block = (block_id: string) => ({
      conn_id: "press1",
      block_id,
      table: "opcua_nodes",
      mode: "subscribe",
      period_ms: 50,
    });
    const tag = (tag_name: string, block_id: string, node_id: string) => ({
      conn_id: "press1",
      tag_name,
      block_id,
      data_type: "float64",
      node_id,
    });
    store.apply({
      origin: "test",
      put: [
        {
          connection: {
            conn_id: "press1",
            protocol: "opcua",
            endpoint_url: sim.endpointUrl,
            timeout_ms: 3000,
            connect_timeout_ms: 10_000,
            backoff_initial_ms: 100,
            backoff_max_ms: 1000,
          },
          blocks: [block("a"), block("b")],
          tags: [tag("speed", "a", "ns=1;s=Press.Speed"), tag("force", "b", "ns=1;s=Press.Force")],
        },
      ],
    });
  }, 60_000);
  afterAll(async () => {
    store?.close();
    await sim?.stop();
    await redis.shutdown();
    dir.cleanup();
  });

  test("after each pushed publish, and once when both blocks' monitored items exist", async () => {
    let idle = 0;
    const startedWith: number[] = [];
    let driver: OpcuaDriver | undefined;
    const bus: RedisTagBus = await createRedisTagBus({
      url: redis.url,
      prefix: uniquePrefix("press1"),
      producer: "press1",
    });
    const app = new IntfApp({
      appId: "press1",
      loadConfig: () => store.getConnectionConfig("press1"),
      createDriver: (c) => {
        driver = new OpcuaDriver(c, { log: silentLogger, dataDir: dir.path });
        return driver;
      },
      bus,
      log: silentLogger,
      options: {
        healthIntervalMs: 100,
        random: () => 0.5,
        heapTrim: {
          idle: () => idle++,
          // how many subscriptions exist when the app says its blocks are started
          started: () => startedWith.push(driver?.subscriptions().length ?? -1),
        },
      },
    });
    const run = app.run();
    try {
      await waitFor(() => app.state === "EXECUTE", "EXECUTE", 30_000);
      await waitFor(() => idle >= 5, "idle calls after pushed publishes", 30_000);
      expect(startedWith).toEqual([2]);
    } finally {
      app.requestStop("test end");
      await run;
      await bus.close(1000);
    }
  }, 60_000);
});
