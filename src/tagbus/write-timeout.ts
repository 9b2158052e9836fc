import { parseTagPath, systemTagPath } from "../core/paths.ts";
import type { TagBus } from "./tagbus.ts";

/**
 * What the bus knows about the app that owns a write's path, to explain a write that gets no
 * result: its state tag `/system/{conn_id}/state` (value and ts). Used by `nodi-edge tag write`
 * and the web write route. A write stays queued meanwhile (docs/tagbus.md "Writes"): it is
 * still delivered if the app starts before the deadline.
 */
export interface AppStateInfo {
  connId: string;
  /** The last published state (`EXECUTE`, `STOP`, …), or undefined when none was ever published. */
  state?: string;
  /** When it was published, ms since epoch. */
  ts?: number;
}

/** Reads the owner app's state tag of a data tag `path`; undefined for a non-data path. */
export async function appStateOf(bus: TagBus, path: string): Promise<AppStateInfo | undefined> {
  const p = parseTagPath(path);
  if (p?.kind !== "data") return undefined;
  const v = await bus.get(systemTagPath(p.connId, "state"));
  if (!v || v.value === null) return { connId: p.connId };
  return { connId: p.connId, state: String(v.value), ts: v.ts };
}

/** An age for people: `12s`, `3m`, `5h`, `2d` (ms in, rounded down). */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/**
 * Why the app may not answer, or undefined when its last state is `EXECUTE`:
 * `the app of line1 is not running (last state STOP 3m ago)` or
 * `line1 has no app (never published a state)`.
 */
export function describeAppState(info: AppStateInfo, now = Date.now()): string | undefined {
  if (info.state === undefined) return `${info.connId} has no app (never published a state)`;
  if (info.state === "EXECUTE") return undefined;
  const age = info.ts === undefined ? "" : ` ${formatAge(now - info.ts)} ago`;
  return `the app of ${info.connId} is not running (last state ${info.state}${age})`;
}

/**
 * The message of a write to `path` that timed out:
 * `timeout: no result within 5000 ms; the app of line1 is not running (last state STOP 3m ago)`,
 * `…; line1 has no app (never published a state)`, or with the app in EXECUTE
 * `…; the app of line1 is in EXECUTE but did not answer`. Never throws (a failed read of the
 * state tag gives the bare timeout text).
 */
export async function describeWriteTimeout(
  bus: TagBus,
  path: string,
  timeoutMs: number,
): Promise<string> {
  const base = `timeout: no result within ${timeoutMs} ms`;
  let info: AppStateInfo | undefined;
  try {
    info = await appStateOf(bus, path);
  } catch {
    return base;
  }
  if (!info) return base;
  const why =
    describeAppState(info) ?? `the app of ${info.connId} is in EXECUTE but did not answer`;
  return `${base}; ${why}`;
}
