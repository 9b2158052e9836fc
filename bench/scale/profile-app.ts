/**
 * Per-update CPU of the interface apps alone: N Modbus apps × 30 tags at `period` ms under the real
 * supervisor, measures the apps' CPU µs per update over a window after a warm-up.
 * (`--prof DIR`: from source under `bun --cpu-prof-md`, one profile per app in DIR.)
 *   bun bench/scale/profile-app.ts --n 4 --period 20 --warmup 20 --seconds 20 [--binary P] [--prof DIR]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@redis/client";
import { startStack } from "../../scripts/demo/stack.ts";
import { changingMap, waitForPublishers } from "../support/changing-sim.ts";
import { writeModbusBenchConfig } from "../support/idle-app.ts";
import {
  cmdline,
  cpuSeconds,
  descendants,
  loadAverage,
  redisCommandStats,
} from "../support/proc-stats.ts";

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    n: { type: "string", default: "4" },
    period: { type: "string", default: "20" },
    warmup: { type: "string", default: "20" },
    seconds: { type: "string", default: "20" },
    binary: { type: "string" },
    prof: { type: "string" },
  },
});
const n = Number(values.n);
const period = Number(values.period);
const dir = mkdtempSync(join(tmpdir(), "ne-prof-"));
writeModbusBenchConfig(join(dir, "cfg"), n, period, 30);
const env: Record<string, string> = { NE_LOG_LEVEL: "warn" };
if (values.prof)
  env.NE_INTF_CMD = JSON.stringify([
    process.execPath,
    "--cpu-prof-md",
    `--cpu-prof-dir=${values.prof}`,
    "run",
    join(import.meta.dir, "../../src/intf/main.ts"),
  ]);
const stack = await startStack({
  configDir: join(dir, "cfg"),
  freePorts: true,
  simMap: (c) => changingMap(c, period),
  env,
  noOpcua: true,
  ...(values.binary ? { supervisorCmd: [values.binary, "ne-supervisor"] } : {}),
});
try {
  await waitForPublishers(stack, n);
  await Bun.sleep(Number(values.warmup) * 1000);
  const apps = descendants(stack.supervisor.pid).filter((p) => !cmdline(p).startsWith("redis"));
  const redis = descendants(process.pid).find((p) => cmdline(p).startsWith("redis-server"));
  const rc = createClient({ url: stack.redisUrl, RESP: 2 });
  await rc.connect();
  const send = (a: string[]) => rc.sendCommand(a);
  await send(["CONFIG", "RESETSTAT"]);
  const l0 = loadAverage();
  const c0 = apps.reduce((a, p) => a + cpuSeconds(p), 0);
  const r0 = redis ? cpuSeconds(redis) : 0;
  const t0 = performance.now();
  await Bun.sleep(Number(values.seconds) * 1000);
  const el = (performance.now() - t0) / 1000;
  const c1 = apps.reduce((a, p) => a + cpuSeconds(p), 0);
  const r1 = redis ? cpuSeconds(redis) : 0;
  const st = await redisCommandStats(send);
  const ev = st.get("evalsha");
  const expected = n * 30 * (1000 / period) * el;
  const upd = ((c1 - c0) * 1e6) / expected;
  console.log(
    `apps=${apps.length} n=${n} period=${period}ms: apps CPU ${(((c1 - c0) / el) * 100).toFixed(1)}% of a core, ${upd.toFixed(2)} µs/update, ${(((c1 - c0) * 1e6) / (n * (1000 / period) * el)).toFixed(0)} µs/poll; redis ${(((r1 - r0) / el) * 100).toFixed(1)}% (${(((r1 - r0) * 1e6) / expected).toFixed(2)} µs/update); evalsha ${ev ? (ev.usec / ev.calls).toFixed(1) : "?"} µs × ${ev ? Math.round(ev.calls / el) : 0}/s; load ${l0} → ${loadAverage()}`,
  );
  rc.destroy();
} finally {
  await stack.stop();
}
