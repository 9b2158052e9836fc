import { SYSTEM_TAGS } from "../core/paths.ts";
import type { TagSample } from "../core/tag-value.ts";
import { FIELDS } from "./fields.ts";
import type { Block, Connection, ConnectionConfig, Device, Tag } from "./schema.ts";

/**
 * The kind of a change to one connection, as the supervisor and the interface app see it
 * (DESIGN.md §2, "Reconfiguration, by kind of change"). A disabled connection is, for them,
 * no connection: enabling one is `added`, disabling one is `removed`, and editing a disabled
 * one is `unchanged` (nothing runs that could react; the DB row still changes, see `stored`).
 *
 * - `added`: the supervisor enables and starts `ne-intf@{conn_id}`.
 * - `removed`: the supervisor stops and disables it.
 * - `connection_changed`: a link setting changed (address, timeouts, …): the app restarts.
 * - `blocks_changed`: devices, blocks or tags (or only the description) changed: the app
 *   hot-reloads (a device's unit id is read per request, so the link is kept).
 * - `unchanged`: nothing a running app would notice.
 */
export type ChangeKind =
  | "added"
  | "removed"
  | "connection_changed"
  | "blocks_changed"
  | "unchanged";

/** What happened to the stored rows of one connection. */
export type StoredChange = "created" | "deleted" | "updated" | "same";

/** The change of one connection. */
export interface ConnChange {
  conn_id: string;
  kind: ChangeKind;
  stored: StoredChange;
}

/** Connection fields whose change does not need the app restarted (a reload is enough). */
const RELOAD_ONLY_CONNECTION_FIELDS = new Set(["description", "enabled"]);

function canonical(entity: "connection" | "device" | "block" | "tag", row: object): string {
  const r = row as Record<string, unknown>;
  return JSON.stringify(FIELDS[entity].map((f) => r[f.name] ?? null));
}

function connectionLinkKey(c: Connection): string {
  const r = c as unknown as Record<string, unknown>;
  return JSON.stringify(
    FIELDS.connection
      .filter((f) => !RELOAD_ONLY_CONNECTION_FIELDS.has(f.name))
      .map((f) => r[f.name] ?? null),
  );
}

function setKey(
  entity: "device" | "block" | "tag",
  rows: readonly (Device | Block | Tag)[],
): string {
  return JSON.stringify(rows.map((r) => canonical(entity, r)).sort());
}

/**
 * Classifies the change of one connection from its configuration before and after an edit
 * (`undefined` = absent). Row order of blocks and tags does not count as a change.
 */
export function classifyChange(
  before: ConnectionConfig | undefined,
  after: ConnectionConfig | undefined,
): ConnChange {
  const connId = (after ?? before)?.connection.conn_id;
  if (connId === undefined) throw new Error("classifyChange: both sides are undefined");
  const same =
    before !== undefined &&
    after !== undefined &&
    canonical("connection", before.connection) === canonical("connection", after.connection) &&
    setKey("device", before.devices ?? []) === setKey("device", after.devices ?? []) &&
    setKey("block", before.blocks) === setKey("block", after.blocks) &&
    setKey("tag", before.tags) === setKey("tag", after.tags);
  const stored: StoredChange = !before ? "created" : !after ? "deleted" : same ? "same" : "updated";
  const liveBefore = before?.connection.enabled === true;
  const liveAfter = after?.connection.enabled === true;
  let kind: ChangeKind;
  if (!liveBefore && liveAfter) kind = "added";
  else if (liveBefore && !liveAfter) kind = "removed";
  else if (!liveBefore || !before || !after || same) kind = "unchanged";
  else if (connectionLinkKey(before.connection) !== connectionLinkKey(after.connection)) {
    kind = "connection_changed";
  } else kind = "blocks_changed";
  return { conn_id: connId, kind, stored };
}

/**
 * Classifies every connection present before or after (by `conn_id`), sorted by `conn_id`.
 * Connections absent from both lists are not reported.
 */
export function classifyChanges(
  before: readonly ConnectionConfig[],
  after: readonly ConnectionConfig[],
): ConnChange[] {
  const b = new Map(before.map((c) => [c.connection.conn_id, c]));
  const a = new Map(after.map((c) => [c.connection.conn_id, c]));
  const ids = [...new Set([...b.keys(), ...a.keys()])].sort();
  return ids.map((id) => classifyChange(b.get(id), a.get(id)));
}

/**
 * The system tags that announce `changes` (DESIGN.md §2): `conn_removed` / `conn_added`
 * (value: the conn_id) to the supervisor, and `/system/{conn_id}/config_reload` (value: `now`,
 * epoch ms) to the app of a connection whose settings, blocks or tags changed. Removals come
 * first, then additions, then reloads.
 */
export function systemTagSamples(changes: readonly ConnChange[], now: number): TagSample[] {
  const out: TagSample[] = [];
  const pick = (kind: ChangeKind) => changes.filter((c) => c.kind === kind);
  for (const c of pick("removed")) {
    out.push({ path: SYSTEM_TAGS.connRemoved, value: c.conn_id, quality: "good", ts: now });
  }
  for (const c of pick("added")) {
    out.push({ path: SYSTEM_TAGS.connAdded, value: c.conn_id, quality: "good", ts: now });
  }
  for (const c of changes) {
    if (c.kind === "connection_changed" || c.kind === "blocks_changed") {
      out.push({ path: SYSTEM_TAGS.configReload(c.conn_id), value: now, quality: "good", ts: now });
    }
  }
  return out;
}
