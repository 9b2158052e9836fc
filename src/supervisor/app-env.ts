/**
 * Runtime settings every interface app (`ne-intf`) starts with, unless its environment sets
 * them already: under the process manager the supervisor adds them ({@link intfAppEnv});
 * under systemd `packaging/systemd/ne-intf@.service` carries the same as `Environment=`
 * (a test keeps the two equal). They must be in the environment at exec: the allocator reads
 * them before any of the app's code runs.
 *
 * - `MIMALLOC_PURGE_DELAY=0`: Bun's allocator (mimalloc 3) gives freed pages back to the OS
 *   at once instead of after its default 100 ms delay. With the app's heap trim
 *   (`src/intf/heap-trim.ts`) it cost no memory and saved 15 % of an app's CPU (compiled, 16
 *   apps × 300 values/s side by side: 0.99 → 0.84 % of a core per app, anonymous memory
 *   13.8 → 14.0 MiB; docs/performance.md "Memory of a running app"). (-1, never, saved 30 %
 *   but held 8 MiB more per app.)
 * - `BUN_JSC_useConcurrentJIT=0`: JavaScriptCore compiles on the app's own thread instead of
 *   its two `JITWorker` threads, whose allocator pages each app otherwise kept: 0.6–1.0 MiB
 *   less anonymous memory per running compiled app, CPU the same (three side-by-side runs of
 *   8–16 apps; docs/performance.md "PSS per running app, second pass"). A compilation then
 *   delays the app's next poll by its duration, milliseconds, while the code warms up.
 */
export const INTF_APP_ENV: Readonly<Record<string, string>> = {
  MIMALLOC_PURGE_DELAY: "0",
  BUN_JSC_useConcurrentJIT: "0",
};

/**
 * The environment of an interface app: `base` with {@link INTF_APP_ENV}'s settings added
 * where `base` has none (a value set by the operator, even empty, wins).
 */
export function intfAppEnv(
  base: Record<string, string | undefined>,
): Record<string, string | undefined> {
  const out = { ...base };
  for (const [k, v] of Object.entries(INTF_APP_ENV)) if (out[k] === undefined) out[k] = v;
  return out;
}
