import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { block, connection, tag } from "../drivers/modbus/helpers.ts";

// The demo's simulator maps (examples/sim/) serve the addresses of examples/demo/tags.csv.
const root = join(import.meta.dir, "../..");
const sims: ModbusSim[] = [];
afterAll(async () => {
  for (const s of sims) await s.stop();
});

const deps = { log: silentLogger, dataDir: "/tmp" };
const values = (rs: Array<{ tag_name: string; value: unknown }>) =>
  Object.fromEntries(rs.map((r) => [r.tag_name, r.value]));

describe("example simulator maps", () => {
  test("line1.json: packaging line over Modbus TCP, unit 1", async () => {
    const s = await startModbusSim({ mapFile: join(root, "examples/sim/line1.json") });
    sims.push(s);
    const d = createModbusDriver(connection({ port: s.port, unit_id: 1 }), deps);
    d.configure(
      [block("hr_main", "holding_registers", 0, 12), block("cmd", "coils", 0, 2)],
      [
        tag("speed_setpoint", "hr_main", 0),
        tag("speed_actual", "hr_main", 1),
        tag("good_count", "hr_main", 2, { data_type: "uint32" }),
        tag("running", "hr_main", 6, { data_type: "bit", bit: 0 }),
        tag("fault", "hr_main", 6, { data_type: "bit", bit: 1 }),
        tag("temperature", "hr_main", 8, { data_type: "float32", byte_order: "CDAB" }),
        tag("pressure", "hr_main", 10, { data_type: "int16", scale: 0.1 }),
        tag("run_cmd", "cmd", 0, { data_type: "bool" }),
      ],
    );
    await d.connect();
    const v = values(await d.read("hr_main"));
    expect(v.speed_setpoint).toBe(1200);
    expect(v.speed_actual as number).toBeWithin(1170, 1231);
    expect(v.good_count as number).toBeGreaterThanOrEqual(15230);
    expect(v).toMatchObject({ running: true, fault: false });
    expect(v.temperature as number).toBeWithin(177.9, 182.1);
    expect(v.pressure as number).toBeWithin(5.7, 6.3);
    expect(values(await d.read("cmd"))).toEqual({ run_cmd: true });
    await d.close();
  });

  test("meter1.json: energy meter over RTU over TCP, unit 7", async () => {
    const s = await startModbusSim({
      mapFile: join(root, "examples/sim/meter1.json"),
      framing: "rtu",
    });
    sims.push(s);
    const d = createModbusDriver(
      connection({ protocol: "modbus-rtu-tcp", port: s.port, unit_id: 7 }),
      deps,
    );
    d.configure(
      [block("ir_values", "input_registers", 0, 16)],
      [
        tag("voltage_l1", "ir_values", 0, { data_type: "float32" }),
        tag("current_l3", "ir_values", 10, { data_type: "float32" }),
        tag("power_total", "ir_values", 12, { data_type: "float32" }),
        tag("energy_total", "ir_values", 14, { data_type: "uint32", scale: 0.01 }),
      ],
    );
    await d.connect();
    const v = values(await d.read("ir_values"));
    expect(v.voltage_l1 as number).toBeWithin(226, 234.01);
    expect(v.current_l3 as number).toBeWithin(43.9, 60.1);
    expect(v.power_total as number).toBeWithin(27.9, 40.1);
    expect(v.energy_total as number).toBeWithin(48213.5, 48300);
    await d.close();
  });
});
