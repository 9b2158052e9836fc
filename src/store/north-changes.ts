import { SYSTEM_TAGS } from "../core/paths.ts";
import type { TagSample } from "../core/tag-value.ts";
import type { StoredChange } from "./changes.ts";
import { FIELDS } from "./fields.ts";
import { NORTH_RESTART_FIELDS, type Northbound } from "./northbound-schema.ts";

/**
 * The kind of a change to one northbound, as the supervisor and `ne-north` see it (the
 * northbound counterpart of `changes.ts` `ChangeKind`). A disabled northbound is, for them,
 * no northbound: enabling one is `added`, disabling one `removed`, editing a disabled one
 * `unchanged`.
 *
 * - `added`: the supervisor starts `ne-north@{north_id}` (system tag `north_added`).
 * - `removed`: the supervisor stops it (`north_removed`).
 * - `restart`: a field of {@link NORTH_RESTART_FIELDS} changed (broker, identity, TLS,
 *   limits): `ne-north` ends with exit 75 and is restarted (a new MQTT session).
 * - `reload`: any other field changed (tag selection, publishing options): `ne-north`
 *   hot-reloads on the same MQTT session (for Sparkplug, a rebirth).
 * - `unchanged`: nothing a running `ne-north` would notice.
 *
 * Both `restart` and `reload` are announced the same way (`/system/{north_id}/config_reload`);
 * `ne-north` re-reads its row and decides with this same function.
 */
export type NorthChangeKind = "added" | "removed" | "restart" | "reload" | "unchanged";

/** The change of one northbound. */
export interface NorthChange {
  north_id: string;
  kind: NorthChangeKind;
  stored: StoredChange;
}

const key = (n: Northbound, pick: (f: string) => boolean) =>
  JSON.stringify(
    FIELDS.northbound
      .filter((f) => pick(f.name))
      .map((f) => (n as unknown as Record<string, unknown>)[f.name] ?? null),
  );

/**
 * Classifies the change of one northbound from its row before and after an edit
 * (`undefined` = absent). Pure.
 * @throws Error when both are `undefined`.
 */
export function classifyNorthChange(
  before: Northbound | undefined,
  after: Northbound | undefined,
): NorthChange {
  const id = (after ?? before)?.north_id;
  if (id === undefined) throw new Error("classifyNorthChange: both sides are undefined");
  const same = !!before && !!after && key(before, () => true) === key(after, () => true);
  const stored: StoredChange = !before ? "created" : !after ? "deleted" : same ? "same" : "updated";
  const liveBefore = before?.enabled === true;
  const liveAfter = after?.enabled === true;
  let kind: NorthChangeKind;
  if (!liveBefore && liveAfter) kind = "added";
  else if (liveBefore && !liveAfter) kind = "removed";
  else if (!liveBefore || !before || !after || same) kind = "unchanged";
  else {
    const restart = (f: string) => NORTH_RESTART_FIELDS.has(f as keyof Northbound);
    kind = key(before, restart) !== key(after, restart) ? "restart" : "reload";
  }
  return { north_id: id, kind, stored };
}

/**
 * The system tags that announce northbound `changes`: `/system/supervisor/north_removed`
 * and `/system/supervisor/north_added` (value: the north_id) to the supervisor, and
 * `/system/{north_id}/config_reload` (value: `now`, epoch ms) to the running `ne-north` of a
 * `restart` or `reload` change. Removals first, then additions, then reloads.
 */
export function northSystemTagSamples(changes: readonly NorthChange[], now: number): TagSample[] {
  const out: TagSample[] = [];
  const tag = (path: string, value: string | number) =>
    out.push({ path, value, quality: "good", ts: now });
  for (const c of changes) if (c.kind === "removed") tag(SYSTEM_TAGS.northRemoved, c.north_id);
  for (const c of changes) if (c.kind === "added") tag(SYSTEM_TAGS.northAdded, c.north_id);
  for (const c of changes) {
    if (c.kind === "restart" || c.kind === "reload") tag(SYSTEM_TAGS.configReload(c.north_id), now);
  }
  return out;
}
