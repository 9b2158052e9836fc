import { describe, expect, test } from "bun:test";
import { isConnId, matchesPattern, parseTagPath, SYSTEM_TAGS } from "../../src/core/paths.ts";

describe("conn_id", () => {
  test("accepts the DESIGN.md pattern and refuses reserved ids", () => {
    expect(isConnId("mtc-01")).toBe(true);
    expect(isConnId("a")).toBe(true);
    expect(isConnId("Mtc")).toBe(false);
    expect(isConnId("-x")).toBe(false);
    expect(isConnId("system")).toBe(false);
    expect(isConnId("supervisor")).toBe(false);
    expect(isConnId("x".repeat(64))).toBe(false);
  });
});

describe("tag paths", () => {
  test("parses data and system paths", () => {
    expect(parseTagPath("/mtc-01/speed")).toEqual({
      kind: "data",
      connId: "mtc-01",
      tagName: "speed",
    });
    expect(parseTagPath(SYSTEM_TAGS.connAdded)).toEqual({
      kind: "system",
      appId: "supervisor",
      name: "conn_added",
    });
    expect(parseTagPath("mtc-01/speed")).toBeUndefined();
    expect(parseTagPath("/mtc-01/a/b")).toBeUndefined();
    expect(parseTagPath("/system/mtc-01")).toBeUndefined();
  });

  test("patterns match one segment with * and everything below with trailing /*", () => {
    expect(matchesPattern("/mtc-01/*", "/mtc-01/speed")).toBe(true);
    expect(matchesPattern("/mtc-01/*", "/mtc-02/speed")).toBe(false);
    expect(matchesPattern("/system/*/state", "/system/mtc-01/state")).toBe(true);
    expect(matchesPattern("/system/*/state", "/system/mtc-01/errors")).toBe(false);
    expect(matchesPattern("/**", "/system/supervisor/conn_added")).toBe(true);
    expect(matchesPattern("/mtc-01/speed", "/mtc-01/speed")).toBe(true);
    expect(matchesPattern("/mtc.01/*", "/mtcx01/a")).toBe(false);
  });
});
