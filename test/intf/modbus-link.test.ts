import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { IntfApp } from "../../src/intf/app.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { TickInfo } from "../../src/timer/periodic-timer.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { connRows, waitFor } from "./harness.ts";

/**
 * The interface app with the real Modbus driver against the simulator: link resets a device
 * causes in normal operation (idle close, a corrupt MBAP header) and the block grid across a
 * lost link (docs/intf.md "Scheduling", docs/modbus.md "Link resets").
 */
const redis = new RedisServer();
const dir = tempDir("ne-intf-link-");
const db = join(dir.path, "sot.db");
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

interface Running {
  app: IntfApp;
  sim: ModbusSim;
  /** Every sample of the connection's data tags, in arrival order. */
  samples: TagValue[];
  /** Every block tick: block id and the grid deadline the timer reports. */
  ticks: { block: string; tick: TickInfo }[];
  /** Every state the app entered. */
  states: string[];
  peer: RedisTagBus;
}

async function run(
  connId: string,
  blocks: { block_id: string; period_ms: number; address?: number }[],
  connection: Record<string, unknown> = {},
  simOpts: Parameters<typeof startModbusSim>[0] = {},
): Promise<Running> {
  const sim = await startModbusSim({
    map: { holding_registers: { "0": [11, 12], "10": [21, 22] } },
    ...simOpts,
  });
  cleanups.push(() => sim.stop());
  const store = openStore(db);
  const rows = connRows(connId, {
    blocks: blocks.map((b) => ({ count: 2, ...b })),
    tags: blocks.map((b) => ({ tag_name: `${b.block_id}_v`, block_id: b.block_id })),
    connection: { port: sim.port, timeout_ms: 1000, ...connection },
  });
  // each block's tag at the block's first register
  rows.tags = rows.tags.map((t, i) => ({ ...t, address: blocks[i]!.address ?? 0 }));
  store.apply({ origin: "test", put: [rows] });
  const prefix = uniquePrefix(connId);
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: connId });
  const peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  const samples: TagValue[] = [];
  const sub = await peer.subscribe([`/${connId}/*`], (ev) => {
    if (ev.kind === "value") samples.push(ev.value);
  });
  const ticks: Running["ticks"] = [];
  const app = new IntfApp({
    appId: connId,
    loadConfig: () => store.getConnectionConfig(connId),
    createDriver: (c) => createModbusDriver(c, { log: silentLogger, dataDir: dir.path }),
    bus,
    log: silentLogger,
    options: {
      healthIntervalMs: 200,
      random: () => 0.5,
      onBlockTick: (block, tick) => ticks.push({ block, tick }),
    },
  });
  const states: string[] = [];
  app.fsm.onChange((c) => states.push(c.to));
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
  return { app, sim, samples, ticks, states, peer };
}

/** Deadlines of `block` are all on one grid: whole periods apart (float tolerance only). */
function expectOnOneGrid(ticks: Running["ticks"], block: string, periodMs: number): number {
  const ds = ticks.filter((t) => t.block === block).map((t) => t.tick.deadline);
  expect(ds.length).toBeGreaterThan(1);
  const d0 = ds[0]!;
  const offGrid = ds
    .map((d) => (d - d0) / periodMs)
    .filter((k) => Math.abs(k - Math.round(k)) > 1e-6);
  expect(offGrid).toEqual([]);
  return ds.length;
}

describe("a device that closes idle sockets", () => {
  test("no bad sample, no state change, every block stays on its grid", async () => {
    const r = await run("idle-1", [
      { block_id: "fast", period_ms: 400, address: 0 },
      { block_id: "slow", period_ms: 1000, address: 10 },
    ]);
    await waitFor(() => r.samples.length >= 2, "first values");
    // the first poll of each block is tick 0 of its grid, right at the start
    expect(
      r.ticks
        .filter((t) => t.tick.index === 0)
        .map((t) => t.block)
        .sort(),
    ).toEqual(["fast", "slow"]);
    r.sim.faults.idle_close_ms = 150; // closes between every two polls
    const connections = r.sim.stats.connections;
    const ticksAt = r.ticks.length;
    await waitFor(() => r.sim.stats.connections >= connections + 6, "six idle closes");
    await waitFor(
      () => r.ticks.slice(ticksAt).filter((t) => t.block === "slow").length >= 3,
      "three slow ticks after the closes",
    );
    const reads = r.app.counters.reads;
    await waitFor(() => r.app.counters.reads >= reads + 2, "two more reads");
    expect(r.samples.filter((s) => s.quality !== "good")).toEqual([]);
    expect(r.states).toEqual(["CONFIGURE", "CONNECT", "EXECUTE"]);
    expect(r.app.counters.readErrors).toBe(0);
    expect(r.app.counters.reconnects).toBe(0);
    expectOnOneGrid(r.ticks, "fast", 400);
    expectOnOneGrid(r.ticks, "slow", 1000);
  }, 60_000);
});

describe("a lost link (the server goes away and comes back)", () => {
  test("after the recovery every block polls on the grid it had before", async () => {
    const r = await run(
      "recover-1",
      [
        { block_id: "a", period_ms: 300, address: 0 },
        { block_id: "b", period_ms: 700, address: 10 },
      ],
      { connect_timeout_ms: 500, backoff_initial_ms: 100, backoff_max_ms: 200 },
    );
    await waitFor(() => r.ticks.filter((t) => t.block === "b").length >= 2, "two ticks of b");
    const port = r.sim.port;
    await r.sim.stop();
    await waitFor(() => r.app.state === "RECOVER", "RECOVER");
    const before = r.ticks.length;
    const sim2 = await startModbusSim({
      port,
      map: { holding_registers: { "0": [31, 32], "10": [41, 42] } },
    });
    cleanups.push(() => sim2.stop());
    await waitFor(() => r.app.counters.reconnects >= 1, "reconnected");
    await waitFor(
      () =>
        r.ticks.slice(before).filter((t) => t.block === "a").length >= 3 &&
        r.ticks.slice(before).filter((t) => t.block === "b").length >= 3,
      "three ticks of each block after the reconnect",
    );
    expect(r.states).toContain("RECOVER");
    expectOnOneGrid(r.ticks, "a", 300);
    expectOnOneGrid(r.ticks, "b", 700);
    await waitFor(
      () => r.samples.some((s) => s.path === "/recover-1/b_v" && s.value === 41),
      "new values",
    );
  }, 60_000);
});

describe("a corrupt MBAP header", () => {
  test("that block's tags go bad with framing_error, the link is reset at once, the next poll is good", async () => {
    const r = await run("frame-1", [{ block_id: "hr", period_ms: 300, address: 0 }]);
    await waitFor(() => r.samples.some((s) => s.quality === "good"), "first value");
    const connections = r.sim.stats.connections;
    r.sim.faults.corrupt_replies = 1;
    await waitFor(() => r.samples.some((s) => s.quality === "bad"), "the bad sample");
    const bad = r.samples.filter((s) => s.quality === "bad");
    expect(bad.map((s) => [s.path, s.reason])).toEqual([["/frame-1/hr_v", "framing_error"]]);
    const at = r.samples.indexOf(bad[0]!);
    const reads = r.app.counters.reads;
    await waitFor(() => r.app.counters.reads > reads, "the next read");
    // the next poll after the bad one read good, on a new link
    await waitFor(() => r.samples.length > at + 1, "the next sample");
    expect(r.samples[at + 1]).toMatchObject({ quality: "good", value: 11 });
    expect(r.sim.stats.connections).toBe(connections + 1);
    expect(r.app.counters.readErrors).toBe(1);
    expect(r.states).toEqual(["CONFIGURE", "CONNECT", "EXECUTE"]);
  }, 60_000);
});
