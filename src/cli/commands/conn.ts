import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

/** `nodi-edge conn list|show|add|rm`. */
export function register(program: Command, ctx: CliContext): void {
  const conn = program.command("conn").description("connections (one interface app each)");

  conn
    .command("list")
    .description("list connections")
    .action(() => {
      const store = ctx.openStore();
      try {
        const rows = store.listConnections().map((c) => ({
          ...c,
          blocks: store.getBlocks(c.conn_id).length,
          tags: store.getTags(c.conn_id).length,
        }));
        ctx.print(rows, () =>
          rows.length === 0
            ? "no connections"
            : formatTable(
                ["conn_id", "protocol", "address", "enabled", "blocks", "tags", "description"],
                rows.map((r) => [
                  r.conn_id,
                  r.protocol,
                  r.protocol === "opcua"
                    ? (r.endpoint_url ?? "")
                    : r.protocol === "modbus-rtu"
                      ? `${r.serial_device} unit ${r.unit_id}`
                      : `${r.host}:${r.port} unit ${r.unit_id}`,
                  r.enabled ? "yes" : "no",
                  String(r.blocks),
                  String(r.tags),
                  r.description,
                ]),
              ),
        );
      } finally {
        store.close();
      }
    });

  conn
    .command("show")
    .description("show one connection with its blocks and tags")
    .argument("<conn_id>")
    .action((connId: string) => {
      const store = ctx.openStore();
      try {
        const cfg = store.getConnectionConfig(connId);
        if (!cfg) throw new NodiError("not_found", `no connection "${connId}"`);
        ctx.print(cfg, () => {
          const c = cfg.connection as unknown as Record<string, unknown>;
          const lines = Object.entries(c)
            .filter(([, v]) => v !== null && v !== "")
            .map(([k, v]) => `${k}: ${v}`);
          lines.push("", `blocks (${cfg.blocks.length}):`);
          if (cfg.blocks.length > 0) {
            lines.push(
              formatTable(
                ["block_id", "table", "address", "count", "period_ms", "enabled"],
                cfg.blocks.map((b) => [
                  b.block_id,
                  b.table,
                  String(b.address),
                  String(b.count),
                  b.period_ms == null ? "on demand" : String(b.period_ms),
                  b.enabled ? "yes" : "no",
                ]),
              ),
            );
          }
          lines.push("", `tags (${cfg.tags.length}):`);
          if (cfg.tags.length > 0) {
            lines.push(
              formatTable(
                ["tag_name", "block_id", "address", "data_type", "access", "unit"],
                cfg.tags.map((t) => [
                  t.tag_name,
                  t.block_id,
                  t.node_id ?? (t.bit == null ? String(t.address) : `${t.address}.${t.bit}`),
                  t.data_type,
                  t.access,
                  t.unit,
                ]),
              ),
            );
          }
          return lines.join("\n");
        });
      } finally {
        store.close();
      }
    });
}
