import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { exportCsv } from "../../src/loader/export.ts";
import { type CsvInput, type CsvKind, importCsv, readInputs } from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

/** Array tags in tags.csv: `float32[10]` or the `array_length` column (docs/csv.md). */
const dir = tempDir("ne-loader-arrays-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `r${++n}.sqlite`));
const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});
const CONN =
  "conn_id,protocol,host,port,endpoint_url\nplc1,modbus-tcp,10.0.0.1,502,\nua,opcua,,,opc.tcp://h:4840\n";
const BLOCKS = [
  "conn_id,block_id,table,address,count,period_ms,mode",
  "plc1,hr,holding_registers,0,20,1000,",
  "plc1,co,coils,0,16,1000,",
  "ua,n,opcua_nodes,0,0,1000,subscribe",
  "",
].join("\n");
const all = (tags: string, conn = CONN): CsvInput[] => [
  input("connections", conn),
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

describe("array tags in tags.csv", () => {
  const TAGS = [
    "conn_id,tag_name,block_id,address,data_type,array_length,node_id",
    "plc1,temps,hr,0,float32[10],,",
    "plc1,counts,hr,0,int16,4,",
    "plc1,valves,co,0,bool[16],16,",
    "",
  ].join("\n");
  test("float32[10] is data_type float32 with array_length 10; export round-trips", () => {
    const s = fresh();
    importCsv(s, all(TAGS));
    expect(s.getTags("plc1").map((t) => [t.tag_name, t.data_type, t.array_length])).toEqual([
      ["temps", "float32", 10],
      ["counts", "int16", 4],
      ["valves", "bool", 16],
    ]);
    const out = join(dir.path, "out1");
    exportCsv(s, out);
    expect(readFileSync(join(out, "tags.csv"), "utf8")).toContain("plc1,temps,hr,");
    const before = JSON.stringify(s.getAllConfigs());
    expect(importCsv(s, readInputs([out])).changes.map((c) => c.stored)).toEqual(["same", "same"]);
    expect(JSON.stringify(s.getAllConfigs())).toBe(before);
  });

  test("refused, located: past the block, bit and string arrays, read-write, OPC UA, a contradiction", () => {
    const s = fresh();
    const tags = [
      "conn_id,tag_name,block_id,address,data_type,array_length,access,bit,length,node_id",
      "plc1,a,hr,2,float32[10],,read,,,",
      "plc1,b,hr,0,bit,2,read,3,,",
      "plc1,c,hr,0,string,2,read,,2,",
      "plc1,d,hr,0,uint16[2],,read-write,,,",
      "ua,e,n,0,float32[3],,read,,,ns=2;s=X",
      "",
    ].join("\n");
    const contradiction =
      "conn_id,tag_name,block_id,address,data_type,array_length\nplc1,f,hr,0,uint16[2],3\n";
    expect(refused(s, all(contradiction))).toEqual([
      "tags.csv:2:6 (array_length): array_length 3 contradicts data_type uint16[2]; give one of them",
    ]);
    expect(refused(s, all(tags))).toEqual([
      'tags.csv:2:4 (address): tag must lie inside its block "hr" (holding_registers 0–19): it takes registers 2–21 (float32[10] takes 20 registers)',
      "tags.csv:3:6 (array_length): array_length is for numeric data types and bool (coils, discrete inputs), not bit; leave it empty, got 2",
      "tags.csv:4:6 (array_length): array_length is for numeric data types and bool (coils, discrete inputs), not string; leave it empty, got 2",
      "tags.csv:5:7 (access): array tags are read-only (writes of arrays are not supported): access must be read, got read-write",
      "tags.csv:6:6 (array_length): array_length is for Modbus tags only (an OPC UA array node is read as the node's own value); leave it empty, got 3",
    ]);
  });
});
