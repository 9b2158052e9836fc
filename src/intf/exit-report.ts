import { EXIT } from "../core/exit-codes.ts";
import { createLogger, type Logger } from "../core/log.ts";
import { isConnId, SYSTEM_TAGS, systemTagPath } from "../core/paths.ts";
import { loadSettings } from "../core/settings.ts";
import type { TagSample } from "../core/tag-value.ts";
import { openTagBus } from "../tagbus/index.ts";
import type { TagBus } from "../tagbus/tagbus.ts";

/**
 * How an interface app's process ended, as its service manager saw it.
 * - `code`: exit status when it exited by itself, else `null`;
 * - `signal`: the signal that killed it (`SIGKILL`, `SIGABRT`, …), else `null`;
 * - `cause`: what the manager knows beyond that: `oom` (the kernel's OOM killer, or the
 *   process manager's `memory_max` check), `watchdog` (systemd `WatchdogSec=`), `timeout`
 *   (did not stop within `TimeoutStopSec=`), `core-dump`.
 */
export interface AppExit {
  code: number | null;
  signal: string | null;
  cause?: "oom" | "watchdog" | "timeout" | "core-dump";
}

/** Producer id of the samples published by `ne-intf --exited` (systemd's `ExecStopPost=`). */
export const EXIT_REPORT_PRODUCER = "intf-exit";

/**
 * Exit codes after which the app has published its own ending: its data tags bad
 * (`stopped`, `removed`) and its state `STOP` (docs/intf.md "Exit codes"): 0, 64, 69, 75,
 * 78, 80. Any other ending (a signal, exit 1, an unknown code) is a death the app could not report.
 */
export function isCleanExit(e: AppExit): boolean {
  if (e.signal !== null || e.cause !== undefined || e.code === null) return false;
  return (
    [EXIT.OK, EXIT.USAGE, EXIT.UNAVAILABLE, EXIT.RESTART, EXIT.CONFIG, EXIT.REMOVED] as number[]
  ).includes(e.code);
}

/**
 * The quality reason for the tags of an app that ended:
 * `app_stopped` (exit 0), `app_exited: killed by SIGKILL`, `app_exited: killed by SIGKILL
 * (out of memory)`, `app_exited: killed by SIGABRT (watchdog timeout)`, `app_exited: exit
 * code 1`, `app_exited: exit code 75 (restart requested)`.
 */
export function exitReason(e: AppExit): string {
  if (e.signal === null && e.cause === undefined && e.code === EXIT.OK) return "app_stopped";
  const why =
    e.signal !== null
      ? `killed by ${e.signal}`
      : e.code !== null
        ? `exit code ${e.code}`
        : "ended (no exit status)";
  const note =
    e.cause === "oom"
      ? " (out of memory)"
      : e.cause === "watchdog"
        ? " (watchdog timeout)"
        : e.cause === "timeout"
          ? " (did not stop in time)"
          : e.cause === "core-dump"
            ? " (core dumped)"
            : e.code === EXIT.RESTART
              ? " (restart requested)"
              : e.code === EXIT.UNAVAILABLE
                ? " (database or Redis unavailable)"
                : e.code === EXIT.CONFIG
                  ? " (configuration refused)"
                  : e.code === EXIT.REMOVED
                    ? " (connection removed or disabled)"
                    : "";
  return `app_exited: ${why}${note}`;
}

/** Name of the system tag counting an app's restarts by cause: `/system/{conn_id}/restarts`. */
export const RESTARTS_TAG = "restarts";

/**
 * The value of `/system/{conn_id}/restarts` (a JSON string), kept by {@link publishAppExit} on
 * every end of the app's process under either service manager (the process manager's exit
 * hook, systemd's `ExecStopPost=`), since the first end recorded on this TagBus:
 * - `failure`: ends the app did not ask for, after which the manager restarts it: a crash
 *   (exit 1, a signal, out of memory, the watchdog), or exit 64/69 (bad arguments, database
 *   or Redis unavailable at start);
 * - `requested`: exit 75 ("restart me": its connection settings changed, or another instance
 *   took over), the normal way a settings change is applied.
 * Exits 0, 78 and 80 are no restarts (stopped, refused configuration, removed or disabled).
 */
export interface RestartCounts {
  failure: number;
  requested: number;
  /** {@link exitReason} of the last counted end, and when it was, ms since the epoch. */
  last?: { reason: string; at: number };
}

/** The kind of restart `exit` leads to, or `undefined` when the app is not restarted after it. */
export function restartKind(exit: AppExit): "failure" | "requested" | undefined {
  if (exit.signal === null && exit.cause === undefined) {
    if (exit.code === EXIT.RESTART) return "requested";
    if (exit.code === EXIT.OK || exit.code === EXIT.CONFIG || exit.code === EXIT.REMOVED) {
      return undefined;
    }
  }
  return "failure";
}

/** Parses a `restarts` tag value; `undefined` when it is not a {@link RestartCounts} JSON. */
export function parseRestartCounts(value: unknown): RestartCounts | undefined {
  if (typeof value !== "string") return undefined;
  try {
    const r = JSON.parse(value) as RestartCounts;
    return r && typeof r.failure === "number" && typeof r.requested === "number" ? r : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Publishes, on behalf of the app of `connId` that ended, what it can no longer say itself
 * (docs/intf.md "When an app dies"): every current data tag under `/{connId}/` turns bad
 * with `value: null` and {@link exitReason}, and `/system/{connId}/state` becomes `STOP` with
 * that reason. After a clean exit ({@link isCleanExit}) tags the app already published bad
 * keep its own reason and a `STOP` state is left alone. The caller's bus must not be the dead
 * app's (its producer stamps the samples); the restarted app's first poll supersedes them
 * (a later publish of the current value; docs/tagbus.md "Current values").
 * @returns the number of samples published. Never throws for an outage: when Redis cannot
 *   list the tags, only the state goes (into the outbox).
 */
export async function publishAppExit(
  bus: TagBus,
  connId: string,
  exit: AppExit,
  log?: Logger,
  now: number = Date.now(),
): Promise<number> {
  const reason = exitReason(exit);
  const clean = isCleanExit(exit);
  const samples: TagSample[] = [];
  let state: string | undefined;
  const kind = restartKind(exit);
  try {
    if (kind) {
      // One end at a time per app (its manager runs one process), so read-then-write holds.
      const path = systemTagPath(connId, RESTARTS_TAG);
      const prev = parseRestartCounts((await bus.get(path))?.value);
      const counts: RestartCounts = {
        failure: (prev?.failure ?? 0) + (kind === "failure" ? 1 : 0),
        requested: (prev?.requested ?? 0) + (kind === "requested" ? 1 : 0),
        last: { reason, at: now },
      };
      samples.push({ path, value: JSON.stringify(counts), quality: "good", ts: now });
    }
    for (const v of await bus.list(`/${connId}/`)) {
      if (v.quality === "bad" && (clean || v.reason === reason)) continue;
      samples.push({ path: v.path, value: null, quality: "bad", reason, ts: now });
    }
    const st = await bus.get(SYSTEM_TAGS.state(connId));
    state = typeof st?.value === "string" ? st.value : undefined;
  } catch (e) {
    log?.warn(
      { conn: connId, err: e instanceof Error ? e.message : String(e) },
      "cannot list the tags of the app that ended; publishing its state only",
    );
  }
  if (!(clean && state === "STOP")) {
    samples.push({
      path: SYSTEM_TAGS.state(connId),
      value: "STOP",
      quality: "good",
      reason,
      ts: now,
    });
  }
  await bus.publish(samples);
  log?.info({ conn: connId, reason, samples: samples.length }, "app ended; its tags marked bad");
  return samples.length;
}

/**
 * Publishes, on behalf of the app of `connId` whose process the service manager has just
 * started (pid `pid`), its state `INIT` with reason `starting (pid N)`, stamped `now`
 * (docs/supervisor.md "When an app starts"): a new process needs from a few hundred ms to
 * seconds under load before it publishes anything itself, and until then the state would
 * still say `STOP` from its predecessor. Published with `ifNewer`, so it never overwrites a
 * state published after `now` (the app's own, a later exit report), however late it reaches
 * Redis. Never throws for an outage (it waits in the outbox).
 */
export async function publishAppStart(
  bus: TagBus,
  connId: string,
  pid: number,
  now: number = Date.now(),
): Promise<void> {
  await bus.publish(
    [
      {
        path: SYSTEM_TAGS.state(connId),
        value: "INIT",
        quality: "good",
        reason: `starting (pid ${pid})`,
        ts: now,
      },
    ],
    { ifNewer: true },
  );
}

/**
 * Reads how a unit's main process ended from the environment systemd gives `ExecStopPost=`
 * commands (systemd.exec(5) "Environment variables set or propagated by the service
 * manager": `$SERVICE_RESULT`, `$EXIT_CODE` = `exited` | `killed` | `dumped`, `$EXIT_STATUS`
 * = the exit status or the signal name without `SIG`).
 * @returns `undefined` when `$EXIT_CODE` is not set (the main process never started).
 */
export function exitFromSystemdEnv(env: Record<string, string | undefined>): AppExit | undefined {
  const kind = env.EXIT_CODE;
  const status = env.EXIT_STATUS ?? "";
  if (!kind) return undefined;
  const e: AppExit =
    kind === "exited"
      ? { code: Number(status), signal: null }
      : { code: null, signal: /^\d+$/.test(status) ? `signal ${status}` : `SIG${status}` };
  if (kind === "exited" && !Number.isInteger(e.code)) e.code = null;
  const r = env.SERVICE_RESULT;
  if (r === "oom-kill") e.cause = "oom";
  else if (r === "watchdog") e.cause = "watchdog";
  else if (r === "timeout") e.cause = "timeout";
  else if (r === "core-dump" || kind === "dumped") e.cause = "core-dump";
  return e;
}

/**
 * `ne-intf --conn-id=ID --exited`: the packaged unit's `ExecStopPost=` (runs after every end
 * of the main process, before systemd restarts it). Publishes {@link publishAppExit} as
 * producer {@link EXIT_REPORT_PRODUCER} and waits (at most ~3 s) until Redis has it.
 * @returns 0, also when Redis is unreachable (a failing `ExecStopPost=` would only add a
 *   unit failure); 64 for bad arguments.
 */
export async function reportExitMain(argv: string[]): Promise<number> {
  const id = argv.find((a) => a.startsWith("--conn-id="))?.slice("--conn-id=".length);
  const log = createLogger("ne-intf", "info", { conn: id, part: "exit-report" });
  if (!id || !isConnId(id)) {
    log.error("usage: ne-intf --conn-id=ID --exited (from ExecStopPost=)");
    return EXIT.USAGE;
  }
  const exit = exitFromSystemdEnv(process.env);
  if (!exit) {
    log.info("main process did not run ($EXIT_CODE unset); nothing to report");
    return EXIT.OK;
  }
  let bus: Awaited<ReturnType<typeof openTagBus>> | undefined;
  try {
    const settings = loadSettings();
    bus = await openTagBus(settings, EXIT_REPORT_PRODUCER, log);
    await publishAppExit(bus, id, exit, log);
  } catch (e) {
    log.warn({ err: e instanceof Error ? e.message : String(e) }, "cannot report the app's end");
  } finally {
    await bus?.close(2000).catch(() => {});
  }
  return EXIT.OK;
}
