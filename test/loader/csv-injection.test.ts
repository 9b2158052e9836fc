import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parse } from "csv-parse/sync";
import { formatLoadError } from "../../src/loader/csv-file.ts";
import { renderCsv } from "../../src/loader/export.ts";
import { type CsvInput, type CsvKind, importCsv, parseConfig } from "../../src/loader/import.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/store.ts";
import { modbusConfig } from "../store/helpers.ts";
import { tempDir } from "../support/tmp.ts";

// CSV export must not hand a spreadsheet a formula (OWASP CSV injection): a formula-like text
// cell gets a leading ', numbers stay numbers, and the import removes exactly that ', so that
// export → import gives back the same configuration.

const dir = tempDir("ne-csv-inj-");
afterAll(() => dir.cleanup());
const enc = new TextEncoder();
const inputs = (files: Partial<Record<CsvKind, string>>): CsvInput[] =>
  (Object.entries(files) as [CsvKind, string][]).map(([kind, text]) => ({
    kind,
    file: `${kind}.csv`,
    bytes: enc.encode(text),
  }));

/** Texts as stored → the cell a spreadsheet must get. */
const CELLS: [string, string][] = [
  ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
  ["+1+2", "'+1+2"],
  ["-2+3", "'-2+3"],
  ["@SUM(A1:A2)", "'@SUM(A1:A2)"],
  ["'=already quoted", "''=already quoted"],
  ["'plain", "'plain"],
  ["plain = text", "plain = text"],
  ["", ""],
];

function configWith(descriptions: string[]): ConnectionConfig {
  const c = modbusConfig("plc1");
  c.tags = descriptions.map((d, i) => ({
    ...c.tags[0]!,
    tag_name: `t${i}`,
    address: 0,
    description: d,
    unit: d === "" ? "" : "-",
    offset: -5,
    scale: -0.5,
    byte_order: "ABCD",
    deadband: 0,
    access: "read",
  })) as ConnectionConfig["tags"];
  return c;
}

describe("CSV export neutralises formula-like text cells", () => {
  const cfg = configWith(CELLS.map(([stored]) => stored));
  const files = renderCsv([cfg]);
  const rows = parse(files.tags, { columns: true }) as Record<string, string>[];

  test("each text cell as OWASP advises; numbers such as -5 as written", () => {
    expect(rows.map((r) => r.description)).toEqual(CELLS.map(([, cell]) => cell));
    for (const r of rows) {
      expect(r.offset).toBe("-5");
      expect(r.scale).toBe("-0.5");
    }
    expect(rows.map((r) => r.unit)).toEqual(CELLS.map(([s]) => (s === "" ? "" : "'-")));
    // The raw file: no line where a cell starts with = + - @ (outside a number column).
    expect(files.tags).not.toContain(",=cmd");
    expect(files.tags).toContain(",'=cmd|' /C calc'!A0,");
  });

  test("export → import gives back the same configuration", () => {
    const store = openStore(join(dir.path, "rt.db"));
    try {
      importCsv(store, inputs(files));
      const back = store.getConnectionConfig("plc1")!;
      expect(back.tags.map((t) => t.description)).toEqual(CELLS.map(([stored]) => stored));
      expect(back.tags.map((t) => [t.unit, t.offset, t.scale])).toEqual(
        CELLS.map(([s]) => [s === "" ? "" : "-", -5, -0.5]),
      );
      expect(renderCsv([back]).tags).toBe(files.tags);
    } finally {
      store.close();
    }
  });

  test("a hand-written cell: a formula-like text is kept as text; only an export's ' goes", () => {
    const conn = "conn_id,protocol,host,port,description\nplc1,modbus-tcp,127.0.0.1,502,=1+1\n";
    const blocks = "conn_id,block_id,table,address,count\nplc1,hr,holding_registers,0,4\n";
    const tags =
      "conn_id,tag_name,block_id,address,data_type,description,offset\n" +
      "plc1,a,hr,0,uint16,'=x,-5\nplc1,b,hr,1,uint16,'abc,-5\nplc1,c,hr,2,uint16,''-y,+5\n";
    const r = parseConfig(inputs({ connections: conn, blocks, tags }));
    if (!r.ok) throw new Error(r.errors.map(formatLoadError).join("\n"));
    expect(r.config.connections[0]!.description).toBe("=1+1");
    expect(r.config.tags.map((t) => [t.description, t.offset])).toEqual([
      ["=x", -5],
      ["'abc", -5],
      ["'-y", 5],
    ]);
  });
});
