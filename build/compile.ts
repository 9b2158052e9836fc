/**
 * Runs one `Bun.build` for `build/build.ts` in a child process (so that `buildTarget` stays
 * synchronous): `bun build/compile.ts CONFIG_JSON`, where CONFIG_JSON is the
 * `Bun.BuildConfig` of `buildConfig()` without plugins; adds the lazy-imports plugin
 * (`lazy-imports.ts`). Exits 0 on success, 1 with Bun's messages on stderr otherwise.
 */
import { lazyImportsPlugin } from "./lazy-imports.ts";

if (import.meta.main) {
  const config = JSON.parse(process.argv[2] ?? "{}") as Bun.BuildConfig;
  try {
    const r = await Bun.build({ ...config, plugins: [lazyImportsPlugin()] });
    if (!r.success) {
      for (const l of r.logs) console.error(String(l));
      process.exitCode = 1;
    }
  } catch (e) {
    // Bun.build throws an AggregateError with the build messages
    const errors = e instanceof AggregateError ? e.errors : [e];
    for (const x of errors) console.error(x instanceof Error ? x.message : String(x));
    process.exitCode = 1;
  }
}
