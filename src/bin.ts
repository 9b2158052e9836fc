// The reflect-metadata polyfill must be installed before node-opcua's x509 code (tsyringe)
// initialises. Under `bun run` node-opcua imports it itself in time; in the compiled bundle
// the lazy module order puts tsyringe first, which then throws "tsyringe requires a reflect
// polyfill". Importing it here first costs < 1 ms and fixes the compiled OPC UA driver.
import "reflect-metadata";
import { basename } from "node:path";
import { versionLine } from "./build-info.ts";
import { EXIT } from "./core/exit-codes.ts";

/**
 * The multi-call executable: one compiled Bun binary that is every Nodi Edge program. It
 * picks the program from the name it was started as (`/usr/bin/ne-intf` is a symlink to
 * `/usr/bin/nodi-edge`) or, when started under another name, from its first argument:
 *
 *     ne-intf --conn-id=mtc-01            # argv0 basename
 *     nodi-edge-x64 ne-intf --conn-id=…   # first argument
 *     bun run src/bin.ts ne-supervisor    # development
 *
 * Each program is loaded with a dynamic `import()`, so `ne-intf` never evaluates the CLI, the
 * web UI or node-opcua unless its connection needs them. `PROGRAM --version` prints the
 * version, commit and compile target (see `build-info.ts`).
 */
export const PROGRAMS: Record<string, () => Promise<{ main(argv: string[]): Promise<number> }>> = {
  "nodi-edge": () => import("./cli/main.ts"),
  "ne-intf": () => import("./intf/main.ts"),
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
  const name = basename(argv0);
  if (name in PROGRAMS) return { program: name, args };
  const first = args[0];
  if (first !== undefined && first in PROGRAMS) return { program: first, args: args.slice(1) };
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
  const mod = await PROGRAMS[picked.program]!();
  return await mod.main(picked.args);
}

if (import.meta.main) {
  // In a compiled executable process.argv is ["bun", "/$bunfs/root/…", ...args]; the name it
  // was started as (the symlink) is only in process.argv0.
  const code = await main(process.argv0, process.argv.slice(2));
  process.exit(code);
}
