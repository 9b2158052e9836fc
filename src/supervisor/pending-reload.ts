import type { JournalEntry } from "../store/store.ts";

/**
 * Journal change kinds a running app must be told of (src/store/changes.ts `ChangeKind`, and
 * a northbound's `north_restart` / `north_reload`, src/store/north-changes.ts).
 */
export const RELOAD_KINDS: ReadonlySet<string> = new Set([
  "connection_changed",
  "blocks_changed",
  "north_restart",
  "north_reload",
]);

/** Journal entries read per connection when looking for the newest reload-worthy change. */
export const JOURNAL_LOOKBACK = 50;

/**
 * The self-healing rule of the periodic reconcile (docs/supervisor.md "Missed
 * announcements"): a running app must be sent `/system/{conn_id}/config_reload` when the
 * newest reload-worthy change of its connection in the SoT's journal (`entries`, any order)
 * was committed AFTER both the last announcement (`lastAnnouncedMs`: the source timestamp of
 * the current `config_reload` value on the TagBus, 0 when none) and the start of the app's
 * process (`appSinceMs`, from the service manager; 0 when unknown). An app reads the whole
 * configuration at start, and an announcement is published after the commit it announces, so
 * a change older than either is already applied or on its way.
 *
 * Errs on the side of one extra reload (harmless: the app re-reads the SoT and applies the
 * difference, which may be none), never on a missed one.
 * @returns the journal entry that needs announcing, or `undefined`.
 */
export function pendingReload(
  entries: readonly JournalEntry[],
  lastAnnouncedMs: number,
  appSinceMs: number,
): JournalEntry | undefined {
  let newest: JournalEntry | undefined;
  for (const e of entries) {
    if (RELOAD_KINDS.has(e.change) && (!newest || e.id > newest.id)) newest = e;
  }
  if (!newest) return undefined;
  return newest.ts > Math.max(lastAnnouncedMs, appSinceMs) ? newest : undefined;
}
