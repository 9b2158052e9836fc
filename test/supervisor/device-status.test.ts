import { expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type IntfHealth, zeroCounters } from "../../src/intf/health.ts";
import type { Connection } from "../../src/store/schema.ts";
import { buildStatus, deviceStatusCells } from "../../src/supervisor/status.ts";

/** `nodi-edge status` per device of a multi-device link (issue 14), from the app's health. */
test("a multi-device connection's status has one entry per device: unit, ok/demoted, last good poll, errors", () => {
  const now = 2_000_000;
  const dev = {
    consecutiveTimeouts: 0,
    errors: 0,
    lastErrorReason: null,
    demotions: 0,
    skipped: 0,
    demotedUntil: null,
  };
  const health: IntfHealth = {
    v: 1,
    appId: "line1",
    pid: 7,
    state: "EXECUTE",
    stateReason: "connected",
    startedAt: now - 60_000,
    lastGoodPoll: now - 1000,
    counters: zeroCounters(),
    blocks: {},
    devices: {
      meter3: { ...dev, unitId: 3, state: "ok", lastGood: now - 1000 },
      meter4: {
        ...dev,
        unitId: 4,
        state: "demoted",
        lastGood: now - 40_000,
        consecutiveTimeouts: 3,
        errors: 4,
        lastErrorReason: "timeout",
        demotions: 2,
        demotedUntil: now + 7000,
      },
    },
    bus: { published: 0, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
  };
  const tag = (path: string, value: string): TagValue => ({
    path,
    value,
    quality: "good",
    ts: now,
    producer: "line1",
    seq: 1,
  });
  const conn = { conn_id: "line1", protocol: "modbus-rtu", enabled: true } as unknown as Connection;
  const [row] = buildStatus(
    [conn],
    [tag("/system/line1/state", "EXECUTE"), tag("/system/line1/health", JSON.stringify(health))],
    now,
  );
  expect(row!.devices).toEqual([
    {
      device: "meter3",
      unit_id: 3,
      state: "ok",
      last_good_poll: now - 1000,
      errors: 0,
      last_error_reason: null,
      demotions: 0,
      demoted_until: null,
    },
    {
      device: "meter4",
      unit_id: 4,
      state: "demoted",
      last_good_poll: now - 40_000,
      errors: 4,
      last_error_reason: "timeout",
      demotions: 2,
      demoted_until: now + 7000,
    },
  ]);
  expect(deviceStatusCells(row!, row!.devices![1]!, now)).toEqual([
    "line1/meter4",
    "unit 4",
    "demoted",
    "demoted, probe in 7s",
    "",
    "≤ 40.0s ago",
    "4 (demoted 2×)",
    "",
    "",
    "",
  ]);
  // a single-device connection's row has no devices
  const [single] = buildStatus(
    [conn],
    [tag("/system/line1/health", JSON.stringify({ ...health, devices: undefined }))],
    now,
  );
  expect(single).not.toHaveProperty("devices");
});
