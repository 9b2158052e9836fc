import { afterAll, describe, expect, test } from "bun:test";
import { passesDeadband } from "../../../src/core/deadband.ts";
import { isNodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { planBlocks } from "../../../src/drivers/modbus/auto-plan.ts";
import { decodeArray, spanOf, type TagFormat } from "../../../src/drivers/modbus/codec.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import type { ConnectionConfig, DataType } from "../../../src/store/schema.ts";
import { block, connection, tag } from "./helpers.ts";

/** Array tags (`float32[10]`, issue 14): codec on byte literals, deadband, driver ↔ simulator. */
const fmt = (
  data_type: DataType,
  array_length: number,
  over: Partial<TagFormat> = {},
): TagFormat => ({
  data_type,
  byte_order: "ABCD",
  scale: 1,
  offset: 0,
  array_length,
  ...over,
});

describe("decodeArray on register literals", () => {
  test("float32[3] big-endian: 12.5 (0x41480000), 1.0 (0x3F800000), -2.0 (0xC0000000)", () => {
    expect(
      decodeArray(fmt("float32", 3), [0x4148, 0x0000, 0x3f80, 0x0000, 0xc000, 0x0000]),
    ).toEqual([12.5, 1, -2]);
  });
  test("float32[2] word-swapped (CDAB) from register 1 of the reply", () => {
    expect(
      decodeArray(
        fmt("float32", 2, { byte_order: "CDAB" }),
        [0xffff, 0x0000, 0x4148, 0x0000, 0x3f80],
        1,
      ),
    ).toEqual([12.5, 1]);
  });
  test("int16[3] scaled by 0.1: 364, -1, -32768", () => {
    expect(decodeArray(fmt("int16", 3, { scale: 0.1 }), [0x016c, 0xffff, 0x8000])).toEqual([
      36.4, -0.1, -3276.8,
    ]);
  });
  test("uint64[2]: beyond 2^53 as a decimal string, a small one as a number", () => {
    expect(decodeArray(fmt("uint64", 2), [0xffff, 0xffff, 0xffff, 0xffff, 0, 0, 0, 7])).toEqual([
      "18446744073709551615",
      7,
    ]);
  });
  test("bcd[2] and a reply too short for the last element", () => {
    expect(decodeArray(fmt("bcd", 2), [0x1234, 0x9999])).toEqual([1234, 9999]);
    let err: unknown;
    try {
      decodeArray(fmt("uint32", 2), [0, 1, 0]);
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "decode")).toBe(true);
  });
  test("spans: float32[10] takes 20 registers, bool[16] 16 coils, a plain int32 2", () => {
    expect(spanOf(fmt("float32", 10), false)).toBe(20);
    expect(spanOf(fmt("bool", 16), true)).toBe(16);
    expect(spanOf({ data_type: "int32" }, false)).toBe(2);
  });
});

describe("deadband of arrays", () => {
  const s = (value: number[]) => ({ value, quality: "good" as const });
  test("published when the length changes or one element passes the deadband", () => {
    expect(passesDeadband(s([1, 2]), s([1, 2]), 0)).toBe(false);
    expect(passesDeadband(s([1, 2]), s([1, 2.5]), 1)).toBe(false);
    expect(passesDeadband(s([1, 2]), s([1, 3.5]), 1)).toBe(true);
    expect(passesDeadband(s([1, 2]), s([1, 2, 3]), 1)).toBe(true);
    expect(passesDeadband({ value: 1, quality: "good" }, s([1]), 0)).toBe(true);
  });
});

describe("array tags: driver ↔ simulator", () => {
  let sim: ModbusSim;
  let d: ModbusDriver;
  afterAll(async () => {
    await d?.close();
    await sim?.stop();
  });

  test("a float32[3] and a bool[4] are one tag each with an array value; writes are refused", async () => {
    sim = await startModbusSim({
      map: {
        holding_registers: { "0": [0x4148, 0x0000, 0x3f80, 0x0000, 0xc000, 0x0000] },
        coils: { "2": [1, 0, 1, 1] },
      },
    });
    d = createModbusDriver(connection({ port: sim.port }), {
      log: silentLogger,
      dataDir: "/tmp",
    }) as ModbusDriver;
    d.configure(
      [block("hr", "holding_registers", 0, 6), block("co", "coils", 0, 8)],
      [
        tag("temps", "hr", 0, { data_type: "float32", array_length: 3, access: "read" }),
        tag("valves", "co", 2, { data_type: "bool", array_length: 4, access: "read" }),
        tag("rw", "hr", 0, { data_type: "float32", array_length: 3 }),
      ],
    );
    await d.connect();
    const hr = await d.read("hr");
    expect(hr[0]).toMatchObject({ tag_name: "temps", value: [12.5, 1, -2], quality: "good" });
    expect((await d.read("co"))[0]).toMatchObject({ value: [true, false, true, true] });
    let err: unknown;
    try {
      await d.write(tag("rw", "hr", 0, { data_type: "float32", array_length: 3 }), 1);
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "read_only")).toBe(true);
    expect((err as Error).message).toContain("writes of array tags are not supported");
  });

  test("an auto array tag is planned with its whole span, never cut", () => {
    const cfg = {
      connection: connection({ max_registers_per_request: 10, max_gap_registers: 4 }),
      blocks: [],
      tags: [
        tag("a", "", 0, { block_id: null, table: "holding_registers", scan_ms: 100 }),
        tag("arr", "", 1, {
          block_id: null,
          table: "holding_registers",
          scan_ms: 100,
          data_type: "float32",
          array_length: 5,
        }),
      ],
    } as ConnectionConfig;
    expect(planBlocks(cfg).auto.map((b) => [b.address, b.count, b.tags.join(" ")])).toEqual([
      [0, 1, "a"],
      [1, 10, "arr"],
    ]);
  });
});
