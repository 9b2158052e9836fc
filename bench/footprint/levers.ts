/**
 * Memory of RUNNING interface apps over time, and what runtime settings change it: N Modbus
 * connections × 30 tags at 100 ms, every register changing every poll (as bench/scale), under
 * the real ne-supervisor; the apps are split round-robin into variants that differ only in
 * their environment (e.g. `BUN_OPTIONS=--smol`, `BUN_JSC_*`, `MIMALLOC_*`), so every variant
 * runs at the same time on the same machine load. After `--warmup` s every app's
 * /proc/PID/smaps_rollup is sampled every `--interval` s for `--seconds` s: PSS and anonymous
 * memory (mean and max over the samples, per app), and its CPU over the window (utime+stime,
 * % of one core and ms per poll). Redis's and the supervisor's PSS at the start and the end of
 * the window are printed apart: they are not the apps' memory (Redis's grows with the streams'
 * retention, `NE_STREAM_MAXLEN`).
 *
 *   bun run bench/footprint/levers.ts [--n 10] [--variants base,smol,eden1] [--seconds 180]
 *                                     [--warmup 60] [--interval 5] [--binary PATH]
 *                                     [--env 'label:K=V,K=V;label2:K=V'] [--wrap FILE.ts]
 *
 * Variants by name: `base` (nothing set), `smol` (`BUN_OPTIONS=--smol`), `eden1`
 * (`BUN_JSC_minEdenToOldGenerationRatio=1`), `eden06` (…=0.6), `purge0`
 * (`MIMALLOC_PURGE_DELAY=0`); `--env` adds variants of its own. The supervisor starts each app
 * through a small shell script that sources the app's variant file and `exec`s the app (same
 * pid), so the apps' environment is the only difference. A variant's `LEVERS_APP` (a command,
 * split at spaces) runs that instead of the app: e.g. `LEVERS_APP=/tmp/old/dist/linux-x64/nodi-edge
 * ne-intf` compares a build of another commit in the same run. `--wrap FILE.ts` runs that file
 * (from source) instead of src/intf/main.ts: a wrapper that imports it (trials of in-process
 * settings, e.g. a periodic `Bun.gc` behind an env var of the wrapper's own).
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startStack } from "../../scripts/demo/stack.ts";
import { changingMap, waitForPublishers } from "../support/changing-sim.ts";
import { writeModbusBenchConfig } from "../support/idle-app.ts";
import {
  cmdline,
  cpuSeconds,
  descendants,
  loadAverage,
  MiB,
  memory,
} from "../support/proc-stats.ts";

const ROOT = join(import.meta.dir, "../..");
const PERIOD_MS = 100;

/** The named variants: label → environment of the app. */
export const NAMED: Record<string, Record<string, string>> = {
  base: {},
  smol: { BUN_OPTIONS: "--smol" },
  eden1: { BUN_JSC_minEdenToOldGenerationRatio: "1" },
  eden06: { BUN_JSC_minEdenToOldGenerationRatio: "0.6" },
  purge0: { MIMALLOC_PURGE_DELAY: "0" },
};

/** Anonymous bytes of a process (smaps_rollup), 0 when gone. */
function anon(pid: number): number {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return Number(/^Anonymous:\s+(\d+) kB/m.exec(t)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** A variant: a label and the environment its apps get on top of the supervisor's. */
export interface Variant {
  label: string;
  env: Record<string, string>;
}

/**
 * Variants from `--variants` names ({@link NAMED}) and `--env 'label:K=V,K=V;label2:…'`.
 * @throws Error on an unknown name.
 */
export function parseVariants(names: string, extra: string | undefined): Variant[] {
  const out: Variant[] = [];
  for (const n of names.split(",").filter(Boolean)) {
    const env = NAMED[n];
    if (!env) throw new Error(`unknown variant ${n} (known: ${Object.keys(NAMED).join(", ")})`);
    out.push({ label: n, env });
  }
  for (const part of (extra ?? "").split(";").filter(Boolean)) {
    const [label, kvs = ""] = part.split(":", 2) as [string, string?];
    const env: Record<string, string> = {};
    for (const kv of kvs.split(",").filter(Boolean)) {
      const i = kv.indexOf("=");
      env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    out.push({ label, env });
  }
  return out;
}

const shq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string" },
      variants: { type: "string" },
      env: { type: "string" },
      seconds: { type: "string" },
      warmup: { type: "string" },
      interval: { type: "string" },
      binary: { type: "string" },
      wrap: { type: "string" },
    },
  });
  const n = Number(values.n ?? 10);
  const seconds = Number(values.seconds ?? 180);
  const warmup = Number(values.warmup ?? 60);
  const interval = Number(values.interval ?? 5);
  const vs = parseVariants(values.variants ?? (values.env ? "" : "base,smol,eden1"), values.env);
  if (vs.length === 0) throw new Error("no variants");
  const base = mkdtempSync(join(tmpdir(), "ne-bench-levers-"));
  try {
    const cfgDir = join(base, "cfg");
    writeModbusBenchConfig(cfgDir, n, PERIOD_MS, 30);
    const app = values.binary
      ? [values.binary, "ne-intf"]
      : [process.execPath, "run", values.wrap ?? join(ROOT, "src/intf/main.ts")];
    const ids = Array.from({ length: n }, (_, i) => `c${String(i).padStart(3, "0")}`);
    const variantOf = new Map(ids.map((id, i) => [id, vs[i % vs.length]!]));
    for (const [id, v] of variantOf) {
      writeFileSync(
        join(base, `env-${id}`),
        Object.entries(v.env)
          .map(([k, val]) => `export ${k}=${shq(val)}\n`)
          .join(""),
      );
    }
    const launcher = join(base, "launch.sh");
    writeFileSync(
      launcher,
      `#!/bin/sh\nid=\${1#--conn-id=}\n. ${shq(base)}/env-$id\nif [ -n "$LEVERS_APP" ]; then exec $LEVERS_APP "$@"; fi\nexec ${app.map(shq).join(" ")} "$@"\n`,
    );
    chmodSync(launcher, 0o755);
    console.log(
      `levers bench: ${n} apps × 30 tags at ${PERIOD_MS} ms, ${values.binary ? `compiled ${values.binary}` : "from source"}, variants ${vs
        .map(
          (v) =>
            `${v.label} {${Object.entries(v.env)
              .map(([k, x]) => `${k}=${x}`)
              .join(" ")}}`,
        )
        .join(
          ", ",
        )}; warm-up ${warmup} s, window ${seconds} s every ${interval} s; ${loadAverage()}`,
    );
    const stack = await startStack({
      configDir: cfgDir,
      freePorts: true,
      simMap: changingMap,
      env: { NE_LOG_LEVEL: "warn", NE_INTF_CMD: JSON.stringify([launcher]) },
      ...(values.binary ? { supervisorCmd: [values.binary, "ne-supervisor"] } : {}),
    });
    try {
      await waitForPublishers(stack, n);
      await Bun.sleep(warmup * 1000);
      const pidOf = new Map<string, number>();
      for (const p of descendants(stack.supervisor.pid)) {
        const m = /--conn-id=(\S+)/.exec(cmdline(p));
        if (m) pidOf.set(m[1]!, p);
      }
      const redis = descendants(process.pid).find((p) => cmdline(p).startsWith("redis-server"));
      const others0 = {
        sup: memory(stack.supervisor.pid).pss,
        redis: redis ? memory(redis).pss : 0,
      };
      const cpu0 = new Map([...pidOf].map(([id, p]) => [id, cpuSeconds(p)]));
      const samples = new Map<string, { pss: number[]; anon: number[] }>(
        ids.map((id) => [id, { pss: [], anon: [] }]),
      );
      const start = performance.now();
      const loadStart = loadAverage();
      while (performance.now() - start < seconds * 1000) {
        for (const [id, p] of pidOf) {
          const s = samples.get(id)!;
          s.pss.push(memory(p).pss);
          s.anon.push(anon(p));
        }
        await Bun.sleep(interval * 1000);
      }
      const elapsed = (performance.now() - start) / 1000;
      const cpu1 = new Map([...pidOf].map(([id, p]) => [id, cpuSeconds(p)]));
      const others1 = {
        sup: memory(stack.supervisor.pid).pss,
        redis: redis ? memory(redis).pss : 0,
      };
      const loadEnd = loadAverage();
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
      console.log(
        `\n| variant | apps | PSS per app MiB, mean (max) | anonymous per app MiB, mean (max) | CPU per app, % of one core | CPU per poll, ms |`,
      );
      console.log("|---|--:|--:|--:|--:|--:|");
      for (const v of vs) {
        const mine = ids.filter((id) => variantOf.get(id) === v && pidOf.has(id));
        const pss = mine.map((id) => mean(samples.get(id)!.pss));
        const pssMax = mine.map((id) => Math.max(...samples.get(id)!.pss));
        const an = mine.map((id) => mean(samples.get(id)!.anon));
        const anMax = mine.map((id) => Math.max(...samples.get(id)!.anon));
        const cpu = mine.map((id) => (cpu1.get(id)! - cpu0.get(id)!) / elapsed);
        console.log(
          `| ${v.label} | ${mine.length} | ${(mean(pss) / MiB).toFixed(1)} (${(mean(pssMax) / MiB).toFixed(1)}) | ${(mean(an) / MiB).toFixed(1)} (${(mean(anMax) / MiB).toFixed(1)}) | ${(mean(cpu) * 100).toFixed(2)} | ${((mean(cpu) * 1000) / (1000 / PERIOD_MS)).toFixed(3)} |`,
        );
      }
      console.log(
        `\nsupervisor PSS ${(others0.sup / MiB).toFixed(1)} → ${(others1.sup / MiB).toFixed(1)} MiB, redis PSS ${(others0.redis / MiB).toFixed(1)} → ${(others1.redis / MiB).toFixed(1)} MiB over the window; ${loadStart} at the start, ${loadEnd} at the end`,
      );
    } finally {
      await stack.stop();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
