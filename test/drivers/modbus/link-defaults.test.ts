import { describe, expect, test } from "bun:test";
import { interRequestDelay, linkOpenerFor } from "../../../src/drivers/modbus/driver.ts";
import { PROTOCOL_DEFAULTS } from "../../../src/store/schema.ts";
import { connection } from "./helpers.ts";

// The driver takes the link defaults from the schema (PROTOCOL_DEFAULTS), so a row stored
// before the store filled them in (empty baud_rate etc.) behaves like one that names them.
describe("Modbus link defaults come from the schema", () => {
  const rtu = (over = {}) =>
    connection({
      protocol: "modbus-rtu",
      host: null,
      port: null,
      serial_device: "/dev/null",
      ...over,
    });

  test("the defaults are unit 1, zero-based addresses and 9600 8N1", () => {
    expect(PROTOCOL_DEFAULTS["modbus-tcp"]).toEqual({ unit_id: 1, address_base: 0 });
    expect(PROTOCOL_DEFAULTS["modbus-rtu"]).toEqual({
      unit_id: 1,
      address_base: 0,
      baud_rate: 9600,
      parity: "none",
      data_bits: 8,
      stop_bits: 1,
    });
  });

  test("an empty baud_rate is 9600: the 3.5-character silence is 3.5 × 11 bits / 9600 baud", () => {
    // 38.5 bits / 9600 bit/s = 4.0104… ms (Modbus over Serial Line v1.02 §2.5.1.1)
    expect(interRequestDelay(rtu({ baud_rate: null }))).toBeCloseTo(4.0104, 3);
    expect(interRequestDelay(rtu({ baud_rate: 9600 }))).toBeCloseTo(4.0104, 3);
    expect(interRequestDelay(rtu({ baud_rate: 38400 }))).toBe(1.75);
  });

  test("a serial row with empty line settings still opens (nothing is required but serial_device)", () => {
    expect(
      typeof linkOpenerFor(
        rtu({ baud_rate: null, parity: null, data_bits: null, stop_bits: null }),
      ),
    ).toBe("function");
    expect(() => linkOpenerFor(rtu({ serial_device: null }))).toThrow(/serial_device/);
  });
});
