/**
 * Child process of the footprint bench: imports the modules named on the command line (none
 * = a bare Bun process), optionally exercises them (`--use`), settles, runs a full garbage
 * collection and prints `ready {heap JSON}` (JSC heap statistics from `bun:jsc` and the
 * number of modules in `require.cache`, which lists ESM modules too); then idles until
 * killed. The parent reads its /proc/PID/smaps.
 *
 *   bun bench/footprint/probe.ts [--use] [module…]
 */
import { heapStats } from "bun:jsc";

const args = process.argv.slice(2);
const use = args.includes("--use");
const mods = args.filter((a) => a !== "--use");
const loaded: unknown[] = [];
for (const m of mods) loaded.push(await import(m.startsWith(".") ? `${process.cwd()}/${m}` : m));
if (use) {
  // Touch the main entry of each module once, the way the app does at start.
  for (const [i, m] of mods.entries()) {
    const ns = loaded[i] as Record<string, unknown>;
    if (m === "pino") (ns.default as (o: object) => { info(s: string): void })({}).info("x");
    if (m.endsWith("src/core/log.ts"))
      (ns.createLogger as (n: string) => { info(s: string): void })("probe").info("x");
  }
}
await Bun.sleep(500);
Bun.gc(true);
const h = heapStats();
const info = {
  heap: h.heapSize,
  objects: h.objectCount,
  extra: h.extraMemorySize,
  modules: Object.keys(require.cache).length,
};
// not process.stdout: that loads node:stream (~4 MiB)
await Bun.write(Bun.stdout, `ready ${JSON.stringify(info)}\n`);
setInterval(() => {}, 1 << 30);
