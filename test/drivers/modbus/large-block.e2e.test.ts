import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../../src/core/log.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import { importCsv, readInputs } from "../../../src/loader/import.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import { openStore } from "../../../src/store/store.ts";
import { tempDir } from "../../support/tmp.ts";

// End to end: CSV files → import into a real SQLite store → the connection's rows as the app
// reads them → the Modbus driver → the simulator on loopback. A 300-register block (longer
// than one read request, which the store once refused) is read in 3 requests of at most 125
// registers (Modbus Application Protocol v1.1b3 §6.3), with a float32 placed across the
// 125-register boundary kept whole by moving the boundary.

const dir = tempDir("ne-large-block-");
let sim: ModbusSim | undefined;
let driver: ModbusDriver | undefined;
afterAll(async () => {
  await driver?.close();
  await sim?.stop();
  dir.cleanup();
});

test("a 300-register block imported from CSV is read in 3 requests with correct values", async () => {
  sim = await startModbusSim({ map: { unit_id: 1, entries: [] } });
  // No unit_id column: the store's default (1) is what the simulator answers.
  writeFileSync(
    join(dir.path, "connections.csv"),
    `conn_id,protocol,host,port\nbig-01,modbus-tcp,127.0.0.1,${sim.port}\n`,
  );
  writeFileSync(
    join(dir.path, "blocks.csv"),
    "conn_id,block_id,table,address,count,period_ms\nbig-01,hr,holding_registers,1000,300,1000\n",
  );
  writeFileSync(
    join(dir.path, "tags.csv"),
    [
      "conn_id,tag_name,block_id,address,data_type",
      "big-01,first,hr,1000,uint16",
      "big-01,edge,hr,1124,float32", // registers 1124–1125: straddles 1000 + 125
      "big-01,mid,hr,1200,int32",
      "big-01,last,hr,1299,uint16",
      "",
    ].join("\n"),
  );
  const store = openStore(join(dir.path, "nodi-edge.db"));
  importCsv(store, readInputs([dir.path]));
  const cfg = store.getConnectionConfig("big-01");
  store.close();
  expect(cfg?.connection.unit_id).toBe(1);
  expect(cfg?.blocks.map((b) => b.count)).toEqual([300]);

  sim.registers.holding_registers[1000] = 11;
  sim.setValue({ table: "holding_registers", address: 1124, data_type: "float32" }, 12.5);
  sim.setValue({ table: "holding_registers", address: 1200, data_type: "int32" }, -70000);
  sim.registers.holding_registers[1299] = 99;

  driver = createModbusDriver(cfg!.connection, {
    log: silentLogger,
    dataDir: dir.path,
  }) as ModbusDriver;
  driver.configure(cfg!.blocks, cfg!.tags);
  await driver.connect();
  const before = sim.stats.requests;
  const readings = await driver.read("hr");
  expect(sim.stats.requests - before).toBe(3);
  expect(Object.fromEntries(readings.map((r) => [r.tag_name, r.value]))).toEqual({
    first: 11,
    edge: 12.5,
    mid: -70000,
    last: 99,
  });
  expect(readings.every((r) => r.quality === "good")).toBe(true);
});
