/**
 * Records the bytecode layout profiles `build/build.ts` passes to `--bytecode-order`
 * (see {@link BYTECODE_ORDER_DIR}): builds the host target without a profile into a temporary
 * folder, runs `bench/opcua/app.ts --binary … --restart` (the compiled OPC UA `ne-intf` with
 * 1,000 monitored items, started twice) with `BUN_BYTECODE_ORDER_OUT` set, and writes the
 * profiles the two app processes leave on exit:
 *
 * - `10-opcua-restarted.order`: the second start (PKI and certificate exist: how a gateway
 *   starts an app after any restart), listed first;
 * - `20-opcua-first-start.order`: the first start (creates the client's key and certificate).
 *
 *     bun run build/record-bytecode-order.ts [--seconds 5]
 *
 * Needs what the bench needs (redis-server on PATH). Run it again when
 * `bytecodeOrderStats()` (`bun:jsc`) of a running app shows many `cold` functions.
 * @throws Error when the build or the bench fails, or the bench leaves other than 2 profiles.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tempDir } from "../test/support/tmp.ts";
import { BYTECODE_ORDER_DIR, buildTarget, hostTarget } from "./build.ts";

const ROOT = resolve(import.meta.dir, "..");

/** The two profiles of a `--restart` bench run, oldest (first start) first. */
export function pickProfiles(dir: string): { firstStart: string; restarted: string } {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".order"))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
  if (files.length !== 2) throw new Error(`expected 2 profiles in ${dir}, found ${files.length}`);
  for (const f of files) {
    if (!readFileSync(f, "utf8").startsWith("v2\n")) throw new Error(`${f}: not a v2 profile`);
  }
  return { firstStart: files[0] as string, restarted: files[1] as string };
}

async function main(): Promise<number> {
  const target = hostTarget();
  if (!target) throw new Error("needs a linux-x64 or linux-arm64 host");
  const i = process.argv.indexOf("--seconds");
  const seconds = i > 0 ? (process.argv[i + 1] ?? "5") : "5";
  const tmp = tempDir("ne-bytecode-order-");
  try {
    const build = buildTarget(target, join(tmp.path, "dist"), { bytecodeOrder: [] });
    const out = join(tmp.path, "profiles");
    mkdirSync(out);
    const bench = Bun.spawn(
      [
        process.execPath,
        join(ROOT, "bench/opcua/app.ts"),
        "--binary",
        build.binary,
        "--seconds",
        seconds,
        "--restart",
      ],
      {
        cwd: ROOT,
        env: { ...process.env, BUN_BYTECODE_ORDER_OUT: join(out, "%p.order") },
        stdout: "inherit",
        stderr: "inherit",
      },
    );
    if ((await bench.exited) !== 0) throw new Error(`bench/opcua/app.ts exited ${bench.exitCode}`);
    const { firstStart, restarted } = pickProfiles(out);
    mkdirSync(BYTECODE_ORDER_DIR, { recursive: true });
    writeFileSync(join(BYTECODE_ORDER_DIR, "10-opcua-restarted.order"), readFileSync(restarted));
    writeFileSync(join(BYTECODE_ORDER_DIR, "20-opcua-first-start.order"), readFileSync(firstStart));
    console.log(`profiles written to ${BYTECODE_ORDER_DIR}`);
    return 0;
  } finally {
    tmp.cleanup();
  }
}

if (import.meta.main) {
  try {
    process.exitCode = await main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  }
}
