import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { exportCsv } from "../../src/loader/export.ts";
import { type CsvInput, type CsvKind, importCsv, readInputs } from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

/** devices.csv and the blocks' `device` column (docs/csv.md "devices.csv"). */
const dir = tempDir("ne-loader-devices-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `d${++n}.sqlite`));
const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});

const CONN = "conn_id,protocol,serial_device,unit_id\nline1,modbus-rtu,/dev/ttyUSB0,1\n";
const DEVICES = "conn_id,device,unit_id,description\nline1,meter3,3,hall A\nline1,meter4,4,\n";
const BLOCKS = [
  "conn_id,block_id,device,table,address,count,period_ms",
  "line1,m3,meter3,input_registers,0,2,1000",
  "line1,m4,meter4,input_registers,0,2,1000",
  "line1,own,,holding_registers,0,1,1000",
  "",
].join("\n");
const TAGS = [
  "conn_id,tag_name,block_id,address,data_type",
  "line1,meter3/voltage,m3,0,float32",
  "line1,meter4/voltage,m4,0,float32",
  "line1,status,own,0,uint16",
  "",
].join("\n");
const all = (devices = DEVICES, blocks = BLOCKS, tags = TAGS): CsvInput[] => [
  input("connections", CONN),
  input("devices", devices),
  input("blocks", blocks),
  input("tags", tags),
];
const snap = (s: Store) => JSON.stringify([s.getAllConfigs(), s.journal().length]);

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

describe("devices.csv import", () => {
  test("devices, block devices and device tags are imported", () => {
    const s = fresh();
    const r = importCsv(s, all());
    expect(r.counts).toEqual({ connections: 1, devices: 2, blocks: 3, tags: 3, northbounds: 0 });
    const cfg = s.getConnectionConfig("line1")!;
    expect(cfg.devices?.map((d) => [d.device, d.unit_id, d.description])).toEqual([
      ["meter3", 3, "hall A"],
      ["meter4", 4, ""],
    ]);
    expect(cfg.blocks.map((b) => b.device)).toEqual(["meter3", "meter4", null]);
    s.close();
  });

  test("a directory's devices.csv is read; a file named …devices.csv too", () => {
    const d = join(dir.path, "in1");
    require("node:fs").mkdirSync(d, { recursive: true });
    for (const i of all()) writeFileSync(join(d, i.file), i.bytes);
    expect(readInputs([d]).map((i) => i.kind)).toEqual([
      "connections",
      "devices",
      "blocks",
      "tags",
    ]);
    writeFileSync(join(d, "site1.devices.csv"), DEVICES);
    expect(
      readInputs([join(d, "connections.csv"), join(d, "site1.devices.csv")]).map((i) => i.kind),
    ).toEqual(["connections", "devices"]);
  });

  test("bad rows are refused with file, line, column and field; nothing changes", () => {
    const s = fresh();
    importCsv(s, all());
    const devices = "conn_id,device,unit_id\nline1,meter3,3\nline1,meter3,5\nline9,meter5,x\n";
    const blocks = BLOCKS.replace("line1,m4,meter4,", "line1,m4,meter7,");
    const tags = TAGS.replace("line1,meter3/voltage,", "line1,meter4/voltage2,");
    expect(refused(s, all(devices, blocks, tags))).toEqual([
      'devices.csv:3:2 (device): duplicate device "meter3" in connection "line1"',
      'devices.csv:4:3 (unit_id): expected a number, got "x"',
      'blocks.csv:3:3 (device): no device "meter7" in connection "line1" (devices.csv), got "meter7"',
      'tags.csv:2:2 (tag_name): block "m3" belongs to device "meter3": its tags are named meter3/{tag} (path /line1/meter3/{tag}), got "meter4/voltage2"',
      'tags.csv:3:2 (tag_name): block "m4" belongs to device "meter7": its tags are named meter7/{tag} (path /line1/meter7/{tag}), got "meter4/voltage"',
    ]);
    s.close();
  });

  test("blocks naming devices without a devices.csv are refused, located", () => {
    const s = fresh();
    const errors = refused(s, [
      input("connections", CONN),
      input("blocks", BLOCKS),
      input("tags", TAGS),
    ]);
    expect(errors.slice(0, 2)).toEqual([
      'blocks.csv:2:3 (device): no device "meter3" in connection "line1" (devices.csv), got "meter3"',
      'blocks.csv:3:3 (device): no device "meter4" in connection "line1" (devices.csv), got "meter4"',
    ]);
    s.close();
  });
});

describe("devices.csv export", () => {
  test("export round-trips: importing it changes nothing and exporting again gives the same bytes", () => {
    const s = fresh();
    importCsv(s, all());
    const out = join(dir.path, "out1");
    const files = exportCsv(s, out).map((f) => f.slice(out.length + 1));
    expect(files).toContain("devices.csv");
    const text = readFileSync(join(out, "devices.csv"), "utf8");
    expect(text).toBe(
      "conn_id,device,unit_id,description,profile\nline1,meter3,3,hall A,\nline1,meter4,4,,\n",
    );
    const before = JSON.stringify(s.getAllConfigs());
    const r = importCsv(s, readInputs([out]));
    expect(r.changes.map((c) => c.stored)).toEqual(["same"]);
    expect(JSON.stringify(s.getAllConfigs())).toBe(before);
    const out2 = join(dir.path, "out2");
    exportCsv(s, out2);
    for (const f of files) {
      expect(readFileSync(join(out2, f), "utf8")).toBe(readFileSync(join(out, f), "utf8"));
    }
    s.close();
  });

  test("a configuration without devices exports no devices.csv", () => {
    const s = fresh();
    importCsv(s, [
      input("connections", CONN),
      input(
        "blocks",
        "conn_id,block_id,table,count,period_ms\nline1,own,holding_registers,1,1000\n",
      ),
    ]);
    const out = join(dir.path, "out3");
    expect(exportCsv(s, out).some((f) => f.endsWith("devices.csv"))).toBe(false);
    s.close();
  });
});
