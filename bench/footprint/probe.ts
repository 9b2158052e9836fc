/**
 * Child process of the footprint bench: imports the modules named on the command line (none
 * = a bare Bun process), optionally exercises them (`--use`), settles, runs a full garbage
 * collection and prints `ready`; then idles until killed. The parent reads its
 * /proc/PID/smaps_rollup.
 *
 *   bun bench/footprint/probe.ts [--use] [module…]
 */
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
  }
}
await Bun.sleep(500);
Bun.gc(true);
await Bun.write(Bun.stdout, "ready\n"); // not process.stdout: that loads node:stream (~7 MiB)
setInterval(() => {}, 1 << 30);

export {};
