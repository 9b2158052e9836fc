import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { BusEvent, Subscription } from "../../src/tagbus/tagbus.ts";
import { freePort } from "../support/ports.ts";
import { E2E, until } from "./harness.ts";

// The chaos run (issue 12 §8) found the state tag saying STOP for > 2 s while a new app
// process ran: after the supervisor was killed and restarted, each new ne-intf needed 2.5–3.5 s
// under load before its first publish. The supervisor (process manager) now publishes
// `INIT starting (pid N)` as soon as it spawned the process (docs/supervisor.md "When an app
// starts"). Here the app is made slow to start on purpose: NE_INTF_CMD sleeps 4 s, then execs
// the real ne-intf under the same pid.

const SLOW_START_S = 4;
const mainTs = join(import.meta.dir, "../../src/intf/main.ts");
const e2e = new E2E({
  env: {
    NE_INTF_CMD: JSON.stringify([
      "sh",
      "-c",
      `sleep ${SLOW_START_S}; exec "$0" run ${mainTs} "$@"`,
      process.execPath,
    ]),
  },
});
let sim: ModbusSim;
let sub: Subscription | undefined;
const states: { at: number; v: TagValue }[] = [];

beforeAll(async () => {
  await e2e.start();
  const port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [5] } }, port });
  await e2e.importCsv("cfg", {
    connections: `conn_id,protocol,host,port,timeout_ms\ns1,modbus-tcp,127.0.0.1,${port},1000\n`,
    blocks: "conn_id,block_id,table,address,count,period_ms\ns1,hr,holding_registers,0,1,100\n",
    tags: "conn_id,tag_name,block_id,address,data_type\ns1,t0,hr,0,uint16\n",
  });
  sub = await e2e.bus.subscribe(["/system/s1/state"], (e: BusEvent) => {
    if (e.kind === "value") states.push({ at: Date.now(), v: e.value });
  });
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await e2e.stopSupervisor("SIGTERM");
  await sim?.stop();
  await e2e.shutdown();
}, 60_000);

/** The sh process (later exec'd into ne-intf) the supervisor started for s1. */
async function spawnedPid(notPid?: number): Promise<number> {
  return await until(`a new process for s1`, () => {
    const out = Bun.spawnSync(["pgrep", "-f", `sleep ${SLOW_START_S}; exec .*--conn-id=s1`]);
    const pids = out.stdout.toString().trim().split("\n").filter(Boolean).map(Number);
    return pids.find(
      (p) =>
        p !== notPid &&
        Bun.spawnSync(["ps", "-o", "comm=", "-p", String(p)])
          .stdout.toString()
          .trim() === "sh",
    );
  });
}

test("a started app's state says INIT starting (pid N) before the app itself can, and never after it", async () => {
  e2e.startSupervisor();
  const pid = await spawnedPid();
  const init = await until("state INIT starting", async () => {
    const st = await e2e.get("/system/s1/state");
    return st?.value === "INIT" ? st : undefined;
  });
  expect(init).toMatchObject({ reason: `starting (pid ${pid})`, producer: "supervisor" });
  // the app itself is still asleep: nothing of it ran yet
  expect(e2e.appPids("s1")).toEqual([]);
  await until(
    "EXECUTE from the app",
    async () => (await e2e.get("/system/s1/state"))?.value === "EXECUTE",
    60_000,
  );
  expect(await e2e.oneApp("s1")).toBe(pid); // exec'd under the same pid

  // kill -9: STOP from the exit report, then INIT for the new process, then its own states
  const from = states.length;
  process.kill(pid, "SIGKILL");
  const pid2 = await spawnedPid(pid);
  await until(
    "EXECUTE again",
    async () => (await e2e.get("/system/s1/state"))?.value === "EXECUTE",
    60_000,
  );
  const seq = states.slice(from).map((s) => `${s.v.value} ${s.v.reason} (${s.v.producer})`);
  expect(seq.slice(0, 3)).toEqual([
    "STOP app_exited: killed by SIGKILL (supervisor)",
    `INIT starting (pid ${pid2}) (supervisor)`,
    "CONFIGURE starting (s1)",
  ]);
  expect(seq.at(-1)).toBe("EXECUTE connected (s1)");
}, 120_000);
