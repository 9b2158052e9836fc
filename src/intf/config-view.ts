import type { Block, ConnectionConfig, Tag } from "../store/schema.ts";
import { formatIssue, validateRows } from "../store/validate.ts";

/** The enabled blocks of a connection's configuration, in configuration order. */
export function enabledBlocks(cfg: ConnectionConfig): Block[] {
  return cfg.blocks.filter((b) => b.enabled);
}

/** The tags of the enabled blocks of a connection's configuration. */
export function enabledTags(cfg: ConnectionConfig): Tag[] {
  const on = new Set(enabledBlocks(cfg).map((b) => b.block_id));
  return cfg.tags.filter((t) => t.block_id != null && on.has(t.block_id));
}

/**
 * Cross-row validation of one connection's configuration as the app runs it, instances of
 * profiles already expanded (`store/validate.ts validateRows`).
 * @returns `undefined` when valid, else one message naming the first 5 issues
 *   (`invalid configuration: …; … (+N more)`).
 */
export function configProblem(cfg: ConnectionConfig): string | undefined {
  const r = validateRows({
    connections: [cfg.connection],
    devices: cfg.devices ?? [],
    blocks: cfg.blocks,
    tags: cfg.tags,
  });
  if (r.ok) return undefined;
  const more = r.issues.length > 5 ? ` (+${r.issues.length - 5} more)` : "";
  return `invalid configuration: ${r.issues.slice(0, 5).map(formatIssue).join("; ")}${more}`;
}
