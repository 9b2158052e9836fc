/**
 * Heap snapshots for `bench/opcua/run.ts --heap`: after a full garbage collection, this
 * process's memory from /proc/self/smaps_rollup, the JSC heap statistics of `bun:jsc`
 * (heap size, object count, object counts by type) and the number of modules loaded
 * (`require.cache`, which lists ESM modules too). Two snapshots are compared type by type, to
 * see what a number of monitored items adds.
 */
import { heapStats } from "bun:jsc";
import { readFileSync } from "node:fs";
import { loadAverage } from "../support/proc-stats.ts";

/** One measurement point. Memory figures in bytes. */
export interface HeapSnapshot {
  label: string;
  /** Monitored items subscribed at this point. */
  items: number;
  rss: number;
  pss: number;
  /** Anonymous pages (JS heap, malloc, JIT code, stacks). */
  anon: number;
  /** JSC heap size after `Bun.gc(true)` (live cells), and memory held outside cells (buffers). */
  heapSize: number;
  /** Memory the JSC heap holds for cells, live or free (what GC leaves resident). */
  heapCapacity: number;
  extraMemory: number;
  objectCount: number;
  /** Live objects by JSC type name (`Object`, `Function`, `Array`, class names …). */
  types: Record<string, number>;
  modules: number;
  /** How long that `Bun.gc(true)` took, ms. */
  gcMs: number;
  load: string;
}

function rollup(): { rss: number; pss: number; anon: number } {
  const t = readFileSync("/proc/self/smaps_rollup", "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0) * 1024;
  return { rss: kb("Rss"), pss: kb("Pss"), anon: kb("Anonymous") };
}

/** Runs a full synchronous garbage collection, then measures. */
export function snapshot(label: string, items: number): HeapSnapshot {
  const t0 = performance.now();
  Bun.gc(true);
  const gcMs = performance.now() - t0;
  const h = heapStats();
  return {
    label,
    items,
    ...rollup(),
    heapSize: h.heapSize,
    heapCapacity: h.heapCapacity,
    extraMemory: h.extraMemorySize,
    objectCount: h.objectCount,
    types: { ...h.objectTypeCounts },
    modules: Object.keys(require.cache).length,
    gcMs,
    load: loadAverage(),
  };
}

const MiB = (b: number) => (b / 1024 / 1024).toFixed(1);

/** The snapshots as a table, then the object types that grew most between consecutive ones. */
export function formatSnapshots(snaps: HeapSnapshot[], top = 15): string {
  const lines: string[] = [];
  lines.push(
    "point                     items   RSS MiB  PSS MiB  anon MiB  heap MiB  cap. MiB  extra MiB   objects  modules  gc ms  load",
  );
  for (const s of snaps) {
    lines.push(
      [
        s.label.padEnd(24),
        String(s.items).padStart(6),
        MiB(s.rss).padStart(9),
        MiB(s.pss).padStart(8),
        MiB(s.anon).padStart(9),
        MiB(s.heapSize).padStart(9),
        MiB(s.heapCapacity).padStart(9),
        MiB(s.extraMemory).padStart(10),
        String(s.objectCount).padStart(9),
        String(s.modules).padStart(8),
        s.gcMs.toFixed(1).padStart(6),
        ` ${s.load}`,
      ].join(" "),
    );
  }
  const first = snaps[0];
  if (first) {
    lines.push(`\ntop object types at "${first.label}" (the fixed cost):`);
    for (const [t, n] of Object.entries(first.types)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top))
      lines.push(`  ${t.padEnd(40)} ${String(n).padStart(9)}`);
  }
  for (let i = 1; i < snaps.length; i++) {
    const a = snaps[i - 1] as HeapSnapshot;
    const b = snaps[i] as HeapSnapshot;
    const dItems = b.items - a.items;
    const per = (x: number) => (dItems > 0 ? (x / dItems).toFixed(2) : "");
    lines.push(
      `\n"${a.label}" → "${b.label}" (+${dItems} items): heap +${MiB(b.heapSize - a.heapSize)} MiB ` +
        `(${dItems > 0 ? ((b.heapSize - a.heapSize) / dItems / 1024).toFixed(2) : "?"} KiB/item), ` +
        `anon +${MiB(b.anon - a.anon)} MiB, objects +${b.objectCount - a.objectCount} (${per(b.objectCount - a.objectCount)}/item)`,
    );
    const delta = Object.keys({ ...a.types, ...b.types })
      .map((t) => [t, (b.types[t] ?? 0) - (a.types[t] ?? 0)] as const)
      .filter(([, d]) => d !== 0)
      .sort((x, y) => Math.abs(y[1]) - Math.abs(x[1]))
      .slice(0, top);
    for (const [t, d] of delta)
      lines.push(
        `  ${t.padEnd(40)} ${(d > 0 ? `+${d}` : String(d)).padStart(9)}  ${per(d).padStart(7)}/item`,
      );
  }
  return lines.join("\n");
}

/** Modules in `require.cache` counted by npm package (`src` for the project's own), most first. */
export function modulesByPackage(top = 25): string {
  const count = new Map<string, number>();
  for (const k of Object.keys(require.cache)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(k);
    const name =
      m?.[1] ?? (k.includes("/src/") ? "src" : k.startsWith("node:") ? "node:" : "other");
    count.set(name, (count.get(name) ?? 0) + 1);
  }
  return [...count]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([n, c]) => `  ${n.padEnd(48)} ${String(c).padStart(5)}`)
    .join("\n");
}
