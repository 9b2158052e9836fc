import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import { sttyArgs } from "../../../src/drivers/modbus/serial-link.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import { type PtyPair, ptyPair } from "../../support/socat-pty.ts";
import { block, connection, tag } from "./helpers.ts";

// RTU on a serial line: the simulator on one end of a socat pty pair, the driver on the other.
// Linux ptys refuse `stty parenb` (EINVAL), so parity stays none here; a real port takes it.
let pty: PtyPair;
let sim: ModbusSim;
let d: ModbusDriver;

const blocks = [
  block("hr", "holding_registers", 0, 10),
  block("co", "coils", 0, 8),
  block("bad", "holding_registers", 100, 2),
];
const tags = [
  tag("temp", "hr", 0, { data_type: "int16", scale: 0.1 }),
  tag("power", "hr", 2, { data_type: "float32", byte_order: "CDAB" }),
  tag("pump", "co", 1, { data_type: "bool" }),
  tag("x", "bad", 100),
];

beforeAll(async () => {
  pty = await ptyPair();
  sim = await startModbusSim({
    serialPath: pty.a,
    baudRate: 19200,
    unitId: 7,
    faults: { exceptions: [{ from: 100, to: 100, code: 2 }] },
  });
  d = createModbusDriver(
    connection({
      protocol: "modbus-rtu",
      host: null,
      port: null,
      serial_device: pty.b,
      baud_rate: 19200,
      parity: "none",
      stop_bits: 2,
      unit_id: 7,
      timeout_ms: 1000,
    }),
    { log: silentLogger, dataDir: "/tmp" },
  ) as ModbusDriver;
  d.configure(blocks, tags);
});

afterAll(async () => {
  await d?.close();
  await sim?.stop();
  await pty?.stop();
});

describe("RTU on a serial line (socat pty pair)", () => {
  test("stty arguments carry the line settings", () => {
    const args = sttyArgs({
      path: "/dev/ttyS1",
      baudRate: 19200,
      parity: "even",
      dataBits: 8,
      stopBits: 2,
    });
    expect(args).toEqual(
      expect.arrayContaining([
        "-F",
        "/dev/ttyS1",
        "raw",
        "19200",
        "cs8",
        "parenb",
        "-parodd",
        "cstopb",
      ]),
    );
  });

  test("reads and writes through the pty", async () => {
    await d.connect();
    sim.registers.holding_registers[0] = 215;
    sim.setValue(
      { table: "holding_registers", address: 2, data_type: "float32", byte_order: "CDAB" },
      12.5,
    );
    sim.registers.coils[1] = 1;
    const hr = await d.read("hr");
    expect(hr.map((r) => r.value)).toEqual([21.5, 12.5]);
    expect((await d.read("co"))[0]?.value).toBe(true);
    await d.write(tags[1] as (typeof tags)[number], 230.25);
    expect((await d.read("hr"))[1]?.value).toBe(230.25);
    await d.write(tags[2] as (typeof tags)[number], false);
    expect(sim.registers.coils[1]).toBe(0);
  });

  test("an exception names the block's reason; stray frames of another unit are ignored", async () => {
    try {
      await d.read("bad");
      throw new Error("no exception");
    } catch (e) {
      expect(isNodiError(e, "device_exception")).toBe(true);
      expect((e as NodiError).reason).toBe("ILLEGAL_DATA_ADDRESS");
    }
    sim.faults.stray_replies = true;
    sim.registers.holding_registers[0] = 100;
    for (let i = 0; i < 5; i++) expect((await d.read("hr"))[0]?.value).toBe(10);
    sim.faults.stray_replies = false;
  });

  test("close and reopen the port", async () => {
    await d.close();
    await d.connect();
    expect((await d.read("hr")).length).toBe(2);
  });
});
