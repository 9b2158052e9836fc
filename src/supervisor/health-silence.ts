/**
 * When a report that an app republishes on a period counts as stale: the app has missed three
 * periods, plus 5 s for a loaded machine. One rule for every reader of such reports:
 * interface apps' `/system/{id}/health` (every 5 s), northbound apps' health tags (every
 * 5 s) and the supervisor's `/system/supervisor/state` (every status refresh).
 */

/** Age past which a report republished every `intervalMs` is stale, ms: `3 × intervalMs + 5000`. */
export function silentAfterMs(intervalMs: number): number {
  return 3 * intervalMs + 5000;
}

/**
 * How long the app has been silent, ms since its last report at `lastTs` (epoch ms), when that
 * report is older than {@link silentAfterMs}`(intervalMs)`; `null` while it is fresh, or when
 * there is no report (`lastTs` undefined or 0: nothing was ever published, not a hang).
 */
export function silenceMs(
  lastTs: number | undefined,
  now: number,
  intervalMs: number,
): number | null {
  if (!lastTs) return null;
  const age = now - lastTs;
  return age > silentAfterMs(intervalMs) ? age : null;
}
