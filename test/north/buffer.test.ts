import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { TagValue } from "../../src/core/tag-value.ts";
import { NorthBuffer, ROW_OVERHEAD_BYTES } from "../../src/north/buffer.ts";
import { tempDir } from "../support/tmp.ts";

const dirs: { cleanup(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.cleanup();
});
function file(): string {
  const d = tempDir("ne-buf-");
  dirs.push(d);
  return join(d.path, "buffer.db");
}
const tv = (seq: number, ts = 1000 + seq, extra: Partial<TagValue> = {}): TagValue => ({
  path: "/p1/a",
  value: seq,
  quality: "good",
  ts,
  producer: "p1",
  seq,
  ...extra,
});
/** Row bytes of tv(seq) as the buffer counts them. */
const rowBytes = (v: TagValue) =>
  v.path.length +
  JSON.stringify([v.value, v.quality, v.reason ?? null, v.producer, v.seq]).length +
  ROW_OVERHEAD_BYTES;

describe("NorthBuffer", () => {
  test("round trip: values, qualities, reasons come back oldest first, exactly", () => {
    const b = new NorthBuffer(file(), { maxBytes: 1e9, maxAgeMs: 1e12 });
    const vals = [
      tv(1),
      tv(2, 1002, { value: null, quality: "bad", reason: "timeout" }),
      tv(3, 1003, { value: "18446744073709551615" }),
      tv(4, 1004, { value: true, quality: "uncertain", reason: "stale" }),
    ];
    expect(b.append(vals, 2000)).toBe(0);
    expect(b.count).toBe(4);
    expect(b.peek(10).map((r) => r.value)).toEqual(vals);
    expect(b.oldestTs()).toBe(1001);
    const [r1, r2] = b.peek(2);
    b.remove([r1!.id, r2!.id]);
    expect(b.peek(10).map((r) => r.value.seq)).toEqual([3, 4]);
    expect(b.peek(10, b.peek(1)[0]!.id).map((r) => r.value.seq)).toEqual([4]);
    b.close();
  });

  test("over the size cap exactly the oldest are dropped and counted, across a reopen", () => {
    const f = file();
    const one = rowBytes(tv(100)); // every row has the same size
    const b = new NorthBuffer(f, { maxBytes: one * 10, maxAgeMs: 1e12 });
    expect(
      b.append(
        Array.from({ length: 8 }, (_, i) => tv(100 + i)),
        2000,
      ),
    ).toBe(0);
    expect(
      b.append(
        Array.from({ length: 5 }, (_, i) => tv(108 + i)),
        2000,
      ),
    ).toBe(3);
    expect(b.count).toBe(10);
    expect(b.bytes).toBe(one * 10);
    expect(b.dropped).toBe(3);
    expect(b.peek(100).map((r) => r.value.seq)).toEqual([
      103, 104, 105, 106, 107, 108, 109, 110, 111, 112,
    ]);
    b.close();
    const again = new NorthBuffer(f, { maxBytes: one * 10, maxAgeMs: 1e12 });
    expect(again.count).toBe(10);
    expect(again.bytes).toBe(one * 10);
    expect(again.dropped).toBe(3);
    again.close();
  });

  test("older than the age cap: dropped and counted", () => {
    const b = new NorthBuffer(file(), { maxBytes: 1e9, maxAgeMs: 60_000 });
    b.append([tv(1, 1000), tv(2, 50_000), tv(3, 70_000)], 60_500);
    expect(b.count).toBe(3);
    expect(b.expire(100_000)).toBe(1); // ts 1000 < 100000 - 60000
    expect(b.peek(10).map((r) => r.value.seq)).toEqual([2, 3]);
    expect(b.dropped).toBe(1);
    b.close();
  });

  test("removing ids already dropped changes nothing", () => {
    const one = rowBytes(tv(10));
    const b = new NorthBuffer(file(), { maxBytes: one * 2, maxAgeMs: 1e12 });
    b.append([tv(10), tv(11)], 2000);
    const ids = b.peek(2).map((r) => r.id);
    b.append([tv(12)], 2000); // drops 10
    b.remove(ids); // 10 is gone already, 11 goes now
    expect(b.count).toBe(1);
    expect(b.bytes).toBe(one);
    expect(b.peek(10).map((r) => r.value.seq)).toEqual([12]);
    b.close();
  });
});
