import { expect, test } from "bun:test";
import { encodeSample } from "../../src/tagbus/codec.ts";
import { Outbox } from "../../src/tagbus/outbox.ts";

// The outbox must not keep published samples reachable: a long-lived array holding them made
// every eden collection promote them to the old generation (docs/performance.md "Memory of a
// running app"). Checked with WeakRefs and a full collection; the samples are made and
// handed over in functions of their own so that no stack slot of the test holds them.

const N = 200;

function fill(ob: Outbox, refs: WeakRef<object>[], from: number, n: number): void {
  for (let i = from; i < from + n; i++) {
    const s = encodeSample({ path: `/a/t${i}`, value: i, quality: "good", ts: 0 }, "a");
    refs.push(new WeakRef(s));
    ob.push([s], { remaining: 1, done: () => {} });
  }
}

function takeAll(ob: Outbox, n: number): number {
  const t = ob.take(n);
  Outbox.release(t.batches);
  return t.samples.length;
}

async function alive(refs: WeakRef<object>[]): Promise<number> {
  await Bun.sleep(0); // WeakRef targets are kept until the end of the job that made them
  Bun.gc(true);
  return refs.filter((r) => r.deref() !== undefined).length;
}

test("samples taken from the outbox (drained) are no longer reachable through it", async () => {
  const ob = new Outbox(100_000);
  const refs: WeakRef<object>[] = [];
  for (let b = 0; b < N / 20; b++) {
    fill(ob, refs, b * 20, 20);
    expect(takeAll(ob, 1000)).toBe(20);
  }
  // a few may be held by the conservative stack scan; all N were before the fix
  expect(await alive(refs)).toBeLessThan(N / 10);
  expect(ob.length).toBe(0); // (and the outbox itself is still alive here)
});

test("samples taken while others wait are released, the waiting ones kept", async () => {
  const ob = new Outbox(100_000);
  const taken: WeakRef<object>[] = [];
  const waiting: WeakRef<object>[] = [];
  fill(ob, taken, 0, N);
  fill(ob, waiting, N, 10);
  expect(takeAll(ob, N)).toBe(N);
  expect(ob.length).toBe(10);
  expect(await alive(taken)).toBeLessThan(N / 10);
  expect(await alive(waiting)).toBe(10);
  expect(takeAll(ob, 100)).toBe(10);
});

test("samples dropped over the bound are released", async () => {
  const ob = new Outbox(10);
  const refs: WeakRef<object>[] = [];
  fill(ob, refs, 0, N);
  expect(ob.droppedTotal).toBe(N - 10);
  // the 10 newest wait in the outbox; the N - 10 dropped ones are gone
  expect(await alive(refs.slice(0, N - 10))).toBeLessThan(N / 10);
  expect(ob.length).toBe(10);
});
