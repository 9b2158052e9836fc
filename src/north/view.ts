import { deviceOfTagName, matchesPattern, parseTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { splitList } from "../store/northbound-schema.ts";
import type { ConnectionConfig } from "../store/schema.ts";
import type { ConnState, NorthView, TagInfo } from "./format.ts";

/** The tag selection of a northbound as TagBus patterns (`tag_selection`, default `/**`). */
export function selectionPatterns(tagSelection: string): string[] {
  const p = splitList(tagSelection);
  return p.length ? p : ["/**"];
}

/**
 * What ne-north knows about the selected tags and their connections: the {@link NorthView}
 * handed to the format. Tags come from the SoT (re-read on reload); current values and
 * connection states from the TagBus.
 */
export class View implements NorthView {
  private tagMap = new Map<string, TagInfo>();
  private readonly cur = new Map<string, TagValue>();
  private readonly connMap = new Map<string, ConnState>();
  private patterns: string[] = ["/**"];

  tags(): ReadonlyMap<string, TagInfo> {
    return this.tagMap;
  }
  current(): ReadonlyMap<string, TagValue> {
    return this.cur;
  }
  conns(): ReadonlyMap<string, ConnState> {
    return this.connMap;
  }

  /** True for a data tag path the selection matches. */
  selects(path: string): boolean {
    if (path.startsWith("/system/")) return false;
    return this.patterns.some((p) => matchesPattern(p, path));
  }

  /**
   * Sets the selection and the tag definitions from the SoT. Connections without a selected
   * tag are left out; values and states of what is no longer selected are forgotten.
   */
  configure(patterns: string[], configs: ConnectionConfig[], now = Date.now()): void {
    this.patterns = patterns;
    const tags = new Map<string, TagInfo>();
    const connIds = new Set<string>();
    for (const cfg of configs) {
      for (const t of cfg.tags) {
        const path = `/${t.conn_id}/${t.tag_name}`;
        if (!this.selects(path)) continue;
        connIds.add(t.conn_id);
        // A named device's tag is `{device}/{tag}` (store/validate.ts); its metric name is `{tag}`.
        const device = deviceOfTagName(t.tag_name);
        const info: TagInfo = {
          path,
          connId: t.conn_id,
          ...(device !== undefined ? { device } : {}),
          name: device === undefined ? t.tag_name : t.tag_name.slice(device.length + 1),
          dataType: t.data_type,
          writable: t.access === "read-write",
          unit: t.unit,
          description: t.description,
        };
        if (t.scale !== 1 || t.offset !== 0) info.scaled = true;
        if (t.array_length != null) info.arrayLength = t.array_length;
        tags.set(path, info);
      }
    }
    this.tagMap = tags;
    for (const p of [...this.cur.keys()]) if (!this.selects(p)) this.cur.delete(p);
    for (const id of [...this.connMap.keys()]) if (!connIds.has(id)) this.connMap.delete(id);
    for (const id of connIds) {
      if (!this.connMap.has(id))
        this.connMap.set(id, { connId: id, appState: undefined, up: false, ts: now });
    }
  }

  /** Records a data value (selected paths only). */
  setValue(v: TagValue): void {
    this.cur.set(v.path, v);
  }

  /**
   * Applies a `/system/{conn_id}/state` value, or a `/system/{conn_id}/devices` value (the
   * demoted devices of a multi-device link, docs/intf.md "Health tags").
   * @returns the new and previous state when it changed something, else undefined.
   */
  applyState(v: TagValue): { now: ConnState; prev: ConnState | undefined } | undefined {
    const p = parseTagPath(v.path);
    if (p?.kind !== "system" || (p.name !== "state" && p.name !== "devices")) return undefined;
    const prev = this.connMap.get(p.appId);
    if (!prev) return undefined; // not a connection of ours
    if (p.name === "devices") {
      const demoted = demotedOf(v);
      const before = prev.demoted ?? [];
      if (demoted.length === before.length && demoted.every((d, i) => d === before[i]))
        return undefined;
      const now: ConnState = { ...prev, demoted };
      this.connMap.set(p.appId, now);
      return { now, prev };
    }
    const appState = typeof v.value === "string" ? v.value : undefined;
    const up = v.quality === "good" && appState === "EXECUTE";
    const now: ConnState = { connId: p.appId, appState, up, ts: v.ts };
    if (prev.demoted?.length) now.demoted = prev.demoted;
    if (v.reason) now.reason = v.reason;
    if (prev.appState === now.appState && prev.up === now.up && prev.reason === now.reason)
      return undefined;
    this.connMap.set(p.appId, now);
    return { now, prev };
  }
}

/** The demoted device names of a `/system/{conn_id}/devices` value, sorted; [] when unreadable. */
function demotedOf(v: TagValue): string[] {
  if (typeof v.value !== "string") return [];
  try {
    const j = JSON.parse(v.value) as Record<string, unknown>;
    if (!j || typeof j !== "object") return [];
    return Object.entries(j)
      .filter(([, st]) => st === "demoted")
      .map(([k]) => k)
      .sort();
  } catch {
    return [];
  }
}
