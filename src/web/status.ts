import { systemTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { HEALTH_TAGS, type IntfHealth, type LastError, parseHealth } from "../intf/health.ts";
import type { Connection } from "../store/schema.ts";
import { buildStatus, type ConnStatus } from "../supervisor/status.ts";
import type { TagBus } from "../tagbus/tagbus.ts";

/**
 * The live status of one connection as the web UI shows it: the supervisor's status row
 * (`supervisor/status.ts` `buildStatus`: FSM state and reason, service state, last good poll,
 * error counters, restarts, uptime) plus the details behind it: the parsed
 * `/system/{id}/health` (counters, timer statistics per block), the `/system/{id}/last_error`
 * and when the state was last published.
 */
export interface WebConnStatus extends ConnStatus {
  /** When the app last published its state, ms since the epoch, or null. */
  since: number | null;
  health: IntfHealth | null;
  last_error: LastError | null;
}

/** Parses a `last_error` tag value (a JSON string). */
export function parseLastError(v: TagValue | undefined): LastError | null {
  if (!v || typeof v.value !== "string") return null;
  try {
    const o = JSON.parse(v.value) as LastError;
    return o && typeof o === "object" && typeof o.message === "string" ? o : null;
  } catch {
    return null;
  }
}

/** Builds the web status of `connections` from the current `/system/…` values. Pure. */
export function webStatus(
  connections: readonly Connection[],
  systemTags: readonly TagValue[],
  now: number,
): WebConnStatus[] {
  const byPath = new Map(systemTags.map((v) => [v.path, v]));
  return buildStatus(connections, systemTags, now).map((s) => ({
    ...s,
    since: byPath.get(systemTagPath(s.conn_id, HEALTH_TAGS.state))?.ts ?? null,
    health: parseHealth(byPath.get(systemTagPath(s.conn_id, HEALTH_TAGS.health))?.value) ?? null,
    last_error: parseLastError(byPath.get(systemTagPath(s.conn_id, HEALTH_TAGS.lastError))),
  }));
}

/** Status of every connection (one `list("/system/")` round trip), by conn_id. */
export async function readAllStatus(
  bus: TagBus,
  connections: readonly Connection[],
): Promise<Map<string, WebConnStatus>> {
  let tags: TagValue[] = [];
  try {
    tags = await bus.list("/system/");
  } catch {
    // Redis unreachable: every state shows as unknown
  }
  return new Map(webStatus(connections, tags, Date.now()).map((s) => [s.conn_id, s]));
}

/** Status of one connection (one `list("/system/{id}/")`). */
export async function readStatus(bus: TagBus, connection: Connection): Promise<WebConnStatus> {
  let tags: TagValue[] = [];
  try {
    tags = await bus.list(`/system/${connection.conn_id}/`);
  } catch {
    // Redis unreachable
  }
  return webStatus([connection], tags, Date.now())[0]!;
}
