import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { IntfApp } from "../../src/intf/app.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { waitFor } from "./harness.ts";

/**
 * Devices on a link (issue 14): three simulated meters (unit ids 3, 4, 5) behind one Modbus
 * TCP port, one connection, one interface app with the real driver.
 */
const redis = new RedisServer();
const dir = tempDir("ne-intf-devices-");
const cleanups: (() => Promise<void>)[] = [];
beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

const UNITS = [3, 4, 5] as const;
/** Meter `u` holds voltage 230 + u (float32 at input register 0) and its unit id at 2. */
const meterMap = (u: number) => ({
  entries: [
    { table: "input_registers", address: 0, data_type: "float32", value: 230 + u },
    { table: "input_registers", address: 2, data_type: "uint16", value: u },
  ],
});

interface Line {
  app: IntfApp;
  sim: ModbusSim;
  store: Store;
  samples: TagValue[];
  peer: RedisTagBus;
  connId: string;
  latest: (path: string) => TagValue | undefined;
}

async function startLine(
  connId: string,
  connection: Record<string, unknown> = {},
  periodMs = 200,
): Promise<Line> {
  const sim = await startModbusSim({
    units: UNITS.map((u) => ({ unitId: u, map: meterMap(u) })),
  });
  cleanups.push(() => sim.stop());
  const store = openStore(join(dir.path, `${connId}.db`));
  const c = connId;
  store.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: c,
          protocol: "modbus-tcp",
          host: "127.0.0.1",
          port: sim.port,
          unit_id: 1,
          timeout_ms: 150,
          backoff_initial_ms: 30,
          backoff_max_ms: 120,
          ...connection,
        },
        devices: UNITS.map((u) => ({ conn_id: c, device: `meter${u}`, unit_id: u })),
        blocks: UNITS.flatMap((u) => [
          {
            conn_id: c,
            block_id: `m${u}`,
            device: `meter${u}`,
            table: "input_registers",
            address: 0,
            count: 3,
            period_ms: periodMs,
          },
          {
            conn_id: c,
            block_id: `sp${u}`,
            device: `meter${u}`,
            table: "holding_registers",
            address: 10,
            count: 1,
            period_ms: null,
          },
        ]),
        tags: UNITS.flatMap((u) => [
          {
            conn_id: c,
            tag_name: `meter${u}/voltage`,
            block_id: `m${u}`,
            address: 0,
            data_type: "float32",
          },
          {
            conn_id: c,
            tag_name: `meter${u}/unit`,
            block_id: `m${u}`,
            address: 2,
            data_type: "uint16",
          },
          {
            conn_id: c,
            tag_name: `meter${u}/setpoint`,
            block_id: `sp${u}`,
            address: 10,
            data_type: "uint16",
            access: "read-write",
          },
        ]),
      },
    ],
  });
  const prefix = uniquePrefix(connId);
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: connId });
  const peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  const samples: TagValue[] = [];
  const sub = await peer.subscribe([`/${connId}/*`], (ev) => {
    if (ev.kind === "value") samples.push(ev.value);
  });
  const app = new IntfApp({
    appId: connId,
    loadConfig: () => store.getConnectionConfig(connId),
    createDriver: (conn) => createModbusDriver(conn, { log: silentLogger, dataDir: dir.path }),
    bus,
    log: silentLogger,
    options: { healthIntervalMs: 200, random: () => 0.5 },
  });
  const exit = app.run();
  cleanups.push(async () => {
    app.requestStop("test end");
    await exit;
    await sub.close();
    await bus.close(500);
    await peer.close(500);
    store.close();
  });
  await waitFor(() => app.state === "EXECUTE", "EXECUTE");
  const latest = (path: string) => samples.findLast((s) => s.path === path);
  return { app, sim, store, samples, peer, connId, latest };
}

describe("three meters behind one Modbus TCP port", () => {
  test("each device's block is read with its own unit id; tags at /{conn_id}/{device}/{tag}", async () => {
    const l = await startLine("gw1");
    await waitFor(
      () => UNITS.every((u) => l.latest(`/gw1/meter${u}/unit`)?.value === u),
      "every meter's values",
    );
    for (const u of UNITS) {
      expect(l.latest(`/gw1/meter${u}/voltage`)).toMatchObject({ value: 230 + u, quality: "good" });
    }
    // a write goes to the unit id of its tag's device, and only there
    expect(await l.peer.write("/gw1/meter4/setpoint", 77, { timeoutMs: 5000 })).toMatchObject({
      ok: true,
    });
    expect(UNITS.map((u) => l.sim.units.get(u)!.registers.holding_registers[10] ?? 0)).toEqual([
      0, 77, 0,
    ]);
  });
});
