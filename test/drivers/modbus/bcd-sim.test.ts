import { afterAll, describe, expect, test } from "bun:test";
import { isNodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import { block, connection, tag } from "./helpers.ts";

// bcd/lbcd tags read from and written to the simulator: raw packed registers in its map
// (`holding_registers`), one map entry of data_type lbcd, and a register that is no BCD.
describe("driver ↔ simulator: packed BCD (bcd, lbcd)", () => {
  let s: ModbusSim;
  let d: ModbusDriver;
  afterAll(async () => {
    await d?.close();
    await s?.stop();
  });

  const tags = [
    tag("level", "hr", 0, { data_type: "bcd" }),
    tag("bad", "hr", 1, { data_type: "bcd" }),
    tag("total", "hr", 2, { data_type: "lbcd", byte_order: "CDAB" }),
    tag("total_be", "hr", 4, { data_type: "lbcd" }),
    tag("temp", "hr", 6, { data_type: "bcd", scale: 0.1 }),
    tag("from_entry", "hr", 8, { data_type: "lbcd" }),
    tag("set", "hr", 10, { data_type: "bcd" }),
    tag("set_l", "hr", 12, { data_type: "lbcd", byte_order: "CDAB" }),
  ];

  test("reads decode packed digits; a nibble above 9 is bad/invalid_bcd, the others stay good", async () => {
    s = await startModbusSim({
      map: {
        holding_registers: {
          "0": 0x1234,
          "1": 0x12ab,
          "2": [0x3456, 0x0012],
          "4": [0x0012, 0x3456],
          "6": 0x0364,
        },
        entries: [{ table: "holding_registers", address: 8, data_type: "lbcd", value: 99_999_999 }],
      },
    });
    d = createModbusDriver(connection({ port: s.port }), {
      log: silentLogger,
      dataDir: "/tmp",
    }) as ModbusDriver;
    d.configure([block("hr", "holding_registers", 0, 14)], tags);
    await d.connect();
    const got = Object.fromEntries((await d.read("hr")).map((r) => [r.tag_name, r]));
    expect(got.level).toMatchObject({ value: 1234, quality: "good" });
    expect(got.bad).toMatchObject({ value: null, quality: "bad", reason: "invalid_bcd" });
    expect(got.total).toMatchObject({ value: 123456, quality: "good" });
    expect(got.total_be).toMatchObject({ value: 123456, quality: "good" });
    expect(got.temp).toMatchObject({ value: 36.4, quality: "good" });
    expect(got.from_entry).toMatchObject({ value: 99_999_999, quality: "good" });
    expect([...s.registers.holding_registers.slice(8, 10)]).toEqual([0x9999, 0x9999]);
  });

  test("writes put packed digits on the wire; out of range is refused and nothing changes", async () => {
    await d.write(tags[6]!, 5678);
    await d.write(tags[7]!, 87_654_321);
    expect(s.registers.holding_registers[10]).toBe(0x5678);
    expect([...s.registers.holding_registers.slice(12, 14)]).toEqual([0x4321, 0x8765]);
    const got = Object.fromEntries((await d.read("hr")).map((r) => [r.tag_name, r.value]));
    expect([got.set, got.set_l]).toEqual([5678, 87_654_321]);

    let err: unknown;
    try {
      await d.write(tags[6]!, 10_000);
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "out_of_range")).toBe(true);
    expect((err as Error).message).toContain("tag set (bcd)");
    expect(s.registers.holding_registers[10]).toBe(0x5678);
  });
});
