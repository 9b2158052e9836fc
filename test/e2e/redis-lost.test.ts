import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { freePort } from "../support/ports.ts";
import { E2E, until } from "./harness.ts";

// Issue 12 item 3: Redis restarted without its data (stopped, its files deleted, started
// on the same port) while an app and the supervisor run. The state, health and service tags
// are published only on change; without the TagBus's republish (docs/tagbus.md "Republish
// after lost data") they stayed missing until some state changed, and `nodi-edge status`
// said `unknown`.

const e2e = new E2E();
let sim: ModbusSim;

type Row = { conn_id: string; state: string; service: string | null; pid: number | null };

beforeAll(async () => {
  await e2e.start();
  const port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [71, 72] } }, port });
  await e2e.importCsv("cfg", {
    connections:
      "conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
      `r1,modbus-tcp,127.0.0.1,${port},1,1000,1000,200,1000\n`,
    blocks: "conn_id,block_id,table,address,count,period_ms\nr1,hr,holding_registers,0,2,100\n",
    tags: "conn_id,tag_name,block_id,address,data_type\nr1,t0,hr,0,uint16\nr1,t1,hr,1,uint16\n",
  });
  e2e.startSupervisor();
}, 60_000);

afterAll(async () => {
  await e2e.stopSupervisor("SIGTERM");
  expect(e2e.appPids("r1")).toEqual([]);
  await sim?.stop();
  await e2e.shutdown();
}, 60_000);

const status = async (): Promise<Row | undefined> =>
  (JSON.parse(await e2e.cli("--json", "status")) as Row[]).find((r) => r.conn_id === "r1");

test("Redis restarted without its data: state, service and data tags are back and status is right", async () => {
  await e2e.goodValue("/r1/t0", (v) => v.value === 71);
  await until("status EXECUTE, service active", async () => {
    const r = await status();
    return r?.state === "EXECUTE" && r.service === "active";
  });
  const pid = await e2e.oneApp("r1");
  // the value does not change, so the app publishes nothing new but its health (every 5 s)
  // and the unchanged values' heartbeat (60 s)

  await e2e.redis.stop();
  for (const f of readdirSync(e2e.redis.dataDir)) {
    rmSync(join(e2e.redis.dataDir, f), { recursive: true, force: true });
  }
  await e2e.redis.start(); // same port, empty
  const back = Date.now();
  expect(await e2e.get("/system/r1/state").catch(() => undefined)).toBeUndefined();

  const st = await until(
    "state and service tags back",
    async () => {
      const state = await e2e.get("/system/r1/state");
      const service = await e2e.get("/system/r1/service");
      return state && service ? { state, service } : undefined;
    },
    15_000,
  );
  console.log(`state and service tags back ${Date.now() - back} ms after Redis returned empty`);
  expect(st.state).toMatchObject({ value: "EXECUTE", producer: "r1" });
  expect(JSON.parse(String(st.service.value))).toMatchObject({ state: "active", pid });
  expect(st.service.producer).toBe("supervisor");
  expect(await e2e.get("/r1/t0")).toMatchObject({ value: 71, quality: "good" });
  expect(await e2e.get("/r1/t1")).toMatchObject({ value: 72, quality: "good" });
  const row = await status();
  expect(row).toMatchObject({ state: "EXECUTE", service: "active", pid });
  expect(e2e.appPids("r1")).toEqual([pid]); // nothing had to restart
}, 60_000);
