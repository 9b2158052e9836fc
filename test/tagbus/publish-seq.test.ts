import { describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * The PUBLISH script writes current values whose seq the client encoded beforehand (for the
 * seq it expects Redis to hand out; docs/tagbus.md "Publish"): whatever moved the producer's
 * seq counter meanwhile (another bus instance with the same producer id, a counter set by
 * hand), every current value carries the seq of the stream sample it came from, and the last
 * sample of a path within one call is the one that stays current.
 */
const fx = useBusFixture();
const { open } = fx;

/** Every sample of a producer's stream, path → the last one (with its seq). */
async function lastInStream(prefix: string, producer: string): Promise<Map<string, TagValue>> {
  const entries = (await fx.raw.sendCommand(["XRANGE", `${prefix}s:${producer}`, "-", "+"])) as [
    string,
    string[],
  ][];
  const out = new Map<string, TagValue>();
  for (const [, f] of entries) {
    const field = (k: string) => f[f.indexOf(k) + 1]!;
    if (f.indexOf("d") < 0) continue;
    const seq0 = Number(field("s"));
    (JSON.parse(field("d")) as unknown[][]).forEach((e, i) => {
      out.set(e[0] as string, {
        path: e[0] as string,
        value: e[1] as number,
        quality: "good",
        ts: e[3] as number,
        producer,
        seq: seq0 + i,
      });
    });
  }
  return out;
}

describe("current values and their seq", () => {
  test("two bus instances of one producer, interleaved: each current value has its stream seq", async () => {
    const prefix = uniquePrefix("pseq");
    const a = await open(prefix, "mtc-01");
    const b = await open(prefix, "mtc-01");
    for (let i = 0; i < 6; i++) {
      const bus = i % 2 ? b : a;
      await bus.publish([
        { path: "/mtc-01/x", value: i, quality: "good", ts: 1000 + i },
        { path: `/mtc-01/y${i % 3}`, value: i, quality: "good", ts: 1000 + i },
      ]);
    }
    const want = await lastInStream(prefix, "mtc-01");
    expect(want.get("/mtc-01/x")?.seq).toBe(11);
    for (const [path, v] of want) expect(await a.get(path)).toEqual(v);
    expect(await a.list("/mtc-01/")).toEqual(
      [...want.values()].sort((p, q) => (p.path < q.path ? -1 : 1)),
    );
  });

  test("a counter moved by hand before the first and between publishes", async () => {
    const prefix = uniquePrefix("pseq");
    await fx.raw.sendCommand(["HSET", `${prefix}seq`, "mtc-02", "100"]);
    const bus = await open(prefix, "mtc-02");
    await bus.publish([{ path: "/mtc-02/a", value: 1, quality: "good", ts: 1 }]);
    expect((await bus.get("/mtc-02/a"))?.seq).toBe(101);
    await fx.raw.sendCommand(["HINCRBY", `${prefix}seq`, "mtc-02", "5"]);
    await bus.publish([
      { path: "/mtc-02/a", value: 2, quality: "good", ts: 2 },
      { path: "/mtc-02/b", value: 3, quality: "good", ts: 2 },
    ]);
    expect(await bus.get("/mtc-02/a")).toMatchObject({ value: 2, seq: 107 });
    expect(await bus.get("/mtc-02/b")).toMatchObject({ value: 3, seq: 108 });
  });

  test("one call with a path several times: the last sample is current, with its own seq", async () => {
    const prefix = uniquePrefix("pseq");
    const bus = await open(prefix, "mtc-03");
    await bus.publish([
      { path: "/mtc-03/a", value: 1, quality: "good", ts: 1 },
      { path: "/system/mtc-03/state", value: "EXECUTE", quality: "good", ts: 1 },
      { path: "/mtc-03/a", value: 2, quality: "bad", reason: "timeout", ts: 2 },
      { path: "/mtc-03/b", value: true, quality: "good", ts: 2 },
    ]);
    expect(await bus.get("/mtc-03/a")).toEqual({
      path: "/mtc-03/a",
      value: 2,
      quality: "bad",
      reason: "timeout",
      ts: 2,
      producer: "mtc-03",
      seq: 3,
    });
    expect(await bus.get("/mtc-03/b")).toMatchObject({ value: true, seq: 4 });
    expect(await bus.get("/system/mtc-03/state")).toMatchObject({ value: "EXECUTE", seq: 2 });
  });
});
