import { basename } from "node:path";
import { versionLine } from "./build-info.ts";
import { EXIT } from "./core/exit-codes.ts";
import { applyEnvFile } from "./env-file.ts";

/**
 * The multi-call executable: one compiled Bun binary that is every Nodi Edge program. It
 * picks the program from its first argument when that names one, else from the name it was
 * started as (`/usr/bin/ne-intf` is a symlink to `/usr/bin/nodi-edge`):
 *
 *     ne-intf --conn-id=mtc-01            # argv0 basename
 *     nodi-edge ne-intf --conn-id=…       # first argument (the supervisor's way)
 *     bun run src/bin.ts ne-supervisor    # development
 *
 * Each program is loaded with a dynamic `import()`, so `ne-intf` never evaluates the CLI, the
 * web UI or node-opcua unless its connection needs them. `PROGRAM --version` prints the
 * version, commit and compile target (see `build-info.ts`).
 */
export const PROGRAMS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  "nodi-edge": () => import("./cli/main.ts"),
  "ne-intf": () => import("./intf/main.ts"),
  "ne-north": () => import("./north/main.ts"),
  "ne-supervisor": () => import("./supervisor/main.ts"),
  "ne-web": () => import("./web/main.ts"),
};

/**
 * Resolves which program to run.
 * @param argv0 the name the process was started as (`process.argv0`), e.g. `/usr/bin/ne-intf`.
 * @param args  the arguments after it.
 * @returns the program name and its own arguments, or `undefined` when neither the name nor
 *   the first argument names a program.
 */
export function resolveProgram(
  argv0: string,
  args: string[],
): { program: string; args: string[] } | undefined {
  // The first argument wins: `/usr/bin/nodi-edge ne-intf --conn-id=x` (how the supervisor
  // starts apps from inside the binary, as [process.execPath, "ne-intf"]) is ne-intf, not the
  // CLI. No CLI command is named like a program, so this is unambiguous.
  const first = args[0];
  if (first !== undefined && Object.hasOwn(PROGRAMS, first)) {
    return { program: first, args: args.slice(1) };
  }
  const name = basename(argv0);
  if (Object.hasOwn(PROGRAMS, name)) return { program: name, args };
  return undefined;
}

/**
 * Runs the program named by `argv0` or `args[0]`.
 * @returns its exit code; `EXIT.USAGE` (64) with a usage text on stderr when no program is named.
 */
export async function main(argv0: string, args: string[]): Promise<number> {
  const picked = resolveProgram(argv0, args);
  if (!picked) {
    if (args[0] === "--version") {
      process.stdout.write(`${versionLine(basename(argv0))}\n`);
      return EXIT.OK;
    }
    process.stderr.write(
      `usage: ${basename(argv0)} PROGRAM [ARGS...]\n` +
        `  PROGRAM is one of: ${Object.keys(PROGRAMS).join(", ")}\n` +
        "  (or start this executable through a link with the program's name)\n",
    );
    return EXIT.USAGE;
  }
  if (picked.args.length === 1 && (picked.args[0] === "--version" || picked.args[0] === "-V")) {
    process.stdout.write(`${versionLine(picked.program)}\n`);
    return EXIT.OK;
  }
  // On an installed gateway the CLI (and any program started by hand) sees the settings the
  // units read from /etc/nodi-edge/nodi-edge.env; variables already set win. Only in the
  // compiled executable: `bun run` from a checkout keeps its own environment.
  if (isCompiled()) applyEnvFile();
  const mod = await PROGRAMS[picked.program]!();
  return await mod.main(picked.args);
}

/** True inside a `bun build --compile` executable (its modules live under `/$bunfs/`). */
export function isCompiled(): boolean {
  return Bun.main.startsWith("/$bunfs/") || import.meta.url.includes("/$bunfs/");
}

if (import.meta.main) {
  // In a compiled executable process.argv is ["bun", "/$bunfs/root/…", ...args]; the name it
  // was started as (the symlink) is only in process.argv0.
  const code = await main(process.argv0, process.argv.slice(2));
  process.exit(code);
}
