/**
 * Memory footprint of an idle Modbus interface app (`ne-intf`) and of each library it loads.
 *
 *   bun run bench/footprint/run.ts [--quick] [--settle S] [--reps N] [--binary PATH] [--only imports|app]
 *
 * Part 1 ("imports"): a child process (`probe.ts`) imports one module (or a set), waits,
 * runs `Bun.gc(true)`, and the bench reads its RSS and PSS from /proc/PID/smaps_rollup. The
 * baseline is the same probe importing nothing (a bare Bun process running a .ts file),
 * measured in the same run; "over bare" = RSS − baseline RSS. Median of `--reps` (default 3).
 *
 * Part 2 ("app"): the real idle ne-intf (1 Modbus TCP connection, 10 tags polled every 1 s)
 * started by the real ne-supervisor against a simulator and a private Redis, measured
 * `--settle` seconds (default 10) after its first value, beside a bare `bun -e` process
 * measured at the same time. Variants: from source, from source with `bun --smol`, and the
 * compiled multi-call binary (`--binary dist/linux-x64/nodi-edge`, plain and with
 * `BUN_OPTIONS=--smol`). `--quick` = 1 rep, 5 s settle.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Mem, measureIdleApp } from "../support/idle-app.ts";
import { MiB, memory } from "../support/proc-stats.ts";

const ROOT = join(import.meta.dir, "../..");
const PROBE = join(import.meta.dir, "probe.ts");

/** What each import row loads (relative paths are from the repository root). */
const IMPORTS: { name: string; mods: string[]; use?: boolean }[] = [
  { name: "bare Bun (probe importing nothing) — baseline", mods: [] },
  { name: "node:fs", mods: ["node:fs"] },
  { name: "node:events", mods: ["node:events"] },
  { name: "node:net", mods: ["node:net"] },
  { name: "node:stream (what process.stdout loads)", mods: ["node:stream"] },
  { name: "bun:sqlite", mods: ["bun:sqlite"] },
  { name: "valibot", mods: ["valibot"] },
  { name: "pino", mods: ["pino"] },
  { name: "pino, one line logged", mods: ["pino"], use: true },
  { name: "redis (meta-package)", mods: ["redis"] },
  { name: "@redis/client", mods: ["@redis/client"] },
  {
    name: "all five libraries (redis, pino, valibot, bun:sqlite, node:net)",
    mods: ["redis", "pino", "valibot", "bun:sqlite", "node:net"],
  },
  { name: "src/core/log.ts", mods: ["./src/core/log.ts"] },
  { name: "src/core/settings.ts", mods: ["./src/core/settings.ts"] },
  { name: "src/store/store.ts", mods: ["./src/store/store.ts"] },
  { name: "src/tagbus/index.ts", mods: ["./src/tagbus/index.ts"] },
  { name: "src/drivers/modbus/index.ts", mods: ["./src/drivers/modbus/index.ts"] },
  { name: "src/intf/app.ts", mods: ["./src/intf/app.ts"] },
  { name: "src/intf/main.ts (everything ne-intf imports at start)", mods: ["./src/intf/main.ts"] },
  {
    name: "src/intf/main.ts + modbus driver (what an idle app has loaded)",
    mods: ["./src/intf/main.ts", "./src/drivers/modbus/index.ts"],
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function probe(mods: string[], use: boolean, flags: string[]): Promise<Mem> {
  const p = Bun.spawn([process.execPath, ...flags, PROBE, ...(use ? ["--use"] : []), ...mods], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "inherit",
  });
  try {
    const r = p.stdout.getReader();
    const first = await r.read();
    if (first.done) throw new Error(`probe of ${mods.join(" ")} exited early`);
    await Bun.sleep(1000);
    return memory(p.pid);
  } finally {
    p.kill();
    await p.exited;
  }
}

const f1 = (b: number) => (b / MiB).toFixed(1);

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      quick: { type: "boolean", default: false },
      settle: { type: "string" },
      reps: { type: "string" },
      binary: { type: "string" },
      only: { type: "string" },
    },
  });
  const reps = Number(values.reps ?? (values.quick ? 1 : 3));
  const settle = Number(values.settle ?? (values.quick ? 5 : 10));
  console.log(`footprint bench: Bun ${Bun.version}, ${reps} rep(s), app settle ${settle} s`);

  if (values.only !== "app") {
    const rows: { name: string; mem: Mem }[] = [];
    for (const row of IMPORTS) {
      const ms: Mem[] = [];
      for (let i = 0; i < reps; i++) ms.push(await probe(row.mods, row.use ?? false, []));
      rows.push({
        name: row.name,
        mem: { rss: median(ms.map((m) => m.rss)), pss: median(ms.map((m) => m.pss)) },
      });
    }
    const smol = await probe(["./src/intf/main.ts", "./src/drivers/modbus/index.ts"], false, [
      "--smol",
    ]);
    rows.push({ name: "same, under `bun --smol`", mem: smol });
    const bare = rows[0]!.mem;
    console.log("\n| imports | RSS MiB | PSS MiB | RSS over bare MiB | RSS ratio to bare |");
    console.log("|---|--:|--:|--:|--:|");
    for (const r of rows)
      console.log(
        `| ${r.name} | ${f1(r.mem.rss)} | ${f1(r.mem.pss)} | ${f1(r.mem.rss - bare.rss)} | ${(r.mem.rss / bare.rss).toFixed(2)}× |`,
      );
  }

  if (values.only !== "imports") {
    const base = mkdtempSync(join(tmpdir(), "ne-bench-footprint-"));
    const bun = process.execPath;
    const src = join(ROOT, "src/intf/main.ts");
    const variants: {
      label: string;
      cmd: string[];
      env: Record<string, string>;
      sup?: string[];
    }[] = [
      { label: "ne-intf from source (bun run)", cmd: [bun, "run", src], env: {} },
      { label: "ne-intf from source, bun --smol", cmd: [bun, "--smol", "run", src], env: {} },
    ];
    if (values.binary) {
      const bin = values.binary;
      variants.push(
        {
          label: `ne-intf compiled (${bin})`,
          cmd: [bin, "ne-intf"],
          env: {},
          sup: [bin, "ne-supervisor"],
        },
        {
          label: "ne-intf compiled, BUN_OPTIONS=--smol",
          cmd: [bin, "ne-intf"],
          env: { BUN_OPTIONS: "--smol" },
          sup: [bin, "ne-supervisor"],
        },
      );
    }
    try {
      console.log(
        "\n| idle Modbus app (10 tags at 1 s) | RSS MiB | PSS MiB | bare Bun RSS / PSS MiB (same moment) | RSS ratio to bare | goal RSS ≤ 40 MiB |",
      );
      console.log("|---|--:|--:|--:|--:|---|");
      for (const v of variants) {
        const r = await measureIdleApp({
          base,
          label: v.label,
          env: { NE_INTF_CMD: JSON.stringify(v.cmd), ...v.env },
          settleS: settle,
          ...(v.sup ? { supervisorCmd: v.sup } : {}),
        });
        console.log(
          `| ${v.label} | ${f1(r.app.rss)} | ${f1(r.app.pss)} | ${f1(r.bare.rss)} / ${f1(r.bare.pss)} | ${(r.app.rss / r.bare.rss).toFixed(2)}× | ${r.app.rss <= 40 * MiB ? "met" : "not met"} |`,
        );
      }
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }
  return 0;
}

if (import.meta.main) process.exit(await main());
