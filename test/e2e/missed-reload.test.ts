import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { freePort } from "../support/ports.ts";
import { E2E } from "./harness.ts";

// A configuration change committed while Redis is down is announced by nobody (the CLI warns
// and exits 0). The supervisor's periodic reconcile must notice it in the SoT's journal and
// send the config_reload itself once Redis is back (docs/supervisor.md "Missed announcements").
// Redis keeps its data across the restart (append-only file, clean SIGTERM), so the app sees
// no gap that would make it reload on its own.

const RECONCILE_MS = 1000;
const e2e = new E2E({ appendonly: true, env: { NE_RECONCILE_INTERVAL_MS: String(RECONCILE_MS) } });
let sim: ModbusSim;
let port = 0;

const files = (withT2: boolean) => ({
  connections:
    "conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
    `m1,modbus-tcp,127.0.0.1,${port},1,1000,1000,200,1000\n`,
  blocks: "conn_id,block_id,table,address,count,period_ms\nm1,hr,holding_registers,0,4,100\n",
  tags:
    "conn_id,tag_name,block_id,address,data_type\nm1,t0,hr,0,uint16\nm1,t1,hr,1,uint16\n" +
    (withT2 ? "m1,t2,hr,2,uint16\n" : ""),
});

beforeAll(async () => {
  await e2e.start();
  port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [5, 6, 7, 8] } }, port });
  e2e.startSupervisor();
}, 60_000);

afterAll(async () => {
  await e2e.stopSupervisor("SIGTERM");
  expect(e2e.appPids("m1")).toEqual([]);
  await sim?.stop();
  await e2e.shutdown();
}, 60_000);

test("a tag added while Redis is down is hot-reloaded by the reconcile once Redis is back", async () => {
  await e2e.importCsv("first", files(false));
  expect((await e2e.goodValue("/m1/t0")).value).toBe(5);
  const pid = await e2e.oneApp("m1");
  const connections = sim.stats.connections;

  await e2e.redis.stop(); // SIGTERM: Redis writes its append-only file and exits
  const { err } = await e2e.importCsvFull("second", files(true));
  expect(err).toContain("NOT notified"); // committed, announced by nobody
  await Bun.sleep(2 * RECONCILE_MS); // reconciles run while Redis is down: nothing to send yet
  await e2e.redis.start(); // same port and dir: the data is back, no gap for anyone

  const t2 = await e2e
    .goodValue("/m1/t2", () => true, 0, 30_000)
    .catch((e) => {
      throw new Error(`${e}\nsupervisor log:\n${e2e.logTail()}`);
    });
  expect(t2.value).toBe(7);
  expect(e2e.appPids("m1")).toEqual([pid]); // hot reload, not a restart
  expect(sim.stats.connections).toBe(connections); // on the same TCP connection
  const log = readFileSync(e2e.logFile, "utf8");
  expect(log).toContain("configuration change never announced; sending config_reload");
}, 90_000);
