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
import { ptyPair } from "../support/socat-pty.ts";
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
  opts: { framing?: "tcp" | "rtu"; broadcast?: boolean; serial?: boolean } = {},
): Promise<Line> {
  const pty = opts.serial ? await ptyPair() : undefined;
  if (pty) cleanups.push(() => pty.stop());
  const sim = await startModbusSim({
    framing: opts.framing ?? "tcp",
    ...(pty ? { serialPath: pty.a, baudRate: 115200 } : {}),
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
          ...(pty
            ? { protocol: "modbus-rtu", serial_device: pty.b }
            : {
                protocol: opts.framing === "rtu" ? "modbus-rtu-tcp" : "modbus-tcp",
                host: "127.0.0.1",
                port: sim.port,
              }),
          unit_id: 1,
          timeout_ms: 150,
          backoff_initial_ms: 30,
          backoff_max_ms: 120,
          ...connection,
        },
        devices: [
          ...UNITS.map((u) => ({ conn_id: c, device: `meter${u}`, unit_id: u })),
          ...(opts.broadcast ? [{ conn_id: c, device: "all", unit_id: 0 }] : []),
        ],
        blocks: [
          ...(opts.broadcast
            ? [
                {
                  conn_id: c,
                  block_id: "bc",
                  device: "all",
                  table: "holding_registers",
                  address: 10,
                  count: 1,
                  period_ms: null,
                },
              ]
            : []),
          ...UNITS.flatMap((u) => [
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
        ],
        tags: [
          ...(opts.broadcast
            ? [
                {
                  conn_id: c,
                  tag_name: "all/setpoint",
                  block_id: "bc",
                  address: 10,
                  data_type: "uint16",
                  access: "read-write",
                },
                {
                  conn_id: c,
                  tag_name: "all/flag",
                  block_id: "bc",
                  address: 10,
                  data_type: "bit",
                  bit: 0,
                  access: "read-write",
                },
              ]
            : []),
          ...UNITS.flatMap((u) => [
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
        ],
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

/**
 * The demotion scenario on a running line `l` (its app id `id`): meter4 goes silent, is
 * demoted (its tags bad `demoted`) while meters 3 and 5 keep their periods (from the timer
 * stats of the app's health), is probed, demoted again, then answers and comes back.
 */
async function demotionScenario(l: Line, id: string): Promise<void> {
  await waitFor(
    () => UNITS.every((u) => l.latest(`/${id}/meter${u}/unit`)?.quality === "good"),
    "every meter good",
  );
  const timers = () => {
    const b = l.app.health().blocks;
    return Object.fromEntries(["m3", "m5"].map((id) => [id, { ...b[id]!.timer! }])) as Record<
      string,
      { ticks: number; skippedTicks: number; overruns: number }
    >;
  };
  const dev = (name: string) => l.app.health().devices![name]!;
  expect(dev("meter4")).toMatchObject({ unitId: 4, state: "ok", demotions: 0 });

  const devicesTag: string[] = [];
  const sysSub = await l.peer.subscribe([`/system/${id}/devices`], (ev) => {
    if (ev.kind === "value") devicesTag.push(String(ev.value.value));
  });
  cleanups.push(() => sysSub.close());
  const atDeath = timers();
  l.sim.units.get(4)!.faults.silent = [{ from: 0, to: 65535 }];
  await waitFor(() => dev("meter4").state === "demoted", "meter4 demoted", 30_000);
  const atDemotion = timers();
  // While meter4 timed out, the others were held up (the test can fail without demotion).
  expect(
    atDemotion.m3!.skippedTicks +
      atDemotion.m5!.skippedTicks -
      atDeath.m3!.skippedTicks -
      atDeath.m5!.skippedTicks,
  ).toBeGreaterThan(0);
  expect(dev("meter4").consecutiveTimeouts).toBe(3);
  // the demotion is announced on /system/{conn_id}/devices (ne-north's DDEATH follows it)
  await waitFor(() => devicesTag.some((d) => JSON.parse(d).meter4 === "demoted"), "devices tag");
  expect(JSON.parse(devicesTag.at(-1)!)).toEqual({
    meter3: "ok",
    meter4: "demoted",
    meter5: "ok",
  });
  for (const t of ["voltage", "unit"]) {
    expect(l.latest(`/${id}/meter4/${t}`)).toMatchObject({ quality: "bad", reason: "demoted" });
  }
  // Demoted: its polls are skipped, the others poll on their grid without skipping a tick
  // (from two ticks on: the ticks queued behind the last timeout end late, counted then).
  await waitFor(() => {
    const t = timers();
    return t.m3!.ticks >= atDemotion.m3!.ticks + 2 && t.m5!.ticks >= atDemotion.m5!.ticks + 2;
  }, "two ticks of each other meter after the demotion");
  const windowStart = timers();
  await waitFor(() => {
    const t = timers();
    return t.m3!.ticks >= windowStart.m3!.ticks + 6 && t.m5!.ticks >= windowStart.m5!.ticks + 6;
  }, "six ticks of each other meter");
  const windowEnd = timers();
  if (dev("meter4").demotions === 1) {
    // still inside the first demotion period: no probe has held the link
    for (const id of ["m3", "m5"]) {
      expect(windowEnd[id]!.skippedTicks).toBe(windowStart[id]!.skippedTicks);
      expect(windowEnd[id]!.overruns).toBe(windowStart[id]!.overruns);
    }
  }
  expect(dev("meter4").skipped).toBeGreaterThan(0);
  for (const u of [3, 5]) {
    expect(l.latest(`/${id}/meter${u}/unit`)).toMatchObject({ quality: "good", value: u });
  }
  expect(dev("meter3")).toMatchObject({ state: "ok", demotions: 0 });
  expect(dev("meter5")).toMatchObject({ state: "ok", demotions: 0 });

  // Still dead at the end of the period: the probe times out, demoted again at once.
  await waitFor(() => dev("meter4").demotions >= 2, "a failed probe", 30_000);
  expect(dev("meter4").state).toBe("demoted");

  // Back: the next probe answers and meter4 polls again by itself.
  l.sim.units.get(4)!.faults.silent = [];
  await waitFor(() => dev("meter4").state === "ok", "meter4 promoted", 30_000);
  await waitFor(
    () => l.latest(`/${id}/meter4/unit`)?.quality === "good",
    "meter4 good again",
    10_000,
  );
  expect(l.latest(`/${id}/meter4/voltage`)).toMatchObject({ quality: "good", value: 234 });
  await waitFor(() => JSON.parse(devicesTag.at(-1)!).meter4 === "ok", "devices tag: ok");
  expect(dev("meter4")).toMatchObject({ consecutiveTimeouts: 0, demotedUntil: null });
  expect(dev("meter4").lastGood).not.toBeNull();
  expect(l.app.state).toBe("EXECUTE");
}

describe("auto-demotion of a dead meter on a shared link", () => {
  test("only the dead meter's tags go bad (demoted); the others keep their periods; it is probed and comes back by itself", async () => {
    // A timeout longer than the period: without demotion every timeout of meter4 holds the
    // link past the other blocks' deadlines (they skip ticks).
    const l = await startLine(
      "gw2",
      { timeout_ms: 600, demote_after_timeouts: 3, demote_for_ms: 4000 },
      250,
    );
    await demotionScenario(l, "gw2");
  }, 90_000);

  test("the same on one RTU serial line (a socat pty pair)", async () => {
    const l = await startLine(
      "pty1",
      { timeout_ms: 600, demote_after_timeouts: 3, demote_for_ms: 4000, baud_rate: 115200 },
      250,
      { framing: "rtu", serial: true },
    );
    await demotionScenario(l, "pty1");
  }, 90_000);

  test("a device still demoted after a reconnect: its tags say demoted again, not disconnected", async () => {
    const l = await startLine(
      "gw3",
      { timeout_ms: 200, demote_after_timeouts: 2, demote_for_ms: 60_000 },
      250,
    );
    const dev = (name: string) => l.app.health().devices![name]!;
    await waitFor(() => l.latest("/gw3/meter4/unit")?.quality === "good", "meter4 good");
    l.sim.units.get(4)!.faults.silent = [{ from: 0, to: 65535 }];
    await waitFor(() => dev("meter4").state === "demoted", "meter4 demoted");
    const reconnects = l.app.counters.reconnects;
    // the link breaks under a request (twice: the driver's one retry too): link lost
    l.sim.faults.drop_after_requests = 1;
    await waitFor(() => l.app.state === "RECOVER", "RECOVER");
    l.sim.faults.drop_after_requests = 0;
    await waitFor(() => l.app.counters.reconnects > reconnects, "reconnected");
    await waitFor(
      () => l.latest("/gw3/meter3/unit")?.quality === "good",
      "meter3 good after the reconnect",
    );
    await waitFor(
      () => l.latest("/gw3/meter4/unit")?.reason === "demoted",
      "meter4 demoted again after disconnected",
    );
    const m4 = l.samples.filter((x) => x.path === "/gw3/meter4/unit").map((x) => x.reason);
    expect(m4.slice(-2)).toEqual(["disconnected", "demoted"]);
    expect(dev("meter4").state).toBe("demoted");
  }, 60_000);

  test("a connection without named devices is never demoted (as before)", async () => {
    const sim = await startModbusSim({ map: { holding_registers: { "0": [1] } } });
    cleanups.push(() => sim.stop());
    const store = openStore(join(dir.path, "single.db"));
    store.apply({
      origin: "test",
      put: [
        {
          connection: {
            conn_id: "one",
            protocol: "modbus-tcp",
            host: "127.0.0.1",
            port: sim.port,
            timeout_ms: 100,
          },
          blocks: [
            {
              conn_id: "one",
              block_id: "b",
              table: "holding_registers",
              count: 1,
              period_ms: 150,
            },
          ],
          tags: [{ conn_id: "one", tag_name: "v", block_id: "b", data_type: "uint16" }],
        },
      ],
    });
    const prefix = uniquePrefix("one");
    const bus = await createRedisTagBus({ url: redis.url, prefix, producer: "one" });
    const app = new IntfApp({
      appId: "one",
      loadConfig: () => store.getConnectionConfig("one"),
      createDriver: (conn) => createModbusDriver(conn, { log: silentLogger, dataDir: dir.path }),
      bus,
      log: silentLogger,
    });
    const exit = app.run();
    cleanups.push(async () => {
      app.requestStop("test end");
      await exit;
      await bus.close(500);
      store.close();
    });
    await waitFor(() => app.counters.reads > 0, "a read");
    sim.faults.silent = [{ from: 0, to: 65535 }];
    const requests = sim.stats.requests;
    await waitFor(() => app.counters.readErrors >= 5, "five timeouts");
    // every poll still went on the wire
    expect(sim.stats.requests - requests).toBeGreaterThanOrEqual(5);
    expect(app.health()).not.toHaveProperty("devices");
  });
});

describe("RTU broadcast (unit 0) writes", () => {
  test("a write to a unit-0 device's tag reaches every device on the line, with no reply awaited", async () => {
    const l = await startLine("rtu1", {}, 200, { framing: "rtu", broadcast: true });
    await waitFor(
      () => UNITS.every((u) => l.latest(`/rtu1/meter${u}/unit`)?.value === u),
      "every meter's values",
    );
    const errorsBefore = l.app.counters.readErrors;
    const r = await l.peer.write("/rtu1/all/setpoint", 55, { timeoutMs: 5000 });
    expect(r).toMatchObject({ ok: true });
    expect(l.sim.stats.broadcasts).toBe(1);
    expect(UNITS.map((u) => l.sim.units.get(u)!.registers.holding_registers[10] ?? 0)).toEqual([
      55, 55, 55,
    ]);
    // a bit of a register needs a read first: refused, nothing sent
    const bit = await l.peer.write("/rtu1/all/flag", true, { timeoutMs: 5000 });
    expect(bit.ok).toBe(false);
    expect(l.sim.stats.broadcasts).toBe(1);
    // the meters are still polled after the broadcast, none timed out on it
    const reads = l.app.counters.reads;
    await waitFor(() => l.app.counters.reads >= reads + 6, "polls after the broadcast");
    expect(l.app.counters.readErrors).toBe(errorsBefore);
  });
});
