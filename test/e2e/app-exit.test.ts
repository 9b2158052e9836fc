import { afterAll, beforeAll, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { BusEvent, Subscription } from "../../src/tagbus/tagbus.ts";
import { freePort } from "../support/ports.ts";
import { E2E, until } from "./harness.ts";

// Issue 12 item 2: a dead interface app must not keep its tags good. The real ne-supervisor
// (process manager) runs a real ne-intf against the Modbus simulator; the app is killed
// with SIGKILL. Its data tags must turn bad with a reason naming the exit and its state
// tag must say so (published by the supervisor, before the restart), and the restarted app
// must take the dead process's lease at once and make the values good again.

const e2e = new E2E();
let sim: ModbusSim;
let sub: Subscription | undefined;
const events: { at: number; v: TagValue }[] = [];

beforeAll(async () => {
  await e2e.start();
  const port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [31, 32] } }, port });
  await e2e.importCsv("cfg", {
    connections:
      "conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
      `k1,modbus-tcp,127.0.0.1,${port},1,1000,1000,200,1000\n`,
    blocks: "conn_id,block_id,table,address,count,period_ms\nk1,hr,holding_registers,0,2,100\n",
    tags: "conn_id,tag_name,block_id,address,data_type\nk1,t0,hr,0,uint16\nk1,t1,hr,1,uint16\n",
  });
  e2e.startSupervisor();
  sub = await e2e.bus.subscribe(["/k1/*", "/system/k1/state"], (e: BusEvent) => {
    if (e.kind === "value") events.push({ at: Date.now(), v: e.value });
  });
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await e2e.stopSupervisor("SIGTERM");
  expect(e2e.appPids("k1")).toEqual([]);
  await sim?.stop();
  await e2e.shutdown();
}, 60_000);

test("kill -9 of an app: its tags go bad with the exit, state says so, the restart takes the lease at once", async () => {
  await e2e.goodValue("/k1/t0", (v) => v.value === 31);
  await until("k1 EXECUTE", async () => (await e2e.get("/system/k1/state"))?.value === "EXECUTE");
  const pid = await e2e.oneApp("k1");
  const killedAt = Date.now();
  process.kill(pid, "SIGKILL");

  const reason = "app_exited: killed by SIGKILL";
  const bad = await until(
    "t0 and t1 bad with the exit reason, and the state STOP",
    () => {
      const after = events.filter((e) => e.at >= killedAt).map((e) => e.v);
      const t0 = after.find((v) => v.path === "/k1/t0" && v.quality === "bad");
      const t1 = after.find((v) => v.path === "/k1/t1" && v.quality === "bad");
      const st = after.find((v) => v.path === "/system/k1/state" && v.value === "STOP");
      return t0 && t1 && st ? { t0, t1, st } : undefined;
    },
    10_000,
  );
  const seenMs = Math.max(
    ...events.filter((e) => e.v === bad.t0 || e.v === bad.t1 || e.v === bad.st).map((e) => e.at),
  );
  console.log(`kill -9 → bad tags and state seen after ${seenMs - killedAt} ms`);
  expect(bad.t0).toMatchObject({ value: null, reason, producer: "supervisor" });
  expect(bad.t1).toMatchObject({ value: null, reason, producer: "supervisor" });
  expect(bad.st).toMatchObject({ quality: "good", reason, producer: "supervisor" });
  // the current values say it too, until the new app polls
  const firstGood = events.findIndex(
    (e) => e.at >= killedAt && e.v.path === "/k1/t0" && e.v.quality === "good",
  );
  const firstBad = events.findIndex((e) => e.v === bad.t0);
  expect(firstGood === -1 || firstGood > firstBad).toBe(true); // never good between kill and bad

  // the restarted app: takes the dead holder's lease at once, and its values supersede
  const pid2 = await until("a restarted k1", () => {
    const p = e2e.appPids("k1");
    return p.length === 1 && p[0] !== pid ? p[0] : undefined;
  });
  const good = await e2e.goodValue(
    "/k1/t0",
    (v) => v.value === 31 && v.producer === "k1",
    killedAt,
  );
  console.log(`kill -9 → good again after ${Date.now() - killedAt} ms (pid ${pid} → ${pid2})`);
  expect(good.seq).toBeGreaterThan(0);
  expect((await e2e.goodValue("/k1/t1", (v) => v.producer === "k1", killedAt)).value).toBe(32);
  await until("k1 EXECUTE again", async () => {
    const st = await e2e.get("/system/k1/state");
    return st?.value === "EXECUTE" && st.producer === "k1";
  });
  const log = e2e.logTail(400);
  expect(log).toContain("is a process of this host that no longer exists; taking over");
  expect(log).not.toContain("another instance of this connection holds the lease");
}, 60_000);

test("a clean stop (conn disabled) keeps the app's own reason on its tags", async () => {
  await e2e.cli("conn", "disable", "k1");
  await until("k1 gone", () => e2e.appPids("k1").length === 0);
  const t0 = await until(
    "t0 bad",
    async () => {
      const v = await e2e.get("/k1/t0");
      return v?.quality === "bad" ? v : undefined;
    },
    10_000,
  );
  expect(t0.reason).toBe("stopped"); // the app said why (SIGTERM); the supervisor kept it
  const st = await until("state STOP", async () => {
    const v = await e2e.get("/system/k1/state");
    return v?.value === "STOP" ? v : undefined;
  });
  expect(st.producer).toBe("k1");
}, 60_000);
