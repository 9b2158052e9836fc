import { edenGC, fullGC } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import {
  HEAP_TRIM_LOOK_INTERVAL_MS,
  HEAP_TRIM_MAX_SHARE,
  HEAP_TRIM_MIN_GROWTH_BYTES,
  HEAP_TRIM_POLLED_LOOK_INTERVAL_MS,
  HeapTrim,
} from "../../src/intf/heap-trim.ts";

const MiB = 1024 * 1024;

function fillJunk(held: Map<number, object>, n: number): WeakRef<object>[] {
  const refs: WeakRef<object>[] = [];
  for (let i = 0; i < n; i++) {
    const o = { i, s: `x${i}` };
    held.set(i, o);
    refs.push(new WeakRef(o));
  }
  return refs;
}

/**
 * A trim on a fake clock and heap: `collect` drops the heap to `live` and takes `gcMs`;
 * `collectYoung` drops it to `s.old` (what the eden collection keeps) and takes 1 ms.
 */
function fake(live = 4 * MiB, gcMs = 0) {
  const s = { t: 0, heap: live, old: live, collects: 0, edens: 0 };
  const trim = new HeapTrim({
    now: () => s.t,
    heapSize: () => s.heap,
    collect: () => {
      s.collects++;
      s.heap = live;
      s.old = live;
      s.t += gcMs;
    },
    collectYoung: () => {
      s.edens++;
      s.heap = s.old;
      s.t += 1;
    },
  });
  return { s, trim };
}

describe("HeapTrim", () => {
  test("after polled publishes it looks at most once a polled look interval, after pushed ones sooner", () => {
    const { s, trim } = fake();
    s.t = HEAP_TRIM_POLLED_LOOK_INTERVAL_MS;
    trim.idle(false); // first look: notes 4 MiB
    s.heap += HEAP_TRIM_MIN_GROWTH_BYTES + 1;
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle(false); // grown, a push-pace interval later: a polled publish does not look yet
    expect(s.collects).toBe(0);
    s.t += HEAP_TRIM_POLLED_LOOK_INTERVAL_MS - HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle(false);
    expect(s.collects).toBe(1);
    s.heap += HEAP_TRIM_MIN_GROWTH_BYTES + 1;
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle(true); // a pushed publish looks at the push pace, and collects
    expect(s.collects).toBe(2);
  });

  test("collects when the heap grew by the threshold since the last look, not between looks", () => {
    const { s, trim } = fake();
    trim.idle(); // t=0: before the first look interval, nothing read
    s.t = HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle(); // first look: notes 4 MiB
    expect(s.collects).toBe(0);
    s.heap += HEAP_TRIM_MIN_GROWTH_BYTES + 1;
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS / 2;
    trim.idle(); // grown, but too early for a look
    expect(s.collects).toBe(0);
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS / 2;
    trim.idle();
    expect(s.collects).toBe(1);
    expect(trim.collections).toBe(1);
  });

  test("does not collect while the heap grows less than the threshold", () => {
    const { s, trim } = fake();
    for (let i = 1; i <= 200; i++) {
      s.t = i * HEAP_TRIM_LOOK_INTERVAL_MS;
      s.heap = 4 * MiB + HEAP_TRIM_MIN_GROWTH_BYTES / 2;
      trim.idle();
    }
    expect(s.collects).toBe(0);
  });

  test("a smaller heap (JSC's own full collection) becomes the new base", () => {
    const { s, trim } = fake(10 * MiB);
    s.t = HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle(); // base 10 MiB
    s.heap = 4 * MiB; // JSC collected by itself
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle();
    s.heap = 4 * MiB + HEAP_TRIM_MIN_GROWTH_BYTES + 1; // grown from the new base, under the old
    s.t += HEAP_TRIM_LOOK_INTERVAL_MS;
    trim.idle();
    expect(s.collects).toBe(1);
  });

  test("a collection of d ms lets the next one come only d / HEAP_TRIM_MAX_SHARE later", () => {
    const gcMs = 30;
    const gap = gcMs / HEAP_TRIM_MAX_SHARE; // 1 s at 3 %: longer than the look interval
    expect(gap).toBeGreaterThan(HEAP_TRIM_LOOK_INTERVAL_MS);
    const { s, trim } = fake(4 * MiB, gcMs);
    trim.started();
    trim.idle(); // t 0 → 30 ms
    expect(s.collects).toBe(1);
    // the heap is past the threshold at every look: only the time share holds it back
    for (let t = HEAP_TRIM_LOOK_INTERVAL_MS; t < gcMs + gap; t += 10) {
      s.t = t;
      s.heap = 4 * MiB + 2 * HEAP_TRIM_MIN_GROWTH_BYTES;
      trim.idle();
    }
    expect(s.collects).toBe(1);
    s.t = gcMs + gap;
    trim.idle();
    expect(s.collects).toBe(2);
  });

  test("while the time share holds the full collection back, young growth gets an eden collection", () => {
    const gcMs = 30;
    const { s, trim } = fake(4 * MiB, gcMs);
    trim.started();
    trim.idle(); // full, t 0 → 30 ms; the next full not before 1,030 ms
    s.t = 200;
    s.heap = 4 * MiB + HEAP_TRIM_MIN_GROWTH_BYTES / 2; // young garbage, under the threshold
    trim.idle();
    expect(s.edens).toBe(0);
    s.t = 300;
    s.heap = 4 * MiB + 2 * HEAP_TRIM_MIN_GROWTH_BYTES; // 2 MiB of young garbage…
    s.old = 4 * MiB + HEAP_TRIM_MIN_GROWTH_BYTES / 2; // …of which the eden collection keeps 0.5
    trim.idle();
    expect(s.edens).toBe(1);
    expect(s.collects).toBe(1);
    expect(trim.edenCollections).toBe(1);
    // what the eden collection kept is the base of the next eden one
    s.t = 600;
    s.heap = s.old + HEAP_TRIM_MIN_GROWTH_BYTES / 2;
    trim.idle();
    expect(s.edens).toBe(1);
    // once the share allows, growth over the last full collection gets a full one
    s.t = 1_100;
    s.heap = s.old + HEAP_TRIM_MIN_GROWTH_BYTES;
    trim.idle();
    expect(s.collects).toBe(2);
    expect(s.edens).toBe(1);
  });

  test("started() makes the next idle() collect, whatever the growth and the look interval", () => {
    const { s, trim } = fake();
    trim.started();
    expect(s.collects).toBe(0); // not in the middle of the start
    trim.idle(); // t=0: before the first look, heap not grown
    expect(s.collects).toBe(1);
    trim.idle();
    expect(s.collects).toBe(1); // once
  });

  test("the default collection is a real full collection: the old generation's garbage goes", async () => {
    const trim = new HeapTrim();
    const held = new Map<number, object>();
    const refs = fillJunk(held, 2000);
    edenGC(); // they survive a young collection: they are in the old generation now
    held.clear(); // garbage now, which only a full collection frees
    await Bun.sleep(0); // WeakRef targets are kept until the end of the job that made them
    trim.started();
    trim.idle(); // the default collection
    expect(trim.collections).toBe(1);
    // a few may be held by the conservative stack scan
    expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(200);
  });
});

test("the default eden collection frees young garbage", async () => {
  fullGC();
  // a clock that moves 10 ms per read: each full collection "takes" 10 ms, which holds the
  // next full one back by 10 / HEAP_TRIM_MAX_SHARE ms, far more than this test's reads
  let clock = 0;
  const trim = new HeapTrim({ lookIntervalMs: 0, now: () => (clock += 10) });
  trim.started();
  trim.idle(); // full: both bases set
  // JSC's own eden collection promotes what is alive then: the heap's size grows by it
  const old = new Map<number, object>();
  fillJunk(old, 30_000);
  edenGC();
  const young = new Map<number, object>();
  const refs = fillJunk(young, 2000);
  young.clear(); // young garbage
  await Bun.sleep(0); // WeakRef targets are kept until the end of the job that made them
  trim.idle();
  expect(trim.collections).toBe(1);
  expect(trim.edenCollections).toBe(1);
  // a few may be held by the conservative stack scan
  expect(refs.filter((r) => r.deref() !== undefined).length).toBeLessThan(200);
  old.clear();
});
