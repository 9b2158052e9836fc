/**
 * Memory per connection (issue 15): where an interface app's memory goes, measured from the
 * compiled binary as a gateway runs it and from source, beside a bare Bun in the same run.
 *
 *   bun run bench/footprint/run.ts [--quick] [--reps N] [--settle S] [--window S] [--n N]
 *                                  [--binary PATH] [--only imports,idle,running,opcua]
 *
 * 1. imports: a child process (`probe.ts`) imports one module (or a set) from source, settles,
 *    runs `Bun.gc(true)`; its RSS and anonymous memory (/proc/PID/smaps) and its JSC heap
 *    (`bun:jsc` heapStats) and module count are read. Baseline: the same probe importing
 *    nothing. Median of `--reps` (default 3).
 * 2. idle: the real idle Modbus `ne-intf` (1 connection, 10 tags at 1 s) started by the real
 *    `ne-supervisor` against a simulator and a private Redis, measured `--settle` s (default
 *    10) after its first value, beside a bare `bun -e` process measured at the same moment:
 *    compiled multi-call binary (supervisor and app, `nodi-edge ne-intf`) and from source.
 * 3. running: `--n` (default 50) Modbus connections × 30 tags at 100 ms, every register
 *    changing, compiled and from source; PSS of the apps summed and per connection, from
 *    `--settle` s (default 30) after every connection published, the mean of samples every 5 s
 *    over `--window` s (default 150) and the peak sample. Until 2026-12-02 it was ONE look 10 s
 *    after, early in the first GC sawtooth, which under-stated a running app by 5–7 MiB
 *    (docs/performance.md "Memory of a running app").
 * 4. opcua: `bench/opcua/run.ts` (monitored items at 100 ms, from source) with 250 and 1,000
 *    items: RSS at the end and at the peak, and the difference per monitored item.
 * Then the table (figure | now | goal). Without `--binary` the host target is built
 * first (`build/build.ts`, into a temp dir). `--quick`: 1 rep, 5 s settle (running: 10 s and
 * a 30 s window), `--n 20`, the OPC UA run 5 s. Every section prints the load average (`/proc/loadavg`) beside it.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startStack } from "../../scripts/demo/stack.ts";
import { changingMap, waitForPublishers } from "../support/changing-sim.ts";
import { measureIdleApp, writeModbusBenchConfig } from "../support/idle-app.ts";
import {
  cmdline,
  descendants,
  loadAverage,
  type MemDetail,
  MiB,
  memoryDetail,
} from "../support/proc-stats.ts";

const ROOT = join(import.meta.dir, "../..");
const PROBE = join(import.meta.dir, "probe.ts");

/** What each import row loads (relative paths are from the repository root). */
const IMPORTS: { name: string; mods: string[]; use?: boolean }[] = [
  { name: "bare Bun (probe importing nothing): baseline", mods: [] },
  { name: "node:fs", mods: ["node:fs"] },
  { name: "node:events", mods: ["node:events"] },
  { name: "node:net", mods: ["node:net"] },
  { name: "node:stream (what touching process.stdout loads)", mods: ["node:stream"] },
  { name: "node:worker_threads (pino's thread-stream)", mods: ["node:worker_threads"] },
  { name: "bun:sqlite", mods: ["bun:sqlite"] },
  { name: "valibot", mods: ["valibot"] },
  { name: "pino", mods: ["pino"] },
  { name: "pino, one line logged", mods: ["pino"], use: true },
  { name: "@redis/client (node-redis, no longer used by src/)", mods: ["@redis/client"] },
  { name: "modbus-serial (RTU links only)", mods: ["modbus-serial"] },
  { name: "node-opcua-client (OPC UA apps only)", mods: ["node-opcua-client"] },
  { name: "src/core/log.ts, one line logged", mods: ["./src/core/log.ts"], use: true },
  { name: "src/core/settings.ts", mods: ["./src/core/settings.ts"] },
  { name: "src/store/store.ts", mods: ["./src/store/store.ts"] },
  { name: "src/tagbus/index.ts", mods: ["./src/tagbus/index.ts"] },
  { name: "src/drivers/modbus/index.ts", mods: ["./src/drivers/modbus/index.ts"] },
  { name: "src/intf/app.ts", mods: ["./src/intf/app.ts"] },
  { name: "src/intf/main.ts (what ne-intf imports at start)", mods: ["./src/intf/main.ts"] },
  {
    name: "src/intf/main.ts + Modbus driver (an idle Modbus app's code)",
    mods: ["./src/intf/main.ts", "./src/drivers/modbus/index.ts"],
  },
  { name: "src/drivers/opcua/index.ts", mods: ["./src/drivers/opcua/index.ts"] },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const f1 = (b: number) => (b / MiB).toFixed(1);

interface ProbeResult {
  mem: MemDetail;
  heap: number;
  objects: number;
  modules: number;
}

async function probe(mods: string[], use: boolean): Promise<ProbeResult> {
  const p = Bun.spawn([process.execPath, PROBE, ...(use ? ["--use"] : []), ...mods], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const r = p.stdout.getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await r.read();
      if (done) throw new Error(`probe of ${mods.join(" ")} exited early`);
      buf += new TextDecoder().decode(value);
      const line = buf.split("\n").find((l) => l.startsWith("ready "));
      if (line) {
        const info = JSON.parse(line.slice(6));
        await Bun.sleep(500);
        return { mem: memoryDetail(p.pid), ...info };
      }
    }
  } finally {
    p.kill();
    await p.exited;
  }
}

async function importsSection(reps: number): Promise<void> {
  console.log(`\n## Import cost, from source, each alone in a fresh Bun (${loadAverage()})\n`);
  console.log(
    "| imports | RSS MiB | RSS over bare | anonymous over bare | JS heap MiB | JS objects | modules |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|");
  let bare: ProbeResult | undefined;
  for (const row of IMPORTS) {
    const rs: ProbeResult[] = [];
    for (let i = 0; i < reps; i++) rs.push(await probe(row.mods, row.use ?? false));
    const rss = median(rs.map((r) => r.mem.rss));
    const anon = median(rs.map((r) => r.mem.anon));
    const r0 = rs[0]!;
    bare ??= { ...r0, mem: { ...r0.mem, rss, anon } };
    console.log(
      `| ${row.name} | ${f1(rss)} | ${f1(rss - bare.mem.rss)} | ${f1(anon - bare.mem.anon)} | ${(median(rs.map((r) => r.heap)) / MiB).toFixed(2)} | ${median(rs.map((r) => r.objects))} | ${r0.modules} |`,
    );
  }
}

interface Variant {
  label: string;
  cmd: string[];
  sup?: string[];
}

function variants(bin: string | undefined): Variant[] {
  const out: Variant[] = [];
  if (bin) {
    out.push({ label: "compiled binary", cmd: [bin, "ne-intf"], sup: [bin, "ne-supervisor"] });
  }
  out.push({
    label: "from source",
    cmd: [process.execPath, "run", join(ROOT, "src/intf/main.ts")],
  });
  return out;
}

type Idle = { label: string; app: MemDetail; bare: MemDetail };

async function idleSection(vs: Variant[], settle: number, base: string): Promise<Idle[]> {
  console.log(`\n## Idle Modbus ne-intf, 10 tags at 1 s (${loadAverage()})\n`);
  console.log(
    "| ne-intf | RSS MiB | PSS MiB | anonymous MiB | executable's pages RSS / PSS MiB | bare Bun RSS / PSS / anonymous MiB (same moment) | RSS ratio to bare |",
  );
  console.log("|---|--:|--:|--:|--:|--:|--:|");
  const out: Idle[] = [];
  for (const v of vs) {
    const r = await measureIdleApp({
      base,
      label: `idle ${v.label}`,
      env: { NE_INTF_CMD: JSON.stringify(v.cmd) },
      settleS: settle,
      ...(v.sup ? { supervisorCmd: v.sup } : {}),
    });
    out.push({ label: v.label, ...r });
    const a = r.app;
    console.log(
      `| ${v.label} | ${f1(a.rss)} | ${f1(a.pss)} | ${f1(a.anon)} | ${f1(a.exeRss)} / ${f1(a.exePss)} | ${f1(r.bare.rss)} / ${f1(r.bare.pss)} / ${f1(r.bare.anon)} | ${(a.rss / r.bare.rss).toFixed(2)}× |`,
    );
  }
  return out;
}

type Running = {
  label: string;
  n: number;
  /** Each app's memory, the mean of its samples over the window. */
  apps: MemDetail[];
  /** The largest sum of the apps' PSS in one sample, bytes. */
  peakPss: number;
  samples: number;
  others: MemDetail[];
  load: string;
};

/** The mean of each numeric field of `ms` (`top` from the last). */
function meanDetail(ms: MemDetail[]): MemDetail {
  const k = ms.length || 1;
  const out = { ...(ms.at(-1) as MemDetail) };
  for (const key of ["rss", "pss", "anon", "exeRss", "exePss", "private", "shared"] as const) {
    out[key] = ms.reduce((a, m) => a + m[key], 0) / k;
  }
  return out;
}

async function runningOne(
  v: Variant,
  n: number,
  settle: number,
  window: number,
  base: string,
): Promise<Running> {
  const cfgDir = join(base, `running-${v.label.replace(/\W+/g, "-")}`);
  writeModbusBenchConfig(cfgDir, n, 100, 30);
  const stack = await startStack({
    configDir: cfgDir,
    freePorts: true,
    simMap: changingMap,
    env: { NE_LOG_LEVEL: "warn", NE_INTF_CMD: JSON.stringify(v.cmd) },
    ...(v.sup ? { supervisorCmd: v.sup } : {}),
  });
  try {
    await waitForPublishers(stack, n);
    await Bun.sleep(settle * 1000);
    const pids = descendants(stack.supervisor.pid).filter((p) => cmdline(p).includes("--conn-id="));
    // A running app's JS heap is a sawtooth (garbage promoted by the ~1 s eden collections
    // piles up until a full collection, every ~2 min at 300 values/s): one look at a moment
    // says little, so the apps are sampled every 5 s over `window` s and averaged.
    const samples: MemDetail[][] = pids.map(() => []);
    let peak = 0;
    const end = Date.now() + window * 1000;
    do {
      const now = pids.map(memoryDetail);
      for (const [i, m] of now.entries()) samples[i]?.push(m);
      peak = Math.max(peak, sum(now, "pss"));
      if (Date.now() >= end) break;
      await Bun.sleep(Math.min(5000, Math.max(0, end - Date.now())));
    } while (window > 0);
    const apps = samples.map(meanDetail);
    const redis = descendants(process.pid).filter((p) => cmdline(p).startsWith("redis-server"));
    const others = [stack.supervisor.pid, ...redis].map(memoryDetail);
    return {
      label: v.label,
      n,
      apps,
      peakPss: peak,
      samples: samples[0]!.length,
      others,
      load: loadAverage(),
    };
  } finally {
    await stack.stop();
  }
}

const sum = (ms: MemDetail[], k: keyof MemDetail) => ms.reduce((a, m) => a + (m[k] as number), 0);

async function runningSection(
  vs: Variant[],
  n: number,
  settle: number,
  window: number,
  base: string,
) {
  console.log(
    `\n## ${n} Modbus connections running, 30 tags at 100 ms, from ${settle} s after every connection published, mean of ${window} s (${loadAverage()})\n`,
  );
  console.log(
    "| ne-intf | apps | PSS per connection MiB, mean (peak) | anonymous per app MiB | apps' PSS / RSS MiB | + supervisor and redis PSS MiB | load at the end |",
  );
  console.log("|---|--:|--:|--:|--:|--:|---|");
  const out: Running[] = [];
  for (const v of vs) {
    const r = await runningOne(v, n, settle, window, base);
    out.push(r);
    const k = r.apps.length || 1;
    console.log(
      `| ${v.label} | ${r.apps.length} | ${f1(sum(r.apps, "pss") / k)} (${f1(r.peakPss / k)}) | ${f1(sum(r.apps, "anon") / k)} | ${f1(sum(r.apps, "pss"))} / ${f1(sum(r.apps, "rss"))} | ${f1(sum(r.others, "pss"))} | ${r.load} |`,
    );
  }
  return out;
}

/** One run of bench/opcua with `items` monitored items: its RSS at the end and peak, MiB. */
async function opcuaRun(items: number, seconds: number): Promise<{ end: number; peak: number }> {
  const p = Bun.spawn(
    [
      process.execPath,
      join(ROOT, "bench/opcua/run.ts"),
      "--seconds",
      String(seconds),
      "--items",
      String(items),
    ],
    { cwd: ROOT, stdout: "pipe", stderr: "inherit" },
  );
  const text = await new Response(p.stdout).text();
  await p.exited;
  const row = (what: string) => {
    const line = text.split("\n").find((l) => l.includes(what));
    const m = line && /^\s*([\d.]+)/.exec(line.slice(line.indexOf(what) + what.length));
    if (!m) throw new Error(`bench/opcua --items ${items}: no "${what}" row in:\n${text}`);
    return Number(m[1]);
  };
  for (const l of text.split("\n")) if (/RSS|values\/s/i.test(l)) console.log(`    ${l}`);
  return {
    end: row("RSS OPC UA app (this process) at end, MiB"),
    peak: row("RSS OPC UA app peak while measuring, MiB"),
  };
}

/**
 * The OPC UA app's RSS with 1,000 monitored items, and what the client keeps per monitored
 * item: the RSS difference between 1,000 and 250 items over the 750 items between them.
 */
async function opcuaSection(seconds: number) {
  console.log(`\n## OPC UA app, monitored items at 100 ms, from source (${loadAverage()})\n`);
  console.log("  250 items:");
  const small = await opcuaRun(250, seconds);
  console.log("  1,000 items:");
  const big = await opcuaRun(1000, seconds);
  const perItemKiB = ((big.end - small.end) * 1024) / 750;
  console.log(
    `\n  per monitored item (RSS at end, 1,000 vs 250 items): ${perItemKiB.toFixed(1)} KiB`,
  );
  return { ...big, perItemKiB };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean", default: false },
      settle: { type: "string" },
      window: { type: "string" },
      reps: { type: "string" },
      n: { type: "string" },
      binary: { type: "string" },
      only: { type: "string" },
    },
  });
  const quick = values.quick ?? false;
  const reps = Number(values.reps ?? (quick ? 1 : 3));
  const settle = Number(values.settle ?? (quick ? 5 : 10));
  // running apps: warm-up and a window of at least one GC sawtooth (~2 min at 300 values/s)
  const runSettle = Number(values.settle ?? (quick ? 10 : 30));
  const window = Number(values.window ?? (quick ? 30 : 150));
  const n = Number(values.n ?? (quick ? 20 : 50));
  const only = new Set((values.only ?? "imports,idle,running,opcua").split(","));
  const base = mkdtempSync(join(tmpdir(), "ne-bench-footprint-"));
  try {
    let bin = values.binary;
    if (!bin && (only.has("idle") || only.has("running"))) {
      const { buildTarget, hostTarget } = await import("../../build/build.ts");
      const t = hostTarget();
      if (t) {
        const r = buildTarget(t, join(base, "dist"));
        bin = r.binary;
        console.log(`built ${r.binary} (${(r.bytes / 1e6).toFixed(1)} MB, ${r.commit})`);
      }
    }
    console.log(
      `footprint bench: Bun ${Bun.version}, ${reps} rep(s), settle ${settle} s, running N = ${n}; ${loadAverage()}`,
    );
    if (only.has("imports")) await importsSection(reps);
    const vs = variants(bin);
    const idle = only.has("idle") ? await idleSection(vs, settle, base) : [];
    const running = only.has("running") ? await runningSection(vs, n, runSettle, window, base) : [];
    const opcua = only.has("opcua") ? await opcuaSection(quick ? 5 : 15) : undefined;

    console.log(`\n## Issue 15's memory figures (${loadAverage()})\n`);
    console.log("| figure | now | goal |\n|---|---|---|");
    for (const r of running) {
      const k = r.apps.length || 1;
      const all = sum(r.apps, "pss") + sum(r.others, "pss");
      console.log(
        `| PSS per connection, ${r.n} running, ${r.label} (mean of ${r.samples} samples; peak ${f1(r.peakPss / k)}) | ${f1(sum(r.apps, "pss") / k)} MiB (${f1(all)} MiB in all with supervisor and redis; apps' RSS ${(sum(r.apps, "rss") / MiB / 1024).toFixed(2)} GiB) | ≤ 12 MiB (≤ 600 MiB for 50) |`,
      );
    }
    for (const i of idle) {
      const ratio = i.app.rss / i.bare.rss;
      console.log(
        `| idle Modbus ne-intf, RSS / PSS, ${i.label} | ${f1(i.app.rss)} / ${f1(i.app.pss)} MiB (bare Bun: ${f1(i.bare.rss)} / ${f1(i.bare.pss)}; ${ratio.toFixed(2)}×) | ≤ 35 MiB RSS, ≤ 1.5× bare Bun: ${i.app.rss <= 35 * MiB && ratio <= 1.5 ? "met" : "not met"} |`,
      );
    }
    if (opcua) {
      console.log(
        `| OPC UA app RSS (1,000 items), end / peak, from source | ${opcua.end.toFixed(0)} / ${opcua.peak.toFixed(0)} MiB (${opcua.perItemKiB.toFixed(1)} KiB per monitored item) | ≤ 90 / 110 MiB: ${opcua.end <= 90 && opcua.peak <= 110 ? "met" : "not met"} |`,
      );
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
