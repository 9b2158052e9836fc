import { EXIT } from "../core/exit-codes.ts";
import { createLogger } from "../core/log.ts";
import { CONN_ID_RE, RESERVED_IDS } from "../core/paths.ts";
import { redactUrl } from "../core/redact-url.ts";
import { loadSettings, type Settings } from "../core/settings.ts";
import { loadDriverFactory } from "../drivers/registry.ts";
import { openAuditQueue } from "../store/audit-queue.ts";
import type { Store } from "../store/store.ts";
import type { RedisTagBus } from "../tagbus/index.ts";
import type { TagBus } from "../tagbus/tagbus.ts";
import { IntfApp } from "./app.ts";
import { createNotifier } from "./sd-notify.ts";
import { acquireLease, openBusRetrying, openStoreRetrying } from "./startup.ts";

export { STARTUP_RETRY_MS } from "../core/startup-retry.ts";
/** Longest time from SIGTERM to exit, ms: after it the process exits 0 even if a step hangs. */
export const STOP_BOUND_MS = 10_000;

const USAGE = "usage: ne-intf --conn-id=ID";

/** What `ne-intf --help` prints on stdout. */
export const HELP = `${USAGE}
Runs the interface app of one connection of the SoT (NE_DB): polls its blocks, publishes its
tags on the TagBus and applies writes, until SIGTERM (docs/intf.md). Normally started by
ne-supervisor (systemd unit ne-intf@ID.service or a child process), not by hand.
ne-intf --conn-id=ID --exited: the unit's ExecStopPost=, marks the ended app's tags bad.
Settings: NE_DB, NE_REDIS_URL, NE_REDIS_PREFIX, NE_LOG_LEVEL, NE_OUTBOX_MAX, NE_DATA_DIR.
`;

/**
 * Parses `--conn-id=ID` / `--conn-id ID`, or `-h`/`--help`.
 * @returns the id, `{ help: true }`, or an error message.
 */
export function parseArgs(argv: string[]): { connId: string } | { help: true } | { error: string } {
  let connId: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--conn-id=")) connId = a.slice("--conn-id=".length);
    else if (a === "--conn-id") connId = argv[++i];
    else if (a === "-h" || a === "--help") return { help: true };
    else return { error: `unknown argument ${JSON.stringify(a)}; ${USAGE}` };
  }
  if (connId === undefined || connId === "") return { error: `missing --conn-id; ${USAGE}` };
  return { connId };
}

/**
 * Why `connId` cannot be a connection id, or `undefined` when it can (DESIGN.md §3):
 * it must match `CONN_ID_RE` and not be one of `RESERVED_IDS` (`system`, `supervisor`).
 */
export function connIdProblem(connId: string): string | undefined {
  const id = JSON.stringify(connId);
  if (!CONN_ID_RE.test(connId)) return `invalid conn_id ${id}: must match ${CONN_ID_RE.source}`;
  if (RESERVED_IDS.has(connId)) {
    return `invalid conn_id ${id}: reserved (${[...RESERVED_IDS].join(", ")} name system tag paths)`;
  }
  return undefined;
}

/** Set by SIGTERM/SIGINT before the app exists (during start-up retries). */
let stopBeforeStart = false;

/**
 * `ne-intf --conn-id=ID`: runs the interface app of one connection (DESIGN.md §2,
 * docs/intf.md) until SIGTERM/SIGINT or a configuration change that ends it.
 * Only one instance per connection runs: start-up waits (state "waiting for the lease") while
 * another live instance holds the Redis lease `{prefix}lock:{conn_id}` (src/intf/lease.ts).
 * With `--exited` it is the packaged unit's `ExecStopPost=` instead: see `exit-report.ts`.
 * @returns an exit code of `core/exit-codes.ts`: 0 stopped (or `--help` printed on stdout),
 *   64 bad arguments, 69 DB or Redis
 *   unavailable, 75 restart me (connection settings changed, or another instance took over
 *   the lease), 78 unknown connection or
 *   refused configuration, 80 connection removed or disabled, 1 crash.
 */
export async function main(argv: string[]): Promise<number> {
  // `ExecStopPost=… --exited`: report the end of the unit's main process (src/intf/exit-report.ts)
  if (argv.includes("--exited")) {
    const { reportExitMain } = await import("./exit-report.ts");
    return await reportExitMain(argv.filter((a) => a !== "--exited"));
  }
  const args = parseArgs(argv);
  if ("help" in args) {
    process.stdout.write(HELP);
    return EXIT.OK;
  }
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (e) {
    createLogger("ne-intf").error({ err: (e as Error).message }, (e as Error).message);
    return EXIT.CONFIG;
  }
  const log = createLogger(
    "ne-intf",
    settings.logLevel,
    "connId" in args ? { conn: args.connId } : {},
  );
  if ("error" in args) {
    log.error(args.error);
    return EXIT.USAGE;
  }
  const { connId } = args;
  const idProblem = connIdProblem(connId);
  if (idProblem) {
    log.error(idProblem);
    return EXIT.CONFIG;
  }
  log.info({ pid: process.pid, db: settings.db, redis: redactUrl(settings.redisUrl) }, "starting");

  // A stop request during the start-up retries ends the process with 0 at once.
  stopBeforeStart = false;
  const early = () => {
    stopBeforeStart = true;
  };
  process.on("SIGTERM", early);
  process.on("SIGINT", early);
  let store: Store | undefined;
  let bus: RedisTagBus | undefined;
  const dropEarly = () => {
    process.off("SIGTERM", early);
    process.off("SIGINT", early);
  };
  try {
    const stopped = () => stopBeforeStart;
    // reading the connections proves the file is readable
    store = await openStoreRetrying(settings, log, stopped, (s) => s.listConnections());
    if (store && !stopBeforeStart) bus = await openBusRetrying(settings, connId, log, stopped);
  } catch (e) {
    dropEarly();
    throw e;
  }
  if (stopBeforeStart || !store || !bus) {
    dropEarly();
    store?.close();
    await bus?.close(1000);
    if (stopBeforeStart) log.info("stop requested during start-up");
    return stopBeforeStart ? EXIT.OK : EXIT.UNAVAILABLE;
  }
  const notifier = await createNotifier();
  // One instance per connection: wait while another live instance holds the lease.
  const lease = await acquireLease(bus, settings, connId, notifier, log, () => stopBeforeStart);
  if (!lease) {
    dropEarly();
    store.close();
    await bus.close(1000);
    log.info("stop requested while waiting for the lease");
    return EXIT.OK;
  }
  // Every write this app answers goes to the audit trail (never waiting on SQLite).
  const audit = openAuditQueue(settings.db, `ne-intf:${connId}`, log);
  const app = new IntfApp({
    appId: connId,
    ...(audit ? { audit: (r) => audit.queue.push(r) } : {}),
    loadConfig: () => (store as Store).getConnectionConfig(connId),
    createDriver: async (connection) =>
      (await loadDriverFactory(connection.protocol))(connection, {
        log: log.child({ part: "driver" }),
        dataDir: settings.dataDir,
      }),
    bus,
    log,
    notifier,
  });

  let bound: ReturnType<typeof setTimeout> | undefined;
  let forced: (code: number) => void = () => {};
  const forcedExit = new Promise<number>((r) => {
    forced = r;
  });
  const onSignal = (sig: NodeJS.Signals) => {
    log.info({ signal: sig }, "stop requested");
    app.requestStop(sig);
    bound ??= setTimeout(() => {
      log.error({ boundMs: STOP_BOUND_MS }, "stop took too long; exiting anyway");
      forced(EXIT.OK);
    }, STOP_BOUND_MS);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  dropEarly();
  if (stopBeforeStart) onSignal("SIGTERM");
  lease.startRefresh((holder) => {
    log.error(
      { lease: lease.key, holder },
      `another instance (${holder}) took over the lease of this connection; stopping (exit 75)`,
    );
    app.requestStop(`lease taken over by ${holder}`, EXIT.RESTART);
  });
  let code: number;
  try {
    code = await Promise.race([app.run(), forcedExit]);
    await Promise.race([lease.release(), forcedExit]);
    await Promise.race([(bus as TagBus).close(2000), forcedExit]);
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    if (bound) clearTimeout(bound);
    audit?.close();
    store.close();
  }
  log.info({ code }, "exit");
  return code;
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
