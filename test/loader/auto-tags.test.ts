import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { exportCsv } from "../../src/loader/export.ts";
import { type CsvInput, type CsvKind, importCsv, readInputs } from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

/** Auto tags in tags.csv: empty block_id, `table` + `scan_ms` (docs/csv.md "Auto tags"). */
const dir = tempDir("ne-loader-auto-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `a${++n}.sqlite`));
const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});

const CONN =
  "conn_id,protocol,host,port,max_registers_per_request,max_gap_registers\nplc1,modbus-tcp,10.0.0.1,502,10,2\nua,opcua,,,,\n";
const CONN_UA =
  "conn_id,protocol,host,port,endpoint_url,max_registers_per_request,max_gap_registers\nplc1,modbus-tcp,10.0.0.1,502,,10,2\nua,opcua,,,opc.tcp://h:4840,,\n";
const DEVICES = "conn_id,device,unit_id\nplc1,meter3,3\n";
const BLOCKS =
  "conn_id,block_id,table,address,count,period_ms\nplc1,hr,holding_registers,0,4,1000\n";
const TAGS = [
  "conn_id,tag_name,block_id,table,scan_ms,address,modicon,data_type,bit",
  "plc1,speed,,holding_registers,500,100,,float32,",
  "plc1,temp,,,500,,30011,int16,",
  "plc1,run,,coils,100,7,,bool,",
  "plc1,meter3/volts,,input_registers,1000,0,,float32,",
  "plc1,explicit,hr,,,0,,uint16,",
  "",
].join("\n");
const all = (tags = TAGS, conn = CONN): CsvInput[] => [
  input("connections", conn),
  input("devices", DEVICES),
  input("blocks", BLOCKS),
  input("tags", tags),
];

function refused(s: Store, inputs: CsvInput[]): string[] {
  let err: unknown;
  try {
    importCsv(s, inputs);
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err, "configuration")).toBe(true);
  return ((err as { details: { errors: LoadError[] } }).details.errors ?? []).map(formatLoadError);
}

describe("auto tags in tags.csv", () => {
  test("are imported with table and scan_ms, no block; a Modicon reference names the table", () => {
    const s = fresh();
    importCsv(s, all(TAGS, CONN.replace("\nua,opcua,,,,", "")));
    const cfg = s.getConnectionConfig("plc1")!;
    expect(cfg.connection.max_gap_registers).toBe(2);
    expect(cfg.connection.max_gap_bits).toBe(16);
    expect(cfg.tags.map((t) => [t.tag_name, t.block_id, t.table, t.scan_ms, t.address])).toEqual([
      ["speed", null, "holding_registers", 500, 100],
      ["temp", null, "input_registers", 500, 10],
      ["run", null, "coils", 100, 7],
      ["meter3/volts", null, "input_registers", 1000, 0],
      ["explicit", "hr", null, null, 0],
    ]);
    s.close();
  });

  test("export round-trips them byte for byte", () => {
    const s = fresh();
    importCsv(s, all(TAGS, CONN.replace("\nua,opcua,,,,", "")));
    const out = join(dir.path, "out1");
    const files = exportCsv(s, out).map((f) => f.slice(out.length + 1));
    const tags = readFileSync(join(out, "tags.csv"), "utf8");
    expect(tags.split("\n")[0]).toStartWith("conn_id,tag_name,block_id,table,scan_ms,address,");
    expect(tags).toContain("plc1,speed,,holding_registers,500,100,");
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

  test("bad auto tags are refused, located: missing fields, wrong table, outside the address space, too long for a request, unknown device", () => {
    const s = fresh();
    const tags = [
      "conn_id,tag_name,block_id,table,scan_ms,address,data_type,length,access",
      "plc1,a,,,500,0,int16,,read",
      "plc1,b,,holding_registers,,0,int16,,read",
      "plc1,c,,coils,100,0,int16,,read",
      "plc1,d,,holding_registers,100,0,bool,,read",
      "plc1,e,,holding_registers,100,65535,float32,,read",
      "plc1,f,,holding_registers,100,0,string,11,read",
      "plc1,g,,input_registers,100,0,int16,,read-write",
      "plc1,meter9/h,,holding_registers,100,0,int16,,read",
      "plc1,i,hr,holding_registers,100,0,int16,,read",
      "plc1,j,,opcua_nodes,100,0,int16,,read",
      "ua,k,,holding_registers,100,0,int16,,read",
      "",
    ].join("\n");
    expect(refused(s, all(tags, CONN_UA))).toEqual([
      "tags.csv:2:4 (table): table is required for an auto tag (empty block_id): coils, discrete_inputs, holding_registers or input_registers, got empty",
      "tags.csv:3:5 (scan_ms): scan_ms (poll period, ms) is required for an auto tag (empty block_id), got empty",
      "tags.csv:4:7 (data_type): auto tag of coils, which hold only bool, got int16",
      "tags.csv:5:7 (data_type): auto tag of holding_registers (16-bit registers): use data_type bit with a bit number, or a numeric type; got bool",
      "tags.csv:6:6 (address): tag must end by address 65535 (the last of holding_registers): it takes registers 65535–65536 (float32 takes 2 registers)",
      'tags.csv:7:8 (length): an auto tag must fit one read request of connection "plc1" (max_registers_per_request 10): it takes 11 registers',
      "tags.csv:8:9 (access): input_registers are read-only (Modbus Application Protocol §4.3): access must be read, got read-write",
      'tags.csv:9:2 (tag_name): an auto tag named {device}/{tag} is read from that device, but connection "plc1" has no device "meter9" (devices.csv); a tag of the default device has a one-segment name, got "meter9/h"',
      'tags.csv:10:4 (table): table is for auto tags only (an empty block_id); a tag of block "hr" is read with its block: leave table empty, got "holding_registers"',
      'tags.csv:10:5 (scan_ms): scan_ms is for auto tags only (an empty block_id); a tag of block "hr" is read with its block: leave scan_ms empty, got 100',
      'tags.csv:11:4 (table): table must be one of coils, discrete_inputs, holding_registers, input_registers, got "opcua_nodes"',
      "tags.csv:12:3 (block_id): block_id is required for opcua tags (auto tags, with table and scan_ms instead of a block, are Modbus only), got empty",
    ]);
    s.close();
  });
});
