import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { planBlocks } from "../../src/drivers/modbus/auto-plan.ts";
import type { RawProfileConfig } from "../../src/store/apply.ts";
import { systemTagSamples } from "../../src/store/changes.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { formatIssue } from "../../src/store/validate.ts";
import { validateProfiles } from "../../src/store/validate-profiles.ts";
import { tempDir } from "../support/tmp.ts";

/** Device profiles (issue 14): a device type defined once, instances on connections. */
const dir = tempDir("ne-profiles-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = (): Store => openStore(join(dir.path, `p${++n}.db`));

/** A small meter profile: voltage (float32) and energy (uint32 × 0.01) in input registers 0–3. */
function meter(
  over: Partial<Record<"profile" | "blocks" | "tags", unknown>> = {},
): RawProfileConfig {
  return {
    profile: over.profile ?? { profile: "meter", description: "test meter" },
    blocks: (over.blocks as unknown[]) ?? [
      {
        profile: "meter",
        block_id: "ir",
        table: "input_registers",
        address: 0,
        count: 4,
        period_ms: 200,
      },
    ],
    tags: (over.tags as unknown[]) ?? [
      {
        profile: "meter",
        tag_name: "voltage",
        block_id: "ir",
        address: 0,
        data_type: "float32",
        unit: "V",
      },
      {
        profile: "meter",
        tag_name: "energy",
        block_id: "ir",
        address: 2,
        data_type: "uint32",
        scale: 0.01,
      },
    ],
  };
}

/** A connection `id` with instances `meter{u}` (unit id u) of profile `meter`. */
function line(id: string, units: number[], over: Record<string, unknown> = {}) {
  return {
    connection: { conn_id: id, protocol: "modbus-tcp", host: "127.0.0.1", port: 502, ...over },
    devices: units.map((u) => ({ conn_id: id, device: `meter${u}`, unit_id: u, profile: "meter" })),
    blocks: [],
    tags: [],
  };
}

function refused(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (isNodiError(e, "configuration")) {
      return (e.details.issues as Parameters<typeof formatIssue>[0][]).map(formatIssue);
    }
    throw e;
  }
  throw new Error("not refused");
}

describe("validation of profiles", () => {
  test("a valid profile; every block and tag rule of a Modbus connection applies, located at the profile row", () => {
    expect(
      validateProfiles({ profiles: [meter().profile], blocks: meter().blocks, tags: meter().tags })
        .ok,
    ).toBe(true);
    const p = meter({
      tags: [
        { profile: "meter", tag_name: "voltage", block_id: "ir", address: 3, data_type: "float32" },
        { profile: "meter", tag_name: "x", block_id: "nope", data_type: "uint16" },
        { profile: "meter", tag_name: "a/b", block_id: "ir", data_type: "uint16" },
        {
          profile: "meter",
          tag_name: "w",
          block_id: "ir",
          data_type: "uint16",
          access: "read-write",
        },
      ],
    });
    const r = validateProfiles({ profiles: [p.profile], blocks: p.blocks, tags: p.tags });
    expect(r.ok).toBe(false);
    const issues = r.ok ? [] : r.issues;
    expect(issues.map((i) => [i.entity, i.index, i.field])).toEqual([
      ["profile_tag", 2, "tag_name"],
      ["profile_tag", 0, "address"],
      ["profile_tag", 1, "block_id"],
      ["profile_tag", 3, "access"],
    ]);
    const text = issues.map(formatIssue).join("\n");
    expect(text).toContain('tag must lie inside its block "ir"');
    expect(text).toContain('no block "nope" in profile "meter"');
    expect(text).not.toContain("p0profile0check");
  });

  test("a duplicate profile name is reported with a bad field of one of its rows, at once", () => {
    const r = validateProfiles({
      profiles: [{ profile: "meter", address_base: 2 }, { profile: "meter" }],
      blocks: [],
      tags: [],
    });
    expect(r.ok ? [] : r.issues.map((i) => [i.index, i.field, i.message])).toEqual([
      [0, "address_base", "address_base must be 0 (zero-based) or 1 (one-based), got 2"],
      [1, "profile", 'duplicate profile "meter": each profile once'],
    ]);
  });

  test("a profile's rows name a profile that is there; duplicates and opcua tables are refused", () => {
    const r = validateProfiles({
      profiles: [{ profile: "meter" }, { profile: "meter" }, { profile: "Bad Name" }],
      blocks: [
        { profile: "other", block_id: "b", table: "coils", count: 1, period_ms: 100 },
        { profile: "meter", block_id: "n", table: "opcua_nodes", period_ms: 100 },
      ],
      tags: [],
    });
    const text = r.ok ? "" : r.issues.map(formatIssue).join("\n");
    expect(text).toContain('duplicate profile "meter"');
    expect(text).toContain("profile must match");
    expect(text).toContain('no profile "other"');
    expect(text).toContain("table opcua_nodes is for opcua connections");
  });
});

describe("instances on a connection", () => {
  test("a device naming a profile is expanded: blocks {device}.{block}, tags {device}/{tag}, its unit id; stored rows stay unexpanded", () => {
    const s = fresh();
    s.apply({ origin: "test", putProfiles: [meter()], put: [line("bus1", [3, 4])] });
    const cfg = s.getConnectionConfig("bus1")!;
    expect(cfg.blocks.map((b) => [b.block_id, b.device, b.address, b.count, b.period_ms])).toEqual([
      ["meter3.ir", "meter3", 0, 4, 200],
      ["meter4.ir", "meter4", 0, 4, 200],
    ]);
    expect(cfg.tags.map((t) => [t.tag_name, t.block_id, t.data_type, t.scale])).toEqual([
      ["meter3/voltage", "meter3.ir", "float32", 1],
      ["meter3/energy", "meter3.ir", "uint32", 0.01],
      ["meter4/voltage", "meter4.ir", "float32", 1],
      ["meter4/energy", "meter4.ir", "uint32", 0.01],
    ]);
    expect(cfg.tags[0]!.unit).toBe("V");
    expect(s.getStoredConfig("bus1")!.blocks).toEqual([]);
    expect(s.getStoredConfig("bus1")!.devices!.map((d) => d.profile)).toEqual(["meter", "meter"]);
    expect(s.getAllConfigs()[0]).toEqual(cfg);
    expect(s.getTags("bus1").length).toBe(4);
    expect(
      s.listProfiles().map((p) => [p.profile.profile, p.blocks.length, p.tags.length]),
    ).toEqual([["meter", 1, 2]]);
    s.close();
  });

  test("addresses move from the profile's address_base to the connection's", () => {
    const s = fresh();
    const p = meter({
      profile: { profile: "meter", address_base: 1 },
      blocks: [
        {
          profile: "meter",
          block_id: "ir",
          table: "input_registers",
          address: 1,
          count: 4,
          period_ms: 200,
        },
      ],
      tags: [
        { profile: "meter", tag_name: "voltage", block_id: "ir", address: 1, data_type: "float32" },
      ],
    });
    s.apply({
      origin: "test",
      putProfiles: [p],
      put: [line("zero", [3]), line("one", [3], { address_base: 1 })],
    });
    expect(s.getConnectionConfig("zero")!.tags[0]!.address).toBe(0);
    expect(s.getConnectionConfig("zero")!.blocks[0]!.address).toBe(0);
    expect(s.getConnectionConfig("one")!.tags[0]!.address).toBe(1);
    s.close();
  });

  test("a device naming an unknown profile, rows of its own, and clashes once prefixed are refused on the device row", () => {
    const s = fresh();
    s.apply({ origin: "test", putProfiles: [meter()] });
    const bad = line("bus2", [3]);
    bad.devices.push({ conn_id: "bus2", device: "meter9", unit_id: 9, profile: "nosuch" });
    (bad.blocks as unknown[]).push({
      conn_id: "bus2",
      block_id: "own",
      device: "meter3",
      table: "holding_registers",
      count: 1,
      period_ms: 100,
    });
    (bad.tags as unknown[]).push({
      conn_id: "bus2",
      tag_name: "meter3/extra",
      block_id: "meter3.ir",
      data_type: "uint16",
    });
    const issues = refused(() => s.apply({ origin: "test", put: [bad] }));
    expect(issues.join("\n")).toContain('device bus2/meter9 (profile): no profile "nosuch"');
    expect(issues.join("\n")).toContain(
      'block bus2/own (device): device "meter3" is an instance of profile "meter"',
    );
    expect(issues.join("\n")).toContain(
      'tag bus2/meter3/extra (tag_name): device "meter3" is an instance of profile "meter"',
    );
    // unit id 0 (RTU broadcast) with the profile's polled block: reported on the device row
    const rtu = {
      connection: { conn_id: "rtu", protocol: "modbus-rtu", serial_device: "/dev/ttyS0" },
      devices: [{ conn_id: "rtu", device: "all", unit_id: 0, profile: "meter" }],
      blocks: [],
      tags: [],
    };
    const b = refused(() => s.apply({ origin: "test", put: [rtu] }));
    expect(b[0]).toContain(
      'device rtu/all (profile): profile "meter" on device "all": block all.ir (period_ms)',
    );
    expect(s.listConnections()).toEqual([]);
    s.close();
  });

  test("a configuration read with its instances expanded, edited and written back stores only its own rows", () => {
    const s = fresh();
    s.apply({ origin: "test", putProfiles: [meter()], put: [line("bus3", [3, 4])] });
    const cfg = s.getConnectionConfig("bus3")!;
    const same = s.apply({ origin: "test", put: [cfg] });
    expect(same.changes).toEqual([{ conn_id: "bus3", kind: "unchanged", stored: "same" }]);
    // remove meter4 from the expanded configuration: its rows go with it
    const r = s.apply({
      origin: "test",
      put: [{ ...cfg, devices: cfg.devices!.filter((d) => d.device !== "meter4") }],
    });
    expect(r.changes[0]!.kind).toBe("blocks_changed");
    expect(s.getStoredConfig("bus3")!.blocks).toEqual([]);
    expect(s.getConnectionConfig("bus3")!.tags.map((t) => t.tag_name)).toEqual([
      "meter3/voltage",
      "meter3/energy",
    ]);
    s.close();
  });
});

describe("a profile edit", () => {
  test("changes exactly the connections with an instance: a hot reload each (blocks_changed), the others untouched", () => {
    const s = fresh();
    const other = line("plain", []);
    other.devices = [];
    s.apply({
      origin: "test",
      putProfiles: [meter(), { ...meter({ profile: { profile: "drive" } }), blocks: [], tags: [] }],
      put: [
        line("bus-a", [3, 4]),
        line("bus-b", [5]),
        {
          connection: { conn_id: "bus-c", protocol: "modbus-tcp", host: "h", port: 502 },
          devices: [{ conn_id: "bus-c", device: "vfd1", unit_id: 1, profile: "drive" }],
          blocks: [],
          tags: [],
        },
      ],
    });
    const edited = meter();
    (edited.tags as Record<string, unknown>[])[0]!.deadband = 0.5;
    const r = s.apply({ origin: "test", putProfiles: [edited] });
    expect(r.changes).toEqual([
      { conn_id: "bus-a", kind: "blocks_changed", stored: "updated" },
      { conn_id: "bus-b", kind: "blocks_changed", stored: "updated" },
    ]);
    expect(r.profileChanges).toEqual([{ profile: "meter", stored: "updated" }]);
    expect(systemTagSamples(r.changes, 1).map((x) => x.path)).toEqual([
      "/system/bus-a/config_reload",
      "/system/bus-b/config_reload",
    ]);
    expect(s.getConnectionConfig("bus-b")!.tags[0]!.deadband).toBe(0.5);
    expect(s.journal().at(-1)).toMatchObject({
      conn_id: "profile:meter",
      change: "profile_updated",
    });
    // the same profile again: nothing changes
    const again = s.apply({ origin: "test", putProfiles: [edited] });
    expect(again.changes.map((c) => c.kind)).toEqual(["unchanged", "unchanged"]);
    expect(again.profileChanges).toEqual([{ profile: "meter", stored: "same" }]);
    s.close();
  });

  test("a profile in use cannot be removed; an invalid profile edit writes nothing", () => {
    const s = fresh();
    s.apply({ origin: "test", putProfiles: [meter()], put: [line("bus4", [3])] });
    const issues = refused(() => s.apply({ origin: "test", removeProfiles: ["meter"] }));
    expect(issues[0]).toContain('device bus4/meter3 (profile): no profile "meter"');
    const bad = meter();
    (bad.blocks as Record<string, unknown>[])[0]!.count = 1; // the float32 no longer fits
    expect(refused(() => s.apply({ origin: "test", putProfiles: [bad] }))[0]).toContain(
      "profile_tag meter/voltage (address)",
    );
    expect(s.getProfile("meter")!.blocks[0]!.count).toBe(4);
    let err: unknown;
    try {
      s.apply({ origin: "test", removeProfiles: ["nosuch"] });
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "not_found")).toBe(true);
    // without instances it goes
    s.apply({ origin: "test", remove: ["bus4"] });
    const r = s.apply({ origin: "test", removeProfiles: ["meter"] });
    expect(r.profileChanges).toEqual([{ profile: "meter", stored: "deleted" }]);
    expect(s.listProfiles()).toEqual([]);
    s.close();
  });
});

describe("auto tags in a profile", () => {
  test("a profile tag with a table and a scan rate instead of a block expands to an auto tag of its device, which the planner plans with that device", () => {
    const s = fresh();
    s.apply({
      origin: "test",
      putProfiles: [
        {
          profile: { profile: "meter" },
          blocks: [],
          tags: [
            {
              profile: "meter",
              tag_name: "v",
              table: "input_registers",
              scan_ms: 500,
              address: 0,
              data_type: "float32",
            },
            {
              profile: "meter",
              tag_name: "i",
              table: "input_registers",
              scan_ms: 500,
              address: 2,
              data_type: "float32",
            },
          ],
        },
      ],
      put: [line("auto", [3, 4])],
    });
    const cfg = s.getConnectionConfig("auto")!;
    expect(cfg.blocks).toEqual([]);
    expect(cfg.tags.map((t) => [t.tag_name, t.block_id, t.table, t.scan_ms])).toEqual([
      ["meter3/v", null, "input_registers", 500],
      ["meter3/i", null, "input_registers", 500],
      ["meter4/v", null, "input_registers", 500],
      ["meter4/i", null, "input_registers", 500],
    ]);
    const plan = planBlocks(cfg);
    expect(plan.blocks.map((b) => [b.device, b.address, b.count, b.period_ms])).toEqual([
      ["meter3", 0, 4, 500],
      ["meter4", 0, 4, 500],
    ]);
    s.close();
  });
});
