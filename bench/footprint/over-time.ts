/**
 * What grows in RUNNING interface apps over time: N Modbus connections × 30 tags at 100 ms,
 * every register changing every poll (as bench/scale), under the real ne-supervisor, sampled
 * from the moment every app publishes until `--seconds` s later, every `--interval` s:
 *
 * - per app, /proc/PID/smaps split by mapping: the JIT's executable region (anonymous `rwxp`),
 *   the allocator's arenas (anonymous read-write mappings of ≥ 32 MiB: mimalloc reserves its
 *   arenas large and commits pages in them), other anonymous mappings (thread stacks and
 *   small mmaps), `[heap]` (brk), `[stack]`, the executable's pages, other files: PSS and
 *   anonymous bytes of each;
 * - in-process (bench/footprint/heap-probe.ts, preloaded through `BUN_OPTIONS`): `bun:jsc`
 *   heap size and capacity, extra memory, object counts by type, mimalloc's live bytes;
 * - the apps' CPU over each interval (utime+stime), % of one core per app.
 *
 * At the end: the anonymous mappings that grew most between the first and the last sample
 * (by start address, summed over the apps of a variant) and the object types whose count grew
 * most; for each of `--windows` (s after the start, default `30-90,120-300`), per variant, the
 * mean PSS and anonymous memory of the samples in it and the apps' CPU between its first and last
 * sample. Variants as in bench/footprint/levers.ts (`--variants`, `--env`): the apps are split
 * round-robin between them, so every variant runs at the same time and machine load.
 *
 *   bun run bench/footprint/over-time.ts [--n 6] [--seconds 300] [--interval 15]
 *        [--binary dist/linux-x64/nodi-edge] [--env 'label:K=V;…'] [--variants base] [--no-probe]
 *        [--windows 30-90,120-300]
 *        [--probe-gc]   (the probe runs a full collection before each sample: live objects)
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startStack } from "../../scripts/demo/stack.ts";
import { changingMap, waitForPublishers } from "../support/changing-sim.ts";
import { writeModbusBenchConfig } from "../support/idle-app.ts";
import { cmdline, cpuSeconds, descendants, loadAverage, MiB } from "../support/proc-stats.ts";
import { parseVariants, type Variant } from "./levers.ts";

const ROOT = join(import.meta.dir, "../..");
const PERIOD_MS = 100;
/** Anonymous read-write mappings at least this large are counted as allocator arenas. */
const ARENA_MIN_BYTES = 32 * MiB;

/** The kinds of mapping one app's smaps is split into. */
export const KINDS = ["jit", "arena", "anonOther", "heap", "stack", "exe", "files"] as const;
/** One kind of mapping. */
export type Kind = (typeof KINDS)[number];

/** One app's smaps at one time: PSS and anonymous bytes per kind, anonymous bytes per mapping. */
export interface SmapsSample {
  pss: number;
  anon: number;
  kinds: Record<Kind, { pss: number; anon: number }>;
  /** Anonymous bytes by mapping, keyed `start perms size-MiB`. */
  byMapping: Map<string, number>;
}

/**
 * Splits one smaps text (the format of /proc/PID/smaps) into {@link KINDS}; `exe` is the path
 * of the process's executable.
 */
export function splitSmaps(text: string, exe: string): SmapsSample {
  const kinds = Object.fromEntries(
    KINDS.map((k) => [k, { pss: 0, anon: 0 }]),
  ) as SmapsSample["kinds"];
  const s: SmapsSample = { pss: 0, anon: 0, kinds, byMapping: new Map() };
  let kind: Kind = "files";
  let key = "";
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const size = Number.parseInt(head[2]!, 16) - Number.parseInt(head[1]!, 16);
      const perms = head[3]!;
      const path = head[4] ?? "";
      key = `${head[1]} ${perms} ${(size / MiB).toFixed(1)}`;
      if (path === "") {
        if (perms.includes("x")) kind = "jit";
        else if (size >= ARENA_MIN_BYTES) kind = "arena";
        else kind = "anonOther";
      } else if (path === "[heap]") kind = "heap";
      else if (path === "[stack]") kind = "stack";
      else if (path === exe) kind = "exe";
      else kind = "files";
      continue;
    }
    const m = /^(Pss|Anonymous):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const v = Number(m[2]) * 1024;
    if (m[1] === "Pss") {
      s.pss += v;
      kinds[kind].pss += v;
    } else {
      s.anon += v;
      kinds[kind].anon += v;
      if (v > 0) s.byMapping.set(key, (s.byMapping.get(key) ?? 0) + v);
    }
  }
  return s;
}

function smapsOf(pid: number): SmapsSample | undefined {
  try {
    return splitSmaps(readFileSync(`/proc/${pid}/smaps`, "utf8"), readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return undefined;
  }
}

/** One line of heap-probe.ts. */
interface ProbeSample {
  t: number;
  heapSize: number;
  heapCapacity: number;
  extra: number;
  objects: number;
  types: Record<string, number>;
  mallocNormal: number;
  mallocHuge: number;
  committed: number;
  blocks16k: number;
}

function lastProbe(dir: string, pid: number): ProbeSample | undefined {
  const f = join(dir, `${pid}.jsonl`);
  if (!existsSync(f)) return undefined;
  const lines = readFileSync(f, "utf8").trim().split("\n");
  try {
    return JSON.parse(lines[lines.length - 1]!) as ProbeSample;
  } catch {
    return undefined;
  }
}

const shq = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / (xs.length || 1);
const mib = (b: number) => (b / MiB).toFixed(2);

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      n: { type: "string" },
      variants: { type: "string" },
      env: { type: "string" },
      seconds: { type: "string" },
      windows: { type: "string" },
      interval: { type: "string" },
      binary: { type: "string" },
      "no-probe": { type: "boolean" },
      "probe-gc": { type: "boolean" },
    },
  });
  const n = Number(values.n ?? 6);
  const seconds = Number(values.seconds ?? 300);
  const interval = Number(values.interval ?? 15);
  const vs: Variant[] = parseVariants(values.variants ?? (values.env ? "" : "base"), values.env);
  const base = mkdtempSync(join(tmpdir(), "ne-bench-over-time-"));
  const probeDir = join(base, "probe");
  try {
    const cfgDir = join(base, "cfg");
    writeModbusBenchConfig(cfgDir, n, PERIOD_MS, 30);
    const app = values.binary
      ? [values.binary, "ne-intf"]
      : [process.execPath, "run", join(ROOT, "src/intf/main.ts")];
    const ids = Array.from({ length: n }, (_, i) => `c${String(i).padStart(3, "0")}`);
    const variantOf = new Map(ids.map((id, i) => [id, vs[i % vs.length]!]));
    const probe = values["no-probe"]
      ? ""
      : `export BUN_OPTIONS="--preload ${join(import.meta.dir, "heap-probe.ts")}"\nexport NE_PROBE_DIR=${shq(probeDir)}\nexport NE_PROBE_INTERVAL_MS=${interval * 1000}\n${values["probe-gc"] ? "export NE_PROBE_FULLGC=1\n" : ""}`;
    for (const [id, v] of variantOf) {
      writeFileSync(
        join(base, `env-${id}`),
        probe +
          Object.entries(v.env)
            .map(([k, val]) => `export ${k}=${shq(val)}\n`)
            .join(""),
      );
    }
    if (!values["no-probe"]) mkdirSync(probeDir);
    const launcher = join(base, "launch.sh");
    writeFileSync(
      launcher,
      `#!/bin/sh\nid=\${1#--conn-id=}\n. ${shq(base)}/env-$id\nif [ -n "$LEVERS_APP" ]; then exec $LEVERS_APP "$@"; fi\nexec ${app.map(shq).join(" ")} "$@"\n`,
    );
    chmodSync(launcher, 0o755);
    console.log(
      `over-time bench: ${n} apps × 30 tags at ${PERIOD_MS} ms, ${values.binary ? `compiled ${values.binary}` : "from source"}, variants ${vs
        .map(
          (v) =>
            `${v.label} {${Object.entries(v.env)
              .map(([k, x]) => `${k}=${x}`)
              .join(" ")}}`,
        )
        .join(", ")}; ${seconds} s every ${interval} s; ${loadAverage()}`,
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
      const pidOf = new Map<string, number>();
      for (const p of descendants(stack.supervisor.pid)) {
        const m = /--conn-id=(\S+)/.exec(cmdline(p));
        if (m) pidOf.set(m[1]!, p);
      }
      const windows = (values.windows ?? "30-90,120-300").split(",").map((w) => {
        const [x, y] = w.split("-").map(Number);
        return { from: x!, to: y! };
      });
      /** Per app, every sample: time s, PSS and anonymous bytes, CPU seconds so far. */
      const series = new Map(
        ids.map((id) => [id, [] as { t: number; pss: number; anon: number; cpu: number }[]]),
      );
      const loads: { t: number; load: string }[] = [];
      const first = new Map<string, SmapsSample>();
      const last = new Map<string, SmapsSample>();
      const firstProbe = new Map<string, ProbeSample>();
      const lastProbeOf = new Map<string, ProbeSample>();
      let cpuPrev = new Map([...pidOf].map(([id, p]) => [id, cpuSeconds(p)]));
      let tPrev = performance.now();
      const start = tPrev;
      console.log(
        `\n| variant | t s | load | PSS | anon | jit | arena | anon other | [heap] | exe PSS | JS heap (cap) | extra | objects | malloc live | CPU % core |`,
      );
      console.log("|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
      for (;;) {
        const now = performance.now();
        const t = (now - start) / 1000;
        const cpu = new Map([...pidOf].map(([id, p]) => [id, cpuSeconds(p)]));
        const dt = (now - tPrev) / 1000;
        const load = loadAverage().replace("load ", "");
        for (const v of vs) {
          const mine = ids.filter((id) => variantOf.get(id) === v && pidOf.has(id));
          const ss = mine.map((id) => [id, smapsOf(pidOf.get(id)!)] as const);
          const ok = ss.filter((x): x is [string, SmapsSample] => x[1] !== undefined);
          for (const [id, s] of ok) {
            if (!first.has(id)) first.set(id, s);
            last.set(id, s);
            series.get(id)!.push({ t, pss: s.pss, anon: s.anon, cpu: cpu.get(id)! });
          }
          const ps = values["no-probe"]
            ? []
            : mine
                .map((id) => [id, lastProbe(probeDir, pidOf.get(id)!)] as const)
                .filter((x): x is [string, ProbeSample] => x[1] !== undefined);
          for (const [id, p] of ps) {
            if (!firstProbe.has(id)) firstProbe.set(id, p);
            lastProbeOf.set(id, p);
          }
          const k = (kind: Kind, f: "pss" | "anon") =>
            mib(mean(ok.map(([, s]) => s.kinds[kind][f])));
          const pm = (f: keyof ProbeSample) =>
            ps.length ? mib(mean(ps.map(([, p]) => p[f] as number))) : "–";
          const cpuPct =
            dt > 0.5 && t > 0.5
              ? (mean(mine.map((id) => cpu.get(id)! - cpuPrev.get(id)!)) / dt) * 100
              : Number.NaN;
          console.log(
            `| ${v.label} | ${t.toFixed(0)} | ${load} | ${mib(mean(ok.map(([, s]) => s.pss)))} | ${mib(mean(ok.map(([, s]) => s.anon)))} | ${k("jit", "anon")} | ${k("arena", "anon")} | ${k("anonOther", "anon")} | ${k("heap", "anon")} | ${k("exe", "pss")} | ${pm("heapSize")} (${pm("heapCapacity")}) | ${pm("extra")} | ${ps.length ? Math.round(mean(ps.map(([, p]) => p.objects))) : "–"} | ${pm("mallocNormal")} | ${Number.isNaN(cpuPct) ? "–" : cpuPct.toFixed(2)} |`,
          );
        }
        loads.push({ t, load });
        cpuPrev = cpu;
        tPrev = now;
        if (t >= seconds) break;
        await Bun.sleep(Math.max(0, interval * 1000 - (performance.now() - now)));
      }
      for (const v of vs) {
        const mine = ids.filter((id) => variantOf.get(id) === v && first.has(id));
        const grow = new Map<string, number>();
        for (const id of mine) {
          const a = first.get(id)!.byMapping;
          const b = last.get(id)!.byMapping;
          for (const key of new Set([...a.keys(), ...b.keys()])) {
            // Mappings are keyed by address; sum per perms and size (addresses differ per app).
            const shape = key.replace(/^\S+ /, "");
            grow.set(shape, (grow.get(shape) ?? 0) + ((b.get(key) ?? 0) - (a.get(key) ?? 0)));
          }
        }
        const top = [...grow].sort((x, y) => Math.abs(y[1]) - Math.abs(x[1])).slice(0, 8);
        console.log(
          `\n${v.label}: anonymous growth per app by mapping (perms, size MiB), first → last sample: ${top
            .map(([s, g]) => `${s} ${g >= 0 ? "+" : ""}${mib(g / mine.length)}`)
            .join("; ")}`,
        );
        const pm = mine.filter((id) => firstProbe.has(id) && lastProbeOf.has(id));
        if (pm.length) {
          const dt = new Map<string, number>();
          for (const id of pm) {
            const a = firstProbe.get(id)!.types;
            const b = lastProbeOf.get(id)!.types;
            for (const ty of new Set([...Object.keys(a), ...Object.keys(b)]))
              dt.set(ty, (dt.get(ty) ?? 0) + ((b[ty] ?? 0) - (a[ty] ?? 0)) / pm.length);
          }
          const topT = [...dt].sort((x, y) => Math.abs(y[1]) - Math.abs(x[1])).slice(0, 12);
          console.log(
            `${v.label}: object types, count change per app from the first probe sample (t ${Math.round(mean(pm.map((id) => firstProbe.get(id)!.t)) / 1000)} s in the app) to the last (${Math.round(mean(pm.map((id) => lastProbeOf.get(id)!.t)) / 1000)} s): ${topT
              .map(([ty, d]) => `${ty} ${d >= 0 ? "+" : ""}${d.toFixed(0)}`)
              .join(", ")}`,
          );
        }
      }
      for (const w of windows) {
        const inW = <T extends { t: number }>(xs: T[]) =>
          xs.filter((x) => x.t >= w.from - 0.5 && x.t <= w.to + 0.5);
        const l = inW(loads);
        console.log(
          `\nsamples from ${w.from} to ${w.to} s (load ${l[0]?.load ?? "?"} → ${l[l.length - 1]?.load ?? "?"}):\n\n| variant | apps | PSS per app MiB, mean (max) | anonymous per app MiB, mean (max) | CPU per app, % of one core |\n|---|--:|--:|--:|--:|`,
        );
        for (const v of vs) {
          const xs = ids
            .filter((id) => variantOf.get(id) === v)
            .map((id) => inW(series.get(id)!))
            .filter((x) => x.length > 1);
          const cpuPct = mean(
            xs.map((x) => (x[x.length - 1]!.cpu - x[0]!.cpu) / (x[x.length - 1]!.t - x[0]!.t)),
          );
          const m = (f: "pss" | "anon") => mib(mean(xs.map((x) => mean(x.map((e) => e[f])))));
          const mx = (f: "pss" | "anon") =>
            mib(mean(xs.map((x) => Math.max(...x.map((e) => e[f])))));
          console.log(
            `| ${v.label} | ${xs.length} | ${m("pss")} (${mx("pss")}) | ${m("anon")} (${mx("anon")}) | ${(cpuPct * 100).toFixed(2)} |`,
          );
        }
      }
      console.log(`\n${loadAverage()} at the end`);
    } finally {
      await stack.stop();
    }
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
