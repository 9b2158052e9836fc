import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import pino from "pino";
import { BusStallMonitor } from "../../src/intf/bus-stall.ts";
import type { TagBusStats } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

type Line = { level: number; msg: string; [k: string]: unknown };

function capture(): { log: pino.Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe("BusStallMonitor (injected clock and counters)", () => {
  test("warns after warnAfterMs of no progress, repeats at most every repeatMs, reports recovery", () => {
    let now = 1000;
    const stats: TagBusStats = {
      published: 10,
      outboxLength: 0,
      outboxDropped: 0,
      connected: true,
    };
    const { log, lines } = capture();
    const seen: string[] = [];
    let stalls = 0;
    const m = new BusStallMonitor(() => ({ ...stats }), log, {
      warnAfterMs: 5000,
      repeatMs: 60_000,
      now: () => now,
      onLine: (level) => seen.push(level),
      onStall: () => stalls++,
    });
    m.check(); // progress (first sample)
    stats.outboxLength = 3;
    now += 1000;
    m.check();
    expect(m.stalledMs()).toBe(1000);
    // published moving while samples wait is not a stall
    stats.published = 12;
    now += 1000;
    m.check();
    expect(m.stalledMs()).toBe(0);
    for (let i = 0; i < 4; i++) {
      now += 1000;
      stats.outboxLength += 10;
      m.check();
    }
    expect(lines).toHaveLength(0); // 4 s < 5 s
    now += 1000;
    stats.outboxLength = 60;
    m.check();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, stalledMs: 5000, outboxLength: 60 });
    expect(lines[0]!.msg).toContain("tag bus publishing stalled for 5000 ms");
    for (let i = 0; i < 30; i++) {
      now += 1000;
      m.check();
    }
    expect(lines).toHaveLength(1); // rate-limited
    now += 30_000;
    m.check();
    expect(lines).toHaveLength(2);
    expect(stalls).toBe(1);
    now += 1000;
    stats.published = 100;
    stats.outboxLength = 0;
    m.check();
    expect(lines).toHaveLength(3);
    expect(lines[2]).toMatchObject({ level: 30, buffered: 60, dropped: 0 });
    expect(lines[2]!.msg).toContain("tag bus publishing recovered after");
    expect(m.stalledMs()).toBe(0);
    expect(seen).toEqual(["warn", "warn", "info"]);
  });

  test("a short hiccup (below warnAfterMs) logs nothing", () => {
    let now = 0;
    const stats: TagBusStats = { published: 0, outboxLength: 5, outboxDropped: 0, connected: true };
    const { log, lines } = capture();
    const m = new BusStallMonitor(() => ({ ...stats }), log, { warnAfterMs: 5000, now: () => now });
    for (let i = 0; i < 4; i++) {
      now += 1000;
      m.check();
    }
    stats.published = 5;
    stats.outboxLength = 0;
    m.check();
    expect(lines).toHaveLength(0);
  });
});

describe("IntfApp while Redis hangs (SIGSTOP)", () => {
  const redis = new RedisServer();
  const dir = tempDir("ne-intf-stall-");
  let t: AppUnderTest;

  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    redis.signal("SIGCONT");
    await t?.stop();
    await redis.shutdown();
    dir.cleanup();
  });

  test("warns when publishing stalls, health shows it, info line on recovery, nothing lost", async () => {
    t = await AppUnderTest.create("stall", join(dir.path, "sot.db"), redis, {
      busStallWarnMs: 300,
      busStallCheckMs: 50,
    });
    t.store.apply({ origin: "test", put: [connRows("stall", { periodMs: 20 })] });
    const { log, lines } = capture();
    t.log = log;
    t.device.values.set("speed", 7);
    t.start();
    await t.waitTag("speed", (v) => v.value === 7, "speed 7");
    redis.signal("SIGSTOP");
    try {
      t.device.values.set("speed", 8);
      await waitFor(
        () => lines.some((l) => l.msg.startsWith("tag bus publishing stalled")),
        "stall warning",
      );
      const h = t.app.health();
      expect(h.bus.stalledMs).toBeGreaterThanOrEqual(300);
      expect(h.bus.outboxLength).toBeGreaterThan(0);
      expect(h.counters.busStalls).toBe(1);
      expect(h.recentLogs.some((l) => l.level === "warn" && l.msg.includes("stalled"))).toBe(true);
    } finally {
      redis.signal("SIGCONT");
    }
    await waitFor(
      () => lines.some((l) => l.msg.startsWith("tag bus publishing recovered")),
      "recovery line",
    );
    const rec = lines.find((l) => l.msg.startsWith("tag bus publishing recovered"))!;
    expect(rec.level).toBe(30);
    expect(rec.buffered as number).toBeGreaterThan(0);
    expect(rec.stalledMs as number).toBeGreaterThanOrEqual(300);
    expect(rec.dropped).toBe(0);
    await t.waitTag("speed", (v) => v.value === 8, "speed 8 after the stall");
    await waitFor(() => t.app.health().bus.stalledMs === 0, "stalledMs back to 0");
  }, 60_000);
});
