#!/usr/bin/env bun
import { Command, CommanderError } from "commander";
import { versionLine } from "../build-info.ts";
import { escapeControlChars } from "../core/control-chars.ts";
import { errorPolicy, isNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import { GROUPS } from "./commands/index.ts";
import { type BusFactory, type CliIO, createContext } from "./context.ts";
import { CliExit } from "./exit.ts";

const defaultIO: CliIO = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  env: process.env,
};

/** Options of {@link main} for tests and embedding. */
export interface MainOptions {
  io?: CliIO;
  busFactory?: BusFactory;
}

/** Builds the `nodi-edge` program with every command group registered. */
export function buildProgram(io: CliIO, busFactory?: BusFactory): Command {
  const program = new Command("nodi-edge");
  program
    .description(
      "Nodi Edge: configure connections, devices, blocks, tags and northbounds; import and export CSV; status; read, watch and write tags",
    )
    .option("--db <file>", "SQLite source of truth (default: NE_DB or ./nodi-edge.db)")
    .option("--json", "machine-readable JSON output")
    .version(
      versionLine("nodi-edge"),
      "-V, --version",
      "print the version, commit and build target",
    )
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  const ctx = createContext(program, io, busFactory);
  for (const g of GROUPS) g.register(program, ctx);
  for (const cmd of allCommands(program)) {
    cmd.exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  }
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

/**
 * Runs `nodi-edge` with `argv` (the arguments after the program name).
 * @returns the exit code: 0 OK, 64 usage, 65 bad data, 66 not found, 69 unavailable,
 *   78 database too new or a bad setting, 1 a bug (see docs/cli.md).
 */
export async function main(argv: string[], opts: MainOptions = {}): Promise<number> {
  const io = withEscapedControlChars(opts.io ?? defaultIO);
  if (!opts.io) exitQuietlyOnBrokenPipe();
  const program = buildProgram(io, opts.busFactory);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return EXIT.OK;
  } catch (e) {
    if (e instanceof CliExit) return e.code;
    if (e instanceof CommanderError) {
      if (e.code === "commander.helpDisplayed" || e.code === "commander.version") return EXIT.OK;
      if (e.code === "commander.help") return EXIT.OK;
      return EXIT.USAGE;
    }
    if (isNodiError(e)) {
      io.err(`nodi-edge: ${e.message}\n`);
      // A database too new for this build, a bad setting (NE_REDIS_URL, NE_LOG_LEVEL, …):
      // the configuration of this machine must change, not the command (docs/cli.md).
      if (e.reason === "schema_too_new" || e.reason === "invalid_settings") return EXIT.CONFIG;
      if (e.reason === "usage") return EXIT.USAGE; // e.g. import: two tags files, no connections.csv
      return errorPolicy[e.kind].exitCode; // see docs/cli.md
    }
    io.err(`nodi-edge: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.CRASH;
  }
}

/**
 * `io` whose output never carries a raw control character (ESC, BEL, CSI, …; only line ends
 * pass): the CLI prints text from the DB (rows written before the store refused control
 * characters), from devices (string tags) and from argv, and a terminal must not run it.
 * Each is shown as its JSON escape (`\u001b`), which keeps `--json` output valid JSON.
 */
function withEscapedControlChars(io: CliIO): CliIO {
  return {
    ...io,
    out: (s) => io.out(escapeControlChars(s, "\n")),
    err: (s) => io.err(escapeControlChars(s, "\n")),
  };
}

const brokenPipeHandled = new WeakSet<NodeJS.WriteStream>();

/**
 * A reader that closes our stdout (`nodi-edge tag watch … | head`) is a normal end of the
 * output, not an error: exit 0 quietly instead of dying with an EPIPE stack trace.
 */
export function exitQuietlyOnBrokenPipe(stream: NodeJS.WriteStream = process.stdout): void {
  if (brokenPipeHandled.has(stream)) return;
  brokenPipeHandled.add(stream);
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT.OK);
    throw e;
  });
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
