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
    // a device's tag on a multi-device link (issue 14): /{conn_id}/{device}/{tag}
    expect(parseTagPath("/rtu-line/meter3/voltage")).toEqual({
      kind: "data",
      connId: "rtu-line",
      tagName: "meter3/voltage",
      device: "meter3",
    });
    expect(parseTagPath("/mtc-01/Meter3/v")).toBeUndefined(); // a device segment is lower case
    expect(parseTagPath("/mtc-01/a//b")).toBeUndefined();
    expect(parseTagPath("/mtc-01/a/")).toBeUndefined();
    expect(parseTagPath(`/mtc-01/${"a".repeat(100)}/${"b".repeat(100)}`)).toBeUndefined();
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
    // the segments of a device's tags
    expect(matchesPattern("/line/*", "/line/meter3/voltage")).toBe(true);
    expect(matchesPattern("/line/*/voltage", "/line/meter3/voltage")).toBe(true);
    expect(matchesPattern("/line/*/voltage", "/line/meter3/current")).toBe(false);
    expect(matchesPattern("/line/meter3/*", "/line/meter3/voltage")).toBe(true);
    expect(matchesPattern("/line/meter3/*", "/line/meter4/voltage")).toBe(false);
    expect(matchesPattern("/line/m*", "/line/meter3/voltage")).toBe(false);
  });
});
