import { expect, test } from "bun:test";
import * as v from "valibot";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type Northbound, NorthboundSchema } from "../../src/store/northbound-schema.ts";
import { buildNorthStatus, northStatusCells } from "../../src/supervisor/north-status.ts";

const nb = (id: string, over: Record<string, unknown> = {}): Northbound =>
  v.parse(NorthboundSchema, {
    north_id: id,
    kind: "mqtt",
    broker_urls: "mqtt://a:1883 mqtt://b:1883",
    ...over,
  });
const tv = (path: string, value: TagValue["value"], reason?: string): TagValue => ({
  path,
  value,
  quality: "good",
  ts: 998_000, // 2 s before the tests' now: fresh health
  producer: "x",
  seq: 1,
  ...(reason ? { reason } : {}),
});
const svc = (state: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    manager: "process",
    state,
    sub_state: "x",
    pid: 7,
    restarts: 1,
    since: 0,
    ...extra,
  });

test("northbound rows join the SoT with ne-north's health tags and the service tag", () => {
  const now = 1_000_000;
  const tags = [
    tv("/system/cloud/state", "EXECUTE"),
    tv("/system/cloud/broker_connected", true),
    tv("/system/cloud/buffered", 1200),
    tv("/system/cloud/oldest_buffered_age_ms", 185_000),
    tv("/system/cloud/dropped", 3),
    tv("/system/cloud/msgs_per_s", 12.345),
    tv("/system/cloud/bus_gaps", 0),
    tv(
      "/system/cloud/last_error",
      JSON.stringify({
        at: now - 30_000,
        kind: "communication",
        reason: "ECONNREFUSED",
        message: "broker refused",
      }),
    ),
    tv("/system/cloud/service", svc("active", { since: now - 65_000 })),
    tv("/system/dead/state", "EXECUTE"),
    tv("/system/dead/broker_connected", true),
    tv("/system/dead/service", svc("failed", { pid: null })),
  ];
  const [cloud, dead, fresh] = buildNorthStatus(
    [
      nb("cloud"),
      nb("dead", { kind: "sparkplug", group_id: "g" }),
      nb("fresh", { enabled: false }),
    ],
    tags,
    now,
  );
  expect(cloud).toEqual({
    app: "ne-north",
    north_id: "cloud",
    kind: "mqtt",
    enabled: true,
    brokers: ["mqtt://a:1883", "mqtt://b:1883"],
    state: "EXECUTE",
    reason: null,
    service: "active",
    pid: 7,
    uptime_ms: 65_000,
    restarts: 1,
    broker_connected: true,
    buffered: 1200,
    oldest_buffered_age_ms: 185_000,
    dropped: 3,
    msgs_per_s: 12.345,
    bus_gaps: 0,
    last_error: {
      at: now - 30_000,
      kind: "communication",
      reason: "ECONNREFUSED",
      message: "broker refused",
    },
  });
  expect(northStatusCells(cloud!, now)).toEqual([
    "cloud",
    "mqtt",
    "EXECUTE",
    "",
    "connected",
    "1200 (oldest 3m05s)",
    "3",
    "12.3",
    "1m05s",
    "1",
    "30s ago: broker refused",
  ]);
  // a failed process is stopped, and not connected, whatever it published last
  expect(dead).toMatchObject({
    state: "stopped",
    broker_connected: false,
    pid: null,
    uptime_ms: null,
  });
  // nothing published yet
  expect(fresh).toMatchObject({
    state: "unknown",
    broker_connected: null,
    buffered: null,
    last_error: null,
  });
  expect(northStatusCells(fresh!, now).slice(2, 8)).toEqual(["disabled", "", "-", "-", "-", "-"]);
});

test("a running ne-north whose health stopped (hung, frozen) is silent, broker_connected unknown, not its last 'connected'", () => {
  const now = 1_000_000;
  const old = (path: string, value: TagValue["value"]) => ({
    ...tv(path, value),
    ts: now - 21_000,
  });
  const [hung] = buildNorthStatus(
    [nb("hung")],
    [
      old("/system/hung/state", "EXECUTE"),
      old("/system/hung/broker_connected", true),
      tv("/system/hung/service", svc("active", { since: now - 65_000 })),
    ],
    now,
  );
  expect(hung!.state).toBe("silent");
  expect(hung!.reason).toBe("no health for 21s (last: EXECUTE)");
  expect(hung!.broker_connected).toBeNull();
  expect(northStatusCells(hung!, now).slice(2, 5)).toEqual([
    "silent",
    "no health for 21s (last: EXECUTE)",
    "-",
  ]);
});

test("a ne-north that last said STOP (it was ending) is not silent, however old its last report", () => {
  const now = 1_000_000;
  const old = (path: string, value: TagValue["value"]) => ({
    ...tv(path, value),
    ts: now - 60_000,
  });
  // run by hand (no service tag) and stopped, or still listed active by a late service tag
  const [byHand, late] = buildNorthStatus(
    [nb("byhand"), nb("late")],
    [
      old("/system/byhand/state", "STOP"),
      old("/system/byhand/broker_connected", false),
      old("/system/late/state", "STOP"),
      old("/system/late/broker_connected", false),
      tv("/system/late/service", svc("active", { since: now - 65_000 })),
    ],
    now,
  );
  expect(byHand).toMatchObject({ state: "STOP", broker_connected: false });
  expect(late).toMatchObject({ state: "STOP", broker_connected: false });
});
