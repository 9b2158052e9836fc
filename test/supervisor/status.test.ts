import { expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type IntfHealth, zeroCounters } from "../../src/intf/health.ts";
import type { Connection } from "../../src/store/schema.ts";
import { buildStatus, formatDuration, statusCells } from "../../src/supervisor/status.ts";

const conn = (id: string, enabled = true) =>
  ({ conn_id: id, protocol: "modbus-tcp", enabled, description: "" }) as unknown as Connection;
const tv = (path: string, value: string, reason?: string): TagValue => ({
  path,
  value,
  quality: "good",
  ts: 1,
  producer: "x",
  seq: 1,
  ...(reason ? { reason } : {}),
});

test("status joins the SoT with state, health and service tags", () => {
  const now = 1_000_000;
  const health: IntfHealth = {
    v: 1,
    appId: "a",
    pid: 42,
    state: "RECOVER",
    stateReason: "ECONNREFUSED",
    startedAt: now - 70_000,
    lastGoodPoll: now - 3000,
    counters: { ...zeroCounters(), readErrors: 3, connectFailures: 2 },
    blocks: {},
    bus: { published: 0, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
  };
  const tags = [
    tv("/system/a/state", "RECOVER", "ECONNREFUSED"),
    tv("/system/a/health", JSON.stringify(health)),
    tv(
      "/system/a/service",
      JSON.stringify({
        manager: "process",
        state: "active",
        sub_state: "running",
        pid: 42,
        restarts: 2,
        since: now - 65_000,
        last_exit_code: 1,
      }),
    ),
    tv("/system/b/state", "EXECUTE"),
    tv(
      "/system/b/service",
      JSON.stringify({
        manager: "process",
        state: "removed",
        sub_state: "dead",
        pid: null,
        restarts: 0,
        since: null,
      }),
    ),
  ];
  const [a, b, c] = buildStatus([conn("a"), conn("b"), conn("c", false)], tags, now);
  expect(a).toMatchObject({
    state: "RECOVER",
    reason: "ECONNREFUSED",
    service: "active",
    pid: 42,
    uptime_ms: 65_000,
    last_good_poll: now - 3000,
    errors: { read: 3, connect: 2 },
    error_total: 5,
    restarts: 2,
  });
  expect(b).toMatchObject({ state: "stopped", pid: null, uptime_ms: null });
  expect(c).toMatchObject({ state: "unknown", enabled: false, last_good_poll: null });
  expect(statusCells(a!, now)).toEqual([
    "a",
    "modbus-tcp",
    "RECOVER",
    "ECONNREFUSED",
    "1m05s",
    "3s ago",
    "5 (read=3 connect=2)",
    "2",
  ]);
  expect(statusCells(c!, now)[2]).toBe("disabled");
  expect(formatDuration(3 * 3600_000 + 60_000)).toBe("3h01m");
});
