import { redactUrl } from "../core/redact-url.ts";
import type { EditResult } from "../store/apply.ts";
import type { ConnChange } from "../store/changes.ts";
import { notifyChanges } from "../store/notify.ts";
import type { CliContext } from "./context.ts";

/** Outcome of announcing committed changes on the TagBus. */
export interface Announcement {
  /** System tags published (0 when nothing needed announcing). */
  published: number;
  /** False when the TagBus could not be reached: the DB is changed, running apps do not know yet. */
  notified: boolean;
  /** Why not, when `notified` is false. */
  warning?: string;
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
 * (DESIGN.md §2: write the DB, then set the system tag). When the TagBus is unreachable the
 * change stays committed; a warning goes to stderr and the result says `notified: false`.
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
    const warning = `warning: the database was updated, but the running apps were NOT notified (${(e as Error).message}; NE_REDIS_URL=${url}). Once Redis is back, the supervisor's periodic reconcile (NE_RECONCILE_INTERVAL_MS, default 60 s) starts/stops added/removed connections and northbounds and sends the missed config_reload to apps whose configuration changed.`;
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
