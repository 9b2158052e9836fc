import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { redactUrl } from "../../core/redact-url.ts";
import type { Northbound } from "../../store/northbound-schema.ts";
import type { Connection } from "../../store/schema.ts";
import {
  buildNorthStatus,
  NORTH_STATUS_HEADER,
  northStatusCells,
} from "../../supervisor/north-status.ts";
import {
  buildStatus,
  deviceStatusCells,
  STATUS_HEADER,
  statusCells,
  supervisorHint,
  supervisorSeen,
} from "../../supervisor/status.ts";
import { openTagBus } from "../../tagbus/index.ts";
import type { CliContext } from "../context.ts";
import { redisUnreachable } from "../redis-unreachable.ts";
import { formatTable } from "../table.ts";

/**
 * `nodi-edge status [id…] [--json]`: one line per connection of the SoT (protocol, app state
 * and reason, uptime, last good poll, error counts, restarts), under it one line per device
 * of a multi-device link (unit id, ok/demoted, last good poll, errors), then one per northbound
 * (state, broker connection, buffer, drops, rate, uptime, restarts, last error). Reads the
 * SoT and the `/system/…` tags of the TagBus (apps' `state`/`health` and northbound health
 * tags, the supervisor's `service`). `--json`: one array, the connections' rows
 * (`app: "ne-intf"`) then the northbounds' (`app: "ne-north"`).
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("status")
    .description("state of every connection's interface app and every northbound app")
    .argument("[id...]", "only these connections / northbounds")
    .action(async (ids: string[]) => {
      const store = ctx.openStore();
      let conns: Connection[];
      let norths: Northbound[];
      try {
        conns = store.listConnections();
        norths = store.listNorthbounds();
      } finally {
        store.close();
      }
      if (ids.length > 0) {
        const missing = ids.filter(
          (id) => !conns.some((c) => c.conn_id === id) && !norths.some((n) => n.north_id === id),
        );
        if (missing.length > 0)
          throw new NodiError(
            "not_found",
            `no connection or northbound ${missing.map((m) => `"${m}"`).join(", ")}`,
          );
        conns = conns.filter((c) => ids.includes(c.conn_id));
        norths = norths.filter((n) => ids.includes(n.north_id));
      }
      const settings = ctx.settings();
      const bus = await openTagBus(settings, "cli");
      try {
        if (!bus.stats().connected) {
          throw redisUnreachable(settings.redisUrl);
        }
        const now = Date.now();
        const system = await bus.list("/system/");
        const rows = buildStatus(conns, system, now);
        const northRows = buildNorthStatus(norths, system, now);
        // Before any supervisor ran every state is `unknown`: say why, and what to start.
        const hint = supervisorHint(
          supervisorSeen(system, now),
          now,
          `${redactUrl(settings.redisUrl)}, prefix ${settings.redisPrefix}`,
        );
        if (hint && rows.length + northRows.length > 0) ctx.io.err(`note: ${hint}\n`);
        ctx.print([...rows, ...northRows], () => {
          const parts: string[] = [];
          if (rows.length > 0 || northRows.length === 0) {
            parts.push(
              rows.length === 0
                ? "no connections"
                : formatTable(
                    STATUS_HEADER,
                    rows.flatMap((r) => [
                      statusCells(r, now),
                      ...(r.devices ?? []).map((d) => deviceStatusCells(r, d, now)),
                    ]),
                  ),
            );
          }
          if (northRows.length > 0) {
            parts.push(
              formatTable(
                NORTH_STATUS_HEADER,
                northRows.map((r) => northStatusCells(r, now)),
              ),
            );
          }
          return parts.join("\n\n");
        });
      } finally {
        await bus.close(1000);
      }
    });
}
