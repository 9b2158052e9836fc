import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { CommandRunner } from "../../src/supervisor/command-runner.ts";
import { SystemdManager } from "../../src/supervisor/systemd-manager.ts";
import type { BusEvent, Subscription } from "../../src/tagbus/tagbus.ts";
import { E2E, until } from "../e2e/harness.ts";
import { freePort } from "../support/ports.ts";

// Issue 12 item 2 under systemd: the packaged unit's ExecStopPost= marks a dead app's tags
// bad. systemd is not PID 1 here, so the stand-in systemctl (test/contract/fake-systemd)
// runs the real ne-intf with Restart=always semantics and runs the ExecStopPost= command
// of packaging/systemd/ne-intf@.service (with systemd's $EXIT_CODE / $EXIT_STATUS) after
// each end of the main process, before the restart.

const ROOT = join(import.meta.dir, "../..");
const UNIT = join(ROOT, "packaging/systemd/ne-intf@.service");
const fake = join(ROOT, "test/contract/fake-systemd");
const e2e = new E2E();
let sim: ModbusSim;
let sm: SystemdManager;
let sub: Subscription | undefined;
const events: { at: number; v: TagValue }[] = [];

/** The unit's ExecStopPost= as an argv for this checkout (`/usr/bin/ne-intf` → bun src/intf/main.ts). */
function stopPostArgv(): string[] {
  const line = /^ExecStopPost=(.+)$/m.exec(readFileSync(UNIT, "utf8"))?.[1];
  if (!line) throw new Error(`${UNIT}: no ExecStopPost=`);
  const argv = line.replace(/^-/, "").split(/\s+/);
  expect(argv[0]).toBe("/usr/bin/ne-intf");
  return [process.execPath, join(ROOT, "src/intf/main.ts"), ...argv.slice(1)];
}

beforeAll(async () => {
  await e2e.start();
  const port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [51, 52] } }, port });
  await e2e.importCsv("cfg", {
    connections:
      "conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
      `s1,modbus-tcp,127.0.0.1,${port},1,1000,1000,200,1000\n`,
    blocks: "conn_id,block_id,table,address,count,period_ms\ns1,hr,holding_registers,0,2,100\n",
    tags: "conn_id,tag_name,block_id,address,data_type\ns1,t0,hr,0,uint16\ns1,t1,hr,1,uint16\n",
  });
  const binDir = join(e2e.dir.path, "bin");
  const state = join(e2e.dir.path, "sd-state");
  const unitDir = join(e2e.dir.path, "units");
  for (const d of [binDir, state, unitDir]) mkdirSync(d);
  writeFileSync(
    join(binDir, "systemctl"),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(fake, "systemctl.ts"))} "$@"\n`,
  );
  chmodSync(join(binDir, "systemctl"), 0o755);
  const env = {
    ...process.env,
    ...e2e.env,
    PATH: `${binDir}:${process.env.PATH}`,
    FAKE_SYSTEMD_STATE: state,
    FAKE_SYSTEMD_UNIT_DIR: unitDir,
    FAKE_SYSTEMD_EXEC: JSON.stringify([
      process.execPath,
      join(ROOT, "src/intf/main.ts"),
      "--conn-id=%i",
    ]),
    FAKE_SYSTEMD_EXEC_STOP_POST: JSON.stringify(stopPostArgv()),
  };
  const run: CommandRunner = async (argv) => {
    const p = Bun.spawn(argv, { env, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    return { stdout, stderr, code };
  };
  sm = new SystemdManager({ run, unitDir, mode: "runtime" });
  sub = await e2e.bus.subscribe(["/s1/*", "/system/s1/state"], (e: BusEvent) => {
    if (e.kind === "value") events.push({ at: Date.now(), v: e.value });
  });
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await sm?.remove("s1").catch(() => {});
  expect(e2e.appPids("s1")).toEqual([]);
  await sim?.stop();
  await e2e.shutdown();
}, 60_000);

test("systemd: kill -9 of ne-intf@ID → ExecStopPost= marks its tags bad and its state STOP; the restart makes them good", async () => {
  await sm.add("s1");
  await e2e.goodValue("/s1/t0", (v) => v.value === 51);
  const pid = await until("the unit's main pid", async () => (await sm.status("s1"))?.pid);
  expect(e2e.appPids("s1")).toEqual([pid]);
  const killedAt = Date.now();
  process.kill(pid, "SIGKILL");
  const reason = "app_exited: killed by SIGKILL";
  const bad = await until(
    "t0, t1 bad and state STOP from ExecStopPost=",
    () => {
      const after = events.filter((e) => e.at >= killedAt).map((e) => e.v);
      const t0 = after.find((v) => v.path === "/s1/t0" && v.quality === "bad");
      const t1 = after.find((v) => v.path === "/s1/t1" && v.quality === "bad");
      const st = after.find((v) => v.path === "/system/s1/state" && v.value === "STOP");
      return t0 && t1 && st ? { t0, t1, st } : undefined;
    },
    15_000,
  );
  console.log(
    `systemd kill -9 → bad seen after ${Math.max(...events.filter((e) => Object.values(bad).includes(e.v)).map((e) => e.at)) - killedAt} ms`,
  );
  expect(bad.t0).toMatchObject({ value: null, reason, producer: "intf-exit" });
  expect(bad.t1).toMatchObject({ value: null, reason, producer: "intf-exit" });
  expect(bad.st).toMatchObject({ reason, producer: "intf-exit" });
  // then the restarted app (after ExecStopPost= finished) supersedes them
  await e2e.goodValue("/s1/t0", (v) => v.value === 51 && v.producer === "s1", killedAt);
  await e2e.goodValue("/s1/t1", (v) => v.value === 52 && v.producer === "s1", killedAt);
  await until("s1 EXECUTE again", async () => {
    const st = await e2e.get("/system/s1/state");
    return st?.value === "EXECUTE" && st.producer === "s1";
  });
  const firstGood = events.findIndex(
    (e) => e.at >= killedAt && e.v.path === "/s1/t0" && e.v.quality === "good",
  );
  expect(firstGood).toBeGreaterThan(events.findIndex((e) => e.v === bad.t0));
}, 60_000);
