/**
 * Builds the Nodi Edge executables with `bun build --compile`: ONE multi-call binary per
 * target (`src/bin.ts`) plus symlinks named after each program.
 *
 *     bun run build/build.ts [--target linux-x64|linux-arm64|all] [--out dist]
 *
 * Output, per target: `dist/<target>/nodi-edge` (the binary) and the links `ne-intf`, `ne-north`,
 * `ne-supervisor`, `ne-web` → `nodi-edge`, plus `dist/<target>/build.json` (version, commit,
 * target, size in bytes, build time in ms).
 *
 * Cross-compiling: Bun normally downloads the runtime of a foreign target from the
 * internet. Here the runtime comes from the npm package `@oven/bun-linux-<arch>` of the same
 * Bun version (fetched once with `npm pack` into `node_modules/.cache/nodi-edge-build/`) and is
 * passed with `--compile-executable-path`.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { join, resolve } from "node:path";

/** A target this script builds. */
export type Target = "linux-x64" | "linux-arm64";
/** Every target, in build order. */
export const TARGETS: readonly Target[] = ["linux-x64", "linux-arm64"];
/** Program names; each becomes a symlink to the multi-call binary. */
export const PROGRAM_LINKS = ["ne-intf", "ne-north", "ne-supervisor", "ne-web"] as const;
/** The multi-call binary's own name (it runs the CLI when started under it). */
export const BINARY_NAME = "nodi-edge";

const ROOT = resolve(import.meta.dir, "..");
const CACHE = join(ROOT, "node_modules", ".cache", "nodi-edge-build");

/** The result of building one target. */
export interface BuildResult {
  target: Target;
  /** Directory holding the binary and its links. */
  dir: string;
  /** Path of the binary. */
  binary: string;
  version: string;
  commit: string;
  /** Size of the binary in bytes. */
  bytes: number;
  /** Wall time of `bun build` in ms. */
  ms: number;
}

/** `linux-arm64` → the Debian architecture name (`arm64`); `linux-x64` → `amd64`. */
export function debArch(target: Target): "amd64" | "arm64" {
  return target === "linux-x64" ? "amd64" : "arm64";
}

/** The host's target, or undefined on an unsupported host. */
export function hostTarget(): Target | undefined {
  if (process.platform !== "linux") return undefined;
  if (process.arch === "x64") return "linux-x64";
  if (process.arch === "arm64") return "linux-arm64";
  return undefined;
}

/** Short commit hash of HEAD, `+dirty` when tracked files differ; `unknown` outside git. */
export function gitCommit(): string {
  try {
    const hash = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
    const dirty = spawnSync("git", ["diff", "--quiet", "HEAD", "--", "src", "package.json"], {
      cwd: ROOT,
    }).status;
    return dirty === 0 ? hash : `${hash}+dirty`;
  } catch {
    return "unknown";
  }
}

/** The version in package.json. */
export function packageVersion(): string {
  return JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version as string;
}

/**
 * Returns the path of a Bun runtime for `target`, of the running Bun's version, from the npm
 * registry (`@oven/bun-linux-aarch64` / `@oven/bun-linux-x64`), cached.
 * @throws Error when `npm pack` fails (no registry access) or the tarball lacks `bin/bun`.
 */
export function foreignRuntime(target: Target): string {
  const pkg = target === "linux-arm64" ? "@oven/bun-linux-aarch64" : "@oven/bun-linux-x64";
  const dir = join(CACHE, `${target}-${Bun.version}`);
  const bin = join(dir, "package", "bin", "bun");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const out = execFileSync(
    "npm",
    ["pack", "--silent", "--pack-destination", dir, `${pkg}@${Bun.version}`],
    { cwd: dir },
  )
    .toString()
    .trim()
    .split("\n")
    .pop()!;
  execFileSync("tar", ["-xzf", join(dir, out), "-C", dir]);
  rmSync(join(dir, out));
  if (!existsSync(bin)) throw new Error(`${pkg}@${Bun.version}: no package/bin/bun in the tarball`);
  return bin;
}

/**
 * How many levels of nested functions get bytecode ahead of time (`--bytecode-depth`): 1 =
 * every module's top-level code and the functions and methods defined there; closures nested
 * deeper are compiled from source the first time they run. Measured on linux-x64 with the
 * northbound in the bundle (2026-12-02, Bun 1.4.5 runtime 107.4 MB): all levels 130.1 MB
 * (1.211 runtimes, over the 1.2 budget), depth 3 128.6 MB (1.197), 2 127.6 MB (1.188),
 * 1 124.3 MB (1.158), 0 118.2 MB (1.101). Start-up is dominated by top-level module code,
 * which depth 1 keeps precompiled (docs/performance.md, "Start-up").
 */
export const BYTECODE_DEPTH = 1;

/**
 * Where the bytecode layout profiles live (`--bytecode-order`, Bun's profile-guided layout of
 * the executable's bytecode): files `NN-name.order`, recorded by `build/record-bytecode-order.ts`
 * from the compiled executable running as a gateway runs it. With them the bytecode the
 * recorded runs used sits together at the front of the executable's `.bun` section, so a
 * running program touches (and keeps resident) fewer of its pages. The files hold function
 * hashes, no source; a profile from an older build still applies (functions changed since are
 * placed right after the recorded ones). docs/performance.md, "OPC UA app memory, third pass".
 */
export const BYTECODE_ORDER_DIR = join(ROOT, "build", "bytecode-order");

/**
 * The bytecode layout profiles {@link buildTarget} passes to `--bytecode-order`, in the
 * order of their file names (the first one's functions come first): absolute paths, `[]`
 * when the folder holds none.
 */
export function bytecodeOrderFiles(dir = BYTECODE_ORDER_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".order"))
    .sort()
    .map((f) => join(dir, f));
}

/** Options of {@link buildTarget} beyond the target and output folder. */
export interface BuildOptions {
  /** Bytecode layout profiles (default {@link bytecodeOrderFiles}); `[]` builds without one. */
  bytecodeOrder?: string[];
}

/**
 * The `Bun.build` configuration {@link buildTarget} runs for `target`, writing `binary` (the
 * flags explained there), without its plugin (`build/compile.ts` adds the lazy imports of
 * `lazy-imports.ts`). With bytecode layout profiles (`opts.bytecodeOrder`, default
 * {@link bytecodeOrderFiles}) it sets `compile.bytecodeOrder`.
 * @throws Error when a foreign target's runtime cannot be fetched ({@link foreignRuntime}).
 */
export function buildConfig(target: Target, binary: string, opts: BuildOptions = {}) {
  const version = packageVersion();
  const commit = gitCommit();
  const bunTarget = `bun-${target}` as const;
  const order = opts.bytecodeOrder ?? bytecodeOrderFiles();
  return {
    entrypoints: [join(ROOT, "src", "bin.ts")],
    compile: {
      target: bunTarget,
      outfile: binary,
      autoloadDotenv: false,
      autoloadBunfig: false,
      ...(order.length > 0 ? { bytecodeOrder: order } : {}),
      ...(target !== hostTarget() ? { executablePath: foreignRuntime(target) } : {}),
    },
    minify: { whitespace: true, syntax: true, identifiers: false },
    bytecode: true,
    bytecodeDepth: BYTECODE_DEPTH,
    splitting: true,
    format: "esm" as const,
    target: "bun" as const,
    external: ["proper-lockfile"],
    define: {
      NE_BUILD_VERSION: JSON.stringify(version),
      NE_BUILD_COMMIT: JSON.stringify(commit),
      NE_BUILD_TARGET: JSON.stringify(bunTarget),
    },
  } satisfies Bun.BuildConfig;
}

/**
 * Compiles `src/bin.ts` for `target` into `outRoot/<target>/`, with `Bun.build` in a child
 * process (`build/compile.ts`; the API, not the CLI, because of the plugin of
 * `lazy-imports.ts`, which makes parts of node-opcua's dependencies load on first use).
 * Options, named as the CLI's flags: `--bytecode --bytecode-depth={@link BYTECODE_DEPTH} --format=esm` with `--minify-whitespace --minify-syntax` (start-up
 * ~30 ms instead of ~100 ms); `--splitting`, so every dynamic `import()` of `src/bin.ts`
 * (one per program) and of the driver registry is its own chunk inside the executable and
 * `ne-intf` for Modbus never loads the CLI, the web UI or node-opcua (`--version`: 20 → 8 ms). Not `--minify`: its identifier renaming breaks node-opcua,
 * which checks class names (`constructor.name === "ClientSubscriptionImpl"` when creating
 * monitored items; the compiled OPC UA driver then fails with an empty assertion error),
 * and `--keep-names` does not repair that in Bun 1.4.5. No
 * `.env`/`bunfig.toml` autoload (settings come only from the environment),
 * `--external proper-lockfile` (optional dependency of node-opcua; it falls back to its
 * native lock provider), `--bytecode-order` with the profiles of {@link BYTECODE_ORDER_DIR}
 * (unless `opts.bytecodeOrder` says otherwise).
 * @throws Error with Bun's messages when the build fails.
 */
export function buildTarget(
  target: Target,
  outRoot = join(ROOT, "dist"),
  opts: BuildOptions = {},
): BuildResult {
  const dir = join(outRoot, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const binary = join(dir, BINARY_NAME);
  const version = packageVersion();
  const commit = gitCommit();
  const config = buildConfig(target, binary, opts);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "build", "compile.ts"), JSON.stringify(config)],
    { cwd: ROOT, encoding: "utf8" },
  );
  const ms = Math.round(performance.now() - t0);
  if (r.status !== 0) {
    throw new Error(`bun build for ${target} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  for (const link of PROGRAM_LINKS) symlinkSync(BINARY_NAME, join(dir, link));
  const result: BuildResult = {
    target,
    dir,
    binary,
    version,
    commit,
    bytes: statSync(binary).size,
    ms,
  };
  const { dir: _d, binary: _b, ...info } = result;
  Bun.write(join(dir, "build.json"), `${JSON.stringify(info, null, 2)}\n`);
  return result;
}

/** Parses `--target X` / `--target=X` and `--out DIR`. @throws Error on an unknown target. */
export function parseArgs(argv: string[]): { targets: Target[]; out: string } {
  let target = "all";
  let out = join(ROOT, "dist");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--target") target = argv[++i] ?? "";
    else if (a.startsWith("--target=")) target = a.slice(9);
    else if (a === "--out") out = resolve(argv[++i] ?? "dist");
    else if (a.startsWith("--out=")) out = resolve(a.slice(6));
    else throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
  return { targets: resolveTargets(target), out };
}

/**
 * The targets a `--target` value names: `all`, or one of {@link TARGETS}.
 * @throws Error naming the accepted values.
 */
export function resolveTargets(target: string): Target[] {
  if (target === "all") return [...TARGETS];
  if ((TARGETS as readonly string[]).includes(target)) return [target as Target];
  throw new Error(
    `--target must be one of ${TARGETS.join(", ")}, all (got ${JSON.stringify(target)})`,
  );
}

if (import.meta.main) {
  try {
    const { targets, out } = parseArgs(process.argv.slice(2));
    for (const t of targets) {
      const r = buildTarget(t, out);
      console.log(
        `${r.target}: ${r.binary} ${(r.bytes / 1e6).toFixed(1)} MB in ${r.ms} ms (${r.version}, ${r.commit})`,
      );
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
