import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { IntfApp } from "../../src/intf/app.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { RawProfileConfig } from "../../src/store/apply.ts";
import { notifyChanges } from "../../src/store/notify.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { ptyPair } from "../support/socat-pty.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { waitFor } from "./harness.ts";

/**
 * Device profiles on a running line (issue 14): three simulated meters (unit ids 3, 4, 5),
 * instances of ONE profile, on one RTU serial line (a socat pty pair) and on one Modbus TCP
 * port, one connection, one interface app with the real driver.
 */
const redis = new RedisServer();
const dir = tempDir("ne-intf-profiles-");
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
const PERIOD_MS = 200;
/** Meter `u`: voltage 230 + u (float32 at input register 0), an energy counter (uint32 at 2) that moves every 20 ms. */
const meterMap = (u: number) => ({
  tick_ms: 20,
  entries: [
    { table: "input_registers", address: 0, data_type: "float32", value: 230 + u },
    {
      table: "input_registers",
      address: 2,
      data_type: "uint32",
      generator: { type: "counter", start: u * 1000, step: 1, every_ms: 20 },
    },
  ],
});

/** The profile every meter is an instance of. */
const meterProfile = (extraTags: Record<string, unknown>[] = []): RawProfileConfig => ({
  profile: { profile: "meter", description: "test meter" },
  blocks: [
    {
      profile: "meter",
      block_id: "ir",
      table: "input_registers",
      address: 0,
      count: 4,
      period_ms: PERIOD_MS,
    },
  ],
  tags: [
    { profile: "meter", tag_name: "voltage", block_id: "ir", address: 0, data_type: "float32" },
    { profile: "meter", tag_name: "energy", block_id: "ir", address: 2, data_type: "uint32" },
    ...extraTags,
  ],
});

interface Line {
  app: IntfApp;
  sim: ModbusSim;
  store: Store;
  samples: TagValue[];
  peer: RedisTagBus;
  id: string;
  latest: (path: string) => TagValue | undefined;
  count: (path: string) => number;
}

async function startLine(id: string, serial: boolean): Promise<Line> {
  const pty = serial ? await ptyPair() : undefined;
  if (pty) cleanups.push(() => pty.stop());
  const sim = await startModbusSim({
    framing: serial ? "rtu" : "tcp",
    ...(pty ? { serialPath: pty.a, baudRate: 115200 } : {}),
    units: UNITS.map((u) => ({ unitId: u, map: meterMap(u) })),
  });
  cleanups.push(() => sim.stop());
  const store = openStore(join(dir.path, `${id}.db`));
  store.apply({
    origin: "test",
    putProfiles: [meterProfile()],
    put: [
      {
        connection: {
          conn_id: id,
          ...(pty
            ? { protocol: "modbus-rtu", serial_device: pty.b, baud_rate: 115200 }
            : { protocol: "modbus-tcp", host: "127.0.0.1", port: sim.port }),
          // a timeout longer than the period: without demotion a dead meter holds the line
          timeout_ms: 400,
          backoff_initial_ms: 30,
          backoff_max_ms: 120,
          demote_after_timeouts: 2,
          demote_for_ms: 4000,
        },
        devices: UNITS.map((u) => ({
          conn_id: id,
          device: `meter${u}`,
          unit_id: u,
          profile: "meter",
        })),
        blocks: [],
        tags: [],
      },
      // a connection without an instance of the profile
      {
        connection: { conn_id: "other", protocol: "modbus-tcp", host: "127.0.0.1", port: 1 },
        blocks: [],
        tags: [],
      },
    ],
  });
  const prefix = uniquePrefix(id);
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: id });
  const peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  const samples: TagValue[] = [];
  const sub = await peer.subscribe([`/${id}/**`], (ev) => {
    if (ev.kind === "value") samples.push(ev.value);
  });
  const app = new IntfApp({
    appId: id,
    loadConfig: () => store.getConnectionConfig(id),
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
  return {
    app,
    sim,
    store,
    samples,
    peer,
    id,
    latest: (path) => samples.findLast((s) => s.path === path),
    count: (path) => samples.filter((s) => s.path === path && s.quality === "good").length,
  };
}

/**
 * All values right; meter4 killed: only its tags go bad (demoted), meters 3 and 5 keep their
 * periods (counted: requests each answered and energy samples published while meter4 is
 * demoted, against each other's and against their timers' ticks); meter4 is probed and comes
 * back by itself once it answers again.
 */
async function scenario(l: Line): Promise<void> {
  const { id, sim } = l;
  await waitFor(
    () => UNITS.every((u) => l.latest(`/${id}/meter${u}/voltage`)?.quality === "good"),
    "every meter good",
  );
  // all values right: each instance is read with its own unit id
  for (const u of UNITS) {
    expect(l.latest(`/${id}/meter${u}/voltage`)).toMatchObject({ value: 230 + u, quality: "good" });
    const e = l.latest(`/${id}/meter${u}/energy`)!.value as number;
    expect(e).toBeGreaterThanOrEqual(u * 1000);
    expect(e).toBeLessThan(u * 1000 + 999);
  }
  const dev = (name: string) => l.app.health().devices![name]!;
  const unit = (u: number) => sim.units.get(u)!.stats;
  const ticks = (d: string) => l.app.health().blocks[`${d}.ir`]!.timer!;

  sim.units.get(4)!.kill();
  await waitFor(() => dev("meter4").state === "demoted", "meter4 demoted", 30_000);
  // its tags say why (the samples follow the health state through the bus)
  await waitFor(
    () => ["voltage", "energy"].every((t) => l.latest(`/${id}/meter4/${t}`)?.reason === "demoted"),
    "meter4's tags bad, demoted",
  );
  for (const t of ["voltage", "energy"]) {
    expect(l.latest(`/${id}/meter4/${t}`)).toMatchObject({ quality: "bad", reason: "demoted" });
  }
  // from two ticks after the demotion on (the ticks queued behind the last timeout end late)
  const t0 = { m3: ticks("meter3").ticks, m5: ticks("meter5").ticks };
  await waitFor(
    () => ticks("meter3").ticks >= t0.m3 + 2 && ticks("meter5").ticks >= t0.m5 + 2,
    "two ticks after the demotion",
  );
  const a = {
    u3: unit(3).answered,
    u4: unit(4).requests,
    u5: unit(5).answered,
    s3: l.count(`/${id}/meter3/energy`),
    s5: l.count(`/${id}/meter5/energy`),
    t3: { ...ticks("meter3") },
    t5: { ...ticks("meter5") },
    demotions: dev("meter4").demotions,
  };
  await waitFor(
    () => unit(3).answered >= a.u3 + 8 && unit(5).answered >= a.u5 + 8,
    "eight polls of each live meter",
  );
  const b = {
    u3: unit(3).answered,
    u4: unit(4).requests,
    u5: unit(5).answered,
    s3: l.count(`/${id}/meter3/energy`),
    s5: l.count(`/${id}/meter5/energy`),
    t3: { ...ticks("meter3") },
    t5: { ...ticks("meter5") },
  };
  const polls3 = b.u3 - a.u3;
  const polls5 = b.u5 - a.u5;
  // the two live meters are polled alike (one period), each poll a new energy sample
  expect(Math.abs(polls3 - polls5)).toBeLessThanOrEqual(1);
  expect(b.s3 - a.s3).toBeGreaterThanOrEqual(polls3 - 1);
  expect(b.s5 - a.s5).toBeGreaterThanOrEqual(polls5 - 1);
  // every tick of their timers was a poll on the wire, and none was skipped, while the dead
  // meter got at most its probe
  expect(b.t3.ticks - a.t3.ticks).toBeLessThanOrEqual(polls3 + 1);
  expect(b.u4 - a.u4).toBeLessThanOrEqual(1);
  if (dev("meter4").demotions === a.demotions) {
    expect(b.t3.skippedTicks).toBe(a.t3.skippedTicks);
    expect(b.t5.skippedTicks).toBe(a.t5.skippedTicks);
  }
  expect(l.latest(`/${id}/meter3/voltage`)).toMatchObject({ quality: "good", value: 233 });
  expect(l.latest(`/${id}/meter5/voltage`)).toMatchObject({ quality: "good", value: 235 });
  expect(dev("meter3")).toMatchObject({ state: "ok", demotions: 0 });
  expect(dev("meter5")).toMatchObject({ state: "ok", demotions: 0 });

  // back: the next probe answers and meter4 polls again by itself
  const probesBefore = unit(4).requests;
  sim.units.get(4)!.revive();
  await waitFor(() => dev("meter4").state === "ok", "meter4 promoted", 30_000);
  await waitFor(
    () => l.latest(`/${id}/meter4/voltage`)?.quality === "good",
    "meter4 good again",
    10_000,
  );
  expect(unit(4).requests).toBeGreaterThan(probesBefore);
  expect(l.latest(`/${id}/meter4/voltage`)).toMatchObject({ quality: "good", value: 234 });
  expect(l.app.state).toBe("EXECUTE");
}

describe("three meters of one profile on one link", () => {
  test("on one Modbus TCP port: values right, a killed meter demoted alone, the others keep their periods, it comes back", async () => {
    const l = await startLine("tcp-bus", false);
    await scenario(l);
  }, 90_000);

  test("on one RTU serial line (a socat pty pair): the same", async () => {
    const l = await startLine("rtu-bus", true);
    await scenario(l);
  }, 90_000);
});

describe("a profile edit", () => {
  test("reloads exactly the connections that use it, with the link kept; every instance gets the change", async () => {
    const l = await startLine("edit-bus", false);
    const id = l.id;
    await waitFor(
      () => UNITS.every((u) => l.latest(`/${id}/meter${u}/voltage`)?.quality === "good"),
      "every meter good",
    );
    const connections = l.sim.stats.connections;
    const reconnects = l.app.counters.reconnects;
    const reloads = l.app.counters.reloads;
    // a new tag in the profile: the low word of the energy counter
    const r = l.store.apply({
      origin: "test",
      putProfiles: [
        meterProfile([
          {
            profile: "meter",
            tag_name: "energy_low",
            block_id: "ir",
            address: 3,
            data_type: "uint16",
          },
        ]),
      ],
    });
    expect(r.changes).toEqual([{ conn_id: id, kind: "blocks_changed", stored: "updated" }]);
    expect(await notifyChanges(l.peer, r)).toBe(1); // one config_reload, none for "other"
    await waitFor(() => l.app.counters.reloads > reloads, "hot reload");
    await waitFor(
      () => UNITS.every((u) => l.latest(`/${id}/meter${u}/energy_low`)?.quality === "good"),
      "the new tag on every instance",
    );
    for (const u of UNITS) {
      const full = l.latest(`/${id}/meter${u}/energy`)!.value as number;
      const low = l.latest(`/${id}/meter${u}/energy_low`)!.value as number;
      expect(Math.abs((full & 0xffff) - low)).toBeLessThan(200);
    }
    // the link kept: no new TCP connection, no reconnect
    expect(l.sim.stats.connections).toBe(connections);
    expect(l.app.counters.reconnects).toBe(reconnects);
    expect(l.app.state).toBe("EXECUTE");
  }, 60_000);
});
