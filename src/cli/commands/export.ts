import type { Command } from "commander";
import { exportCsv } from "../../loader/export.ts";
import type { CliContext } from "../context.ts";

/** `nodi-edge export DIR [conn_id...]`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("export")
    .description(
      "write connections.csv, blocks.csv, tags.csv, devices.csv (when a connection has devices), the profiles used (profiles.csv, profile_blocks.csv, profile_tags.csv) and (for a whole export) northbound.csv, password withheld, to DIR (same format as import)",
    )
    .argument("<dir>", "directory to write (created when missing; files are replaced)")
    .argument("[conn_ids...]", "only these connections (default: all)")
    .action((dir: string, connIds: string[]) => {
      const store = ctx.openStore();
      try {
        const files = exportCsv(store, dir, connIds);
        ctx.print({ ok: true, files }, () => `wrote ${files.join(", ")}`);
      } finally {
        store.close();
      }
    });
}
