import { expect, test } from "bun:test";
import { BoundedMemo } from "../../src/core/bounded-memo.ts";

test("makes a key's value once, empties itself when full, stores nothing when make throws", () => {
  const made: string[] = [];
  const memo = new BoundedMemo<string, string>(2, (k) => {
    if (k === "bad") throw new Error("bad key");
    made.push(k);
    return `/${k}`;
  });
  expect(memo.get("a")).toBe("/a");
  expect(memo.get("a")).toBe("/a");
  expect(memo.get("b")).toBe("/b");
  expect(made).toEqual(["a", "b"]);
  expect(() => memo.get("bad")).toThrow("bad key");
  memo.get("c"); // full: emptied, then holds c
  memo.get("a"); // made again
  expect(made).toEqual(["a", "b", "c", "a"]);
});
