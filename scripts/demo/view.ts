import type { TagValue } from "../../src/core/tag-value.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";

const fmt = (v: TagValue["value"]): string =>
  typeof v === "number"
    ? Number.isInteger(v)
      ? String(v)
      : v.toFixed(2)
    : v === null
      ? "—"
      : String(v);

/**
 * The demo's live view: per connection, its app state, then one line per tag with value,
 * unit, quality and age. Pure text; the caller clears the screen.
 */
export function renderTable(
  configs: readonly ConnectionConfig[],
  latest: ReadonlyMap<string, TagValue>,
  updates: number,
  now: number,
): string {
  const lines: string[] = [`Nodi Edge demo — ${updates} tag updates received`];
  for (const c of configs) {
    const id = c.connection.conn_id;
    const st = latest.get(`/system/${id}/state`);
    const state = st ? `${st.value}${st.reason ? ` (${st.reason})` : ""}` : "starting";
    lines.push("", `${id}  ${c.connection.protocol}  ${c.connection.description}  [${state}]`);
    for (const t of c.tags) {
      const v = latest.get(`/${id}/${t.tag_name}`);
      const value = v ? fmt(v.value) : "…";
      const q = v ? (v.reason ? `${v.quality}:${v.reason}` : v.quality) : "";
      const age = v ? `${((now - v.ts) / 1000).toFixed(1)}s` : "";
      lines.push(
        `  ${t.tag_name.padEnd(22)} ${value.padStart(12)} ${(t.unit ?? "").padEnd(5)} ${q.padEnd(18)} ${age}`,
      );
    }
  }
  return lines.join("\n");
}
