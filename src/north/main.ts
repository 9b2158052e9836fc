import { EXIT } from "../core/exit-codes.ts";
import { createLogger } from "../core/log.ts";
import { CONN_ID_RE, RESERVED_IDS } from "../core/paths.ts";
import { redactUrl } from "../core/redact-url.ts";
import { loadSettings, type Settings } from "../core/settings.ts";
import { createNotifier } from "../intf/sd-notify.ts";
import { acquireLease, openBusRetrying, openStoreRetrying } from "../intf/startup.ts";
import { openAuditQueue } from "../store/audit-queue.ts";
import type { RedisTagBus } from "../tagbus/index.ts";
import { NorthApp } from "./app.ts";

export { STARTUP_RETRY_MS } from "../core/startup-retry.ts";
/** Longest time from SIGTERM to exit, ms. */
export const STOP_BOUND_MS = 10_000;

const USAGE = `usage: ne-north --north-id=ID

Runs one northbound (docs/north.md): reads the TagBus as a durable subscriber and publishes
the selected tags to an MQTT broker, as plain MQTT or as a Sparkplug B 3.0 edge node, with
store-and-forward while the broker is unreachable. Its configuration is the northbound row
ID in the SoT (NE_DB); health under /system/ID/.

Exit codes: 0 stopped, 64 bad arguments, 69 DB or Redis unavailable, 75 restart (broker or
identity changed), 78 unknown northbound or refused configuration, 80 removed or disabled.`;

/** Parses `--north-id=ID` / `--north-id ID`. */
export function parseArgs(
  argv: string[],
): { northId: string } | { help: true } | { error: string } {
  let northId: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--north-id=")) northId = a.slice("--north-id=".length);
    else if (a === "--north-id") northId = argv[++i];
    else if (a === "-h" || a === "--help") return { help: true };
    else return { error: `unknown argument ${JSON.stringify(a)}; usage: ne-north --north-id=ID` };
  }
  if (!northId) return { error: "missing --north-id; usage: ne-north --north-id=ID" };
  return { northId };
}

let stopBeforeStart = false;

/**
 * `ne-north --north-id=ID`: runs the northbound app of one northbound until SIGTERM/SIGINT or
 * a configuration change that ends it. One instance per northbound (the Redis lease
 * `{prefix}lock:{north_id}`, as ne-intf).
 * @returns an exit code of core/exit-codes.ts (see {@link USAGE}).
 */
export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if ("help" in args) {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  let settings: Settings;
  try {
    settings = loadSettings();
  } catch (e) {
    createLogger("ne-north").error({ err: (e as Error).message }, (e as Error).message);
    return EXIT.CONFIG;
  }
  const log = createLogger(
    "ne-north",
    settings.logLevel,
    "northId" in args ? { north: args.northId } : {},
  );
  if ("error" in args) {
    log.error(args.error);
    return EXIT.USAGE;
  }
  const { northId } = args;
  if (!CONN_ID_RE.test(northId) || RESERVED_IDS.has(northId)) {
    log.error(
      `invalid north_id ${JSON.stringify(northId)}: must match ${CONN_ID_RE.source} and not be system or supervisor`,
    );
    return EXIT.CONFIG;
  }
  log.info({ pid: process.pid, db: settings.db, redis: redactUrl(settings.redisUrl) }, "starting");
  stopBeforeStart = false;
  const early = () => {
    stopBeforeStart = true;
  };
  process.on("SIGTERM", early);
  process.on("SIGINT", early);
  const dropEarly = () => {
    process.off("SIGTERM", early);
    process.off("SIGINT", early);
  };
  const stopped = () => stopBeforeStart;
  const store = await openStoreRetrying(settings, log, stopped, (s) => s.listNorthbounds());
  let bus: RedisTagBus | undefined;
  if (store && !stopBeforeStart) bus = await openBusRetrying(settings, northId, log, stopped);
  if (stopBeforeStart || !store || !bus) {
    dropEarly();
    store?.close();
    await bus?.close(1000);
    return stopBeforeStart ? EXIT.OK : EXIT.UNAVAILABLE;
  }
  const notifier = await createNotifier();
  const lease = await acquireLease(bus, settings, northId, notifier, log, () => stopBeforeStart);
  if (!lease) {
    dropEarly();
    store.close();
    await bus.close(1000);
    return EXIT.OK;
  }
  // refused and unanswered write commands go to the audit trail (never waiting on SQLite)
  const audit = openAuditQueue(settings.db, `ne-north:${northId}`, log);
  const app = new NorthApp({
    northId,
    ...(audit ? { audit: (r) => audit.queue.push(r) } : {}),
    loadConfig: () => store.getNorthbound(northId),
    loadConnections: () => store.getAllConfigs(),
    bus,
    log,
    dataDir: settings.dataDir,
    notifier,
    ...(settings.northReplayMaxPerS > 0
      ? { options: { replayMaxPerS: settings.northReplayMaxPerS } }
      : {}),
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
    log.error({ holder }, `another instance (${holder}) took over the lease; stopping (exit 75)`);
    app.requestStop(`lease taken over by ${holder}`, EXIT.RESTART);
  });
  let code: number;
  try {
    code = await Promise.race([app.run(), forcedExit]);
    await Promise.race([lease.release(), forcedExit]);
    await Promise.race([bus.close(2000), forcedExit]);
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
