/**
 * Preloaded into an interface app by bench/footprint/over-time.ts (`BUN_OPTIONS=--preload
 * <this file>`, which a compiled binary honours too): every `NE_PROBE_INTERVAL_MS` (default
 * 15000) ms appends one JSON line to `NE_PROBE_DIR/<pid>.jsonl`: `t` (ms since the probe
 * loaded), `bun:jsc` `heapStats()` (heap size and capacity, extra memory, object counts by
 * type), mimalloc's own figures (live normal and huge bytes, committed, pages, 16 KiB
 * blocks: the JS heap's `MarkedBlock`s). With `NE_PROBE_FULLGC=1` each sample is
 * taken after a `bun:jsc` `fullGC()`: the live objects, to find what grows (it changes the
 * app's memory: a diagnostic run, not a measure). With `NE_PROBE_PROMOTED=1` each sample is an
 * eden collection, the sample, then a full collection: `promoted` is what the old generation
 * gained since the previous sample's full collection (bytes, and object counts by type, the
 * largest 15): the garbage Bun's eden collections promoted in one interval. Only for benches: the app itself knows nothing of it.
 */
import { edenGC, fullGC, heapStats } from "bun:jsc";
import { appendFileSync } from "node:fs";

const dir = process.env.NE_PROBE_DIR;
const every = Number(process.env.NE_PROBE_INTERVAL_MS ?? 15_000);
const t0 = performance.now();

/** One sample: heap, malloc and compile figures of this process now. */
function sample(): Record<string, unknown> {
  const h = heapStats() as ReturnType<typeof heapStats> & {
    mimalloc?: {
      malloc_normal?: { current: number };
      malloc_huge?: { current: number };
      committed?: { current: number };
      pages?: { current: number };
      malloc_bins?: { current: number; block_size: number }[];
    };
  };
  const m = h.mimalloc;
  const blocks16k = m?.malloc_bins?.find((b) => b.block_size === 16384)?.current ?? 0;
  return {
    t: Math.round(performance.now() - t0),
    heapSize: h.heapSize,
    heapCapacity: h.heapCapacity,
    extra: h.extraMemorySize,
    objects: h.objectCount,
    types: h.objectTypeCounts,
    mallocNormal: m?.malloc_normal?.current ?? 0,
    mallocHuge: m?.malloc_huge?.current ?? 0,
    committed: m?.committed?.current ?? 0,
    pages: m?.pages?.current ?? 0,
    blocks16k,
  };
}

if (dir) {
  const file = `${dir}/${process.pid}.jsonl`;
  const gc = process.env.NE_PROBE_FULLGC === "1";
  const promoted = process.env.NE_PROBE_PROMOTED === "1";
  let base: { heap: number; types: Record<string, number> } | undefined;
  const timer = setInterval(() => {
    if (gc) fullGC();
    if (promoted) edenGC();
    const s = sample();
    if (promoted) {
      const types = s.types as Record<string, number>;
      if (base) {
        const d = Object.keys(types)
          .map((k) => [k, types[k]! - (base!.types[k] ?? 0)] as const)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 15);
        s.promoted = { bytes: (s.heapSize as number) - base.heap, types: Object.fromEntries(d) };
      }
      fullGC();
      const h = heapStats();
      base = { heap: h.heapSize, types: { ...h.objectTypeCounts } };
    }
    appendFileSync(file, `${JSON.stringify(s)}\n`);
  }, every);
  timer.unref();
}
