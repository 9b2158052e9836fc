import type { TagValue } from "../core/tag-value.ts";
import type { TagBus } from "../tagbus/tagbus.ts";

/**
 * The live state of one connection's app, from its system tags (DESIGN.md §3):
 * `/system/{conn_id}/state` (FSM state, with the reason as the quality reason) and
 * `/system/{conn_id}/health` (a JSON string: counters, timer statistics per block, …, see
 * `src/intf/health.ts`). Absent fields mean the app never published them.
 */
export interface ConnStatus {
  /** FSM state, e.g. `EXECUTE`, `CONNECT`, `RECOVER`, `STOP`; `null` when never published. */
  state: string | null;
  /** Why the app is in that state (the state tag's reason), when given. */
  reason: string | null;
  /** Quality of the state tag (`bad` e.g. when the app stopped). */
  quality: TagValue["quality"] | null;
  /** When the state was last published, ms since the epoch. */
  since: number | null;
  /** The parsed health object, or `null`. */
  health: Record<string, unknown> | null;
  /** When the health was last published, ms since the epoch. */
  healthTs: number | null;
}

/** Parses a health tag value (a JSON string, or an object already). */
export function parseHealth(v: TagValue | undefined): Record<string, unknown> | null {
  if (!v || v.value === null) return null;
  if (typeof v.value === "string") {
    try {
      const o = JSON.parse(v.value);
      return o && typeof o === "object" ? (o as Record<string, unknown>) : null;
    } catch {
      return null;
    }
  }
  return null;
}

function stateOf(state: TagValue | undefined, health: TagValue | undefined): ConnStatus {
  let s: string | null = null;
  let reason: string | null = state?.reason ?? null;
  if (state && typeof state.value === "string") {
    // The state tag may carry a bare state name or a JSON object {state, reason}.
    if (state.value.startsWith("{")) {
      try {
        const o = JSON.parse(state.value) as { state?: string; reason?: string };
        s = o.state ?? null;
        reason = o.reason ?? reason;
      } catch {
        s = state.value;
      }
    } else s = state.value;
  }
  return {
    state: s,
    reason,
    quality: state?.quality ?? null,
    since: state?.ts ?? null,
    health: parseHealth(health),
    healthTs: health?.ts ?? null,
  };
}

/** The status of every app that published system tags, by conn_id (one `list` round trip). */
export async function readAllStatus(bus: TagBus): Promise<Map<string, ConnStatus>> {
  const values = await bus.list("/system/");
  const by = new Map<string, { state?: TagValue; health?: TagValue }>();
  for (const v of values) {
    const [, , app, name] = v.path.split("/");
    if (!app || (name !== "state" && name !== "health")) continue;
    const e = by.get(app) ?? {};
    e[name] = v;
    by.set(app, e);
  }
  const out = new Map<string, ConnStatus>();
  for (const [app, e] of by) out.set(app, stateOf(e.state, e.health));
  return out;
}

/** The status of one app (two `get`s). */
export async function readStatus(bus: TagBus, connId: string): Promise<ConnStatus> {
  const [state, health] = await Promise.all([
    bus.get(`/system/${connId}/state`),
    bus.get(`/system/${connId}/health`),
  ]);
  return stateOf(state, health);
}

/** A status for a connection whose app never published anything. */
export const NO_STATUS: ConnStatus = {
  state: null,
  reason: null,
  quality: null,
  since: null,
  health: null,
  healthTs: null,
};
