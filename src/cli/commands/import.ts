import { existsSync } from "node:fs";
import type { Command } from "commander";
import { isNodiError, NodiError } from "../../core/errors.ts";
import { EXIT } from "../../core/exit-codes.ts";
import { formatLoadError, type LoadError } from "../../loader/csv-file.ts";
import { importCsv, readInputs } from "../../loader/import.ts";
import { openStore } from "../../store/store.ts";
import { announce, describeChanges } from "../announce.ts";
import type { CliContext } from "../context.ts";
import { CliExit } from "../exit.ts";
import { type KepwareCliOptions, runKepwareImport } from "./import-kepware.ts";

/**
 * `nodi-edge import DIR|FILES [--dry-run] [--replace]`, and
 * `nodi-edge import --kepware FILE.csv --conn ID [--device NAME] [--dry-run]` (a KEPServerEX
 * tag export as auto tags, `import-kepware.ts`).
 */
export function register(program: Command, ctx: CliContext): void {
  program
    .command("import")
    .description(
      "import connections.csv, devices.csv, blocks.csv, tags.csv, northbound.csv, profiles.csv, profile_blocks.csv, profile_tags.csv (a directory or the files), all or nothing; or a KEPServerEX tag export with --kepware; see docs/csv.md (installed: /usr/share/doc/nodi-edge/csv.md)",
    )
    .argument("[paths...]", "a directory holding the CSV files, or the files themselves")
    .option("--dry-run", "validate and show what would change; change nothing")
    .option(
      "--replace",
      "mirror the files: also remove connections that connections.csv does not list (and northbounds that a given northbound.csv does not list)",
    )
    .option("--kepware <file>", "a KEPServerEX tag export (CSV) to import as auto tags into --conn")
    .option("--conn <conn_id>", "--kepware: the Modbus connection the tags go to")
    .option("--device <name>", "--kepware: the device of the connection (tags named {device}/…)")
    .option("--skip-unmappable", "--kepware: import the mappable rows although some are not")
    .option("--scan-ms <ms>", "--kepware: poll every tag at this period instead of its Scan Rate")
    .option("--encoding <name>", "--kepware: the file's encoding, utf-8 (default) or windows-1252")
    .option(
      "--no-zero-based",
      "--kepware: the device's Zero-Based Addressing was off (40001 is register 1)",
    )
    .option("--no-zero-based-bits", "--kepware: Zero-Based Bit Addressing was off (bits .1–.16)")
    .option("--modicon-bit-order", "--kepware: Modicon Bit Ordering was on (bit 0 is the MSB)")
    .option("--no-modbus-byte-order", "--kepware: Modbus Byte Order was off (bytes swapped)")
    .option(
      "--no-first-word-low",
      "--kepware: First Word Low was off (32-bit values high word first)",
    )
    .option("--no-first-dword-low", "--kepware: First DWord Low was off (64-bit values)")
    .action(
      async (
        paths: string[],
        opts: { dryRun?: boolean; replace?: boolean } & Partial<KepwareCliOptions>,
      ) => {
        if (opts.kepware !== undefined) {
          if (paths.length > 0 || opts.replace) {
            throw new NodiError(
              "configuration",
              "--kepware imports one Kepware file: give no other paths and no --replace",
              "usage",
            );
          }
          await runKepwareImport(ctx, opts as KepwareCliOptions);
          return;
        }
        const kepOnly = (["conn", "device", "skipUnmappable", "scanMs", "encoding"] as const).find(
          (k) => opts[k] !== undefined,
        );
        if (kepOnly) {
          throw new NodiError(
            "configuration",
            `--${kepOnly.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --kepware only`,
            "usage",
          );
        }
        if (paths.length === 0) {
          throw new NodiError(
            "configuration",
            "give a directory or the CSV files to import (or --kepware FILE --conn ID)",
            "usage",
          );
        }
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
            : `imported ${result.counts.connections} connection(s), ${result.counts.devices > 0 ? `${result.counts.devices} device(s), ` : ""}${result.counts.blocks} block(s), ${result.counts.tags} tag(s)${result.counts.northbounds > 0 ? `, ${result.counts.northbounds} northbound(s)` : ""}${result.counts.profiles ? `, ${result.counts.profiles} profile(s)` : ""}:`;
          const north = result.northChanges.map(
            (c) => `${c.north_id}  northbound ${c.kind} (${c.stored})`,
          );
          const profiles = result.profileChanges.map((c) => `profile ${c.profile}  ${c.stored}`);
          return [head, describeChanges(result.changes), ...north, ...profiles].join("\n");
        });
      },
    );
}
