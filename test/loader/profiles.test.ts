import { afterAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PROFILE_DIR, profileFiles } from "../../packaging/build-deb.ts";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { exportCsv } from "../../src/loader/export.ts";
import {
  type CsvInput,
  type CsvKind,
  importCsv,
  kindOfFile,
  readInputs,
} from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

/** Device profiles in CSV (docs/csv.md "Device profiles"): profiles.csv, profile_blocks.csv, profile_tags.csv. */
const dir = tempDir("ne-loader-profiles-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `p${++n}.sqlite`));
const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});
const SHIPPED = join(import.meta.dir, "../../examples/profiles");

const PROFILES = "profile,address_base,description\nmeter,1,one-based test meter\n";
const PBLOCKS = [
  "profile,block_id,table,address,modicon,count,period_ms",
  "meter,ir,input_registers,,300001,4,1000",
  "",
].join("\n");
const PTAGS = [
  "profile,tag_name,block_id,address,modicon,data_type,scale,unit",
  "meter,voltage,ir,,300001,float32,,V",
  "meter,energy,ir,3,,uint32,0.01,kWh",
  "",
].join("\n");
const CONN = "conn_id,protocol,serial_device\nbus,modbus-rtu,/dev/ttyUSB0\n";
const DEVICES = "conn_id,device,unit_id,profile\nbus,m1,1,meter\nbus,m2,2,meter\nbus,m3,3,meter\n";
const all = (o: Partial<Record<CsvKind, string>> = {}): CsvInput[] => [
  input("connections", o.connections ?? CONN),
  input("devices", o.devices ?? DEVICES),
  input("profiles", o.profiles ?? PROFILES),
  input("profile_blocks", o.profile_blocks ?? PBLOCKS),
  input("profile_tags", o.profile_tags ?? PTAGS),
];
const snap = (s: Store) =>
  JSON.stringify([s.getAllConfigs(), s.listProfiles(), s.journal().length]);

function refused(s: Store, inputs: CsvInput[]): string[] {
  const before = snap(s);
  let err: unknown;
  try {
    importCsv(s, inputs);
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err, "configuration")).toBe(true);
  expect(snap(s)).toBe(before); // all or nothing
  return ((err as { details: { errors: LoadError[] } }).details.errors ?? []).map(formatLoadError);
}

describe("profile CSV files", () => {
  test("file names: profile_blocks.csv is not a blocks.csv", () => {
    expect(kindOfFile("profile_blocks.csv")).toBe("profile_blocks");
    expect(kindOfFile("x/sdm630.profile_tags.csv")).toBe("profile_tags");
    expect(kindOfFile("line1_blocks.csv")).toBe("blocks");
    expect(kindOfFile("profiles.csv")).toBe("profiles");
  });

  test("a duplicate block or tag of a profile is reported with a bad field of one of its rows, at once", () => {
    const s = fresh();
    const errors = refused(
      s,
      all({
        profile_blocks: `${PBLOCKS}meter,ir,input_registers,,300001,4,x\nmeter,ir,input_registers,,300001,4,1000\n`,
        profile_tags: `${PTAGS}meter,voltage,ir,,300001,float33,,V\nmeter,voltage,ir,,300001,float32,,V\n`,
      }),
    );
    expect(errors).toEqual([
      'profile_blocks.csv:3:2 (block_id): duplicate block_id "ir" in profile "meter"',
      'profile_blocks.csv:3:7 (period_ms): expected a number, got "x"',
      'profile_blocks.csv:4:2 (block_id): duplicate block_id "ir" in profile "meter"',
      "profile_tags.csv:4:2 (tag_name): duplicate tag path meter/voltage: each tag name once per connection",
      'profile_tags.csv:4:6 (data_type): data_type must be one of bool, bit, int16, uint16, int32, uint32, int64, uint64, float32, float64, string, bcd, lbcd, got "float33"',
      "profile_tags.csv:5:2 (tag_name): duplicate tag path meter/voltage: each tag name once per connection",
    ]);
    s.close();
  });

  test("three meters of one profile on one line: imported, expanded with their unit ids; Modicon references in the profile's base", () => {
    const s = fresh();
    const r = importCsv(s, all());
    expect(r.counts).toMatchObject({ connections: 1, devices: 3, blocks: 0, tags: 0, profiles: 1 });
    expect(r.profileChanges).toEqual([{ profile: "meter", stored: "created" }]);
    const cfg = s.getConnectionConfig("bus")!;
    expect(cfg.devices!.map((d) => [d.device, d.unit_id, d.profile])).toEqual([
      ["m1", 1, "meter"],
      ["m2", 2, "meter"],
      ["m3", 3, "meter"],
    ]);
    expect(cfg.blocks.map((b) => `${b.block_id}@${b.address}`)).toEqual([
      "m1.ir@0",
      "m2.ir@0",
      "m3.ir@0",
    ]);
    expect(
      cfg.tags.filter((t) => t.tag_name.startsWith("m2/")).map((t) => [t.tag_name, t.address]),
    ).toEqual([
      ["m2/voltage", 0],
      ["m2/energy", 2],
    ]);
    // the stored profile keeps its one-based addresses (300001 is address 1 there)
    expect(s.getProfile("meter")!.tags.map((t) => t.address)).toEqual([1, 3]);
    s.close();
  });

  test("profiles.csv alone is an import; a later devices.csv may name a stored profile", () => {
    const s = fresh();
    importCsv(s, all().slice(2));
    expect(s.listProfiles()).toHaveLength(1);
    importCsv(s, [input("connections", CONN), input("devices", DEVICES)]);
    expect(s.getConnectionConfig("bus")!.tags).toHaveLength(6);
    s.close();
  });

  test("bad rows are refused with file, line, column and field; nothing changes", () => {
    const s = fresh();
    const errors = refused(
      s,
      all({
        devices: "conn_id,device,unit_id,profile\nbus,m1,1,meter\nbus,m2,2,nosuch\n",
        profile_blocks: `${PBLOCKS}meter,hr,holding_registers,1,,2,500\nother,x,coils,1,,1,500\n`,
        profile_tags: `${PTAGS}meter,big,ir,4,,float32,,\nmeter,v2,hr,1,,float32,,\n`,
      }),
    );
    expect(errors).toEqual([
      'devices.csv:3:4 (profile): no profile "nosuch" (profiles.csv, or nodi-edge profile list), got "nosuch"',
      'profile_blocks.csv:4:1 (profile): no profile "other" in this configuration (profiles.csv)',
      'profile_tags.csv:4:4 (address): tag must lie inside its block "ir" (input_registers 1–4): it takes registers 4–5 (float32 takes 2 registers)',
    ]);
    // an instance with rows of its own
    const own = refused(s, [
      ...all(),
      input("blocks", "conn_id,block_id,device,table,count,period_ms\nbus,x,m1,coils,1,100\n"),
    ]);
    expect(own[0]).toStartWith(
      'blocks.csv:2:3 (device): device "m1" is an instance of profile "meter"',
    );
  });

  test("export round-trips: unexpanded rows and the profiles; importing it changes nothing; exporting again gives the same bytes", () => {
    const s = fresh();
    importCsv(s, all());
    const out = join(dir.path, "out1");
    const files = exportCsv(s, out).map((f) => f.slice(out.length + 1));
    expect(files.sort()).toEqual(
      [
        "blocks.csv",
        "connections.csv",
        "devices.csv",
        "northbound.csv",
        "profile_blocks.csv",
        "profile_tags.csv",
        "profiles.csv",
        "tags.csv",
      ].sort(),
    );
    expect(readFileSync(join(out, "blocks.csv"), "utf8").trim().split("\n")).toHaveLength(1);
    expect(readFileSync(join(out, "profile_tags.csv"), "utf8")).toContain(
      "meter,voltage,ir,,,1,float32",
    );
    const before = JSON.stringify([s.getAllConfigs(), s.listProfiles()]);
    const r = importCsv(s, readInputs([out]));
    expect(r.changes.map((c) => c.stored)).toEqual(["same"]);
    expect(r.profileChanges).toEqual([{ profile: "meter", stored: "same" }]);
    expect(JSON.stringify([s.getAllConfigs(), s.listProfiles()])).toBe(before);
    const out2 = join(dir.path, "out2");
    exportCsv(s, out2);
    for (const f of files) {
      expect(readFileSync(join(out2, f), "utf8")).toBe(readFileSync(join(out, f), "utf8"));
    }
    s.close();
  });

  test("an export of some connections carries the profiles they use, and only those", () => {
    const s = fresh();
    importCsv(s, all());
    importCsv(s, readInputs([join(SHIPPED, "schneider-atv320")]));
    const out = join(dir.path, "out3");
    exportCsv(s, out, ["bus"]);
    const text = readFileSync(join(out, "profiles.csv"), "utf8");
    expect(text).toContain("meter,");
    expect(text).not.toContain("schneider-atv320");
    s.close();
  });
});

describe("shipped profiles (examples/profiles/)", () => {
  const shipped = readdirSync(SHIPPED, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name);

  test("there are a three-phase meter and a VFD, and the package installs them", () => {
    expect(shipped).toEqual(expect.arrayContaining(["eastron-sdm630", "schneider-atv320"]));
    const files = profileFiles().map(([, dst]) => dst);
    for (const name of shipped) {
      for (const f of ["profiles.csv", "profile_blocks.csv", "profile_tags.csv"]) {
        expect(files).toContain(`${PROFILE_DIR}/${name}/${f}`);
      }
    }
  });

  for (const name of shipped) {
    test(`${name} imports cleanly and expands on a connection`, () => {
      const s = fresh();
      const r = importCsv(s, readInputs([join(SHIPPED, name)]));
      expect(r.profileChanges).toEqual([{ profile: name, stored: "created" }]);
      const p = s.getProfile(name)!;
      expect(p.profile.description).toMatch(/manual|Manual|Parameters/);
      expect(p.tags.length).toBeGreaterThan(5);
      importCsv(s, [
        input("connections", CONN),
        input("devices", `conn_id,device,unit_id,profile\nbus,d1,1,${name}\nbus,d2,2,${name}\n`),
      ]);
      expect(s.getConnectionConfig("bus")!.tags).toHaveLength(p.tags.length * 2);
      s.close();
    });
  }

  test("the SDM630's values are float32 input registers at the manual's start addresses", () => {
    const s = fresh();
    importCsv(s, readInputs([join(SHIPPED, "eastron-sdm630")]));
    const tags = new Map(s.getProfile("eastron-sdm630")!.tags.map((t) => [t.tag_name, t]));
    expect([tags.get("voltage_l1")?.address, tags.get("frequency")?.address]).toEqual([0, 0x46]);
    expect([tags.get("energy_import")?.address, tags.get("energy_total")?.address]).toEqual([
      0x48, 0x156,
    ]);
    expect(
      [...tags.values()].every((t) => t.data_type === "float32" && t.byte_order === "ABCD"),
    ).toBe(true);
    // at most 80 registers per request, the meter's limit
    expect(
      Math.max(...s.getProfile("eastron-sdm630")!.blocks.map((b) => b.count)),
    ).toBeLessThanOrEqual(80);
    s.close();
  });
});
