import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CommandRunner } from "../../src/supervisor/command-runner.ts";
import {
  limitsDropIn,
  monotonicNowMs,
  parseListUnits,
  parseShow,
  SystemdManager,
  statusFromShow,
} from "../../src/supervisor/systemd-manager.ts";
import { alive, serviceManagerContract, until } from "../contract/service-manager.contract.ts";
import { tempDir } from "../support/tmp.ts";

// systemd is not PID 1 here: the contract runs against a stand-in `systemctl` on PATH
// (test/contract/fake-systemd/), which really spawns and restarts the processes. The real
// systemd is exercised under systemd-nspawn by the packaging tests.
const fake = join(import.meta.dir, "../contract/fake-systemd");
const dir = tempDir("ne-sd-");
const fixtureDir = join(dir.path, "fixture");
const binDir = join(dir.path, "bin");
const unitDir = join(dir.path, "units");
for (const d of [fixtureDir, binDir, unitDir]) mkdirSync(d);
for (const m of ["persistent", "runtime"]) mkdirSync(join(fixtureDir, m));
writeFileSync(
  join(binDir, "systemctl"),
  `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(join(fake, "systemctl.ts"))} "$@"\n`,
);
chmodSync(join(binDir, "systemctl"), 0o755);

let managers = 0;
function runner(policy: object, fixtures = fixtureDir): { run: CommandRunner; state: string } {
  const state = join(dir.path, `state${managers++}`);
  mkdirSync(state);
  const env = {
    ...process.env,
    PATH: `${binDir}:${process.env.PATH}`,
    FIXTURE_DIR: fixtures,
    FAKE_SYSTEMD_STATE: state,
    FAKE_SYSTEMD_UNIT_DIR: unitDir,
    FAKE_SYSTEMD_EXEC: JSON.stringify({
      "ne-intf": [process.execPath, join(fake, "fixture-app.ts"), "--conn-id=%i"],
      "ne-north": [process.execPath, join(fake, "fixture-app.ts"), "--north-id=%i"],
    }),
    FAKE_SYSTEMD_POLICY: JSON.stringify(policy),
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
  return { run, state };
}

afterAll(() => dir.cleanup());

for (const mode of ["persistent", "runtime"] as const) {
  serviceManagerContract(`systemd ${mode} (stand-in systemctl)`, async () => ({
    fixtureDir: join(fixtureDir, mode),
    make: async (policy) =>
      new SystemdManager({ run: runner(policy, join(fixtureDir, mode)).run, unitDir, mode }),
    cleanup: async () => {},
  }));
}

describe("systemd manager specifics", () => {
  test("limits become a drop-in with daemon-reload; remove deletes it; close leaves apps running", async () => {
    const { run, state } = runner({});
    const sm = new SystemdManager({ run, unitDir, mode: "persistent" });
    await sm.add("lim", { memoryMax: "512M", cpuQuota: "25%" });
    const file = join(unitDir, "ne-intf@lim.service.d", "limits.conf");
    expect(readFileSync(file, "utf8")).toContain("[Service]\nMemoryMax=512M\nCPUQuota=25%\n");
    expect(readFileSync(join(state, "daemon-reloads"), "utf8")).toBe("x");
    await sm.add("lim", { memoryMax: "512M", cpuQuota: "25%" }); // unchanged: no reload
    expect(readFileSync(join(state, "daemon-reloads"), "utf8")).toBe("x");
    const pid = await until("lim active", async () => (await sm.status("lim"))?.pid);
    await sm.close();
    expect(alive(pid)).toBe(true); // apps belong to systemd, not to the supervisor
    await sm.remove("lim");
    expect(existsSync(file)).toBe(false);
    expect(alive(pid)).toBe(false);
  }, 30_000);

  test("parsers: list-units, show, drop-in text, status mapping", () => {
    expect(
      parseListUnits(
        "ne-intf@b.service loaded active running Nodi\n● ne-intf@a.service loaded failed failed Nodi\nne-intf@gone.service not-found inactive dead x\n",
      ),
    ).toEqual(["a", "b"]);
    const p = parseShow(
      "ActiveState=failed\nSubState=failed\nResult=start-limit-hit\nNRestarts=5\nExecMainPID=0\nExecMainStatus=1\nExecMainStartTimestampMonotonic=5000000\nUnitFileState=enabled\n",
    );
    const s = statusFromShow("x", p, {}, 6000);
    expect(s).toMatchObject({
      state: "failed",
      subState: "start-limit-hit",
      restarts: 5,
      lastExitCode: 1,
    });
    expect(Math.abs(s!.since! - (Date.now() - 1000))).toBeLessThan(1000);
    expect(
      statusFromShow("y", { ActiveState: "inactive", UnitFileState: "disabled" }, {}, 0),
    ).toBeUndefined();
    expect(limitsDropIn({})).toBeUndefined();
  });
});

// The bug: under Bun, process.hrtime counts from the start of the process (Node's from boot),
// so a supervisor that had run for minutes computed every app's `since` minutes off (the
// contract's "since within 120 s" failed only late in a long test run). Node's hrtime is
// CLOCK_MONOTONIC and serves as the independent reference.
test("monotonicNowMs is the system's monotonic clock (since boot), not the process's age", () => {
  const r = Bun.spawnSync([
    "node",
    "-e",
    "process.stdout.write(String(process.hrtime.bigint() / 1000000n))",
  ]);
  const nodeMonotonicMs = Number(r.stdout.toString());
  expect(nodeMonotonicMs).toBeGreaterThan(0);
  expect(Math.abs(monotonicNowMs() - nodeMonotonicMs)).toBeLessThan(2000);
});
