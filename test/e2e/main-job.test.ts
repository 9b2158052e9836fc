import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { freePort } from "../support/ports.ts";
import { E2E, until } from "./harness.ts";

// The main job, end to end: real Redis, real SQLite, the real CLI, the real ne-supervisor
// (process manager) running real ne-intf processes against Modbus simulators on loopback.
// The scenarios build on each other and run in order. Bounds are generous ("within N s"):
// the machine is shared; speed is measured in bench/scale.

const e2e = new E2E();
const sims: ModbusSim[] = [];
const sim = async (port: number, hr: number[]) => {
  const s = await startModbusSim({ map: { holding_registers: { "0": hr } }, port });
  sims.push(s);
  return s;
};

const connections = (id: string, port: number) =>
  "conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
  `${id},modbus-tcp,127.0.0.1,${port},1,1000,1000,200,1000\n`;
const blocks = (id: string, period: number) =>
  `conn_id,block_id,table,address,count,period_ms\n${id},hr,holding_registers,0,4,${period}\n`;
const tags = (id: string, extra = false) =>
  `conn_id,tag_name,block_id,address,data_type\n${id},t0,hr,0,uint16\n${id},t1,hr,1,uint16\n` +
  (extra ? `${id},t2,hr,2,uint16\n` : "");

let simA: ModbusSim;
let portA = 0;
let pid1 = 0;

beforeAll(async () => {
  await e2e.start();
  portA = await freePort();
  simA = await sim(portA, [11, 22, 33, 44]);
  e2e.startSupervisor();
}, 60_000);

afterAll(async () => {
  const code = await e2e.stopSupervisor("SIGTERM");
  for (const id of ["e1", "e2", "e3"]) expect(e2e.appPids(id)).toEqual([]); // nothing left behind
  for (const s of sims) await s.stop();
  await e2e.shutdown();
  expect(code).toBe(0);
}, 60_000);

describe("the main job", () => {
  test("1. importing a CSV that adds a connection: its app runs and publishes good values", async () => {
    await e2e.importCsv("imp1", {
      connections: connections("e1", portA),
      blocks: blocks("e1", 100),
      tags: tags("e1"),
    });
    const v = await e2e.goodValue("/e1/t0");
    expect(v.value).toBe(11);
    expect((await e2e.goodValue("/e1/t1")).value).toBe(22);
    pid1 = await e2e.oneApp("e1");
  }, 60_000);

  test("2. a changed period and an added tag are hot-reloaded on the same TCP connection", async () => {
    const connsBefore = simA.stats.connections;
    await e2e.importCsv("imp2", {
      connections: connections("e1", portA),
      blocks: blocks("e1", 250),
      tags: tags("e1", true),
    });
    expect((await e2e.goodValue("/e1/t2")).value).toBe(33);
    simA.registers.set("holding_registers", 1, [23]);
    await e2e.goodValue("/e1/t1", (v) => v.value === 23);
    expect(e2e.appPids("e1")).toEqual([pid1]); // same process
    expect(simA.stats.connections).toBe(connsBefore); // no new TCP connection
  }, 60_000);

  test("3. a changed port restarts the app, which reads from the new port", async () => {
    const portB = await freePort();
    await sim(portB, [4242, 1, 2, 3]);
    await e2e.importCsv("imp3", {
      connections: connections("e1", portB),
      blocks: blocks("e1", 250),
      tags: tags("e1", true),
    });
    await e2e.goodValue("/e1/t0", (v) => v.value === 4242);
    pid1 = await until("a new e1 process", () => {
      const p = e2e.appPids("e1");
      return p.length === 1 && p[0] !== pid1 ? p[0] : undefined;
    });
  }, 60_000);

  test("5. kill -9 of an app: it is restarted and resumes publishing", async () => {
    const killedAt = Date.now();
    process.kill(pid1, "SIGKILL");
    const pid2 = await until("a restarted e1", () => {
      const p = e2e.appPids("e1");
      return p.length === 1 && p[0] !== pid1 ? p[0] : undefined;
    });
    await e2e.goodValue("/e1/t0", (v) => v.value === 4242, killedAt);
    pid1 = pid2;
  }, 60_000);

  test("4. removing the connection stops its app; its tags go bad", async () => {
    await e2e.cli("conn", "rm", "e1");
    await until("e1 app gone", () => e2e.appPids("e1").length === 0);
    await until("e1 tags bad", async () => (await e2e.get("/e1/t0"))?.quality === "bad");
  }, 60_000);

  let portC = 0;
  test("7. a device down at start: RECOVER with bad tags, then up when the device is", async () => {
    portC = await freePort();
    await e2e.importCsv("imp7", {
      connections: connections("e3", portC),
      blocks: blocks("e3", 100),
      tags: tags("e3"),
    });
    await until(
      "e3 in RECOVER",
      async () => (await e2e.get("/system/e3/state"))?.value === "RECOVER",
    );
    await until("e3 tags bad", async () => (await e2e.get("/e3/t0"))?.quality === "bad");
    await sim(portC, [7, 8, 9, 10]);
    expect((await e2e.goodValue("/e3/t0", (v) => v.value === 7)).quality).toBe("good");
    await until(
      "e3 in EXECUTE",
      async () => (await e2e.get("/system/e3/state"))?.value === "EXECUTE",
    );
  }, 90_000);

  test("6. supervisor killed while a connection is added: no duplicate, no orphan", async () => {
    const e3 = await e2e.oneApp("e3");
    expect(await e2e.stopSupervisor("SIGKILL")).not.toBe(0);
    await until("e3's app died with its supervisor", () => e2e.appPids("e3").length === 0);
    await e2e.importCsv("imp6", {
      connections: connections("e2", portA),
      blocks: blocks("e2", 100),
      tags: tags("e2"),
    });
    e2e.startSupervisor();
    await e2e.goodValue("/e2/t0", (v) => v.value === 11);
    const e3b = await e2e.oneApp("e3");
    expect(e3b).not.toBe(e3);
    await e2e.oneApp("e2");
    await Bun.sleep(1000); // a late duplicate would show up now
    expect(e2e.appPids("e2")).toHaveLength(1);
    expect(e2e.appPids("e3")).toHaveLength(1);
    const status = JSON.parse(await e2e.cli("--json", "status")) as Array<{
      conn_id: string;
      state: string;
    }>;
    expect(status.map((s) => s.conn_id)).toEqual(["e2", "e3"]);
    await until("status shows both apps executing", async () => {
      const rows = JSON.parse(await e2e.cli("--json", "status")) as Array<{
        state: string;
        service: string;
      }>;
      return rows.every((r) => r.state === "EXECUTE" && r.service === "active");
    });
  }, 90_000);
});
