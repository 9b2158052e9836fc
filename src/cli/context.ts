import type { Command } from "commander";
import { type Identity, processIdentity } from "../core/identity.ts";
import { loadSettings, type Settings } from "../core/settings.ts";
import type { Publisher } from "../store/notify.ts";
import { openStore, type Store } from "../store/store.ts";
import { openTagBus as openRedisTagBus } from "../tagbus/index.ts";

/** Where a command writes, and the environment it reads. Tests pass their own. */
export interface CliIO {
  /** Writes to standard output (the text must carry its own newline). */
  out(text: string): void;
  /** Writes to standard error (the text must carry its own newline). */
  err(text: string): void;
  /** Environment variables (settings). */
  env: Record<string, string | undefined>;
}

/** A TagBus as the CLI uses it: publish system tags, then close. */
export interface CliBus extends Publisher {
  /**
   * Flushes and closes (at most `timeoutMs`).
   * @returns true when everything published reached the bus, false when some samples
   *   could not be delivered (bus unreachable).
   */
  close(timeoutMs?: number): Promise<boolean>;
}

/**
 * What every command group gets: the I/O, the global options (`--db`, `--json`), the
 * settings, and factories for the store and the TagBus. Nothing is opened until asked.
 */
export interface CliContext {
  io: CliIO;
  /** True with the global `--json`: print machine-readable JSON on stdout. */
  json(): boolean;
  /** Settings from the environment, with `--db` overriding `NE_DB`. */
  settings(): Settings;
  /**
   * Opens the source of truth (migrating it). The caller closes it.
   * @param opts.create  create the file when it is missing: only for commands that create
   *   configuration (`db init`, `import`, `conn add`). Default false.
   * @throws NodiError `not_found` (exit 66) `no database at PATH; create it with nodi-edge db
   *   init` when the file is missing and `create` is not set — a mistyped `--db` must not
   *   become a new, empty database.
   */
  openStore(opts?: { create?: boolean }): Store;
  /** Opens the TagBus for announcing changes (see {@link openTagBus}). */
  openTagBus(): Promise<CliBus>;
  /** Prints `data` as JSON (with `--json`) or `text()` otherwise. */
  print(data: unknown, text: () => string): void;
  /**
   * Who runs this command, for the audit trail and write requests: the Unix user of the
   * process's uid (core/identity.ts `processIdentity`), never a name from the command line.
   */
  identity(label?: string): Identity;
}

/** A factory of the bus; tests substitute one (e.g. a recorder or a bus on a private Redis). */
export type BusFactory = (settings: Settings) => Promise<CliBus>;

/**
 * Opens the TagBus the CLI announces changes on: the Redis TagBus at `NE_REDIS_URL` /
 * `NE_REDIS_PREFIX` with producer id `cli`. When Redis is unreachable it still resolves
 * (after the bus's connect wait); `close` then reports that samples were not delivered.
 */
export async function openTagBus(settings: Settings): Promise<CliBus> {
  const bus = await openRedisTagBus(settings, "cli");
  return {
    publish: (samples) => bus.publish(samples),
    async close(timeoutMs = 3000) {
      await bus.close(timeoutMs);
      return bus.stats().outboxLength === 0;
    },
  };
}

/** Builds the context of one CLI run over `program` (whose global options it reads). */
export function createContext(
  program: Command,
  io: CliIO,
  busFactory: BusFactory = openTagBus,
): CliContext {
  const ctx: CliContext = {
    io,
    json: () => program.opts().json === true,
    settings() {
      const s = loadSettings(io.env);
      const db = program.opts().db as string | undefined;
      return db ? { ...s, db } : s;
    },
    openStore(opts = {}) {
      // openStore refuses a missing file unless `create` (NodiError not_found, no_database).
      return openStore(ctx.settings().db, { create: opts.create === true });
    },
    openTagBus: () => busFactory(ctx.settings()),
    identity: (label) => processIdentity("cli", label),
    print(data, text) {
      io.out(ctx.json() ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
    },
  };
  return ctx;
}
