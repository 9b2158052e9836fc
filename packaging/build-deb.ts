/**
 * Builds `dist/nodi-edge_VERSION_{amd64,arm64}.deb` from the compiled executables with
 * Debian's own tools: `dpkg-shlibdeps` (library dependencies), `dpkg-gencontrol` (the
 * binary control file from `packaging/debian/control`, version from `package.json`,
 * Installed-Size) and `dpkg-deb --build --root-owner-group`.
 *
 *     bun run packaging/build-deb.ts [--target linux-x64|linux-arm64|all] [--no-compile]
 *                                    [--compress gzip|xz] [--version-suffix +t1] [--out dist]
 *
 * `--no-compile` packages what `build/build.ts` left in `dist/<target>/`; otherwise it
 * compiles first. Compression: the default `gzip` (level 1, ~7 s, 58 MB) for tests and
 * development; `--compress xz` (level 6, ~3 min on a loaded 2-core machine, 41 MB) for a
 * release. (zstd is faster still, but lintian rejects it as malformed-deb-archive and the
 * Debian archive does not accept it.) `--version-suffix` appends to the version (tests build
 * an "upgrade" package `0.1.0+t1`).
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import {
  BINARY_NAME,
  buildTarget,
  debArch,
  gitCommit,
  hostTarget,
  PROGRAM_LINKS,
  packageVersion,
  resolveTargets,
  type Target,
} from "../build/build.ts";

const ROOT = resolve(import.meta.dir, "..");
const PKG = join(ROOT, "packaging");

/** Options of {@link buildDeb}. */
export interface DebOptions {
  /** Compile first (default true); false packages `dist/<target>/` as it is. */
  compile?: boolean;
  /** `dpkg-deb` compressor (default `gzip`, level 1). */
  compress?: "gzip" | "xz";
  /** Appended to the package.json version, e.g. `+t1`. */
  versionSuffix?: string;
  /** Output directory (default `dist`). */
  out?: string;
}

/** What {@link buildDeb} produced. */
export interface DebResult {
  target: Target;
  arch: "amd64" | "arm64";
  version: string;
  /** Path of the `.deb`. */
  deb: string;
  /** Size of the `.deb` in bytes. */
  bytes: number;
  /** Installed-Size from the control file, KiB. */
  installedKiB: number;
}

/** Files of the package: [source under packaging/, destination in the root, mode]. */
export const FILES: [string, string, number][] = [
  ["systemd/ne-supervisor.service", "lib/systemd/system/ne-supervisor.service", 0o644],
  ["systemd/ne-intf@.service", "lib/systemd/system/ne-intf@.service", 0o644],
  ["systemd/ne-north@.service", "lib/systemd/system/ne-north@.service", 0o644],
  ["systemd/ne-web.service", "lib/systemd/system/ne-web.service", 0o644],
  [
    "redis/redis-server@nodi-edge.service.d.conf",
    "lib/systemd/system/redis-server@nodi-edge.service.d/nodi-edge.conf",
    0o644,
  ],
  ["redis/redis-nodi-edge.conf", "etc/redis/redis-nodi-edge.conf", 0o644],
  ["redis/nodi-edge.conf", "etc/nodi-edge/redis.conf", 0o644],
  ["etc/nodi-edge.env", "etc/nodi-edge/nodi-edge.env", 0o644],
  ["polkit/50-nodi-edge.rules", "usr/share/polkit-1/rules.d/50-nodi-edge.rules", 0o644],
  ["debian/copyright", "usr/share/doc/nodi-edge/copyright", 0o644],
  ["lintian-overrides", "usr/share/lintian/overrides/nodi-edge", 0o644],
];
const SCRIPTS = ["preinst", "postinst", "prerm", "postrm"];
/** Where the documentation goes: `/usr/share/doc/nodi-edge/`. */
export const DOC_DIR = "usr/share/doc/nodi-edge";

/**
 * The documentation the package ships: every `docs/*.md` under its own name (the CLI, the web
 * UI, the units and the docs themselves point to `csv.md`, `cli.md`, `web.md`, … and link
 * each other as siblings), and `docs/packaging.md` once more as `README.md`, the page the
 * units' `Documentation=` and the settings file name first.
 * @returns [path in the repository, destination in the package root] pairs.
 */
export function docFiles(root = ROOT): [string, string][] {
  const pages = readdirSync(join(root, "docs"))
    .filter((f) => f.endsWith(".md"))
    .sort();
  return [
    ["docs/packaging.md", `${DOC_DIR}/README.md`],
    ...pages.map((f): [string, string] => [`docs/${f}`, `${DOC_DIR}/${f}`]),
  ];
}

/** Where the shipped device profiles go: `/usr/share/nodi-edge/profiles/{name}/` (docs/csv.md). */
export const PROFILE_DIR = "usr/share/nodi-edge/profiles";

/**
 * The device profiles the package ships: every `examples/profiles/{name}/*.csv`, importable
 * with `nodi-edge profile add /usr/share/nodi-edge/profiles/{name}`.
 * @returns [path in the repository, destination in the package root] pairs.
 */
export function profileFiles(root = ROOT): [string, string][] {
  const base = join(root, "examples", "profiles");
  return readdirSync(base, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .flatMap((name) =>
      readdirSync(join(base, name))
        .filter((f) => f.endsWith(".csv"))
        .sort()
        .map((f): [string, string] => [
          `examples/profiles/${name}/${f}`,
          `${PROFILE_DIR}/${name}/${f}`,
        ]),
    );
}

/** RFC 2822 date for the changelog trailer. */
function changelogDate(): string {
  return execFileSync("date", ["-R"]).toString().trim();
}

/**
 * Builds the `.deb` of `target`.
 * @throws Error with the tool's output when compiling, `dpkg-shlibdeps`, `dpkg-gencontrol` or
 *   `dpkg-deb` fails, or when `dist/<target>/nodi-edge` is missing with `compile: false`.
 */
export function buildDeb(target: Target, opts: DebOptions = {}): DebResult {
  const out = resolve(opts.out ?? join(ROOT, "dist"));
  const arch = debArch(target);
  const binDir = join(out, target);
  if (opts.compile !== false) buildTarget(target, out);
  const binary = join(binDir, BINARY_NAME);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run bun run build/build.ts`);

  const version = packageVersion() + (opts.versionSuffix ?? "");
  const work = join(out, "deb", arch);
  rmSync(work, { recursive: true, force: true });
  const root = join(work, "debian", "nodi-edge");
  const mk = (p: string) => mkdirSync(join(root, p), { recursive: true });

  // Source-package metadata dpkg-gencontrol reads: debian/control, debian/changelog.
  mkdirSync(join(work, "debian"), { recursive: true });
  copyFileSync(join(PKG, "debian", "control"), join(work, "debian", "control"));
  const changelog = readFileSync(join(PKG, "debian", "changelog.in"), "utf8")
    .replaceAll("@VERSION@", version)
    .replaceAll("@COMMIT@", gitCommit())
    .replaceAll("@DATE@", changelogDate());
  writeFileSync(join(work, "debian", "changelog"), changelog);

  // The file tree.
  mk("usr/bin");
  copyFileSync(binary, join(root, "usr/bin", BINARY_NAME));
  chmodSync(join(root, "usr/bin", BINARY_NAME), 0o755);
  for (const link of PROGRAM_LINKS) symlinkSync(BINARY_NAME, join(root, "usr/bin", link));
  for (const [src, dst, mode] of FILES) {
    mk(dst.slice(0, dst.lastIndexOf("/")));
    copyFileSync(join(PKG, src), join(root, dst));
    chmodSync(join(root, dst), mode);
  }
  mk("usr/share/man/man1");
  writeFileSync(
    join(root, "usr/share/man/man1/nodi-edge.1.gz"),
    gzipSync(readFileSync(join(PKG, "man", "nodi-edge.1")), { level: 9 }),
  );
  for (const link of PROGRAM_LINKS) {
    symlinkSync("nodi-edge.1.gz", join(root, "usr/share/man/man1", `${link}.1.gz`));
  }
  mk(DOC_DIR);
  for (const [src, dst] of docFiles()) {
    copyFileSync(join(ROOT, src), join(root, dst));
    chmodSync(join(root, dst), 0o644);
  }
  for (const [src, dst] of profileFiles()) {
    mk(dst.slice(0, dst.lastIndexOf("/")));
    copyFileSync(join(ROOT, src), join(root, dst));
    chmodSync(join(root, dst), 0o644);
  }
  const gz = gzipSync(changelog, { level: 9 });
  writeFileSync(join(root, "usr/share/doc/nodi-edge/changelog.gz"), gz);

  // Control area: maintainer scripts and conffiles.
  mk("DEBIAN");
  for (const s of SCRIPTS) {
    copyFileSync(join(PKG, "debian", s), join(root, "DEBIAN", s));
    chmodSync(join(root, "DEBIAN", s), 0o755);
  }
  writeFileSync(
    join(root, "DEBIAN", "conffiles"),
    "/etc/nodi-edge/nodi-edge.env\n/etc/nodi-edge/redis.conf\n/etc/redis/redis-nodi-edge.conf\n",
  );

  // Library dependencies. dpkg-shlibdeps needs the target's libraries installed; for the
  // foreign architecture the host's result is used (the Bun runtimes of both architectures
  // link the same libraries with the same symbol versions, GLIBC_2.17 at most).
  const substvars = join(work, "debian", "nodi-edge.substvars");
  const host = hostTarget();
  const probe =
    target === host ? join(root, "usr/bin", BINARY_NAME) : host ? hostBinary(host, out) : undefined;
  if (probe) {
    run("dpkg-shlibdeps", [`-T${substvars}`, "-e", probe], work);
  } else {
    writeFileSync(substvars, "shlibs:Depends=libc6 (>= 2.17)\n");
  }
  run(
    "dpkg-gencontrol",
    ["-pnodi-edge", `-T${substvars}`, `-P${root}`, `-DArchitecture=${arch}`, `-v${version}`],
    work,
  );

  const deb = join(out, `nodi-edge_${version}_${arch}.deb`);
  const compress = opts.compress ?? "gzip";
  const level = compress === "gzip" ? "1" : "6";
  run(
    "dpkg-deb",
    ["--root-owner-group", `-Z${compress}`, `-z${level}`, "--build", root, deb],
    work,
  );
  const control = readFileSync(join(root, "DEBIAN", "control"), "utf8");
  const installedKiB = Number(/^Installed-Size: (\d+)$/m.exec(control)?.[1] ?? 0);
  const bytes = Bun.file(deb).size;
  return { target, arch, version, deb, bytes, installedKiB };
}

/** The host-architecture binary, compiled when missing (only used to compute shlibs). */
function hostBinary(host: Target, out: string): string {
  const p = join(out, host, BINARY_NAME);
  if (!existsSync(p)) buildTarget(host, out);
  return p;
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] }).toString();
  } catch (e) {
    const err = e as { stderr?: Buffer; stdout?: Buffer; status?: number };
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${err.status}):\n${err.stdout ?? ""}${err.stderr ?? ""}`,
    );
  }
}

/** Parses the command line of this script. @throws Error on an unknown argument. */
export function parseDebArgs(argv: string[]): { targets: Target[]; opts: DebOptions } {
  let target = "all";
  const opts: DebOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [k, inline] = a.includes("=")
      ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)]
      : [a, undefined];
    const val = () => inline ?? argv[++i] ?? "";
    if (k === "--target") target = val();
    else if (k === "--no-compile") opts.compile = false;
    else if (k === "--compress") {
      const c = val();
      if (c !== "gzip" && c !== "xz") throw new Error(`--compress must be gzip or xz (got ${c})`);
      opts.compress = c;
    } else if (k === "--version-suffix") opts.versionSuffix = val();
    else if (k === "--out") opts.out = resolve(val());
    else throw new Error(`unknown argument ${JSON.stringify(a)}`);
  }
  return { targets: resolveTargets(target), opts };
}

if (import.meta.main) {
  try {
    const { targets, opts } = parseDebArgs(process.argv.slice(2));
    for (const t of targets) {
      const r = buildDeb(t, opts);
      console.log(
        `${r.deb}: ${(r.bytes / 1e6).toFixed(1)} MB, installed ${(r.installedKiB / 1024).toFixed(1)} MiB`,
      );
    }
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
