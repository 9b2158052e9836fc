import { isNodiError } from "../core/errors.ts";
import { EXIT } from "../core/exit-codes.ts";
import { createLogger } from "../core/log.ts";
import { loadSettings } from "../core/settings.ts";
import { publishAppExit, publishAppStart } from "../intf/exit-report.ts";
import { noDatabaseMessage, openStore } from "../store/store.ts";
import { openTagBus } from "../tagbus/index.ts";
import { selectServiceManager } from "./select-manager.ts";
import { supervisorStateSample } from "./service-tags.ts";
import { Supervisor } from "./supervisor.ts";

const USAGE = `usage: ne-supervisor
Runs one interface app (ne-intf --conn-id=ID) per enabled connection and one northbound app
(ne-north --north-id=ID) per enabled northbound of the SoT (NE_DB), through systemd or as
child processes (NE_SERVICE_MANAGER=auto|systemd|process).
Settings: NE_DB, NE_REDIS_URL, NE_REDIS_PREFIX, NE_INTF_CMD, NE_NORTH_CMD, NE_RECONCILE_INTERVAL_MS.
`;

/**
 * `ne-supervisor`: opens the SoT, the TagBus (producer `supervisor`) and the service manager,
 * runs the {@link Supervisor} until SIGTERM/SIGINT, then stops following changes and closes
 * the manager: under the process manager that stops every app (SIGTERM, then SIGKILL after
 * 10 s); under systemd the apps keep running.
 * @returns 0 after a clean stop, 64 for bad arguments, 78 for bad settings or a missing DB
 *   file (it never creates one: `nodi-edge db init` does, as the package's postinst runs it),
 *   69 when the DB cannot be opened.
 */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE);
    return EXIT.OK;
  }
  if (argv.length > 0) {
    process.stderr.write(`ne-supervisor: unexpected argument ${JSON.stringify(argv[0])}\n${USAGE}`);
    return EXIT.USAGE;
  }
  let settings: ReturnType<typeof loadSettings>;
  try {
    settings = loadSettings();
  } catch (e) {
    process.stderr.write(`ne-supervisor: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.CONFIG;
  }
  const log = createLogger("ne-supervisor", settings.logLevel);
  let store: ReturnType<typeof openStore>;
  try {
    store = openStore(settings.db, { create: false });
  } catch (e) {
    if (isNodiError(e) && e.reason === "no_database") {
      process.stderr.write(`ne-supervisor: ${noDatabaseMessage(settings.db)}\n`);
      return EXIT.CONFIG;
    }
    log.fatal(
      { db: settings.db, err: e instanceof Error ? e.message : String(e) },
      "cannot open the SoT",
    );
    return EXIT.UNAVAILABLE;
  }
  const bus = await openTagBus(settings, "supervisor", log);
  const manager = selectServiceManager(settings, {
    log,
    // a dead app cannot mark its own tags bad: the supervisor does, before restarting it
    // (under systemd the unit's ExecStopPost= does: src/intf/exit-report.ts)
    // (ne-north too, like its unit's ExecStopPost=: its state STOP; it has no data tags)
    onExit: async (id, exit) => {
      await publishAppExit(bus, id, exit, log);
    },
    // and a new process says nothing until it has loaded (seconds under load): the supervisor
    // says at once that it is starting, never over a newer state (docs/supervisor.md)
    onStart: async (id, pid) => {
      await publishAppStart(bus, id, pid);
    },
  });
  const statusIntervalMs = manager.kind === "systemd" ? 10_000 : 2000;
  const sup = new Supervisor({
    store,
    bus,
    manager,
    reconcileIntervalMs: settings.reconcileIntervalMs,
    statusIntervalMs,
    log,
  });
  log.info({ manager: manager.kind, db: settings.db }, "supervisor starting");

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      log.info({ signal: sig }, "stopping");
      if (stopping) return;
      stopping = true;
      (async () => {
        await sup.stop();
        await manager.close();
        // `nodi-edge status` then says the supervisor stopped, not that it went silent.
        await bus
          .publish([supervisorStateSample("stopped", manager.kind, statusIntervalMs)])
          .catch(() => {});
        await bus.close(2000).catch(() => {});
        store.close();
      })().then(resolve, resolve);
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
  });
  await sup.start();
  await stopped;
  log.info("supervisor stopped");
  return EXIT.OK;
}

if (import.meta.main) {
  process.exit(await main(process.argv.slice(2)));
}
