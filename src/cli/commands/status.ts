import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import type { Connection } from "../../store/schema.ts";
import { buildStatus, STATUS_HEADER, statusCells } from "../../supervisor/status.ts";
import { openTagBus } from "../../tagbus/index.ts";
import type { CliContext } from "../context.ts";
import { formatTable } from "../table.ts";

/**
 * `nodi-edge status [conn_id…] [--json]`: one line per connection of the SoT: protocol,
 * app state and reason, uptime, last good poll, error counts, restarts. Reads the SoT and
 * the `/system/…` tags of the TagBus (apps' `state`/`health`, the supervisor's `service`).
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("state of every connection's interface app")
    .argument("[conn_id...]", "only these connections")
    .action(async (ids: string[]) => {
      const store = ctx.openStore();
      let conns: Connection[];
      try {
        conns = store.listConnections();
      } finally {
        store.close();
      }
      if (ids.length > 0) {
        const missing = ids.filter((id) => !conns.some((c) => c.conn_id === id));
        if (missing.length > 0)
          throw new NodiError(
            "not_found",
            `no connection ${missing.map((m) => `"${m}"`).join(", ")}`,
          );
        conns = conns.filter((c) => ids.includes(c.conn_id));
      }
      const settings = ctx.settings();
      const bus = await openTagBus(settings, "cli");
      try {
        if (!bus.stats().connected) {
          throw new NodiError(
            "communication",
            `redis not reachable at ${settings.redisUrl}`,
            "disconnected",
          );
        }
        const now = Date.now();
        const rows = buildStatus(conns, await bus.list("/system/"), now);
        ctx.print(rows, () =>
          rows.length === 0
            ? "no connections"
            : formatTable(
                STATUS_HEADER,
                rows.map((r) => statusCells(r, now)),
              ),
        );
      } finally {
        await bus.close(1000);
      }
    });
}
