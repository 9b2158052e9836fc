import { existsSync } from "node:fs";
import type { Command } from "commander";
import { isNodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import { formatLoadError, type LoadError } from "../../loader/csv-file.ts";
import { importCsv, readInputs } from "../../loader/import.ts";
import { openStore } from "../../store/store.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";

/** `nodi-edge import DIR|FILES [--dry-run] [--replace]`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("import")
    .description(
      "import connections.csv, devices.csv, blocks.csv, tags.csv, northbound.csv (a directory or the files), all or nothing; see docs/csv.md (installed: /usr/share/doc/nodi-edge/csv.md)",
    )
    .argument("<paths...>", "a directory holding the CSV files, or the files themselves")
    .option("--dry-run", "validate and show what would change; change nothing")
    .option(
      "--replace",
      "mirror the files: also remove connections that connections.csv does not list (and northbounds that a given northbound.csv does not list)",
    )
    .action(async (paths: string[], opts: { dryRun?: boolean; replace?: boolean }) => {
      const inputs = readInputs(paths);
      // A dry run against a missing database compares with an empty configuration and
      // creates no file; a real import creates the database.
      const db = ctx.settings().db;
      const store =
        opts.dryRun && !existsSync(db) ? openStore(":memory:") : ctx.openStore({ create: true });
      let result: ReturnType<typeof importCsv>;
      try {
        result = importCsv(store, inputs, {
          dryRun: opts.dryRun,
          replace: opts.replace,
          audit: { identity: ctx.identity(), action: "csv.import", recordedBy: "nodi-edge" },
        });
      } catch (e) {
        if (isNodiError(e, "configuration") && e.reason === "invalid_csv") {
          const errors = e.details.errors as LoadError[];
          if (ctx.json()) ctx.io.out(`${JSON.stringify({ ok: false, errors }, null, 2)}\n`);
          ctx.io.err(
            `nodi-edge import: refused, nothing was changed; ${errors.length} error(s):\n`,
          );
          for (const err of errors) ctx.io.err(`${formatLoadError(err)}\n`);
          throw new CliExit(EXIT.DATA);
        }
        throw e;
      } finally {
        store.close();
      }
      const announcement = result.dryRun
        ? { published: 0, notified: false }
        : await announce(ctx, result);
      ctx.print({ ok: true, ...result, ...announcement }, () => {
        const head = result.dryRun
          ? "dry run, nothing changed; the import would do:"
          : `imported ${result.counts.connections} connection(s), ${result.counts.devices > 0 ? `${result.counts.devices} device(s), ` : ""}${result.counts.blocks} block(s), ${result.counts.tags} tag(s)${result.counts.northbounds > 0 ? `, ${result.counts.northbounds} northbound(s)` : ""}:`;
        const north = result.northChanges.map(
          (c) => `${c.north_id}  northbound ${c.kind} (${c.stored})`,
        );
        return [head, describeChanges(result.changes), ...north].join("\n");
      });
    });
}
