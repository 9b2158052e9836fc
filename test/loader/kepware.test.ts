import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeRaw } from "../../src/drivers/modbus/codec.ts";
import { formatLoadError } from "../../src/loader/csv-file.ts";
import { parseKepwareAddress } from "../../src/loader/kepware/address.ts";
import { byteOrder, KEPWARE_DEFAULTS } from "../../src/loader/kepware/device-properties.ts";
import { mapKepwareFile } from "../../src/loader/kepware/map-file.ts";
import type { MapOptions } from "../../src/loader/kepware/map-row.ts";

/** Kepware tag export import (issue 14): addresses, types, scaling, unmappable rows. */
const FIXTURE = join(import.meta.dir, "fixtures", "kepware-pump.csv");
const fixture = readFileSync(FIXTURE);
const opts: MapOptions = { ...KEPWARE_DEFAULTS };
const HEADER =
  "Tag Name,Address,Data Type,Respect Data Type,Client Access,Scan Rate,Scaling,Raw Low,Raw High,Scaled Low,Scaled High,Scaled Data Type,Clamp Low,Clamp High,Eng Units,Description,Negate Value";
/** A file of `rows`, each padded with empty cells to the header's 17 (the rows hold no quoted commas). */
const csv = (...rows: string[]) =>
  new TextEncoder().encode(
    `${HEADER}\n${rows.map((r) => r + ",".repeat(16 - (r.match(/,/g)?.length ?? 0))).join("\n")}\n`,
  );
const mapRows = (o: Partial<MapOptions>, ...rows: string[]) =>
  mapKepwareFile("t.csv", csv(...rows), { ...opts, ...o });

describe("Kepware Modbus addresses", () => {
  test("padded 5- and 6-digit forms, bits, strings, arrays", () => {
    for (const a of ["41", "401", "4001", "40001", "400001"]) {
      expect(parseKepwareAddress(a)).toEqual({ table: "holding_registers", item: 1 });
    }
    expect(parseKepwareAddress("000017")).toEqual({ table: "coils", item: 17 });
    expect(parseKepwareAddress("10001")).toEqual({ table: "discrete_inputs", item: 1 });
    expect(parseKepwareAddress("365536")).toEqual({ table: "input_registers", item: 65536 });
    expect(parseKepwareAddress("40001.3")).toEqual({ table: "holding_registers", item: 1, bit: 3 });
    expect(parseKepwareAddress("400100.20H")).toEqual({
      table: "holding_registers",
      item: 100,
      string: { bytes: 20, order: "H" },
    });
    expect(parseKepwareAddress("300010.8l")).toEqual({
      table: "input_registers",
      item: 10,
      string: { bytes: 8, order: "L" },
    });
    expect(parseKepwareAddress("40001[10]")).toEqual({
      table: "holding_registers",
      item: 1,
      array: { rows: 1, cols: 10 },
    });
    expect(parseKepwareAddress("40001 [2][5]")).toEqual({
      table: "holding_registers",
      item: 1,
      array: { rows: 2, cols: 5 },
    });
  });
  test("refused (bad input) and unmappable (hexadecimal)", () => {
    for (const bad of [
      "",
      "20001",
      "465537",
      "00001.3",
      "10001.4H",
      "40001.3[2]",
      "4x0001",
      "D100",
    ]) {
      expect(parseKepwareAddress(bad)).toHaveProperty("error");
    }
    expect(parseKepwareAddress("H40001")).toHaveProperty("unmappable");
  });
});

describe("the hand-made export (test/loader/fixtures/kepware-pump.csv)", () => {
  const m = mapKepwareFile("kepware-pump.csv", fixture, opts);
  const byName = new Map(m.tags.map((t) => [t.tag.tag_name, t]));
  const tag = (name: string) => byName.get(name)?.tag;

  test("no errors; every row is a tag or listed as unmappable", () => {
    expect(m.errors.map(formatLoadError)).toEqual([]);
    expect(m.tags.length + m.unmappable.length).toBe(20);
  });

  test("coils and discrete inputs: bool, zero-based wire address, access, scan rate", () => {
    expect(tag("Run")).toEqual({
      tag_name: "Run",
      table: "coils",
      scan_ms: 100,
      address: 0,
      data_type: "bool",
      byte_order: "ABCD",
      scale: 1,
      offset: 0,
      access: "read-write",
      unit: "",
      description: "Pump run command",
    });
    expect(tag("Fault")).toMatchObject({ table: "discrete_inputs", address: 0, access: "read" });
  });

  test("group paths stay as dotted names; register bits become bit tags", () => {
    expect(tag("Status.Ready")).toMatchObject({
      table: "holding_registers",
      address: 9,
      data_type: "bit",
      bit: 0,
      access: "read",
    });
    expect(tag("Status.Alarm")).toMatchObject({ address: 9, data_type: "bit", bit: 3 });
  });

  test("linear scaling becomes scale and offset; negate flips them", () => {
    const sp = tag("Motor.SpeedSetpoint")!;
    expect(sp).toMatchObject({
      data_type: "uint16",
      address: 0,
      access: "read-write",
      unit: "rpm",
    });
    expect(sp.scale).toBeCloseTo(1500 / 16384, 12);
    expect(sp.offset).toBe(0);
    expect(tag("Motor.Temperature")).toMatchObject({
      table: "input_registers",
      address: 2,
      data_type: "int16",
      scale: 0.1,
      offset: 0,
      unit: "°C",
      scan_ms: 1000,
    });
    // 4–20 mA as 4000–20000 raw onto 0–100 %: 4000 → 0, 20000 → 100
    const lvl = tag("Line.Level")!;
    expect(lvl.scale).toBe(100 / 16000);
    expect(lvl.offset).toBe(-25);
    expect(4000 * lvl.scale + lvl.offset).toBe(0);
    expect(20000 * lvl.scale + lvl.offset).toBe(100);
    expect(tag("Motor.Torque")).toMatchObject({ data_type: "int16", scale: -1, offset: 0 });
  });

  test("32- and 64-bit values take Kepware's default word order (first word low: CDAB)", () => {
    expect(tag("Motor.Current")).toMatchObject({
      table: "input_registers",
      address: 0,
      data_type: "float32",
      byte_order: "CDAB",
      scan_ms: 500,
    });
    expect(tag("Energy.Total")).toMatchObject({
      address: 19,
      data_type: "uint32",
      byte_order: "CDAB",
    });
    expect(tag("Energy.Hours")).toMatchObject({
      address: 21,
      data_type: "lbcd",
      byte_order: "CDAB",
    });
    expect(tag("Energy.Pulses")).toMatchObject({
      address: 23,
      data_type: "uint64",
      byte_order: "CDAB",
    });
  });

  test("strings: length in bytes → registers, H = HiLo (ABCD), L = LoHi (BADC)", () => {
    expect(tag("Info.Serial")).toMatchObject({
      address: 99,
      data_type: "string",
      length: 10,
      byte_order: "ABCD",
      scan_ms: 10000,
    });
    expect(tag("Info.Firmware")).toMatchObject({ address: 109, length: 4, byte_order: "BADC" });
  });

  test("a 5-digit address and a renamed tag (spaces are not allowed in names)", () => {
    expect(tag("Mode")).toMatchObject({ address: 59, data_type: "uint16" });
    expect(tag("Setpoint_Temp")).toMatchObject({ address: 49, data_type: "float32" });
    expect(m.warnings.map(formatLoadError)).toContain(
      'kepware-pump.csv:18:1 (Tag Name): renamed "Setpoint Temp" to "Setpoint_Temp": tag names hold letters, digits, _, - and . (the group separator)',
    );
  });

  test("unmappable rows: square root, Char, a two-dimensional array — each located with its reason", () => {
    expect(m.unmappable.map((u) => [u.name, u.line, u.reasons.map(formatLoadError)])).toEqual([
      [
        "Flow",
        10,
        [
          "kepware-pump.csv:10:7 (Scaling): Square Root scaling has no equivalent: scaling here is linear (raw × scale + offset)",
        ],
      ],
      [
        "Info.Code",
        16,
        [
          "kepware-pump.csv:16:3 (Data Type): Kepware Char (signed 8-bit) has no equivalent: tags here are 16 bits or more (use Short)",
        ],
      ],
      [
        "Matrix",
        21,
        [
          "kepware-pump.csv:21:2 (Address): two-dimensional arrays ([rows][columns]) have no equivalent: arrays here have one dimension (400001[10] reads the same registers as one array)",
        ],
      ],
    ]);
  });

  test("warnings: clamping is not done here", () => {
    const w = m.warnings.map(formatLoadError);
    expect(w).toContain(
      "kepware-pump.csv:6:13 (Clamp Low): Clamp Low and Clamp High: values are not clamped here; a raw value outside Raw Low–Raw High gives a value outside Scaled Low–Scaled High",
    );
    expect(w.some((x) => x.startsWith("kepware-pump.csv:20:14 (Clamp High)"))).toBe(true);
  });

  test("--device prefixes every name with the device segment", () => {
    const d = mapKepwareFile("kepware-pump.csv", fixture, { ...opts, device: "pump2" });
    expect(d.tags.map((t) => t.tag.tag_name)).toContain("pump2/Motor.Current");
    expect(d.unmappable.map((u) => u.name)).toContain("pump2/Flow");
  });
});

describe("device properties", () => {
  test("zero-based addressing off: item n is register n", () => {
    const m = mapRows({ zeroBased: false }, '"A","40001","Word"', '"B","40000","Word"');
    expect(m.tags.map((t) => t.tag.address)).toEqual([1, 0]);
    const on = mapRows({}, '"B","40000","Word"');
    expect(on.errors.map(formatLoadError)).toEqual([
      "t.csv:2:2 (Address): item 0 does not exist with zero-based addressing (item 1 is register 0 on the wire)",
    ]);
  });
  test("zero-based bit addressing off: bits .1–.16; Modicon bit order reverses", () => {
    const m = mapRows(
      { zeroBasedBits: false },
      '"A","40001.1","Boolean"',
      '"B","40001.16","Boolean"',
    );
    expect(m.tags.map((t) => t.tag.bit)).toEqual([0, 15]);
    const bad = mapRows({ zeroBasedBits: false }, '"C","40001.0","Boolean"');
    expect(bad.errors[0]!.message).toBe("a register bit runs from 1 to 16, got .0");
    const modicon = mapRows({ modiconBitOrder: true }, '"D","40001.0","Boolean"');
    expect(modicon.tags[0]!.tag.bit).toBe(15);
  });
  test("data encoding → byte_order", () => {
    const all = { ...KEPWARE_DEFAULTS };
    expect(byteOrder("uint16", all)).toBe("ABCD");
    expect(byteOrder("float32", all)).toBe("CDAB");
    expect(byteOrder("float64", all)).toBe("CDAB");
    expect(byteOrder("float32", { ...all, firstWordLow: false })).toBe("ABCD");
    expect(byteOrder("float32", { ...all, modbusByteOrder: false })).toBe("DCBA");
    expect(byteOrder("int16", { ...all, modbusByteOrder: false })).toBe("BADC");
    expect(byteOrder("float64", { ...all, firstWordLow: false, firstDwordLow: false })).toBe(
      "ABCD",
    );
    expect(byteOrder("float64", { ...all, firstDwordLow: false })).toBeUndefined();
    const m = mapRows({ firstDwordLow: false }, '"X","40001","Double"');
    expect(m.unmappable[0]!.reasons[0]!.message).toContain(
      '"First Word Low" on and "First DWord Low" off',
    );
  });
});

describe("bad input is refused, located", () => {
  test("unknown and missing columns", () => {
    const m = mapKepwareFile(
      "t.csv",
      new TextEncoder().encode("Tag Name,Adress,Data Type\nA,40001,Word\n"),
      opts,
    );
    expect(m.errors.map(formatLoadError)).toEqual([
      't.csv:1:2: unknown column "Adress" for a Kepware tag export; its columns are Tag Name, Address, Data Type, Respect Data Type, Client Access, Scan Rate, Scaling, Raw Low, Raw High, Scaled Low, Scaled High, Scaled Data Type, Clamp Low, Clamp High, Eng Units, Description, Negate Value',
      't.csv:1 (Address): missing column "Address" (required in a Kepware tag export)',
    ]);
  });
  test("a type the address cannot hold, an unknown type, bad numbers, Raw Low = Raw High, duplicates", () => {
    const m = mapRows(
      {},
      '"A","000001","Word",1,"R/W",100',
      '"B","40001","Boolean",1,"R/W",100',
      '"C","40001","Int",1,"R/W",100',
      '"D","40001","Word",1,"R/W",fast',
      '"E","40001","Word",1,"R/W",100,"Linear",5,5,0,100',
      '"F","40001","Word",1,"Full",100',
      '"G","465536","Float",1,"R/W",100',
      '"H","40001","Word",1,"R/W",100,"Linear",,10,0,100',
      '"I","40001.250H","String",1,"RO",100',
      '"i","40002","Word",1,"R/W",100',
    );
    expect(m.errors.map(formatLoadError)).toEqual([
      "t.csv:2:3 (Data Type): a bit address (coils) cannot hold Kepware Word",
      "t.csv:3:3 (Data Type): a register address (holding_registers) cannot hold Kepware Boolean (a Boolean in a register names its bit: 40001.0)",
      't.csv:4:3 (Data Type): expected a Kepware data type (Default, Boolean, Char, Byte, Short, Word, Long, DWord, LLong, QWord, Float, Double, BCD, LBCD, String, Date, or "… Array"), got "Int"',
      't.csv:5:6 (Scan Rate): expected a scan rate in ms (a whole number ≥ 1), got "fast"',
      "t.csv:6:9 (Raw High): Raw High must differ from Raw Low, got 5 for both",
      't.csv:7:5 (Client Access): expected RO or R/W, got "Full"',
      "t.csv:8:2 (Address): the tag takes registers 65535–65536 on the wire, past the last one (65535)",
      "t.csv:9:8 (Raw Low): Linear scaling needs Raw Low, Raw High, Scaled Low and Scaled High, got an empty cell",
      't.csv:11:1 (Tag Name): tag "i" is already on line 10: every tag name once (Kepware names ignore case; after renaming, two names may meet)',
    ]);
    // the string at 40001 of 250 bytes (125 registers) is fine
    expect(m.tags.map((t) => [t.tag.tag_name, t.tag.length])).toEqual([["I", 125]]);
  });
  test("R/W on an input register is imported read-only, with a warning; WO is unmappable", () => {
    const m = mapRows({}, '"A","30001","Word",1,"R/W",100', '"B","40001","Word",1,"WO",100');
    expect(m.tags[0]!.tag.access).toBe("read");
    expect(m.warnings[0]!.message).toBe(
      "input_registers are read-only on the wire: imported as RO",
    );
    expect(m.unmappable[0]!.reasons[0]!.field).toBe("Client Access");
  });
  test("one-dimensional arrays become array tags (read-only); an Array type needs [n]", () => {
    // fixture row 17: "Trend","400200[10]","Word Array": ten words from register 199
    const trend = mapKepwareFile("kepware-pump.csv", fixture, opts).tags.find(
      (t) => t.tag.tag_name === "Trend",
    );
    expect(trend?.tag).toMatchObject({
      table: "holding_registers",
      address: 199,
      data_type: "uint16",
      array_length: 10,
      access: "read",
    });
    const a = mapRows(
      {},
      '"F","400010[4]","Float Array",1,"R/W",100',
      '"C","000001[16]","Boolean Array",1,"RO",100',
      '"N","40001","Word Array",1,"RO",100',
      '"E","465535[4]","Word Array",1,"RO",100',
    );
    expect(a.tags.map((t) => t.tag)).toMatchObject([
      {
        tag_name: "F",
        address: 9,
        data_type: "float32",
        array_length: 4,
        byte_order: "CDAB",
        access: "read",
      },
      { tag_name: "C", table: "coils", address: 0, data_type: "bool", array_length: 16 },
    ]);
    expect(a.warnings.map(formatLoadError)).toContain(
      "t.csv:2:5 (Client Access): array tags are read-only here (write each element as its own tag): imported as RO",
    );
    expect(a.errors.map(formatLoadError)).toEqual([
      "t.csv:4:2 (Address): a Kepware Word Array needs its element count in the address, e.g. 400001[10]",
      "t.csv:5:2 (Address): the tag takes registers 65534–65537 on the wire, past the last one (65535)",
    ]);
  });
  test("--scan-ms overrides the Scan Rate column; an empty Scan Rate is Kepware's 100 ms", () => {
    expect(mapRows({ scanMs: 2000 }, '"A","40001","Word",1,"RO",100').tags[0]!.tag.scan_ms).toBe(
      2000,
    );
    expect(mapRows({}, '"A","40001"').tags[0]!.tag).toMatchObject({
      scan_ms: 100,
      data_type: "uint16",
    });
  });
});

describe("mapped byte orders decode the registers as the Kepware device holds them", () => {
  // Registers as a device with Kepware's default Data Encoding presents them (first word low,
  // first dword low, Modbus byte order), decoded with the mapped tag's byte_order.
  const decode = (o: Partial<MapOptions>, row: string, regs: number[]) => {
    const m = mapRows(o, row);
    expect(m.errors).toEqual([]);
    return decodeRaw(m.tags[0]!.tag, regs);
  };
  test("Float, DWord, Double, QWord with the defaults", () => {
    expect(decode({}, '"F","40001","Float"', [0x0000, 0x4148])).toBe(12.5);
    expect(decode({}, '"D","40001","DWord"', [0x5678, 0x1234])).toBe(0x12345678);
    expect(decode({}, '"X","40001","Double"', [0, 0, 0, 0x3ff8])).toBe(1.5);
    expect(decode({}, '"Q","40001","QWord"', [4, 3, 2, 1])).toBe(0x0001000200030004n);
  });
  test("first word low off; Modbus byte order off; strings HiLo and LoHi", () => {
    expect(decode({ firstWordLow: false }, '"F","40001","Float"', [0x4148, 0x0000])).toBe(12.5);
    expect(decode({ modbusByteOrder: false }, '"W","40001","Word"', [0x3412])).toBe(0x1234);
    expect(decode({ modbusByteOrder: false }, '"F","40001","Float"', [0x0000, 0x4841])).toBe(12.5);
    expect(decode({}, '"S","40001.4H","String"', [0x4142, 0x4344])).toBe("ABCD");
    expect(decode({}, '"S","40001.4L","String"', [0x4241, 0x4443])).toBe("ABCD");
  });
});
