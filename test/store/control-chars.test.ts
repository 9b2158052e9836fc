import { describe, expect, test } from "bun:test";
import { escapeControlChars, firstControlChar } from "../../src/core/control-chars.ts";
import { formatLoadError } from "../../src/loader/csv-file.ts";
import { type CsvInput, type CsvKind, parseConfig } from "../../src/loader/import.ts";
import { validateConfig } from "../../src/store/validate.ts";
import { validateNorthbounds } from "../../src/store/validate-north.ts";
import { modbusConfig } from "./helpers.ts";

// Text fields refuse control characters (C0 incl. TAB/LF/CR, DEL, C1): NUL, ESC and BEL once
// went into the SoT and came back out of `conn show` raw, driving the terminal.

const cfg = modbusConfig("plc1");
const raw = (over: { conn?: object; block?: object; tag?: object }) => ({
  connections: [{ ...cfg.connection, ...over.conn }],
  blocks: [{ ...cfg.blocks[0], ...over.block }],
  tags: [{ ...cfg.tags[0], ...over.tag }, cfg.tags[1]],
});

describe("control characters in text fields", () => {
  test("NUL, ESC, BEL, TAB (outside a description), DEL and C1 CSI are refused, field by field, located", () => {
    const r = validateConfig(
      raw({
        conn: { description: "a\u0000b", host: "10.0.0.1\u0007" },
        block: { description: "x\u001b[2J" },
        tag: { unit: "°C\t", description: "one\ntwo\u001b" },
      }),
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => [i.entity, i.index, i.key, i.field, i.message])).toEqual([
      [
        "connection",
        0,
        "plc1",
        "description",
        "description must not contain control characters, found NUL (U+0000) at character 2",
      ],
      [
        "connection",
        0,
        "plc1",
        "host",
        "host must not contain control characters, found BEL (U+0007) at character 9",
      ],
      [
        "block",
        0,
        "plc1/hr",
        "description",
        "description must not contain control characters, found ESC (U+001B) at character 2",
      ],
      [
        "tag",
        0,
        "plc1/speed",
        "unit",
        "unit must not contain control characters, found TAB (U+0009) at character 3",
      ],
      [
        "tag",
        0,
        "plc1/speed",
        "description",
        "description must not contain control characters, found ESC (U+001B) at character 8",
      ],
    ]);
    for (const [text, name] of [
      ["del\u007f", "DEL (U+007F) at character 4"],
      ["csi\u009b31m", "CSI (U+009B) at character 4"],
      ["c1\u0085", "U+0085 at character 3"],
    ]) {
      const v = validateConfig(raw({ tag: { description: text } }));
      expect(v.ok ? [] : v.issues.map((i) => i.message)).toEqual([
        `description must not contain control characters, found ${name}`,
      ]);
    }
  });

  test("ordinary text passes: accents, symbols, quotes, non-Latin scripts; a description may span lines", () => {
    const r = validateConfig(
      raw({ tag: { unit: "m³/h", description: 'Temp. "Kessel" – 温度 ±0,5 °C\r\nline 2\tend' } }),
    );
    expect(r.ok).toBe(true);
    const unit = validateConfig(raw({ tag: { unit: "m\n" } }));
    expect(unit.ok ? [] : unit.issues.map((i) => i.message)).toEqual([
      "unit must not contain control characters, found LF (U+000A) at character 2",
    ]);
  });

  test("a refused id field reports the control character once, not also its pattern", () => {
    const r = validateConfig(raw({ tag: { tag_name: "sp\u001beed" } }));
    expect(r.ok ? [] : r.issues.map((i) => [i.field, i.message])).toEqual([
      [
        "tag_name",
        "tag_name must not contain control characters, found ESC (U+001B) at character 3",
      ],
    ]);
  });

  test("a CSV cell with ESC: refused with file, line, column and field; nothing parsed", () => {
    const enc = new TextEncoder();
    const input = (kind: CsvKind, text: string): CsvInput => ({
      kind,
      file: `${kind}.csv`,
      bytes: enc.encode(text),
    });
    const r = parseConfig([
      input(
        "connections",
        'conn_id,protocol,host,port,description\nplc1,modbus-tcp,127.0.0.1,502,"\u001b]0;owned\u0007"\n',
      ),
    ]);
    expect(r.ok ? [] : r.errors.map(formatLoadError)).toEqual([
      "connections.csv:2:5 (description): description must not contain control characters, found ESC (U+001B) at character 1",
    ]);
  });

  test("northbound rows too", () => {
    const r = validateNorthbounds([
      {
        north_id: "cloud",
        kind: "mqtt",
        broker_urls: "mqtt://127.0.0.1:1883",
        description: "\u0007",
      },
    ]);
    expect(r.ok ? [] : r.issues.map((i) => [i.field, i.message])).toEqual([
      [
        "description",
        "description must not contain control characters, found BEL (U+0007) at character 1",
      ],
    ]);
  });

  test("escapeControlChars shows each as its JSON escape; firstControlChar finds the first", () => {
    expect(escapeControlChars("a\u001b[31mb\u0007\n")).toBe("a\\u001b[31mb\\u0007\\u000a");
    expect(escapeControlChars("a\nb\u009b", "\n")).toBe("a\nb\\u009b");
    expect(JSON.parse(`"${escapeControlChars("x\u009by")}"`)).toBe("x\u009by");
    expect(firstControlChar("ok")).toBeUndefined();
    expect(firstControlChar("o\u0000k")).toEqual({ name: "NUL (U+0000)", position: 2 });
  });
});
