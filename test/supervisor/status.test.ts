import { describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type IntfHealth, zeroCounters } from "../../src/intf/health.ts";
import type { Connection } from "../../src/store/schema.ts";
import { NORTH_HEALTH_SILENT_MS } from "../../src/supervisor/north-status.ts";
import { SUPERVISOR_STATE_PATH } from "../../src/supervisor/service-tags.ts";
import {
  buildStatus,
  formatAgeBound,
  formatDuration,
  goodPollCell,
  INTF_HEALTH_SILENT_MS,
  statusCells,
  supervisorHint,
  supervisorSeen,
} from "../../src/supervisor/status.ts";

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
    { ...tv("/system/a/health", JSON.stringify(health)), ts: now - 2000 },
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
    reported_at: now - 2000,
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
    "≤ 3.0s ago",
    "5 (read=3 connect=2)",
    "0",
    "2",
    "",
  ]);
  expect(statusCells(c!, now)[2]).toBe("disabled");
  expect(c!.reported_at).toBeNull();
  expect(formatDuration(3 * 3600_000 + 60_000)).toBe("3h01m");
});

test("the last good poll is shown as an age it is at most, not as the health report's age", () => {
  // A 100 ms block: its last good poll was 40 ms before the app's health report, 3 s ago (the
  // app reports every 5 s); it has polled since, so 3.04 s is only a bound: "≤ 3.1s ago".
  const now = 10_000_000;
  expect(goodPollCell(now - 3040, now)).toBe("≤ 3.1s ago");
  expect(goodPollCell(now - 3000, now)).toBe("≤ 3.0s ago");
  expect(goodPollCell(now, now)).toBe("≤ 0.1s ago");
  expect(goodPollCell(now - 125_001, now)).toBe("≤ 2m06s ago");
  expect(goodPollCell(null, now)).toBe("never");
  // rounded up, never down: still a bound
  expect(formatAgeBound(59_901)).toBe("1m00s");
  expect(formatAgeBound(3_600_001)).toBe("1h01m");
  expect(formatAgeBound(3 * 86_400_000 + 1)).toBe("3d01h");
});

describe("status shows the cause, and counts device errors, refused writes and restarts apart", () => {
  const now = 5_000_000;
  const health = (over: Partial<IntfHealth> = {}): IntfHealth => ({
    v: 1,
    appId: "meter1",
    pid: 7,
    state: "RECOVER",
    stateReason: "connect failed: ENOENT",
    startedAt: now - 60_000,
    lastGoodPoll: null,
    counters: { ...zeroCounters(), connectFailures: 4, writeErrors: 1, writesRefused: 3 },
    blocks: {},
    bus: { published: 0, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
    ...over,
  });
  const lastError = (at: number) =>
    tv(
      "/system/meter1/last_error",
      JSON.stringify({
        at,
        kind: "communication",
        reason: "ENOENT",
        message: "cannot open /dev/ttyUSB0: No such file or directory",
        where: "connect",
      }),
    );

  test("RECOVER: the cause from last_error; refused writes are not device errors; restarts by kind", () => {
    const tags = [
      tv("/system/meter1/state", "RECOVER", "connect failed: ENOENT"),
      { ...tv("/system/meter1/health", JSON.stringify(health())), ts: now - 2000 },
      lastError(now - 5000),
      tv(
        "/system/meter1/service",
        JSON.stringify({
          manager: "systemd",
          state: "active",
          pid: 7,
          restarts: 9,
          since: now - 60_000,
        }),
      ),
      tv("/system/meter1/restarts", JSON.stringify({ failure: 2, requested: 5 })),
    ];
    const [r] = buildStatus([conn("meter1")], tags, now);
    expect(r).toMatchObject({
      state: "RECOVER",
      reason: "connect failed: ENOENT",
      cause: "connect: cannot open /dev/ttyUSB0: No such file or directory",
      errors: { write: 1, connect: 4 },
      error_total: 5,
      writes_refused: 3,
      restarts: 2,
      restarts_requested: 5,
    });
    expect(statusCells(r!, now).slice(6)).toEqual([
      "5 (write=1 connect=4)",
      "3",
      "2 (+5 requested)",
      "connect: cannot open /dev/ttyUSB0: No such file or directory",
    ]);
  });

  test("no cause in EXECUTE, nor from an earlier process; without a restarts tag the manager's count", () => {
    const earlier = [
      tv("/system/meter1/state", "RECOVER"),
      tv("/system/meter1/health", JSON.stringify(health())),
      lastError(now - 120_000), // before this process started
      tv("/system/meter1/service", JSON.stringify({ state: "active", restarts: 4 })),
    ];
    expect(buildStatus([conn("meter1")], earlier, now)[0]).toMatchObject({
      cause: null,
      restarts: 4,
      restarts_requested: 0,
    });
    const running = [
      tv("/system/meter1/state", "EXECUTE"),
      tv("/system/meter1/health", JSON.stringify(health({ state: "EXECUTE" }))),
      lastError(now - 5000),
    ];
    expect(buildStatus([conn("meter1")], running, now)[0]?.cause).toBeNull();
  });

  test("the supervisor: never ran, running, stopped, silent", () => {
    const sup = (state: string, ts: number): TagValue => ({
      ...tv(
        SUPERVISOR_STATE_PATH,
        JSON.stringify({ state, pid: 1, manager: "systemd", interval_ms: 10_000 }),
      ),
      ts,
    });
    const where = "redis://127.0.0.1:6379, prefix ne:";
    expect(supervisorHint(supervisorSeen([], now), now, where)).toBe(
      "no supervisor has run on this TagBus (redis://127.0.0.1:6379, prefix ne:), so no interface or northbound app runs: start ne-supervisor (on a gateway: systemctl start ne-supervisor)",
    );
    expect(supervisorSeen([sup("running", now - 20_000)], now).state).toBe("running");
    expect(
      supervisorHint(supervisorSeen([sup("running", now - 20_000)], now), now, where),
    ).toBeUndefined();
    expect(supervisorHint(supervisorSeen([sup("stopped", now - 300_000)], now), now, where)).toBe(
      "the supervisor stopped 5m00s ago; the apps it ran are not supervised: start ne-supervisor (on a gateway: systemctl start ne-supervisor)",
    );
    expect(supervisorHint(supervisorSeen([sup("running", now - 120_000)], now), now, where)).toBe(
      "the supervisor has not been heard from for 2m00s (killed, or cut off from Redis): start ne-supervisor (on a gateway: systemctl start ne-supervisor)",
    );
  });
});

test("an app whose health report is stale (hung, frozen) is silent, its last figures not shown as current", () => {
  const now = 5_000_000;
  const health: IntfHealth = {
    v: 1,
    appId: "a",
    pid: 42,
    state: "EXECUTE",
    stateReason: "connected",
    startedAt: now - 600_000,
    lastGoodPoll: now - 25_040,
    counters: zeroCounters(),
    blocks: {},
    bus: { published: 0, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
  };
  const tags = (id: string, age: number, state = "EXECUTE", svcState = "active") => [
    { ...tv(`/system/${id}/state`, state, "connected"), ts: now - 590_000 },
    { ...tv(`/system/${id}/health`, JSON.stringify({ ...health, appId: id })), ts: now - age },
    tv(`/system/${id}/service`, JSON.stringify({ state: svcState, pid: 42, since: now - 600_000 })),
  ];
  const [hung, fresh, stopped, ending] = buildStatus(
    ["hung", "fresh", "stopped", "ending"].map((id) => conn(id)),
    [
      ...tags("hung", 25_000), // the same rule as the northbound apps': older than 3 × 5 s + 5 s
      ...tags("fresh", INTF_HEALTH_SILENT_MS),
      ...tags("stopped", 25_000, "EXECUTE", "failed"),
      ...tags("ending", 25_000, "STOP"),
    ],
    now,
  );
  expect(INTF_HEALTH_SILENT_MS).toBe(NORTH_HEALTH_SILENT_MS);
  expect(hung).toMatchObject({
    state: "silent",
    reason: "no health for 25s (last: EXECUTE)",
    reported_at: now - 25_000,
    cause: null,
  });
  expect(statusCells(hung!, now).slice(2, 6)).toEqual([
    "silent",
    "no health for 25s (last: EXECUTE)",
    "10m00s",
    "≤ 25.1s ago",
  ]);
  expect(fresh).toMatchObject({ state: "EXECUTE", reason: "connected" });
  expect(stopped!.state).toBe("stopped");
  expect(ending!.state).toBe("STOP");
  // nothing published yet is not a hang
  expect(buildStatus([conn("new")], [], now)[0]!.state).toBe("unknown");
});
