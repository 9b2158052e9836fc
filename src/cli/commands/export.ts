import type { Command } from "commander";
import { exportCsv } from "../../loader/export.ts";
import type { CliContext } from "../context.ts";

/** `nodi-edge export DIR [conn_id...]`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .description(
      "write connections.csv, blocks.csv, tags.csv, devices.csv (when a connection has devices), the profiles used (profiles.csv, profile_blocks.csv, profile_tags.csv) and (for a whole export) northbound.csv to DIR (same format as import); passwords are written as *withheld* (import keeps the stored ones) unless --include-secrets",
    )
    .argument("<dir>", "directory to write (created when missing; files are replaced)")
    .argument("[conn_ids...]", "only these connections (default: all)")
    .option(
      "--include-secrets",
      "write passwords (OPC UA, MQTT broker) in clear; the files are created 0600",
    )
    .action((dir: string, connIds: string[], opts: { includeSecrets?: boolean }) => {
      const store = ctx.openStore();
      try {
        const includeSecrets = opts.includeSecrets === true;
        const files = exportCsv(store, dir, connIds, { includeSecrets });
        if (includeSecrets) {
          ctx.io.err(
            `warning: ${dir} holds passwords in clear (--include-secrets): keep it as you keep the gateway's database\n`,
          );
        }
        ctx.print({ ok: true, files }, () => `wrote ${files.join(", ")}`);
      } finally {
        store.close();
      }
    });
}
