import { describe, expect, test } from "bun:test";
import { ManualClock, settle } from "../../src/timer/manual-clock.ts";
import { PeriodicTimer, type TickInfo } from "../../src/timer/periodic-timer.ts";
import { SampleStats } from "../../src/timer/sample-stats.ts";

function recorder(clock: ManualClock, workMs = 0) {
  const ticks: (TickInfo & { at: number })[] = [];
  return {
    ticks,
    onTick: async (t: TickInfo) => {
      ticks.push({ ...t, at: clock.now() });
      if (workMs > 0) clock.skip(workMs);
    },
  };
}

describe("PeriodicTimer", () => {
  test("ticks on the grid origin + phase + k·period", async () => {
    const clock = new ManualClock(1000);
    const r = recorder(clock);
    const t = new PeriodicTimer({ periodMs: 10, phaseMs: 3, clock, onTick: r.onTick });
    t.start();
    await clock.advance(45);
    expect(r.ticks.map((x) => x.at)).toEqual([1003, 1013, 1023, 1033, 1043]);
    expect(r.ticks.map((x) => x.index)).toEqual([0, 1, 2, 3, 4]);
    expect(r.ticks.every((x) => x.lateness === 0)).toBe(true);
    await t.stop();
  });

  test("a timer given an earlier origin resumes that grid at its next point, not at once", async () => {
    const clock = new ManualClock(1000);
    const r = recorder(clock);
    const first = new PeriodicTimer({ periodMs: 10, phaseMs: 3, clock, onTick: r.onTick });
    first.start();
    await clock.advance(25); // ticks at 1003, 1013, 1023
    await first.stop();
    await clock.advance(12); // stopped at 1037 (a reconnect, a reload)
    const second = new PeriodicTimer({
      periodMs: 10,
      phaseMs: 3,
      origin: 1000,
      clock,
      onTick: r.onTick,
    });
    second.start();
    await clock.advance(20);
    expect(r.ticks.map((x) => x.at)).toEqual([1003, 1013, 1023, 1043, 1053]);
    expect(r.ticks.map((x) => x.deadline)).toEqual([1003, 1013, 1023, 1043, 1053]);
    expect(r.ticks.map((x) => x.index)).toEqual([0, 1, 2, 4, 5]);
    await second.stop();
  });

  test("an origin in the future: the first tick is at origin + phase", async () => {
    const clock = new ManualClock(1000);
    const r = recorder(clock);
    const t = new PeriodicTimer({ periodMs: 10, origin: 1004, clock, onTick: r.onTick });
    t.start();
    await clock.advance(15);
    expect(r.ticks.map((x) => x.at)).toEqual([1004, 1014]);
    await t.stop();
  });

  test("no drift: work inside the period does not shift the grid", async () => {
    const clock = new ManualClock(0);
    const r = recorder(clock, 7);
    const t = new PeriodicTimer({ periodMs: 10, clock, onTick: r.onTick });
    t.start();
    await clock.advance(10_000);
    expect(r.ticks.length).toBe(1001);
    expect(r.ticks.at(-1)!.at).toBe(10_000);
    expect(r.ticks.every((x, k) => x.at === k * 10)).toBe(true);
    expect(t.stats().overruns).toBe(0);
    await t.stop();
  });

  test("a late fire is measured as lateness, next deadline stays on the grid", async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const t = new PeriodicTimer({
      periodMs: 10,
      clock: {
        now: () => clock.now(),
        // the loop is busy: every callback fires 2 ms after asked
        schedule: (fn, d) => clock.schedule(fn, d + 2),
        cancel: (h) => clock.cancel(h),
      },
      onTick: () => {
        ticks.push(clock.now());
      },
    });
    t.start();
    await clock.advance(35);
    expect(ticks).toEqual([2, 12, 22, 32]);
    expect(t.stats().lateness.max).toBe(2);
    expect(t.stats().lateness.mean).toBe(2);
    await t.stop();
  });

  test("an early fire waits for the deadline instead of ticking early", async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const t = new PeriodicTimer({
      periodMs: 10,
      clock: {
        now: () => clock.now(),
        schedule: (fn, d) => clock.schedule(fn, d > 1 ? d - 1 : d),
        cancel: (h) => clock.cancel(h),
      },
      onTick: () => {
        ticks.push(clock.now());
      },
    });
    t.start();
    await clock.advance(25);
    expect(ticks).toEqual([0, 10, 20]);
    await t.stop();
  });

  test("overrun skips missed ticks (no burst), counts them, keeps the grid", async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    let slow = true;
    const t = new PeriodicTimer({
      periodMs: 10,
      clock,
      onTick: () => {
        ticks.push(clock.now());
        if (slow && clock.now() === 10) clock.skip(35); // run ends at 45: ticks 20, 30, 40 missed
      },
    });
    t.start();
    await clock.advance(80);
    slow = false;
    expect(ticks).toEqual([0, 10, 50, 60, 70, 80]);
    const s = t.stats();
    expect(s.overruns).toBe(1);
    expect(s.skippedTicks).toBe(3);
    expect(s.ticks).toBe(6);
    expect(s.execution.max).toBe(35);
    await t.stop();
  });

  test("a run ending exactly on the next deadline does not skip it", async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const t = new PeriodicTimer({
      periodMs: 10,
      clock,
      onTick: () => {
        ticks.push(clock.now());
        if (clock.now() === 0) clock.skip(10);
      },
    });
    t.start();
    await clock.advance(20);
    expect(ticks).toEqual([0, 10, 20]);
    expect(t.stats().overruns).toBe(0);
    await t.stop();
  });

  test("never runs concurrently with itself", async () => {
    const clock = new ManualClock(0);
    let active = 0;
    let maxActive = 0;
    const releases: (() => void)[] = [];
    const t = new PeriodicTimer({
      periodMs: 5,
      clock,
      onTick: async () => {
        active++;
        maxActive = Math.max(maxActive, active);
        await new Promise<void>((r) => releases.push(r));
        active--;
      },
    });
    t.start();
    await clock.advance(50);
    expect(releases.length).toBe(1);
    releases.shift()!();
    await settle();
    await clock.advance(10);
    expect(releases.length).toBe(1);
    expect(maxActive).toBe(1);
    expect(t.stats().skippedTicks).toBe(9); // ticks 1..9 (5..45 ms) missed while tick 0 hung until 50
    releases.shift()!();
    await t.stop();
  });

  test("stop() awaits the run in flight; no tick after it resolves", async () => {
    const clock = new ManualClock(0);
    let release!: () => void;
    let finished = false;
    let count = 0;
    const t = new PeriodicTimer({
      periodMs: 10,
      clock,
      onTick: async () => {
        count++;
        await new Promise<void>((r) => {
          release = r;
        });
        finished = true;
      },
    });
    t.start();
    await clock.advance(1);
    expect(count).toBe(1);
    let stopped = false;
    const p = t.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    release();
    await p;
    expect(finished).toBe(true);
    await clock.advance(100);
    expect(count).toBe(1);
    expect(clock.waiting).toBe(0);
    expect(t.active).toBe(false);
  });

  test("errors from onTick are reported and the timer keeps going", async () => {
    const clock = new ManualClock(0);
    const errors: unknown[] = [];
    let n = 0;
    const t = new PeriodicTimer({
      periodMs: 10,
      clock,
      onTick: () => {
        n++;
        throw new Error("boom");
      },
      onError: (e) => errors.push(e),
    });
    t.start();
    await clock.advance(49);
    expect(n).toBe(5);
    expect(errors.length).toBe(5);
    await t.stop();
  });

  test("restart after stop starts a new grid", async () => {
    const clock = new ManualClock(0);
    const ticks: number[] = [];
    const t = new PeriodicTimer({
      periodMs: 10,
      clock,
      onTick: () => void ticks.push(clock.now()),
    });
    t.start();
    await clock.advance(15);
    await t.stop();
    await clock.advance(3);
    t.start();
    await clock.advance(12);
    expect(ticks).toEqual([0, 10, 18, 28]);
    await t.stop();
  });

  test("rejects a bad period or phase", () => {
    expect(() => new PeriodicTimer({ periodMs: 0, onTick: () => {} })).toThrow(RangeError);
    expect(() => new PeriodicTimer({ periodMs: 10, phaseMs: -1, onTick: () => {} })).toThrow(
      RangeError,
    );
  });
});

describe("SampleStats", () => {
  test("mean/max over all, quantiles over the window", () => {
    const s = new SampleStats(100);
    for (let i = 1; i <= 100; i++) s.add(i);
    expect(s.mean).toBe(50.5);
    expect(s.max).toBe(100);
    expect(s.quantile(0.99)).toBe(99);
    expect(s.quantile(0.5)).toBe(50);
    for (let i = 0; i < 100; i++) s.add(1);
    expect(s.quantile(0.99)).toBe(1);
    expect(s.max).toBe(100);
    expect(s.count).toBe(200);
  });
});
