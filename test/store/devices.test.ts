import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { classifyChange } from "../../src/store/changes.ts";
import { migrate } from "../../src/store/migrations.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/store.ts";
import { formatIssue, validateConfig } from "../../src/store/validate.ts";
import { tempDir } from "../support/tmp.ts";

/** Devices on a link (issue 14): the devices table, blocks.device, `{device}/{tag}` names. */
const dir = tempDir("ne-devices-");
afterAll(() => dir.cleanup());

/** An RS-485 line with two meters (unit ids 3 and 4) and one block on the default device. */
function line(over: { devices?: unknown[]; blocks?: unknown[]; tags?: unknown[] } = {}) {
  const c = "rtu-line";
  return {
    connection: { conn_id: c, protocol: "modbus-rtu", serial_device: "/dev/ttyUSB0", unit_id: 1 },
    devices: over.devices ?? [
      { conn_id: c, device: "meter3", unit_id: 3 },
      { conn_id: c, device: "meter4", unit_id: 4, description: "feeder B" },
    ],
    blocks: over.blocks ?? [
      {
        conn_id: c,
        block_id: "m3",
        device: "meter3",
        table: "input_registers",
        count: 4,
        period_ms: 1000,
      },
      {
        conn_id: c,
        block_id: "m4",
        device: "meter4",
        table: "input_registers",
        count: 4,
        period_ms: 1000,
      },
      { conn_id: c, block_id: "own", table: "holding_registers", count: 1, period_ms: 1000 },
    ],
    tags: over.tags ?? [
      { conn_id: c, tag_name: "meter3/voltage", block_id: "m3", data_type: "float32" },
      { conn_id: c, tag_name: "meter4/voltage", block_id: "m4", data_type: "float32" },
      { conn_id: c, tag_name: "status", block_id: "own", data_type: "uint16" },
    ],
  };
}

function issuesOf(cfg: ReturnType<typeof line>): string[] {
  const r = validateConfig({
    connections: [cfg.connection],
    devices: cfg.devices,
    blocks: cfg.blocks,
    tags: cfg.tags,
  });
  return r.ok ? [] : r.issues.map(formatIssue);
}

describe("validation", () => {
  test("two devices and the default device on one line are valid", () => {
    expect(issuesOf(line())).toEqual([]);
  });

  test("a block naming an unknown device is refused", () => {
    const cfg = line();
    (cfg.blocks[1] as Record<string, unknown>).device = "meter9";
    expect(issuesOf(cfg)).toEqual([
      'block rtu-line/m4 (device): no device "meter9" in connection "rtu-line" (devices.csv), got "meter9"',
      'tag rtu-line/meter4/voltage (tag_name): block "m4" belongs to device "meter9": its tags are named meter9/{tag} (path /rtu-line/meter9/{tag}), got "meter4/voltage"',
    ]);
  });

  test("a device's tag must be named {device}/{tag}; a default device's tag has one segment", () => {
    const cfg = line();
    (cfg.tags[0] as Record<string, unknown>).tag_name = "voltage";
    (cfg.tags[1] as Record<string, unknown>).tag_name = "meter3/voltage";
    (cfg.tags[2] as Record<string, unknown>).tag_name = "meter4/status";
    expect(issuesOf(cfg)).toEqual([
      'tag rtu-line/voltage (tag_name): block "m3" belongs to device "meter3": its tags are named meter3/{tag} (path /rtu-line/meter3/{tag}), got "voltage"',
      'tag rtu-line/meter3/voltage (tag_name): block "m4" belongs to device "meter4": its tags are named meter4/{tag} (path /rtu-line/meter4/{tag}), got "meter3/voltage"',
      'tag rtu-line/meter4/status (tag_name): a tag of the connection\'s default device has a one-segment name (no "/"); a {device}/{tag} name needs its block\'s device set to that device, got "meter4/status"',
    ]);
  });

  test("duplicate devices, a bad device name and a unit id out of range are refused", () => {
    const c = "rtu-line";
    const cfg = line({
      devices: [
        { conn_id: c, device: "meter3", unit_id: 3 },
        { conn_id: c, device: "meter3", unit_id: 5 },
        { conn_id: c, device: "Meter4", unit_id: 4 },
        { conn_id: c, device: "meter5", unit_id: 256 },
      ],
      blocks: [],
      tags: [],
    });
    expect(issuesOf(cfg)).toEqual([
      'device rtu-line/Meter4 (device): device must match ^[a-z0-9][a-z0-9_-]{0,62}$, got "Meter4"',
      "device rtu-line/meter5 (unit_id): unit_id must be at most 255, got 256",
      'device rtu-line/meter3 (device): duplicate device "meter3" in connection "rtu-line"',
    ]);
  });

  test("devices are for Modbus connections only", () => {
    const r = validateConfig({
      connections: [{ conn_id: "ua", protocol: "opcua", endpoint_url: "opc.tcp://h:4840" }],
      devices: [{ conn_id: "ua", device: "d1", unit_id: 1 }],
      blocks: [
        { conn_id: "ua", block_id: "b", table: "opcua_nodes", device: "d1", period_ms: 100 },
      ],
      tags: [],
    });
    expect(r.ok ? [] : r.issues.map(formatIssue)).toEqual([
      "device ua/d1 (conn_id): devices (unit ids on one link) are for Modbus connections, not opcua",
      'block ua/b (device): device is for Modbus blocks only; leave it empty, got "d1"',
    ]);
  });

  test("unit id 0 (RTU broadcast) has write-only blocks", () => {
    const c = "rtu-line";
    const cfg = line({
      devices: [{ conn_id: c, device: "all", unit_id: 0 }],
      blocks: [
        {
          conn_id: c,
          block_id: "bc",
          device: "all",
          table: "holding_registers",
          count: 1,
          period_ms: 500,
        },
      ],
      tags: [],
    });
    expect(issuesOf(cfg)).toEqual([
      'block rtu-line/bc (period_ms): device "all" is unit id 0, the broadcast address: no device answers a broadcast (Modbus over Serial Line v1.02 §2.1), so its blocks are write-only; leave period_ms empty, got 500',
    ]);
  });
});

describe("store", () => {
  test("devices and block devices are stored and read back; without devices the config is as before", () => {
    const s = openStore(join(dir.path, "a.db"));
    s.apply({ origin: "test", put: [line()] });
    const cfg = s.getConnectionConfig("rtu-line")!;
    expect(cfg.devices).toEqual([
      { conn_id: "rtu-line", device: "meter3", unit_id: 3, description: "", profile: null },
      {
        conn_id: "rtu-line",
        device: "meter4",
        unit_id: 4,
        description: "feeder B",
        profile: null,
      },
    ]);
    expect(cfg.blocks.map((b) => b.device)).toEqual(["meter3", "meter4", null]);
    expect(cfg.tags.map((t) => t.tag_name)).toEqual(["meter3/voltage", "meter4/voltage", "status"]);
    // the same put again changes nothing; a unit id change is a hot reload
    expect(s.apply({ origin: "test", put: [line()] }).changes[0]!.stored).toBe("same");
    const moved = line();
    (moved.devices[0] as Record<string, unknown>).unit_id = 7;
    expect(s.apply({ origin: "test", put: [moved] }).changes[0]!.kind).toBe("blocks_changed");
    expect(s.getDevices("rtu-line")[0]!.unit_id).toBe(7);
    // connection settings only (putConnections) keep the devices
    s.apply({
      origin: "test",
      putConnections: [{ ...line().connection, description: "line 1" }],
    });
    expect(s.getDevices("rtu-line")).toHaveLength(2);
    // a connection without devices has no `devices` key, as before
    s.apply({ origin: "test", put: [line({ devices: [], blocks: [], tags: [] })] });
    expect(s.getConnectionConfig("rtu-line")).not.toHaveProperty("devices");
    expect(s.getDevices("rtu-line")).toEqual([]);
    s.close();
  });

  test("a refused edit writes nothing", () => {
    const s = openStore(join(dir.path, "b.db"));
    s.apply({ origin: "test", put: [line()] });
    const bad = line();
    (bad.blocks[0] as Record<string, unknown>).device = "nope";
    let err: unknown;
    try {
      s.apply({ origin: "test", put: [bad] });
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "configuration")).toBe(true);
    expect(s.getConnectionConfig("rtu-line")!.blocks.map((b) => b.device)).toEqual([
      "meter3",
      "meter4",
      null,
    ]);
    s.close();
  });

  test("removing a connection removes its devices", () => {
    const s = openStore(join(dir.path, "c.db"));
    s.apply({ origin: "test", put: [line()] });
    s.apply({ origin: "test", remove: ["rtu-line"] });
    expect((s.db.query("SELECT COUNT(*) AS n FROM devices").get() as { n: number }).n).toBe(0);
    s.close();
  });

  test("migration 6 keeps a version-5 database's blocks on the default device, demotion at its defaults", () => {
    const db = new Database(join(dir.path, "v5.db"));
    migrate(db, 5);
    db.run(
      "INSERT INTO connections (conn_id, protocol, host, port, unit_id) VALUES ('plc', 'modbus-tcp', 'h', 502, 1)",
    );
    db.run(
      "INSERT INTO blocks (conn_id, block_id, \"table\", address, count, period_ms) VALUES ('plc', 'b', 'holding_registers', 0, 1, 100)",
    );
    db.close();
    const s = openStore(join(dir.path, "v5.db"));
    const cfg = s.getConnectionConfig("plc")!;
    expect(cfg.blocks[0]!.device).toBeNull();
    expect(cfg.connection.demote_after_timeouts).toBe(3);
    expect(cfg.connection.demote_for_ms).toBe(10_000);
    expect(cfg).not.toHaveProperty("devices");
    s.close();
  });
});

test("classifyChange: devices are part of the configuration (hot reload)", () => {
  const a = line() as unknown as ConnectionConfig;
  const b = line() as unknown as ConnectionConfig;
  const valid = (c: ConnectionConfig) => {
    const r = validateConfig({
      connections: [c.connection],
      devices: c.devices ?? [],
      blocks: c.blocks,
      tags: c.tags,
    });
    if (!r.ok) throw new Error("invalid");
    return {
      connection: r.value.connections[0]!,
      devices: r.value.devices,
      blocks: r.value.blocks,
      tags: r.value.tags,
    };
  };
  (b.devices![1] as Record<string, unknown>).description = "changed";
  const before = { ...valid(a), connection: { ...valid(a).connection, enabled: true } };
  expect(classifyChange(before, before).kind).toBe("unchanged");
  expect(classifyChange(before, valid(b)).kind).toBe("blocks_changed");
});
