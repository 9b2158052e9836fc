import { describe, expect, test } from "bun:test";
import pino from "pino";
import type { TagSample } from "../../src/core/tag-value.ts";
import { Backoff } from "../../src/intf/backoff.ts";
import { AppFsm, IllegalTransitionError } from "../../src/intf/fsm.ts";
import { parseHealth } from "../../src/intf/health.ts";
import { LinkQueue } from "../../src/intf/link-queue.ts";
import { RateLimitedLog } from "../../src/intf/rate-limited-log.ts";
import { TagPublisher } from "../../src/intf/tag-publisher.ts";
import type { TagBus } from "../../src/tagbus/tagbus.ts";
import { ManualClock, settle } from "../../src/timer/manual-clock.ts";
import { PeriodicTimer } from "../../src/timer/periodic-timer.ts";

function deferred() {
  let resolve!: () => void;
  const p = new Promise<void>((r) => {
    resolve = r;
  });
  return { p, resolve };
}

describe("LinkQueue", () => {
  test("one request at a time; writes go ahead of waiting reads; FIFO within a priority", async () => {
    const q = new LinkQueue();
    const order: string[] = [];
    const first = deferred();
    const job = (name: string, gate?: Promise<void>) => async () => {
      order.push(`start ${name}`);
      if (gate) await gate;
      order.push(`end ${name}`);
      return name;
    };
    const all = [
      q.run("read", "r1", job("r1", first.p)),
      q.run("read", "r2", job("r2")),
      q.run("read", "r3", job("r3")),
      q.run("write", "w1", job("w1")),
      q.run("write", "w2", job("w2")),
    ];
    await settle();
    expect(q.waiting).toBe(4);
    first.resolve();
    expect(await Promise.all(all)).toEqual(["r1", "r2", "r3", "w1", "w2"]);
    expect(order).toEqual([
      "start r1",
      "end r1",
      "start w1",
      "end w1",
      "start w2",
      "end w2",
      "start r2",
      "end r2",
      "start r3",
      "end r3",
    ]);
  });

  test("a failing request rejects only its caller", async () => {
    const q = new LinkQueue();
    const a = q.run("read", "a", async () => {
      throw new Error("a failed");
    });
    const b = q.run("read", "b", async () => "b");
    await expect(a).rejects.toThrow("a failed");
    expect(await b).toBe("b");
  });

  test("inter-request gap on the injected clock", async () => {
    const clock = new ManualClock(0);
    const q = new LinkQueue(5, clock);
    const starts: number[] = [];
    const j = async () => {
      starts.push(clock.now());
    };
    const all = Promise.all([q.run("read", "a", j), q.run("read", "b", j), q.run("read", "c", j)]);
    await clock.advance(20);
    await all;
    expect(starts).toEqual([0, 5, 10]);
  });

  test("failPending rejects waiting requests, not the one in flight; close refuses new ones", async () => {
    const q = new LinkQueue();
    const gate = deferred();
    const a = q.run("read", "a", async () => {
      await gate.p;
      return "a";
    });
    const b = q.run("read", "b", async () => "b");
    await settle();
    q.failPending(new Error("link lost"));
    await expect(b).rejects.toThrow("link lost");
    const closing = q.close();
    gate.resolve();
    expect(await a).toBe("a");
    await closing;
    await expect(q.run("read", "c", async () => "c")).rejects.toThrow("closed");
  });
});

describe("timers on one link queue", () => {
  test("a slow block delays another only by its own I/O; the other's grid does not move", async () => {
    const clock = new ManualClock(0);
    const q = new LinkQueue(0, clock);
    /** A request that occupies the link for `ms` of (manual) time. */
    const io = (ms: number) => () =>
      new Promise<void>((resolve) => {
        clock.schedule(resolve, ms);
      });
    const fastStarts: number[] = [];
    const fastDone: number[] = [];
    const slow = new PeriodicTimer({
      periodMs: 10,
      phaseMs: 0,
      clock,
      onTick: () => q.run("read", "slow", io(7)),
    });
    const fast = new PeriodicTimer({
      periodMs: 10,
      phaseMs: 5,
      clock,
      onTick: async (t) => {
        fastStarts.push(t.deadline);
        await q.run("read", "fast", io(1));
        fastDone.push(clock.now());
      },
    });
    slow.start();
    fast.start();
    await clock.advance(49); // nothing in flight at 49 (the tick at 40 ended at 47, 45 at 48)
    await slow.stop();
    await fast.stop();
    // fast ticks stay on its own grid (5, 15, 25, …) ...
    expect(fastStarts).toEqual([5, 15, 25, 35, 45]);
    // ... and each finishes right after the slow block's 7 ms request frees the link (7 + 1).
    expect(fastDone).toEqual([8, 18, 28, 38, 48]);
    expect(fast.stats().overruns).toBe(0);
    expect(slow.stats().overruns).toBe(0);
  });
});

describe("AppFsm", () => {
  test("legal path and reload path", () => {
    const f = new AppFsm();
    const seen: string[] = [];
    f.onChange((c) => seen.push(`${c.from}>${c.to}`));
    for (const s of [
      "CONFIGURE",
      "CONNECT",
      "EXECUTE",
      "CONFIGURE",
      "CONNECT",
      "EXECUTE",
    ] as const) {
      f.go(s, "x");
    }
    f.go("RECOVER", "link lost");
    f.go("CONNECT", "retry");
    f.go("STOP", "SIGTERM");
    expect(seen.length).toBe(9);
    expect(f.reason).toBe("SIGTERM");
  });

  test("illegal transitions throw a typed error", () => {
    const f = new AppFsm();
    expect(() => f.go("EXECUTE", "x")).toThrow(IllegalTransitionError);
    f.go("STOP", "x");
    try {
      f.go("CONFIGURE", "x");
      throw new Error("no throw");
    } catch (e) {
      expect(e).toBeInstanceOf(IllegalTransitionError);
      expect((e as IllegalTransitionError).kind).toBe("internal");
      expect((e as IllegalTransitionError).from).toBe("STOP");
    }
  });
});

describe("Backoff", () => {
  test("doubles, capped, jitter within [d/2, d], reset", () => {
    const lo = new Backoff(100, 1000, () => 0);
    expect([lo.next(), lo.next(), lo.next(), lo.next(), lo.next(), lo.next()]).toEqual([
      50, 100, 200, 400, 500, 500,
    ]);
    const hi = new Backoff(100, 1000, () => 0.999999);
    expect([hi.next(), hi.next(), hi.next(), hi.next(), hi.next()]).toEqual([
      100, 200, 400, 800, 1000,
    ]);
    hi.reset();
    expect(hi.attempts).toBe(0);
    expect(hi.next()).toBe(100);
  });
});

describe("RateLimitedLog", () => {
  test("first occurrence, then one summary per interval, then recovered", () => {
    const lines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    let now = 0;
    const r = new RateLimitedLog(log, 1000, () => now);
    let written = 0;
    for (let i = 0; i < 100; i++) {
      if (r.warn("block:b1:timeout", { block: "b1" }, "timeout")) written++;
      now += 50; // 100 polls over 5 s
    }
    expect(written).toBe(5); // 1 first + 4 summaries, not 100
    expect(lines[1]?.repeated).toBe(20);
    r.clearPrefix("block:b1:");
    expect(lines.at(-1)?.msg).toBe("recovered");
    expect(lines.at(-1)?.total).toBe(100);
    expect(r.active()).toEqual([]);
  });
});

describe("TagPublisher", () => {
  function rec() {
    const batches: TagSample[][] = [];
    const bus = { publish: async (s: TagSample[]) => void batches.push(s) } as unknown as TagBus;
    return { bus, batches };
  }

  test("deadband from the last published value, heartbeat republish, bad as null", async () => {
    const { bus, batches } = rec();
    let now = 0;
    const p = new TagPublisher("c1", bus, 1000, () => now);
    const read = (v: number) => [{ tag_name: "t", value: v, quality: "good" as const, ts: now }];
    const db = () => 2;
    expect(await p.publish(read(10), db)).toBe(1);
    expect(await p.publish(read(11), db)).toBe(0);
    expect(await p.publish(read(12), db)).toBe(0);
    expect(await p.publish(read(12.5), db)).toBe(1); // drift accumulates past 2
    now = 1500;
    expect(await p.publish(read(12.5), db)).toBe(1); // heartbeat
    expect(await p.publishBad(["t"], "timeout")).toBe(1);
    expect(await p.publishBad(["t"], "timeout")).toBe(0);
    expect(batches.at(-1)).toEqual([
      { path: "/c1/t", value: null, quality: "bad", reason: "timeout", ts: 1500 },
    ]);
    expect(await p.publish(read(12.5), db)).toBe(1); // good again
  });
});

describe("health", () => {
  test("parseHealth accepts v1 JSON only", () => {
    expect(parseHealth("nope")).toBeUndefined();
    expect(parseHealth(JSON.stringify({ v: 2, state: "EXECUTE" }))).toBeUndefined();
    expect(parseHealth(JSON.stringify({ v: 1, state: "EXECUTE" }))?.state).toBe("EXECUTE");
  });
});
