import { redactUrl } from "../core/redact-url.ts";
import type { EditResult } from "../store/apply.ts";
import type { ConnChange } from "../store/changes.ts";
import type { NorthChange } from "../store/north-changes.ts";
import { notifyChanges } from "../store/notify.ts";
import type { CliContext } from "./context.ts";

/** Outcome of announcing committed changes on the TagBus. */
export interface Announcement {
  /** System tags published (0 when nothing needed announcing). */
  published: number;
  /** False when the TagBus could not be reached: the DB is changed, running apps do not know yet. */
  notified: boolean;
  /**
   * Why not, when `notified` is false and running apps may need the change: the configuration
   * already held enabled connections or northbounds, whose apps keep their old settings until
   * the supervisor's reconcile heals it.
   */
  warning?: string;
  /**
   * Why not, when `notified` is false and nothing needed notifying: every change is an
   * addition to a configuration with no other enabled connection or northbound (a first
   * import, before Redis and the supervisor run): no app runs it yet, and the supervisor
   * starts the apps from the database when it starts.
   */
  note?: string;
}

/**
 * True when the configuration at `NE_DB` holds an enabled connection or northbound that
 * `changes` did not just add, or `changes` changed or removed one: apps may be running it,
 * so a supervisor should have been reachable to hear of the change. True also when the
 * database cannot be read (assume the worst).
 */
function appsMayRun(ctx: CliContext, changes: readonly (ConnChange | NorthChange)[]): boolean {
  if (changes.some((c) => c.kind !== "added" && c.kind !== "unchanged")) return true;
  const added = new Set(
    changes.filter((c) => c.kind === "added").map((c) => ("conn_id" in c ? c.conn_id : c.north_id)),
  );
  try {
    const store = ctx.openStore();
    try {
      return (
        store.listConnections().some((c) => c.enabled && !added.has(c.conn_id)) ||
        store.listNorthbounds().some((n) => n.enabled && !added.has(n.north_id))
      );
    } finally {
      store.close();
    }
  } catch {
    return true;
  }
}

/** How long the CLI tries to reach the TagBus before giving up, ms. */
export const ANNOUNCE_TIMEOUT_MS = 4000;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Publishes the system tags for `changes` (a connection's, or a whole {@link EditResult}
 * with its northbounds' changes), which the caller has ALREADY committed to the DB
 * (write the DB, then set the system tag: docs/supervisor.md "System tags the supervisor
 * follows"). When the TagBus is unreachable the change stays committed and the result says
 * `notified: false`, with a line on stderr: a `warning` when apps may be running the
 * configuration ({@link appsMayRun}), else a `note` that the change is saved and the
 * supervisor picks it up when it starts.
 */
export async function announce(
  ctx: CliContext,
  changes: readonly ConnChange[] | Pick<EditResult, "changes" | "northChanges">,
): Promise<Announcement> {
  const all = "changes" in changes ? [...changes.changes, ...changes.northChanges] : changes;
  if (!all.some((c) => c.kind !== "unchanged")) return { published: 0, notified: true };
  const url = redactUrl(ctx.settings().redisUrl);
  try {
    const bus = await withTimeout(
      ctx.openTagBus(),
      ANNOUNCE_TIMEOUT_MS,
      "connecting to the TagBus",
    );
    let published = 0;
    let delivered = false;
    try {
      published = await withTimeout(notifyChanges(bus, changes), ANNOUNCE_TIMEOUT_MS, "publishing");
    } finally {
      delivered = await withTimeout(bus.close(1500), ANNOUNCE_TIMEOUT_MS, "flushing").catch(
        () => false,
      );
    }
    if (!delivered) throw new Error(`the TagBus at ${url} did not take the system tags`);
    return { published, notified: true };
  } catch (e) {
    const why = `${(e as Error).message}; NE_REDIS_URL=${url}`;
    if (!appsMayRun(ctx, all)) {
      const note = `note: saved. No app runs this configuration yet, so none needed telling; the tag bus was not reachable to announce it (${why}). The supervisor starts the apps from the database when it starts (on a gateway: systemctl start ne-supervisor), or within NE_RECONCILE_INTERVAL_MS (default 60 s) if it already runs; they publish once Redis is reachable.`;
      ctx.io.err(`${note}\n`);
      return { published: 0, notified: false, note };
    }
    const warning = `warning: the database was updated, but the running apps were NOT notified (${why}). Once Redis is back, the supervisor's periodic reconcile (NE_RECONCILE_INTERVAL_MS, default 60 s) starts/stops added/removed connections and northbounds and sends the missed config_reload to apps whose configuration changed.`;
    ctx.io.err(`${warning}\n`);
    return { published: 0, notified: false, warning };
  }
}

/** One line per change, e.g. `line1  added (created)`. */
export function describeChanges(changes: readonly ConnChange[]): string {
  if (changes.length === 0) return "no connections touched";
  const w = Math.max(...changes.map((c) => c.conn_id.length));
  return changes.map((c) => `${c.conn_id.padEnd(w)}  ${c.kind} (${c.stored})`).join("\n");
}
