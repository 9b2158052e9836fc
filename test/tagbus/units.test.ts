import { describe, expect, test } from "bun:test";
import { matchesPattern } from "../../src/core/paths.ts";
import { decodeBatch, encodeSample } from "../../src/tagbus/codec.ts";
import { compareIds, pathRoot, prevId, rootMayMatch } from "../../src/tagbus/keys.ts";
import { Outbox } from "../../src/tagbus/outbox.ts";

describe("keys", () => {
  test("pathRoot", () => {
    expect(pathRoot("/mtc-01/speed")).toBe("mtc-01");
    expect(pathRoot("/system/mtc-01/state")).toBe("system/mtc-01");
    expect(pathRoot("/system/supervisor/conn_added")).toBe("system/supervisor");
    expect(pathRoot("nope")).toBeUndefined();
  });

  test("rootMayMatch agrees with matchesPattern on sample paths", () => {
    const paths = [
      "/mtc-01/speed",
      "/mtc-02/speed",
      "/system/mtc-01/state",
      "/system/supervisor/conn_added",
    ];
    const patterns = [
      "/mtc-01/*",
      "/*/speed",
      "/system/*/state",
      "/system/supervisor/*",
      "/**",
      "/*",
      "/mtc-0*/speed",
    ];
    for (const pat of patterns) {
      for (const p of paths) {
        if (matchesPattern(pat, p)) expect(rootMayMatch(pat, pathRoot(p)!)).toBe(true);
      }
    }
    expect(rootMayMatch("/mtc-01/*", "mtc-02")).toBe(false);
    expect(rootMayMatch("/mtc-01/*", "system/mtc-01")).toBe(false);
    expect(rootMayMatch("/system/supervisor/*", "system/mtc-01")).toBe(false);
  });

  test("stream ids", () => {
    expect(compareIds("2-0", "10-0")).toBeLessThan(0);
    expect(compareIds("5-3", "5-12")).toBeLessThan(0);
    expect(compareIds("5-3", "5-3")).toBe(0);
    expect(prevId("5-3")).toBe("5-2");
    expect(prevId("5-0")).toBe("4-18446744073709551615");
    expect(prevId("0-0")).toBe("0-0");
  });
});

describe("codec", () => {
  test("encodes a sample and decodes it back with producer and seq", () => {
    const e = encodeSample(
      { path: "/mtc-01/a", value: 'x"y', quality: "bad", reason: "timeout", ts: 5 },
      "mtc-01",
    );
    expect(e.root).toBe("mtc-01");
    expect(decodeBatch(`[${e.entry}]`, "mtc-01", 7)).toEqual([
      {
        path: "/mtc-01/a",
        value: 'x"y',
        quality: "bad",
        reason: "timeout",
        ts: 5,
        producer: "mtc-01",
        seq: 7,
      },
    ]);
    expect(JSON.parse(`${e.curPrefix}7]`)).toEqual(['x"y', "bad", "timeout", 5, "mtc-01", 7]);
    expect(decodeBatch("{", "p", 1)).toBeUndefined();
    expect(decodeBatch("[[1,2]]", "p", 1)).toBeUndefined();
  });

  test("each sample carries its own ts when consecutive samples' ts differ or repeat", () => {
    // encodeSample keeps the last ts's text: a stale one would be a wrong ts on the bus
    const tss = [1764660000000, 1764660000000, 1764660000001.5, 0, -0, 1764660000000, 7];
    tss.forEach((ts, i) => {
      const e = encodeSample({ path: `/m/t${i}`, value: i, quality: "good", ts }, "m");
      expect(JSON.parse(e.entry)[3]).toBe(ts === 0 ? 0 : ts);
      expect(JSON.parse(`${e.curPrefix}1]`)[3]).toBe(ts === 0 ? 0 : ts);
    });
  });
});

describe("outbox", () => {
  const enc = (i: number) =>
    encodeSample({ path: `/a/t${i}`, value: i, quality: "good", ts: 0 }, "a");

  test("keeps the newest max samples, counts and reports the dropped ones, resolves their batches", () => {
    const ob = new Outbox(3);
    const done: number[] = [];
    for (let i = 1; i <= 5; i++) ob.push([enc(i)], { remaining: 1, done: () => done.push(i) });
    expect(ob.length).toBe(3);
    expect(done).toEqual([1, 2]);
    expect(ob.droppedTotal).toBe(2);
    expect(ob.takeDropped()).toBe(2);
    expect(ob.takeDropped()).toBe(0);
    const t = ob.take(10);
    expect(t.samples.map((s) => s.path)).toEqual(["/a/t3", "/a/t4", "/a/t5"]);
    Outbox.release(t.batches);
    expect(done).toEqual([1, 2, 3, 4, 5]);
  });

  test("samples held in flight count toward the bound", () => {
    const ob = new Outbox(3);
    ob.push([enc(1), enc(2), enc(3)], { remaining: 3, done: () => {} }, 2);
    expect(ob.length).toBe(1);
    expect(ob.droppedTotal).toBe(2);
  });
});
