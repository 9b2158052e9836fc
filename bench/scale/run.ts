/**
 * Scale benchmark of the main job: N connections × 30 tags at 100 ms against Modbus
 * simulators, with the real ne-supervisor (process manager), real ne-intf processes and a
 * private Redis. For each N it reports the CPU of the Nodi Edge processes (supervisor, apps,
 * redis) and of the whole machine, their total RSS and PSS, the tag updates/s a subscriber
 * receives and their lateness (receive time − source timestamp). Then the RSS/PSS of one
 * idle Modbus ne-intf beside a bare Bun process, measured in the same run (the baseline).
 *
 *   bun run bench/scale/run.ts [--n 10,25,50] [--seconds 60] [--quick] [--binary PATH] [--idle-only]
 *                              [--no-baseline] [--no-idle] [--warmup 30]
 *
 * `--quick` = `--n 50 --seconds 15` (a few minutes). After each N's window the supervisor is
 * stopped and `bench/scale/baseline.ts` (ONE process reading the same simulators with
 * modbus-serial and writing raw XADDs) runs on the same simulators and Redis for as long, so
 * the table shows what process-per-connection costs over the least possible work
 * (`--no-baseline` skips it, `--no-idle` the idle-app row). Every row prints the load
 * average. The measured window begins `--warmup` s (default 30) after the last app's first
 * value, so it is the steady state a gateway runs in for years; the window the bench used
 * before 2026-12-02 (from 2 s after, start-up and JIT warm-up included) is printed beside it
 * as "cold". `--binary dist/linux-x64/nodi-edge` runs the compiled
 * multi-call binary (supervisor and apps) instead of the sources under `bun run`. The simulators run inside this process (their CPU is in
 * the machine figure, not in the Nodi Edge one). RSS and PSS are the mean of samples every 5 s
 * over the window; "PSS per connection" is the apps' alone (since 2026-12-02: before, it was
 * one look at the end, with the supervisor and Redis counted in).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { createClient } from "@redis/client";
import { stopProc } from "../../scripts/demo/procs.ts";
import { type Stack, startStack } from "../../scripts/demo/stack.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { changingMap } from "../support/changing-sim.ts";
import { measureIdleApp, writeModbusBenchConfig } from "../support/idle-app.ts";
import {
  cmdline,
  cpuSeconds,
  descendants,
  loadAverage,
  MiB,
  machineJiffies,
  memory,
  redisCommandStats,
} from "../support/proc-stats.ts";

const TAGS = 30;
const PERIOD_MS = 100;

function nodiPids(stack: Stack): number[] {
  return [stack.supervisor.pid, ...descendants(stack.supervisor.pid)];
}

function redisPid(): number | undefined {
  return descendants(process.pid).find((p) => cmdline(p).startsWith("redis-server"));
}

interface Row {
  n: number;
  /** `uptime`-style load average when the window ended. */
  load: string;
  /** The one-process baseline on the same simulators and Redis, measured right after. */
  base?: { cpu: number; cpuMachine: number; updates: number; errors: number; load: string };
  cpuNodi: number;
  /**
   * CPU Nodi Edge (% of machine) and updates/s of the window the bench used before
   * 2026-12-02: it began 2 s after the last app's first value, so it included the apps'
   * start-up and JIT warm-up (JITWorker threads still compiling). Shown beside the steady figure.
   */
  cold?: { cpu: number; updates: number };
  /** The supervisor's and Redis's parts of `cpuNodi` (the rest is the apps). */
  split: { supervisor: number; redis: number };
  /** Redis commands during the window (INFO commandstats, nested script calls included). */
  cmds: string;
  cpuMachine: number;
  rss: number;
  pss: number;
  /** PSS of the apps alone (`pss` less the supervisor's and Redis's), bytes. */
  appsPss: number;
  supPss: number;
  redisPss: number;
  apps: number;
  updates: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
}

let supervisorCmd: string[] | undefined;
let withBaseline = true;
/**
 * Seconds between the last app's first value and the measured window: a gateway runs for
 * years, so the figure is its steady state after JIT warm-up (`--warmup`, default 30 s; the
 * old window starting after 2 s is measured as well and printed as "cold").
 */
let warmupSeconds = 30;

/**
 * The least possible work on the same simulators and Redis: stops the supervisor (and so
 * every app), then runs `bench/scale/baseline.ts` (one process, modbus-serial, one raw XADD
 * per poll) for `seconds` and measures its CPU and Redis's.
 */
async function runBaseline(
  stack: Stack,
  seconds: number,
  cores: number,
  redis: number | undefined,
): Promise<NonNullable<Row["base"]>> {
  await stopProc(stack.supervisor);
  const ports = [...stack.sims.values()].map((s) => s.port).filter((p) => p > 0);
  const proc = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "baseline.ts"),
      "--redis",
      stack.redisUrl,
      "--ports",
      ports.join(","),
      "--tags",
      String(TAGS),
      "--period",
      String(PERIOD_MS),
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  const reader = proc.stdout.getReader();
  let buf = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf("\n");
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("bench/scale/baseline.ts exited");
      buf += new TextDecoder().decode(value);
    }
  };
  const counts = async (cmd: string) => {
    proc.stdin.write(`${cmd}\n`);
    proc.stdin.flush();
    return JSON.parse(await nextLine()) as { updates: number; errors: number };
  };
  try {
    if ((await nextLine()) !== "ready") throw new Error("baseline did not start");
    await Bun.sleep(2000); // settle
    const pids = [proc.pid, ...(redis ? [redis] : [])];
    const c0 = await counts("mark");
    const cpu0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    const m0 = machineJiffies();
    const start = performance.now();
    await Bun.sleep(seconds * 1000);
    const cpu1 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
    const m1 = machineJiffies();
    const elapsed = (performance.now() - start) / 1000;
    const c1 = await counts("stop");
    return {
      cpu: ((cpu1 - cpu0) / elapsed / cores) * 100,
      cpuMachine: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
      updates: (c1.updates - c0.updates) / elapsed,
      errors: c1.errors - c0.errors,
      load: loadAverage(),
    };
  } finally {
    proc.kill();
    await proc.exited;
  }
}

async function runScale(n: number, seconds: number, base: string): Promise<Row> {
  const cfgDir = join(base, `n${n}`);
  writeModbusBenchConfig(cfgDir, n, PERIOD_MS, TAGS);
  const stack = await startStack({
    configDir: cfgDir,
    freePorts: true,
    simMap: changingMap,
    env: { NE_LOG_LEVEL: "warn" },
    ...(supervisorCmd ? { supervisorCmd } : {}),
  });
  try {
    const bus = await createRedisTagBus({
      url: stack.redisUrl,
      prefix: stack.prefix,
      producer: "bench",
    });
    // wait until every app publishes
    const seen = new Set<string>();
    let counting = false;
    let updates = 0;
    const late: number[] = [];
    const sub = await bus.subscribe(["/**"], (ev) => {
      if (ev.kind !== "value" || ev.value.path.startsWith("/system/")) return;
      if (!counting) {
        seen.add(ev.value.path.split("/")[1]!);
        return;
      }
      updates++;
      if (updates % 7 === 0) late.push(Date.now() - ev.value.ts);
    });
    const t0 = Date.now();
    while (seen.size < n && Date.now() - t0 < 120_000) await Bun.sleep(200);
    if (seen.size < n)
      throw new Error(
        `only ${seen.size}/${n} connections published within 120 s; see ${stack.logFile}`,
      );
    await Bun.sleep(2000); // settle
    const pids = nodiPids(stack);
    const rp = redisPid();
    if (rp) pids.push(rp);
    // the window used before 2026-12-02 (start-up and JIT warm-up included), kept visible
    let cold: Row["cold"];
    const coldSeconds = Math.min(seconds, Math.max(0, warmupSeconds - 2));
    if (coldSeconds > 0) {
      const cc0 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
      const ct0 = performance.now();
      counting = true;
      await Bun.sleep(coldSeconds * 1000);
      counting = false;
      const el = (performance.now() - ct0) / 1000;
      const cc1 = pids.reduce((a, p) => a + cpuSeconds(p), 0);
      cold = {
        cpu: ((cc1 - cc0) / el / (navigator.hardwareConcurrency || 1)) * 100,
        updates: updates / el,
      };
      updates = 0;
      late.length = 0;
      const rest = warmupSeconds - 2 - coldSeconds;
      if (rest > 0) await Bun.sleep(rest * 1000);
    }
    const rc = createClient({ url: stack.redisUrl, RESP: 2 });
    await rc.connect();
    const send = (a: string[]) => rc.sendCommand(a);
    await send(["CONFIG", "RESETSTAT"]);
    const before = new Map(pids.map((p) => [p, cpuSeconds(p)]));
    const cpu0 = [...before.values()].reduce((a, b) => a + b, 0);
    const m0 = machineJiffies();
    const start = performance.now();
    counting = true;
    // memory sampled every 5 s over the window and averaged: a running app's JS heap is a
    // sawtooth (docs/performance.md "Memory of a running app"), one look says little
    const memSamples: Map<number, { rss: number; pss: number }>[] = [];
    const end = start + seconds * 1000;
    for (;;) {
      memSamples.push(new Map(pids.map((p) => [p, memory(p)])));
      const left = end - performance.now();
      if (left <= 0) break;
      await Bun.sleep(Math.min(5000, left));
    }
    counting = false;
    const elapsed = (performance.now() - start) / 1000;
    const after = new Map(pids.map((p) => [p, cpuSeconds(p)]));
    const cpu1 = [...after.values()].reduce((a, b) => a + b, 0);
    const m1 = machineJiffies();
    const cores0 = navigator.hardwareConcurrency || 1;
    const share = (p: number | undefined) =>
      p === undefined
        ? 0
        : (((after.get(p) ?? 0) - (before.get(p) ?? 0)) /
            ((performance.now() - start) / 1000) /
            cores0) *
          100;
    const split = { supervisor: share(stack.supervisor.pid), redis: share(rp) };
    const cmds = [...(await redisCommandStats(send))]
      .filter(([, c]) => c.calls / elapsed >= 1)
      .sort((a, b) => b[1].usec - a[1].usec)
      .slice(0, 8)
      .map(
        ([k, c]) => `${k} ${Math.round(c.calls / elapsed)}/s ${(c.usec / c.calls).toFixed(1)} µs`,
      )
      .join(", ");
    rc.destroy();
    const k = memSamples.length;
    const mems = new Map(
      pids.map((p) => {
        const ms = memSamples.map((m) => m.get(p) ?? { rss: 0, pss: 0 });
        return [
          p,
          {
            rss: ms.reduce((a, m) => a + m.rss, 0) / k,
            pss: ms.reduce((a, m) => a + m.pss, 0) / k,
          },
        ];
      }),
    );
    const mem = [...mems.values()].reduce((a, b) => ({ rss: a.rss + b.rss, pss: a.pss + b.pss }), {
      rss: 0,
      pss: 0,
    });
    // the apps alone: Redis's PSS grows with the streams' retention (the first 5 min with
    // NE_STREAM_MAXAGE_MS's default, hours before), so it is no per-connection app figure
    const supPss = mems.get(stack.supervisor.pid)?.pss ?? 0;
    const redisPss = rp ? (mems.get(rp)?.pss ?? 0) : 0;
    const load = loadAverage();
    await sub.close();
    await bus.close(500);
    const cores = navigator.hardwareConcurrency || 1;
    const base = withBaseline ? await runBaseline(stack, seconds, cores, rp) : undefined;
    late.sort((a, b) => a - b);
    const pct = (q: number) => late[Math.min(late.length - 1, Math.floor(q * late.length))] ?? 0;
    return {
      n,
      load,
      ...(base ? { base } : {}),
      ...(cold ? { cold } : {}),
      cpuNodi: ((cpu1 - cpu0) / elapsed / cores) * 100,
      split,
      cmds,
      cpuMachine: ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100,
      rss: mem.rss,
      pss: mem.pss,
      appsPss: mem.pss - supPss - redisPss,
      supPss,
      redisPss,
      apps: pids.length - 2,
      updates: updates / elapsed,
      expected: (n * TAGS * 1000) / PERIOD_MS,
      p50: pct(0.5),
      p99: pct(0.99),
      max: late.at(-1) ?? 0,
    };
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string" },
      seconds: { type: "string" },
      quick: { type: "boolean", default: false },
      binary: { type: "string" },
      "idle-only": { type: "boolean", default: false },
      "no-baseline": { type: "boolean", default: false },
      "no-idle": { type: "boolean", default: false },
      warmup: { type: "string" },
    },
  });
  if (values.binary) supervisorCmd = [values.binary, "ne-supervisor"];
  withBaseline = !values["no-baseline"];
  if (values.warmup !== undefined) warmupSeconds = Number(values.warmup);
  const ns = values["idle-only"]
    ? []
    : (values.n ?? (values.quick ? "50" : "10,25,50")).split(",").map(Number);
  const seconds = Number(values.seconds ?? (values.quick ? 15 : 60));
  const base = mkdtempSync(join(tmpdir(), "ne-bench-scale-"));
  try {
    console.log(
      `scale bench: N × ${TAGS} tags at ${PERIOD_MS} ms, ${seconds} s each, ${navigator.hardwareConcurrency} cores, ${values.binary ? `compiled ${values.binary}` : "from source (bun run)"}; ${loadAverage()}`,
    );
    const rows: Row[] = [];
    for (const n of ns) {
      const r = await runScale(n, seconds, base);
      rows.push(r);
      console.log(`  N=${n} done, ${r.load}`);
    }
    const b = rows[0];
    if (b)
      console.log(
        "\n| N | apps | updates/s (expected) | lateness p50 / p99 / max ms | CPU Nodi Edge % of machine (apps / supervisor / redis) | CPU machine % | CPU per 1k updates/s (ratio to N=" +
          b.n +
          ") | RSS MiB | PSS MiB (supervisor / redis) | PSS per connection MiB, apps alone (all / N) | load at end |",
      );
    if (b) console.log("|---|---|---|---|---|---|---|---|---|---|---|");
    const per = (r: Row) => r.cpuNodi / (r.updates / 1000);
    const perBase = b ? per(b) : 1;
    for (const r of rows) {
      console.log(
        `| ${r.n} | ${r.apps} | ${Math.round(r.updates)} (${r.expected}) | ${r.p50} / ${r.p99} / ${r.max} | ${r.cpuNodi.toFixed(1)} (${(r.cpuNodi - r.split.supervisor - r.split.redis).toFixed(1)} / ${r.split.supervisor.toFixed(1)} / ${r.split.redis.toFixed(1)}) | ${r.cpuMachine.toFixed(1)} | ${per(r).toFixed(2)} (${(per(r) / perBase).toFixed(2)}×) | ${(r.rss / MiB).toFixed(0)} | ${(r.pss / MiB).toFixed(0)} (${(r.supPss / MiB).toFixed(0)} / ${(r.redisPss / MiB).toFixed(0)}) | ${(r.appsPss / MiB / r.n).toFixed(1)} (${(r.pss / MiB / r.n).toFixed(1)}) | ${r.load} |`,
      );
    }
    for (const r of rows) console.log(`  N=${r.n} inside Redis: ${r.cmds}`);
    if (rows.some((r) => r.base)) {
      console.log(
        "\nSame simulators and Redis, one process (bench/scale/baseline.ts: modbus-serial, one raw XADD per poll), measured right after the apps stopped:",
      );
      console.log(
        "\n| N | one process: updates/s | CPU % of machine (process + redis) | CPU per 1k updates/s | Nodi Edge CPU per 1k updates/s | Nodi Edge / one process | CPU machine % | load at end |",
      );
      console.log("|---|---|---|---|---|---|---|---|");
      for (const r of rows) {
        if (!r.base) continue;
        const bp = r.base.cpu / (r.base.updates / 1000);
        console.log(
          `| ${r.n} | ${Math.round(r.base.updates)}${r.base.errors ? ` (${r.base.errors} errors)` : ""} | ${r.base.cpu.toFixed(1)} | ${bp.toFixed(2)} | ${per(r).toFixed(2)} | ${(per(r) / bp).toFixed(2)}× | ${r.base.cpuMachine.toFixed(1)} | ${r.base.load} |`,
        );
      }
    }
    if (rows.some((r) => r.cold))
      console.log(
        `\nCold window (as measured before 2026-12-02: from 2 s after the last app's first value, start-up and JIT warm-up included) vs steady window (after ${warmupSeconds} s):\n\n| N | cold: CPU Nodi Edge % | cold: CPU per 1k updates/s | steady: CPU Nodi Edge % | steady: CPU per 1k updates/s |\n|---|---|---|---|---|`,
      );
    for (const r of rows) {
      if (!r.cold) continue;
      console.log(
        `| ${r.n} | ${r.cold.cpu.toFixed(1)} | ${(r.cold.cpu / (r.cold.updates / 1000)).toFixed(2)} | ${r.cpuNodi.toFixed(1)} | ${per(r).toFixed(2)} |`,
      );
    }
    const top = rows.at(-1);
    if (top) {
      const at15k = per(top) * 15;
      console.log(
        `\n| figure (N=${top.n}) | now | goal |\n|---|---|---|\n| CPU for 15k updates/s, % of the machine (CPU per 1k updates/s × 15) | ${at15k.toFixed(1)} % (${per(top).toFixed(2)} % per 1k updates/s) | ≤ 30 % |\n| PSS per connection (the apps alone) | ${(top.appsPss / MiB / top.n).toFixed(1)} MiB (${(top.pss / MiB).toFixed(0)} MiB in all with supervisor ${(top.supPss / MiB).toFixed(0)} and Redis ${(top.redisPss / MiB).toFixed(0)}: ${(top.pss / MiB / top.n).toFixed(1)} per connection; RSS ${(top.rss / MiB / 1024).toFixed(2)} GiB) | ≤ 12 MiB |`,
      );
    }
    if (values["no-idle"]) return 0;
    const idle = await measureIdleApp({
      base,
      label: "idle",
      simMap: changingMap,
      ...(supervisorCmd ? { supervisorCmd } : {}),
    });
    console.log("\n| process | RSS MiB | PSS MiB | RSS ratio to bare Bun |");
    console.log("|---|---|---|---|");
    console.log(
      `| bare Bun (baseline) | ${(idle.bare.rss / MiB).toFixed(1)} | ${(idle.bare.pss / MiB).toFixed(1)} | 1.00× |`,
    );
    console.log(
      `| idle Modbus ne-intf (10 tags at 1 s) | ${(idle.app.rss / MiB).toFixed(1)} | ${(idle.app.pss / MiB).toFixed(1)} | ${(idle.app.rss / idle.bare.rss).toFixed(2)}× |`,
    );
    return 0;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

if (import.meta.main) process.exit(await main());
