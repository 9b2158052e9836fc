import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { type CsvInput, type CsvKind, importCsv, parseConfig } from "../../src/loader/import.ts";
import { openStore } from "../../src/store/store.ts";
import { validateConfig } from "../../src/store/validate.ts";
import { tempDir } from "../support/tmp.ts";

// Inputs found by adversarial testing (plant-style bad files); each once broke the loader.

const dir = tempDir("ne-loader-adv-");
afterAll(() => dir.cleanup());

const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});
const errorsOf = (inputs: CsvInput[]): string[] => {
  const r = parseConfig(inputs);
  return r.ok ? [] : r.errors.map(formatLoadError);
};

const CONN = "conn_id,protocol,host,port,unit_id\nplc1,modbus-tcp,127.0.0.1,502,1\n";
const BLOCKS =
  "conn_id,block_id,table,address,count,period_ms\nplc1,hr,holding_registers,0,10,100\n";
const TAGS = "conn_id,tag_name,block_id,address,data_type,deadband\nplc1,speed,hr,0,uint16,\n";

describe("CSV import, adversarial inputs", () => {
  test("a number too large for a double (1e999 → Infinity) is refused as a number, not stored", () => {
    const tags =
      "conn_id,tag_name,block_id,address,data_type,deadband\nplc1,speed,hr,0,uint16,1e999\n";
    expect(
      errorsOf([input("connections", CONN), input("blocks", BLOCKS), input("tags", tags)]),
    ).toEqual(['tags.csv:2:6 (deadband): expected a finite number, got "1e999" (too large)']);
    const conn = "conn_id,protocol,host,port,unit_id\nplc1,modbus-tcp,127.0.0.1,1e400,1\n";
    expect(errorsOf([input("connections", conn)])).toEqual([
      'connections.csv:2:4 (port): expected a finite number, got "1e400" (too large)',
    ]);
    const scale =
      "conn_id,tag_name,block_id,address,data_type,scale,offset\nplc1,speed,hr,0,uint16,1e400,-1e400\n";
    expect(
      errorsOf([input("connections", CONN), input("blocks", BLOCKS), input("tags", scale)]),
    ).toEqual([
      'tags.csv:2:6 (scale): expected a finite number, got "1e400" (too large)',
      'tags.csv:2:7 (offset): expected a finite number, got "-1e400" (too large)',
    ]);
  });

  test("the schema itself refuses a non-finite deadband (paths other than CSV: conn add, web)", () => {
    const r = validateConfig({
      connections: [{ conn_id: "plc1", protocol: "modbus-tcp", host: "h", port: 502, unit_id: 1 }],
      blocks: [{ conn_id: "plc1", block_id: "hr", table: "holding_registers", count: 10 }],
      tags: [
        { conn_id: "plc1", tag_name: "t", block_id: "hr", data_type: "uint16", deadband: Infinity },
      ],
    });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.issues.map((i) => i.message)).toEqual([
        "deadband must be a finite number, got Infinity",
      ]);
    }
  });

  test("semicolon-separated file with quoted cells: says so, instead of a quote error", () => {
    const conn =
      'conn_id;protocol;description;host;port;unit_id\nplc1;modbus-tcp;"Line 1; north";127.0.0.1;502;1\n';
    expect(errorsOf([input("connections", conn)])).toEqual([
      'connections.csv:1:1: columns must be separated by commas, got ";" (save as comma-separated CSV)',
    ]);
    const tabs = '# exported\nconn_id\tprotocol\nplc1\t"modbus-tcp"\n';
    expect(errorsOf([input("connections", tabs)])).toEqual([
      "connections.csv:2:1: columns must be separated by commas, got tabs (save as comma-separated CSV)",
    ]);
  });

  test("an unreadable connections.csv does not drown in 'no connection' errors of the other files", () => {
    const conn = 'conn_id,protocol,description\nplc1,modbus-tcp,"unclosed\n';
    const errs = errorsOf([
      input("connections", conn),
      input("blocks", BLOCKS),
      input("tags", TAGS),
    ]);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toStartWith("connections.csv:");
    expect(errs[0]).toContain("not valid CSV");
  });

  test("an unreadable blocks.csv does not drown in 'no block' errors of tags.csv", () => {
    const blocks = "conn_id;block_id;table\nplc1;hr;holding_registers\n";
    const errs = errorsOf([
      input("connections", CONN),
      input("blocks", blocks),
      input("tags", TAGS),
    ]);
    expect(errs).toEqual([
      'blocks.csv:1:1: columns must be separated by commas, got ";" (save as comma-separated CSV)',
    ]);
  });

  test("a refused import changes nothing (errors reach the caller as details)", () => {
    const s = openStore(join(dir.path, "ref.sqlite"));
    importCsv(s, [input("connections", CONN), input("blocks", BLOCKS), input("tags", TAGS)]);
    const before = JSON.stringify(s.getAllConfigs());
    const tags =
      "conn_id,tag_name,block_id,address,data_type,deadband\nplc1,speed,hr,0,uint16,1e999\n";
    let err: unknown;
    try {
      importCsv(s, [input("connections", CONN), input("blocks", BLOCKS), input("tags", tags)]);
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "configuration")).toBe(true);
    expect((err as { details: { errors: LoadError[] } }).details.errors).toHaveLength(1);
    expect(JSON.stringify(s.getAllConfigs())).toBe(before);
    s.close();
  });

  test("a pasted blob in a cell gives a short message, not the blob", () => {
    const blob = "x".repeat(100_000);
    const tags = `conn_id,tag_name,block_id,address,data_type\nplc1,${blob},hr,${blob},uint16\n`;
    const errs = errorsOf([
      input("connections", CONN),
      input("blocks", BLOCKS),
      input("tags", tags),
    ]);
    expect(errs).toHaveLength(2);
    for (const e of errs) expect(e.length).toBeLessThan(300);
    expect(errs[0]).toContain("(100000 characters)");
  });

  const UA_CONN =
    "conn_id,protocol,endpoint_url,security_mode\nua,opcua,opc.tcp://127.0.0.1:4840,None\n";
  const UA_BLOCKS = "conn_id,block_id,table,period_ms\nua,main,opcua_nodes,500\n";

  test("opcua endpoint_url without a host or with a bad port is refused", () => {
    for (const url of [
      "opc.tcp://",
      "opc.tcp://host name:4840",
      "opc.tcp://h:99999",
      "opc.tcp://h:0",
    ]) {
      const conn = `conn_id,protocol,endpoint_url\nua,opcua,${url}\n`;
      expect(errorsOf([input("connections", conn)])).toEqual([
        `connections.csv:2:3 (endpoint_url): endpoint_url must look like opc.tcp://HOST:PORT (a host without spaces, port 1–65535), got ${JSON.stringify(url)}`,
      ]);
    }
    for (const url of [
      "opc.tcp://plc:4840",
      "opc.tcp://10.0.0.5:4840/UA/Server",
      "opc.tcp://[::1]:4840",
      "opc.tcp://plc",
    ]) {
      expect(
        errorsOf([input("connections", `conn_id,protocol,endpoint_url\nua,opcua,${url}\n`)]),
      ).toEqual([]);
    }
  });

  test("a bad security_mode names the choices (not valibot's wording)", () => {
    const conn = UA_CONN.replace(",None", ",Encrypt");
    expect(errorsOf([input("connections", conn)])).toEqual([
      'connections.csv:2:4 (security_mode): security_mode must be one of None, Sign, SignAndEncrypt, got "Encrypt"',
    ]);
  });

  test("Modbus-only tag fields on an opcua tag are refused, not silently ignored", () => {
    const tags =
      "conn_id,tag_name,block_id,data_type,bit,length,node_id\n" +
      "ua,b,main,bit,3,,ns=1;s=Status\n" +
      "ua,s,main,string,,5,ns=1;s=Name\n" +
      "ua,i,main,int16,2,,ns=1;s=Word\n";
    expect(
      errorsOf([input("connections", UA_CONN), input("blocks", UA_BLOCKS), input("tags", tags)]),
    ).toEqual([
      "tags.csv:2:4 (data_type): data_type bit (one bit of a Modbus register) is not for opcua tags: use a Boolean node",
      "tags.csv:3:6 (length): length is for Modbus string tags only; leave it empty, got 5",
      "tags.csv:4:5 (bit): bit is only for data_type bit, not int16; leave it empty, got 2",
    ]);
  });
});
