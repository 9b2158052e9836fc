import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { simMapFor } from "../../scripts/demo/sim-map.ts";
import { silentLogger } from "../../src/core/log.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { importCsv, readInputs } from "../../src/loader/import.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore } from "../../src/store/store.ts";
import { block, connection, tag } from "../drivers/modbus/helpers.ts";
import { tempDir } from "../support/tmp.ts";

// The demo's derived simulator maps (no examples/sim/{conn_id}.json): the RS-485 line of
// examples/rs485, three Eastron SDM630 meters, read back through the Modbus driver.
const EXAMPLES = join(import.meta.dir, "../../examples");
const dir = tempDir("ne-demo-map-");
let sim: ModbusSim | undefined;
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

test("each meter of the demo's RS-485 line shows three distinct, plausible phase voltages", async () => {
  const store = openStore(join(dir.path, "demo.db"));
  importCsv(store, readInputs([join(EXAMPLES, "rs485")]), { origin: "test" });
  const cfg = store.getAllConfigs().find((c) => c.connection.conn_id === "meters");
  store.close();
  const derived = simMapFor(cfg!, EXAMPLES);
  if (!("units" in derived)) throw new Error("expected one simulated device per unit id");
  expect(derived.units.map((u) => u.unitId)).toEqual([1, 2, 3]);
  sim = await startModbusSim({ units: derived.units, framing: "rtu" });

  const phases = ["voltage_l1", "voltage_l2", "voltage_l3"];
  const lineToLine = ["voltage_l1_l2", "voltage_l2_l3", "voltage_l3_l1"];
  const seen: number[][] = [];
  for (const unit of [1, 2, 3]) {
    const d = createModbusDriver(
      connection({ protocol: "modbus-rtu-tcp", port: sim.port, unit_id: unit }),
      { log: silentLogger, dataDir: dir.path },
    );
    d.configure(
      [block("main", "input_registers", 0, 6), block("line", "input_registers", 200, 6)],
      [
        ...phases.map((n, i) => tag(n, "main", 2 * i, { data_type: "float32" })),
        ...lineToLine.map((n, i) => tag(n, "line", 200 + 2 * i, { data_type: "float32" })),
      ],
    );
    await d.connect();
    const v = Object.fromEntries(
      [...(await d.read("main")), ...(await d.read("line"))].map((r) => [r.tag_name, r.value]),
    ) as Record<string, number>;
    await d.close();
    const ln = phases.map((n) => v[n]!);
    const ll = lineToLine.map((n) => v[n]!);
    for (const x of ln) expect(x).toBeWithin(225, 235); // 230 V ± a few volts
    for (const x of ll) expect(x).toBeWithin(390, 410); // 400 V ± a few volts
    // a real meter's phases are never all alike: each pair apart by a visible amount
    for (const set of [ln, ll]) {
      for (let i = 0; i < 3; i++) {
        for (let j = i + 1; j < 3; j++) {
          expect(Math.abs(set[i]! - set[j]!)).toBeGreaterThan(0.1);
        }
      }
    }
    seen.push(ln);
  }
  // and the meters are not copies of one another
  expect(new Set(seen.map((ln) => ln[0]!.toFixed(2))).size).toBe(3);
}, 30_000);
